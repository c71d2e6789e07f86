"""Query parameters of the REST API's lists: filters, ``fields=`` and paging.

Filters name a record's attribute as its JSON writes it, nested objects by bracket
path, with an optional operator in the last bracket (coupa-facts.md):
``po-number=16928000``, ``supplier[name]=Acme``, ``created-at[gt_or_eq]=2025-01-01``.
Underscores in attribute names count as hyphens (``po_number`` is ``po-number``). An
attribute the records do not have is ignored, as the facts say an unknown filter may
be: the answer is then as if it were not there. Pure functions of plain data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from coupadl.simulator.data.api_data import parse_time

MAX_LIMIT = 50  # Coupa answers at most 50 records per GET
OPERATORS = frozenset(
    {"gt", "gt_or_eq", "lt", "lt_or_eq", "contains", "starts_with", "not_eq", "in"}
)
# Parameters that are not filters (order_by, dir, return_object: accepted, no effect).
RESERVED = frozenset({"offset", "limit", "fields", "order_by", "dir", "return_object"})
_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T")
_UNKNOWN = object()

Record = dict[str, Any]


class QueryError(ValueError):
    """A parameter the API refuses (HTTP 400)."""


@dataclass(frozen=True)
class Filter:
    path: tuple[str, ...]
    op: str  # "" is equality
    value: str


def _attribute(name: str) -> str:
    return name.replace("_", "-")


def parse_filter(key: str, value: str) -> Filter | None:
    """The filter a parameter stands for; None for a reserved or malformed name."""
    match = _KEY.fullmatch(key)
    if key in RESERVED or match is None:
        return None
    parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
    op = parts.pop() if len(parts) > 1 and parts[-1] in OPERATORS else ""
    if not all(parts):
        return None
    return Filter(tuple(_attribute(p) for p in parts), op, value)


def _resolve(record: Any, path: tuple[str, ...]) -> Any:
    """The value at ``path``, None through a null object, or _UNKNOWN."""
    value = record
    for segment in path:
        if value is None:
            return None
        if not isinstance(value, dict) or segment not in value:
            return _UNKNOWN
        value = value[segment]
    return _UNKNOWN if isinstance(value, dict | list) else value


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _compare(actual: Any, wanted: str) -> int | None:
    """-1, 0 or 1 for ``actual`` against ``wanted``: as instants for timestamps, as
    numbers when both are, else as text; None when they cannot be ordered."""
    if isinstance(actual, str) and _TIMESTAMP.match(actual):
        try:
            left, right = parse_time(actual), parse_time(wanted)
        except ValueError:
            raise QueryError(f"not a date or timestamp: {wanted!r}") from None
        return (left > right) - (left < right)
    left_n, right_n = _decimal(actual), _decimal(wanted)
    if left_n is not None and right_n is not None:
        return (left_n > right_n) - (left_n < right_n)
    if isinstance(actual, bool):
        text = str(actual).lower()
        return 0 if text == wanted.lower() else None
    text = str(actual)
    return (text > wanted) - (text < wanted)


def _matches(actual: Any, op: str, wanted: str) -> bool:
    if actual is None:
        return False
    if op in ("", "not_eq", "in"):
        values = wanted.split(",") if op == "in" else [wanted]
        equal = any(_compare(actual, v) == 0 for v in values)
        return not equal if op == "not_eq" else equal
    if op == "contains":
        return wanted.lower() in str(actual).lower()
    if op == "starts_with":
        return str(actual).lower().startswith(wanted.lower())
    order = _compare(actual, wanted)
    if order is None:
        return False
    return {"gt": order > 0, "gt_or_eq": order >= 0, "lt": order < 0, "lt_or_eq": order <= 0}[op]


def matches(record: Record, filters: Iterable[Filter]) -> bool:
    """Does ``record`` pass every filter it has the attribute of?"""
    for item in filters:
        actual = _resolve(record, item.path)
        if actual is not _UNKNOWN and not _matches(actual, item.op, item.value):
            return False
    return True


def parse_fields(raw: str | None) -> list[Any] | None:
    """``fields=`` as a JSON list of names and ``{"name": [...]}`` objects; None if absent."""
    if raw is None or raw == "":
        return None
    try:
        fields = json.loads(raw)
    except ValueError:
        raise QueryError('fields must be a JSON list, e.g. ["id",{"supplier":["name"]}]') from None
    _check_fields(fields)
    return list(fields)


def _check_fields(fields: Any) -> None:
    if not isinstance(fields, list):
        raise QueryError("fields must be a JSON list")
    for item in fields:
        if isinstance(item, dict):
            for sub in item.values():
                _check_fields(sub)
        elif not isinstance(item, str):
            raise QueryError(f"fields: {item!r} is neither a name nor an object")


def select(record: Record, fields: Sequence[Any]) -> Record:
    """``record`` with only the fields asked for (unknown names left out)."""
    chosen: Record = {}
    for item in fields:
        wanted = {item: None} if isinstance(item, str) else item
        for name, sub in wanted.items():
            key = _attribute(name)
            if key not in record:
                continue
            value = record[key]
            if sub is not None and isinstance(value, dict):
                value = select(value, sub)
            elif sub is not None and isinstance(value, list):
                value = [select(v, sub) if isinstance(v, dict) else v for v in value]
            chosen[key] = value
    return chosen


def _whole(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.strip().isdigit():
        raise QueryError(f"{name} must be a whole number, not {raw!r}")
    return int(raw)


def page(records: Sequence[Record], params: Sequence[tuple[str, str]]) -> list[Record]:
    """The answer to a list request: filtered, ``offset``/``limit`` (at most
    :data:`MAX_LIMIT`), then cut down to ``fields``. QueryError for a bad parameter."""
    query = dict(params)
    offset = _whole("offset", query.get("offset"), 0)
    limit = min(_whole("limit", query.get("limit"), MAX_LIMIT), MAX_LIMIT)
    fields = parse_fields(query.get("fields"))
    filters = [f for key, value in params if (f := parse_filter(key, value)) is not None]
    chosen = [r for r in records if matches(r, filters)][offset : offset + limit]
    return [select(r, fields) for r in chosen] if fields is not None else chosen


def shape(record: Record, params: Sequence[tuple[str, str]]) -> Record:
    """One record's answer: cut down to ``fields`` if asked."""
    fields = parse_fields(dict(params).get("fields"))
    return select(record, fields) if fields is not None else record
