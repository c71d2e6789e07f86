"""Coupa's record pages over plain HTTP: :class:`HttpRecords` (a RecordSource).

A GET through the shared politeness, redirects followed hop by hop on the tenant's
host only, then the answer read as the browser engine reads a rendered page
(:func:`coupadl.coupa.page.parse_page`), with what only HTTP shows: the status code.

- sign-in: a redirect to a sign-in URL or to any other host (an identity provider),
  HTTP 401, a 403 that is not Coupa's "not authorized" page, a sign-in document:
  AuthRequiredError, never "not found";
- HTTP 429: RateLimitedError with the Retry-After, and the shared gate closes so every
  request of the process waits;
- 5xx: a SERVER_ERROR page (the flow retries it); timeouts: PageTimeout; a failed
  connection: NetworkError;
- a page only a browser can read (an unknown layout, attachment lists a script fills
  in, coupa.completeness): NeedsBrowserError.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

from coupadl.coupa.completeness import missing_attachments
from coupadl.coupa.page import PageInfo, PageKind, parse_page
from coupadl.coupa.urls import is_sign_in_url
from coupadl.engine.hosts import redact
from coupadl.engine.http.answers import (
    MAX_HOPS,
    host_of,
    network_error,
    redirect_target,
    retry_after,
)
from coupadl.engine.http.runtime import HttpRuntime
from coupadl.errors import (
    AuthRequiredError,
    NeedsBrowserError,
    NetworkError,
    PageTimeout,
    RateLimitedError,
)
from coupadl.execution.ratelimit import pause_seconds

log = logging.getLogger(__name__)


@dataclass
class HttpRecords:
    """:class:`coupadl.engine.interface.RecordSource` over the shared HTTP client."""

    runtime: HttpRuntime

    def open_record(self, url: str) -> PageInfo:
        response, landed = fetch_page(self.runtime, url)
        return read_answer(self.runtime, response, landed)


def fetch_page(runtime: HttpRuntime, url: str) -> tuple[httpx.Response, str]:
    """The answer at the end of ``url``'s redirects on the tenant, and its URL."""
    base = runtime.base
    for _ in range(MAX_HOPS):
        try:
            response = runtime.send(url)
        except httpx.TimeoutException as exc:
            wait = runtime.settings.page_timeout
            raise PageTimeout(
                f"{redact(url)} did not answer within {wait:.0f} s ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            raise network_error(exc, url) from exc
        target = redirect_target(response, url)
        if target is None:
            return response, url
        if is_sign_in_url(target, base):  # a login path, or any other host (an IdP)
            where = redact(target) if host_of(target) == runtime.policy.tenant else host_of(target)
            raise AuthRequiredError(f"Coupa sent {redact(url)} to sign in ({where})")
        url = target
    raise NetworkError(f"{redact(url)}: more than {MAX_HOPS} redirects")


def read_answer(runtime: HttpRuntime, response: httpx.Response, url: str) -> PageInfo:
    """What one (non-redirect) answer to ``url`` says, as a page or a typed error."""
    status = response.status_code
    if status == 401:
        raise AuthRequiredError(f"Coupa answered HTTP 401 on {redact(url)}: not signed in")
    if status == 429:
        raise rate_limited(runtime, retry_after(response), url)
    page = parse_page(response.text, url, runtime.base)
    if status == 403 and page.kind is not PageKind.ACCESS_DENIED:
        raise AuthRequiredError(
            f"HTTP 403 on {redact(url)} without Coupa's 'not authorized' page: the session "
            "is refused (signed out, or a bot wall)"
        )
    if status >= 500:
        # Whatever its body says, a 5xx is the server failing: retried, never final.
        if page.kind is PageKind.SERVER_ERROR:
            return page
        return PageInfo(PageKind.SERVER_ERROR, title=page.title or f"HTTP {status}")
    return _judge(runtime, page, status, url)


def _judge(runtime: HttpRuntime, page: PageInfo, status: int, url: str) -> PageInfo:
    if page.kind is PageKind.SIGN_IN:
        raise AuthRequiredError(f"Coupa answered {redact(url)} with its sign-in page")
    if page.kind is PageKind.RATE_LIMITED:
        raise rate_limited(runtime, page.retry_after, url)
    if page.kind is PageKind.UNKNOWN:
        unknown = f"a page the parser does not know (HTTP {status}, title {page.title!r})"
        raise NeedsBrowserError(f"{redact(url)}: {unknown}", unknown)
    incomplete = missing_attachments(page)
    if incomplete is not None:
        raise NeedsBrowserError(f"{redact(url)}: {incomplete}", incomplete)
    return page


def rate_limited(runtime: HttpRuntime, asked: float | None, url: str) -> RateLimitedError:
    """The error of a 429 on ``url``; the shared gate is closed for its wait first."""
    settings = runtime.settings
    wait = pause_seconds(asked, settings.rate_limit_pause, settings.rate_limit_max_pause)
    if runtime.politeness.gate.close_for(wait):
        log.warning("Coupa answered 429 on %s: every request waits %.0f s", redact(url), wait)
    named = "no wait named" if asked is None else f"Retry-After {asked:g} s"
    return RateLimitedError(
        f"Coupa answered 429 Too Many Requests on {redact(url)} ({named})", retry_after=wait
    )
