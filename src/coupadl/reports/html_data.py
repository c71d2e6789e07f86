"""The figures ``report.html`` shows, computed from plain results (no markup here).

Per-minute throughput buckets, the per-supplier summary, the files the run's refresh
added, the failure groups, and the rows of the PO table as compact JSON-ready lists.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from coupadl.errors import STATUS_CODES, suggested_action
from coupadl.models import FileResult, POResult, Status
from coupadl.reports.links import folder_parts, href

# Beyond a day of one-minute buckets the chart widens its buckets to whole minutes.
MAX_POINTS = 1440
MINUTE = 60.0
FINE = frozenset({Status.COMPLETED, Status.NO_ATTACHMENTS})  # not a problem for an auditor
_CODE_TEXT = {code: text for code, text in STATUS_CODES.values() if code}


def is_problem(result: POResult) -> bool:
    return result.status not in FINE


# --- throughput -------------------------------------------------------------------------


@dataclass(frozen=True)
class Buckets:
    """The run cut into buckets of ``width`` seconds (one minute unless the run is long)."""

    start: float
    width: float
    pos: tuple[int, ...]  # POs finished in the bucket
    bytes: tuple[int, ...]  # bytes of the files saved in the bucket
    in_flight: tuple[float, ...]  # POs being worked on, on average over the bucket
    workers: tuple[int, ...]  # distinct workers that had a PO in flight in the bucket

    @property
    def pos_per_minute(self) -> list[float]:
        return [n * MINUTE / self.width for n in self.pos]

    @property
    def mb_per_minute(self) -> list[float]:
        return [n / 2**20 * MINUTE / self.width for n in self.bytes]


def _width(span: float) -> float:
    minutes = max(1, math.ceil(span / MINUTE / MAX_POINTS))
    return minutes * MINUTE


def _spread(result: POResult, start: float, width: float, seconds: list[float]) -> list[int]:
    """Add the PO's time in flight to each bucket it overlaps; return those buckets."""
    n = len(seconds)
    begin, end = max(result.started_at, start), min(result.finished_at, start + n * width)
    if not result.started_at or end <= begin:
        return []
    first, last = int((begin - start) // width), min(n - 1, int((end - start) // width))
    for i in range(first, last + 1):
        low, high = start + i * width, start + (i + 1) * width
        seconds[i] += max(0.0, min(end, high) - max(begin, low))
    return list(range(first, last + 1))


def minute_buckets(results: Iterable[POResult], started_at: float, finished_at: float) -> Buckets:
    """Bucket what happened inside ``[started_at, finished_at]``; at least one bucket.

    A PO counts in the bucket it finished in; a file in the bucket of its ``added_at``
    when a refresh added it, else of its PO's finish. In-flight time comes from each
    PO's ``started_at``..``finished_at``; results of earlier runs fall outside.
    """
    span = max(0.0, finished_at - started_at)
    width = _width(span)
    n = max(1, math.ceil(span / width))
    pos, sizes, seconds = [0] * n, [0] * n, [0.0] * n
    workers: list[set[str]] = [set() for _ in range(n)]

    def slot(t: float) -> int | None:
        return (
            min(n - 1, int((t - started_at) // width)) if started_at <= t <= finished_at else None
        )

    for r in results:
        done = slot(r.finished_at)
        if done is not None:
            pos[done] += 1
        for f in r.files:
            at = slot(f.added_at) if f.added_at else done
            if at is not None:
                sizes[at] += f.size
        for i in _spread(r, started_at, width, seconds):
            if r.worker:
                workers[i].add(r.worker)
    return Buckets(
        start=started_at,
        width=width,
        pos=tuple(pos),
        bytes=tuple(sizes),
        in_flight=tuple(s / width for s in seconds),
        workers=tuple(len(w) for w in workers),
    )


# --- per supplier -----------------------------------------------------------------------


@dataclass(frozen=True)
class SupplierLine:
    name: str
    pos: int
    files: int
    bytes: int
    problems: int  # POs not COMPLETED nor NO_ATTACHMENTS


def supplier_summary(results: Iterable[POResult]) -> list[SupplierLine]:
    """One line per supplier, the ones with the most problems (then POs) first."""
    pos: Counter[str] = Counter()
    files: Counter[str] = Counter()
    sizes: Counter[str] = Counter()
    problems: Counter[str] = Counter()
    for r in results:
        pos[r.supplier] += 1
        files[r.supplier] += len(r.files)
        sizes[r.supplier] += sum(f.size for f in r.files)
        problems[r.supplier] += is_problem(r)
    lines = [SupplierLine(s, pos[s], files[s], sizes[s], problems[s]) for s in pos]
    return sorted(lines, key=lambda x: (-x.problems, -x.pos, x.name))


# --- new in this refresh ----------------------------------------------------------------


@dataclass(frozen=True)
class Refreshed:
    """A PO a refresh in this run added files to, with links to them."""

    result: POResult
    folder: str | None  # href of the PO folder
    files: list[tuple[FileResult, str | None]]


def added_in_run(result: POResult, started_at: float) -> list[FileResult]:
    """The files a refresh added to ``result`` during the run that began at ``started_at``."""
    return [f for f in result.files if f.added_at and f.added_at >= started_at]


def refreshed(results: Iterable[POResult], started_at: float, out_dir: Path) -> list[Refreshed]:
    found = []
    for r in results:
        new = added_in_run(r, started_at)
        if new:
            parts = folder_parts(r.folder, out_dir) if r.folder is not None else None
            links = [(f, href((*parts, f.name)) if parts else None) for f in new]
            found.append(Refreshed(r, href(parts) if parts else None, links))
    return found


# --- totals and failures ----------------------------------------------------------------


@dataclass(frozen=True)
class FailureGroup:
    code: str
    about: str
    action: str
    members: list[POResult]


def status_counts(results: Iterable[POResult]) -> list[tuple[str, int]]:
    """POs per status, in the order of :class:`Status`, statuses with none left out."""
    by_status = Counter(r.status.value for r in results)
    return [(s.value, by_status[s.value]) for s in Status if by_status[s.value]]


def failure_groups(results: Iterable[POResult]) -> list[FailureGroup]:
    """POs that need attention, by error code (the status when there is none), biggest first."""
    groups: dict[str, list[POResult]] = defaultdict(list)
    for r in results:
        if r.error_code or is_problem(r):
            groups[r.error_code or r.status.value].append(r)
    ordered = sorted(groups.items(), key=lambda g: (-len(g[1]), g[0]))
    return [
        FailureGroup(
            code, _CODE_TEXT.get(code, members[0].message), suggested_action(code), members
        )
        for code, members in ordered
    ]


# --- the PO table -----------------------------------------------------------------------

PAGE_SIZE = 100


def table_data(results: Sequence[POResult], out_dir: Path, started_at: float) -> dict[str, object]:
    """The PO table as compact lists (the page's script renders one page of it at a time).

    A row is ``[po, status index, supplier index, folder href, files, error code,
    message, attachments found]``; a file is ``[name, href from the folder or None,
    bytes, 1 when this run's refresh added it]``. Links are computed here, once.
    """
    statuses = [s.value for s in Status]
    status_index = {s: i for i, s in enumerate(statuses)}
    suppliers = sorted({r.supplier for r in results}, key=lambda s: (s.casefold(), s))
    supplier_index = {s: i for i, s in enumerate(suppliers)}
    rows = []
    for r in results:
        parts = folder_parts(r.folder, out_dir) if r.folder is not None else None
        folder = (href(parts) or "") if parts else ""
        new = {id(f) for f in added_in_run(r, started_at)}
        # A file's link is the folder's plus its own encoded name (href of both parts).
        files = [
            [f.name, href((f.name,)) if folder else None, f.size, int(id(f) in new)]
            for f in r.files
        ]
        rows.append(
            [r.po_number, status_index[r.status.value], supplier_index[r.supplier], folder,
             files, r.error_code, r.message, r.attachments_found]
        )  # fmt: skip
    return {"statuses": statuses, "suppliers": suppliers, "pageSize": PAGE_SIZE, "rows": rows}
