"""One PO, start to finish, over any engine: its folder, its files, its result.

:func:`process_po` walks the PO (:func:`coupadl.engine.flow.walk_po`) with a sink that
fetches each named file through the engine's :class:`~coupadl.engine.interface.Fetcher`
into its own staging folder under ``PO<n>__WORK``, checks it (not the sign-in page,
not empty, the bytes its name promises, hashed), moves it into place, converts
``.msg`` to PDF, decides the status and renames the work folder to the final one. It
returns a plain :class:`~coupadl.models.POResult` and never raises for anything a PO
can do wrong; what the engine itself cannot survive (a dead browser) escapes to the
engine's handler.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coupadl.coupa.page import PageInfo
from coupadl.coupa.signin import is_sign_in_document
from coupadl.coupa.status import error_for, final_status
from coupadl.coupa.urls import po_id_for_number, po_url
from coupadl.engine.flow import NamedFile, no_progress, walk_po
from coupadl.engine.interface import Fetcher, RecordSource
from coupadl.errors import (
    AuthRequiredError,
    DownloadError,
    DownloadTimeout,
    PageTimeout,
    RateLimitedError,
)
from coupadl.files.convert.msg_pdf import convert_po_folder
from coupadl.files.filetypes import looks_like_html
from coupadl.files.folders import (
    STAGING_NAME,
    finalize,
    join_folder,
    parent_dir,
    prepare_work_dir,
    prune_empty,
)
from coupadl.files.space import probe_writable, stop_code
from coupadl.files.verify import verify_file
from coupadl.models import Attachment, Earlier, FileResult, POResult, POTask, Status
from coupadl.settings import Settings

Progress = Callable[[str], None]


@dataclass
class Downloads:
    """What one PO's downloads came to."""

    files: list[FileResult] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timed_out: bool = False
    found: int = 0
    slots: int = 0  # staging folders used so far
    unread_pages: int = 0  # pages whose attachments could not be read (e.g. HTTP 500)

    def failed(self, name: str, exc: DownloadError) -> None:
        """Note a file that did not arrive; a DownloadError's message names the file
        already, a DownloadTimeout's does not (see Fetcher)."""
        if isinstance(exc, DownloadTimeout):
            self.errors.append(f"{name}: {exc.message}")
            self.timed_out = True
        else:
            self.errors.append(exc.message)


def new_result(task: POTask, settings: Settings) -> POResult:
    """A PO's result before anything happened: failed until it is decided."""
    return POResult(
        po_number=task.po_number,
        status=Status.FAILED,
        url=po_url(settings.require_base_url(), po_id_for_number(task.po_number)),
        started_at=time.time(),
        attempts=task.attempt,
    )


def set_status(
    result: POResult, status: Status, detail: str = "", *, transient: bool = False
) -> None:
    """The status, its error code and message (with ``detail``), and whether to retry."""
    result.status = status
    result.error_code, result.message = error_for(status, detail)
    result.transient = transient


def failed_result(
    task: POTask, settings: Settings, code: str, message: str, *, transient: bool
) -> POResult:
    """The result of an attempt that failed before or outside the flow (an engine's
    connection, a missing scope), with the engine's code and message."""
    result = new_result(task, settings)
    set_status(result, Status.FAILED, transient=transient)
    result.error_code, result.message = code, message
    result.finished_at = time.time()
    return result


def process_po(
    records: RecordSource,
    fetcher: Fetcher[Any],
    task: POTask,
    settings: Settings,
    progress: Progress = no_progress,
) -> POResult:
    """Download every attachment of one PO into its folder and say how it went."""
    result = new_result(task, settings)
    try:
        _process(records, fetcher, task, settings, result, progress)
    except AuthRequiredError as exc:
        set_status(result, Status.AUTH_REQUIRED, detail=exc.message)
    except RateLimitedError as exc:
        set_status(result, Status.FAILED, detail=exc.message, transient=True)
        result.error_code, result.retry_after = exc.code, exc.retry_after
    except PageTimeout as exc:
        set_status(result, Status.TIMEOUT, detail=exc.message, transient=True)
    except ConnectionError:
        raise  # the engine's own connection (an OSError too), not the disk: its handler's
    except OSError as exc:
        # Disk full or read-only output stops the run (the runner sees the code); any
        # other write error may pass: the PO is not done and is retried.
        code = stop_code(exc)
        set_status(
            result, Status.FAILED, detail=f"cannot write files: {exc}", transient=code is None
        )
        result.error_code = code or "E_OUTPUT"
    result.finished_at = time.time()
    return result


@dataclass
class _DownloadSink:
    """The flow's files, fetched by the engine into the PO's work folder."""

    fetcher: Fetcher[Any]
    task: POTask
    settings: Settings
    progress: Progress
    state: Downloads = field(default_factory=Downloads)
    parent: Path | None = None
    work: Path | None = None

    def begin(self, page: PageInfo) -> None:
        earlier = self.task.earlier
        if earlier is not None and earlier.folder is not None:
            self.parent = earlier.folder.parent  # a refresh adds to the folder it has
        else:
            self.parent = parent_dir(self.settings.out, self.task.folder_levels, page.supplier)
        self.work = prepare_work_dir(self.parent, self.task.po_number)

    def take(self, files: Sequence[NamedFile]) -> None:
        assert self.work is not None
        _download_all(self.fetcher, files, self.work, self.state, self.progress)

    def requisition_unread(self, note: str, *, incomplete: bool) -> None:
        if incomplete:
            self.state.errors.append(note)
            self.state.unread_pages += 1


def _process(
    records: RecordSource,
    fetcher: Fetcher[Any],
    task: POTask,
    settings: Settings,
    result: POResult,
    progress: Progress,
) -> None:
    sink = _DownloadSink(fetcher, task, settings, progress)
    walk = walk_po(records, task, settings, sink, progress)
    if walk.decided is not None and walk.decided.status is not Status.NO_ATTACHMENTS:
        decided = walk.decided
        set_status(result, decided.status, detail=decided.detail, transient=decided.transient)
        result.error_code = decided.error_code or result.error_code
        if task.earlier is not None and task.earlier.status is decided.status:
            result.last_refreshed = time.time()  # read again: the same answer (not found)
        return
    result.supplier, result.requisition_id = walk.page.supplier, walk.page.requisition_id
    if task.earlier is not None:
        _finish_refresh(sink, task.earlier, result)
        return
    if sink.work is None or sink.parent is None:
        set_status(result, Status.NO_ATTACHMENTS)
        return
    _finish(sink.work, sink.parent, sink.state, task, settings, result, progress)


def _finish(
    work: Path,
    parent: Path,
    state: Downloads,
    task: POTask,
    settings: Settings,
    result: POResult,
    progress: Progress,
) -> None:
    """Status, ``.msg`` to PDF, and the work folder renamed to the PO's final folder."""
    if state.errors or state.timed_out:
        # A download that failed may not say why: a full or read-only disk must stop
        # the run, not read as a server problem.
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
    set_status(result, status, detail=detail, transient=not status.is_done)
    progress("verifying")
    result.folder = finalize(work, task.po_number, status)
    if result.folder is None:
        prune_empty(parent, settings.out)


def _finish_refresh(sink: _DownloadSink, earlier: Earlier, result: POResult) -> None:
    """A refresh's outcome: its new files join the earlier ones in the PO's folder.

    When nothing new arrived and something went wrong, the attempt is a transient
    failure that changed nothing (retried; at the end the earlier result is kept, see
    :mod:`coupadl.runs.refresh`). Once new files are in the folder the result stands:
    a PO some of whose new files failed is PARTIAL, and the next run fetches it whole."""
    state, now = sink.state, time.time()
    trouble = bool(state.errors or state.timed_out or state.unread_pages)
    if trouble and not state.files:
        if sink.work is not None:
            probe_writable(sink.work)
            shutil.rmtree(sink.work, ignore_errors=True)
        detail = "; ".join(state.errors) or "the refresh could not read every file"
        set_status(result, Status.FAILED, detail=f"refresh: {detail}", transient=True)
        return
    new = [dataclasses.replace(f, added_at=now) for f in state.files]
    result.files = [*earlier.files, *new]
    result.attachments_found = len(earlier.files) + state.found
    result.last_refreshed = now
    status = final_status(
        result.attachments_found, len(result.files), state.timed_out,
        unread_pages=state.unread_pages > 0,
    )  # fmt: skip
    notes = list(state.errors)
    if sink.work is not None and new and sink.settings.msg_to_pdf:
        names, overwrite = [f.name for f in new], sink.settings.overwrite_pdf
        notes.append(
            convert_po_folder(sink.work, names, overwrite=overwrite, progress=sink.progress)
        )
    set_status(result, status, detail="; ".join(n for n in notes if n))
    if sink.work is None:
        result.folder = earlier.folder
        return
    result.folder = join_folder(sink.work, earlier.folder, result.po_number, status)
    if result.folder is None and sink.parent is not None:
        prune_empty(sink.parent, sink.settings.out)


def _download_all(
    fetcher: Fetcher[Any],
    files: Sequence[NamedFile],
    work: Path,
    state: Downloads,
    progress: Progress,
) -> None:
    """Start every download (each into its own staging folder), then collect them."""
    state.found += len(files)
    started: list[tuple[Attachment, str, Path, Any]] = []
    for number, named in enumerate(files, start=1):
        attachment, name = named.attachment, named.name
        staging = work / STAGING_NAME / str(state.slots)
        state.slots += 1
        staging.mkdir(parents=True)
        progress(f"downloading {number} of {len(files)}")
        try:
            pending = fetcher.start(attachment, name, staging)
        except DownloadError as exc:
            state.failed(name, exc)
            continue
        started.append((attachment, name, staging, pending))
    for number, (attachment, name, staging, pending) in enumerate(started, start=1):
        stage = f"downloading {number} of {len(started)}"
        progress(stage)
        # Bytes arriving count as progress: a long download is not a hung worker.
        keepalive = functools.partial(progress, stage)
        _collect(fetcher, pending, attachment, name, staging, work, state, keepalive)


def _collect(
    fetcher: Fetcher[Any],
    pending: Any,
    attachment: Attachment,
    name: str,
    staging: Path,
    work: Path,
    state: Downloads,
    on_growth: Callable[[], None],
) -> None:
    try:
        path = fetcher.finish(pending, on_growth)
        # Before verifying: a .txt or .html "file" may be the sign-in page, which
        # the extension check alone would accept.
        _raise_if_sign_in(staging)
        verified = verify_file(path, name)
    except DownloadError as exc:
        state.failed(name, exc)
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
