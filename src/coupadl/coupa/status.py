"""Status decisions for one PO, as plain functions of counts, names and page kinds."""

from __future__ import annotations

from collections.abc import Sequence

from coupadl.coupa.page import PageKind
from coupadl.errors import STATUS_CODES
from coupadl.models import Attachment, Status
from coupadl.settings import RequisitionFallback

_PAGE_STATUS = {
    PageKind.SIGN_IN: Status.AUTH_REQUIRED,
    PageKind.NOT_FOUND: Status.PO_NOT_FOUND,
    PageKind.ACCESS_DENIED: Status.ACCESS_DENIED,
}


def needs_requisition(po_attachments: Sequence[Attachment], mode: RequisitionFallback) -> bool:
    """Whether the requisition's files should be added to this PO's."""
    mode = RequisitionFallback(mode)  # also accepts the plain string from a config file
    if mode is RequisitionFallback.NO_ATTACHMENTS:
        return not po_attachments
    if mode is RequisitionFallback.NO_PDF:
        return not any(a.name.strip().lower().endswith(".pdf") for a in po_attachments)
    return False


def final_status(
    found: int, downloaded: int, timed_out: bool, *, unread_pages: bool = False
) -> Status:
    """The status of a PO page that listed ``found`` files, ``downloaded`` of them saved.

    A timeout only names the failure when nothing was saved: a partial result is
    PARTIAL whatever stopped the rest. ``unread_pages``: a page that should have listed
    files (the requisition's) could not be read, so the PO cannot be complete.
    """
    if found < 0 or not 0 <= downloaded <= found:
        raise ValueError(f"impossible counts: {downloaded} downloaded of {found} found")
    if unread_pages:
        if downloaded > 0:
            return Status.PARTIAL
        return Status.TIMEOUT if timed_out else Status.FAILED
    if found == 0:
        return Status.NO_ATTACHMENTS
    if downloaded == found:
        return Status.COMPLETED
    if downloaded > 0:
        return Status.PARTIAL
    return Status.TIMEOUT if timed_out else Status.FAILED


def status_for_page(kind: PageKind) -> Status | None:
    """The final status a page decides on its own, or None when files must be fetched."""
    return _PAGE_STATUS.get(kind)


def error_for(status: Status, detail: str = "") -> tuple[str, str]:
    """``(error code, message)`` for a status, with ``detail`` appended to the message."""
    code, message = STATUS_CODES[status]
    detail = detail.strip()
    return code, f"{message} {detail}" if detail else message
