"""The http engine's session data: what one handler exports and another imports.

Cookies and the browser's user agent, read once from the signed-in profile
(signin.py). Picklable (a pool may carry it between processes); the cookies are
credentials, so they stay out of its ``repr``. A re-sign-in mid-run
(``engine.browser.login.reauthenticator``) gives a plain cookie list: both are taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from coupadl.engine.http.cookies import CookieList


@dataclass(frozen=True)
class HttpSession:
    cookies: CookieList = field(repr=False)
    user_agent: str = ""  # "" when unknown (a plain cookie list was given)


def as_http_session(data: Any) -> HttpSession:
    """``data`` as an :class:`HttpSession`: one already, a cookie list, or None."""
    if isinstance(data, HttpSession):
        return data
    if data is None:
        return HttpSession([])
    if isinstance(data, list) and all(isinstance(c, dict) for c in data):
        return HttpSession(list(data))
    raise TypeError(f"not an http session or cookie list: {type(data).__name__}")
