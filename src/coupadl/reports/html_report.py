"""``report.html``: the run report a person (an auditor, at 10,000 POs) opens in a browser.

One self-contained file, nothing fetched (a Content-Security-Policy says so too), so
it can be mailed or opened from a share. The summary parts (totals, what needs
attention, per supplier, new in this refresh, the charts) are plain HTML from Jinja2
templates with autoescaping. The PO table is embedded as JSON and a small inline
script shows it one page at a time, with filters, search and sorting: a page of rows
in the DOM stays fast where 10,000 rows would not. Links are relative, so the report
keeps working when the output folder is moved or copied as a whole.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import cast
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from coupadl.files.atomic import atomic_write_text
from coupadl.models import POResult
from coupadl.reports import html_text
from coupadl.reports.html_chart import charts
from coupadl.reports.html_data import (
    MAX_POINTS,
    failure_groups,
    minute_buckets,
    refreshed,
    status_counts,
    supplier_summary,
    table_data,
)
from coupadl.reports.links import anchor, folder_parts, href
from coupadl.reports.outcome import workers_phrase

__all__ = [
    "MAX_POINTS",
    "REPORT_HTML_NAME",
    "build_html",
    "folder_parts",
    "href",
    "minute_buckets",
    "write_html_report",
]

log = logging.getLogger(__name__)

REPORT_HTML_NAME = "report.html"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("coupadl.reports", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        text=html_text.marked, name=html_text.name, visible=html_text.visible,
        size=html_text.size, mb=html_text.mb, when=html_text.when, anchor=anchor,
        quote=lambda value: quote(str(value), safe=""),
    )  # fmt: skip
    return env


@cache
def _asset(name: str) -> tuple[Markup, str]:
    """An inline asset (our own file, not data) and its CSP hash source."""
    text = resources.files("coupadl.reports").joinpath("templates", name).read_text("utf-8")
    text = text.strip()
    if "</" in text:
        raise ValueError(f"{name} must not contain '</': it is inlined in the page")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return Markup(text), f"'sha256-{digest}'"


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
    script, script_hash = _asset("report.js")
    style, _ = _asset("report.css")
    data = table_data(results, out_dir, started_at)
    data["hidden"] = html_text.HIDDEN.pattern  # the script marks hidden characters alike
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            csp=f"default-src 'none'; style-src 'unsafe-inline'; script-src {script_hash}; "
            "base-uri 'none'; form-action 'none'",
            style=style,
            script=script,
            data_json=html_text.embed_json(data),
            started=html_text.when(started_at),
            finished=html_text.when(finished_at),
            elapsed=html_text.duration(max(0.0, finished_at - started_at)),
            mode=mode,
            workers=workers_phrase(mode, workers),
            generated=html_text.when(datetime.now().timestamp()),
            by_status=status_counts(results),
            pending=len(pending),
            po_count=len(results),
            file_count=sum(len(r.files) for r in results),
            total_bytes=sum(f.size for r in results for f in r.files),
            failures=failure_groups(results),
            suppliers=supplier_summary(results),
            supplier_index={s: i for i, s in enumerate(cast("list[str]", data["suppliers"]))},
            refreshed=refreshed(results, started_at, out_dir),
            charts=charts(minute_buckets(results, started_at, finished_at)),
        )
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
    log.debug("wrote %s (%d POs, %d characters)", path, len(results), len(page))
    return path
