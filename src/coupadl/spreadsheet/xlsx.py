"""The cells of one worksheet of an .xlsx/.xlsm package, read with calamine (Rust).

openpyxl needs about a minute for 100,000 rows; calamine a second or two. The values
handed back are the ones openpyxl's ``load_workbook(read_only=True, data_only=True)``
gives, so the rest of the reader (and every results file) sees no difference:

* empty cells and formulas without a cached value: ``None`` (calamine: ``""``);
* whole numbers: ``int`` (openpyxl casts ``<v>3</v>`` to 3; calamine gives 3.0);
* date-formatted serials: ``datetime`` even at midnight (calamine: a ``date``);
* error cells (``#N/A``) and ISO date cells (``t="d"``): calamine loses or changes
  them, so when the sheet holds any, those cells are read from the XML itself.

Known differences, all rare: an empty shared string reads as ``None`` (openpyxl: ``""``),
a whitespace-only inline string as ``None``, ``_x000D_`` in a string as the carriage
return it stands for, and a negative date serial as midnight.
"""

from __future__ import annotations

import io
import logging
import posixpath
import re
import zipfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import cast
from xml.etree import ElementTree

from python_calamine import CalamineError, CalamineWorkbook

log = logging.getLogger(__name__)

_CONTENT_TYPES = "[Content_Types].xml"
_WORKBOOK_TYPES = frozenset(
    f"application/vnd.{kind}.main+xml"
    for kind in (
        "openxmlformats-officedocument.spreadsheetml.sheet",
        "ms-excel.sheet.macroEnabled",
        "openxmlformats-officedocument.spreadsheetml.template",
        "ms-excel.template.macroEnabled",
    )
)
# Above this, openpyxl and Excel write whole numbers with an exponent, and openpyxl
# reads those back as floats.
_INT_LIMIT = 1e16
# A cell of type error or ISO date somewhere in the sheet XML: a cheap pre-filter
# (plain byte search; a regular expression takes a second on 100,000 rows).
_SPECIAL_TYPES = (b't="e"', b't="d"', b"t='e'", b"t='d'")
_CELL_REF = re.compile(r"([A-Z]+)(\d+)")


class NotAWorkbook(Exception):
    """A zip that holds no spreadsheet openpyxl could open (an .ods, an .xlsb renamed)."""


# Everything a damaged package raises while being read.
BROKEN = (
    NotAWorkbook, zipfile.BadZipFile, KeyError, ValueError, EOFError, zlib.error,
    ElementTree.ParseError, CalamineError,
)  # fmt: skip


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _attribute(element: ElementTree.Element, name: str) -> str | None:
    """An attribute by local name: the relationship id sits in one of two namespaces."""
    return next((v for k, v in element.attrib.items() if _local(k) == name), None)


def _workbook_part(archive: zipfile.ZipFile) -> str:
    # archive.read raises KeyError for a missing part, as openpyxl's reading did.
    types = ElementTree.fromstring(archive.read(_CONTENT_TYPES))
    for override in types:
        if _local(override.tag) == "Override" and override.get("ContentType") in _WORKBOOK_TYPES:
            return override.get("PartName", "").lstrip("/")
    raise NotAWorkbook("File contains no valid workbook part")


def worksheets(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet name -> its part in the package, in workbook order (charts left out)."""
    workbook = _workbook_part(archive)
    folder, name = posixpath.split(workbook)
    rels = ElementTree.fromstring(archive.read(posixpath.join(folder, "_rels", name + ".rels")))
    targets = {
        r.get("Id"): r.get("Target", "") for r in rels if r.get("Type", "").endswith("/worksheet")
    }
    sheets: dict[str, str] = {}
    for sheet in ElementTree.fromstring(archive.read(workbook)).iter():
        target = targets.get(_attribute(sheet, "id")) if _local(sheet.tag) == "sheet" else None
        if target:
            absolute = target.startswith("/")
            part = target.lstrip("/") if absolute else posixpath.join(folder, target)
            sheets[sheet.get("name", "")] = posixpath.normpath(part)
    if not sheets:
        raise NotAWorkbook("the workbook has no worksheet")
    return sheets


def _as_openpyxl(row: list[object]) -> list[object]:
    """calamine's values turned into openpyxl's, in place (a loop, not a call per cell:
    this runs for every cell)."""
    for index, value in enumerate(row):
        if value.__class__ is str:
            if not value:
                row[index] = None
        elif isinstance(value, float):
            if value.is_integer() and abs(value) < _INT_LIMIT:
                row[index] = int(value)
        elif value.__class__ is date:
            row[index] = datetime.combine(value, time())
    return row


def _has_special_cells(archive: zipfile.ZipFile, part: str) -> bool:
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(1 << 20):
            window = tail + chunk
            if any(marker in window for marker in _SPECIAL_TYPES):
                return True
            tail = chunk[-16:]
    return False


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _special_cells(archive: zipfile.ZipFile, part: str) -> Iterator[tuple[int, int, object]]:
    """(row, column, value) of the error and ISO date cells, valued as openpyxl does:
    the error text as a string, the ISO text parsed by openpyxl's own function."""
    from openpyxl.utils.datetime import from_ISO8601

    row, column = -1, -1
    with archive.open(part) as stream:
        for event, element in ElementTree.iterparse(stream, events=("start", "end")):
            tag = _local(element.tag)
            if event == "start" and tag == "row":
                number = element.get("r")
                row, column = (int(number) - 1 if number else row + 1), -1
            elif event == "end" and tag == "c":
                ref = _CELL_REF.fullmatch(element.get("r", ""))
                column = _column_index(ref[1]) if ref else column + 1
                kind = element.get("t")
                if kind in ("e", "d"):
                    found = next((c for c in element if _local(c.tag) == "v"), None)
                    text = found.text if found is not None else None
                    value = from_ISO8601(text) if kind == "d" and text else text
                    yield row if not ref else int(ref[2]) - 1, column, value
            elif event == "end" and tag == "row":
                element.clear()  # keep memory flat on big sheets


def _patch(rows: list[list[object]], cells: Iterator[tuple[int, int, object]]) -> int:
    count = 0
    for row, column, value in cells:
        while len(rows) <= row:
            rows.append([])
        cells_of_row = rows[row]
        cells_of_row.extend([None] * (column + 1 - len(cells_of_row)))
        cells_of_row[column] = value
        count += 1
    return count


def sheet_rows(data: bytes, archive: zipfile.ZipFile, name: str, part: str) -> list[list[object]]:
    """The sheet's cached values from row 1 and column A on, as openpyxl would give them."""
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    try:
        # skip_empty_area=False: rows and columns keep their sheet positions (from A1),
        # which the uncalculated-formula check relies on.
        raw = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
    finally:
        workbook.close()
    rows = [_as_openpyxl(cast(list[object], r)) for r in raw]
    if _has_special_cells(archive, part):
        count = _patch(rows, _special_cells(archive, part))
        log.info("Sheet %r: %d error or ISO date cells read from the sheet XML", name, count)
    return rows
