"""Which files a run may make from a downloaded Outlook ``.msg``: the simulator's own
statement of the documented naming, so the check does not trust the client's.

For a saved ``<stem>.msg`` (suffix in any case): its PDF ``<stem>.pdf``, and the files
saved out of it, ``<prefix> - <attachment name>``, where ``<prefix>`` is ``<stem>`` cut
to 60 characters (and 120 UTF-8 bytes), without trailing dots or spaces (``_`` if
nothing is left). Names compare case-insensitively and NFC, as in a PO folder.
"""

from __future__ import annotations

from collections.abc import Iterable

from coupadl.simulator.data.saved_names import name_key

MSG = ".msg"
PREFIX_CHARS = 60
PREFIX_BYTES = 120
SEPARATOR = " - "


def _msg_stem(name: str) -> str | None:
    return name[: -len(MSG)] if name.lower().endswith(MSG) and len(name) > len(MSG) else None


def _prefix(stem: str) -> str:
    cut = stem[:PREFIX_CHARS]
    while len(cut.encode("utf-8")) > PREFIX_BYTES:
        cut = cut[:-1]
    return (cut.rstrip(" .") or "_") + SEPARATOR


def pdf_name(msg_name: str) -> str:
    """The PDF a run makes from the saved ``msg_name``."""
    return (_msg_stem(msg_name) or msg_name) + ".pdf"


def embedded_name(msg_name: str, attachment_name: str) -> str:
    """Where a plain-named file attached to the saved ``msg_name`` is saved."""
    return _prefix(_msg_stem(msg_name) or msg_name) + attachment_name


def is_derived(name: str, saved_names: Iterable[str]) -> bool:
    """True when ``name`` was made from one of the ``.msg`` files among ``saved_names``."""
    key = name_key(name)
    for other in saved_names:
        stem = _msg_stem(other)
        if stem is None:
            continue
        if key == name_key(stem + ".pdf") or key.startswith(name_key(_prefix(stem))):
            return True
    return False
