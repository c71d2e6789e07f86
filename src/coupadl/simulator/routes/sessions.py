"""Handlers of the native sign-in: the form, its submission, the session expiry check.

``return_to`` is kept to local paths (no open redirect). The session cookie is
persistent (Max-Age), so it survives in a browser profile on disk.
"""

from __future__ import annotations

import logging
import math
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from coupadl.simulator.auth import COOKIE_NAME, SIGN_IN_PATH
from coupadl.simulator.pages.sign_in import render_sign_in
from coupadl.simulator.routes.common import page_context
from coupadl.simulator.sim_state import state_of

log = logging.getLogger(__name__)


def safe_return_to(value: str | None) -> str:
    """A local path only (no open redirect), and never back to the sign-in form."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return "/" if value.startswith("/sessions") else value


async def sign_in_form(request: Request) -> Response:
    return_to = safe_return_to(request.query_params.get("return_to"))
    return HTMLResponse(render_sign_in(page_context(request), return_to))


async def sign_in_submit(request: Request) -> Response:
    if request.method != "POST":  # a reload after a failed sign-in
        return RedirectResponse(SIGN_IN_PATH, 302)
    state = state_of(request)
    # application/x-www-form-urlencoded, parsed here: python-multipart is not a dependency.
    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)

    def value(name: str) -> str:
        return form.get(name, [""])[0]

    return_to = safe_return_to(value("return_to") or request.query_params.get("return_to"))
    email = value("user[email]")
    if not state.credentials.matches(email, value("user[password]")):
        log.info("simulator: failed sign-in for %r", email)
        html = render_sign_in(
            page_context(request), return_to, error="Invalid email or password.", email=email
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
    state = state_of(request)
    knobs = state.faults.knobs
    session = state.sessions.check(
        request.cookies.get(COOKIE_NAME),
        ttl=knobs.session_ttl,
        max_requests=knobs.session_max_requests,
        count=False,
    )
    browser_only = knobs.browser_only_sessions and "sec-fetch-mode" not in request.headers
    if not session.valid or browser_only:
        return JSONResponse({"expired_session_url": SIGN_IN_PATH})
    return JSONResponse({"expired": False, "expires_in": int(session.expires_in)})
