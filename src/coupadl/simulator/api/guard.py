"""Who may call the REST API: the bearer token, the scope each path needs, JSON errors.

Every ``/api/`` path answers 401 (JSON, never the web's sign-in redirect) without a
live token and 403 naming the scope when the token lacks the one the path needs:
``core.purchase_order.read`` under ``/api/purchase_orders``, ``core.requisition.read``
under ``/api/requisitions``, ``core.common.read`` for the rest (``/api/comments/...``
and the file downloads). A web session cookie counts for nothing here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from coupadl.simulator.api.state import api_state
from coupadl.simulator.routes.faults import injected_fault, think
from coupadl.simulator.sim_state import state_of
from coupadl.simulator.transfer import FaultyBody

SCOPE_PO = "core.purchase_order.read"
SCOPE_REQUISITION = "core.requisition.read"
SCOPE_COMMON = "core.common.read"
_SCOPES_BY_PREFIX = (("/api/purchase_orders", SCOPE_PO), ("/api/requisitions", SCOPE_REQUISITION))
_PROBLEMS = {
    "missing": "no bearer token: send Authorization: Bearer <access_token>",
    "invalid": "the access token is not known (revoked or never issued)",
    "expired": "the access token has expired",
}

Endpoint = Callable[[Request], Awaitable[Response | FaultyBody]]


def error(status: int, code: str, description: str, **extra: Any) -> JSONResponse:
    headers = {"WWW-Authenticate": f'Bearer error="{code}"'} if status == 401 else None
    return JSONResponse({"error": code, "error_description": description, **extra}, status,
                        headers)  # fmt: skip


def bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def required_scope(path: str) -> str:
    for prefix, scope in _SCOPES_BY_PREFIX:
        if path == prefix or path.startswith(prefix + "/"):
            return scope
    return SCOPE_COMMON


def refusal(request: Request) -> Response | None:
    """The 401 or 403 this request gets, or None when its token may read the path."""
    check = api_state(request).tokens.check(bearer(request))
    if check.problem:
        return error(401, "invalid_token", _PROBLEMS[check.problem])
    scope = required_scope(request.url.path)
    if scope not in check.scopes:
        return error(403, "insufficient_scope", f"the token lacks {scope}", scope=scope)
    return None


def _wants_json(request: Request) -> bool:
    """Coupa answers XML unless asked for JSON; this simulator speaks JSON only."""
    return "application/json" in request.headers.get("accept", "").lower()


def api_endpoint(*, files: bool = False) -> Callable[[Endpoint], Endpoint]:
    """Gate an API handler: token and scope, ``Accept: application/json`` (406
    without it), the fault knobs (as a page, or with ``files`` as a file download),
    then the page think time for a record request."""

    def wrap(handler: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response | FaultyBody:
            if (refused := refusal(request)) is not None:
                return refused
            if files:
                return await handler(request)  # serve_file draws the file faults itself
            if not _wants_json(request):
                return error(406, "not_acceptable", "send Accept: application/json")
            state = state_of(request)
            key = request.url.path.removeprefix("/api/")
            state.stats.add("api_calls")
            state.stats.hit("api", key)
            if (fault := injected_fault(request, "api", key, as_json=True)) is not None:
                return fault
            await think(request)
            return await handler(request)

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


def unrouted(request: Request, status: int) -> Response:
    """An ``/api/`` or token URL no handler took (unknown path, wrong method): the
    token's 401/403 first, as on every API path, then a JSON 404 or 405."""
    if request.url.path.startswith("/api/") and (refused := refusal(request)) is not None:
        return refused
    if status == 405:
        return error(405, "method_not_allowed", f"{request.method} is not allowed here")
    return error(404 if status == 404 else status, "not_found", "no such resource")
