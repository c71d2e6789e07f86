"""PO number rules: what users type or Excel stores, turned into the digits Coupa uses.

Accepted, and all normalised to ``16928033``:

* ``16928033``, ``16928033.0`` (Excel numbers, as int, float, Decimal or text);
* ``PO16928033``, ``PM16928033``, any case, with an optional ``-``, ``#`` or ``:`` after
  the prefix (``PO-16928033``, ``po#16928033``);
* any of the above with spaces, tabs, NBSP or zero-width characters anywhere
  (``po 16928033``, ``16 928 033`` from copy-paste), and full-width digits.

Rejected with :class:`~coupadl.errors.InvalidPONumber`: signs, other letters or
punctuation, more than 20 digits, all zeros, non-integral or inexact numbers, and
anything that is not a string or a number. Leading zeros are kept as typed (``PO0042``
gives ``0042``): Coupa does not promise PO numbers are plain integers, so guessing
would risk opening the wrong PO.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from collections.abc import Iterable
from decimal import Decimal

from coupadl.errors import InvalidPONumber

MAX_DIGITS = 20
# Floats are exact integers only up to 2**53; past that Excel has already lost digits.
_MAX_EXACT_FLOAT = 2**53

# Whitespace (Unicode-aware) and the invisible characters copy-paste brings along.
_IGNORABLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")
# Optional PO/PM prefix and separator, the digits, and an Excel-style ".0" tail.
_PO_NUMBER = re.compile(r"(?:P[OM][-#:]?)?([0-9]+)(?:\.0+)?", re.IGNORECASE)

_EXPECTED = "expected digits, optionally prefixed PO or PM, e.g. PO16928033"


def _invalid(raw: object, reason: str) -> InvalidPONumber:
    return InvalidPONumber(f"Invalid PO number {raw!r}: {reason}.")


def _number_text(raw: object) -> str:
    """Text of a cell value; numbers must be exact non-negative integers."""
    if isinstance(raw, str):
        return raw
    if isinstance(raw, bool):  # bool is an int, but True is no PO number
        raise _invalid(raw, _EXPECTED)
    if isinstance(raw, numbers.Integral):
        return str(int(raw))
    if isinstance(raw, float | Decimal):
        finite = raw.is_finite() if isinstance(raw, Decimal) else math.isfinite(raw)
        if not finite or raw != int(raw):
            raise _invalid(raw, "not a whole number")
        if isinstance(raw, float) and abs(raw) > _MAX_EXACT_FLOAT:
            raise _invalid(raw, "too large to be stored exactly as a number; format it as text")
        return str(int(raw))
    raise _invalid(raw, _EXPECTED)


def normalize_po_number(raw: object) -> str:
    """The PO number as Coupa's digits. Idempotent. Raises ``InvalidPONumber``."""
    text = _IGNORABLE.sub("", unicodedata.normalize("NFKC", _number_text(raw)))
    match = _PO_NUMBER.fullmatch(text)
    if match is None:
        raise _invalid(raw, _EXPECTED if text else "empty")
    digits = match.group(1)
    if len(digits) > MAX_DIGITS:
        raise _invalid(raw, f"{len(digits)} digits, at most {MAX_DIGITS} allowed")
    if not digits.strip("0"):
        raise _invalid(raw, "all zeros")
    return digits


def dedupe(numbers: Iterable[str]) -> list[str]:
    """The numbers without repeats, in order of first occurrence."""
    return list(dict.fromkeys(numbers))


def display_po(po_number: str) -> str:
    """``PO<number>``, the way Coupa shows it (folder names, messages)."""
    return f"PO{normalize_po_number(po_number)}"
