"""Read the input spreadsheet (CSV or Excel) and plan one task per distinct PO.

Users hand us whatever Excel or another tool exported: UTF-8 with or without a BOM,
Windows-1252, ``;`` (European Excel) or ``,`` separators, a workbook whose data sits
on a ``PO_Data`` sheet, formulas, trailing empty columns. The records read become an
:class:`~coupadl.spreadsheet.table.InputTable` (headers, blank rows, the PO and
folder-level columns: see that module).

Excel: the sheet is read with calamine (:mod:`coupadl.spreadsheet.xlsx`), which gives
the value Excel cached when it last calculated and saved the file, as openpyxl's
``data_only=True`` did. A formula written by a program and never opened in Excel has
no cached value, so its cell reads as ``None`` (and a PO_NUMBER cell like that is
reported as invalid, not guessed at; openpyxl, in formula mode, tells which).
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from coupadl.errors import InputFileError, InvalidPONumber
from coupadl.models import POTask
from coupadl.spreadsheet import xlsx
from coupadl.spreadsheet.table import (
    PO_COLUMN,
    InputTable,
    build_table,
    cell_text,
    is_blank,
)

log = logging.getLogger(__name__)

STATUS_COLUMN = "STATUS"
PREFERRED_SHEET = "PO_Data"
CSV_EXTENSIONS = frozenset({".csv"})
EXCEL_EXTENSIONS = frozenset({".xlsx", ".xlsm"})
# A re-run on a results file skips the rows that already ended like this.
SKIP_STATUSES = frozenset({"COMPLETED"})


@dataclass(frozen=True)
class InvalidRow:
    """A row whose PO_NUMBER cell is not a PO number. Reported, never fatal."""

    row_index: int
    raw: object
    message: str


@dataclass
class RunPlan:
    """What a run has to do for one input table."""

    tasks: list[POTask]
    # Normalised PO number -> indexes into InputTable.rows that get its result.
    rows_by_po: dict[str, list[int]]
    invalid: list[InvalidRow]
    skipped_completed: list[str]


# --- CSV ------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise InputFileError(_locked_message(path)) from exc
    except OSError as exc:
        raise InputFileError(f"Cannot read {path}: {exc.strerror or exc}") from exc


def _locked_message(path: Path) -> str:
    return (
        f"Cannot open {path}: permission denied. If the file is open in Excel, "
        "close it in Excel and try again."
    )


def _decode(data: bytes, path: Path) -> tuple[str, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        # Excel's "CSV" (not "CSV UTF-8") on Western Windows writes the ANSI code page.
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        # Five bytes are undefined in cp1252; Latin-1 maps every byte, so nothing is lost.
        log.warning("%s is neither UTF-8 nor Windows-1252; reading it as Latin-1", path.name)
        return data.decode("latin-1"), "latin-1"
    log.info("%s is not UTF-8; reading it as Windows-1252 (cp1252)", path.name)
    return text, "cp1252"


def _detect_delimiter(header_line: str) -> str:
    # Counting in the header is enough: headers rarely contain quotes or separators,
    # and csv.Sniffer is easily fooled by decimal commas in the data rows.
    return ";" if header_line.count(";") > header_line.count(",") else ","


def _read_csv(path: Path) -> InputTable:
    text, encoding = _decode(_read_bytes(path), path)
    first = next((line for line in text.splitlines() if line.strip()), None)
    if first is None:
        raise InputFileError(f"{path.name} is empty: expected a header row with {PO_COLUMN}.")
    delimiter = _detect_delimiter(first)
    # newline="" lets the csv module see quoted line breaks inside a cell as data.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records: list[list[object]] = [list(r) for r in reader]
    except csv.Error as exc:
        raise InputFileError(f"{path.name} is not a readable CSV file: {exc}") from exc
    while records and all(is_blank(v) for v in records[0]):
        records.pop(0)  # leading blank lines before the header
    if not records:  # only separators, e.g. ";;" lines
        raise InputFileError(f"{path.name} is empty: expected a header row with {PO_COLUMN}.")
    return build_table(path, "csv", records, encoding=encoding, delimiter=delimiter)


# --- Excel ----------------------------------------------------------------------------


def _pick_sheet(names: Sequence[str]) -> str:
    if PREFERRED_SHEET in names:
        return PREFERRED_SHEET
    wanted = PREFERRED_SHEET.casefold()
    return next((n for n in names if n.strip().casefold() == wanted), names[0])


def _read_excel_rows(path: Path) -> tuple[str, list[list[object]]]:
    data = _read_bytes(path)  # a file open in Excel fails here, with the Excel hint
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            sheets = xlsx.worksheets(archive)
            sheet_name = _pick_sheet(list(sheets))
            rows = xlsx.sheet_rows(data, archive, sheet_name, sheets[sheet_name])
    except xlsx.BROKEN as exc:
        raise InputFileError(
            f"{path.name} is not a readable Excel workbook ({exc}). "
            "Save it again from Excel as .xlsx, or export it as CSV."
        ) from exc
    return sheet_name, rows


def _uncalculated_formulas(
    path: Path, sheet_name: str, column: int, first_row: int, records: list[list[object]]
) -> list[str]:
    """Cells of the PO column that read as empty because they hold a formula that was
    never calculated. Costs a second read of that column, so only when a data row has
    an empty PO cell."""
    suspects = [
        first_row + i
        for i, record in enumerate(records[1:], start=1)
        if (len(record) <= column or is_blank(record[column]))
        and not all(is_blank(v) for v in record)
    ]
    if not suspects:
        return []
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    workbook = load_workbook(path, read_only=True, data_only=False)
    try:
        sheet = workbook[sheet_name]
        texts = [r[0] for r in sheet.iter_rows(min_col=column + 1, max_col=column + 1,
                                               values_only=True)]  # fmt: skip
    finally:
        workbook.close()
    letter = get_column_letter(column + 1)
    return [
        f"{letter}{row + 1}"
        for row in suspects
        if row < len(texts) and isinstance(texts[row], str) and str(texts[row]).startswith("=")
    ]


def _read_xlsx(path: Path) -> InputTable:
    sheet_name, records = _read_excel_rows(path)
    first_row = next((i for i, r in enumerate(records) if not all(is_blank(v) for v in r)), 0)
    records = records[first_row:]
    if not records:
        raise InputFileError(
            f"{path.name} (sheet {sheet_name!r}) is empty: expected a header row with {PO_COLUMN}."
        )
    table = build_table(path, "xlsx", records, sheet_name=sheet_name)
    column = table.columns.index(table.po_column)
    table.uncalculated_formulas = _uncalculated_formulas(
        path, sheet_name, column, first_row, records
    )
    if table.uncalculated_formulas:
        cells = ", ".join(table.uncalculated_formulas[:10])
        log.warning(
            "%s: %d %s cells (%s%s) hold formulas that were never calculated (the file was "
            "written by a program, not saved by Excel) and read as empty: open the file in "
            "Excel, save it, and run again",
            path.name, len(table.uncalculated_formulas), PO_COLUMN, cells,
            ", …" if len(table.uncalculated_formulas) > 10 else "",
        )  # fmt: skip
    return table


# --- public API -----------------------------------------------------------------------


def read_input(path: Path) -> InputTable:
    """Read a CSV/XLSX/XLSM input file. Raises :class:`InputFileError` when unusable."""
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"Input file not found: {path}")
    if path.is_dir():
        raise InputFileError(f"Input path is a folder, not a file: {path}")
    suffix = path.suffix.lower()
    if suffix not in CSV_EXTENSIONS | EXCEL_EXTENSIONS:
        hint = " Save it from Excel as .xlsx first." if suffix == ".xls" else ""
        raise InputFileError(
            f"Unsupported input file type {suffix or '(none)'!r} for {path.name}: "
            f"use .csv, .xlsx or .xlsm.{hint}"
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputFileError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    if size == 0:
        raise InputFileError(f"{path.name} is empty: expected a header row with {PO_COLUMN}.")
    table = _read_csv(path) if suffix in CSV_EXTENSIONS else _read_xlsx(path)
    if not table.rows:
        log.warning("%s has a header row but no data rows: there is nothing to do", path.name)
    log.info(
        "Read %d rows from %s (PO column %r, %d folder level columns)",
        len(table.rows), path.name, table.po_column, len(table.level_columns),
    )  # fmt: skip
    return table


def _status_column(columns: Iterable[str]) -> str | None:
    return next((c for c in columns if c.strip().casefold() == STATUS_COLUMN.casefold()), None)


def _folder_levels(row: dict[str, object], level_columns: Sequence[str]) -> tuple[str, ...]:
    texts = (cell_text(row.get(c)) for c in level_columns)
    return tuple(t for t in texts if t)


def _empty_message(table: InputTable) -> str:
    if table.uncalculated_formulas:
        return (
            "The PO_NUMBER cell is empty, or holds a formula that was never calculated: "
            "open the file in Excel, save it, and run again."
        )
    return "The PO_NUMBER cell is empty."


def plan_rows(table: InputTable) -> RunPlan:
    """One task per distinct valid PO, in input order; invalid rows are listed, not fatal."""
    # Imported here so the reader does not pin the import order of coupadl.coupa.
    from coupadl.coupa.po_numbers import dedupe, normalize_po_number

    status_column = _status_column(table.columns)
    tasks: dict[str, POTask] = {}
    rows_by_po: dict[str, list[int]] = {}
    invalid: list[InvalidRow] = []
    skipped: list[str] = []
    for index, row in enumerate(table.rows):
        raw = row.get(table.po_column)
        if is_blank(raw):
            invalid.append(InvalidRow(index, raw, _empty_message(table)))
            continue
        if isinstance(raw, date | time):
            # Excel turned the number into a date (a date-formatted column).
            message = (
                f"The PO_NUMBER cell holds a date ({cell_text(raw)}), not a PO number: "
                "format the column as Text in Excel and type the number again."
            )
            invalid.append(InvalidRow(index, raw, message))
            continue
        try:
            po = normalize_po_number(raw)
        except InvalidPONumber as exc:
            invalid.append(InvalidRow(index, raw, exc.message))
            continue
        if status_column and cell_text(row.get(status_column)).upper() in SKIP_STATUSES:
            skipped.append(po)  # carried over unchanged: no task, no row update
            continue
        rows_by_po.setdefault(po, []).append(index)
        levels = _folder_levels(row, table.level_columns)
        if po not in tasks:
            tasks[po] = POTask(po_number=po, folder_levels=levels)
        elif levels != tasks[po].folder_levels:
            log.warning(
                "PO %s appears again in row %d with other folder levels; using %s",
                po, index + 1, "/".join(tasks[po].folder_levels) or "the supplier",
            )  # fmt: skip
    if invalid:
        log.warning("%d rows have no valid PO number", len(invalid))
    return RunPlan(
        tasks=list(tasks.values()),
        rows_by_po=rows_by_po,
        invalid=invalid,
        skipped_completed=[po for po in dedupe(skipped) if po not in tasks],
    )
