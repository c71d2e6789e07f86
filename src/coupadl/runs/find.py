"""``coupadl find`` as a library call: the POs the REST API lists for some filters,
written as a spreadsheet that ``coupadl run`` takes as it is.

The file has a ``PO_NUMBER`` column (text, never a number Excel could round) and the
PO's values from the API under names no run writes (``spreadsheet.table.RESULT_COLUMNS``),
so a run keeps them beside its results. Nothing is written when no PO matches, and an
existing file only with ``overwrite``; both are decided before the first request.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from coupadl.coupa.api.query import Filters, find_scopes
from coupadl.coupa.api.records import ApiPO
from coupadl.engine.api.listing import PageRead, list_pos
from coupadl.engine.api.runtime import acquire, release
from coupadl.errors import ConfigError, OutputError
from coupadl.files.atomic import atomic_write_bytes
from coupadl.settings import Settings
from coupadl.spreadsheet.reader import PREFERRED_SHEET
from coupadl.spreadsheet.table import PO_COLUMN
from coupadl.spreadsheet.writer import neutralize

log = logging.getLogger(__name__)

COLUMNS = [PO_COLUMN, "COUPA_SUPPLIER", "COUPA_CREATED_AT", "COUPA_STATUS", "COUPA_TOTAL"]
SUFFIXES = (".csv", ".xlsx")


@dataclass(frozen=True)
class FindOutcome:
    pos: list[ApiPO]
    out_path: Path | None  # None: no PO matched, nothing written
    pages: int = 0
    received: int = 0  # records the API answered, before the check against the filters
    dropped: dict[str, int] = field(default_factory=dict)  # filter -> records failing it


def _no_progress(page: PageRead) -> None:
    """The default ``on_page``: no progress shown."""


def check_output(out_path: Path, overwrite: bool) -> None:
    """ConfigError for a suffix coupadl cannot write, OutputError for a file that exists."""
    if out_path.suffix.lower() not in SUFFIXES:
        raise ConfigError(f"--out {out_path.name}: write a .xlsx or .csv file")
    if out_path.is_dir():
        raise OutputError(f"{out_path} is a folder: name a .xlsx or .csv file")
    if out_path.exists() and not overwrite:
        raise OutputError(f"{out_path} exists: pass --overwrite to replace it")


def find_pos(
    settings: Settings,
    filters: Filters,
    out_path: Path,
    *,
    overwrite: bool = False,
    on_page: Callable[[PageRead], None] = _no_progress,
) -> FindOutcome:
    """List the matching POs and write them to ``out_path`` (.xlsx or .csv)."""
    check_output(out_path, overwrite)
    # Only the PO scope: a client allowed nothing more may be refused a token for more.
    settings = settings.model_copy(update={"api_scopes": find_scopes(settings.api_scopes)})
    runtime = acquire(settings)
    try:
        listing = list_pos(runtime, filters, on_page)
    finally:
        release(runtime)
    found = FindOutcome(listing.pos, None, listing.pages, listing.received, listing.dropped)
    if not listing.pos:
        log.info("no PO matches (%d record(s) answered): nothing written", listing.received)
        return found
    check_output(out_path, overwrite)  # again: it may have appeared while paging
    data = render(listing.pos, out_path.suffix.lower())
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(out_path, data)
    except OSError as exc:
        raise OutputError(f"Cannot write {out_path}: {exc.strerror or exc}") from exc
    log.info("%d PO(s) written to %s", len(listing.pos), out_path)
    return FindOutcome(listing.pos, out_path, listing.pages, listing.received, listing.dropped)


def _total(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _row(po: ApiPO, numbers: bool) -> list[object]:
    total = _total(po.total)
    return [
        neutralize(po.number),
        neutralize(po.supplier),
        neutralize(po.created_at),
        neutralize(po.status),
        # A number is no formula, whatever its sign; anything else is text made safe.
        (total if numbers else po.total) if total is not None else neutralize(po.total),
    ]


def render(pos: list[ApiPO], suffix: str) -> bytes:
    """The file's bytes: CSV (UTF-8 with a BOM, for Excel) or a workbook whose sheet the
    reader picks first."""
    if suffix == ".csv":
        text = io.StringIO(newline="")
        writer = csv.writer(text, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        writer.writerows(_row(po, numbers=False) for po in pos)
        return text.getvalue().encode("utf-8-sig")
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(PREFERRED_SHEET)
    sheet.append(COLUMNS)
    for po in pos:
        # Strings stay strings (PO_NUMBER too); control characters are invalid XML.
        sheet.append(
            [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in _row(po, True)]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
