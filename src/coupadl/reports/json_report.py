"""``report.json``: the machine-readable summary of a run.

Times are ISO 8601 in local time with the UTC offset (unambiguous for people and
programs alike); durations are seconds. ``by_status`` lists every status, zeros
included, so consumers can rely on the keys being there.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from coupadl.files.atomic import atomic_write_text
from coupadl.models import POResult, Status

REPORT_NAME = "report.json"


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def _po_entry(result: POResult) -> dict[str, object]:
    return {
        "po_number": result.po_number,
        "status": result.status.value,
        "error_code": result.error_code,
        "message": result.message,
        "supplier": result.supplier,
        "requisition_id": result.requisition_id,
        "url": result.url,
        "folder": str(result.folder) if result.folder is not None else None,
        "attempts": result.attempts,
        "engine": result.engine,
        "engine_check": result.engine_check,
        "duration_seconds": round(result.duration, 3),
        "files": [
            {"name": f.name, "size": f.size, "sha256": f.sha256, "source": f.source.value}
            for f in result.files
        ],
    }


def _totals(results: Sequence[POResult]) -> dict[str, object]:
    by_status = dict.fromkeys((s.value for s in Status), 0)
    for result in results:
        by_status[result.status.value] += 1
    return {
        "pos": len(results),
        "files": sum(len(r.files) for r in results),
        "bytes": sum(f.size for r in results for f in r.files),
        "by_status": by_status,
    }


def _timings(results: Sequence[POResult], elapsed: float) -> dict[str, float | None]:
    # Average of per-PO durations (what one PO costs in one browser) next to the
    # throughput over the wall clock (what the pool achieved). None when undefined.
    durations = [r.duration for r in results]
    return {
        "average_seconds_per_po": round(sum(durations) / len(durations), 3) if durations else None,
        "pos_per_minute": round(len(results) * 60 / elapsed, 3) if elapsed > 0 else None,
    }


def build_report(
    results: Sequence[POResult],
    *,
    started_at: float,
    finished_at: float,
    mode: str,
    workers: int,
    extra: Mapping[str, object] | None = None,
) -> dict[str, object]:
    """The report as a dict (what :func:`write_report` writes)."""
    elapsed = max(0.0, finished_at - started_at)
    report: dict[str, object] = {
        "generated_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "mode": mode,
        "workers": workers,
        "started_at": _iso(started_at),
        "finished_at": _iso(finished_at),
        "elapsed_seconds": round(elapsed, 3),
        "totals": _totals(results),
        "timings": _timings(results, elapsed),
        "pos": [_po_entry(r) for r in results],
    }
    clashes = sorted(set(report) & set(extra or {}))
    if clashes:
        # A silent override would make the report lie about itself.
        raise ValueError(f"report extra keys clash with built-in keys: {clashes}")
    report.update(extra or {})
    return report


def write_report(
    out_dir: Path,
    results: Sequence[POResult],
    *,
    started_at: float,
    finished_at: float,
    mode: str,
    workers: int,
    extra: Mapping[str, object] | None = None,
) -> Path:
    """Write ``<out_dir>/report.json`` atomically and return its path."""
    report = build_report(
        results,
        started_at=started_at,
        finished_at=finished_at,
        mode=mode,
        workers=workers,
        extra=extra,
    )
    path = Path(out_dir) / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    # default=str: extras may carry Paths or enums; a report must never fail on them.
    text = json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"
    atomic_write_text(path, text)
    return path
