"""``report.html``: the run report a person opens in a browser.

One self-contained file: inline CSS, an inline SVG chart drawn here, no script and
nothing fetched (a Content-Security-Policy says so too), so it can be mailed or
opened from a share. Supplier and file names come from Coupa and are hostile: every
text is escaped, and bidi or control characters are shown as visible ``U+XXXX``
codes instead of reordering or hiding what is around them. Links are relative,
percent-encoded URLs from ``report.html`` to the PO folders and files, so the report
keeps working when the output folder is moved or copied as a whole.
"""

from __future__ import annotations

import html
import logging
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from string import Template
from urllib.parse import quote

from coupadl.errors import STATUS_CODES, suggested_action
from coupadl.files.atomic import atomic_write_text
from coupadl.models import POResult, Status
from coupadl.reports.outcome import workers_phrase

log = logging.getLogger(__name__)

REPORT_HTML_NAME = "report.html"
# The chart never has more points than this: longer runs get wider intervals.
MAX_POINTS = 120
_INTERVALS = (10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 86400)  # seconds
# Characters that would hide or reorder text (bidi overrides, zero-width marks) or are
# not allowed in HTML (C0/C1 controls): shown as their code point instead.
_HIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_CODE_TEXT = {code: text for code, text in STATUS_CODES.values() if code}


# --- escaping and links -------------------------------------------------------------------


def _text(value: object) -> str:
    """Element content: escaped, hidden characters made visible."""
    return _HIDDEN.sub(
        lambda m: f'<span class="ctl">U+{ord(m.group()):04X}</span>', html.escape(str(value))
    )


def _attr(value: object) -> str:
    """An attribute value (always double-quoted in this module)."""
    return _HIDDEN.sub(lambda m: f"U+{ord(m.group()):04X}", html.escape(str(value), quote=True))


def _name(value: str) -> str:
    """A name from Coupa, isolated so right-to-left text cannot reorder its neighbours."""
    return f"<bdi>{_text(value)}</bdi>"


def href(parts: Sequence[str]) -> str | None:
    """A relative URL for path ``parts`` under the report's folder, or None.

    Every character but ``A-Za-z0-9_.-~`` is percent-encoded (UTF-8), so spaces,
    ``#``, ``?``, ``%``, ``:`` (no scheme can sneak in) and non-ASCII names all work.
    Dot segments would still be read as ``..`` after decoding, so they are refused.
    """
    if not parts or any(p in ("", ".", "..") or "/" in p or "\\" in p for p in parts):
        return None
    return "/".join(quote(p, safe="") for p in parts)


def _clean(parts: Sequence[str]) -> tuple[str, ...] | None:
    return tuple(parts) if parts and not any(p in ("", ".", "..") for p in parts) else None


def folder_parts(folder: Path, out_dir: Path) -> tuple[str, ...] | None:
    """``folder`` relative to ``out_dir`` as path parts, or None when it is not inside.

    The run state keeps folders as the run spelled them (maybe relative to another
    working directory, maybe before the output folder was moved), so after the plain
    cases the longest tail of ``folder`` that exists under ``out_dir`` is taken.
    """
    candidates = (
        (folder, out_dir),
        (Path(os.path.abspath(folder)), Path(os.path.abspath(out_dir))),
        (folder.resolve(), out_dir.resolve()),
    )
    for target, base in candidates:
        try:
            parts = _clean(target.relative_to(base).parts)
        except ValueError:
            continue
        if parts:
            return parts
    tail = [p for p in folder.parts if p not in (folder.anchor, "")]
    for i in range(len(tail)):
        parts = _clean(tail[i:])
        if parts and out_dir.joinpath(*parts).is_dir():
            return parts
    log.debug("PO folder %s is not inside %s; the report shows it without a link", folder, out_dir)
    return None


# --- throughput ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Throughput:
    """POs finished per interval of ``width`` seconds from ``start``."""

    start: float
    width: float
    counts: tuple[int, ...]

    @property
    def per_minute(self) -> list[float]:
        return [c * 60 / self.width for c in self.counts]


def throughput(finish_times: Iterable[float], started_at: float, finished_at: float) -> Throughput:
    """Bucket the finish times inside ``[started_at, finished_at]`` into intervals.

    The interval is the smallest of 10 s, 15 s, 30 s, 1 min, ... that keeps the chart
    within :data:`MAX_POINTS` points; there is always at least one point.
    """
    span = max(0.0, finished_at - started_at)
    width = next((w for w in _INTERVALS if span <= w * MAX_POINTS), math.ceil(span / MAX_POINTS))
    counts = [0] * max(1, math.ceil(span / width))
    for t in finish_times:
        if started_at <= t <= finished_at:
            counts[min(len(counts) - 1, int((t - started_at) // width))] += 1
    return Throughput(started_at, float(width), tuple(counts))


def _nice_ceiling(value: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``value`` (and at least 1)."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = seconds / 60
    return f"{minutes:.3g} min" if minutes < 120 else f"{minutes / 60:.3g} h"


def chart_svg(series: Throughput) -> str:
    """A line chart of POs per minute, one point (a circle) per interval."""
    width, height = 720, 220
    left, right, top, bottom = 52, 16, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    rates = series.per_minute
    y_max = _nice_ceiling(max(rates))
    n = len(rates)

    def x(i: int) -> float:
        return left + (i + 0.5) * plot_w / n

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(rates))
    dots = "".join(
        f'<circle class="pt" cx="{x(i):.1f}" cy="{y(v):.1f}" r="3">'
        f"<title>{_duration(i * series.width)} to {_duration((i + 1) * series.width)}: "
        f"{series.counts[i]} PO(s), {v:.1f}/min</title></circle>"
        for i, v in enumerate(rates)
    )
    grid = "".join(
        f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>'
        f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>'
        for v in (0, y_max / 2, y_max)
    )
    total = _duration(n * series.width)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="POs finished per minute over the run">'
        f"<title>POs finished per minute, every {_duration(series.width)}</title>{grid}"
        f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" '
        f'y2="{top + plot_h}"/>'
        f'<text x="{left}" y="{height - 12}">0</text>'
        f'<text x="{left + plot_w}" y="{height - 12}" text-anchor="end">{total}</text>'
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 12}" text-anchor="middle">'
        f"time since the run started (intervals of {_duration(series.width)})</text>"
        f'<polyline class="line" points="{points}"/>{dots}</svg>'
    )


# --- page parts ---------------------------------------------------------------------------


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    value, unit = n / 1024, "KB"
    for bigger in ("MB", "GB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{value:.1f} {unit}"


def _when(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %z")


def _anchor(po: str) -> str:
    return "po-" + quote(po, safe="")


def _totals(results: Sequence[POResult], pending: Sequence[str]) -> str:
    by_status = Counter(r.status.value for r in results)
    rows = [
        f'<tr><td><span class="st st-{_attr(s.value)}">{_text(s.value)}</span></td>'
        f'<td class="num">{by_status[s.value]}</td></tr>'
        for s in Status
        if by_status[s.value]
    ]
    if pending:
        rows.append(f'<tr><td>left pending</td><td class="num">{len(pending)}</td></tr>')
    files = sum(len(r.files) for r in results)
    size = sum(f.size for r in results for f in r.files)
    rows.append(
        f'<tr class="sum"><td>POs</td><td class="num">{len(results)}</td></tr>'
        f'<tr class="sum"><td>files ({_size(size)})</td><td class="num">{files}</td></tr>'
    )
    return '<table class="totals">' + "".join(rows) + "</table>"


def _failures(results: Sequence[POResult]) -> str:
    groups: dict[str, list[POResult]] = defaultdict(list)
    for r in results:
        if r.error_code or r.status not in (Status.COMPLETED, Status.NO_ATTACHMENTS):
            groups[r.error_code or r.status.value].append(r)
    if not groups:
        return '<p class="none">No PO needs attention.</p>'
    sections = []
    for code, members in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
        links = ", ".join(
            f'<a href="#{_attr(_anchor(r.po_number))}">PO{_text(r.po_number)}</a>' for r in members
        )
        about = _CODE_TEXT.get(code, members[0].message)
        sections.append(
            f'<section class="failure" id="{_attr("fail-" + quote(code, safe=""))}">'
            f"<h3><code>{_text(code)}</code> · {len(members)} PO(s)</h3>"
            f"<p>{_text(about)}</p>"
            f'<p class="action"><strong>What to do:</strong> {_text(suggested_action(code))}</p>'
            f'<p class="pos">{links}</p></section>'
        )
    return "".join(sections)


def _files_cell(result: POResult, folder: tuple[str, ...] | None) -> str:
    if not result.files:
        found = result.attachments_found
        return f'<span class="none">{f"{found} found, none saved" if found else "none"}</span>'
    items = []
    for f in result.files:
        link = href((*folder, f.name)) if folder else None
        label = _name(f.name)
        shown = f'<a href="{_attr(link)}">{label}</a>' if link else label
        items.append(
            f'<li>{shown} <span class="size" title="{f.size} bytes">{_size(f.size)}</span></li>'
        )
    count = f"{len(result.files)} of {result.attachments_found}"
    return f'<span class="count">{count}</span><ul class="files">{"".join(items)}</ul>'


def _po_rows(results: Sequence[POResult], out_dir: Path) -> str:
    rows = []
    for r in results:
        folder = folder_parts(r.folder, out_dir) if r.folder is not None else None
        folder_link = href(folder) if folder else None
        po = f"PO{_text(r.po_number)}"
        po_cell = f'<a class="folder" href="{_attr(folder_link)}/">{po}</a>' if folder_link else po
        error = f"<code>{_text(r.error_code)}</code> {_text(r.message)}" if r.error_code else ""
        rows.append(
            f'<tr id="{_attr(_anchor(r.po_number))}" class="po">'
            f'<td>{po_cell}</td><td><span class="st st-{_attr(r.status.value)}">'
            f"{_text(r.status.value)}</span></td>"
            f'<td class="supplier">{_name(r.supplier)}</td>'
            f"<td>{_files_cell(r, folder)}</td><td>{error}</td></tr>"
        )
    return "".join(rows)


_PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>coupadl report</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1d1d1f; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; } h3 { font-size: 1em; }
table { border-collapse: collapse; } td, th { padding: .3em .6em; vertical-align: top; }
th { text-align: left; border-bottom: 2px solid #ccc; }
.pos-table { width: 100%; } .num { text-align: right; }
/* Long names wrap anywhere instead of pushing columns off the page. */
.pos-table td { border-bottom: 1px solid #eee; overflow-wrap: anywhere; }
.pos-table td:nth-child(-n+2) { white-space: nowrap; overflow-wrap: normal; }
.sum td { border-top: 1px solid #ccc; font-weight: 600; }
.st { font: 600 12px monospace; padding: .1em .4em; border-radius: 3px; background: #eee; }
.st-COMPLETED { background: #d7f5dd; } .st-NO_ATTACHMENTS { background: #e8eef7; }
.st-PARTIAL, .st-TIMEOUT { background: #fff1c2; }
.st-FAILED, .st-AUTH_REQUIRED, .st-PO_NOT_FOUND, .st-ACCESS_DENIED { background: #fbd9d9; }
.files { margin: .2em 0 0; padding-left: 1.2em; } .size, .none, .meta { color: #666; }
.failure { border-left: 4px solid #d33; padding: .1em .8em; margin: .8em 0; }
.failure h3, .failure p { margin: .3em 0; }
.ctl { font: 11px monospace; color: #a00; border: 1px solid #a00; padding: 0 .2em; }
.chart { max-width: 760px; width: 100%; } .chart text { font-size: 11px; fill: #555; }
.chart .line { fill: none; stroke: #2b6cb0; stroke-width: 2; } .chart .pt { fill: #2b6cb0; }
.chart .axis { stroke: #999; } .chart .grid { stroke: #eee; }
</style>
</head>
<body>
<h1>coupadl report</h1>
<p class="meta">Run started $started, ended $finished ($elapsed), $mode with $workers.
Generated $generated.</p>
<h2>Totals</h2>
$totals
<h2>Needs attention</h2>
$failures
<h2>Throughput</h2>
$chart
<h2>Purchase orders</h2>
<table class="pos-table">
<thead><tr><th>PO</th><th>status</th><th>supplier</th><th>files</th><th>error</th></tr></thead>
<tbody>
$rows
</tbody>
</table>
</body>
</html>
""")


def build_html(
    results: Sequence[POResult],
    *,
    out_dir: Path,
    started_at: float,
    finished_at: float,
    mode: str,
    workers: int,
    pending: Sequence[str] = (),
) -> str:
    """The report page for ``results`` (links relative to ``out_dir``, its folder)."""
    series = throughput((r.finished_at for r in results), started_at, finished_at)
    return _PAGE.substitute(
        started=_text(_when(started_at)),
        finished=_text(_when(finished_at)),
        elapsed=_text(_duration(max(0.0, finished_at - started_at))),
        mode=_text(mode),
        workers=_text(workers_phrase(mode, workers)),
        generated=_text(_when(datetime.now().timestamp())),
        totals=_totals(results, pending),
        failures=_failures(results),
        chart=chart_svg(series),
        rows=_po_rows(results, out_dir),
    )


def write_html_report(
    out_dir: Path,
    results: Sequence[POResult],
    *,
    started_at: float,
    finished_at: float,
    mode: str,
    workers: int,
    pending: Sequence[str] = (),
) -> Path:
    """Write ``<out_dir>/report.html`` atomically and return its path."""
    page = build_html(
        results,
        out_dir=Path(out_dir),
        started_at=started_at,
        finished_at=finished_at,
        mode=mode,
        workers=workers,
        pending=pending,
    )
    path = Path(out_dir) / REPORT_HTML_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, page)
    return path
