"""The simulated Coupa tenant as a Starlette app: routes, sign-in gate, faults, control API.

``create_app(dataset, knobs, credentials)`` returns the app; its live state (knobs,
sessions, stats, digests) is ``app.state.sim``, a :class:`SimState`, which
``SimulatorServer`` uses directly and ``/__sim__/*`` exposes over HTTP.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from coupadl.simulator import broken, pages, sso
from coupadl.simulator.auth import COOKIE_NAME, SIGN_IN_PATH, Credentials, Sessions
from coupadl.simulator.data import Dataset, Kind, build_manifest
from coupadl.simulator.faults import Faults, Knobs
from coupadl.simulator.files import FileStore, content_disposition, content_type
from coupadl.simulator.stats import Stats
from coupadl.simulator.transfer import FaultyBody

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/__sim__"
_PUBLIC_PREFIXES = (CONTROL_PREFIX + "/", "/assets/", "/sessions")
_MAX_SCRIPT_DELAY = 30.0

# FaultyBody is an ASGI app that Starlette sends as it sends a Response.
Endpoint = Callable[[Request], Awaitable[Response | FaultyBody]]


@dataclass
class SimState:
    """Everything the running simulator knows and counts."""

    dataset: Dataset
    faults: Faults
    credentials: Credentials
    sessions: Sessions
    stats: Stats = field(default_factory=Stats)
    store: FileStore = field(default_factory=FileStore)
    filler: pages.Filler | None = None

    def manifest(self, base_url: str, fallback: str | None = None) -> dict[str, Any]:
        return build_manifest(
            self.dataset,
            base_url=base_url,
            credentials=self.credentials.as_dict(),
            digest=self.store.digest,
            fallback=fallback,
        )


def _state(request: Request) -> SimState:
    return request.app.state.sim


def _context(request: Request) -> pages.PageContext:
    state = _state(request)
    knobs = state.faults.knobs
    token = request.cookies.get(COOKIE_NAME, "")
    csrf = hashlib.sha256(f"csrf:{state.dataset.seed}:{token}".encode()).hexdigest()
    return pages.PageContext(
        base=str(request.base_url).rstrip("/"),
        csrf_token=csrf,
        script_delay=knobs.script_delay,
        check_interval=knobs.expiration_check_interval,
    )


# --- sign-in gate -----------------------------------------------------------------------


def _session_ok(request: Request, *, count: bool) -> bool:
    state = _state(request)
    knobs = state.faults.knobs
    return state.sessions.check(
        request.cookies.get(COOKIE_NAME),
        ttl=knobs.session_ttl,
        max_requests=knobs.session_max_requests,
        count=count,
    ).valid


def _to_sign_in(request: Request) -> Response:
    state = _state(request)
    state.stats.add("sign_in_redirects")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if state.faults.knobs.sso_after is not None:  # an SSO tenant: off to the IdP host
        return sso.redirect_to_idp(request, target)
    return RedirectResponse(f"{SIGN_IN_PATH}?{urlencode({'return_to': target})}", 302)


def _signed_in(*, page: bool) -> Callable[[Endpoint], Endpoint]:
    """Gate an endpoint; ``page`` requests count toward ``session_max_requests``."""

    def wrap(handler: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response | FaultyBody:
            if not _session_ok(request, count=page):
                return _to_sign_in(request)
            if page:
                _state(request).stats.add("pages")
            return await handler(request)

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap


def _safe_return_to(value: str | None) -> str:
    """A local path only (no open redirect), and never back to the sign-in form."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return "/" if value.startswith("/sessions") else value


# --- faults -----------------------------------------------------------------------------


def _fault(request: Request, group: str, key: str) -> Response | None:
    """A 429 or 500 answer when the knobs say this request fails, else None."""
    state = _state(request)
    code = state.faults.draw("files" if group == "files" else "pages")
    if code is None:
        return None
    state.stats.fault(str(code), group, key)
    if code == 429:
        retry_after = state.faults.knobs.retry_after
        html = pages.render_too_many_requests(retry_after)
        return HTMLResponse(html, 429, {"Retry-After": str(retry_after)})
    return HTMLResponse(pages.SERVER_ERROR_HTML, 500)


async def _think(request: Request) -> None:
    latency = _state(request).faults.knobs.page_latency
    if latency > 0:
        await anyio.sleep(latency)


# --- pages ------------------------------------------------------------------------------


async def home(request: Request) -> Response:
    if not _session_ok(request, count=True):
        return _to_sign_in(request)
    return RedirectResponse("/order_headers", 302)


@_signed_in(page=True)
async def po_list(request: Request) -> Response:
    return HTMLResponse(pages.render_po_list(_state(request).dataset, _context(request)))


@_signed_in(page=True)
async def requisition_list(request: Request) -> Response:
    state = _state(request)
    return HTMLResponse(pages.render_requisition_list(state.dataset, _context(request)))


def _not_found(request: Request, lang: str = "en") -> Response:
    # Coupa speaks the user's language: a Portuguese browser gets the Portuguese page.
    if request.headers.get("accept-language", "").lower().startswith("pt"):
        lang = "pt"
    return HTMLResponse(pages.render_not_found(_context(request), lang), 404)


@_signed_in(page=True)
async def po_page(request: Request) -> Response:
    state = _state(request)
    number = request.path_params["po_id"]
    state.stats.hit("pos", number)
    if (fault := _fault(request, "pos", number)) is not None:
        return fault
    await _think(request)
    po = state.dataset.po(number)
    if po is None:
        return _not_found(request)
    if po.kind is Kind.DENIED:
        return HTMLResponse(pages.render_denied(_context(request)), 403)
    if po.kind is Kind.NOT_FOUND:
        return _not_found(request, po.lang)
    assert state.filler is not None
    return HTMLResponse(pages.render_po(po, _context(request), state.filler))


@_signed_in(page=True)
async def print_view(request: Request) -> Response:
    state = _state(request)
    if (fault := _fault(request, "print_view", request.query_params.get("id", ""))) is not None:
        return fault
    po = state.dataset.po(request.query_params.get("id", ""))
    if po is None or po.kind is Kind.NOT_FOUND:
        return _not_found(request)
    if po.kind is Kind.DENIED:
        return HTMLResponse(pages.render_denied(_context(request)), 403)
    return HTMLResponse(pages.render_print_view(po, _context(request)))


@_signed_in(page=True)
async def requisition_page(request: Request) -> Response:
    state = _state(request)
    req_id = request.path_params["req_id"]
    state.stats.hit("requisitions", req_id)
    if (fault := _fault(request, "requisitions", req_id)) is not None:
        return fault
    await _think(request)
    requisition = state.dataset.requisitions.get(req_id)
    if requisition is None:
        return _not_found(request)
    assert state.filler is not None
    return HTMLResponse(pages.render_requisition(requisition, _context(request), state.filler))


# --- files ------------------------------------------------------------------------------


@_signed_in(page=False)
async def attachment_file(request: Request) -> Response | FaultyBody:
    return await _serve_file(request)


async def signed_file(request: Request) -> Response | FaultyBody:
    """A file on the file host (simulator/broken.py): a signed URL, no session cookie."""
    state = _state(request)
    if not broken.signature_ok(request, request.path_params["file_id"], state.dataset.seed):
        return Response("Forbidden", 403, media_type="text/plain")
    return await _serve_file(request)


async def _serve_file(request: Request) -> Response | FaultyBody:
    state = _state(request)
    file_id = request.path_params["file_id"]
    state.stats.hit("files", str(file_id))
    if (fault := _fault(request, "files", str(file_id))) is not None:
        return fault
    sim = state.dataset.files.get(file_id)
    if sim is None:
        return _not_found(request)
    if moved := broken.redirect_for(request, sim, state.faults.knobs, state.dataset.seed):
        return moved
    data = await run_in_threadpool(state.store.content, sim)
    knobs = state.faults.knobs
    stall_after, drop_after = state.faults.file_cut(len(data))
    if stall_after is not None or drop_after is not None:
        state.stats.fault("stall" if stall_after is not None else "drop", "files", str(file_id))
    headers = [
        (b"content-type", content_type(sim.ftype).encode()),
        (b"content-disposition", content_disposition(sim.name).encode()),
        (b"cache-control", b"private, no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    data, headers, claim_extra = broken.broken_body(sim, data, headers, knobs)
    return FaultyBody(
        data,
        headers,
        bandwidth=knobs.file_bandwidth,
        stall_after=stall_after,
        stall_seconds=knobs.stall_seconds,
        drop_after=drop_after,
        claim_extra=claim_extra,
    )


@_signed_in(page=False)
async def attachment_record(request: Request) -> Response:
    """``/attachments/<id>`` (an ``li``'s data-url): on to the file itself."""
    sim = _state(request).dataset.files.get(request.path_params["file_id"])
    if sim is None:
        return _not_found(request)
    return RedirectResponse(pages.file_url("", "type", sim), 302)


async def asset(request: Request) -> Response:
    state = _state(request)
    state.stats.add("assets")
    path = request.url.path
    try:
        delay = min(max(float(request.query_params.get("delay", "0")), 0.0), _MAX_SCRIPT_DELAY)
    except ValueError:
        delay = 0.0
    if delay:
        await anyio.sleep(delay)
    cache = {"Cache-Control": "public, max-age=31536000, immutable"}
    if path == pages.APPLICATION_JS_PATH:
        return Response(pages.APPLICATION_JS, media_type="text/javascript", headers=cache)
    if path == pages.APPLICATION_CSS_PATH:
        return Response(pages.APPLICATION_CSS, media_type="text/css", headers=cache)
    if path.startswith("/assets/analytics-"):  # never cached: every page load waits again
        return Response(pages.ANALYTICS_JS, media_type="text/javascript",
                        headers={"Cache-Control": "no-store"})  # fmt: skip
    if path.endswith(".js"):
        return Response(pages.STUB_JS, media_type="text/javascript", headers=cache)
    return Response("Not Found", 404, media_type="text/plain")


async def favicon(request: Request) -> Response:
    return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})


# --- sessions ---------------------------------------------------------------------------


async def sign_in_form(request: Request) -> Response:
    return_to = _safe_return_to(request.query_params.get("return_to"))
    return HTMLResponse(pages.render_sign_in(_context(request), return_to))


async def sign_in_submit(request: Request) -> Response:
    if request.method != "POST":  # a reload after a failed sign-in
        return RedirectResponse(SIGN_IN_PATH, 302)
    state = _state(request)
    # application/x-www-form-urlencoded, parsed here: python-multipart is not a dependency.
    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)

    def value(name: str) -> str:
        return form.get(name, [""])[0]

    return_to = _safe_return_to(value("return_to") or request.query_params.get("return_to"))
    email = value("user[email]")
    if not state.credentials.matches(email, value("user[password]")):
        log.info("simulator: failed sign-in for %r", email)
        html = pages.render_sign_in(
            _context(request), return_to, error="Invalid email or password.", email=email
        )
        return HTMLResponse(html)
    state.stats.add("logins")
    response = RedirectResponse(return_to, 302)
    max_age = max(1, math.ceil(state.faults.knobs.session_ttl))
    # Max-Age makes the cookie persistent, so it survives in the browser profile on disk.
    response.set_cookie(COOKIE_NAME, state.sessions.issue(), max_age=max_age, httponly=True,
                        path="/", samesite="lax")  # fmt: skip
    return response


async def expiration_check(request: Request) -> Response:
    state = _state(request)
    knobs = state.faults.knobs
    session = state.sessions.check(
        request.cookies.get(COOKIE_NAME),
        ttl=knobs.session_ttl,
        max_requests=knobs.session_max_requests,
        count=False,
    )
    if not session.valid:
        return JSONResponse({"expired_session_url": SIGN_IN_PATH})
    return JSONResponse({"expired": False, "expires_in": int(session.expires_in)})


# --- control API ------------------------------------------------------------------------


async def control(request: Request) -> Response:
    faults = _state(request).faults
    if request.method == "GET":
        return JSONResponse(faults.snapshot())
    try:
        changes = json.loads(await request.body() or b"{}")
        if not isinstance(changes, dict):
            raise ValueError("send a JSON object of knob names and values")
        knobs = faults.update(changes)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return JSONResponse({"error": str(exc)}, 400)
    log.info("simulator knobs changed: %s", changes)
    return JSONResponse(knobs)


async def expire_sessions(request: Request) -> Response:
    _state(request).sessions.expire_all()
    return JSONResponse({"expired": True})


async def stats(request: Request) -> Response:
    return JSONResponse(_state(request).stats.snapshot())


async def timeline(request: Request) -> Response:
    return JSONResponse(_state(request).stats.timeline())


async def reset_stats(request: Request) -> Response:
    _state(request).stats.reset()
    return JSONResponse({"reset": True})


async def manifest(request: Request) -> Response:
    state = _state(request)
    fallback = request.query_params.get("fallback")
    base = str(request.base_url).rstrip("/")
    try:
        data = await run_in_threadpool(state.manifest, base, fallback)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse(data)


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True, "pos": len(_state(request).dataset.pos)})


# --- app --------------------------------------------------------------------------------


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths: sign-in first (as everywhere), then Coupa's not-found page."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    public = request.url.path.startswith(_PUBLIC_PREFIXES)
    if not public and not _session_ok(request, count=False):
        return _to_sign_in(request)
    if status == 404:
        return _not_found(request)
    return HTMLResponse(pages.SERVER_ERROR_HTML if status >= 500 else "", status)


class _CountRequests:
    """Pure ASGI middleware: counts every request except the control API's."""

    def __init__(self, app: Any, stats: Stats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not scope["path"].startswith(CONTROL_PREFIX):
            self.stats.add("total")
        await self.app(scope, receive, send)


_ROUTES = [
    Route("/", home),
    Route("/favicon.ico", favicon),
    Route("/sessions/new", sign_in_form),
    Route("/sessions", sign_in_submit, methods=["GET", "POST"]),
    Route("/sessions/expiration_check", expiration_check),
    Route(sso.IDP_PATH, sso.idp_page),
    Route(sso.ACS_PATH, sso.acs, methods=["POST"]),
    Route("/order_headers", po_list),
    Route("/order_headers/print_view", print_view),
    Route("/order_headers/{po_id}", po_page),
    Route("/requisition_headers", requisition_list),
    Route("/requisition_headers/{req_id}", requisition_page),
    Route("/attachment/attachment_file/file/{file_id:int}/{name:path}", attachment_file),
    Route("/attachment/attachment_file/type/{file_id:int}/{name:path}", attachment_file),
    Route("/attachments/{file_id:int}", attachment_record),
    Route(broken.SIGNED_PREFIX + "/{file_id:int}/{name:path}", signed_file),
    Route("/assets/{name:path}", asset),
    Route(f"{CONTROL_PREFIX}/control", control, methods=["GET", "POST"]),
    Route(f"{CONTROL_PREFIX}/expire-sessions", expire_sessions, methods=["POST"]),
    Route(f"{CONTROL_PREFIX}/stats", stats),
    Route(f"{CONTROL_PREFIX}/stats/reset", reset_stats, methods=["POST"]),
    Route(f"{CONTROL_PREFIX}/timeline", timeline),
    Route(f"{CONTROL_PREFIX}/manifest", manifest),
    Route(f"{CONTROL_PREFIX}/health", health),
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
        filler=pages.Filler(dataset.seed),
    )
    app = Starlette(
        routes=_ROUTES,
        middleware=[Middleware(_CountRequests, stats=state.stats)],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sim = state
    app.state.sso = sso.make_state(dataset.seed)
    return app
