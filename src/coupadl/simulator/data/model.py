"""The simulated tenant's data model: POs, requisitions, comments, files, and the data set.

Plain frozen records; :mod:`coupadl.simulator.data.generate` fills them. File bytes are
not held here: a :class:`SimFile` only says what to generate (see ``simulator/files.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

FILE_TYPES = ("pdf", "docx", "xlsx", "msg", "eml", "xls", "csv", "txt", "xml", "zip", "jpg", "png")


class Kind(StrEnum):
    """What is special about a PO; the manifest's ``kind``."""

    BOTH = "both"  # files in the header and in comments
    COMMENT = "comment"
    HEADER = "header"
    REQUISITION_ONLY = "requisition_only"  # the PO has none, its requisition has some
    NO_PDF = "no_pdf"  # PO files but no PDF; the requisition has one and shares a file
    DUPLICATES = "duplicates"  # one file attached twice, different files with one name
    NONE = "none"
    UNICODE = "unicode"  # non-ASCII and very long names
    HOSTILE = "hostile"  # names that try to escape folders or fool the eye
    NOT_FOUND = "not_found"
    DENIED = "denied"


ERROR_KINDS = frozenset({Kind.NOT_FOUND, Kind.DENIED})


@dataclass(frozen=True)
class SimFile:
    """One attachment file: its id (in URLs), page name, type and generation inputs, and
    the name a run must save it under (:mod:`~coupadl.simulator.data.saved_names`)."""

    file_id: int
    name: str
    ftype: str
    size_hint: int
    content_seed: int
    saved_name: str = ""  # set by the generator; "" only for files made by hand


@dataclass(frozen=True)
class Comment:
    author: str
    when: str
    text: str
    files: tuple[SimFile, ...] = ()
    requisition_ref: str | None = None  # rendered as a "Requisition #id" link


@dataclass(frozen=True)
class Attachments:
    """The attachments of one page: header list and comments."""

    header: tuple[SimFile, ...] = ()
    comments: tuple[Comment, ...] = ()

    @property
    def comment_files(self) -> tuple[SimFile, ...]:
        return tuple(f for c in self.comments for f in c.files)

    def listed(self, header_source: str, comment_source: str) -> list[tuple[str, SimFile]]:
        """(source, file) in page order: header first, then comments."""
        return [(header_source, f) for f in self.header] + [
            (comment_source, f) for f in self.comment_files
        ]


@dataclass(frozen=True)
class Requisition:
    req_id: str
    po_number: str
    title: str
    requester: str
    attachments: Attachments


@dataclass(frozen=True)
class OrderLine:
    description: str
    quantity: int
    unit_price: float


@dataclass(frozen=True)
class PurchaseOrder:
    number: str
    index: int
    kind: Kind
    supplier: str = ""  # "" for POs the user cannot see
    supplier_title: str = ""
    supplier_folder: str = ""  # the folder a run must put the PO's folder in
    requisition_id: str | None = None
    attachments: Attachments = field(default_factory=Attachments)
    lines: tuple[OrderLine, ...] = ()
    currency: str = "EUR"
    order_date: str = ""
    buyer: str = ""
    notice: str = ""  # a harmless div.notice text, or ""
    lang: str = "en"  # language of the not-found page

    @property
    def visible(self) -> bool:
        return self.kind not in ERROR_KINDS


@dataclass(frozen=True)
class Dataset:
    seed: int
    pos: dict[str, PurchaseOrder]
    requisitions: dict[str, Requisition]
    files: dict[int, SimFile]

    def po(self, number: str) -> PurchaseOrder | None:
        return self.pos.get(number)
