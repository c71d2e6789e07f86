"""The generator of the data set: suppliers, POs, requisitions, comments and order lines.

Everything is a pure function of ``(n_pos, seed)``. The kinds of PO rotate in a fixed
order so that any data set of at least ``len(KIND_ROTATION)`` POs holds every kind;
the seed varies names, sizes, suppliers and contents (the files come from
:mod:`~coupadl.simulator.data.plans`).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from coupadl.simulator.data.builder import Builder
from coupadl.simulator.data.model import (
    ERROR_KINDS,
    Attachments,
    Comment,
    Dataset,
    Kind,
    OrderLine,
    PurchaseOrder,
    Requisition,
    SimFile,
)
from coupadl.simulator.data.plans import plan
from coupadl.simulator.data.saved_names import supplier_folder
from coupadl.simulator.data.words import (
    CITIES,
    FILE_TEXTS,
    ITEMS,
    NAME_PARTS_A,
    NAME_PARTS_B,
    NAME_SUFFIXES,
    NOTICES,
    PEOPLE,
    PLAIN_TEXTS,
    SUPPLIER_NAMES,
    SUPPLIER_SPECIALS,
)

FIRST_PO_NUMBER = 16928000
FIRST_REQUISITION_ID = 9561000
LARGE_FILE_EVERY = 10  # about one PO in ten carries one 2-4 MB file
LARGE_FILE_OFFSET = 4  # ...starting with the fifth, a PO that has files
SUPPLIER_COUNT = 60
KIND_ROTATION: tuple[Kind, ...] = tuple(Kind)


def _when(rng: random.Random) -> str:
    day = date(2025, 1, 6) + timedelta(days=rng.randint(0, 300))
    return f"{day:%m/%d/%y} {rng.randint(1, 12)}:{rng.randint(0, 59):02d} {rng.choice('AP')}M"


def _comments(
    rng: random.Random, file_groups: list[list[SimFile]], req_id: str | None
) -> tuple[Comment, ...]:
    """One comment per group of files, a few plain ones, and the requisition mention."""
    comments = [
        Comment(rng.choice(PEOPLE), _when(rng), rng.choice(FILE_TEXTS), tuple(group))
        for group in file_groups
    ]
    for _ in range(rng.randint(0, 2)):
        comments.insert(
            rng.randint(0, len(comments)),
            Comment(rng.choice(PEOPLE), _when(rng), rng.choice(PLAIN_TEXTS)),
        )
    if req_id is not None:
        comments.insert(0, Comment("Coupa", _when(rng), "Created from", requisition_ref=req_id))
    return tuple(comments)


# --- suppliers ----------------------------------------------------------------------------


def _suppliers(b: Builder) -> list[tuple[str, str, str]]:
    """(span text without the leading space, title, expected folder) triples.

    The ten named suppliers come first (so any 20 POs show the special ones), then
    made-up names; the list does not depend on the number of POs, so a small data set
    is the start of a larger one with the same seed.
    """
    rng = b.rng("suppliers")
    names = list(SUPPLIER_SPECIALS) + rng.sample(SUPPLIER_NAMES, 7)
    rng.shuffle(names)
    while len(names) < SUPPLIER_COUNT:
        names.append(
            f"{rng.choice(NAME_PARTS_A)} {rng.choice(NAME_PARTS_B)} {rng.choice(NAME_SUFFIXES)}"
        )
    result = []
    for name in names:
        vendor = f"{rng.randrange(10**8):010d}"  # 10 digits, leading zeros as in Coupa
        code = f"S-{rng.randint(10000, 99999)}"
        supplier = f"{name}-{vendor}"
        result.append((supplier, f"{code} {rng.choice(CITIES)}", supplier_folder(supplier)))
    return result


# --- the data set ---------------------------------------------------------------------------


def build_dataset(n_pos: int = 20, seed: int = 0, *, large_files: bool = True) -> Dataset:
    """A deterministic data set of ``n_pos`` POs for ``seed``. One PO in
    ``LARGE_FILE_EVERY`` has a 2-4 MB file unless ``large_files`` is off (``coupadl sim
    --small-files``: a 10,000-PO set is then about 0.4 GB instead of 2.7); every other
    name, kind and size is the same either way."""
    if n_pos < 1:
        raise ValueError("n_pos must be at least 1")
    b = Builder(seed, large_files=large_files)
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
        header, groups, req_plan = plan(b, rng, number, kind)
        b.large_pending = False
        req_id = None
        if req_plan is not None:
            req_id = str(FIRST_REQUISITION_ID + index)
            req_header, req_groups = req_plan
            requisitions[req_id] = Requisition(
                req_id=req_id,
                po_number=number,
                title=f"{rng.choice(ITEMS)} for {rng.choice(PEOPLE).split()[0]}",
                requester=rng.choice(PEOPLE),
                attachments=Attachments(tuple(req_header), _comments(rng, req_groups, None)),
            )
        supplier, title, folder = suppliers[visible_count % len(suppliers)]
        visible_count += 1
        pos[number] = PurchaseOrder(
            number=number,
            index=index,
            kind=kind,
            supplier=supplier,
            supplier_title=title,
            supplier_folder=folder,
            requisition_id=req_id,
            attachments=Attachments(tuple(header), _comments(rng, groups, req_id)),
            lines=_lines(rng),
            currency=rng.choice(("EUR", "SEK", "USD", "BRL")),
            order_date=_when(rng).split()[0],
            buyer=rng.choice(PEOPLE),
            notice=rng.choice(NOTICES) if index % 3 == 0 else "",
        )
    return Dataset(seed=seed, pos=pos, requisitions=requisitions, files=b.files)


def _lines(rng: random.Random) -> tuple[OrderLine, ...]:
    return tuple(
        OrderLine(rng.choice(ITEMS), rng.randint(1, 50), round(rng.uniform(3, 900), 2))
        for _ in range(rng.randint(1, 4))
    )
