"""What a run must have made from each Outlook ``.msg`` it saved, checked by content.

For an expected ``.msg`` whose manifest entry says what is in it (``message``, see
``simulator/outlook.py``): with conversion on, ``<stem>.pdf`` beside it holds the
message's subject and body (read back with pypdf) and the attached file is saved as
``<prefix> - <attachment name>`` (:mod:`coupadl.simulator.derived_names`) with the
server's bytes; with conversion off, neither is there. When ``<stem>.pdf`` is itself
one of the PO's downloads, Coupa's PDF is kept and nothing is made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from coupadl.simulator.data.saved_names import name_key
from coupadl.simulator.derived_names import embedded_name, pdf_name


def made_from(entry: Mapping[str, Any], downloads: set[str]) -> list[str]:
    """The names a run makes from the file ``entry`` describes (``downloads``: the name
    keys of the PO's expected files); [] for anything but a described ``.msg``."""
    message = entry.get("message")
    if not message:
        return []
    pdf = pdf_name(entry["name"])
    if name_key(pdf) in downloads:
        return []
    return [pdf, embedded_name(entry["name"], message["attachment_name"])]


def _words(text: str) -> str:
    return " ".join(text.split())


def _pdf_text(path: Path) -> str:
    try:
        return _words(" ".join(page.extract_text() for page in PdfReader(path).pages))
    except (OSError, PyPdfError, ValueError) as exc:
        return f"<unreadable PDF: {exc}>"


def check_made(
    folder: Path, entry: Mapping[str, Any], downloads: set[str], po: str, convert: bool
) -> list[str]:
    """Problems with what was made from ``entry``'s ``.msg`` in ``folder``."""
    made = made_from(entry, downloads)
    if not made:
        return []
    pdf, saved = (folder / name for name in made)
    if not convert:
        return [f"PO{po}: {p.name!r} made although conversion is off" for p in (pdf, saved)
                if p.exists()]  # fmt: skip
    message = entry["message"]
    problems = []
    if not pdf.is_file():
        problems.append(f"PO{po}: no PDF {pdf.name!r} made from {entry['name']!r}")
    else:
        text = _pdf_text(pdf)
        for part in ("subject", "body"):
            if _words(message[part]) not in text:
                problems.append(f"PO{po}: {pdf.name!r} lacks the message's {part}")
    if not saved.is_file():
        problems.append(f"PO{po}: attachment {saved.name!r} of {entry['name']!r} not saved")
    else:
        data = saved.read_bytes()
        if (len(data), hashlib.sha256(data).hexdigest()) != (
            message["attachment_size"],
            message["attachment_sha256"],
        ):
            problems.append(f"PO{po}: {saved.name!r} differs from the message's attachment")
    return problems
