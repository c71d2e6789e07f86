"""Failures injected into a request: the 429/500 answers the knobs call for, think time."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from coupadl.simulator.pages.errors import SERVER_ERROR_HTML, render_too_many_requests
from coupadl.simulator.sim_state import state_of


def injected_fault(request: Request, group: str, key: str) -> Response | None:
    """A 429 or 500 answer when the knobs say this request fails, else None."""
    state = state_of(request)
    code = state.faults.draw("files" if group == "files" else "pages")
    if code is None:
        return None
    state.stats.fault(str(code), group, key)
    if code == 429:
        retry_after = state.faults.knobs.retry_after
        html = render_too_many_requests(retry_after)
        return HTMLResponse(html, 429, {"Retry-After": str(retry_after)})
    return HTMLResponse(SERVER_ERROR_HTML, 500)


async def think(request: Request) -> None:
    """The server's think time for a page (the ``page_latency`` knob)."""
    latency = state_of(request).faults.knobs.page_latency
    if latency > 0:
        await anyio.sleep(latency)
