"""The REST API's live state on ``app.state.api``: the OAuth clients' tokens, the catalog."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from coupadl.simulator.api.catalog import Catalog
from coupadl.simulator.api.tokens import ApiTokens
from coupadl.simulator.auth import Credentials
from coupadl.simulator.data.model import Dataset


@dataclass
class ApiState:
    tokens: ApiTokens
    catalog: Catalog


def make_state(dataset: Dataset, credentials: Credentials) -> ApiState:
    return ApiState(ApiTokens(credentials.api_clients()), Catalog(dataset))


def api_state(request: Request) -> ApiState:
    return request.app.state.api
