"""The simulated Coupa tenant as a Starlette app: its URL map, error answers and counting.

``create_app(dataset, knobs, credentials)`` returns the app; its live state (knobs,
sessions, stats, digests) is ``app.state.sim``, a :class:`SimState`, which
``SimulatorServer`` uses directly and ``/__sim__/*`` exposes over HTTP. The handlers
live in :mod:`coupadl.simulator.routes`, one module per area.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from coupadl.simulator import broken, sso
from coupadl.simulator.api.guard import unrouted
from coupadl.simulator.api.state import make_state
from coupadl.simulator.api.urls import API_PREFIXES, API_ROUTES
from coupadl.simulator.auth import Credentials, Sessions
from coupadl.simulator.data.model import Dataset
from coupadl.simulator.faults import Faults, Knobs
from coupadl.simulator.pages.errors import SERVER_ERROR_HTML, render_too_many_requests
from coupadl.simulator.pages.filler import Filler
from coupadl.simulator.routes import assets, control, documents, files, sessions
from coupadl.simulator.routes.common import not_found
from coupadl.simulator.routes.control import CONTROL_PREFIX
from coupadl.simulator.routes.gate import session_ok, to_sign_in
from coupadl.simulator.sim_state import SimState

_PUBLIC_PREFIXES = (CONTROL_PREFIX + "/", "/assets/", "/sessions")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths: sign-in first (as everywhere), then Coupa's not-found page."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if request.url.path.startswith(API_PREFIXES):  # the REST API answers JSON, no sign-in
        return unrouted(request, status)
    public = request.url.path.startswith(_PUBLIC_PREFIXES)
    if not public and not session_ok(request, count=False):
        return to_sign_in(request)
    if status == 404:
        return not_found(request)
    return HTMLResponse(SERVER_ERROR_HTML if status >= 500 else "", status)


class _CountAndLimit:
    """Pure ASGI middleware: counts every request except the control API's, and answers
    HTTP 429 to those over the tenant-wide rate limit (the ``rate_limit_*`` knobs)
    before any handler runs (the REST API's calls too, answered in JSON). The identity
    provider's pages (SSO mode) and the signed file host (``file_host``) stand for other
    hosts: the tenant's limit is not theirs."""

    def __init__(self, app: Any, state: SimState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        stats = self.state.stats
        stats.add("total")
        if path == sso.IDP_PATH or path.startswith(broken.SIGNED_PREFIX + "/"):
            await self.app(scope, receive, send)
            return
        second = stats.rate.arrived()
        knobs = self.state.faults.knobs
        wait = self.state.limiter.take(knobs.rate_limit_rps, knobs.rate_limit_burst)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            stats.fault("limited", "rate_limit", path)
            stats.rate.answered_429(second, limited=True)
            headers = {"Retry-After": str(retry_after)}
            limited: Response
            if path.startswith(API_PREFIXES):
                limited = JSONResponse({"error": "too_many_requests"}, 429, headers)
            else:
                limited = HTMLResponse(render_too_many_requests(retry_after), 429, headers)
            await limited(scope, receive, send)
            return

        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.start" and message["status"] == 429:
                stats.rate.answered_429(second, limited=False)  # e.g. the rate_429 knob
            await send(message)

        await self.app(scope, receive, counting_send)


_ROUTES = [
    Route("/", documents.home),
    Route("/favicon.ico", assets.favicon),
    Route("/sessions/new", sessions.sign_in_form),
    Route("/sessions", sessions.sign_in_submit, methods=["GET", "POST"]),
    Route("/sessions/expiration_check", sessions.expiration_check),
    Route(sso.IDP_PATH, sso.idp_page),
    Route(sso.ACS_PATH, sso.acs, methods=["POST"]),
    Route("/order_headers", documents.po_list),
    Route("/order_headers/print_view", documents.print_view),
    Route("/order_headers/{po_id}", documents.po_page),
    Route("/requisition_headers", documents.requisition_list),
    Route("/requisition_headers/{req_id}", documents.requisition_page),
    Route("/attachment/attachment_file/file/{file_id:int}/{name:path}", files.attachment_file),
    Route("/attachment/attachment_file/type/{file_id:int}/{name:path}", files.attachment_file),
    Route("/attachments/{file_id:int}", files.attachment_record),
    Route(broken.SIGNED_PREFIX + "/{file_id:int}/{name:path}", files.signed_file),
    Route("/assets/{name:path}", assets.asset),
    Route(f"{CONTROL_PREFIX}/control", control.control, methods=["GET", "POST"]),
    Route(f"{CONTROL_PREFIX}/expire-sessions", control.expire_sessions, methods=["POST"]),
    Route(f"{CONTROL_PREFIX}/add-attachment", control.add_attachment, methods=["POST"]),
    Route(f"{CONTROL_PREFIX}/stats", control.stats),
    Route(f"{CONTROL_PREFIX}/stats/reset", control.reset_stats, methods=["POST"]),
    Route(f"{CONTROL_PREFIX}/timeline", control.timeline),
    Route(f"{CONTROL_PREFIX}/manifest", control.manifest),
    Route(f"{CONTROL_PREFIX}/health", control.health),
    *API_ROUTES,  # the REST API (simulator/api/)
]


def create_app(
    dataset: Dataset, knobs: Knobs | None = None, credentials: Credentials | None = None
) -> Starlette:
    """The tenant for ``dataset``; its state is ``app.state.sim`` (a :class:`SimState`)."""
    state = SimState(
        dataset=dataset,
        faults=Faults(knobs, dataset.seed),
        credentials=credentials or Credentials(),
        sessions=Sessions(dataset.seed),
        filler=Filler(dataset.seed),
    )
    app = Starlette(
        routes=_ROUTES,
        middleware=[Middleware(_CountAndLimit, state=state)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sim = state
    app.state.api = make_state(dataset, state.credentials)
    state.po_changed = app.state.api.catalog.update_po
    app.state.sso = sso.make_state(dataset.seed)
    return app
