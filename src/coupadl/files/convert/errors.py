"""Typed errors of the .msg → PDF conversion, with stable codes.

None of them changes a PO's download status: the pipeline logs them and notes them
in the PO's result message.
"""

from __future__ import annotations

from coupadl.errors import CoupadlError


class ConversionError(CoupadlError):
    """A .msg file could not be turned into a PDF."""

    code = "E_MSG_CONVERT"


class InvalidMessageError(ConversionError):
    """The file is not an Outlook message that can be read."""

    code = "E_MSG_INVALID"


class FontMissingError(ConversionError):
    """No Unicode TrueType font to embed in the PDF."""

    code = "E_PDF_FONT"
