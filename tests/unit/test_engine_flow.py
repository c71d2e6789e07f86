"""The per-PO flow (coupadl.engine.flow) over fake pages: what it decides, what it
hands the sink, in which order, under which names. No browser, no server."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from coupadl.coupa.page import PageInfo, PageKind
from coupadl.engine.flow import NamedFile, walk_po
from coupadl.errors import AuthRequiredError
from coupadl.models import Attachment, AttachmentSource, POTask, Status
from coupadl.settings import RequisitionFallback, load_settings

BASE = "https://acme.coupahost.com"
PO_URL = f"{BASE}/order_headers/7"
REQ_URL = f"{BASE}/requisition_headers/70"


def _file(name: str, n: int, source: AttachmentSource = AttachmentSource.HEADER) -> Attachment:
    return Attachment(name, f"{BASE}/attachment/attachment_file/{n}", source)


class Pages:
    def __init__(self, pages: dict[str, PageInfo]) -> None:
        self.pages, self.opened = pages, []

    def open_record(self, url: str) -> PageInfo:
        self.opened.append(url)
        return self.pages[url]


class Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def begin(self, page: PageInfo) -> None:
        self.events.append(("begin", page.supplier))

    def take(self, files: Sequence[NamedFile]) -> None:
        self.events.append(("take", [f.name for f in files]))

    def requisition_unread(self, note: str, *, incomplete: bool) -> None:
        self.events.append(("unread", incomplete))


def _settings(tmp_path: Path, fallback: RequisitionFallback = RequisitionFallback.NO_ATTACHMENTS):
    return load_settings({"base_url": BASE, "out": tmp_path, "requisition_fallback": fallback})


def _po(*files: Attachment, requisition: str = "70") -> PageInfo:
    return PageInfo(PageKind.PO, supplier="Acme", requisition_id=requisition, attachments=files)


def test_files_of_both_pages_are_named_once_with_collisions_numbered(tmp_path: Path) -> None:
    po = _po(_file("a.docx", 1), _file("A.docx", 2))
    req = PageInfo(PageKind.REQUISITION, attachments=(_file("a.docx", 3), _file("a.docx", 1)))
    pages = Pages({PO_URL: po, REQ_URL: req})
    sink = Sink()

    walk = walk_po(pages, POTask("7"), _settings(tmp_path, RequisitionFallback.NO_PDF), sink)

    assert walk.decided is None
    assert pages.opened == [PO_URL, REQ_URL]
    # The same URL once; names unique without regard to case, numbered in order.
    assert sink.events == [
        ("begin", "Acme"),
        ("take", ["a.docx", "A (1).docx"]),
        ("take", ["a (2).docx"]),
    ]


def test_the_requisition_is_not_opened_when_the_fallback_does_not_ask(tmp_path: Path) -> None:
    pages = Pages({PO_URL: _po(_file("a.docx", 1))})
    sink = Sink()

    walk_po(pages, POTask("7"), _settings(tmp_path), sink)

    assert pages.opened == [PO_URL]
    assert sink.events == [("begin", "Acme"), ("take", ["a.docx"])]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        (PageKind.NOT_FOUND, Status.PO_NOT_FOUND, None),
        (PageKind.ACCESS_DENIED, Status.ACCESS_DENIED, None),
        (PageKind.SIGN_IN, Status.AUTH_REQUIRED, None),
        (PageKind.SERVER_ERROR, Status.FAILED, "E_SERVER_ERROR"),
        (PageKind.UNKNOWN, Status.FAILED, None),
    ],
)
def test_a_page_that_decides_alone_feeds_nothing(
    tmp_path: Path, kind: PageKind, status: Status, code: str | None
) -> None:
    sink = Sink()

    walk = walk_po(Pages({PO_URL: PageInfo(kind)}), POTask("7"), _settings(tmp_path), sink)

    assert walk.decided is not None
    assert (walk.decided.status, walk.decided.error_code) == (status, code)
    assert walk.decided.transient is (status is Status.FAILED)
    assert sink.events == []


def test_no_files_and_no_requisition_is_no_attachments(tmp_path: Path) -> None:
    sink = Sink()

    walk = walk_po(Pages({PO_URL: _po(requisition="")}), POTask("7"), _settings(tmp_path), sink)

    assert walk.decided is not None and walk.decided.status is Status.NO_ATTACHMENTS
    assert sink.events == []


@pytest.mark.parametrize(
    ("kind", "incomplete"),
    [
        (PageKind.NOT_FOUND, False),
        (PageKind.ACCESS_DENIED, False),
        (PageKind.SERVER_ERROR, True),
        (PageKind.UNKNOWN, True),
    ],
)
def test_an_unreadable_requisition_is_told_to_the_sink(
    tmp_path: Path, kind: PageKind, incomplete: bool
) -> None:
    pages = Pages({PO_URL: _po(), REQ_URL: PageInfo(kind)})
    sink = Sink()

    walk_po(pages, POTask("7"), _settings(tmp_path), sink)

    assert sink.events == [("begin", "Acme"), ("take", []), ("unread", incomplete)]


def test_sign_in_on_the_requisition_page_is_auth_required(tmp_path: Path) -> None:
    pages = Pages({PO_URL: _po(), REQ_URL: PageInfo(PageKind.SIGN_IN)})

    with pytest.raises(AuthRequiredError):
        walk_po(pages, POTask("7"), _settings(tmp_path), Sink())
