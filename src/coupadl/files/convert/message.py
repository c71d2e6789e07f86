"""Read an Outlook ``.msg`` file (with ``extract-msg``) into plain data.

Everything the PDF needs is copied out while the file is open, so the rest of the
conversion never touches the OLE file again. Untrusted input: any part that cannot
be read (a body, a date, one attachment) is left out and said so, and only a file
that cannot be opened as a message at all raises :class:`InvalidMessageError`.
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from coupadl.files.convert.bodytext import clean_text, html_to_text, rtf_to_text
from coupadl.files.convert.errors import InvalidMessageError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Dates outside this range are Outlook's "no date" markers (1601, 4501) or garbage.
_PLAUSIBLE_YEARS = range(1980, 2200)
_PR_CLIENT_SUBMIT_TIME = "00390040"
_PR_MESSAGE_DELIVERY_TIME = "0E060040"
_PR_CREATION_TIME = "30070040"


@dataclass(frozen=True)
class EmbeddedItem:
    """One attachment inside a message."""

    name: str  # as the message names it: unsanitised, may be hostile
    data: bytes | None  # None: nothing to save (a link, an unsupported or broken entry)
    is_message: bool = False  # an e-mail attached as an item (saved as .msg)
    note: str = ""  # why ``data`` is None


@dataclass(frozen=True)
class EmailContent:
    """What the PDF of one message shows."""

    subject: str = ""
    sender: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    date: str = ""  # ready to show; "" when the message has none
    body: str = ""
    body_source: str = ""  # "text", "html", "rtf" or "" (no body)
    attachments: tuple[EmbeddedItem, ...] = ()


def _attempt(what: str, source: Path, read: Callable[[], T]) -> T | None:
    """``read()``, or None when the parser fails on this part of a hostile file."""
    try:
        return read()
    except Exception as exc:  # noqa: BLE001 - third-party parser of untrusted bytes
        log.debug("%s: cannot read the %s: %s: %s", source.name, what, type(exc).__name__, exc)
        return None


def _text(value: object) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return clean_text(value).strip() if isinstance(value, str) else ""


def format_date(value: datetime) -> str:
    """``2013-11-18 08:26:24 +00:00``; a naive time is shown as it is."""
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    offset = value.strftime("%z")
    return f"{text} {offset[:3]}:{offset[3:]}" if offset else text


def _plausible(value: object) -> datetime | None:
    if not isinstance(value, datetime) or type(value).__name__ == "NullDate":
        return None
    return value if value.year in _PLAUSIBLE_YEARS else None


def _date(msg: Any, source: Path) -> str:
    """Sent date, else the header's Date, else delivery time, else creation time (said so)."""
    prop = getattr(msg, "getPropertyVal", None)

    def prop_date(prop_id: str) -> datetime | None:
        if prop is None:
            return None
        return _plausible(_attempt(f"property {prop_id}", source, lambda: prop(prop_id)))

    sent = prop_date(_PR_CLIENT_SUBMIT_TIME)
    if sent is not None:
        return format_date(sent)
    header = _attempt("header", source, lambda: msg.header)
    raw = header.get("Date") if header is not None and hasattr(header, "get") else None
    if raw:
        parsed = _attempt("header date", source, lambda: email.utils.parsedate_to_datetime(raw))
        plausible = _plausible(parsed)
        # Odd but present (unparsable, year 4501): shown as written, never dropped.
        return format_date(plausible) if plausible is not None else _text(raw)
    delivered = prop_date(_PR_MESSAGE_DELIVERY_TIME)
    if delivered is not None:
        return format_date(delivered)
    created = prop_date(_PR_CREATION_TIME)
    if created is not None:
        return f"{format_date(created)} (created; the message has no sent date)"
    return ""


def _body(msg: Any, source: Path) -> tuple[str, str]:
    """Plain text first, then HTML (also de-encapsulated from RTF), then raw RTF."""
    plain = _text(_attempt("text body", source, lambda: msg.body))
    if plain:
        return plain, "text"
    html = _attempt("HTML body", source, lambda: msg.htmlBody)
    if html:
        text = _attempt("HTML body", source, lambda: html_to_text(html))
        if text:
            return text, "html"
    rtf = _attempt("RTF body", source, lambda: msg.rtfBody)
    if isinstance(rtf, bytes) and rtf:
        text = _attempt("RTF body", source, lambda: rtf_to_text(rtf))
        if text:
            return text, "rtf"
    return "", ""


def _attachment_name(att: Any, index: int, source: Path) -> str:
    for attr in ("longFilename", "name", "shortFilename", "displayName"):
        value = _attempt(
            f"attachment {index} name", source, functools.partial(getattr, att, attr, None)
        )
        if isinstance(value, str) and value.strip():
            return value.strip()
    return f"attachment {index}"


def _embedded(att: Any, index: int, source: Path) -> EmbeddedItem:
    name = _attachment_name(att, index, source)
    data = _attempt(f"attachment {name!r}", source, lambda: att.data)
    if isinstance(data, bytes | bytearray):
        return EmbeddedItem(name, bytes(data))
    if data is not None and hasattr(data, "exportBytes"):
        # An e-mail attached as an item: keep it as a .msg of its own.
        subject = _text(_attempt("embedded subject", source, lambda: data.subject))
        if name == f"attachment {index}" and subject:
            name = subject
        if not name.lower().endswith(".msg"):
            name += ".msg"
        exported = _attempt(f"embedded message {name!r}", source, lambda: data.exportBytes())
        if isinstance(exported, bytes) and exported:
            return EmbeddedItem(name, exported, is_message=True)
        return EmbeddedItem(name, None, is_message=True, note="embedded e-mail could not be read")
    kind = _attempt("attachment type", source, lambda: att.type)
    label = getattr(kind, "name", "")
    note = "a link, not embedded" if label == "WEB" else "could not be read"
    return EmbeddedItem(name, None, note=note)


@contextlib.contextmanager
def _parser_quiet() -> Iterator[None]:
    """extract-msg logs ERRORs of its own for a file it cannot parse, then raises; the
    caller logs one line per file instead. Children of its logger inherit the level."""
    parser_log = logging.getLogger("extract_msg")
    level = parser_log.level
    parser_log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        parser_log.setLevel(level)


def read_msg(path: Path) -> EmailContent:
    """The headers, body text and attachments of the Outlook message at ``path``."""
    with _parser_quiet():
        return _read(path)


def _read(path: Path) -> EmailContent:
    import extract_msg  # imported here: half a second, paid only when there is a .msg

    try:
        # openMsg is typed as the base MSGFile; a mail message has the fields used below.
        msg: Any = extract_msg.openMsg(str(path))
    except Exception as exc:  # any parser error means "not a readable .msg"
        raise InvalidMessageError(
            f"{path.name} is not a valid Outlook message ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        body, body_source = _body(msg, path)
        attachments = _attempt("attachment list", path, lambda: list(msg.attachments)) or []
        return EmailContent(
            subject=_text(_attempt("subject", path, lambda: msg.subject)),
            sender=_text(_attempt("sender", path, lambda: msg.sender)),
            to=_text(_attempt("To", path, lambda: msg.to)),
            cc=_text(_attempt("Cc", path, lambda: msg.cc)),
            bcc=_text(_attempt("Bcc", path, lambda: msg.bcc)),
            date=_date(msg, path),
            body=body,
            body_source=body_source,
            attachments=tuple(
                _embedded(att, i, path) for i, att in enumerate(attachments, start=1)
            ),
        )
    finally:
        _attempt("file handle", path, msg.close)
