"""Write the PDF of one e-mail with ``fpdf2``: headers, attachment list, body text.

The text is Unicode throughout: a TrueType font is embedded (DejaVu Sans on Debian,
``fonts-dejavu-core``), never one of the PDF core fonts, which only know Latin-1.
Without such a font nothing is written: :class:`FontMissingError` says what to install.
"""

from __future__ import annotations

import copy
import functools
import io
import logging
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from coupadl.files.convert.errors import FontMissingError
from coupadl.files.convert.message import EmailContent

if TYPE_CHECKING:
    from fpdf import FPDF

log = logging.getLogger(__name__)

FONT_PACKAGE = "fonts-dejavu-core"
_WINDOWS_FONTS = Path(os.environ.get("WINDIR", r"C:\Windows")) / "Fonts"
# (regular, bold) pairs, the first whose regular file exists wins.
FONT_CANDIDATES: tuple[tuple[Path, Path], ...] = (
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),  # Debian, Ubuntu
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
    (
        Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf"),  # Fedora
        Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf"),
    ),
    (Path("/usr/share/fonts/TTF/DejaVuSans.ttf"), Path("/usr/share/fonts/TTF/DejaVuSans-Bold.ttf")),
    (
        Path("/System/Library/Fonts/Supplemental/Arial Unicode.ttf"),  # macOS
        Path("/System/Library/Fonts/Supplemental/Arial Bold.ttf"),
    ),
    (_WINDOWS_FONTS / "arial.ttf", _WINDOWS_FONTS / "arialbd.ttf"),
)

# A body this long would take minutes and thousands of pages: the rest is cut, said so.
MAX_BODY_CHARS = 500_000
_FAMILY = "body"
_MARGIN = 15.0  # mm
_LABEL_WIDTH = 26.0  # mm
_LINE = 5.0  # mm, for 10 pt text


@dataclass(frozen=True)
class PdfFont:
    regular: Path
    bold: Path | None = None


def find_font(candidates: Sequence[tuple[Path, Path]] = FONT_CANDIDATES) -> PdfFont:
    """The first installed Unicode font of ``candidates``, or :class:`FontMissingError`."""
    for regular, bold in candidates:
        if regular.is_file():
            return PdfFont(regular, bold if bold.is_file() else None)
    tried = ", ".join(str(regular) for regular, _ in candidates)
    raise FontMissingError(
        f"no Unicode TrueType font for the PDF of .msg files (looked for {tried}); "
        f"on Debian/Ubuntu: apt-get install {FONT_PACKAGE}"
    )


@functools.lru_cache(maxsize=1)
def default_font() -> PdfFont:
    """:func:`find_font` on the usual places, looked up once per process."""
    return find_font()


def _row(pdf: FPDF, label: str, value: str) -> None:
    """A bold label, then the value wrapped in the column to its right."""
    from fpdf.enums import XPos, YPos

    pdf.set_font(_FAMILY, "B", 10)
    pdf.cell(_LABEL_WIDTH, _LINE, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
    pdf.set_font(_FAMILY, "", 10)
    pdf.multi_cell(0, _LINE, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


_TEMPLATE_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _template(font: PdfFont) -> FPDF:
    """An empty document with ``font`` added. Adding a face parses it (some 0.04 CPU-s
    each), so that is done once per process and every PDF starts as a deep copy of this
    one, as fpdf2 copies documents itself: 0.08 CPU-s per PDF instead of 0.12."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=_MARGIN)
    pdf.add_font(_FAMILY, "", str(font.regular))
    # Without a bold face, "bold" text uses the regular one rather than failing.
    pdf.add_font(_FAMILY, "B", str(font.bold or font.regular))
    return pdf


@functools.lru_cache(maxsize=8)
def _font_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _new_document(font: PdfFont) -> FPDF:
    """A fresh document from the template. fpdf2's copy shares each face's fontTools
    object, which writing the PDF subsets in place, so every copy gets its own, opened
    lazily from the font's bytes (cheap: only the tables the subset needs are read)."""
    from fontTools.ttLib import TTFont
    from fpdf.fonts import TTFFont

    with _TEMPLATE_LOCK:  # lazy tables: reading the template can write to it
        pdf = copy.deepcopy(_template(font))
    for face in pdf.fonts.values():
        if isinstance(face, TTFFont):
            data = io.BytesIO(_font_bytes(Path(face.ttffile)))
            face.ttfont = TTFont(data, recalcTimestamp=False, lazy=True)
    return pdf


def render_pdf(content: EmailContent, attachment_lines: Sequence[str], font: PdfFont) -> bytes:
    """The PDF of ``content``; ``attachment_lines`` describe its attachments, one each."""
    from fpdf.enums import XPos, YPos

    pdf = _new_document(font)
    pdf.set_creator("coupadl")
    pdf.set_title(content.subject or "(no subject)")
    if content.sender:
        pdf.set_author(content.sender)
    pdf.add_page()

    pdf.set_font(_FAMILY, "B", 14)
    pdf.multi_cell(
        0, 7, content.subject or "(no subject)", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
    )
    pdf.ln(2)
    rows = [
        ("From:", content.sender),
        ("To:", content.to),
        ("Cc:", content.cc),
        ("Bcc:", content.bcc),
        ("Date:", content.date or "(not in the message)"),
        ("Subject:", content.subject),
    ]
    for label, value in rows:
        if value or label in ("From:", "To:", "Subject:"):
            _row(pdf, label, value or "-")
    _row(pdf, "Attachments:", "\n".join(attachment_lines) if attachment_lines else "none")

    pdf.ln(2)
    y = pdf.get_y()
    pdf.line(_MARGIN, y, pdf.w - _MARGIN, y)
    pdf.ln(3)
    pdf.set_font(_FAMILY, "", 10)
    body = content.body
    if len(body) > MAX_BODY_CHARS:
        log.warning("message body of %d characters cut to %d in the PDF", len(body), MAX_BODY_CHARS)
        body = body[:MAX_BODY_CHARS] + f"\n\n[... {len(content.body) - MAX_BODY_CHARS} more "
        body += "characters not shown: see the .msg file]"
    pdf.multi_cell(0, _LINE, body or "(no body text)", align="L")
    return bytes(pdf.output())
