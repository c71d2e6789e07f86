"""``coupadl run --dry-run``: what a run would download, without downloading it.

It signs in like a run (a clone of the saved profile), opens each PO the run would
process (the same choice: finished POs skipped, ``only_failed``, ``limit``), and walks
it through the run's own per-PO flow (:func:`coupadl.engine.flow.walk_po`: the same
page decisions, requisition fallback and names) with a sink that lists the files
instead of downloading them. Nothing is downloaded and nothing is written to the
output folder: the listing goes to the caller.

Sizes: Coupa's pages do not show them (coupa-facts.md). Each size is asked for with a
HEAD request made by the signed-in page itself (``fetch``, same origin only, so the
session cookies never leave the browser, and a HEAD answer has no body). A file whose
HEAD fails, is redirected, or has no Content-Length is listed with an unknown size.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from selenium.common.exceptions import WebDriverException

from coupadl.coupa.page import PageInfo
from coupadl.engine.browser.login import require_base_profile
from coupadl.engine.browser.processor import BrowserRecords
from coupadl.engine.browser.profile import clone_profile, ensure_not_locked, remove_clone
from coupadl.engine.browser.session import BrowserSession
from coupadl.engine.flow import NamedFile, walk_po
from coupadl.errors import AuthRequiredError, BrowserError, PageTimeout, RateLimitedError
from coupadl.models import AttachmentSource, POTask, Status
from coupadl.settings import Settings
from coupadl.spreadsheet.reader import RunPlan, plan_rows, read_input
from coupadl.state.store import DB_NAME, STATE_DIR_NAME, RunState

log = logging.getLogger(__name__)

HEAD_TIMEOUT = 10.0  # seconds for all of one page's HEAD requests together
RATE_LIMIT_TRIES = 3  # a page answered 429 is asked again after the wait Coupa names

# Runs in the page: HEAD every URL at once, answer each Content-Length or null.
_SIZES_JS = """
const [urls, timeoutMs, done] = arguments;
const ctl = new AbortController();
const timer = setTimeout(() => ctl.abort(), timeoutMs);
Promise.all(urls.map(async (url) => {
  try {
    const r = await fetch(url, {method: 'HEAD', credentials: 'same-origin',
                                cache: 'no-store', signal: ctl.signal});
    // A redirect may end on a sign-in page or another host: its length is not the file's.
    if (!r.ok || r.redirected) return null;
    const n = r.headers.get('content-length');
    return n === null || n === '' ? null : Number(n);
  } catch (e) { return null; }
})).then((sizes) => { clearTimeout(timer); done(sizes); },
         () => { clearTimeout(timer); done(urls.map(() => null)); });
"""


@dataclass(frozen=True)
class PlannedFile:
    name: str  # as it would be saved in the PO's folder
    source: AttachmentSource
    size: int | None  # bytes; None when the tenant did not tell
    url: str


@dataclass
class PlannedPO:
    po_number: str
    # What the page says: a final status it decides alone (PO_NOT_FOUND, ...), or
    # NO_ATTACHMENTS, or "FILES" when there is something to download.
    outcome: str
    supplier: str = ""
    files: list[PlannedFile] = field(default_factory=list)
    note: str = ""


@dataclass
class DryRunResult:
    pos: list[PlannedPO]
    skipped: int  # finished by earlier runs
    invalid_rows: int


def dry_run(
    input_path: Path,
    settings: Settings,
    *,
    on_po: Callable[[PlannedPO], None] | None = None,
) -> DryRunResult:
    """List what ``run_batch(input_path, settings)`` would download."""
    base = settings.require_base_url()
    plan = plan_rows(read_input(input_path))
    tasks, skipped = _select(plan, settings)
    result = DryRunResult([], skipped, len(plan.invalid))
    if not tasks:
        return result
    profile = require_base_profile(settings)
    ensure_not_locked(profile)
    clone = clone_profile(profile)
    session = BrowserSession(settings, clone)
    try:
        session.start()
        session.driver.set_script_timeout(HEAD_TIMEOUT + 5)
        for task in tasks:
            try:
                planned = _plan_po(session, task, settings, base)
            except WebDriverException as exc:
                raise BrowserError(f"the browser failed during the dry run: {exc.msg}") from exc
            result.pos.append(planned)
            if on_po is not None:
                on_po(planned)
    finally:
        session.close()
        remove_clone(clone)
    return result


def _select(plan: RunPlan, settings: Settings) -> tuple[list[POTask], int]:
    """The run's own choice of tasks. The run state is read from a copy: even opening
    the database in place would create files in the output folder."""
    from coupadl.runs.batch import pending_tasks

    db = settings.out / STATE_DIR_NAME / DB_NAME
    if db.is_file():
        with tempfile.TemporaryDirectory(prefix="coupadl-dry-run-") as scratch:
            copy = Path(scratch) / STATE_DIR_NAME
            copy.mkdir()
            for part in (db, db.with_name(DB_NAME + "-wal")):  # -wal: a run in progress
                if part.is_file():
                    shutil.copy2(part, copy / part.name)
            with RunState(Path(scratch)) as state:
                return pending_tasks(plan, state, settings)
    tasks = [] if settings.only_failed else list(plan.tasks)
    if settings.limit is not None:
        tasks = tasks[: settings.limit]
    return tasks, 0


class _DryRunRecords(BrowserRecords):
    """Pages as the run reads them (sign-in and 429 checks included); a page answered
    429 is asked again after the wait Coupa names, up to RATE_LIMIT_TRIES times."""

    def open_record(self, url: str) -> PageInfo:
        for attempt in range(1, RATE_LIMIT_TRIES + 1):
            try:
                return super().open_record(url)
            except RateLimitedError as exc:
                if attempt == RATE_LIMIT_TRIES:
                    raise
                log.warning("%s; waiting %.0f s", exc.message, exc.retry_after)
                time.sleep(exc.retry_after)
        raise AssertionError("unreachable")


@dataclass
class _ListSink:
    """The flow's files, listed with their sizes instead of downloaded."""

    session: BrowserSession
    base: str
    files: list[PlannedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def begin(self, page: PageInfo) -> None:
        """Nothing to prepare: nothing is written."""

    def take(self, files: Sequence[NamedFile]) -> None:
        sizes = _sizes(self.session, [f.attachment.url for f in files], self.base)
        self.files += [
            PlannedFile(f.name, f.attachment.source, size, f.attachment.url)
            for f, size in zip(files, sizes, strict=True)
        ]

    def requisition_unread(self, note: str, *, incomplete: bool) -> None:
        self.notes.append(note)


def _plan_po(session: BrowserSession, task: POTask, settings: Settings, base: str) -> PlannedPO:
    po = task.po_number
    sink = _ListSink(session, base)
    with session.po_tab():
        try:
            walk = walk_po(_DryRunRecords(session, base), task, settings, sink)
        except PageTimeout as exc:
            return PlannedPO(po, Status.TIMEOUT.value, files=sink.files, note=exc.message)
        except RateLimitedError as exc:
            return PlannedPO(po, Status.FAILED.value, files=sink.files, note=exc.message)
    decided = walk.decided
    if decided is not None and decided.status is Status.AUTH_REQUIRED:
        raise AuthRequiredError("Coupa asked to sign in on a PO page")
    if decided is not None and decided.status is not Status.NO_ATTACHMENTS:
        return PlannedPO(po, decided.status.value, note=decided.detail)
    outcome = "FILES" if sink.files else Status.NO_ATTACHMENTS.value
    return PlannedPO(po, outcome, walk.page.supplier, sink.files, "; ".join(sink.notes))


def _sizes(session: BrowserSession, urls: list[str], base: str) -> list[int | None]:
    """Content-Length of each URL on the tenant's own origin, asked by the page."""
    origin = urlsplit(base)[:2]
    asked = [u for u in urls if urlsplit(u)[:2] == origin]
    found: dict[str, int | None] = {}
    if asked:
        try:
            answer = session.driver.execute_async_script(_SIZES_JS, asked, HEAD_TIMEOUT * 1000)
        except WebDriverException as exc:
            log.warning("could not ask for file sizes (%s); listing them as unknown", exc.msg)
            answer = None
        if isinstance(answer, list) and len(answer) == len(asked):
            found = {
                u: int(n) if isinstance(n, int | float) else None
                for u, n in zip(asked, answer, strict=True)
            }
    return [found.get(u) for u in urls]
