"""Hostile and broken input spreadsheets: each gives a clear message and a documented exit
code, through the reader and through the ``coupadl run`` command (no browser needed: the
run stops before any browser starts, or has no valid PO to fetch)."""

from __future__ import annotations

import builtins
import csv
import io
import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from coupadl.cli.app import app
from coupadl.errors import ExitCode, InputFileError
from coupadl.spreadsheet.reader import plan_rows, read_input
from helpers import cache_formula_values

BASE = ["--base-url", "http://127.0.0.1:9"]  # never contacted: no valid PO reaches a browser


def write_xlsx(path: Path, rows: list[list[object]], sheet: str = "PO_Data") -> Path:
    book = Workbook()
    book.active.title = sheet
    for row in rows:
        book.active.append(row)
    book.save(path)
    return path


def locked(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    """Make opening ``path`` fail the way Windows does while Excel has the file open.

    Root on Linux ignores permission bits, so the sharing violation is faked at open().
    """
    real_open = io.open
    target = str(path)

    def fake_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file) == target:
            raise PermissionError(13, "The process cannot access the file", target)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(builtins, "open", fake_open)


@pytest.fixture(autouse=True)
def _restore_logging() -> Any:
    """The CLI points the root logger at its (captured, then closed) stderr: undo that."""
    root = logging.getLogger()
    package = logging.getLogger("coupadl")
    saved = (root.handlers[:], root.level, package.level)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    package.setLevel(saved[2])


def run_cli(*args: str) -> Any:
    result = CliRunner().invoke(app, ["run", *args])
    assert "Traceback" not in result.output, result.output
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), repr(result.exception)
    return result


def results_rows(path: Path) -> list[dict[str, str]]:
    """The results CSV (written with the input's delimiter)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
        handle.seek(0)
        delimiter = ";" if header.count(";") > header.count(",") else ","
        return list(csv.DictReader(handle, delimiter=delimiter))


# --- files that cannot be used: exit 2 with the reason ------------------------------------

Maker = Callable[[Path, pytest.MonkeyPatch], Path]


def _empty(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    (tmp / "in.csv").write_bytes(b"")
    return tmp / "in.csv"


def _blank_lines(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    (tmp / "in.csv").write_text("\n \n;;\n", encoding="utf-8")
    return tmp / "in.csv"


def _empty_xlsx(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    return write_xlsx(tmp / "in.xlsx", [])


def _no_po_column(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    (tmp / "in.csv").write_text("Order;Supplier;Amount\n1;x;2\n", encoding="utf-8")
    return tmp / "in.csv"


def _binary_as_csv(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    (tmp / "in.csv").write_bytes(bytes(range(256)) * 40)
    return tmp / "in.csv"


def _locked_csv(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    (tmp / "in.csv").write_text("PO_NUMBER\nPO1\n", encoding="utf-8")
    locked(mp, tmp / "in.csv")
    return tmp / "in.csv"


def _locked_xlsx(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    path = write_xlsx(tmp / "in.xlsx", [["PO_NUMBER"], ["PO1"]])
    locked(mp, path)
    return path


def _missing(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    return tmp / "no-such-file.xlsx"


def _directory(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    (tmp / "in.csv").mkdir()
    return tmp / "in.csv"


def _old_excel(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    (tmp / "in.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)
    return tmp / "in.xls"


def _corrupt_xlsx(tmp: Path, mp: pytest.MonkeyPatch) -> Path:
    (tmp / "in.xlsx").write_bytes(b"PK\x03\x04 not really a zip")
    return tmp / "in.xlsx"


UNUSABLE: list[tuple[str, Maker, list[str]]] = [
    ("empty file", _empty, ["in.csv is empty", "PO_NUMBER"]),
    ("only blank lines", _blank_lines, ["in.csv is empty"]),
    ("empty workbook", _empty_xlsx, ["in.xlsx (sheet 'PO_Data') is empty"]),
    ("no PO_NUMBER column", _no_po_column,
     ["no PO_NUMBER column", "Columns found: 'Order', 'Supplier', 'Amount'"]),
    ("binary file named .csv", _binary_as_csv, ["no PO_NUMBER column", "Latin-1"]),
    ("CSV open in Excel (locked)", _locked_csv, ["permission denied", "close it in Excel"]),
    ("XLSX open in Excel (locked)", _locked_xlsx, ["permission denied", "close it in Excel"]),
    ("path does not exist", _missing, ["Input file not found", "no-such-file.xlsx"]),
    ("a folder instead of a file", _directory, ["is a folder, not a file"]),
    (".xls (old Excel)", _old_excel, ["Unsupported input file type '.xls'", "as .xlsx"]),
    ("damaged .xlsx", _corrupt_xlsx, ["not a readable Excel workbook"]),
]  # fmt: skip


@pytest.mark.parametrize(("case", "make", "fragments"), UNUSABLE, ids=[c[0] for c in UNUSABLE])
def test_unusable_input_is_exit_2_with_a_clear_message(
    case: str,
    make: Maker,
    fragments: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = make(tmp_path, monkeypatch)
    with pytest.raises(InputFileError) as info:
        read_input(path)
    assert info.value.code == "E_INPUT"
    assert info.value.exit_code == ExitCode.USAGE

    result = run_cli(str(path), *BASE, "--out", str(tmp_path / "out"))

    assert result.exit_code == ExitCode.USAGE, result.output
    flat = " ".join(result.output.split())  # rich wraps long lines
    assert "[E_INPUT]" in flat
    for fragment in fragments:
        assert fragment in flat, (fragment, result.output)
    assert len(result.output) < 1500  # a message, not a dump
    assert not (tmp_path / "out").exists()  # nothing written for an unusable input


def test_po_column_list_is_bounded_for_wide_files(tmp_path: Path) -> None:
    header = ";".join(f"Column number {i} with a long header" + "x" * 50 for i in range(200))
    (tmp_path / "in.csv").write_text(header + "\n", encoding="utf-8")
    with pytest.raises(InputFileError) as info:
        read_input(tmp_path / "in.csv")
    assert len(info.value.message) < 2000
    assert info.value.message.count("'Column number") == 30


# --- files that run, row by row -----------------------------------------------------------


def test_header_only_runs_nothing_and_says_so(tmp_path: Path) -> None:
    (tmp_path / "in.csv").write_text("PO_NUMBER;Note\n", encoding="utf-8")
    result = run_cli(str(tmp_path / "in.csv"), *BASE, "--out", str(tmp_path / "out"))
    assert result.exit_code == ExitCode.OK, result.output
    assert "no data rows" in result.output
    assert results_rows(tmp_path / "out" / "results.csv") == []


def test_invalid_blank_and_duplicate_rows_reported_per_row(tmp_path: Path) -> None:
    text = (
        "PO_NUMBER;Note\n"
        "abc;letters\n"
        "\n"
        ";empty cell\n"
        ";;\n"
        "PO-;prefix only\n"
        "PO0000;all zeros\n"
        "PO123456789012345678901;too long\n"
        "12.5;decimal\n"
        '=HYPERLINK("http://x");formula text\n'
        "abc;duplicate invalid\n"
    )
    (tmp_path / "in.csv").write_text(text, encoding="utf-8")

    result = run_cli(str(tmp_path / "in.csv"), *BASE, "--out", str(tmp_path / "out"))

    assert result.exit_code == ExitCode.OK, result.output
    assert "invalid PO numbers" in result.output
    rows = results_rows(tmp_path / "out" / "results.csv")
    assert [r["Note"] for r in rows] == [
        "letters",
        "empty cell",
        "prefix only",
        "all zeros",
        "too long",
        "decimal",
        "formula text",
        "duplicate invalid",
    ]  # fmt: skip  (blank rows are dropped)
    assert {r["STATUS"] for r in rows} == {"INVALID_PO_NUMBER"}
    for row in rows:
        assert row["ERROR_MESSAGE"].startswith("E_INVALID_PO: "), row
    # The user's own cell goes back as typed; the message we add never starts a formula.
    assert rows[6]["PO_NUMBER"] == '=HYPERLINK("http://x")'
    assert not rows[6]["ERROR_MESSAGE"].startswith(("=", "+", "-", "@"))
    assert "empty" in rows[1]["ERROR_MESSAGE"]
    assert "zeros" in rows[3]["ERROR_MESSAGE"]
    assert "digits" in rows[4]["ERROR_MESSAGE"]


def test_duplicate_pos_are_one_task_for_every_row(tmp_path: Path) -> None:
    text = "PO_NUMBER\nPO16928033\n16928033\n pm16928033 \nPO16928033.0\n\nPO555\nPO555\n"
    (tmp_path / "in.csv").write_text(text, encoding="utf-8")
    plan = plan_rows(read_input(tmp_path / "in.csv"))
    assert [t.po_number for t in plan.tasks] == ["16928033", "555"]
    assert plan.rows_by_po == {"16928033": [0, 1, 2, 3], "555": [4, 5]}
    assert plan.invalid == []


# --- encodings ----------------------------------------------------------------------------


def test_latin1_csv_is_read_as_windows_1252_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "PO_NUMBER;Supplier\nPO1;Müller Größe Ærø Façade\n"
    (tmp_path / "in.csv").write_bytes(text.encode("latin-1"))
    with caplog.at_level(logging.INFO, logger="coupadl.spreadsheet.reader"):
        table = read_input(tmp_path / "in.csv")
    assert table.encoding == "cp1252"
    assert table.rows[0]["Supplier"] == "Müller Größe Ærø Façade"
    assert any("not UTF-8" in r.getMessage() for r in caplog.records)


def test_bytes_undefined_in_windows_1252_fall_back_to_latin1(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # 0x81 and 0x9d have no cp1252 character; Latin-1 keeps them (as C1 controls).
    data = b"PO_NUMBER;Note\nPO1;caf\xe9 \x81\x9d\n"
    (tmp_path / "in.csv").write_bytes(data)
    with caplog.at_level(logging.INFO, logger="coupadl.spreadsheet.reader"):
        table = read_input(tmp_path / "in.csv")
    assert table.encoding == "latin-1"
    assert table.rows[0]["Note"] == "café \x81\x9d"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert any("Latin-1" in r.getMessage() for r in warnings)


def test_utf16_excel_unicode_text_is_not_silently_misread(tmp_path: Path) -> None:
    # "Unicode Text" from Excel is UTF-16 with tabs: not a CSV we read; the message says
    # which columns were seen instead of inventing PO numbers.
    (tmp_path / "in.csv").write_bytes("PO_NUMBER\tNote\r\nPO1\tx\r\n".encode("utf-16"))
    with pytest.raises(InputFileError, match="no PO_NUMBER column"):
        read_input(tmp_path / "in.csv")


# --- Excel cells: formulas and dates ------------------------------------------------------


def test_formulas_with_cached_values_are_read_as_their_values(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "in.xlsx",
        [["PO_NUMBER", "Total"], ['=CONCAT("PO","16928033")', "=1+1"]],
    )
    cache_formula_values(path, {"A2": "PO16928033", "B2": "2"})
    table = read_input(path)
    assert table.rows == [{"PO_NUMBER": "PO16928033", "Total": "2"}]
    assert table.uncalculated_formulas == []
    assert [t.po_number for t in plan_rows(table).tasks] == ["16928033"]


def test_formulas_never_calculated_are_named_in_the_message(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_xlsx(
        tmp_path / "in.xlsx",
        [
            [None, None],
            ["Note", "PO_NUMBER"],
            ["calculated", '=CONCAT("PO","5")'],
            ["plain", "PO6"],
            ["not calculated", '=CONCAT("PO","7")'],
        ],
    )
    cache_formula_values(path, {"B3": "PO5"})
    with caplog.at_level(logging.WARNING, logger="coupadl.spreadsheet.reader"):
        table = read_input(path)
    assert table.uncalculated_formulas == ["B5"]
    assert any("B5" in r.getMessage() and "never calculated" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    plan = plan_rows(table)
    assert [t.po_number for t in plan.tasks] == ["5", "6"]
    assert [i.row_index for i in plan.invalid] == [2]
    assert "never calculated" in plan.invalid[0].message


def test_date_cells(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "in.xlsx",
        [
            ["PO_NUMBER", "Ordered", "<|>", "Month"],
            ["PO16928033", datetime(2025, 3, 14, 9, 30), None, date(2025, 3, 1)],
            [datetime(2025, 3, 14), "a date where the PO should be", None, None],
        ],
    )
    table = read_input(path)
    assert table.rows[0]["Ordered"] == datetime(2025, 3, 14, 9, 30)  # kept as a date
    plan = plan_rows(table)
    assert plan.tasks[0].folder_levels == ("2025-03-01",)  # a date level reads as ISO
    assert [i.row_index for i in plan.invalid] == [1]
    assert "holds a date (2025-03-14)" in plan.invalid[0].message


def test_excel_cli_reports_uncalculated_formula_rows(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "in.xlsx", [["PO_NUMBER", "Note"], ['="PO"&"7"', "x"]])
    result = run_cli(str(path), *BASE, "--out", str(tmp_path / "out"))
    assert result.exit_code == ExitCode.OK, result.output
    flat = " ".join(result.output.split())
    assert "never calculated" in flat and "A2" in flat
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "out" / "results.xlsx").active
    header = [c.value for c in sheet[1]]
    row = [c.value for c in sheet[2]]
    assert row[header.index("STATUS")] == "INVALID_PO_NUMBER"
    assert "never calculated" in row[header.index("ERROR_MESSAGE")]


# --- scale ----------------------------------------------------------------------------------


def test_100000_rows_parse_correctly(tmp_path: Path) -> None:
    n = 100_000
    lines = ["PO_NUMBER;Supplier;Amount"]
    for i in range(n):
        po = f"PO{10_000_000 + i % 60_000}" if i % 1000 else "not a PO"
        lines.append(f"{po};Supplier {i % 97};{i},50")
    (tmp_path / "in.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    table = read_input(tmp_path / "in.csv")
    plan = plan_rows(table)

    assert len(table.rows) == n
    assert table.rows[12_345] == {"PO_NUMBER": "PO10012345", "Supplier": "Supplier 26",
                                  "Amount": "12345,50"}  # fmt: skip
    assert len(plan.invalid) == n // 1000
    # Repeats of a PO are one task (the 60 numbers only rows i % 1000 == 0 had are absent).
    assert len(plan.tasks) == 60_000 - 60
    assert sum(len(rows) for rows in plan.rows_by_po.values()) == n - n // 1000
    assert plan.tasks[0].po_number == "10000001"
