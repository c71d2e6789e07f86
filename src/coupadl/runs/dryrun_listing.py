"""What a dry run lists, and the walk that lists one PO, the same for every engine.

A PO is walked through the run's own per-PO flow (:func:`coupadl.engine.flow.walk_po`:
the same page decisions, requisition fallback and names) over the engine's
:class:`~coupadl.engine.interface.RecordSource`, with a sink that lists the files and
asks the engine for their sizes instead of downloading them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from coupadl.coupa.page import PageInfo
from coupadl.engine.flow import NamedFile, walk_po
from coupadl.engine.interface import RecordSource
from coupadl.errors import AuthRequiredError, NetworkError, PageTimeout, RateLimitedError
from coupadl.models import AttachmentSource, POTask, Status
from coupadl.settings import Settings

log = logging.getLogger(__name__)

RATE_LIMIT_TRIES = 3  # a page answered 429 is asked again after the wait Coupa names
FILES = "FILES"  # the outcome of a PO with something to download
NEEDS_BROWSER = "NEEDS_BROWSER"  # only a browser can read its page; not opened here

# The size of each URL (None: the tenant did not tell), in the order given.
SizesFn = Callable[[list[str]], list[int | None]]


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
    # NO_ATTACHMENTS, or FILES when there is something to download, or NEEDS_BROWSER
    # (the http engine: only a browser can read the page; ``note`` says what a run does).
    outcome: str
    supplier: str = ""
    files: list[PlannedFile] = field(default_factory=list)
    note: str = ""


@dataclass
class DryRunResult:
    pos: list[PlannedPO]
    skipped: int  # finished by earlier runs
    invalid_rows: int


@dataclass
class RetryingRecords:
    """Pages as the run reads them (sign-in and 429 checks included); a page answered
    429 is asked again after the wait Coupa names, up to RATE_LIMIT_TRIES times."""

    source: RecordSource

    def open_record(self, url: str) -> PageInfo:
        for attempt in range(1, RATE_LIMIT_TRIES + 1):
            try:
                return self.source.open_record(url)
            except RateLimitedError as exc:
                if attempt == RATE_LIMIT_TRIES:
                    raise
                log.warning("%s; waiting %.0f s", exc.message, exc.retry_after)
                time.sleep(exc.retry_after)
        raise AssertionError("unreachable")


@dataclass
class ListSink:
    """The flow's files, listed with their sizes instead of downloaded."""

    sizes: SizesFn
    files: list[PlannedFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def begin(self, page: PageInfo) -> None:
        """Nothing to prepare: nothing is written."""

    def take(self, files: Sequence[NamedFile]) -> None:
        sizes = self.sizes([f.attachment.url for f in files])
        self.files += [
            PlannedFile(f.name, f.attachment.source, size, f.attachment.url)
            for f, size in zip(files, sizes, strict=True)
        ]

    def requisition_unread(self, note: str, *, incomplete: bool) -> None:
        self.notes.append(note)


def plan_po(source: RecordSource, task: POTask, settings: Settings, sizes: SizesFn) -> PlannedPO:
    """What a run would do with ``task``'s PO, read through ``source``. Raises
    AuthRequiredError (the dry run cannot go on signed out) and what ``source`` raises
    besides the outcomes of one PO (a timeout, a 429 three times, a failed connection)."""
    po = task.po_number
    sink = ListSink(sizes)
    try:
        walk = walk_po(RetryingRecords(source), task, settings, sink)
    except PageTimeout as exc:
        return PlannedPO(po, Status.TIMEOUT.value, files=sink.files, note=exc.message)
    except (RateLimitedError, NetworkError) as exc:
        return PlannedPO(po, Status.FAILED.value, files=sink.files, note=exc.message)
    decided = walk.decided
    if decided is not None and decided.status is Status.AUTH_REQUIRED:
        raise AuthRequiredError("Coupa asked to sign in on a PO page")
    if decided is not None and decided.status is not Status.NO_ATTACHMENTS:
        return PlannedPO(po, decided.status.value, note=decided.detail)
    outcome = FILES if sink.files else Status.NO_ATTACHMENTS.value
    return PlannedPO(po, outcome, walk.page.supplier, sink.files, "; ".join(sink.notes))
