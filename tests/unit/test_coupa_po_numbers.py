"""PO number rules."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coupadl.coupa.po_numbers import dedupe, display_po, normalize_po_number
from coupadl.errors import InvalidPONumber


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("16928033", "16928033"),
        (16928033, "16928033"),
        (16928033.0, "16928033"),
        (Decimal("16928033"), "16928033"),
        ("16928033.0", "16928033"),
        ("PO16928033", "16928033"),
        ("PM16928033", "16928033"),
        ("po16928033", "16928033"),
        ("pM16928033", "16928033"),
        ("PO-16928033", "16928033"),
        ("PO#16928033", "16928033"),
        ("PO: 16928033", "16928033"),
        ("po 16928033", "16928033"),
        ("  16928033\t", "16928033"),
        ("\xa016928033\xa0", "16928033"),
        ("16\u202f928\u202f033", "16928033"),
        ("\ufeffPO16928033\u200b", "16928033"),
        ("ＰＯ１６９２８０３３", "16928033"),  # full-width, from some Asian keyboards
        ("0042", "0042"),  # leading zeros are kept as typed
        ("1", "1"),
        ("9" * 20, "9" * 20),
    ],
)
def test_normalize_accepts(raw: object, expected: str) -> None:
    assert normalize_po_number(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "PO",
        "0",
        "000",
        "PO000",
        "-16928033",
        "+16928033",
        -5,
        "16928033.5",
        16928033.5,
        float("nan"),
        float("inf"),
        Decimal("NaN"),
        1e17,  # past 2**53: Excel already rounded it
        "1.6928033E+07",
        "PX16928033",
        "POPO16928033",
        "PO--16928033",
        "16928033A",
        "16,928,033",
        "١٢٣",  # Arabic-Indic digits are digits to Python, not to Coupa
        "1" * 21,
        10**20,
        None,
        True,
        b"16928033",
        [16928033],
    ],
)
def test_normalize_rejects(raw: object) -> None:
    with pytest.raises(InvalidPONumber):
        normalize_po_number(raw)


def test_error_quotes_the_raw_value_and_has_a_code() -> None:
    with pytest.raises(InvalidPONumber, match=r"'PO-12X'") as info:
        normalize_po_number("PO-12X")
    assert info.value.code == "E_INVALID_PO"


def test_error_says_why_for_long_and_zero_numbers() -> None:
    with pytest.raises(InvalidPONumber, match="21 digits"):
        normalize_po_number("1" * 21)
    with pytest.raises(InvalidPONumber, match="all zeros"):
        normalize_po_number("PO0000")


_RAW = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(10**22), max_value=10**22),
    st.floats(allow_nan=True, allow_infinity=True),
    st.builds(
        lambda prefix, sep, digits, pad: f"{pad}{prefix}{sep}{digits}{pad}",
        st.sampled_from(["", "PO", "pm", "Po", "PX"]),
        st.sampled_from(["", "-", "#", " ", "::"]),
        st.text(alphabet="0123456789", min_size=0, max_size=22),
        st.sampled_from(["", " ", "\xa0", "\t"]),
    ),
)


@given(_RAW)
def test_normalize_is_idempotent_and_gives_digits(raw: object) -> None:
    try:
        number = normalize_po_number(raw)
    except InvalidPONumber:
        return
    assert number.isascii() and number.isdigit()
    assert 1 <= len(number) <= 20 and number.strip("0")
    assert normalize_po_number(number) == number
    assert normalize_po_number(display_po(number)) == number


def test_dedupe_keeps_first_occurrence_order() -> None:
    assert dedupe(["3", "1", "3", "2", "1"]) == ["3", "1", "2"]
    assert dedupe(iter([])) == []


def test_display_po() -> None:
    assert display_po("16928033") == "PO16928033"
    assert display_po("PM16928033") == "PO16928033"
