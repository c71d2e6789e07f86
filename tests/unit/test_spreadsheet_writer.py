"""Results CSV/XLSX: round trips, formula injection, throttling, locked files, atomicity."""

from __future__ import annotations

import logging
import os
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from coupadl.files import atomic
from coupadl.files.atomic import atomic_write_bytes
from coupadl.models import AttachmentSource, FileResult, POResult, Status
from coupadl.spreadsheet import writer as writer_module
from coupadl.spreadsheet.reader import plan_rows, read_input
from coupadl.spreadsheet.writer import RESULT_COLUMNS, ResultsWriter, neutralize

FINISHED = datetime(2025, 6, 1, 12, 0, 5).timestamp()


def completed(po: str, **changes: object) -> POResult:
    fields: dict[str, object] = {
        "po_number": po,
        "status": Status.COMPLETED,
        "supplier": "Iver Sverige AB",
        "url": f"https://acme.coupahost.com/order_headers/{po}",
        "attachments_found": 2,
        "files": [
            FileResult("Quote.pdf", 10, "a" * 64, AttachmentSource.HEADER),
            FileResult("Spec.docx", 20, "b" * 64, AttachmentSource.COMMENT),
        ],
        "folder": Path("/out/Iver Sverige AB") / f"PO{po}_COMPLETED",
        "started_at": FINISHED - 3,
        "finished_at": FINISHED,
    }
    fields.update(changes)
    return POResult(**fields)  # type: ignore[arg-type]


def write_xlsx(path: Path, sheet_name: str, rows: list[list[object]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def make_writer(input_path: Path, out: Path, flush_seconds: float = 0.0) -> ResultsWriter:
    table = read_input(input_path)
    return ResultsWriter(table, plan_rows(table), out, flush_seconds=flush_seconds)


def test_neutralize() -> None:
    assert neutralize('=HYPERLINK("x")') == '\'=HYPERLINK("x")'
    assert [neutralize(t) for t in ("+1", "-1", "@SUM", "\tx")] == ["'+1", "'-1", "'@SUM", "'\tx"]
    assert neutralize("Acme = good") == "Acme = good"
    assert neutralize("") == ""


# --- CSV ------------------------------------------------------------------------------


def test_csv_round_trip(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes("PO_NUMBER;Note\nPO1;å\n1;=keep me\nbad;x\n2;y\n".encode())
    writer = make_writer(source, tmp_path / "out")
    writer.update(
        completed(
            "1",
            supplier="=cmd|' /C calc'!A0",
            files=[FileResult("-evil.pdf", 1, "c" * 64, AttachmentSource.HEADER)],
        )
    )
    writer.update(
        completed("2", status=Status.FAILED, error_code="E_DOWNLOAD_FAILED", message="boom",
                  files=[], folder=None)
    )  # fmt: skip
    assert writer.flush()

    assert writer.path == tmp_path / "out" / "results.csv"
    assert writer.path.read_bytes().startswith(b"\xef\xbb\xbf")
    table = read_input(writer.path)
    assert table.delimiter == ";"
    assert table.columns == ["PO_NUMBER", "Note", *RESULT_COLUMNS]
    first, second, bad, failed = table.rows
    assert first["Note"] == "å"
    assert second["Note"] == "=keep me"  # input values stay as they were
    for row in (first, second):  # both rows of the duplicated PO are filled
        assert row["STATUS"] == "COMPLETED"
        assert row["SUPPLIER"] == "'=cmd|' /C calc'!A0"
        assert row["AttachmentName"] == "'-evil.pdf"
        assert row["ATTACHMENTS_FOUND"] == "2"
        assert row["ATTACHMENTS_DOWNLOADED"] == "1"
        assert row["LAST_PROCESSED"] == "2025-06-01T12:00:05"
        assert row["ERROR_MESSAGE"] == ""
        assert row["COUPA_URL"].endswith("/order_headers/1")
    assert bad["STATUS"] == "INVALID_PO_NUMBER"
    assert bad["ERROR_MESSAGE"].startswith("E_INVALID_PO: ")
    assert failed["STATUS"] == "FAILED"
    assert failed["ERROR_MESSAGE"] == "E_DOWNLOAD_FAILED: boom"
    assert failed["DOWNLOAD_FOLDER"] == ""
    assert failed["AttachmentName"] == ""


def test_attachment_names_joined(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("PO_NUMBER\n7\n")
    writer = make_writer(source, tmp_path)
    writer.update(completed("7"))
    row = read_input(writer.path).rows[0]
    assert row["AttachmentName"] == "Quote.pdf; Spec.docx"
    assert row["DOWNLOAD_FOLDER"] == str(Path("/out/Iver Sverige AB/PO7_COMPLETED"))


def test_rerun_on_results_file_fills_columns_in_place(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("PO_NUMBER,Note\n1,a\n2,b\n")
    first = make_writer(source, tmp_path / "run1")
    first.update(completed("1"))
    first.update(completed("2", status=Status.TIMEOUT, error_code="E_TIMEOUT", message="slow"))
    first.flush()

    table = read_input(first.path)
    plan = plan_rows(table)
    assert [t.po_number for t in plan.tasks] == ["2"]  # 1 was COMPLETED
    second = ResultsWriter(table, plan, tmp_path / "run2", flush_seconds=0)
    second.update(completed("2"))
    second.flush()
    again = read_input(second.path)
    assert again.columns == ["PO_NUMBER", "Note", *RESULT_COLUMNS]  # no duplicates
    assert [r["STATUS"] for r in again.rows] == ["COMPLETED", "COMPLETED"]
    assert again.rows[0]["LAST_PROCESSED"] == table.rows[0]["LAST_PROCESSED"]  # carried over


def test_existing_result_column_keeps_its_header_text(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("PO_NUMBER;status ;More\n1;;x\n")
    writer = make_writer(source, tmp_path / "out")
    writer.update(completed("1"))
    table = read_input(writer.path)
    assert table.columns[:3] == ["PO_NUMBER", "status ", "More"]
    assert "STATUS" not in table.columns
    assert table.rows[0]["status "] == "COMPLETED"


def test_unknown_po_is_ignored(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    source = tmp_path / "in.csv"
    source.write_text("PO_NUMBER\n1\n")
    writer = make_writer(source, tmp_path)
    with caplog.at_level(logging.WARNING):
        writer.update(completed("999"))
    assert "999" in caplog.text


# --- XLSX -----------------------------------------------------------------------------


def test_xlsx_round_trip(tmp_path: Path) -> None:
    ordered = datetime(2025, 1, 2, 3, 4, 5)
    source = write_xlsx(
        tmp_path / "in.xlsx",
        "PO_Data",
        [["PO_NUMBER", "Ordered", "Text", "<|>", "Region"], [16928033, ordered, None, None, "EU"]],
    )
    # A text cell that starts with "=" must come back as text, not become a formula.
    workbook = load_workbook(source)
    cell = workbook["PO_Data"]["C2"]
    cell.value = "=not a formula"
    cell.data_type = "s"
    workbook.save(source)

    writer = make_writer(source, tmp_path / "out")
    writer.update(completed("16928033", supplier="@SUM(A1)", message="-x", error_code="E_Y"))
    writer.flush()

    assert writer.path == tmp_path / "out" / "results.xlsx"
    result = load_workbook(writer.path)
    assert result.sheetnames == ["PO_Data"]
    sheet = result["PO_Data"]
    header = [c.value for c in sheet[1]]
    assert header == ["PO_NUMBER", "Ordered", "Text", "<|>", "Region", *RESULT_COLUMNS]
    row = dict(zip(header, sheet[2], strict=True))
    assert row["PO_NUMBER"].value == 16928033
    assert row["Ordered"].value == ordered
    assert row["Text"].value == "=not a formula" and row["Text"].data_type == "s"
    assert row["SUPPLIER"].value == "'@SUM(A1)"
    assert row["ERROR_MESSAGE"].value == "E_Y: -x"
    assert row["ATTACHMENTS_FOUND"].value == 2
    assert all(c.data_type != "f" for c in sheet[2])

    table = read_input(writer.path)  # the results file is a valid input too
    assert table.level_columns == ["Region"]


def test_xlsx_drops_control_characters(tmp_path: Path) -> None:
    source = write_xlsx(tmp_path / "in.xlsx", "Sheet1", [["PO_NUMBER"], ["PO3"]])
    writer = make_writer(source, tmp_path)
    writer.update(completed("3", supplier="Acme\x00\x07 AB"))
    assert read_input(writer.path).rows[0]["SUPPLIER"] == "Acme AB"


# --- flushing, locks, atomicity -------------------------------------------------------


def test_flush_throttled(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("PO_NUMBER\n1\n2\n")
    writer = make_writer(source, tmp_path / "out", flush_seconds=3600)
    writer.update(completed("1"))  # the first result is written at once
    assert read_input(writer.path).rows[1]["STATUS"] == ""
    writer.update(completed("2"))  # within the interval: kept in memory
    assert read_input(writer.path).rows[1]["STATUS"] == ""
    assert writer.flush()
    assert read_input(writer.path).rows[1]["STATUS"] == "COMPLETED"


def test_locked_results_file_never_crashes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "in.csv"
    source.write_text("PO_NUMBER\n1\n")
    writer = make_writer(source, tmp_path / "out")

    def locked(path: Path, data: bytes) -> None:
        raise PermissionError(13, "The process cannot access the file", str(path))

    monkeypatch.setattr(writer_module, "atomic_write_bytes", locked)
    with caplog.at_level(logging.WARNING, logger="coupadl.spreadsheet.writer"):
        writer.update(completed("1"))
        assert not writer.flush()
    assert "Excel" in caplog.text
    assert sum(r.levelno == logging.WARNING for r in caplog.records) == 1  # no log spam

    monkeypatch.setattr(writer_module, "atomic_write_bytes", atomic_write_bytes)
    assert writer.flush()
    assert read_input(writer.path).rows[0]["STATUS"] == "COMPLETED"


def test_writes_leave_no_temp_files(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("PO_NUMBER\n1\n2\n")
    out = tmp_path / "out"
    writer = make_writer(source, out)
    for po in ("1", "2"):
        writer.update(completed(po))
    writer.flush()
    assert sorted(p.name for p in out.iterdir()) == ["results.csv"]


def test_atomic_write_replaces_and_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "file.bin"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(tmp_path) == ["file.bin"]


def test_atomic_write_retries_then_raises_keeping_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "results.xlsx"
    target.write_bytes(b"old")
    calls: list[str] = []

    def replace(src: object, dst: object) -> None:
        calls.append(str(dst))
        raise PermissionError(13, "locked")

    monkeypatch.setattr(atomic.os, "replace", replace)
    monkeypatch.setattr(atomic.time, "sleep", lambda _s: None)
    with pytest.raises(PermissionError):
        atomic_write_bytes(target, b"new", attempts=3)
    assert len(calls) == 3
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["results.xlsx"]


def test_atomic_write_succeeds_after_a_short_lock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "results.csv"
    real_replace = os.replace
    failures = iter([PermissionError(13, "locked")])

    def replace(src: str, dst: str) -> None:
        error = next(failures, None)
        if error is not None:
            raise error
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", replace)
    monkeypatch.setattr(atomic.time, "sleep", lambda _s: None)
    atomic_write_bytes(target, b"data")
    assert target.read_bytes() == b"data"
    assert os.listdir(tmp_path) == ["results.csv"]
