"""The data set by REST API id: POs, requisitions, comments, and each document's items.

Built once per app from the data set (cheap: no file bytes). A PO's id is its number,
a requisition's its id; comments get :func:`~coupadl.simulator.data.api_data.comment_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from coupadl.simulator.data.api_data import (
    PoApi,
    comment_id,
    po_api,
    requisition_created,
)
from coupadl.simulator.data.model import (
    Comment,
    Dataset,
    Kind,
    PurchaseOrder,
    Requisition,
    SimFile,
)

PO = "purchase_order"
REQUISITION = "requisition"


@dataclass(frozen=True)
class Document:
    """A PO or a requisition the API shows: what its records and attachments need."""

    kind: str  # PO or REQUISITION
    api_id: int
    po: PurchaseOrder  # the PO itself, or the requisition's PO
    values: PoApi  # the PO's API values
    created_at: str  # the document's own
    requisition: Requisition | None = None  # for a requisition

    @property
    def header(self) -> tuple[SimFile, ...]:
        owner = self.requisition if self.requisition else self.po
        return owner.attachments.header

    @property
    def comments(self) -> tuple[Comment, ...]:
        owner = self.requisition if self.requisition else self.po
        return owner.attachments.comments

    @property
    def comment_ids(self) -> list[int]:
        is_req = self.kind == REQUISITION
        return [comment_id(self.po.index, k, requisition=is_req) for k in range(len(self.comments))]


@dataclass(frozen=True)
class CommentRef:
    comment_id: int
    document: Document
    comment: Comment


class Catalog:
    """Lookups by API id. ``denied`` and ``absent`` hold the ids of the data set's
    DENIED POs (403) and NOT_FOUND POs (unknown to the API: 404)."""

    def __init__(self, dataset: Dataset) -> None:
        self.seed = dataset.seed
        self.pos: dict[int, Document] = {}
        self.requisitions: dict[int, Document] = {}
        self.comments: dict[int, CommentRef] = {}
        self.denied: set[int] = set()
        self._records: dict[str, list[dict[str, Any]]] = {}
        for number, po in dataset.pos.items():
            if po.kind is Kind.DENIED:
                self.denied.add(int(number))
            if not po.visible:
                continue
            document = self._add_po(po)
            requisition = dataset.requisitions.get(po.requisition_id or "")
            if requisition is not None:
                self._add_requisition(requisition, document)

    def update_po(self, po: PurchaseOrder) -> None:
        """The PO changed (a file was added): index it again, render records afresh."""
        self._add_po(po)
        self._records.clear()

    def _add_po(self, po: PurchaseOrder) -> Document:
        values = po_api(self.seed, po)
        document = Document(PO, int(po.number), po, values, values.created_at)
        self.pos[document.api_id] = document
        self._add_comments(document)
        return document

    def _add_requisition(self, requisition: Requisition, po_document: Document) -> None:
        created = requisition_created(self.seed, requisition, po_document.created_at)
        document = Document(
            REQUISITION,
            int(requisition.req_id),
            po_document.po,
            po_document.values,
            created,
            requisition,
        )
        self.requisitions[document.api_id] = document
        self._add_comments(document)

    def _add_comments(self, document: Document) -> None:
        for cid, comment in zip(document.comment_ids, document.comments, strict=True):
            self.comments[cid] = CommentRef(cid, document, comment)

    def document(self, kind: str, key: str) -> Document | None:
        """The PO or requisition of the path's id (digits only), or None."""
        if not key.isdigit():
            return None
        return (self.pos if kind == PO else self.requisitions).get(int(key))

    def records(
        self, kind: str, render: Callable[[Document], dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Every PO's or requisition's record, rendered once (they do not change)."""
        cached = self._records.get(kind)
        if cached is None:
            documents = (self.pos if kind == PO else self.requisitions).values()
            cached = self._records[kind] = [render(d) for d in documents]
        return cached
