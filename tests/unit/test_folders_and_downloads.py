"""PO folders (work -> final) and download watching, on real files, no browser."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import pytest

from coupadl.engine.browser.downloads import wait_for_complete, wait_for_start
from coupadl.errors import DownloadError, DownloadTimeout
from coupadl.files.filetypes import looks_like_html
from coupadl.files.folders import (
    STAGING_NAME,
    final_dirs_of,
    finalize,
    parent_dir,
    prepare_work_dir,
    prune_empty,
)
from coupadl.files.verify import verify_file
from coupadl.models import Status


def test_parent_dir_uses_levels_else_supplier(tmp_path: Path) -> None:
    assert parent_dir(tmp_path, (), 'ACME/Nordic: "Parts"') == tmp_path / "ACME_Nordic_ _Parts_"
    assert parent_dir(tmp_path, ("EU", "Finance"), "ACME") == tmp_path / "EU" / "Finance"
    assert parent_dir(tmp_path, ("", " "), "") == tmp_path / "_unknown_supplier"


def test_work_folder_is_renamed_to_exactly_one_final_folder(tmp_path: Path) -> None:
    old = tmp_path / "PO42_PARTIAL"
    old.mkdir()
    (old / "a.pdf").write_bytes(b"%PDF-old")
    (tmp_path / "PO420_COMPLETED").mkdir()  # another PO that shares the prefix
    work = prepare_work_dir(tmp_path, "42")
    (work / "a.pdf").write_bytes(b"%PDF-new")
    (work / STAGING_NAME / "0").mkdir(parents=True)

    final = finalize(work, "42", Status.COMPLETED)

    assert final == tmp_path / "PO42_COMPLETED"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["PO420_COMPLETED", "PO42_COMPLETED"]
    assert [p.name for p in final.iterdir()] == ["a.pdf"]
    assert final_dirs_of(tmp_path, "42") == [final]


def test_empty_work_folder_leaves_no_folder(tmp_path: Path) -> None:
    work = prepare_work_dir(tmp_path, "7")
    assert finalize(work, "7", Status.FAILED) is None
    assert list(tmp_path.iterdir()) == []


def test_prune_empty_removes_empty_levels_up_to_the_output_only(tmp_path: Path) -> None:
    out = tmp_path / "out"
    shared = out / "EU" / "Acme"
    (shared / "PO1_COMPLETED").mkdir(parents=True)
    lonely = out / "EU" / "Lonely Supplier"
    lonely.mkdir(parents=True)
    (out / "US" / "Empty").mkdir(parents=True)

    prune_empty(lonely, out)
    prune_empty(out / "US" / "Empty", out)
    prune_empty(out, out)  # the output folder itself stays, even empty

    assert not lonely.exists()
    assert not (out / "US").exists()
    assert (shared / "PO1_COMPLETED").is_dir()  # a level with a PO in it stays
    prune_empty(tmp_path / "elsewhere", out)  # outside the output folder: left alone
    assert out.is_dir()


def test_leftover_work_folder_is_discarded(tmp_path: Path) -> None:
    work = prepare_work_dir(tmp_path, "7")
    (work / "half.pdf.crdownload").write_bytes(b"x")
    work = prepare_work_dir(tmp_path, "7")
    assert list(work.iterdir()) == []


def _write_later(path: Path, data: bytes, delay: float) -> threading.Thread:
    def write() -> None:
        time.sleep(delay)
        partial = path.with_name(path.name + ".crdownload")
        partial.write_bytes(data[:1])
        time.sleep(delay)
        partial.write_bytes(data)
        partial.rename(path)

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def test_wait_for_start_and_complete_follow_a_crdownload(tmp_path: Path) -> None:
    pdf = b"%PDF-1.4 hello\n%%EOF\n"  # verify_file wants a PDF's end marker too
    thread = _write_later(tmp_path / "a.pdf", pdf, 0.1)
    wait_for_start(tmp_path, timeout=5)
    path = wait_for_complete(tmp_path, stall_timeout=5, total_timeout=10)
    thread.join()
    assert path == tmp_path / "a.pdf"
    verified = verify_file(path, "a.pdf")
    assert verified.size == len(pdf)
    assert verified.sha256 == hashlib.sha256(pdf).hexdigest()


def test_a_growing_download_reports_progress(tmp_path: Path) -> None:
    # The pool kills a worker that reports no progress for task_timeout: bytes arriving
    # must count, or one long download would read as a hung worker.
    partial = tmp_path / "a.pdf.crdownload"

    def download() -> None:
        for size in (1, 4, 8):
            partial.write_bytes(b"%PDF-1.4"[:size])
            time.sleep(0.3)
        partial.rename(tmp_path / "a.pdf")

    grew: list[int] = []
    thread = threading.Thread(target=download)
    thread.start()
    wait_for_start(tmp_path, timeout=5)
    wait_for_complete(tmp_path, stall_timeout=5, total_timeout=10, on_growth=lambda: grew.append(1))
    thread.join()
    assert grew


def test_download_that_never_starts_times_out(tmp_path: Path) -> None:
    with pytest.raises(DownloadTimeout, match="did not start"):
        wait_for_start(tmp_path, timeout=0.2)


def test_stalled_download_fails_on_no_progress(tmp_path: Path) -> None:
    (tmp_path / "a.pdf.crdownload").write_bytes(b"%PDF")
    with pytest.raises(DownloadTimeout, match="stalled"):
        wait_for_complete(tmp_path, stall_timeout=0.3, total_timeout=30)


def test_verify_rejects_empty_files_and_html_posing_as_pdf(tmp_path: Path) -> None:
    empty = tmp_path / "e.pdf"
    empty.write_bytes(b"")
    with pytest.raises(DownloadError, match="empty"):
        verify_file(empty, "e.pdf")
    page = tmp_path / "p.pdf"
    page.write_bytes(b"  <!DOCTYPE html><html><body>Sign in</body></html>")
    with pytest.raises(DownloadError, match="web page"):
        verify_file(page, "p.pdf")
    html_ok = tmp_path / "ok.html"
    html_ok.write_bytes(b"<html></html>")
    assert verify_file(html_ok, "ok.html").size == 13


def test_looks_like_html() -> None:
    assert looks_like_html(b"\n<HTML>")
    assert not looks_like_html(b"%PDF-1.7")
