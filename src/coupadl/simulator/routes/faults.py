"""Failures injected into a request: the 429/500 answers the knobs call for, think time."""

from __future__ import annotations

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from coupadl.simulator.pages.errors import SERVER_ERROR_HTML, render_too_many_requests
from coupadl.simulator.sim_state import state_of


def injected_fault(
    request: Request, group: str, key: str, *, as_json: bool = False
) -> Response | None:
    """A 429 or 500 answer when the knobs say this request fails, else None. Group
    ``files`` draws as a file request, any other as a page; ``as_json`` answers as the
    REST API does (a JSON error instead of the HTML page)."""
    state = state_of(request)
    code = state.faults.draw("files" if group == "files" else "pages")
    if code is None:
        return None
    state.stats.fault(str(code), group, key)
    if code == 429:
        retry_after = state.faults.knobs.retry_after
        headers = {"Retry-After": str(retry_after)}
        if as_json:
            return JSONResponse({"error": "too_many_requests"}, 429, headers)
        return HTMLResponse(render_too_many_requests(retry_after), 429, headers)
    if as_json:
        return JSONResponse({"error": "internal_server_error"}, 500)
    return HTMLResponse(SERVER_ERROR_HTML, 500)


async def think(request: Request) -> None:
    """The server's think time for a page (the ``page_latency`` knob)."""
    latency = state_of(request).faults.knobs.page_latency
    if latency > 0:
        await anyio.sleep(latency)
