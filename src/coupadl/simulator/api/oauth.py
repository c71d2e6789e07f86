"""The token endpoint: ``POST /oauth2/token``, OAuth 2.0 client credentials.

Form fields ``client_id``, ``client_secret``, ``grant_type=client_credentials`` and
``scope`` (space-separated; none asks for every scope the client may have); the client
may instead authenticate with HTTP Basic (RFC 6749 allows both). The answer is
``{"access_token", "token_type": "bearer", "expires_in", "scope"}`` with the scopes
granted: those asked for that the client may have. The fault knobs hit it as a page.
"""

from __future__ import annotations

import base64
import binascii
import logging
from urllib.parse import parse_qs, unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from coupadl.simulator.api.guard import error
from coupadl.simulator.api.state import api_state
from coupadl.simulator.api.tokens import GrantError
from coupadl.simulator.routes.faults import injected_fault
from coupadl.simulator.sim_state import state_of

log = logging.getLogger(__name__)

TOKEN_PATH = "/oauth2/token"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)


async def token(request: Request) -> Response:
    state = state_of(request)
    state.stats.hit("api", TOKEN_PATH.lstrip("/"))
    if (fault := injected_fault(request, "api", "oauth2/token", as_json=True)) is not None:
        return fault
    # application/x-www-form-urlencoded, parsed here: python-multipart is not a dependency.
    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)

    def value(name: str) -> str:
        return form.get(name, [""])[0]

    if value("grant_type") != "client_credentials":
        return error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    client_id, secret = _basic(request) or (value("client_id"), value("client_secret"))
    try:
        grant = api_state(request).tokens.grant(
            client_id, secret, value("scope"), state.faults.knobs.token_ttl
        )
    except GrantError as exc:
        log.info("simulator: token refused for API client %r (%s)", client_id, exc.code)
        return JSONResponse({"error": exc.code, "error_description": exc.description},
                            401 if exc.code == "invalid_client" else 400, _NO_STORE)  # fmt: skip
    state.stats.add("api_tokens")
    body = {
        "access_token": grant.token,
        "token_type": "bearer",
        "expires_in": grant.expires_in,
        "scope": " ".join(grant.scopes),
    }
    return JSONResponse(body, headers=_NO_STORE)
