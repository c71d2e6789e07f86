"""The names a run must save files and supplier folders under: the simulator's own
statement of the naming rules (docs/architecture.md, "Names and files of a PO").

Written apart from the client on purpose, so a bug in the client's naming fails the
comparison with the manifest instead of being copied into it. Hostile names are not
computed: each one has its reviewed expectation in a literal table. The rule in code
is deliberately narrow: a name it cannot vouch for raises, and so has to be added to
a table.

The rules, from the docs: characters Windows or POSIX refuse (``< > : " / \\ | ? *``)
and control characters become ``_``; bidi and other format characters are dropped;
trailing dots and spaces are dropped (Windows would); a Windows device name (``CON``,
``NUL``, ``COM1``, ...) before the first dot gets a ``_`` in front; names are NFC; a file
name is at most 120 characters (a folder name 80), cut in the stem so the extension
stays. In one PO folder names are compared case-insensitively and NFC; a taken name
becomes ``stem (1).ext``, ``stem (2).ext`` ... in listing order.
"""

from __future__ import annotations

import unicodedata

MAX_FILE_NAME = 120  # characters
MAX_FOLDER_NAME = 80
MAX_NAME_BYTES = 255  # UTF-8 bytes of one path component
UNKNOWN_SUPPLIER = "_unknown_supplier"  # the folder of a PO whose supplier is not shown
REFUSED = frozenset('<>:"/\\|?*')
DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(10)), *(f"LPT{i}" for i in range(10))}
)

# Reviewed by hand: the hostile names of words.HOSTILE_HEADER and HOSTILE_COMMENTS.
HOSTILE_SAVED: dict[str, str] = {
    "../../evil.pdf": ".._.._evil.pdf",
    "CON.pdf": "_CON.pdf",
    "..\\win.txt": ".._win.txt",
    "a:b?c*.pdf": "a_b_c_.pdf",
    "statement\u202etxt.pdf": "statementtxt.pdf",
    "notes.txt. ": "notes.txt",
    "bell\x07ring.txt": "bell_ring.txt",
    '<img src=x onerror="alert(1)">.txt': "_img src=x onerror=_alert(1)__.txt",
}

# Reviewed by hand: the DUPLICATES PO, in listing order (header, then comments), as
# (page name, saved name). "{stem}" is the PO's random "Quote_<n>".
DUPLICATE_SAVED: tuple[tuple[str, str], ...] = (
    ("{stem}.PDF", "{stem}.PDF"),  # header: first listed, keeps its name
    ("{stem}.pdf", "{stem} (1).pdf"),  # same name but for case
    ("{stem}.pdf", "{stem} (2).pdf"),  # another file of the same name
    ("{stem} (1).pdf", "{stem} (1) (1).pdf"),  # its own name is taken by then
)

# Reviewed by hand: supplier names (without the "-<vendor number>") that are not plain.
SUPPLIER_FOLDERS: dict[str, str] = {
    'ACME/Nordic: "Parts"': "ACME_Nordic_ _Parts_",
    "Dansk Stål A/S": "Dansk Stål A_S",
}


def name_key(name: str) -> str:
    """Two names with one key are one name in a folder (case-insensitive, NFC)."""
    return unicodedata.normalize("NFC", name).casefold()


def _not_plain(text: str) -> str | None:
    """Why ``text`` needs a reviewed table entry, or None when it is plain."""
    for ch in text:
        if ch in REFUSED or unicodedata.category(ch) in ("Cc", "Cf", "Cs"):
            return f"has the character {ch!r}"
    if text != text.strip() or text.endswith("."):
        return "starts or ends with a space, or ends with a dot"
    if text.split(".")[0].upper() in DEVICE_NAMES:
        return "is a Windows device name"
    return None


def _plain(text: str, what: str) -> str:
    text = unicodedata.normalize("NFC", text)
    reason = _not_plain(text)
    if reason is not None:
        raise ValueError(f"{what} {text!r} {reason}: state its saved name in a reviewed table")
    return text


def plain_saved_name(name: str) -> str:
    """The saved name of a plain file name: NFC, and at most 120 characters (255 bytes)
    with the extension kept. Raises for a name that is not plain."""
    text = _plain(name, "file name")
    if len(text) <= MAX_FILE_NAME and len(text.encode("utf-8")) <= MAX_NAME_BYTES:
        return text
    stem, dot, ext = text.rpartition(".")
    saved = stem[: MAX_FILE_NAME - len(dot + ext)] + dot + ext
    if not stem or len(saved.encode("utf-8")) > MAX_NAME_BYTES:
        raise ValueError(f"no plain rule to shorten {name!r}: state it in a reviewed table")
    return saved


def supplier_folder(supplier: str) -> str:
    """The folder of a supplier shown as ``<name>-<vendor number>`` (or any plain name)."""
    if not supplier.strip():
        return UNKNOWN_SUPPLIER
    name, dash, vendor = supplier.rpartition("-")
    if dash and name in SUPPLIER_FOLDERS:
        return f"{SUPPLIER_FOLDERS[name]}-{vendor}"
    folder = SUPPLIER_FOLDERS.get(supplier) or _plain(supplier, "supplier")
    if len(folder) > MAX_FOLDER_NAME:
        raise ValueError(f"no plain rule to shorten {supplier!r}: state it in a reviewed table")
    return folder
