"""Is the http engine's session signed in? Coupa's session poll, over plain HTTP.

As the browser handler asks (``BrowserHandler.session_ok``): the small JSON answer of
``/sessions/expiration_check`` first; only when that answer is not one coupadl knows,
the tenant's home page, followed on the tenant until it settles (logged).
"""

from __future__ import annotations

import logging

import httpx

from coupadl.coupa.page import PageKind, parse_page
from coupadl.coupa.signin import session_poll_answer
from coupadl.coupa.urls import is_sign_in_url, session_check_url
from coupadl.engine.http.answers import MAX_HOPS, redirect_target
from coupadl.engine.http.runtime import HttpRuntime

log = logging.getLogger(__name__)

_JSON = "application/json, text/javascript, */*; q=0.01"


def session_ok(runtime: HttpRuntime) -> bool:
    """True when Coupa takes the shared cookies as signed in."""
    base = runtime.base
    try:
        response = runtime.send(session_check_url(base), accept=_JSON)
        if response.status_code in (401, 403) or redirect_target(response, base) is not None:
            return False
        content_type = response.headers.get("content-type", "")
        answer = session_poll_answer(content_type, response.text)
        if answer is not None:
            return answer
        log.info(
            "the session check gave no answer coupadl knows (HTTP %d, %s); opening the "
            "home page to see whether Coupa asks to sign in",
            response.status_code,
            content_type or "no content type",
        )
        return _home_page_signed_in(runtime)
    except httpx.HTTPError as exc:
        log.warning("could not check the sign-in state: %s", type(exc).__name__)
        return False


def _home_page_signed_in(runtime: HttpRuntime) -> bool:
    base = runtime.base
    url = base + "/"
    for _ in range(MAX_HOPS):
        response = runtime.send(url)
        target = redirect_target(response, url)
        if target is None:
            if response.status_code in (401, 403):
                return False
            return parse_page(response.text, url, base).kind is not PageKind.SIGN_IN
        if is_sign_in_url(target, base):
            return False
        url = target
    return False
