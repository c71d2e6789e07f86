"""Handlers of static assets: the application script and stylesheet, chunks, the favicon.

No sign-in needed, as on Coupa. ``?delay=`` makes a script slow to arrive: the late
analytics scripts use it to keep a page loading after ``DOMContentLoaded``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from coupadl.simulator.pages.assets import (
    ANALYTICS_JS,
    APPLICATION_CSS,
    APPLICATION_CSS_PATH,
    APPLICATION_JS,
    APPLICATION_JS_PATH,
    STUB_JS,
)
from coupadl.simulator.routes.common import pause
from coupadl.simulator.sim_state import state_of

_MAX_SCRIPT_DELAY = 30.0


async def asset(request: Request) -> Response:
    state = state_of(request)
    state.stats.add("assets")
    path = request.url.path
    try:
        delay = min(max(float(request.query_params.get("delay", "0")), 0.0), _MAX_SCRIPT_DELAY)
    except ValueError:
        delay = 0.0
    if delay and not await pause(request, delay):
        return Response(status_code=204)  # the client has gone: nobody reads this
    cache = {"Cache-Control": "public, max-age=31536000, immutable"}
    if path == APPLICATION_JS_PATH:
        return Response(APPLICATION_JS, media_type="text/javascript", headers=cache)
    if path == APPLICATION_CSS_PATH:
        return Response(APPLICATION_CSS, media_type="text/css", headers=cache)
    if path.startswith("/assets/analytics-"):  # never cached: every page load waits again
        return Response(ANALYTICS_JS, media_type="text/javascript",
                        headers={"Cache-Control": "no-store"})  # fmt: skip
    if path.endswith(".js"):
        return Response(STUB_JS, media_type="text/javascript", headers=cache)
    return Response("Not Found", 404, media_type="text/plain")


async def favicon(request: Request) -> Response:
    return Response(status_code=204, headers={"Cache-Control": "public, max-age=86400"})
