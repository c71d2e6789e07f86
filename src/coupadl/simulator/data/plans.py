"""Which files each kind of PO gets, and where: header, comments, its requisition.

One planner per :class:`~coupadl.simulator.data.model.Kind`; :func:`plan` picks it.
Each returns (PO header files, PO comment groups, requisition or None as
(header files, comment groups)); whether a PO has a requisition is drawn from its rng.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from coupadl.simulator.data.builder import Builder, fill
from coupadl.simulator.data.model import Kind, SimFile
from coupadl.simulator.data.saved_names import DUPLICATE_SAVED, HOSTILE_SAVED
from coupadl.simulator.data.words import (
    HOSTILE_COMMENTS,
    HOSTILE_HEADER,
    LONG_WORDS,
    TEMPLATES,
    UNICODE_NAMES,
)

RequisitionPlan = tuple[list[SimFile], list[list[SimFile]]]  # header files, comment groups
Plan = tuple[list[SimFile], list[list[SimFile]], RequisitionPlan | None]


def _long_name(rng: random.Random) -> str:
    start, target = rng.randrange(len(LONG_WORDS)), rng.randint(200, 240)
    words: list[str] = []
    while len("_".join(words)) < target:
        words.append(LONG_WORDS[(start + len(words)) % len(LONG_WORDS)])
    return "_".join(words) + rng.choice((".pdf", ".docx"))


def _groups(rng: random.Random, files: list[SimFile]) -> list[list[SimFile]]:
    """Split files into comments of one or two files each."""
    groups: list[list[SimFile]] = []
    i = 0
    while i < len(files):
        take = rng.randint(1, 2)
        groups.append(files[i : i + take])
        i += take
    return groups


def _plan_regular(b: Builder, rng: random.Random, po: str, kind: Kind) -> Plan:
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


def _plan_requisition_only(b: Builder, rng: random.Random, po: str) -> Plan:
    req_header = b.regulars(rng, po, 1)
    req_comments = _groups(rng, b.regulars(rng, po, rng.randint(1, 2)))
    return [], [], (req_header, req_comments)


def _plan_no_pdf(b: Builder, rng: random.Random, po: str) -> Plan:
    po_files = b.regulars(rng, po, rng.randint(1, 2), exclude=frozenset({"pdf"}))
    pdf = b.new_file(rng, fill(rng.choice(TEMPLATES["pdf"]), rng, po), "pdf")
    extra = b.regulars(rng, po, rng.randint(0, 1), exclude=frozenset({"pdf"}))
    # The requisition repeats one of the PO's files (same URL: downloaded once).
    return [], [po_files], ([pdf], [[po_files[0], *extra]])


def _plan_duplicates(b: Builder, rng: random.Random, po: str) -> Plan:
    stem = f"Quote_{rng.randint(1000, 99999)}"
    # Saved names from the reviewed table, in listing order: upper, first, other, ...
    (_, saved_upper), (_, saved_first), (_, saved_other), (_, saved_numbered) = (
        (page.format(stem=stem), saved.format(stem=stem)) for page, saved in DUPLICATE_SAVED
    )
    first = b.new_file(rng, f"{stem}.pdf", saved_name=saved_first)
    other = b.new_file(rng, f"{stem}.pdf", saved_name=saved_other)  # another file, same name
    upper = b.new_file(rng, f"{stem}.PDF", saved_name=saved_upper)  # same name but for case
    # Collides with a generated name.
    looks_numbered = b.new_file(rng, f"{stem} (1).pdf", saved_name=saved_numbered)
    groups = [[first], [first, other], [looks_numbered, *b.regulars(rng, po, rng.randint(0, 1))]]
    req: RequisitionPlan | None = ([], []) if rng.random() < 0.5 else None
    return [upper], groups, req


def _plan_none(b: Builder, rng: random.Random, po: str) -> Plan:
    return [], [], (([], []) if rng.random() < 0.5 else None)


def _plan_unicode(b: Builder, rng: random.Random, po: str) -> Plan:
    header = [b.new_file(rng, _long_name(rng))]
    names = rng.sample(UNICODE_NAMES, 3)
    comments = [b.new_file(rng, fill(name, rng, po)) for name in names]
    req: RequisitionPlan | None = ([], [[b.regular(rng, po)]]) if rng.random() < 0.5 else None
    return header, _groups(rng, comments), req


def _plan_hostile(b: Builder, rng: random.Random, po: str) -> Plan:
    header = [b.new_file(rng, name, saved_name=HOSTILE_SAVED[name]) for name in HOSTILE_HEADER]
    comments = [b.new_file(rng, n, saved_name=HOSTILE_SAVED[n]) for n in HOSTILE_COMMENTS]
    return header, _groups(rng, comments), None


def plan(b: Builder, rng: random.Random, po: str, kind: Kind) -> Plan:
    """Where the files of PO ``po``, of ``kind``, go."""
    if kind in (Kind.BOTH, Kind.COMMENT, Kind.HEADER):
        return _plan_regular(b, rng, po, kind)
    planners: dict[Kind, Callable[[Builder, random.Random, str], Plan]] = {
        Kind.REQUISITION_ONLY: _plan_requisition_only,
        Kind.NO_PDF: _plan_no_pdf,
        Kind.DUPLICATES: _plan_duplicates,
        Kind.NONE: _plan_none,
        Kind.UNICODE: _plan_unicode,
        Kind.HOSTILE: _plan_hostile,
    }
    return planners[kind](b, rng, po)
