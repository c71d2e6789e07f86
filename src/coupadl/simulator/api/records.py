"""The JSON of each REST API resource, with Coupa's hyphenated keys (coupa-facts.md).

Compact but plausible: a PO has its number, status, dates, supplier, requisition,
currency, total and order lines; attachments carry ``id``, ``type``, ``intent``,
``file-url``, ``file-file-name``, ``file-content-type``, ``file-file-size``, ``url``,
``text`` and ``created-at``. Decimals are strings with two places, as Coupa writes them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coupadl.simulator.api.catalog import PO, CommentRef, Document
from coupadl.simulator.data.api_data import (
    ApiExtra,
    comment_created,
    comment_text,
    file_meta,
)
from coupadl.simulator.data.model import SimFile
from coupadl.simulator.files import content_type

Record = dict[str, Any]
FILE_PATH = "/api/attachments/{id}/file"  # where ``file-url`` points (needs the token)


def _lines(document: Document) -> list[Record]:
    return [
        {
            "id": document.api_id * 100 + k,
            "line-num": k + 1,
            "description": line.description,
            "quantity": f"{line.quantity:.2f}",
            "price": f"{line.unit_price:.2f}",
            "total": f"{line.quantity * line.unit_price:.2f}",
        }
        for k, line in enumerate(document.po.lines)
    ]


def po_record(document: Document) -> Record:
    po, values = document.po, document.values
    return {
        "id": document.api_id,
        "po-number": po.number,
        "status": values.status,
        "created-at": values.created_at,
        "updated-at": values.updated_at,
        "supplier": {
            "id": values.supplier_id,
            "name": values.supplier_name,
            "number": values.supplier_number,
        },
        "requisition-header": {"id": int(po.requisition_id)} if po.requisition_id else None,
        "currency": {"code": po.currency},
        "total": values.total,
        "created-by": {"fullname": po.buyer},
        "order-lines": _lines(document),
    }


def requisition_record(document: Document) -> Record:
    requisition = document.requisition
    assert requisition is not None
    return {
        "id": document.api_id,
        "status": "ordered",
        "created-at": document.created_at,
        "updated-at": document.values.created_at,  # ordered when its PO was made
        "justification": requisition.title,
        "requested-by": {"fullname": requisition.requester},
        "currency": {"code": document.po.currency},
        "purchase-orders": [{"id": int(document.po.number), "po-number": document.po.number}],
    }


def document_record(document: Document) -> Record:
    return po_record(document) if document.kind == PO else requisition_record(document)


def comment_record(ref: CommentRef) -> Record:
    document = ref.document
    return {
        "id": ref.comment_id,
        "comments": comment_text(ref.comment),
        "created-at": comment_created(ref.comment),
        "created-by": {"fullname": ref.comment.author},
        "commentable-type": "OrderHeader" if document.kind == PO else "RequisitionHeader",
        "commentable-id": document.api_id,
    }


def file_attachment(sim: SimFile, size: int, base: str, seed: int, owner_created: str) -> Record:
    intent, created = file_meta(seed, sim.file_id, owner_created)
    return {
        "id": sim.file_id,
        "type": "AttachmentFile",
        "intent": intent,
        "file-url": base + FILE_PATH.format(id=sim.file_id),
        "file-file-name": sim.name,
        "file-content-type": content_type(sim.ftype).split(";")[0],
        "file-file-size": size,
        "url": None,
        "text": None,
        "created-at": created,
    }


def extra_attachment(extra: ApiExtra) -> Record:
    return {
        "id": extra.att_id,
        "type": extra.type,
        "intent": extra.intent,
        "file-url": None,
        "file-file-name": None,
        "file-content-type": None,
        "file-file-size": None,
        "url": extra.url,
        "text": extra.text,
        "created-at": extra.created_at,
    }


def header_attachments(
    document: Document, base: str, seed: int, size: Callable[[SimFile], int]
) -> list[Record]:
    """The document's own (header) attachments: its files, then a PO's API-only items."""
    files = [file_attachment(f, size(f), base, seed, document.created_at) for f in document.header]
    extras = document.values.extras if document.kind == PO else ()
    return files + [extra_attachment(extra) for extra in extras]


def comment_attachments(
    ref: CommentRef, base: str, seed: int, size: Callable[[SimFile], int]
) -> list[Record]:
    created = comment_created(ref.comment)
    return [file_attachment(f, size(f), base, seed, created) for f in ref.comment.files]
