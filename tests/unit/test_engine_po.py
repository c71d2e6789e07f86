"""One PO over any engine (coupadl.engine.po.process_po), with a fake page source and
a fake fetcher: the folder, the files and their hashes, and the status each way a
download can go. No browser, no server; the expected hashes come from hashlib."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from coupadl.coupa.page import PageInfo, PageKind
from coupadl.engine.po import process_po
from coupadl.errors import DownloadError, DownloadTimeout
from coupadl.models import Attachment, AttachmentSource, POTask, Status
from coupadl.settings import load_settings

BASE = "https://acme.coupahost.com"
PDF = b"%PDF-1.4\n" + b"x" * 200 + b"\n%%EOF\n"
SIGN_IN_PAGE = b"<!DOCTYPE html><html><form action='/sessions/new'><input id='user_password'>"


def _file(name: str, n: int) -> Attachment:
    return Attachment(name, f"{BASE}/attachment/attachment_file/{n}", AttachmentSource.HEADER)


class Pages:
    def __init__(self, page: PageInfo) -> None:
        self.page = page

    def open_record(self, url: str) -> PageInfo:
        assert url == f"{BASE}/order_headers/7"
        return self.page


class Fetcher:
    """What each URL does: bytes that arrive, or "refuse" / "no-start" / "stall"."""

    def __init__(self, plan: dict[str, bytes | str]) -> None:
        self.plan = plan

    def start(self, attachment: Attachment, name: str, staging: Path) -> tuple[Path, str]:
        outcome = self.plan[attachment.url]
        if outcome == "refuse":
            raise DownloadError(f"{name}: the link leads off the tenant")
        if outcome == "no-start":
            raise DownloadTimeout("the download did not start within 5 s")
        return staging, attachment.url

    def finish(self, pending: tuple[Path, str], on_growth: Callable[[], None]) -> Path:
        staging, url = pending
        outcome = self.plan[url]
        if outcome == "stall":
            raise DownloadTimeout("the download stalled at 10 bytes for 30 s")
        assert isinstance(outcome, bytes)
        on_growth()
        path = staging / "a GUID the engine chose"
        path.write_bytes(outcome)
        return path


def _run(tmp_path: Path, plan: dict[str, bytes | str], *names: str):
    files = tuple(_file(name, n) for n, name in enumerate(names, start=1))
    page = PageInfo(PageKind.PO, supplier="Acme AB", attachments=files)
    settings = load_settings({"base_url": BASE, "out": tmp_path, "msg_to_pdf": False})
    url = {name: f"{BASE}/attachment/attachment_file/{n}" for n, name in enumerate(names, 1)}
    fetcher = Fetcher({url[name]: outcome for name, outcome in plan.items()})
    stages: list[str] = []
    return process_po(Pages(page), fetcher, POTask("7"), settings, stages.append), stages


def test_every_file_lands_verified_in_the_final_folder(tmp_path: Path) -> None:
    other = b"%PDF-1.7\n" + b"y" * 50 + b"\n%%EOF"
    result, stages = _run(tmp_path, {"a.pdf": PDF, "b.pdf": other}, "a.pdf", "b.pdf")
    assert result.status is Status.COMPLETED, result.message
    assert result.folder == tmp_path / "Acme AB" / "PO7_COMPLETED"
    assert {(f.name, f.size, f.sha256) for f in result.files} == {
        ("a.pdf", len(PDF), hashlib.sha256(PDF).hexdigest()),
        ("b.pdf", len(other), hashlib.sha256(other).hexdigest()),
    }
    assert sorted(p.name for p in result.folder.iterdir()) == ["a.pdf", "b.pdf"]
    assert (result.folder / "b.pdf").read_bytes() == other
    assert (result.supplier, result.attachments_found) == ("Acme AB", 2)
    assert stages[0] == "navigating" and stages[-1] == "verifying"
    assert "downloading 2 of 2" in stages


def test_a_refused_file_makes_the_po_partial(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, {"a.pdf": PDF, "b.pdf": "refuse"}, "a.pdf", "b.pdf")
    assert result.status is Status.PARTIAL and result.transient
    assert "b.pdf: the link leads off the tenant" in result.message
    assert result.folder == tmp_path / "Acme AB" / "PO7_PARTIAL"
    assert [p.name for p in result.folder.iterdir()] == ["a.pdf"]


@pytest.mark.parametrize("how", ["no-start", "stall"])
def test_a_download_out_of_time_is_a_timeout(tmp_path: Path, how: str) -> None:
    result, _ = _run(tmp_path, {"a.pdf": how}, "a.pdf")
    assert result.status is Status.TIMEOUT and result.transient
    assert "a.pdf: the download" in result.message
    assert result.folder is None and not (tmp_path / "Acme AB").exists()  # no empty folders


def test_bytes_that_are_not_what_the_name_promises_are_refused(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, {"a.pdf": b"<html><body>Error</body></html>"}, "a.pdf")
    assert result.status is Status.FAILED and result.files == []
    assert "a.pdf" in result.message


def test_a_download_that_is_the_sign_in_page_means_the_session_expired(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, {"a.txt": SIGN_IN_PAGE}, "a.txt")
    assert result.status is Status.AUTH_REQUIRED and result.folder is None
    # No final folder: the work folder stays for the next attempt to clear.
    assert [p.name for p in (tmp_path / "Acme AB").iterdir()] == ["PO7__WORK"]


def test_an_engine_connection_lost_is_left_to_the_engine(tmp_path: Path) -> None:
    class Lost(Fetcher):
        def start(self, attachment: Attachment, name: str, staging: Path) -> tuple[Path, str]:
            raise ConnectionRefusedError("the driver is gone")

    page = PageInfo(PageKind.PO, supplier="Acme AB", attachments=(_file("a.pdf", 1),))
    settings = load_settings({"base_url": BASE, "out": tmp_path})
    with pytest.raises(ConnectionRefusedError):
        process_po(Pages(page), Lost({}), POTask("7"), settings)


def test_a_disk_that_fails_is_reported_not_raised(tmp_path: Path) -> None:
    class DiskGone(Fetcher):
        def finish(self, pending: tuple[Path, str], on_growth: Callable[[], None]) -> Path:
            raise PermissionError(13, "Permission denied")

    page = PageInfo(PageKind.PO, supplier="Acme AB", attachments=(_file("a.pdf", 1),))
    settings = load_settings({"base_url": BASE, "out": tmp_path})
    result = process_po(
        Pages(page), DiskGone({page.attachments[0].url: PDF}), POTask("7"), settings
    )
    assert result.status is Status.FAILED
    assert result.error_code.startswith("E_") and "cannot write files" in result.message
