"""The session's cookies for the http engine, in memory only.

The cookies come from the signed-in browser (CDP ``Network.getAllCookies``: host-only
cookies carry their host as ``domain``, domain cookies a leading dot) and change when
Coupa sends ``Set-Cookie``. One :class:`CookieStore` serves every thread of the
process under one lock; the ``Cookie`` header of each request (every redirect hop
too) is made here, so a file host never gets the tenant's cookies. Nothing here is
ever written to disk or shown: ``repr`` gives a count, never a value.

httpx's own cookie jar is not used (its request-time copy of the jar is not safe
while another thread stores a cookie): the client gets a jar that refuses all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any
from urllib.parse import urlsplit

# The browser engine's session shape: one dict per cookie, as CDP gives them.
CookieList = list[dict[str, Any]]


class RefuseAllCookies(DefaultCookiePolicy):
    """For httpx's own jar: it stores and sends nothing (CookieStore does)."""

    def set_ok(self, cookie: Any, request: Any) -> bool:
        return False

    def return_ok(self, cookie: Any, request: Any) -> bool:
        return False


def refusing_jar() -> CookieJar:
    return CookieJar(policy=RefuseAllCookies())


@dataclass(frozen=True)
class _Cookie:
    name: str
    value: str = field(repr=False)  # a credential: never in a repr
    domain: str  # lower case, no leading dot
    host_only: bool
    path: str
    secure: bool
    http_only: bool
    same_site: str | None
    expires: float | None  # seconds since the epoch; None: a session cookie

    def expired(self, now: float) -> bool:
        return self.expires is not None and self.expires <= now

    def matches(self, host: str, path: str, https: bool) -> bool:
        if self.secure and not https:
            return False
        if host != self.domain and (self.host_only or not host.endswith("." + self.domain)):
            return False
        return _path_matches(path, self.path)

    def as_cdp(self) -> dict[str, Any]:
        cookie: dict[str, Any] = {
            "name": self.name,
            "value": self.value,
            "domain": self.domain if self.host_only else "." + self.domain,
            "path": self.path,
            "secure": self.secure,
            "httpOnly": self.http_only,
            "expires": -1 if self.expires is None else self.expires,
            "session": self.expires is None,
        }
        if self.same_site:
            cookie["sameSite"] = self.same_site
        return cookie


def _path_matches(request_path: str, cookie_path: str) -> bool:
    """RFC 6265 5.1.4."""
    if request_path == cookie_path:
        return True
    if not request_path.startswith(cookie_path):
        return False
    return cookie_path.endswith("/") or request_path[len(cookie_path)] == "/"


def _default_path(request_path: str) -> str:
    """RFC 6265 5.1.4: the request path up to its last slash."""
    if not request_path.startswith("/") or request_path.count("/") == 1:
        return "/"
    return request_path[: request_path.rfind("/")]


def _from_cdp(raw: dict[str, Any]) -> _Cookie | None:
    name, domain = str(raw.get("name", "")), str(raw.get("domain", "")).lower()
    if not name or not domain.strip("."):
        return None
    expires = raw.get("expires")
    session = bool(raw.get("session")) or not isinstance(expires, int | float) or expires <= 0
    return _Cookie(
        name=name,
        value=str(raw.get("value", "")),
        domain=domain.lstrip("."),
        host_only=not domain.startswith("."),
        path=str(raw.get("path") or "/"),
        secure=bool(raw.get("secure")),
        http_only=bool(raw.get("httpOnly")),
        same_site=raw.get("sameSite") or None,
        expires=None if session else float(expires),  # type: ignore[arg-type]
    )


def _expiry(value: str) -> float | None:
    for text in (value, value.replace("-", " ")):
        try:
            return parsedate_to_datetime(text).timestamp()
        except (TypeError, ValueError, IndexError):
            continue
    return None


def parse_set_cookie(header: str, url: str, now: float) -> _Cookie | None:
    """One ``Set-Cookie`` header as the browser would store it for ``url``; None when
    it is malformed or names a domain ``url``'s host may not set."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    first, *attributes = header.split(";")
    name, sep, value = first.partition("=")
    if not sep or not name.strip() or not host:
        return None
    fields: dict[str, str] = {}
    flags: set[str] = set()
    for attribute in attributes:
        key, has_value, text = attribute.partition("=")
        key = key.strip().lower()
        if has_value:
            fields[key] = text.strip()
        else:
            flags.add(key)
    domain = fields.get("domain", "").lstrip(".").lower()
    if domain and host != domain and not host.endswith("." + domain):
        return None  # a host may not set cookies for another site
    expires: float | None = None
    if (max_age := fields.get("max-age", "")).lstrip("-").isdigit():
        expires = now + int(max_age)
    elif "expires" in fields:
        expires = _expiry(fields["expires"])
    path = fields.get("path", "")
    return _Cookie(
        name=name.strip(),
        value=value.strip().strip('"'),
        domain=domain or host,
        host_only=not domain,
        path=path if path.startswith("/") else _default_path(parts.path or "/"),
        secure="secure" in flags,
        http_only="httponly" in flags,
        same_site=fields.get("samesite", "").capitalize() or None,
        expires=expires,
    )


class CookieStore:
    """The process's session cookies: one lock, one ``Cookie`` header per request."""

    def __init__(
        self, cookies: Iterable[dict[str, Any]] = (), clock: Callable[[], float] = time.time
    ):
        self._clock = clock
        self._lock = threading.Lock()
        self._cookies: dict[tuple[str, str, str], _Cookie] = {}
        self.replace(cookies)

    def __repr__(self) -> str:
        return f"<CookieStore: {len(self)} cookie(s)>"  # never a value

    def __len__(self) -> int:
        with self._lock:
            return len(self._cookies)

    def replace(self, cookies: Iterable[dict[str, Any]]) -> None:
        """Every cookie anew (a new sign-in): nothing of the old session is kept."""
        fresh = {}
        for raw in cookies:
            if (cookie := _from_cdp(raw)) is not None:
                fresh[(cookie.domain, cookie.path, cookie.name)] = cookie
        with self._lock:
            self._cookies = fresh

    def header_for(self, url: str) -> str | None:
        """The ``Cookie`` header a browser would send to ``url``; None for none."""
        parts = urlsplit(url)
        host, path = (parts.hostname or "").lower(), parts.path or "/"
        https, now = parts.scheme.lower() == "https", self._clock()
        with self._lock:
            chosen = [
                c
                for c in self._cookies.values()
                if not c.expired(now) and c.matches(host, path, https)
            ]
        chosen.sort(key=lambda c: len(c.path), reverse=True)
        return "; ".join(f"{c.name}={c.value}" for c in chosen) or None

    def store(self, url: str, set_cookie_headers: Iterable[str]) -> None:
        """Keep what a response to ``url`` set (an expired cookie deletes its name)."""
        now = self._clock()
        for header in set_cookie_headers:
            cookie = parse_set_cookie(header, url, now)
            if cookie is None:
                continue
            key = (cookie.domain, cookie.path, cookie.name)
            with self._lock:
                if cookie.expired(now):
                    self._cookies.pop(key, None)
                else:
                    self._cookies[key] = cookie

    def export(self) -> CookieList:
        """Every live cookie, shaped as CDP gives them (for a browser to import)."""
        now = self._clock()
        with self._lock:
            return [c.as_cdp() for c in self._cookies.values() if not c.expired(now)]

    def count_for(self, host: str) -> int:
        """How many cookies ``host`` would get on some path (for logs: never values)."""
        host = host.lower()
        with self._lock:
            cookies = list(self._cookies.values())
        return sum(1 for c in cookies if c.matches(host, c.path, https=True))
