"""Status decisions."""

from __future__ import annotations

import pytest

from coupadl.coupa.page import PageKind
from coupadl.coupa.status import error_for, final_status, needs_requisition, status_for_page
from coupadl.errors import STATUS_CODES
from coupadl.models import Attachment, AttachmentSource, Status
from coupadl.settings import RequisitionFallback

NEVER, NO_ATT, NO_PDF = (
    RequisitionFallback.NEVER,
    RequisitionFallback.NO_ATTACHMENTS,
    RequisitionFallback.NO_PDF,
)


def _files(*names: str) -> list[Attachment]:
    return [
        Attachment(n, f"https://t/attachment/{i}", AttachmentSource.HEADER)
        for i, n in enumerate(names)
    ]


@pytest.mark.parametrize(
    ("names", "mode", "expected"),
    [
        ((), NO_PDF, True),
        ((), NO_ATT, True),
        ((), NEVER, False),
        (("a.msg", "b.xlsx"), NO_PDF, True),
        (("a.msg", "b.xlsx"), NO_ATT, False),
        (("a.msg", "Quote.PDF"), NO_PDF, False),
        (("quote.pdf",), NEVER, False),
        (("quote.pdf.zip",), NO_PDF, True),
        (("pdf",), NO_PDF, True),
    ],
)
def test_needs_requisition(
    names: tuple[str, ...], mode: RequisitionFallback, expected: bool
) -> None:
    assert needs_requisition(_files(*names), mode) is expected


def test_needs_requisition_accepts_the_mode_as_text() -> None:
    assert needs_requisition([], "no_pdf") is True  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        needs_requisition([], "sometimes")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("found", "downloaded", "timed_out", "expected"),
    [
        (0, 0, False, Status.NO_ATTACHMENTS),
        (0, 0, True, Status.NO_ATTACHMENTS),
        (3, 3, False, Status.COMPLETED),
        (3, 3, True, Status.COMPLETED),
        (3, 1, False, Status.PARTIAL),
        (3, 2, True, Status.PARTIAL),
        (3, 0, True, Status.TIMEOUT),
        (3, 0, False, Status.FAILED),
        (1, 0, False, Status.FAILED),
    ],
)
def test_final_status(found: int, downloaded: int, timed_out: bool, expected: Status) -> None:
    assert final_status(found, downloaded, timed_out) is expected


@pytest.mark.parametrize(("found", "downloaded"), [(2, 3), (-1, 0), (2, -1)])
def test_final_status_rejects_impossible_counts(found: int, downloaded: int) -> None:
    with pytest.raises(ValueError):
        final_status(found, downloaded, False)


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (PageKind.SIGN_IN, Status.AUTH_REQUIRED),
        (PageKind.NOT_FOUND, Status.PO_NOT_FOUND),
        (PageKind.ACCESS_DENIED, Status.ACCESS_DENIED),
        (PageKind.PO, None),
        (PageKind.REQUISITION, None),
        (PageKind.UNKNOWN, None),
        (PageKind.SERVER_ERROR, None),  # no final status: the PO is retried
    ],
)
def test_status_for_page(kind: PageKind, expected: Status | None) -> None:
    assert status_for_page(kind) is expected


def test_error_for() -> None:
    code, message = STATUS_CODES[Status.PO_NOT_FOUND]
    assert error_for(Status.PO_NOT_FOUND) == (code, message)
    assert error_for(Status.PO_NOT_FOUND, "  Oops!  ") == (code, f"{message} Oops!")
    assert error_for(Status.COMPLETED)[0] == ""
    assert error_for(Status.TIMEOUT, "x")[0] == "E_TIMEOUT"


@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_a_code(status: Status) -> None:
    assert error_for(status)[1]
