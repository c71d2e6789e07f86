"""Filename and folder sanitising: hostile names never escape, never collide."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coupadl.files.names import (
    MAX_FILE_NAME,
    name_key,
    safe_join,
    sanitize_name,
    unique_name,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Quote_2025.pdf", "Quote_2025.pdf"),
        ("../../etc/passwd", ".._.._etc_passwd"),
        ("..\\win.txt", ".._win.txt"),
        ("C:\\Windows\\x.dll", "C__Windows_x.dll"),
        ("CON.pdf", "_CON.pdf"),
        ("nul", "_nul"),
        ("com1.tar.gz", "_com1.tar.gz"),
        ("a:b?c*.pdf", "a_b_c_.pdf"),
        ("invoice.pdf. ", "invoice.pdf"),
        ("bell\x07.txt", "bell_.txt"),
        ("fdp\u202eexe.pdf", "fdpexe.pdf"),
        ("..", "_"),
        ("   ", "_"),
        ("réçu façture.pdf", "réçu façture.pdf"),
    ],
)
def test_sanitize_name_examples(raw: str, expected: str) -> None:
    assert sanitize_name(raw) == expected


def test_long_names_keep_their_extension() -> None:
    name = sanitize_name("x" * 400 + ".pdf")
    assert len(name) == MAX_FILE_NAME
    assert name.endswith(".pdf")


def test_unique_name_is_case_and_normalisation_insensitive() -> None:
    taken: set[str] = set()
    composed = unicodedata.normalize("NFC", "é.pdf")
    decomposed = unicodedata.normalize("NFD", "É.PDF")
    assert unique_name(composed, taken) == composed
    assert unique_name(decomposed, taken) == f"{decomposed[:-4]} (1).PDF"
    assert unique_name("é.pdf", taken) == "é (2).pdf"


def test_safe_join_refuses_nothing_it_cannot_clean(tmp_path: Path) -> None:
    path = safe_join(tmp_path, "../..", "/etc", "C:")
    assert tmp_path.resolve() in path.resolve().parents


names = st.text(min_size=0, max_size=300)


@given(names)
def test_sanitized_name_is_one_safe_component(raw: str) -> None:
    name = sanitize_name(raw)
    assert name and name not in {".", ".."}
    assert "/" not in name and "\\" not in name and "\x00" not in name
    assert not any(ord(c) < 32 for c in name)
    assert name == name.rstrip(". ")
    assert len(name) <= MAX_FILE_NAME
    assert sanitize_name(raw) == name  # stable across calls (and so across runs)


@given(names)
def test_sanitize_is_idempotent(raw: str) -> None:
    once = sanitize_name(raw)
    assert sanitize_name(once) == once


@given(st.lists(names, max_size=30))
def test_unique_names_never_collide(raws: list[str]) -> None:
    taken: set[str] = set()
    chosen = [unique_name(sanitize_name(r), taken) for r in raws]
    assert len({name_key(c) for c in chosen}) == len(chosen)


@given(st.lists(names, min_size=1, max_size=4))
def test_safe_join_stays_inside(tmp_path_factory: pytest.TempPathFactory, parts: list[str]) -> None:
    root = tmp_path_factory.getbasetemp()
    path = safe_join(root, *parts)
    assert root.resolve() in path.resolve().parents
