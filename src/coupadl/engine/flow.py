"""One PO's walk over Coupa's pages, written once for every engine and for --dry-run.

The walk opens the PO's page through a :class:`RecordSource` (what an engine does:
open a record page, return the parsed :class:`PageInfo`, raise AuthRequiredError,
RateLimitedError or PageTimeout), decides what the page decides alone (not found,
denied, sign-in, a server error, an unexpected page, no attachments), applies the
requisition fallback, and names every new attachment as it will be saved (same order
and collision rules everywhere). Each page's named files go to a :class:`FileSink`
while that page is the current one: the downloading sink starts the downloads from
it, the dry-run sink lists them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from coupadl.coupa.page import PageInfo, PageKind
from coupadl.coupa.status import needs_requisition, status_for_page
from coupadl.coupa.urls import po_id_for_number, po_url, requisition_url
from coupadl.engine.interface import RecordSource
from coupadl.engine.refresh import KnownFiles, taken_names
from coupadl.errors import AuthRequiredError
from coupadl.files.folders import STAGING_NAME
from coupadl.files.names import name_key, sanitize_name, unique_name
from coupadl.models import Attachment, POTask, Status
from coupadl.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NamedFile:
    attachment: Attachment
    name: str  # as it is saved in the PO's folder


class FileSink(Protocol):
    def begin(self, page: PageInfo) -> None:
        """The PO has files to fetch (its own, or its requisition's)."""

    def take(self, files: Sequence[NamedFile]) -> None:
        """The current page's new files, named."""

    def requisition_unread(self, note: str, *, incomplete: bool) -> None:
        """The requisition's page could not be read. ``incomplete``: its files are
        unknown, so the PO is not complete (a server error); otherwise the user may
        just not see it (not found, denied) and the PO's own files are all there is."""


@dataclass(frozen=True)
class Decided:
    """What a page decided on its own: the PO's final (or transient) outcome."""

    status: Status
    detail: str = ""
    error_code: str | None = None  # None: the status's own code
    transient: bool = False


@dataclass
class Naming:
    """Names as they are saved: unique within the PO, the staging folder's name taken
    (an attachment called ".incoming" must not be moved onto it), each URL once. In a
    refresh (``known``) the files earlier runs saved are left out and their names taken."""

    taken: set[str] = field(default_factory=lambda: {name_key(STAGING_NAME)})
    seen_urls: set[str] = field(default_factory=set)
    known: KnownFiles | None = None

    @classmethod
    def for_task(cls, task: POTask) -> Naming:
        naming = cls()
        if task.earlier is not None:
            naming.known = KnownFiles(task.earlier.files)
            naming.taken |= taken_names(task.earlier)
        return naming

    def name(self, attachments: Sequence[Attachment]) -> list[NamedFile]:
        fresh = [a for a in attachments if a.url not in self.seen_urls]
        self.seen_urls.update(a.url for a in fresh)
        if self.known is not None:
            fresh = [a for a in fresh if self.known.match(a) is None]
        return [NamedFile(a, unique_name(sanitize_name(a.name), self.taken)) for a in fresh]


def decide_page(page: PageInfo) -> Decided | None:
    """The outcome a PO's page decides alone, or None when it is a PO with files to see."""
    page_status = status_for_page(page.kind)
    if page_status is not None:
        return Decided(page_status, page.error_message)
    if page.kind is PageKind.SERVER_ERROR:
        detail = f"Coupa server error: {page.title!r}"
        return Decided(Status.FAILED, detail, "E_SERVER_ERROR", transient=True)
    if page.kind is not PageKind.PO:
        return Decided(Status.FAILED, f"unexpected page: {page.title!r}", transient=True)
    return None


@dataclass
class Walk:
    """What the walk came to: the PO's page, and its outcome when the page decided."""

    page: PageInfo
    decided: Decided | None = None


def no_progress(stage: str) -> None:
    """The default progress callback: nobody is listening."""


def walk_po(
    source: RecordSource,
    task: POTask,
    settings: Settings,
    sink: FileSink,
    progress: Callable[[str], None] = no_progress,
) -> Walk:
    """Open the PO (and its requisition where the fallback asks) and feed ``sink``."""
    base = settings.require_base_url()
    progress("navigating")
    page = source.open_record(po_url(base, po_id_for_number(task.po_number)))
    decided = decide_page(page)
    if decided is not None:
        return Walk(page, decided)
    progress("finding")
    use_requisition = bool(page.requisition_id) and needs_requisition(
        page.attachments, settings.requisition_fallback
    )
    if not page.attachments and not use_requisition:
        return Walk(page, Decided(Status.NO_ATTACHMENTS))
    naming = Naming.for_task(task)
    sink.begin(page)
    sink.take(naming.name(page.attachments))
    if use_requisition:
        progress("requisition")
        _walk_requisition(source, page.requisition_id, base, naming, sink)
    return Walk(page)


def _walk_requisition(
    source: RecordSource, requisition_id: str, base: str, naming: Naming, sink: FileSink
) -> None:
    page = source.open_record(requisition_url(base, requisition_id))
    if page.kind is PageKind.SIGN_IN:
        raise AuthRequiredError("Coupa asked to sign in on the requisition page")
    if page.kind in (PageKind.NOT_FOUND, PageKind.ACCESS_DENIED):
        log.warning(
            "requisition %s could not be read (%s); keeping the PO's files only",
            requisition_id,
            page.kind.value,
        )
        sink.requisition_unread(
            f"requisition {requisition_id} could not be read ({page.kind.value})",
            incomplete=False,
        )
        return
    if page.kind is not PageKind.REQUISITION:
        # A server error page, say: its files are unknown, so the PO is not complete and
        # must be fetched again (COMPLETED would never be retried).
        what = "server error" if page.kind is PageKind.SERVER_ERROR else "unexpected page"
        note = f"requisition {requisition_id}: {what} {page.title!r}"
        sink.requisition_unread(note, incomplete=True)
        return
    sink.take(naming.name(page.attachments))
