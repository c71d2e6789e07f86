"""The simulated tenant's data: POs, requisitions, files, and the expected outcome.

Everything is a pure function of ``(n_pos, seed)``. The kinds of PO rotate in a fixed
order so that any data set of at least ``len(KIND_ROTATION)`` POs holds every kind;
the seed varies names, sizes, suppliers and contents. File bytes are not held here:
a :class:`SimFile` only says what to generate (see ``files.py``).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from coupadl.files.names import sanitize_name, unique_name

FILE_TYPES = ("pdf", "docx", "xlsx", "msg", "eml", "xls", "csv", "txt", "xml", "zip", "jpg", "png")
FALLBACKS = ("never", "no_attachments", "no_pdf")
DEFAULT_FALLBACK = "no_pdf"

FIRST_PO_NUMBER = 16928000
FIRST_REQUISITION_ID = 9561000
FIRST_FILE_ID = 27350000
LARGE_FILE_EVERY = 10  # about one PO in ten carries one 2-4 MB file
LARGE_FILE_OFFSET = 4  # ...starting with the fifth, a PO that has files
SMALL_SIZE = (1024, 60 * 1024)
SUPPLIER_COUNT = 60
LARGE_SIZE = (2 * 1024 * 1024, 4 * 1024 * 1024)


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


KIND_ROTATION: tuple[Kind, ...] = tuple(Kind)
ERROR_KINDS = frozenset({Kind.NOT_FOUND, Kind.DENIED})


@dataclass(frozen=True)
class SimFile:
    """One attachment file: its id (in URLs), page name, type and generation inputs."""

    file_id: int
    name: str
    ftype: str
    size_hint: int
    content_seed: int


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


# --- word pools (kept neutral: no words the page parser looks for) --------------------

_SUPPLIER_SPECIALS = (
    "Iver Sverige AB",
    "Müller & Söhne GmbH",
    'ACME/Nordic: "Parts"',
)
_SUPPLIER_NAMES = (
    "Nordic Office Supply Oy",
    "Société Générale d'Équipement SA",
    "Kraftwerk Ersatzteile GmbH",
    "São Paulo Industrial Ltda.",
    "Bergström Logistik AB",
    "Dansk Stål A/S",
    "Økern Maskin AS",
    "Łódź Elektro Sp. z o.o.",
    "Fastline Components Ltd",
    "Grainfield Industrial Supply",
)
_NAME_PARTS_A = ("Baltic", "Alpine", "Delta", "Polar", "Granite", "Harbor", "Summit", "Vega")
_NAME_PARTS_B = ("Tools", "Metals", "Logistics", "Electric", "Plastics", "Services", "Systems")
_NAME_SUFFIXES = ("AB", "GmbH", "Ltd", "Oy", "SA", "BV", "Inc.")
_CITIES = (
    "Storgatan 12, 111 22 Stockholm, SE",
    "Hauptstraße 5, 80331 München, DE",
    "Rua Augusta 200, 01305-000 São Paulo, BR",
    "Mannerheimintie 3, 00100 Helsinki, FI",
    "1 Harbour Road, Leeds LS1 4AP, GB",
)
_PEOPLE = ("Anna Lindqvist", "Jörg Weiß", "Priya Natarajan", "Tomás O'Brien", "Li Wei")
_ITEMS = (
    "Hydraulic pump seal kit",
    "Safety gloves, size 9",
    "Laptop docking station",
    "Stainless bolts M8x40",
    "Consulting services, March",
    "Pallet wrap film 500 mm",
    "Calibration of gauges",
)
_NOTICES = (
    "Scheduled maintenance on Sunday 02:00-04:00 UTC.",
    "New approval chains are active from next month.",
)
_FILE_TEXTS = ("See attached.", "Signed copy attached.", "Updated version, please use this one.")
_PLAIN_TEXTS = (
    "Please confirm the delivery date.",
    "Approved by finance.",
    "Ship to dock 3, gate B.",
    "Supplier confirmed by phone.",
)

_TEMPLATES: dict[str, tuple[str, ...]] = {
    "pdf": ("Quote_{n}.pdf", "PO_{po}_signed.pdf", "Order_confirmation_{n}.pdf",
            "Offer {n} (final).pdf", "Price list, {year}.pdf", "Delivery_note_{n}.pdf"),
    "docx": ("Statement_of_work_{n}.docx", "Contract_draft_v{r}.docx", "Scope,_{n}.docx"),
    "xlsx": ("Price_breakdown_{n}.xlsx", "BOM_{n}.xlsx", "Quote comparison ({n}).xlsx"),
    "msg": ("RE_ Quote {n}.msg", "FW_ Delivery date PO{po}.msg"),
    "eml": ("Order_confirmation_{n}.eml", "RE_ Offer_{n}.eml"),
    "xls": ("Legacy_price_list_{year}.xls", "Rates_{n}.xls"),
    "csv": ("Line_items_{po}.csv", "Export_{n}.csv"),
    "txt": ("Notes_{n}.txt", "Delivery_instructions_{r}.txt"),
    "xml": ("cXML_OrderRequest_{n}.xml", "Invoice_{n}.xml"),
    "zip": ("Drawings_{n}.zip", "Certificates_{year}.zip"),
    "jpg": ("Photo_{n}.jpg", "IMG_{n}.jpg"),
    "png": ("Screenshot_{year}-0{r}-1{r}.png", "Label_{n}.png"),
}  # fmt: skip
_UNICODE_NAMES = (
    "Offert_Åkesson_&_Bröder_(rev_{r}),final.pdf",
    "見積書_{n}.pdf",
    "Orçamento_São_Paulo_–_Março_{r}.docx",
    "Angebot_Müller_Größe_{n}.xlsx",
    "Zamówienie_Łódź_{n}.csv",
    "Счёт_на_оплату_{n}.pdf",
    "Pedido_Me\u0301xico_{n}.txt",  # decomposed (NFD) accent, as macOS uploads send it
    "Ελληνικά_έγγραφα_{n}.xml",
    "🚚_delivery_{n}.png",
)
_LONG_WORDS = ("Technical", "specification", "for", "the", "replacement", "of", "conveyor",
               "belts", "in", "Hall", "Überprüfung", "der", "Lieferbedingungen",
               "revision")  # fmt: skip
# Fixed on purpose: each one attacks a different rule of safe names.
_HOSTILE_HEADER = ("../../evil.pdf", "CON.pdf")
_HOSTILE_COMMENTS = (
    "..\\win.txt",
    "a:b?c*.pdf",
    "statement\u202etxt.pdf",  # right-to-left override: shows as "statementfdp.txt"
    "notes.txt. ",
    "bell\x07ring.txt",
    '<img src=x onerror="alert(1)">.txt',
)


def _ext(name: str) -> str:
    return name.strip(". ").rsplit(".", 1)[-1].lower()


class _Builder:
    """Builds a data set; owns the counters that make ids and file types rotate."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.next_file_id = FIRST_FILE_ID
        self.type_pos = seed % len(FILE_TYPES)
        self.files: dict[int, SimFile] = {}
        self.large_pending = False

    def rng(self, *parts: object) -> random.Random:
        # String seeds hash with SHA-512: stable across runs and PYTHONHASHSEED.
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def next_type(self, exclude: frozenset[str] = frozenset()) -> str:
        while True:
            ftype = FILE_TYPES[self.type_pos % len(FILE_TYPES)]
            self.type_pos += 1
            if ftype not in exclude:
                return ftype

    def new_file(self, rng: random.Random, name: str, ftype: str | None = None) -> SimFile:
        file_id = self.next_file_id
        self.next_file_id += 1
        if self.large_pending:
            self.large_pending = False
            size = rng.randint(*LARGE_SIZE)
        else:  # log-uniform: most files are a few KB
            low, high = SMALL_SIZE
            size = int(low * (high / low) ** rng.random())
        digest = hashlib.sha256(f"{self.seed}:{file_id}".encode()).digest()
        sim = SimFile(
            file_id=file_id,
            name=name,
            ftype=ftype or _ext(name),
            size_hint=size,
            content_seed=int.from_bytes(digest[:8], "big"),
        )
        self.files[file_id] = sim
        return sim

    def regular(
        self, rng: random.Random, po: str, exclude: frozenset[str] = frozenset()
    ) -> SimFile:
        ftype = self.next_type(exclude)
        template = rng.choice(_TEMPLATES[ftype])
        return self.new_file(rng, _fill(template, rng, po), ftype)

    def regulars(self, rng: random.Random, po: str, count: int, **kw: Any) -> list[SimFile]:
        return [self.regular(rng, po, **kw) for _ in range(count)]


def _fill(template: str, rng: random.Random, po: str) -> str:
    return template.format(
        n=rng.randint(1000, 99999), po=po, year=rng.randint(2019, 2025), r=rng.randint(1, 9)
    )


def _long_name(rng: random.Random) -> str:
    start, target = rng.randrange(len(_LONG_WORDS)), rng.randint(200, 240)
    words: list[str] = []
    while len("_".join(words)) < target:
        words.append(_LONG_WORDS[(start + len(words)) % len(_LONG_WORDS)])
    return "_".join(words) + rng.choice((".pdf", ".docx"))


def _when(rng: random.Random) -> str:
    day = date(2025, 1, 6) + timedelta(days=rng.randint(0, 300))
    return f"{day:%m/%d/%y} {rng.randint(1, 12)}:{rng.randint(0, 59):02d} {rng.choice('AP')}M"


def _comments(
    rng: random.Random, file_groups: list[list[SimFile]], req_id: str | None
) -> tuple[Comment, ...]:
    """One comment per group of files, a few plain ones, and the requisition mention."""
    comments = [
        Comment(rng.choice(_PEOPLE), _when(rng), rng.choice(_FILE_TEXTS), tuple(group))
        for group in file_groups
    ]
    for _ in range(rng.randint(0, 2)):
        comments.insert(
            rng.randint(0, len(comments)),
            Comment(rng.choice(_PEOPLE), _when(rng), rng.choice(_PLAIN_TEXTS)),
        )
    if req_id is not None:
        comments.insert(0, Comment("Coupa", _when(rng), "Created from", requisition_ref=req_id))
    return tuple(comments)


def _groups(rng: random.Random, files: list[SimFile]) -> list[list[SimFile]]:
    """Split files into comments of one or two files each."""
    groups: list[list[SimFile]] = []
    i = 0
    while i < len(files):
        take = rng.randint(1, 2)
        groups.append(files[i : i + take])
        i += take
    return groups


# --- one PO of each kind --------------------------------------------------------------------
# Each returns (PO header files, PO comment groups, requisition or None as
# (header files, comment groups)). "has_req" is decided by the caller's rng.


_Requisition = tuple[list[SimFile], list[list[SimFile]]]  # header files, comment groups
_Plan = tuple[list[SimFile], list[list[SimFile]], _Requisition | None]


def _plan_regular(b: _Builder, rng: random.Random, po: str, kind: Kind) -> _Plan:
    n_header = {Kind.HEADER: rng.randint(1, 3), Kind.BOTH: rng.randint(1, 2)}.get(kind, 0)
    n_comment = {Kind.COMMENT: rng.randint(1, 4), Kind.BOTH: rng.randint(1, 2)}.get(kind, 0)
    header = b.regulars(rng, po, n_header)
    comments = _groups(rng, b.regulars(rng, po, n_comment))
    req = None
    if rng.random() < 0.8:
        req_files = b.regulars(rng, po, rng.randint(0, 2))
        split = rng.randint(0, len(req_files))
        req = (req_files[:split], _groups(rng, req_files[split:]))
    return header, comments, req


def _plan_requisition_only(b: _Builder, rng: random.Random, po: str) -> _Plan:
    req_header = b.regulars(rng, po, 1)
    req_comments = _groups(rng, b.regulars(rng, po, rng.randint(1, 2)))
    return [], [], (req_header, req_comments)


def _plan_no_pdf(b: _Builder, rng: random.Random, po: str) -> _Plan:
    po_files = b.regulars(rng, po, rng.randint(1, 2), exclude=frozenset({"pdf"}))
    pdf = b.new_file(rng, _fill(rng.choice(_TEMPLATES["pdf"]), rng, po), "pdf")
    extra = b.regulars(rng, po, rng.randint(0, 1), exclude=frozenset({"pdf"}))
    # The requisition repeats one of the PO's files (same URL: downloaded once).
    return [], [po_files], ([pdf], [[po_files[0], *extra]])


def _plan_duplicates(b: _Builder, rng: random.Random, po: str) -> _Plan:
    stem = f"Quote_{rng.randint(1000, 99999)}"
    first = b.new_file(rng, f"{stem}.pdf")
    other = b.new_file(rng, f"{stem}.pdf")  # a different file with the same name
    upper = b.new_file(rng, f"{stem}.PDF")  # same name but for case
    looks_numbered = b.new_file(rng, f"{stem} (1).pdf")  # collides with a generated name
    groups = [[first], [first, other], [looks_numbered, *b.regulars(rng, po, rng.randint(0, 1))]]
    req: _Requisition | None = ([], []) if rng.random() < 0.5 else None
    return [upper], groups, req


def _plan_none(b: _Builder, rng: random.Random, po: str) -> _Plan:
    return [], [], (([], []) if rng.random() < 0.5 else None)


def _plan_unicode(b: _Builder, rng: random.Random, po: str) -> _Plan:
    header = [b.new_file(rng, _long_name(rng))]
    names = rng.sample(_UNICODE_NAMES, 3)
    comments = [b.new_file(rng, _fill(name, rng, po)) for name in names]
    req: _Requisition | None = ([], [[b.regular(rng, po)]]) if rng.random() < 0.5 else None
    return header, _groups(rng, comments), req


def _plan_hostile(b: _Builder, rng: random.Random, po: str) -> _Plan:
    header = [b.new_file(rng, name) for name in _HOSTILE_HEADER]
    comments = [b.new_file(rng, name) for name in _HOSTILE_COMMENTS]
    return header, _groups(rng, comments), None


def _plan(b: _Builder, rng: random.Random, po: str, kind: Kind) -> _Plan:
    if kind in (Kind.BOTH, Kind.COMMENT, Kind.HEADER):
        return _plan_regular(b, rng, po, kind)
    planners: dict[Kind, Callable[[_Builder, random.Random, str], _Plan]] = {
        Kind.REQUISITION_ONLY: _plan_requisition_only,
        Kind.NO_PDF: _plan_no_pdf,
        Kind.DUPLICATES: _plan_duplicates,
        Kind.NONE: _plan_none,
        Kind.UNICODE: _plan_unicode,
        Kind.HOSTILE: _plan_hostile,
    }
    return planners[kind](b, rng, po)


# --- suppliers ----------------------------------------------------------------------------


def _suppliers(b: _Builder) -> list[tuple[str, str]]:
    """(span text without the leading space, title) pairs.

    The ten named suppliers come first (so any 20 POs show the special ones), then
    made-up names; the list does not depend on the number of POs, so a small data set
    is the start of a larger one with the same seed.
    """
    rng = b.rng("suppliers")
    names = list(_SUPPLIER_SPECIALS) + rng.sample(_SUPPLIER_NAMES, 7)
    rng.shuffle(names)
    while len(names) < SUPPLIER_COUNT:
        names.append(
            f"{rng.choice(_NAME_PARTS_A)} {rng.choice(_NAME_PARTS_B)} {rng.choice(_NAME_SUFFIXES)}"
        )
    result = []
    for name in names:
        vendor = f"{rng.randrange(10**8):010d}"  # 10 digits, leading zeros as in Coupa
        code = f"S-{rng.randint(10000, 99999)}"
        result.append((f"{name}-{vendor}", f"{code} {rng.choice(_CITIES)}"))
    return result


# --- the data set ---------------------------------------------------------------------------


def build_dataset(n_pos: int = 20, seed: int = 0) -> Dataset:
    """A deterministic data set of ``n_pos`` POs for ``seed``."""
    if n_pos < 1:
        raise ValueError("n_pos must be at least 1")
    b = _Builder(seed)
    suppliers = _suppliers(b)
    pos: dict[str, PurchaseOrder] = {}
    requisitions: dict[str, Requisition] = {}
    visible_count = not_found_count = 0
    for index in range(n_pos):
        number = str(FIRST_PO_NUMBER + index)
        kind = KIND_ROTATION[index % len(KIND_ROTATION)]
        rng = b.rng("po", index)
        if kind in ERROR_KINDS:
            lang = "pt" if kind is Kind.NOT_FOUND and not_found_count % 2 else "en"
            not_found_count += kind is Kind.NOT_FOUND
            pos[number] = PurchaseOrder(number=number, index=index, kind=kind, lang=lang)
            continue
        b.large_pending = index % LARGE_FILE_EVERY == LARGE_FILE_OFFSET
        header, groups, req_plan = _plan(b, rng, number, kind)
        b.large_pending = False
        req_id = None
        if req_plan is not None:
            req_id = str(FIRST_REQUISITION_ID + index)
            req_header, req_groups = req_plan
            requisitions[req_id] = Requisition(
                req_id=req_id,
                po_number=number,
                title=f"{rng.choice(_ITEMS)} for {rng.choice(_PEOPLE).split()[0]}",
                requester=rng.choice(_PEOPLE),
                attachments=Attachments(tuple(req_header), _comments(rng, req_groups, None)),
            )
        supplier, title = suppliers[visible_count % len(suppliers)]
        visible_count += 1
        pos[number] = PurchaseOrder(
            number=number,
            index=index,
            kind=kind,
            supplier=supplier,
            supplier_title=title,
            requisition_id=req_id,
            attachments=Attachments(tuple(header), _comments(rng, groups, req_id)),
            lines=_lines(rng),
            currency=rng.choice(("EUR", "SEK", "USD", "BRL")),
            order_date=_when(rng).split()[0],
            buyer=rng.choice(_PEOPLE),
            notice=rng.choice(_NOTICES) if index % 3 == 0 else "",
        )
    return Dataset(seed=seed, pos=pos, requisitions=requisitions, files=b.files)


def _lines(rng: random.Random) -> tuple[OrderLine, ...]:
    return tuple(
        OrderLine(rng.choice(_ITEMS), rng.randint(1, 50), round(rng.uniform(3, 900), 2))
        for _ in range(rng.randint(1, 4))
    )


# --- expected outcome ---------------------------------------------------------------------


def _file_key(source: str, sim: SimFile) -> tuple[str, int]:
    """What the file's URL is made of: header items use /type/<id>, comments /file/<id>."""
    return ("type" if source.endswith("header") else "file", sim.file_id)


def fallback_applies(po_names: list[str], fallback: str) -> bool:
    """The requisition fallback rule of docs/architecture.md, on the PO's own names."""
    if fallback == "never":
        return False
    if fallback == "no_attachments":
        return not po_names
    if fallback == "no_pdf":
        return not any(name.lower().endswith(".pdf") for name in po_names)
    raise ValueError(f"unknown requisition fallback {fallback!r}; use one of {FALLBACKS}")


def expected_attachments(
    dataset: Dataset, po: PurchaseOrder, fallback: str = DEFAULT_FALLBACK
) -> list[tuple[str, SimFile]]:
    """(source, file) the tool should download for ``po``, in order, one per URL."""
    if not po.visible:
        return []
    listed = po.attachments.listed("header", "comment")
    requisition = dataset.requisitions.get(po.requisition_id or "")
    if requisition and fallback_applies([f.name for _, f in listed], fallback):
        listed += requisition.attachments.listed("requisition_header", "requisition_comment")
    seen: set[tuple[str, int]] = set()
    unique = []
    for source, sim in listed:
        key = _file_key(source, sim)
        if key not in seen:
            seen.add(key)
            unique.append((source, sim))
    return unique


def expected_status(po: PurchaseOrder, n_files: int) -> str:
    if po.kind is Kind.NOT_FOUND:
        return "PO_NOT_FOUND"
    if po.kind is Kind.DENIED:
        return "ACCESS_DENIED"
    return "COMPLETED" if n_files else "NO_ATTACHMENTS"


def build_manifest(
    dataset: Dataset,
    *,
    base_url: str,
    credentials: Mapping[str, str],
    digest: Callable[[SimFile], tuple[int, str]],
    fallback: str | None = None,
) -> dict[str, Any]:
    """The truth the tool's output is checked against (docs/architecture.md)."""
    fallback = fallback or DEFAULT_FALLBACK
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown requisition fallback {fallback!r}; use one of {FALLBACKS}")
    pos: dict[str, Any] = {}
    for number, po in dataset.pos.items():
        taken: set[str] = set()
        files = []
        for source, sim in expected_attachments(dataset, po, fallback):
            size, sha256 = digest(sim)
            files.append(
                {
                    "name": unique_name(sanitize_name(sim.name), taken),
                    "original_name": sim.name,
                    "size": size,
                    "sha256": sha256,
                    "source": source,
                }
            )
        pos[number] = {
            "kind": po.kind.value,
            "status": expected_status(po, len(files)),
            "supplier": po.supplier,
            "requisition": po.requisition_id,
            "files": files,
        }
    return {
        "base_url": base_url.rstrip("/"),
        "credentials": dict(credentials),
        "requisition_fallback": fallback,
        "seed": dataset.seed,
        "pos": pos,
    }
