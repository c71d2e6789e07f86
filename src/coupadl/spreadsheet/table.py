"""The input as a table: its columns, its non-blank rows, and the cells a run looks at.

Whatever the file format, the reader hands raw records (header first) to
:func:`build_table`: headers become unique keys, trailing empty columns and blank rows
go, and the ``PO_NUMBER`` column and the folder-level columns after the ``<|>`` marker
are found. Everything else is carried over untouched so the results file looks like
the input.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Literal

from coupadl.errors import InputFileError

log = logging.getLogger(__name__)

PO_COLUMN = "PO_NUMBER"
LEVEL_MARKER = "<|>"
# The result columns the writer appends (or fills in place on a re-run). Defined here,
# not in the writer, because the reader must never take them for folder levels.
RESULT_COLUMNS = [
    "STATUS", "SUPPLIER", "ATTACHMENTS_FOUND", "ATTACHMENTS_DOWNLOADED", "AttachmentName",
    "LAST_PROCESSED", "ERROR_MESSAGE", "DOWNLOAD_FOLDER", "COUPA_URL", "NEW_FILES",
    "LAST_REFRESHED",
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
    # How far below the header row each row sits in the file (blank rows are dropped,
    # so the results workbook needs this to put each result on its own worksheet row).
    row_offsets: list[int] = field(default_factory=list)


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
) -> tuple[list[str], list[dict[str, object]], list[int]]:
    width = _trim_trailing_empty_columns(header, data)
    columns = _unique_headers(header[:width])
    rows: list[dict[str, object]] = []
    offsets: list[int] = []
    dropped_cells = 0
    for offset, raw in enumerate(data, start=1):
        cells = list(raw[:width]) + [None] * (width - len(raw))
        dropped_cells += sum(not is_blank(v) for v in raw[width:])
        if all(is_blank(v) for v in cells):
            continue  # blank rows are separators or leftovers, not POs
        rows.append(dict(zip(columns, cells, strict=True)))
        offsets.append(offset)
    if dropped_cells:
        log.warning("%s: %d cells beyond the last column were ignored", path.name, dropped_cells)
    return columns, rows, offsets


# --- the table ------------------------------------------------------------------------


def build_table(
    path: Path,
    kind: Kind,
    records: list[list[object]],
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet_name: str | None = None,
) -> InputTable:
    """The table from raw records, header first."""
    columns, rows, offsets = _build_table_rows(records[0], records[1:], path)
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
        row_offsets=offsets,
    )
