"""Attachment bytes: generated on demand, deterministic, with each type's real magic bytes.

A file's bytes depend only on its :class:`SimFile` (type, size hint, content seed,
name), so nothing is stored; :class:`FileStore` only caches each file's size and
sha256 once computed, for the manifest. Containers are real where it is cheap
(PDF with an xref table, PNG with CRCs, a decodable 1x1 JPEG, OOXML and ZIP via
``zipfile``, Outlook messages via ``simulator/outlook.py``) and padded with random bytes
in places readers ignore (an ``.xls`` is an OLE2 header and noise).
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Callable
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape as xml_escape

from coupadl.simulator.data import SimFile
from coupadl.simulator.outlook import MessageSpec, message_bytes, message_spec

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "msg": "application/vnd.ms-outlook",
    "eml": "message/rfc822",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "xls": "application/vnd.ms-excel",
    "csv": "text/csv; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
    "xml": "application/xml; charset=utf-8",
    "zip": "application/zip",
    "jpg": "image/jpeg",
    "png": "image/png",
}
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_DATE = (2025, 1, 1, 0, 0, 0)  # fixed, so zip bytes do not depend on the clock
_WORDS = ("alpha", "order", "delivery", "pallet", "quantity", "invoice", "steel", "valve",
          "north", "gate", "unit", "price", "batch", "shipment", "carton", "review")  # fmt: skip


def content_type(ftype: str) -> str:
    return CONTENT_TYPES.get(ftype, "application/octet-stream")


def _ascii(text: str) -> str:
    """A printable-ASCII label for places that must stay ASCII (PDF strings, mail headers)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch if " " <= ch <= "~" else "_" for ch in plain) or "attachment"


# --- text formats -----------------------------------------------------------------------


def _text_body(rng: random.Random, size: int, line: Callable[[int, str], str]) -> str:
    """About ``size`` characters of whole ``line(k, words)`` lines; fast for megabytes.

    One page of 256 lines is formatted, then repeated and cut at a line end.
    """
    words = [" ".join(rng.choices(_WORDS, k=rng.randint(4, 10))) for _ in range(16)]
    page = "".join([line(k, words[k % len(words)]) for k in range(256)])
    text = (page * (max(0, size) // len(page) + 1))[: max(0, size)]
    return text[: text.rfind("\n") + 1] or line(0, words[0])


def _noise(rng: random.Random, size: int) -> bytes:
    """``size`` random-looking bytes: a random block of up to 64 KB, repeated."""
    block = rng.randbytes(min(max(0, size), 65536))
    return (block * (size // 65536 + 1))[:size] if block else b""


def _txt(rng: random.Random, size: int, label: str) -> bytes:
    head = f"{label}\n\n"
    return (head + _text_body(rng, size - len(head), lambda k, w: f"{k + 1}. {w}.\n")).encode()


def _csv(rng: random.Random, size: int, label: str) -> bytes:
    head = "line;item;quantity;unit_price;currency\r\n"
    body = _text_body(
        rng, size - len(head), lambda k, w: f"{k + 1};{w};{k % 17 + 1};{k % 89 + 0.5:.2f};EUR\r\n"
    )
    return (head + body).encode()


def _xml(rng: random.Random, size: int, label: str) -> bytes:
    head = f'<?xml version="1.0" encoding="UTF-8"?>\n<Document title="{xml_escape(label)}">\n'
    body = _text_body(
        rng, size - len(head) - 12, lambda k, w: f'  <Line n="{k + 1}" text="{w}"/>\n'
    )
    return (head + body + "</Document>\n").encode()


def _eml(rng: random.Random, size: int, label: str) -> bytes:
    msg_id = f"{rng.getrandbits(64):016x}@supplier.example"
    head = (
        f'From: "Supplier Sales" <sales@supplier.example>\r\n'
        f"To: buyer@example.com\r\n"
        f"Subject: RE: {_ascii(label)}\r\n"
        f"Date: Tue, 14 Jan 2025 10:{rng.randint(10, 59)}:00 +0000\r\n"
        f"Message-ID: <{msg_id}>\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return (head + _text_body(rng, size - len(head), lambda k, w: f"{w}.\r\n")).encode()


# --- binary formats ---------------------------------------------------------------------


def _pdf(rng: random.Random, size: int, label: str) -> bytes:
    # Built twice: the first pass measures the fixed part, the second pads to ``size``.
    padding = _noise(rng, size)
    fixed = len(_pdf_document(label, b""))
    pad_len = max(0, size - fixed - len(str(size)))
    return _pdf_document(label, padding[:pad_len])


def _pdf_document(label: str, padding: bytes) -> bytes:
    text = _ascii(label).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    content = f"BT /F1 12 Tf 72 720 Td ({text[:90]}) Tj ET".encode()

    def stream(data: bytes) -> bytes:
        return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        stream(content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        stream(padding),  # unreferenced: padding only
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _zlib_stored(data: bytes) -> bytes:
    """A zlib stream of stored blocks: the same bytes on every zlib build."""
    out = bytearray(b"\x78\x01")
    blocks = [data[i : i + 65535] for i in range(0, len(data), 65535)] or [b""]
    for i, block in enumerate(blocks):
        final = 1 if i == len(blocks) - 1 else 0
        out += struct.pack("<BHH", final, len(block), len(block) ^ 0xFFFF) + block
    return bytes(out + struct.pack(">I", zlib.adler32(data)))


def _png(rng: random.Random, size: int, label: str) -> bytes:
    side = 16
    color = bytes(rng.randrange(256) for _ in range(3))
    rows = b"".join(b"\x00" + color * side for _ in range(side))
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    head = (
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", _zlib_stored(rows))
    )
    # "prVt": an ancillary private chunk, which decoders skip.
    pad = _png_chunk(b"prVt", _noise(rng, max(0, size - len(head) - 24)))
    return head + pad + _png_chunk(b"IEND", b"")


def _jpeg_segment(marker: int, data: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(data) + 2) + data


def _jpg(rng: random.Random, size: int, label: str) -> bytes:
    """A decodable 1x1 grey baseline JPEG padded with comment segments."""
    out = bytearray(b"\xff\xd8")
    out += _jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    remaining = max(0, size - 200)
    while remaining > 0:
        chunk = min(remaining, 65000)
        out += _jpeg_segment(0xFE, _noise(rng, chunk))
        remaining -= chunk
    out += _jpeg_segment(0xDB, b"\x00" + b"\x01" * 64)  # quantisation table of ones
    out += _jpeg_segment(0xC0, b"\x08\x00\x01\x00\x01\x01\x01\x11\x00")  # 1x1, 1 component
    one_code = b"\x01" + b"\x00" * 15 + b"\x00"  # a single code of length 1 for symbol 0
    out += _jpeg_segment(0xC4, b"\x00" + one_code)  # DC table 0
    out += _jpeg_segment(0xC4, b"\x10" + one_code)  # AC table 0: symbol 0 is end-of-block
    out += _jpeg_segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    out += b"\x3f"  # DC diff 0 ("0"), EOB ("0"), padded with ones
    return bytes(out + b"\xff\xd9")


def _ole2(rng: random.Random, size: int, label: str) -> bytes:
    """An OLE2 compound file header (xls) followed by sectors of noise."""
    header = OLE2_MAGIC + b"\x00" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
    header += b"\x00" * (512 - len(header))
    sectors = max(1, -(-(size - 512) // 512))  # rounded up to whole sectors
    return header + _noise(rng, sectors * 512)


def message_parts(sim: SimFile) -> tuple[MessageSpec, bytes]:
    """What the ``.msg`` file ``sim`` says, and the price list attached to it (about
    ``size_hint`` bytes in all: a message's fixed part is some 12 KB)."""
    rng = random.Random(sim.content_seed)
    return message_spec(sim), _csv(rng, max(256, sim.size_hint - 12_000), sim.name)


def _msg(sim: SimFile) -> bytes:
    return message_bytes(*message_parts(sim))


def _zip(entries: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.create_system = 3  # the same bytes on every OS
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_STORED  # deflate output varies across zlib builds
            archive.writestr(info, data)
    return buffer.getvalue()


_RELS_TYPE = "application/vnd.openxmlformats-package.relationships+xml"
_OFFICE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XML_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _content_types(overrides: dict[str, str]) -> bytes:
    items = "".join(f'<Override PartName="{p}" ContentType="{t}"/>' for p, t in overrides.items())
    return (
        f'{_XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="{_RELS_TYPE}"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Default Extension="bin" ContentType="application/octet-stream"/>'
        f"{items}</Types>"
    ).encode()


def _rels(target: str, rel_type: str) -> bytes:
    return (
        f"{_XML_HEAD}<Relationships "
        'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{_OFFICE_REL}/{rel_type}" Target="{target}"/>'
        "</Relationships>"
    ).encode()


def _docx(rng: random.Random, size: int, label: str) -> bytes:
    main = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    paragraphs = "".join(
        f"<w:p><w:r><w:t>{xml_escape(text)}</w:t></w:r></w:p>"
        for text in (label, *(" ".join(rng.choices(_WORDS, k=8)) for _ in range(5)))
    )
    document = (
        f'{_XML_HEAD}<w:document xmlns:w="http://schemas.openxmlformats.org/'
        f'wordprocessingml/2006/main"><w:body>{paragraphs}</w:body></w:document>'
    )
    return _zip(
        [
            ("[Content_Types].xml", _content_types({"/word/document.xml": main})),
            ("_rels/.rels", _rels("word/document.xml", "officeDocument")),
            ("word/document.xml", document.encode()),
            ("word/media/data.bin", _noise(rng, max(0, size - 1800))),
        ]
    )


def _xlsx(rng: random.Random, size: int, label: str) -> bytes:
    sheet_ns = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    kinds = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    rows = f'<row r="1"><c r="A1" t="inlineStr"><is><t>{xml_escape(label)}</t></is></c></row>'
    rows += "".join(
        f'<row r="{r}"><c r="A{r}"><v>{rng.randint(1, 999)}</v></c></row>' for r in range(2, 8)
    )
    workbook = (
        f'{_XML_HEAD}<workbook xmlns="{sheet_ns}" xmlns:r="{_OFFICE_REL}"><sheets>'
        '<sheet name="Quote" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    sheet = f'{_XML_HEAD}<worksheet xmlns="{sheet_ns}"><sheetData>{rows}</sheetData></worksheet>'
    return _zip(
        [
            (
                "[Content_Types].xml",
                _content_types(
                    {
                        "/xl/workbook.xml": f"{kinds}.sheet.main+xml",
                        "/xl/worksheets/sheet1.xml": f"{kinds}.worksheet+xml",
                    }
                ),
            ),
            ("_rels/.rels", _rels("xl/workbook.xml", "officeDocument")),
            ("xl/workbook.xml", workbook.encode()),
            ("xl/_rels/workbook.xml.rels", _rels("worksheets/sheet1.xml", "worksheet")),
            ("xl/worksheets/sheet1.xml", sheet.encode()),
            ("xl/media/data.bin", _noise(rng, max(0, size - 2600))),
        ]
    )


def _plain_zip(rng: random.Random, size: int, label: str) -> bytes:
    readme = f"{label}\r\nDrawings and certificates.\r\n".encode()
    return _zip([("README.txt", readme), ("data.bin", _noise(rng, max(0, size - 260)))])


_GENERATORS: dict[str, Callable[[random.Random, int, str], bytes]] = {
    "pdf": _pdf,
    "xls": _ole2,
    "eml": _eml,
    "docx": _docx,
    "xlsx": _xlsx,
    "zip": _plain_zip,
    "csv": _csv,
    "txt": _txt,
    "xml": _xml,
    "jpg": _jpg,
    "png": _png,
}


def file_bytes(sim: SimFile) -> bytes:
    """The file's content: the same bytes for the same :class:`SimFile`, every time."""
    if sim.ftype == "msg":
        return _msg(sim)
    generate = _GENERATORS.get(sim.ftype, _txt)
    return generate(random.Random(sim.content_seed), sim.size_hint, sim.name)


class FileStore:
    """Size and sha256 of files, and what is in a ``.msg``, computed once each (the
    bytes are never kept)."""

    def __init__(self) -> None:
        self._digests: dict[int, tuple[int, str]] = {}
        self._messages: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def digest(self, sim: SimFile) -> tuple[int, str]:
        with self._lock:
            known = self._digests.get(sim.file_id)
        if known is None:
            data = file_bytes(sim)
            known = (len(data), hashlib.sha256(data).hexdigest())
            with self._lock:
                self._digests[sim.file_id] = known
        return known

    def content(self, sim: SimFile) -> bytes:
        return file_bytes(sim)

    def message(self, sim: SimFile) -> dict[str, Any] | None:
        """For a ``.msg`` file, what is in it (the manifest's ``message``); else None."""
        if sim.ftype != "msg":
            return None
        with self._lock:
            known = self._messages.get(sim.file_id)
        if known is None:
            spec, attachment = message_parts(sim)
            known = {
                **spec.as_manifest(),
                "attachment_size": len(attachment),
                "attachment_sha256": hashlib.sha256(attachment).hexdigest(),
            }
            with self._lock:
                self._messages[sim.file_id] = known
        return dict(known)


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII ``filename`` fallback and the exact UTF-8 ``filename*``."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\' else "_" for ch in plain)
    fallback = fallback.strip() or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
