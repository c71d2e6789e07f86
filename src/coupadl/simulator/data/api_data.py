"""What only the REST API shows of a PO: dates, status, total, supplier ids, API-only items.

The web pages show none of this, so it is drawn from RNG streams of its own
(``random.Random(f"{seed}-api-{number}")`` and the like), never from the data set's:
adding it changed no generated name, size or kind, and a PO's API values depend only
on the seed and the PO (a small data set is still the start of a larger one).

Ids: a PO's id is its number and a requisition's its id (``id == number`` in this
simulator); an ``AttachmentFile``'s id is the file's id (the one in the web's file
URLs); the API-only ``AttachmentUrl`` / ``AttachmentText`` items and the comments get
ids from the PO's index (:func:`comment_id`, :data:`EXTRA_ID_BASE`), so the ranges never
meet the file ids (27350000 on).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from coupadl.simulator.data.model import Comment, PurchaseOrder, Requisition

TENANT_ZONE = timezone(timedelta(hours=-7))  # the tenant's time zone, fixed (no DST)
PO_COMMENT_ID_BASE = 41_000_000  # + PO index * 100 + position
REQUISITION_COMMENT_ID_BASE = 42_000_000
EXTRA_ID_BASE = 43_000_000  # + PO index * 10 + position
_FIRST_DAY = datetime(2024, 1, 1, tzinfo=TENANT_ZONE)
_DAYS = 1035  # 2024-01-01 .. 2026-10-31
_STATUSES = ("issued", "closed", "soft_closed", "cancelled")
_STATUS_WEIGHTS = (70, 15, 8, 7)
EXTRA_SHARE = 0.4  # of the POs with files of their own: about this many get API-only items
_URLS = (
    "https://supplier.example/quotes/Q-{n}",
    "https://portal.supplier.example/orders/{po}?view=full&lang=en",
    "https://docs.example.com/specs/{n}/Rev%20B",
)
_TEXTS = (
    "Deliver to gate 4 before noon.",
    "Leverans: port 4, fråga efter Åsa.\nRing 20 minuter innan.",
    "Price agreed by phone on {n}; the quote follows by mail.",
)


@dataclass(frozen=True)
class ApiExtra:
    """An API-only attachment of a PO's header: a link or a text (no file)."""

    att_id: int
    type: str  # AttachmentUrl or AttachmentText
    intent: str
    created_at: str
    url: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class PoApi:
    """A visible PO's API-only values."""

    created_at: str
    updated_at: str
    status: str
    total: str
    supplier_id: int
    supplier_name: str
    supplier_number: str
    extras: tuple[ApiExtra, ...]


def iso(moment: datetime) -> str:
    """Coupa's timestamp form: seconds and the tenant's offset, e.g. ``-07:00``."""
    return moment.astimezone(TENANT_ZONE).isoformat(timespec="seconds")


def _created(rng: random.Random) -> datetime:
    return _FIRST_DAY + timedelta(days=rng.randrange(_DAYS), seconds=rng.randrange(86_400))


def split_supplier(supplier: str) -> tuple[str, str]:
    """``(name, number)`` of the web's ``<name>-<number>`` (the number has no dash)."""
    name, _, number = supplier.rpartition("-")
    return name, number


def supplier_id(supplier: str) -> int:
    return 10_000 + int.from_bytes(hashlib.sha256(supplier.encode()).digest()[:4]) % 90_000


def po_total(po: PurchaseOrder) -> str:
    return f"{sum(line.quantity * line.unit_price for line in po.lines):.2f}"


def _extras(rng: random.Random, po: PurchaseOrder, created: datetime) -> tuple[ApiExtra, ...]:
    own_files = po.attachments.header or po.attachments.comment_files
    if not (po.visible and own_files) or rng.random() >= EXTRA_SHARE:
        return ()
    extras = []
    for position in range(rng.randint(1, 2)):
        when = iso(created + timedelta(hours=rng.randint(1, 200)))
        att_id = EXTRA_ID_BASE + po.index * 10 + position
        intent = rng.choice(("Internal", "Supplier"))
        n = rng.randint(1000, 99999)
        if rng.random() < 0.5:
            url = rng.choice(_URLS).format(n=n, po=po.number)
            extras.append(ApiExtra(att_id, "AttachmentUrl", intent, when, url=url))
        else:
            text = rng.choice(_TEXTS).format(n=n)
            extras.append(ApiExtra(att_id, "AttachmentText", intent, when, text=text))
    return tuple(extras)


def po_api(seed: int, po: PurchaseOrder) -> PoApi:
    """The API values of a visible PO, from its own RNG stream."""
    rng = random.Random(f"{seed}-api-{po.number}")
    created = _created(rng)
    updated = created + timedelta(hours=rng.randint(0, 24 * 40))
    status = rng.choices(_STATUSES, _STATUS_WEIGHTS)[0]
    name, number = split_supplier(po.supplier)
    return PoApi(
        created_at=iso(created),
        updated_at=iso(updated),
        status=status,
        total=po_total(po),
        supplier_id=supplier_id(po.supplier),
        supplier_name=name,
        supplier_number=number,
        extras=_extras(rng, po, created),
    )


def requisition_created(seed: int, requisition: Requisition, po_created: str) -> str:
    """A requisition is made a few hours to days before its PO."""
    rng = random.Random(f"{seed}-api-req-{requisition.req_id}")
    return iso(datetime.fromisoformat(po_created) - timedelta(hours=rng.randint(2, 24 * 9)))


def file_meta(seed: int, file_id: int, owner_created: str) -> tuple[str, str]:
    """``(intent, created-at)`` of an ``AttachmentFile`` on a document made then."""
    rng = random.Random(f"{seed}-api-file-{file_id}")
    intent = rng.choice(("Internal", "Supplier", "Email"))
    return intent, iso(
        datetime.fromisoformat(owner_created) + timedelta(minutes=rng.randint(5, 9000))
    )


def comment_id(po_index: int, position: int, *, requisition: bool = False) -> int:
    """A comment's id from its PO's index and its place among the document's comments."""
    base = REQUISITION_COMMENT_ID_BASE if requisition else PO_COMMENT_ID_BASE
    return base + po_index * 100 + position


def comment_created(comment: Comment) -> str:
    """The comment's page time (``01/14/25 3:04 PM``, tenant time) as a timestamp."""
    moment = datetime.strptime(comment.when, "%m/%d/%y %I:%M %p").replace(tzinfo=TENANT_ZONE)
    return iso(moment)


def comment_text(comment: Comment) -> str:
    if comment.requisition_ref:
        return f"{comment.text} Requisition #{comment.requisition_ref}"
    return comment.text


def parse_time(value: str) -> datetime:
    """A timestamp or date as the API reads a filter: no offset means tenant time."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=TENANT_ZONE)


def _extra_entry(extra: ApiExtra) -> dict[str, object]:
    entry: dict[str, object] = {"id": extra.att_id, "type": extra.type, "intent": extra.intent}
    entry.update({"url": extra.url} if extra.type == "AttachmentUrl" else {"text": extra.text})
    return entry


def manifest_entry(
    seed: int, po: PurchaseOrder, requisition: Requisition | None
) -> tuple[dict[str, object] | None, list[dict[str, object]]]:
    """The manifest's ``api`` (None for a PO the API refuses or does not know) and
    ``api_extras`` (the API-only header items, which no web engine fetches) of ``po``."""
    if not po.visible:
        return None, []
    values = po_api(seed, po)
    api: dict[str, object] = {
        "id": int(po.number),
        "status": values.status,
        "created_at": values.created_at,
        "updated_at": values.updated_at,
        "total": values.total,
        "currency": po.currency,
        "supplier": {
            "id": values.supplier_id,
            "name": values.supplier_name,
            "number": values.supplier_number,
        },
        "comment_ids": [comment_id(po.index, k) for k in range(len(po.attachments.comments))],
        "requisition": None,
    }
    if requisition is not None:
        comments = requisition.attachments.comments
        api["requisition"] = {
            "id": int(requisition.req_id),
            "created_at": requisition_created(seed, requisition, values.created_at),
            "comment_ids": [
                comment_id(po.index, k, requisition=True) for k in range(len(comments))
            ],
        }
    return api, [_extra_entry(extra) for extra in values.extras]
