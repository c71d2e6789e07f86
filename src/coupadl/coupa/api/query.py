"""Finding POs with the REST API's list filters (``coupadl find``): the query of each
page, and the check that each record answered really matches it.

Filters as the facts show Coupa's: attribute names as the JSON writes them, nested by
bracket path, the operator in the last bracket: ``supplier[name]``,
``supplier[name][contains]``, ``created-at[gt_or_eq]``, ``created-at[lt]``, ``status``.
A tenant may ignore a filter it does not know and answer records that do not match
(the facts), so every record is checked against the filters sent
(:func:`failed_filters`); the caller drops those that fail and names the filter.

A date alone means midnight of the tenant's day, as the simulator reads it; a record's
``created-at`` carries the tenant's offset, so such a bound is compared with the
record's own calendar day. A time with an offset is compared as an instant.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from coupadl.coupa.api.paths import SCOPE_PO
from coupadl.errors import ConfigError

SUPPLIER = "supplier[name]"
SUPPLIER_CONTAINS = "supplier[name][contains]"
CREATED_AFTER = "created-at[gt_or_eq]"
CREATED_BEFORE = "created-at[lt]"
STATUS = "status"
# What a found PO's row needs, so that a page of 50 stays small.
_FIELDS: list[object] = [
    "id", "po-number", "status", "created-at", "total", {"supplier": ["name", "number"]},
]  # fmt: skip
FIND_FIELDS = json.dumps(_FIELDS, separators=(",", ":"))


@dataclass(frozen=True)
class Moment:
    """A bound as given: a date (the tenant's midnight) or a time, with or without an
    offset (without one: the tenant's time)."""

    value: date | datetime

    @property
    def text(self) -> str:
        return self.value.isoformat()


@dataclass(frozen=True)
class Filters:
    supplier: str = ""  # the supplier's name, exactly
    supplier_contains: str = ""  # part of the supplier's name, any case
    created_after: Moment | None = None  # created on or after
    created_before: Moment | None = None  # created before
    status: str = ""  # Coupa's PO status: issued, closed, soft_closed, cancelled, ...


def parse_moment(text: str, flag: str) -> Moment:
    """``2025-01-01``, ``2025-01-01T08:00``, ``2025-01-01T08:00:00+02:00``; ConfigError
    naming ``flag`` for anything else."""
    raw = text.strip()
    try:
        return Moment(date.fromisoformat(raw)) if len(raw) == 10 else Moment(_time(raw))
    except ValueError:
        raise ConfigError(
            f"{flag} {text!r} is not a date (YYYY-MM-DD) or a time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])"
        ) from None


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def make_filters(
    *,
    supplier: str | None = None,
    supplier_contains: str | None = None,
    created_after: str | None = None,
    created_before: str | None = None,
    status: str | None = None,
) -> Filters:
    """The filters from the flags' texts (None: not given); ConfigError for a blank one
    or bounds that leave nothing between them."""
    texts = {"--supplier": supplier, "--supplier-contains": supplier_contains, "--status": status}
    for flag, value in texts.items():
        if value is not None and not value.strip():
            raise ConfigError(f"{flag} is empty: give a value or leave the flag out")
    after = parse_moment(created_after, "--created-after") if created_after else None
    before = parse_moment(created_before, "--created-before") if created_before else None
    if after and before and _order(after.value, before) >= 0:
        raise ConfigError(
            f"--created-after {after.text} is not before --created-before {before.text}: "
            "no PO can match"
        )
    return Filters(
        supplier=(supplier or "").strip(),
        supplier_contains=(supplier_contains or "").strip(),
        created_after=after,
        created_before=before,
        status=(status or "").strip(),
    )


def filter_params(filters: Filters) -> dict[str, str]:
    """The query parameters of the filters given, by Coupa's names."""
    params = {
        SUPPLIER: filters.supplier,
        SUPPLIER_CONTAINS: filters.supplier_contains,
        CREATED_AFTER: filters.created_after.text if filters.created_after else "",
        CREATED_BEFORE: filters.created_before.text if filters.created_before else "",
        STATUS: filters.status,
    }
    return {name: value for name, value in params.items() if value}


def page_params(filters: Filters, offset: int) -> dict[str, str]:
    """One page's query: the filters, small records, a stable order, the offset."""
    return {
        **filter_params(filters),
        "fields": FIND_FIELDS,
        "order_by": "id",  # new POs made while paging go to the end, not between pages
        "dir": "asc",
        "offset": str(offset),
    }


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _same(left: str, right: str) -> bool:
    # Case-insensitive: a tenant comparing without case matched it rightly.
    return left.casefold() == right.casefold()


def _order(value: date | datetime, bound: Moment) -> int:
    """-1, 0 or 1 for ``value`` against ``bound``, as the module docstring says."""
    limit = bound.value
    if isinstance(limit, datetime):
        if isinstance(value, datetime):
            if (limit.tzinfo is None) != (value.tzinfo is None):
                # One side is the tenant's wall clock: compare wall clocks.
                value, limit = value.replace(tzinfo=None), limit.replace(tzinfo=None)
        else:
            value = datetime(value.year, value.month, value.day)
            limit = limit.replace(tzinfo=None)
    elif isinstance(value, datetime):
        value = value.date()  # the record's day in its own (the tenant's) offset
    return (value > limit) - (value < limit)


def _created(record: Mapping[str, Any]) -> datetime | None:
    try:
        return _time(_text(record.get("created-at")))
    except ValueError:
        return None


def failed_filters(record: Mapping[str, Any], filters: Filters) -> list[str]:
    """The parameters (Coupa's names) of the filters ``record`` does not satisfy; a
    value the record lacks or that cannot be read fails its filter."""
    supplier = record.get("supplier")
    name = _text(supplier.get("name")) if isinstance(supplier, Mapping) else ""
    failed = []
    if filters.supplier and not _same(name, filters.supplier):
        failed.append(SUPPLIER)
    if filters.supplier_contains and filters.supplier_contains.casefold() not in name.casefold():
        failed.append(SUPPLIER_CONTAINS)
    created = _created(record)
    after, before = filters.created_after, filters.created_before
    if after and (created is None or _order(created, after) < 0):
        failed.append(CREATED_AFTER)
    if before and (created is None or _order(created, before) >= 0):
        failed.append(CREATED_BEFORE)
    if filters.status and not _same(_text(record.get("status")), filters.status):
        failed.append(STATUS)
    return failed


def find_scopes(api_scopes: str) -> str:
    """The scopes ``coupadl find`` asks for: reading POs is all it needs, and a client
    allowed only that may be refused a token for more. Scope names of a tenant's own
    (``api_scopes`` without Coupa's PO scope) are asked for as configured."""
    return SCOPE_PO if SCOPE_PO in api_scopes.split() else api_scopes
