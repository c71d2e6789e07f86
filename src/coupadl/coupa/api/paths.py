"""The REST API's URLs, and the web record URLs the per-PO flow asks for mapped onto
them.

The flow names records by their web pages (``/order_headers/{id}``,
``/requisition_headers/{id}``, :mod:`coupadl.coupa.urls`); the API engine reads the same
records from ``/api/...``. A PO's number is found with the ``po-number`` filter (the
facts say "most likely"; ``po_number`` is the other spelling a tenant may know), so it
works whether or not a tenant's API ids equal its PO numbers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, unquote, urlsplit

TOKEN_PATH = "/oauth2/token"
PER_PAGE = 50  # Coupa's most records per GET
# What the engine reads of a PO: ``fields=`` keeps a full PO answer (large) small.
_PO_FIELDS: list[object] = [
    "id", "po-number", "status", "created-at", "total", {"supplier": ["name", "number"]},
    {"requisition-header": ["id"]}, {"currency": ["code"]},
]  # fmt: skip
PO_FIELDS = json.dumps(_PO_FIELDS, separators=(",", ":"))
# The scopes each part of a run needs (the facts: names confirmed by integrators).
SCOPE_PO = "core.purchase_order.read"
SCOPE_REQUISITION = "core.requisition.read"
SCOPE_COMMON = "core.common.read"
NEEDED_SCOPES = (SCOPE_PO, SCOPE_REQUISITION, SCOPE_COMMON)  # the api_scopes default


class Resource(StrEnum):
    PURCHASE_ORDERS = "purchase_orders"
    REQUISITIONS = "requisitions"


@dataclass(frozen=True)
class RecordRef:
    """A record the flow asked for by its web URL."""

    resource: Resource
    key: str  # a PO's number, a requisition's id


_WEB_PATHS = {
    "order_headers": Resource.PURCHASE_ORDERS,
    "requisition_headers": Resource.REQUISITIONS,
}


def _base(base_url: str) -> str:
    return base_url.strip().rstrip("/")


def record_of(web_url: str) -> RecordRef | None:
    """The record behind a PO or requisition page URL; None for any other URL."""
    parts = [p for p in urlsplit(web_url).path.split("/") if p]
    if len(parts) < 2 or parts[-2] not in _WEB_PATHS:
        return None
    return RecordRef(_WEB_PATHS[parts[-2]], unquote(parts[-1]))


def token_url(base_url: str) -> str:
    return _base(base_url) + TOKEN_PATH


def list_url(base_url: str, resource: Resource) -> str:
    return f"{_base(base_url)}/api/{resource.value}"


def record_url(base_url: str, resource: Resource, record_id: str) -> str:
    return f"{list_url(base_url, resource)}/{quote(str(record_id), safe='')}"


def attachments_url(base_url: str, resource: Resource, record_id: str) -> str:
    return record_url(base_url, resource, record_id) + "/attachments"


def comments_url(base_url: str, resource: Resource, record_id: str) -> str:
    return record_url(base_url, resource, record_id) + "/comments"


def comment_attachments_url(base_url: str, comment_id: str) -> str:
    return f"{_base(base_url)}/api/comments/{quote(str(comment_id), safe='')}/attachments"


# How a PO is looked up by its number, in order: the facts say the filter is "most
# likely" ``po-number``; ``po_number`` is the other spelling; last, the PO's API id,
# which equals its number on the tenants seen so far. The next is tried only when the
# answer shows the filter was ignored (other POs, none with this number).
PO_FILTERS = ("po-number", "po_number")


def po_query(po_number: str, spelling: str = PO_FILTERS[0]) -> dict[str, str]:
    """The list query that finds one PO by its number, answer kept small."""
    return {spelling: po_number, "fields": PO_FIELDS}


def missing_scopes(granted: Iterable[str], needed: Iterable[str]) -> list[str]:
    """The scopes of ``needed`` a token was not granted, in ``needed``'s order."""
    have = set(granted)
    return [scope for scope in needed if scope not in have]


def scope_for(resource: Resource) -> str:
    return SCOPE_PO if resource is Resource.PURCHASE_ORDERS else SCOPE_REQUISITION
