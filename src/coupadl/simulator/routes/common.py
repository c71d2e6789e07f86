"""What every handler needs from a request: the page context, Coupa's not-found page,
and a pause that ends when the client goes away."""

from __future__ import annotations

import hashlib

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from coupadl.simulator.auth import COOKIE_NAME
from coupadl.simulator.pages.errors import render_not_found
from coupadl.simulator.pages.layout import PageContext
from coupadl.simulator.sim_state import state_of


def page_context(request: Request) -> PageContext:
    """The request's host, its session's CSRF token and the page-related knobs."""
    state = state_of(request)
    knobs = state.faults.knobs
    token = request.cookies.get(COOKIE_NAME, "")
    csrf = hashlib.sha256(f"csrf:{state.dataset.seed}:{token}".encode()).hexdigest()
    return PageContext(
        base=str(request.base_url).rstrip("/"),
        csrf_token=csrf,
        script_delay=knobs.script_delay,
        check_interval=knobs.expiration_check_interval,
    )


def not_found(request: Request, lang: str = "en") -> Response:
    """The 404 page, in Portuguese for a Portuguese browser or a ``pt`` PO."""
    # Coupa speaks the user's language: a Portuguese browser gets the Portuguese page.
    if request.headers.get("accept-language", "").lower().startswith("pt"):
        lang = "pt"
    return HTMLResponse(render_not_found(page_context(request), lang), 404)


async def pause(request: Request, seconds: float) -> bool:
    """Wait ``seconds``; False at once when the client has gone (a browser that quit
    while a slow script was on its way must not keep the server from stopping)."""
    deadline = anyio.current_time() + seconds
    while (left := deadline - anyio.current_time()) > 0:
        if await request.is_disconnected():
            return False
        await anyio.sleep(min(0.1, left))
    return True
