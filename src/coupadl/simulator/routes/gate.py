"""The sign-in gate: no page or file without a live session; anonymous requests sign in.

A native tenant sends them to ``/sessions/new?return_to=...``, an SSO tenant (the
``sso_after`` knob) to the identity provider on another host (``simulator/sso.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from coupadl.simulator import sso
from coupadl.simulator.auth import COOKIE_NAME, SIGN_IN_PATH
from coupadl.simulator.sim_state import state_of
from coupadl.simulator.transfer import FaultyBody

# FaultyBody is an ASGI app that Starlette sends as it sends a Response.
Endpoint = Callable[[Request], Awaitable[Response | FaultyBody]]


def session_ok(request: Request, *, count: bool) -> bool:
    """Does the request carry a live session? ``count`` adds a page request to it."""
    state = state_of(request)
    knobs = state.faults.knobs
    if knobs.browser_only_sessions and "sec-fetch-mode" not in request.headers:
        return False
    return state.sessions.check(
        request.cookies.get(COOKIE_NAME),
        ttl=knobs.session_ttl,
        max_requests=knobs.session_max_requests,
        count=count,
    ).valid


def to_sign_in(request: Request) -> Response:
    """The redirect an anonymous request gets, back to where it was going afterwards."""
    state = state_of(request)
    state.stats.add("sign_in_redirects")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if state.faults.knobs.sso_after is not None:  # an SSO tenant: off to the IdP host
        return sso.redirect_to_idp(request, target)
    return RedirectResponse(f"{SIGN_IN_PATH}?{urlencode({'return_to': target})}", 302)


def signed_in(*, page: bool) -> Callable[[Endpoint], Endpoint]:
    """Gate an endpoint; ``page`` requests count toward ``session_max_requests``."""

    def wrap(handler: Endpoint) -> Endpoint:
        async def endpoint(request: Request) -> Response | FaultyBody:
            if not session_ok(request, count=page):
                return to_sign_in(request)
            if page:
                state_of(request).stats.add("pages")
            return await handler(request)

        endpoint.__name__ = handler.__name__
        return endpoint

    return wrap
