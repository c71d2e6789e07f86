"""Write the results spreadsheet: the input, unchanged, plus one result per row.

The file is rewritten as a whole and swapped in atomically, so a crash or Ctrl+C
never leaves a truncated results file. Users often open it in Excel while a run is
going; on Windows that blocks the swap, which we log and ride out: every result is
also in the run state database, and the next flush tries again.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from datetime import datetime
from pathlib import Path

from coupadl.errors import InvalidPONumber
from coupadl.files.atomic import atomic_write_bytes
from coupadl.models import POResult
from coupadl.spreadsheet.reader import RunPlan
from coupadl.spreadsheet.table import RESULT_COLUMNS, InputTable

log = logging.getLogger(__name__)

__all__ = ["INVALID_STATUS", "RESULT_COLUMNS", "ResultsWriter", "neutralize"]

INVALID_STATUS = "INVALID_PO_NUMBER"
ATTACHMENT_SEPARATOR = "; "
# Leading characters that make Excel (and LibreOffice, Sheets) read a cell as a formula.
# Tab and CR are in the OWASP list too: some importers strip them and see the next char.
_FORMULA_LEADERS = ("=", "+", "-", "@", "\t", "\r")
# Keep the flush from eating the run: wait at least this many times the last write.
_WRITE_COST_FACTOR = 5.0


def neutralize(text: str) -> str:
    """Text from Coupa made safe to put in a spreadsheet cell (no formula injection)."""
    return "'" + text if text.startswith(_FORMULA_LEADERS) else text


def _iso_local(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).isoformat(timespec="seconds") if timestamp else ""


def _result_cells(result: POResult) -> dict[str, object]:
    """The result columns of one PO, keyed by canonical result column name."""
    error = f"{result.error_code}: {result.message}" if result.error_code else ""
    return {
        "STATUS": result.status.value,
        "SUPPLIER": neutralize(result.supplier),
        "ATTACHMENTS_FOUND": result.attachments_found,
        "ATTACHMENTS_DOWNLOADED": result.attachments_downloaded,
        "AttachmentName": neutralize(ATTACHMENT_SEPARATOR.join(f.name for f in result.files)),
        "LAST_PROCESSED": _iso_local(result.finished_at),
        "ERROR_MESSAGE": neutralize(error),
        "DOWNLOAD_FOLDER": neutralize(str(result.folder) if result.folder else ""),
        "COUPA_URL": neutralize(result.url),
        # --refresh: what the last refresh added, and when it read the PO.
        "NEW_FILES": neutralize(ATTACHMENT_SEPARATOR.join(f.name for f in result.new_files)),
        "LAST_REFRESHED": _iso_local(result.last_refreshed),
    }


class ResultsWriter:
    """Keeps the result rows in memory and rewrites ``results.csv``/``results.xlsx``.

    Rows of ``plan.invalid`` are marked INVALID_PO_NUMBER straight away, so the file
    is complete even if no PO is ever processed.
    """

    def __init__(
        self, table: InputTable, plan: RunPlan, out_dir: Path, flush_seconds: float = 1.0
    ) -> None:
        self.table = table
        self.plan = plan
        self.flush_seconds = flush_seconds
        self.path = Path(out_dir) / ("results.csv" if table.kind == "csv" else "results.xlsx")
        # Result columns the input already has are filled in place (a re-run on a
        # results file); the others are appended in RESULT_COLUMNS order.
        existing = {c.strip().casefold(): c for c in table.columns}
        self._column_of = {name: existing.get(name.casefold(), name) for name in RESULT_COLUMNS}
        self.columns = table.columns + [
            c for name, c in self._column_of.items() if name.casefold() not in existing
        ]
        # Copies: the table stays as read, and re-runs always start from the input.
        self._rows = [dict(row) for row in table.rows]
        self._lock = threading.Lock()
        self._last_write: float | None = None  # monotonic time of the last attempt
        self._write_cost = 0.0  # seconds the last write took
        self._blocked = False  # the last write failed; logged once per streak
        for row in plan.invalid:
            self.mark_invalid(row.row_index, row.message)

    # --- filling rows -------------------------------------------------------------

    def _set(self, row_index: int, cells: dict[str, object]) -> None:
        row = self._rows[row_index]
        for name, value in cells.items():
            row[self._column_of[name]] = value

    def update(self, result: POResult) -> None:
        """Fill every row of ``result``'s PO; rewrite the file when it is due."""
        indexes = self.plan.rows_by_po.get(result.po_number)
        if not indexes:
            log.warning("Result for PO %s matches no input row; not written", result.po_number)
            return
        cells = _result_cells(result)
        with self._lock:
            for index in indexes:
                self._set(index, cells)
            if self._due():
                self._write()

    def mark_invalid(self, row_index: int, message: str) -> None:
        """Mark one row INVALID_PO_NUMBER with ``E_INVALID_PO: <message>``."""
        error = f"{InvalidPONumber.code}: {message}"
        cells: dict[str, object] = dict.fromkeys(RESULT_COLUMNS, "")
        cells.update({"STATUS": INVALID_STATUS, "ERROR_MESSAGE": neutralize(error)})
        with self._lock:
            self._set(row_index, cells)

    def _due(self) -> bool:
        if self._last_write is None:
            return True  # the first result shows up in the file at once
        wait = max(self.flush_seconds, self._write_cost * _WRITE_COST_FACTOR)
        return time.monotonic() - self._last_write >= wait

    # --- writing ------------------------------------------------------------------

    def flush(self) -> bool:
        """Write the file now. True when it was written, False when it stayed locked."""
        with self._lock:
            return self._write()

    def _write(self) -> bool:
        start = time.monotonic()
        data = self._render()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path, data)
        except PermissionError as exc:
            self._on_blocked(exc)
            return False
        finally:
            self._last_write = time.monotonic()
            self._write_cost = self._last_write - start
        if self._blocked:
            log.info("Results file %s is written again", self.path)
        self._blocked = False
        return True

    def _on_blocked(self, exc: PermissionError) -> None:
        # Never fatal: the state database has every result, and the next flush retries.
        level = logging.DEBUG if self._blocked else logging.WARNING
        log.log(
            level,
            "Cannot replace %s (%s). Is it open in Excel? Close it; results are kept "
            "and written at the next update.",
            self.path, exc.strerror or exc,
        )  # fmt: skip
        self._blocked = True

    def _render(self) -> bytes:
        if self.table.kind == "csv":
            return _render_csv(self.columns, self._rows, self.table.delimiter or ",")
        return _render_xlsx(self.columns, self._rows, self.table.sheet_name or "Results")


def _csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _render_csv(columns: list[str], rows: list[dict[str, object]], delimiter: str) -> bytes:
    import csv

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_csv_value(row.get(c)) for c in columns])
    # UTF-8 with a BOM: without it Excel reads the file in the ANSI code page.
    return buffer.getvalue().encode("utf-8-sig")


def _render_xlsx(columns: list[str], rows: list[dict[str, object]], sheet_name: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)

    def cell(value: object) -> object:
        if not isinstance(value, str):
            return value
        # Control characters are invalid in the XML of a workbook; drop them.
        text = ILLEGAL_CHARACTERS_RE.sub("", value)
        if not text.startswith("="):
            return text
        # openpyxl turns any string starting with "=" into a formula; an input cell
        # that was text must stay text.
        literal = WriteOnlyCell(sheet, value=text)
        literal.data_type = "s"
        return literal

    sheet.append([cell(c) for c in columns])
    for row in rows:
        sheet.append([cell(row.get(c)) for c in columns])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
