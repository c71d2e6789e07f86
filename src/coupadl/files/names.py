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
# Device names Windows reserves, with or without an extension ("con.txt" is the console).
_RESERVED = {
    "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
    *(f"COM{i}" for i in "0123456789¹²³"),
    *(f"LPT{i}" for i in "0123456789¹²³"),
}  # fmt: skip

MAX_FILE_NAME = 120  # characters; leaves room for out/supplier/PO under Windows' 260
MAX_FOLDER_NAME = 80
# One path component, in UTF-8 bytes: ext4, XFS, APFS and others stop at 255 (NTFS
# counts 255 UTF-16 units, which a name within 255 UTF-8 bytes never exceeds).
MAX_NAME_BYTES = 255
_MAX_EXTENSION = 16


def _invisible(ch: str) -> bool:
    # Format characters (Cf): bidi controls such as RLO, which can disguise "exe.pdf"
    # as "fdp.exe", the Arabic letter mark, zero-width joiners, BOMs. Surrogates (Cs)
    # cannot be written as a UTF-8 file name at all.
    return unicodedata.category(ch) in ("Cf", "Cs")


def _split_extension(name: str) -> tuple[str, str]:
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext) > _MAX_EXTENSION or " " in ext:
        return name, ""
    return stem, "." + ext


def _is_reserved(name: str) -> bool:
    # Windows ignores everything from the first dot, and trailing spaces before it.
    return name.split(".")[0].rstrip(" ").upper() in _RESERVED


def _fit(stem: str, tail: str, max_length: int) -> str:
    """``stem + tail`` within ``max_length`` characters and :data:`MAX_NAME_BYTES`,
    shortening only the stem (the tail is an extension and/or a " (n)" counter)."""
    tail_bytes = len(tail.encode("utf-8"))
    cut = stem[: max(1, max_length - len(tail))]
    while len(cut) > 1 and len(cut.encode("utf-8")) + tail_bytes > MAX_NAME_BYTES:
        cut = cut[:-1]
    return cut + tail


def sanitize_name(name: str, *, max_length: int = MAX_FILE_NAME, fallback: str = "_") -> str:
    """Turn any string into one safe path component (never a separator, never ``..``).

    The result is non-empty, NFC, free of control, format and forbidden characters,
    not a Windows device name, without trailing dots or spaces, at most ``max_length``
    characters and :data:`MAX_NAME_BYTES` UTF-8 bytes, and keeps a short extension.
    """
    text = "".join(ch for ch in name if not _invisible(ch))
    # After removing invisibles: a dropped joiner can leave a sequence NFC composes.
    text = unicodedata.normalize("NFC", text)
    text = _CONTROL.sub("_", text)
    text = _FORBIDDEN.sub("_", text)
    text = text.strip().rstrip(". ")
    if not text.strip("._ "):
        return fallback
    stem, ext = _split_extension(text)
    if _is_reserved(stem):
        stem = "_" + stem
    fitted = _fit(stem, ext, max_length)
    if ext:
        return fitted
    # Cutting can end the name in a dot or space, which Windows would drop.
    return fitted.rstrip(". ") or fallback


def sanitize_folder(name: str) -> str:
    """A safe folder name (no extension handling, shorter limit)."""
    return sanitize_name(name, max_length=MAX_FOLDER_NAME)


def name_key(name: str) -> str:
    """The identity of a name on a case-insensitive, normalising file system.

    Coarser than any one file system, so two names with different keys can share a
    folder everywhere: NFC/NFD forms are one name (macOS), and so are names equal
    after upper-casing (Windows compares upper case: "ı" and "i" are one name there)
    or after case folding ("ß" and "ss" on macOS).
    """
    upper = unicodedata.normalize("NFD", unicodedata.normalize("NFD", name).upper())
    return unicodedata.normalize("NFC", upper.casefold())


def unique_name(name: str, taken: set[str], *, max_length: int = MAX_FILE_NAME) -> str:
    """``name``, or ``stem (n).ext`` with the lowest free n, compared by :func:`name_key`.

    The counter never pushes a name past ``max_length`` or :data:`MAX_NAME_BYTES`: the
    stem is shortened instead. The chosen name's key is added to ``taken``.
    """
    stem, ext = _split_extension(name)
    candidate, n = name, 0
    while name_key(candidate) in taken:
        n += 1
        candidate = _fit(stem, f" ({n}){ext}", max_length)
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
