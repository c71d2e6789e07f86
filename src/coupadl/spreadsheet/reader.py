"""Read the input spreadsheet (CSV or Excel) and plan one task per distinct PO.

Users hand us whatever Excel or another tool exported: UTF-8 with or without a BOM,
Windows-1252, ``;`` (European Excel) or ``,`` separators, a workbook whose data sits
on a ``PO_Data`` sheet, formulas, trailing empty columns. Everything the reader does
not need is carried over untouched so the results file looks like the input.

Excel formulas: the workbook is read with ``data_only=True``, which returns the value
Excel cached when it last calculated and saved the file. A formula written by a
program and never opened in Excel has no cached value, so its cell reads as ``None``
(and a PO_NUMBER cell like that is reported as invalid, not guessed at).
"""

from __future__ import annotations

import csv
import io
import logging
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal

from coupadl.errors import InputFileError, InvalidPONumber
from coupadl.models import POTask

log = logging.getLogger(__name__)

PO_COLUMN = "PO_NUMBER"
STATUS_COLUMN = "STATUS"
LEVEL_MARKER = "<|>"
PREFERRED_SHEET = "PO_Data"
CSV_EXTENSIONS = frozenset({".csv"})
EXCEL_EXTENSIONS = frozenset({".xlsx", ".xlsm"})
# A re-run on a results file skips the rows that already ended like this.
SKIP_STATUSES = frozenset({"COMPLETED"})
# The result columns the writer appends (or fills in place on a re-run). Defined here,
# not in the writer, because the reader must never take them for folder levels.
RESULT_COLUMNS = [
    "STATUS", "SUPPLIER", "ATTACHMENTS_FOUND", "ATTACHMENTS_DOWNLOADED", "AttachmentName",
    "LAST_PROCESSED", "ERROR_MESSAGE", "DOWNLOAD_FOLDER", "COUPA_URL",
]  # fmt: skip
_RESULT_COLUMN_KEYS = frozenset(c.casefold() for c in RESULT_COLUMNS)

Kind = Literal["csv", "xlsx"]


@dataclass
class InputTable:
    """The input as read: original headers in order and one dict per non-blank row."""

    path: Path
    kind: Kind
    columns: list[str]
    rows: list[dict[str, object]]
    po_column: str
    level_columns: list[str] = field(default_factory=list)
    encoding: str | None = None  # CSV only: "utf-8-sig", "utf-8", "cp1252" or "latin-1"
    delimiter: str | None = None  # CSV only
    sheet_name: str | None = None  # Excel only
    # Excel only: PO_NUMBER cells ("B7") holding a formula with no calculated value.
    uncalculated_formulas: list[str] = field(default_factory=list)


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


# --- cells ----------------------------------------------------------------------------


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def cell_text(value: object) -> str:
    """A cell as the text a user sees: 2024.0 -> "2024", a midnight datetime -> a date."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value).strip()


# --- headers --------------------------------------------------------------------------


def _unique_headers(raw: Sequence[object]) -> list[str]:
    """Header texts as keys: blank ones get a name, repeated ones a suffix.

    Rows are dicts keyed by header, so two columns may not share a name; renaming is
    better than silently losing one of them.
    """
    headers: list[str] = []
    seen: set[str] = set()
    for index, value in enumerate(raw, start=1):
        text = "" if value is None else str(value)
        name = text if text.strip() else f"Column{index}"
        candidate, n = name, 1
        while candidate.casefold() in seen:
            n += 1
            candidate = f"{name} ({n})"
        if candidate != text:
            log.warning("Input column %d header %r is read as %r", index, text, candidate)
        seen.add(candidate.casefold())
        headers.append(candidate)
    return headers


def _find_po_column(columns: Sequence[str], path: Path) -> str:
    for column in columns:
        if column.strip().casefold() == PO_COLUMN.casefold():
            return column
    # Bounded, so a binary file renamed to .csv does not produce a screenful of noise.
    shown = [repr(c if len(c) <= 40 else c[:40] + "…") for c in columns[:30]]
    found = ", ".join(shown) + (", …" if len(columns) > 30 else "") if shown else "none"
    raise InputFileError(
        f"{path.name} has no {PO_COLUMN} column. Columns found: {found}. "
        f"Add a column headed {PO_COLUMN} with one PO number per row."
    )


def _level_columns(columns: Sequence[str], po_column: str) -> list[str]:
    marker = next((i for i, c in enumerate(columns) if c.strip() == LEVEL_MARKER), None)
    if marker is None:
        return []
    return [
        c
        for c in columns[marker + 1 :]
        if c != po_column and c.strip().casefold() not in _RESULT_COLUMN_KEYS
    ]


def _trim_trailing_empty_columns(header: list[object], rows: list[list[object]]) -> int:
    """How many columns to keep: drops trailing columns with no header and no data.

    Excel and many exporters pad rows with empty cells (a formatted column, a
    trailing separator); they carry nothing and would otherwise become "ColumnN".
    """
    width = len(header)
    while width and is_blank(header[width - 1]):
        if any(len(r) >= width and not is_blank(r[width - 1]) for r in rows):
            break
        width -= 1
    return width


def _build_table_rows(
    header: list[object], data: list[list[object]], path: Path
) -> tuple[list[str], list[dict[str, object]]]:
    width = _trim_trailing_empty_columns(header, data)
    columns = _unique_headers(header[:width])
    rows: list[dict[str, object]] = []
    dropped_cells = 0
    for raw in data:
        cells = list(raw[:width]) + [None] * (width - len(raw))
        dropped_cells += sum(not is_blank(v) for v in raw[width:])
        if all(is_blank(v) for v in cells):
            continue  # blank rows are separators or leftovers, not POs
        rows.append(dict(zip(columns, cells, strict=True)))
    if dropped_cells:
        log.warning("%s: %d cells beyond the last column were ignored", path.name, dropped_cells)
    return columns, rows


# --- CSV ------------------------------------------------------------------------------


def _table(
    path: Path,
    kind: Kind,
    records: list[list[object]],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet_name: str | None = None,
) -> InputTable:
    """The table from raw records, header first."""
    columns, rows = _build_table_rows(records[0], records[1:], path)
    po_column = _find_po_column(columns, path)
    return InputTable(
        path=path,
        kind=kind,
        columns=columns,
        rows=rows,
        po_column=po_column,
        level_columns=_level_columns(columns, po_column),
        encoding=encoding,
        delimiter=delimiter,
        sheet_name=sheet_name,
    )


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
    return _table(path, "csv", records, encoding=encoding, delimiter=delimiter)


# --- Excel ----------------------------------------------------------------------------


def _pick_sheet(names: Sequence[str]) -> str:
    if PREFERRED_SHEET in names:
        return PREFERRED_SHEET
    wanted = PREFERRED_SHEET.casefold()
    return next((n for n in names if n.strip().casefold() == wanted), names[0])


def _read_excel_rows(path: Path) -> tuple[str, list[list[object]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except PermissionError as exc:
        raise InputFileError(_locked_message(path)) from exc
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise InputFileError(
            f"{path.name} is not a readable Excel workbook ({exc}). "
            "Save it again from Excel as .xlsx, or export it as CSV."
        ) from exc
    try:
        sheet_name = _pick_sheet(workbook.sheetnames)
        rows: list[list[object]] = [
            list(r) for r in workbook[sheet_name].iter_rows(values_only=True)
        ]
    finally:
        workbook.close()  # read-only mode keeps the file open until closed
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
    table = _table(path, "xlsx", records, sheet_name=sheet_name)
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


def _normalize(raw: object) -> str:
    # Imported here so the reader does not pin the import order of coupadl.coupa.
    from coupadl.coupa.po_numbers import normalize_po_number

    return normalize_po_number(raw)


def _empty_message(table: InputTable) -> str:
    if table.uncalculated_formulas:
        return (
            "The PO_NUMBER cell is empty, or holds a formula that was never calculated: "
            "open the file in Excel, save it, and run again."
        )
    return "The PO_NUMBER cell is empty."


def plan_rows(table: InputTable) -> RunPlan:
    """One task per distinct valid PO, in input order; invalid rows are listed, not fatal."""
    status_column = _status_column(table.columns)
    tasks: dict[str, POTask] = {}
    rows_by_po: dict[str, list[int]] = {}
    invalid: list[InvalidRow] = []
    skipped: dict[str, None] = {}  # a dict keeps first-seen order without duplicates
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
            po = _normalize(raw)
        except InvalidPONumber as exc:
            invalid.append(InvalidRow(index, raw, exc.message))
            continue
        if status_column and cell_text(row.get(status_column)).upper() in SKIP_STATUSES:
            skipped.setdefault(po, None)  # carried over unchanged: no task, no row update
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
        skipped_completed=[po for po in skipped if po not in tasks],
    )
