"""What a downloaded file must look like, by the type its name promises: one table.

A server in trouble answers a file request with something else: an HTML error or
sign-in page, an empty body, a transfer cut short that still looks finished (a wrong
Content-Length). The browser saves whatever came under the attachment's name, so the
bytes are checked here: the start (magic bytes) and, where the format has one, the end
marker. Types missing from the table (txt, csv, xml, eml, ...) are only checked for
being a web page when the name does not promise markup.

The table is deliberately strict only where mislabelled uploads are rare; old Office
extensions also accept the newer ZIP-based format (a .xlsx renamed .xls opens fine).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

# How many bytes of the start and of the end the checks look at.
HEAD_BYTES = 1024
TAIL_BYTES = 65_557  # a ZIP's end record sits before a comment of up to 65,535 bytes

_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")
# Extensions whose files are legitimately HTML or XML text.
MARKUP_EXTENSIONS = frozenset(
    {".htm", ".html", ".xml", ".svg", ".xhtml", ".txt", ".csv", ".eml", ".json"}
)

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ZIP_END = b"PK\x05\x06"


@dataclass(frozen=True)
class FileType:
    """The signature of one file format."""

    label: str
    starts: tuple[bytes, ...]  # the file begins with one of these...
    start_within: int = 0  # ...or contains it within this many first bytes (PDF)
    end: bytes | None = None  # an end marker that must be in the last ``end_within`` bytes
    end_within: int = 0


_PDF = FileType("PDF", (b"%PDF-",), start_within=HEAD_BYTES, end=b"%%EOF", end_within=1024)
_PNG = FileType("PNG image", (b"\x89PNG\r\n\x1a\n",), end=b"IEND\xaeB`\x82", end_within=1024)
_JPEG = FileType("JPEG image", (b"\xff\xd8\xff",))  # phones append data after the end marker
_GIF = FileType("GIF image", (b"GIF87a", b"GIF89a"))
_TIFF = FileType("TIFF image", (b"II*\x00", b"MM\x00*"))
_BMP = FileType("BMP image", (b"BM",))
_ZIP_BASED = {
    label: FileType(label, _ZIP, end=_ZIP_END, end_within=TAIL_BYTES)
    for label in ("ZIP archive", "Word document", "Excel workbook", "PowerPoint file",
                  "OpenDocument file")
}  # fmt: skip
_OLE = FileType("Outlook/Office 97 file", (OLE2,))
_OLD_WORD = FileType("Word 97 document", (OLE2, *_ZIP, b"{\\rtf"))
_OLD_EXCEL = FileType("Excel 97 workbook", (OLE2, *_ZIP))
_OLD_POWERPOINT = FileType("PowerPoint 97 file", (OLE2, *_ZIP))

TYPES: dict[str, FileType] = {
    ".pdf": _PDF,
    ".png": _PNG,
    **dict.fromkeys((".jpg", ".jpeg", ".jpe", ".jfif"), _JPEG),
    ".gif": _GIF,
    **dict.fromkeys((".tif", ".tiff"), _TIFF),
    ".bmp": _BMP,
    ".zip": _ZIP_BASED["ZIP archive"],
    **dict.fromkeys((".docx", ".docm", ".dotx"), _ZIP_BASED["Word document"]),
    **dict.fromkeys((".xlsx", ".xlsm", ".xlsb", ".xltx"), _ZIP_BASED["Excel workbook"]),
    **dict.fromkeys((".pptx", ".pptm"), _ZIP_BASED["PowerPoint file"]),
    **dict.fromkeys((".odt", ".ods", ".odp"), _ZIP_BASED["OpenDocument file"]),
    **dict.fromkeys((".msg", ".oft", ".vsd"), _OLE),
    ".doc": _OLD_WORD,
    ".xls": _OLD_EXCEL,
    ".ppt": _OLD_POWERPOINT,
    ".7z": FileType("7-Zip archive", (b"7z\xbc\xaf\x27\x1c",)),
    ".gz": FileType("gzip file", (b"\x1f\x8b",)),
    ".rar": FileType("RAR archive", (b"Rar!\x1a\x07",)),
}


def _a(label: str) -> str:
    return f"{'an' if label[0].lower() in 'aeiou' else 'a'} {label}"


def looks_like_html(head: bytes) -> bool:
    """True when the bytes start like an HTML page (an error or sign-in page)."""
    return head.lstrip().lower().startswith(_HTML_STARTS)


def _starts_like(ftype: FileType, head: bytes) -> bool:
    if ftype.start_within:
        window = head[: ftype.start_within]
        return any(sig in window for sig in ftype.starts)
    return head.startswith(ftype.starts)


def describe(head: bytes) -> str:
    """What the bytes look like, for a message: "a web page", "a ZIP archive", ..."""
    if looks_like_html(head):
        return "a web page (an error or sign-in page?)"
    if head.lstrip().startswith(b"<?xml") or head.lstrip().startswith(b"<"):
        return "an XML document (an error message?)"
    for ftype in dict.fromkeys(TYPES.values()):
        if _starts_like(ftype, head):
            return _a(ftype.label)
    return f"unknown content (first bytes {head[:8].hex(' ')})"


def problem(name: str, head: bytes, tail: bytes) -> str | None:
    """Why a non-empty file of ``name`` is not what its name promises, or None.

    ``head`` and ``tail`` are the first :data:`HEAD_BYTES` and last :data:`TAIL_BYTES`
    of the file (the same bytes when it is small).
    """
    ext = PurePath(name).suffix.lower()
    ftype = TYPES.get(ext)
    if ftype is None:
        if looks_like_html(head) and ext not in MARKUP_EXTENSIONS:
            return "the server sent a web page instead of the file"
        return None
    if not _starts_like(ftype, head):
        return f"expected {_a(ftype.label)}, but the server sent {describe(head)}"
    if ftype.end is not None and ftype.end not in tail[-ftype.end_within :]:
        return (
            f"the {ftype.label} is cut short: its end marker is missing (the transfer "
            "stopped early or the server sent a wrong length)"
        )
    return None
