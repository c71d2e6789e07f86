"""One PO in one browser session: the browser engine's pages and downloads.

:func:`process_po` runs the engine-agnostic per-PO flow (:func:`coupadl.engine.po.process_po`)
over the browser: :class:`BrowserRecords` reads Coupa's pages once they have rendered,
:class:`BrowserFetcher` lets the browser download each file into its staging folder
(CDP download folders). It returns a plain :class:`~coupadl.models.POResult` for
everything a PO can do wrong; a browser or driver that stopped answering is a failed,
retryable result with ``E_BROWSER`` (the handler then checks whether to replace it). A
driver that left a command unanswered for ``command_timeout`` s is always replaced.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import urllib3
from selenium.common.exceptions import WebDriverException

from coupadl.coupa.page import READY_SELECTORS, PageInfo, PageKind, parse_page
from coupadl.coupa.urls import is_sign_in_url
from coupadl.engine import po
from coupadl.engine.browser.downloads import wait_for_complete, wait_for_start
from coupadl.engine.browser.managed import ManagedFetcher
from coupadl.engine.browser.remote import RemoteSession
from coupadl.engine.browser.session import BrowserSession, begin_download
from coupadl.engine.flow import no_progress
from coupadl.errors import AuthRequiredError, RateLimitedError
from coupadl.execution.ratelimit import pause_seconds
from coupadl.models import Attachment, POResult, POTask, Status
from coupadl.settings import Settings

Progress = Callable[[str], None]
# What a dead or killed browser/driver looks like from here: WebDriver errors, and the
# HTTP connection to chromedriver failing (urllib3 errors, or a refused connection).
_BROWSER_LOST = (WebDriverException, urllib3.exceptions.HTTPError, ConnectionError)


def process_po(
    session: BrowserSession, task: POTask, settings: Settings, progress: Progress = no_progress
) -> POResult:
    """Download every attachment of one PO into its folder and say how it went."""
    base = settings.require_base_url()
    started = time.time()
    try:
        with session.po_tab():
            try:
                return po.process_po(
                    BrowserRecords(session, base), fetcher_for(session), task, settings, progress
                )
            finally:
                session.after_po()
    except _BROWSER_LOST as exc:
        if session.hung is not None:  # the driver left a command unanswered (session.py)
            detail = session.hung
        elif isinstance(exc, WebDriverException):
            detail = str(exc.msg)
        else:
            detail = f"lost the driver: {exc}"
        result = po.new_result(task, settings)
        result.started_at = started
        po.set_status(result, Status.FAILED, detail=f"browser error: {detail}", transient=True)
        result.error_code = "E_BROWSER"
        result.finished_at = time.time()
        return result


def fetcher_for(session: BrowserSession) -> BrowserFetcher | ManagedFetcher:
    """A local browser downloads into the staging folders; a remote one on its node."""
    if isinstance(session, RemoteSession):
        return ManagedFetcher(session, session.settings)
    return BrowserFetcher(session, session.settings)


def open_record(session: BrowserSession, url: str, base: str) -> PageInfo:
    """The browser engine's page read: open ``url``, wait for Coupa's render, parse."""
    landed = session.open(url)
    if is_sign_in_url(landed, base):
        raise AuthRequiredError(f"Coupa sent the browser to a sign-in page ({landed})")
    # Coupa renders parts of the page with scripts: an unrendered attachments block
    # would read as "no attachments", a status that is never retried.
    session.wait_for(READY_SELECTORS, timeout=session.settings.page_timeout)
    page = parse_page(session.page_source(), landed, base)
    if page.kind is PageKind.RATE_LIMITED:
        s = session.settings
        wait = pause_seconds(page.retry_after, s.rate_limit_pause, s.rate_limit_max_pause)
        asked = "no wait named" if page.retry_after is None else f"wait {page.retry_after:g} s"
        raise RateLimitedError(
            f"Coupa answered 429 Too Many Requests on {landed} ({asked})", retry_after=wait
        )
    return page


@dataclass
class BrowserRecords:
    """:class:`coupadl.engine.interface.RecordSource` over one browser session."""

    session: BrowserSession
    base: str

    def open_record(self, url: str) -> PageInfo:
        return open_record(self.session, url, self.base)


@dataclass(frozen=True)
class _BrowserDownload:
    staging: Path
    problem: Callable[[], str | None]


@dataclass
class BrowserFetcher:
    """:class:`coupadl.engine.interface.Fetcher`: the browser downloads each file into
    the staging folder set for it; all of a PO's downloads run side by side."""

    session: BrowserSession
    settings: Settings

    def start(self, attachment: Attachment, name: str, staging: Path) -> _BrowserDownload:
        begin_download(self.session, attachment, name, staging)
        problem = _problem_of(self.session, staging, name)
        wait_for_start(staging, self.settings.download_start_timeout, abort=problem)
        return _BrowserDownload(staging, problem)

    def finish(self, pending: _BrowserDownload, on_growth: Callable[[], None]) -> Path:
        settings = self.settings
        return wait_for_complete(
            pending.staging,
            stall_timeout=settings.download_stall_timeout,
            total_timeout=settings.download_timeout,
            abort=pending.problem,
            on_growth=on_growth,
        )


def _problem_of(session: BrowserSession, staging: Path, name: str) -> Callable[[], str | None]:
    """What the browser says went wrong with the download into ``staging``, if anything
    (a redirect refused, the connection lost): the waits stop at once on it."""

    def problem() -> str | None:
        reason = session.download_problem(staging)
        return f"{name}: {reason}" if reason else None

    return problem
