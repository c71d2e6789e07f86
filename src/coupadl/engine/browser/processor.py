"""One PO in one browser session: open it, read it, download its files, decide.

:func:`process_po` is the unit of work for both the sequential runner and the pool's
workers. It returns a plain :class:`~coupadl.models.POResult` and never raises for
anything a PO can do wrong; only a dead browser escapes (as :class:`BrowserError`
from :class:`BrowserHandler`), so the caller can restart it.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
from selenium.common.exceptions import WebDriverException

from coupadl.coupa.page import READY_SELECTORS, PageInfo, PageKind, parse_page
from coupadl.coupa.po_numbers import display_po
from coupadl.coupa.signin import is_sign_in_document, session_poll_answer
from coupadl.coupa.status import error_for, final_status
from coupadl.coupa.urls import (
    is_sign_in_url,
    po_id_for_number,
    po_url,
    session_check_url,
)
from coupadl.engine.browser.downloads import (
    looks_like_html,
    verify_file,
    wait_for_complete,
    wait_for_start,
)
from coupadl.engine.browser.profile import clear_stale_locks
from coupadl.engine.browser.session import BrowserSession
from coupadl.engine.flow import NamedFile, walk_po
from coupadl.errors import (
    AuthRequiredError,
    BrowserError,
    DownloadError,
    DownloadTimeout,
    PageTimeout,
    RateLimitedError,
)
from coupadl.execution.ratelimit import pause_seconds
from coupadl.files.convert.msg_pdf import convert_po_folder
from coupadl.files.folders import (
    STAGING_NAME,
    finalize,
    parent_dir,
    prepare_work_dir,
    prune_empty,
)
from coupadl.files.space import probe_writable, stop_code
from coupadl.models import Attachment, FileResult, POResult, POTask, Status
from coupadl.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
# What a dead or killed browser/driver looks like from here: WebDriver errors, and the
# HTTP connection to chromedriver failing (urllib3 errors, or a refused connection).
_BROWSER_LOST = (WebDriverException, urllib3.exceptions.HTTPError, ConnectionError)


def _no_progress(stage: str) -> None:
    """Default progress callback: nobody is listening."""


@dataclass
class _Downloads:
    """What one PO's downloads came to."""

    files: list[FileResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timed_out: bool = False
    found: int = 0
    slots: int = 0  # staging folders used so far
    unread_pages: int = 0  # pages whose attachments could not be read (e.g. HTTP 500)


def process_po(
    session: BrowserSession, task: POTask, settings: Settings, progress: Progress = _no_progress
) -> POResult:
    """Download every attachment of one PO into its folder and say how it went."""
    base = settings.require_base_url()
    result = POResult(
        po_number=task.po_number,
        status=Status.FAILED,
        url=po_url(base, po_id_for_number(task.po_number)),
        started_at=time.time(),
        attempts=task.attempt,
    )
    try:
        with session.po_tab():
            _process(session, task, settings, result, progress)
    except AuthRequiredError as exc:
        _set(result, Status.AUTH_REQUIRED, detail=exc.message)
    except RateLimitedError as exc:
        _set(result, Status.FAILED, detail=exc.message, transient=True)
        result.error_code, result.retry_after = exc.code, exc.retry_after
    except PageTimeout as exc:
        _set(result, Status.TIMEOUT, detail=exc.message, transient=True)
    except _BROWSER_LOST as exc:
        detail = exc.msg if isinstance(exc, WebDriverException) else f"lost the driver: {exc}"
        _set(result, Status.FAILED, detail=f"browser error: {detail}", transient=True)
        result.error_code = "E_BROWSER"
    except OSError as exc:
        # Disk full or read-only output stops the run (the runner sees the code); any
        # other write error may pass: the PO is not done and is retried.
        code = stop_code(exc)
        _set(result, Status.FAILED, detail=f"cannot write files: {exc}", transient=code is None)
        result.error_code = code or "E_OUTPUT"
    result.finished_at = time.time()
    return result


def _set(result: POResult, status: Status, detail: str = "", *, transient: bool = False) -> None:
    result.status = status
    result.error_code, result.message = error_for(status, detail)
    result.transient = transient


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
    """:class:`coupadl.engine.flow.RecordSource` over one browser session."""

    session: BrowserSession
    base: str

    def open_record(self, url: str) -> PageInfo:
        return open_record(self.session, url, self.base)


@dataclass
class _DownloadSink:
    """The flow's files, downloaded by the browser into the PO's work folder."""

    session: BrowserSession
    task: POTask
    settings: Settings
    progress: Progress
    state: _Downloads = field(default_factory=lambda: _Downloads())
    parent: Path | None = None
    work: Path | None = None

    def begin(self, page: PageInfo) -> None:
        self.parent = parent_dir(self.settings.out, self.task.folder_levels, page.supplier)
        self.work = prepare_work_dir(self.parent, self.task.po_number)

    def take(self, files: Sequence[NamedFile]) -> None:
        assert self.work is not None
        _download_all(self.session, files, self.work, self.settings, self.state, self.progress)

    def requisition_unread(self, note: str, *, incomplete: bool) -> None:
        if incomplete:
            self.state.errors.append(note)
            self.state.unread_pages += 1


def _process(
    session: BrowserSession,
    task: POTask,
    settings: Settings,
    result: POResult,
    progress: Progress,
) -> None:
    base = settings.require_base_url()
    sink = _DownloadSink(session, task, settings, progress)
    walk = walk_po(BrowserRecords(session, base), task, settings, sink, progress)
    if walk.decided is not None and walk.decided.status is not Status.NO_ATTACHMENTS:
        decided = walk.decided
        _set(result, decided.status, detail=decided.detail, transient=decided.transient)
        result.error_code = decided.error_code or result.error_code
        return
    result.supplier, result.requisition_id = walk.page.supplier, walk.page.requisition_id
    if sink.work is None or sink.parent is None:
        _set(result, Status.NO_ATTACHMENTS)
        return
    _finish(sink.work, sink.parent, sink.state, task, settings, result, progress)


def _finish(
    work: Path,
    parent: Path,
    state: _Downloads,
    task: POTask,
    settings: Settings,
    result: POResult,
    progress: Progress,
) -> None:
    """Status, ``.msg`` to PDF, and the work folder renamed to the PO's final folder."""
    if state.errors or state.timed_out:
        # A browser download that failed does not say why: a full or read-only disk
        # must stop the run, not read as a server problem.
        probe_writable(work)
    result.attachments_found = state.found
    result.files = state.files
    status = final_status(
        state.found, len(state.files), state.timed_out, unread_pages=state.unread_pages > 0
    )
    notes = list(state.errors)
    if settings.msg_to_pdf:
        # In the work folder, before the rename: the final folder appears complete.
        # Derived files are not in result.files; the status never depends on them.
        downloaded = [f.name for f in state.files]
        overwrite = settings.overwrite_pdf
        notes.append(convert_po_folder(work, downloaded, overwrite=overwrite, progress=progress))
    detail = "; ".join(note for note in notes if note)
    _set(result, status, detail=detail, transient=not status.is_done)
    progress("verifying")
    result.folder = finalize(work, task.po_number, status)
    if result.folder is None:
        prune_empty(parent, settings.out)


def _download_all(
    session: BrowserSession,
    files: Sequence[NamedFile],
    work: Path,
    settings: Settings,
    state: _Downloads,
    progress: Progress,
) -> None:
    """Start every download (each into its own staging folder), then collect them."""
    state.found += len(files)
    started: list[tuple[Attachment, str, Path, Callable[[], str | None]]] = []
    for number, named in enumerate(files, start=1):
        attachment, name = named.attachment, named.name
        staging = work / STAGING_NAME / str(state.slots)
        state.slots += 1
        staging.mkdir(parents=True)
        progress(f"downloading {number} of {len(files)}")
        session.set_download_dir(staging)
        try:
            session.start_download(attachment)
        except DownloadError as exc:  # the link leads off the tenant's and file hosts
            state.errors.append(f"{name}: {exc.message}")
            continue
        problem = _problem_of(session, staging, name)
        try:
            wait_for_start(staging, settings.download_start_timeout, abort=problem)
        except DownloadTimeout as exc:
            state.errors.append(f"{name}: {exc.message}")
            state.timed_out = True
            continue
        except DownloadError as exc:  # a refused redirect, a dropped connection
            state.errors.append(exc.message)
            continue
        started.append((attachment, name, staging, problem))
    for number, (attachment, name, staging, problem) in enumerate(started, start=1):
        stage = f"downloading {number} of {len(started)}"
        progress(stage)
        # Bytes arriving count as progress: a long download is not a hung worker.
        keepalive = functools.partial(progress, stage)
        _collect(attachment, name, staging, work, settings, state, problem, keepalive)


def _problem_of(session: BrowserSession, staging: Path, name: str) -> Callable[[], str | None]:
    """What the browser says went wrong with the download into ``staging``, if anything
    (a redirect refused, the connection lost): the waits stop at once on it."""

    def problem() -> str | None:
        reason = session.download_problem(staging)
        return f"{name}: {reason}" if reason else None

    return problem


def _collect(
    attachment: Attachment,
    name: str,
    staging: Path,
    work: Path,
    settings: Settings,
    state: _Downloads,
    problem: Callable[[], str | None] | None = None,
    on_growth: Callable[[], None] | None = None,
) -> None:
    try:
        path = wait_for_complete(
            staging,
            stall_timeout=settings.download_stall_timeout,
            total_timeout=settings.download_timeout,
            abort=problem,
            on_growth=on_growth,
        )
        # Before verifying: a .txt or .html "file" may be the sign-in page, which
        # the extension check alone would accept.
        _raise_if_sign_in(staging)
        verified = verify_file(path, name)
    except DownloadTimeout as exc:
        state.errors.append(f"{name}: {exc.message}")
        state.timed_out = True
        return
    except DownloadError as exc:
        state.errors.append(exc.message)
        return
    os.replace(verified.path, work / name)
    state.files.append(
        FileResult(
            name=name,
            size=verified.size,
            sha256=verified.sha256,
            source=attachment.source,
            url=attachment.url,
        )
    )


def _raise_if_sign_in(staging: Path) -> None:
    """A file that is really the sign-in page means the session expired mid-PO."""
    for path in staging.iterdir():
        with path.open("rb") as handle:
            head = handle.read(64 * 1024)
        if looks_like_html(head) and is_sign_in_document(head):
            raise AuthRequiredError("a download returned the sign-in page")


class BrowserHandler:
    """One long-lived browser that processes POs: the pool's worker handler.

    ``profile_dir`` None gives a fresh, empty profile (removed on close);
    ``cookies`` (exported from a signed-in session) are set after start.
    """

    def __init__(
        self,
        worker_id: str,
        settings: Settings,
        profile_dir: Path | None = None,
        cookies: list[dict[str, Any]] | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.settings = settings
        self._own_profile = profile_dir is None
        self.profile_dir = profile_dir or Path(tempfile.mkdtemp(prefix="coupadl-fresh-"))
        self._cookies = cookies
        self.session = BrowserSession(settings, self.profile_dir, guard_hosts=True)

    def start(self) -> None:
        # A killed browser leaves its SingletonLock in the clone: Chromium would refuse it.
        clear_stale_locks(self.profile_dir)
        self.session.start()
        if self._cookies:
            self.session.import_cookies(self._cookies)
            log.info("%s: set %d session cookies over CDP", self.worker_id, len(self._cookies))

    def process(self, task: POTask, progress: Progress = _no_progress) -> POResult:
        result = process_po(self.session, task, self.settings, progress)
        result.worker = self.worker_id
        # A crashed tab leaves a live browser that fails every PO: replace it too.
        if result.error_code == "E_BROWSER" and not self.session.is_usable():
            raise BrowserError(
                f"{self.worker_id}: the browser died or its tabs crashed while on "
                f"{display_po(task.po_number)}"
            )
        return result

    def close(self) -> None:
        self.session.close()
        if self._own_profile:
            shutil.rmtree(self.profile_dir, ignore_errors=True)

    def child_pids(self) -> list[int]:
        return self.session.pids()

    def export_cookies(self) -> list[dict[str, Any]]:
        return self.session.export_cookies()

    def is_signed_in(self) -> bool:
        """Does Coupa take this browser as signed in?

        Asks the session poll first (a small JSON answer, no page to render); only
        when that answer is not one we know, opens the tenant's home page (logged)."""
        base = self.settings.require_base_url()
        try:
            with self.session.po_tab():
                landed = self.session.open(session_check_url(base))
                if is_sign_in_url(landed, base):
                    return False
                answer = session_poll_answer(*self.session.document_text())
                if answer is not None:
                    return answer
                log.info(
                    "%s: the session check at %s gave no answer coupadl knows; "
                    "opening the home page to see whether Coupa asks to sign in",
                    self.worker_id,
                    landed,
                )
                landed = self.session.open(base + "/")
        except (PageTimeout, WebDriverException) as exc:
            log.warning("%s: could not check the sign-in state: %s", self.worker_id, exc)
            return False
        return not is_sign_in_url(landed, base)
