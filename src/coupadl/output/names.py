"""Safe file and folder names, for Windows and POSIX alike.

Names come from Coupa pages (attachment names, supplier names, spreadsheet cells)
and are hostile until cleaned: path separators, ``..``, drive letters, control and
bidi characters, Windows reserved device names, trailing dots and spaces, names too
long for a path. Everything here is a pure function of its arguments, so the same
input always gives the same name on every run and every OS.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

# Characters Windows forbids in names, plus both path separators.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
# C0/C1 controls and DEL.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Bidi controls (e.g. RLO, which can disguise "exe.pdf" as "fdp.exe") and zero-width marks.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_RESERVED = {
    "CON", "PRN", "AUX", "NUL",
    *(f"COM{i}" for i in "123456789¹²³"),
    *(f"LPT{i}" for i in "123456789¹²³"),
}  # fmt: skip

MAX_FILE_NAME = 120  # characters; leaves room for out/supplier/PO under Windows' 260
MAX_FOLDER_NAME = 80
_MAX_EXTENSION = 16


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > _MAX_EXTENSION or " " in ext:
        return name, ""
    return stem, "." + ext


def sanitize_name(name: str, *, max_length: int = MAX_FILE_NAME, fallback: str = "_") -> str:
    """Turn any string into one safe path component (never a separator, never ``..``)."""
    text = unicodedata.normalize("NFC", name)
    text = _INVISIBLE.sub("", text)
    text = _CONTROL.sub("_", text)
    text = _FORBIDDEN.sub("_", text)
    text = text.strip().rstrip(". ")
    if not text.strip("._ "):
        return fallback
    stem, ext = _split_extension(text)
    if stem.split(".")[0].upper().rstrip(" ") in _RESERVED:
        stem = "_" + stem
    if len(stem) + len(ext) > max_length:
        stem = stem[: max(1, max_length - len(ext))].rstrip(". ")
    return (stem or fallback) + ext


def sanitize_folder(name: str) -> str:
    """A safe folder name (no extension handling, shorter limit)."""
    return sanitize_name(name, max_length=MAX_FOLDER_NAME)


def name_key(name: str) -> str:
    """The identity of a name on a case-insensitive, normalising file system."""
    return unicodedata.normalize("NFC", name).casefold()


def unique_name(name: str, taken: set[str]) -> str:
    """``name``, or ``stem (n).ext`` with the lowest free n, compared by :func:`name_key`.

    The chosen name's key is added to ``taken``.
    """
    stem, ext = _split_extension(name)
    candidate, n = name, 0
    while name_key(candidate) in taken:
        n += 1
        candidate = f"{stem} ({n}){ext}"
    taken.add(name_key(candidate))
    return candidate


def safe_join(root: Path, *parts: str) -> Path:
    """Join sanitised ``parts`` under ``root`` and prove the result stays inside it."""
    path = root.joinpath(*(sanitize_folder(p) for p in parts))
    resolved_root = root.resolve()
    resolved = path.resolve()
    if resolved != resolved_root and resolved_root not in resolved.parents:
        raise ValueError(f"path escapes the output folder: {path}")
    return path
