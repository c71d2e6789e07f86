"""--refresh without a server: which listed attachments are known (URL, id, name),
which names a new file must avoid, how new files join the PO's folder, and what is
recorded when a refresh fails. The expected values are written out by hand."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from coupadl.coupa.page import PageInfo, PageKind
from coupadl.coupa.urls import attachment_id
from coupadl.engine.po import process_po
from coupadl.engine.refresh import KnownFiles, taken_names
from coupadl.errors import DownloadError
from coupadl.files.folders import join_folder
from coupadl.models import (
    Attachment,
    AttachmentSource,
    Earlier,
    FileResult,
    POResult,
    POTask,
    Status,
)
from coupadl.runs.refresh import refreshed
from coupadl.settings import load_settings

BASE = "https://acme.coupahost.com"
HEADER, COMMENT = AttachmentSource.HEADER, AttachmentSource.COMMENT
PDF = b"%PDF-1.4\n" + b"n" * 100 + b"\n%%EOF\n"


def _url(file_id: int, name: str) -> str:
    return f"{BASE}/attachment/attachment_file/file/{file_id}/{name}"


def _known(name: str, url: str, size: int = 10) -> FileResult:
    return FileResult(name, size, "0" * 64, COMMENT, url)


@pytest.mark.parametrize(
    ("url", "wanted"),
    [
        (f"{BASE}/attachment/attachment_file/file/27350012/Quote%20A.pdf", "27350012"),
        (f"{BASE}/attachment/attachment_file/type/991/x.pdf", "991"),
        (f"{BASE}/attachments/42", "42"),
        (f"{BASE}/api/attachments/77/file", "77"),
        (f"{BASE}/api/purchase_orders/5/attachments/8", "8"),
        ("data:text/plain;coupa-id=41000100,hello%20/attachments/9", "41000100"),
        (f"{BASE}/files/report.pdf", None),
        ("data:text/plain,no id here", None),
    ],
)
def test_the_attachment_id_in_a_url(url: str, wanted: str | None) -> None:
    assert attachment_id(url) == wanted


def test_known_files_match_by_url_then_id_and_each_only_once() -> None:
    a = _known("a.pdf", _url(1, "a.pdf"))
    b = _known("b.pdf", _url(2, "b.pdf"))
    known = KnownFiles([a, b])
    # The same id under another URL form (header /type/ vs comment /file/) is the file.
    moved = Attachment("b.pdf", f"{BASE}/attachment/attachment_file/type/2/b.pdf", HEADER)
    assert known.match(moved) is b
    assert known.match(Attachment("a.pdf", _url(1, "a.pdf"), COMMENT)) is a
    # Listed twice: the second listing is no earlier file (each matches once).
    assert known.match(Attachment("a.pdf", _url(1, "a.pdf"), COMMENT)) is None
    assert known.matched == 2


def test_same_name_with_another_id_is_a_new_file() -> None:
    known = KnownFiles([_known("Invoice.pdf", _url(1, "Invoice.pdf"))])
    assert known.match(Attachment("Invoice.pdf", _url(3, "Invoice.pdf"), COMMENT)) is None


def test_by_name_and_size_only_where_no_id_tells() -> None:
    old = _known("Scan 1.pdf", "https://files.example.com/s/abc", size=500)
    known = KnownFiles([old])
    assert known.match(Attachment("Scan 1.pdf", "https://x.example/y", COMMENT, 999)) is None
    assert known.match(Attachment("scan 1.PDF", "https://x.example/z", COMMENT, 500)) is old
    unsized = KnownFiles([old])
    assert unsized.match(Attachment("Scan 1.pdf", "https://x.example/q", COMMENT)) is old


def test_taken_names_are_the_earlier_files_and_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "PO7_COMPLETED"
    folder.mkdir()
    (folder / "Mail.pdf").write_bytes(b"made from Mail.msg")
    earlier = Earlier(Status.COMPLETED, (_known("Mail.msg", _url(1, "Mail.msg")),), folder)
    assert taken_names(earlier) == {"mail.msg", "mail.pdf"}
    gone = Earlier(Status.COMPLETED, earlier.files, tmp_path / "missing")
    assert taken_names(gone) == {"mail.msg"}


def test_join_folder_adds_new_files_and_renames_for_the_status(tmp_path: Path) -> None:
    folder = tmp_path / "PO7_NO_ATTACHMENTS_X"  # any earlier name; only its parent counts
    folder.mkdir()
    (folder / "a.pdf").write_bytes(b"earlier")
    (folder / "a (1).pdf").write_bytes(b"earlier too")
    before = os.stat(folder / "a.pdf")
    work = tmp_path / "PO7__WORK"
    (work / ".incoming" / "0").mkdir(parents=True)
    (work / "new.pdf").write_bytes(b"new")
    (work / "a (1).pdf").write_bytes(b"a PDF made from a new .msg")

    final = join_folder(work, folder, "7", Status.PARTIAL)

    assert final == tmp_path / "PO7_PARTIAL" and not work.exists() and not folder.exists()
    assert sorted(p.name for p in final.iterdir()) == ["a (1).pdf", "a.pdf", "new.pdf"]
    assert (final / "a (1).pdf").read_bytes() == b"earlier too"  # never replaced
    after = os.stat(final / "a.pdf")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def _earlier_result() -> POResult:
    files = [_known("a.pdf", _url(1, "a.pdf"))]
    return POResult("7", Status.COMPLETED, supplier="Acme AB", files=files, finished_at=1.0)


def test_a_refresh_that_read_the_po_is_recorded_as_it_is() -> None:
    now = POResult("7", Status.COMPLETED, last_refreshed=5.0)
    assert refreshed(_earlier_result(), now) is now


def test_a_refresh_that_never_read_the_po_keeps_the_earlier_result() -> None:
    failed = POResult(
        "7", Status.TIMEOUT, "E_TIMEOUT", "page took 60 s", attempts=3, finished_at=9.0
    )
    kept = refreshed(_earlier_result(), failed)
    assert (kept.status, kept.supplier, [f.name for f in kept.files]) == (
        Status.COMPLETED, "Acme AB", ["a.pdf"],
    )  # fmt: skip
    assert (kept.error_code, kept.message) == ("E_TIMEOUT", "refresh TIMEOUT: page took 60 s")
    assert (kept.attempts, kept.finished_at, kept.last_refreshed) == (3, 9.0, 0.0)


# --- the per-PO flow in a refresh, with a fake page and fetcher ------------------------


class _Pages:
    def __init__(self, attachments: tuple[Attachment, ...]) -> None:
        self.page = PageInfo(PageKind.PO, supplier="Acme AB", attachments=attachments)

    def open_record(self, url: str) -> PageInfo:
        return self.page


class _Fetcher:
    def __init__(self, plan: dict[str, bytes | None]) -> None:
        self.plan, self.started = plan, []

    def start(self, attachment: Attachment, name: str, staging: Path) -> tuple[Path, str]:
        self.started.append(attachment.url)
        if self.plan[attachment.url] is None:
            raise DownloadError(f"{name}: refused")
        return staging, attachment.url

    def finish(self, pending: tuple[Path, str], on_growth: Callable[[], None]) -> Path:
        staging, url = pending
        path = staging / "download"
        path.write_bytes(self.plan[url] or b"")
        return path


def _refresh(tmp_path: Path, plan: dict[str, bytes | None]) -> tuple[POResult, _Fetcher, Path]:
    folder = tmp_path / "Acme AB" / "PO7_COMPLETED"
    folder.mkdir(parents=True)
    (folder / "a.pdf").write_bytes(PDF)
    earlier = Earlier(Status.COMPLETED, (_known("a.pdf", _url(1, "a.pdf"), len(PDF)),), folder)
    new = [Attachment(url.rsplit("/", 1)[1], url, COMMENT) for url in plan]
    listed = (Attachment("a.pdf", _url(1, "a.pdf"), HEADER), *new)
    settings = load_settings({"base_url": BASE, "out": tmp_path, "msg_to_pdf": False})
    fetcher = _Fetcher(plan)
    result = process_po(_Pages(listed), fetcher, POTask("7", earlier=earlier), settings)
    return result, fetcher, folder


def test_only_new_files_are_fetched_and_named_against_the_folder(tmp_path: Path) -> None:
    # A new file called like the earlier one (another id) is saved beside it.
    result, fetcher, folder = _refresh(tmp_path, {_url(2, "a.pdf"): PDF})
    assert fetcher.started == [_url(2, "a.pdf")]
    assert result.status is Status.COMPLETED and result.folder == folder
    assert [(f.name, bool(f.added_at)) for f in result.files] == [
        ("a.pdf", False),
        ("a (1).pdf", True),
    ]
    assert [f.name for f in result.new_files] == ["a (1).pdf"]
    assert result.last_refreshed == result.files[1].added_at > 0
    assert hashlib.sha256((folder / "a (1).pdf").read_bytes()).hexdigest() == result.files[1].sha256


def test_a_refresh_whose_only_new_file_failed_changes_nothing(tmp_path: Path) -> None:
    result, _, folder = _refresh(tmp_path, {_url(2, "b.pdf"): None})
    assert (result.status, result.transient, result.last_refreshed) == (Status.FAILED, True, 0.0)
    assert "refresh: b.pdf: refused" in result.message
    assert sorted(p.name for p in folder.parent.iterdir()) == ["PO7_COMPLETED"]
    assert [p.name for p in folder.iterdir()] == ["a.pdf"]


def test_a_refresh_with_some_new_files_failed_keeps_those_that_came(tmp_path: Path) -> None:
    plan = {_url(2, "b.pdf"): PDF, _url(3, "c.pdf"): None}
    result, _, _ = _refresh(tmp_path, plan)
    assert (result.status, result.transient) == (Status.PARTIAL, False)
    assert (result.attachments_found, result.attachments_downloaded) == (3, 2)
    final = tmp_path / "Acme AB" / "PO7_PARTIAL"
    assert result.folder == final and sorted(p.name for p in final.iterdir()) == ["a.pdf", "b.pdf"]


@pytest.mark.parametrize(
    ("before", "now", "read"),
    [
        (Status.ACCESS_DENIED, PageKind.ACCESS_DENIED, True),  # the same answer: read
        (Status.PO_NOT_FOUND, PageKind.NOT_FOUND, True),
        (Status.COMPLETED, PageKind.ACCESS_DENIED, False),  # kept as it was (runs.refresh)
    ],
)
def test_a_page_that_decides_alone_in_a_refresh(
    tmp_path: Path, before: Status, now: PageKind, read: bool
) -> None:
    class Decides:
        def open_record(self, url: str) -> PageInfo:
            return PageInfo(now)

    settings = load_settings({"base_url": BASE, "out": tmp_path})
    task = POTask("7", earlier=Earlier(before))
    result = process_po(Decides(), _Fetcher({}), task, settings)
    assert bool(result.last_refreshed) is read and result.files == []
