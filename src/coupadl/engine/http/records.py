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

:class:`CheckedRecords` (``engine = auto``, checking.py) has the fallback browser read
the PO's page too; readings that differ send the PO to the browser, NeedsBrowserError
again, before any file is fetched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx

from coupadl.coupa.completeness import missing_attachments
from coupadl.coupa.page import PageInfo, PageKind, parse_page
from coupadl.coupa.po_numbers import display_po
from coupadl.coupa.urls import is_sign_in_url
from coupadl.engine.flow import no_progress
from coupadl.engine.hosts import redact
from coupadl.engine.http.answers import (
    MAX_HOPS,
    host_of,
    network_error,
    redirect_target,
    retry_after,
)
from coupadl.engine.http.checking import AGREED, DISAGREED, compare
from coupadl.engine.http.runtime import HttpRuntime
from coupadl.engine.http.transport import Transport
from coupadl.errors import (
    AuthRequiredError,
    BrowserError,
    CoupadlError,
    NeedsBrowserError,
    NetworkError,
    PageTimeout,
    RateLimitedError,
)
from coupadl.execution.handler import ProgressFn
from coupadl.execution.ratelimit import pause_seconds

log = logging.getLogger(__name__)


@dataclass
class HttpRecords:
    """:class:`coupadl.engine.interface.RecordSource` over the shared HTTP client."""

    runtime: HttpRuntime

    def open_record(self, url: str) -> PageInfo:
        response, landed = fetch_page(self.runtime, url)
        return read_answer(self.runtime, response, landed)


@dataclass
class CheckedRecords(HttpRecords):
    """:class:`HttpRecords` for a PO whose page the fallback browser reads too."""

    po: str = ""
    progress: ProgressFn = no_progress
    verdict: str = ""  # what POResult.engine_check says: AGREED, DISAGREED, "" (no check)
    _unchecked: bool = field(default=True, init=False)  # the first page is the PO's

    def open_record(self, url: str) -> PageInfo:
        page = super().open_record(url)
        if not self._unchecked:
            return page  # a requisition page: only the PO's is compared
        self._unchecked = False
        if page.kind is PageKind.SERVER_ERROR:
            return page  # nothing to compare; the PO is retried, and checked then
        browser = self._browser_reading(url)
        if browser is None:
            return page
        checks = self.runtime.checks
        difference = compare(page, browser)
        if difference is not None:
            self.verdict = DISAGREED
            checks.disagreed(self.po, difference)
            reason = "the browser reads its page otherwise than plain HTTP"
            raise NeedsBrowserError(f"{redact(url)}: {reason}", reason)
        self.verdict = AGREED
        if checks.switched:  # another PO switched the run while this one was checked
            reason = checks.browser_reason(self.po) or "the run went to the browser"
            raise NeedsBrowserError(f"{redact(url)}: {reason}", reason)
        return page

    def _browser_reading(self, url: str) -> PageInfo | None:
        """The browser's reading of ``url``, or None (logged) when it could not be had:
        the PO then goes on over plain HTTP, unchecked."""
        runtime = self.runtime
        self.progress("checking in the browser")
        runtime.politeness.wait_turn()  # the browser's page is a request to the tenant too
        try:
            return runtime.fallback.read(url, runtime.cookies.export)
        except CoupadlError as exc:
            # A page error's message may hold a URL the browser landed on: its code only.
            detail = exc.message if isinstance(exc, BrowserError) else exc.code
            log.warning(
                "%s: the browser could not read its page to check plain HTTP's reading "
                "(%s); it goes on over plain HTTP, unchecked",
                display_po(self.po),
                detail,
            )
            return None


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


def rate_limited(runtime: Transport, asked: float | None, url: str) -> RateLimitedError:
    """The error of a 429 on ``url``; the shared gate is closed for its wait first."""
    settings = runtime.settings
    wait = pause_seconds(asked, settings.rate_limit_pause, settings.rate_limit_max_pause)
    if runtime.politeness.gate.close_for(wait):
        log.warning("Coupa answered 429 on %s: every request waits %.0f s", redact(url), wait)
    named = "no wait named" if asked is None else f"Retry-After {asked:g} s"
    return RateLimitedError(
        f"Coupa answered 429 Too Many Requests on {redact(url)} ({named})", retry_after=wait
    )
