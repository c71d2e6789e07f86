"""What the REST API's JSON records say, read into plain values.

Keys are Coupa's hyphenated ones (coupa-facts.md). A PO's supplier is written as the
web page writes it, ``<name>-<number>``, so every engine gives a PO the same folder.
Attachments come in three types: ``AttachmentFile`` (bytes at ``file-url``),
``AttachmentUrl`` (a link, saved as a ``.url`` shortcut) and ``AttachmentText`` (a
note, saved as a ``.txt`` file); the last two have no bytes on the server, so their
content travels in a ``data:`` URL that the engine writes without a request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote_to_bytes, urlsplit

from coupadl.models import Attachment, AttachmentSource

FILE, LINK, TEXT = "AttachmentFile", "AttachmentUrl", "AttachmentText"
DATA_PREFIX = "data:application/octet-stream"
_NAME_CHARS = 80  # of a link's address or a note's first words, in its file name


@dataclass(frozen=True)
class ApiPO:
    record_id: str  # the API id (on the tenants seen so far, the number)
    number: str
    supplier: str
    requisition_id: str
    status: str = ""
    created_at: str = ""
    total: str = ""


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def supplier_text(supplier: Mapping[str, Any] | None) -> str:
    """``<name>-<number>`` as the PO page shows it; the name alone without a number."""
    if not supplier:
        return ""
    name, number = _text(supplier.get("name")), _text(supplier.get("number"))
    return f"{name}-{number}" if name and number else name


def matching_pos(records: Iterable[Mapping[str, Any]], po_number: str) -> list[Mapping[str, Any]]:
    """The records whose ``po-number`` is ``po_number``: a filter the API does not know
    may be ignored and answer other POs (the facts), so the answer is never trusted."""
    return [r for r in records if _text(r.get("po-number")) == po_number]


def read_po(record: Mapping[str, Any]) -> ApiPO:
    requisition = record.get("requisition-header") or {}
    return ApiPO(
        record_id=_text(record.get("id")),
        number=_text(record.get("po-number")),
        supplier=supplier_text(record.get("supplier")),
        requisition_id=_text(requisition.get("id")) if isinstance(requisition, Mapping) else "",
        status=_text(record.get("status")),
        created_at=_text(record.get("created-at")),
        total=_text(record.get("total")),
    )


def comment_ids(records: Iterable[Mapping[str, Any]]) -> list[str]:
    return [_text(r.get("id")) for r in records if _text(r.get("id"))]


def data_url(content: bytes, record_id: str) -> str:
    """A ``data:`` URL holding ``content`` (percent-encoded, so any bytes survive). The
    record's id is a parameter of it: two notes of the same text are two attachments
    (the flow keeps one attachment per URL)."""
    return f"{DATA_PREFIX};coupa-id={quote(record_id, safe='')},{quote(content, safe='')}"


def data_of(url: str) -> bytes | None:
    """The bytes of a :func:`data_url`, or None for any other URL."""
    if not url.startswith(DATA_PREFIX + ";"):
        return None
    return unquote_to_bytes(url.partition(",")[2])


def shortcut(link: str) -> bytes:
    """An Internet shortcut (``.url``) file: Windows and macOS open it in the browser."""
    return f"[InternetShortcut]\r\nURL={link}\r\n".encode()


def _link_name(link: str, record_id: str) -> str:
    parts = urlsplit(link)
    words = (parts.netloc + parts.path).strip("/").replace("/", " - ") or f"link {record_id}"
    return words[:_NAME_CHARS].strip() + ".url"


def _note_name(text: str, record_id: str) -> str:
    words = " ".join(text.split()[:8])[:_NAME_CHARS].strip()
    return f"Note {record_id} - {words}.txt" if words else f"Note {record_id}.txt"


def read_attachment(record: Mapping[str, Any], source: AttachmentSource) -> Attachment | None:
    """One attachment record as the flow lists it; None for a type coupadl cannot save
    (logged by the caller) or a file record without its URL."""
    kind, record_id = _text(record.get("type")), _text(record.get("id"))
    if kind == FILE:
        url = _text(record.get("file-url"))
        name = _text(record.get("file-file-name")) or f"attachment {record_id}"
        size = record.get("file-file-size")
        size = size if isinstance(size, int) and size >= 0 else None  # refresh matches on it
        return Attachment(name=name, url=url, source=source, size=size) if url else None
    if kind == LINK and _text(record.get("url")):
        link = _text(record.get("url"))
        return Attachment(_link_name(link, record_id), data_url(shortcut(link), record_id), source)
    if kind == TEXT and record.get("text") is not None:
        text = str(record.get("text"))
        return Attachment(_note_name(text, record_id), data_url(text.encode(), record_id), source)
    return None


def listed_sizes(records: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """``file-url`` -> ``file-file-size`` of the file records that say their size."""
    sizes = {}
    for record in records:
        url, size = _text(record.get("file-url")), record.get("file-file-size")
        if url and isinstance(size, int) and size >= 0:
            sizes[url] = size
    return sizes


def read_attachments(
    records: Sequence[Mapping[str, Any]], source: AttachmentSource
) -> tuple[list[Attachment], list[str]]:
    """The records coupadl saves, in the API's order, and the types of those it skips."""
    kept: list[Attachment] = []
    skipped: list[str] = []
    for record in records:
        attachment = read_attachment(record, source)
        if attachment is None:
            skipped.append(_text(record.get("type")) or "(no type)")
        else:
            kept.append(attachment)
    return kept, skipped
