"""The engines section of docs/benchmarks.md, from the figures of ``engines.py``."""

from __future__ import annotations

import argparse
import statistics
from typing import TYPE_CHECKING, Any

from engine_figures import LOWEST_OVER, ratios, verdict
from measure import CPU_EVERY, MEMORY_EVERY, Figures, median_range
from simrun import machine

if TYPE_CHECKING:
    from engines import Limited

Rounds = list[dict[str, Figures]]
TARGETS = {"1 browser": 10.0, "4 browsers": 4.0}
CPU_PER_PO, RSS_MB, RATE_SHARE, SHARE_429 = 0.05, 200.0, 0.90, 0.01


def _rate(f: Figures, steady: bool) -> float:
    return f.steady_pos_per_minute if steady else f.pos_per_minute


def _vs(rounds: Rounds, label: str, base: str, steady: bool) -> list[float]:
    return ratios(
        [_rate(r[label], steady) for r in rounds], [_rate(r[base], steady) for r in rounds]
    )


def _row(rounds: Rounds, label: str) -> str:
    runs, median = [r[label] for r in rounds], statistics.median
    first = runs[0]
    vs = [median_range(_vs(rounds, label, b, s), unit="x") for s in (False, True) for b in TARGETS]
    # A Grid's browsers are its node's processes, not this run's: not sampled.
    browsers = label != "http" and not label.startswith("grid")
    per_browser = f"{max(f.peak_per_browser_mb for f in runs):.0f}" if browsers else "-"
    total = f"{max(f.peak_total_mb for f in runs):.0f}" if browsers else "-"
    return (
        f"| {label} | {first.workers} | {first.pos} | "
        f"{' / '.join(f'{f.seconds:.1f}' for f in runs)} | "
        f"{median(f.pos_per_minute for f in runs):.1f} | {vs[0]} | {vs[1]} | "
        f"{median(f.steady_pos_per_minute for f in runs):.1f} | {vs[2]} | {vs[3]} | "
        f"{per_browser} | {total} | {median(f.cpu_busy for f in runs):.0f}% | "
        f"{' / '.join(f'{f.cpu_steal:.0f}%' for f in runs)} | {sum(f.problems for f in runs)} |"
    )


Target = tuple[str, str, str, str]  # what, measured, wanted, "met" or "missed"


def _target(what: str, measured: str, value: float, goal: float, at_least: bool) -> Target:
    """One row; ``what`` says the unit ("%" in it: ``goal`` is a share, shown as one)."""
    shown = f"{goal:.0%}" if "share" in what else f"{goal:g}"
    return (
        what,
        measured,
        (">= " if at_least else "<= ") + shown,
        verdict(value, goal, at_least=at_least),
    )


def _targets(rounds: Rounds, limited: Limited | None) -> list[Target]:
    rows: list[Target] = []
    for steady, when in ((False, "end to end"), (True, "after start-up")):
        for base, goal in TARGETS.items():
            values = _vs(rounds, "http", base, steady) if rounds else [0.0]
            what = f"http / {base}, POs/min {when} (x)"
            rows.append(_target(what, median_range(values, unit="x"),
                                statistics.median(values), goal, True))  # fmt: skip
    if rounds:
        http = [r["http"] for r in rounds]
        each = " / ".join(f"{f.own_cpu_per_po:.4f}" for f in http)
        worst = max(f.own_cpu_per_po for f in http)
        rows.append(_target("coupadl CPU-s per PO (http, each round)", each, worst, CPU_PER_PO,
                            False))  # fmt: skip
        rss = max(f.own_peak_rss_mb for f in http)
        rows.append(_target("peak RSS of this process in the http runs (MB)", f"{rss:.0f}", rss,
                            RSS_MB, False))  # fmt: skip
    if limited is not None:
        rows += _limit_targets(limited, "rate limited")
    return rows


def _limited_text(limited: Limited, concurrency: str) -> list[str]:
    f, r, t = limited.figures, limited.rate, limited.totals
    limits = [c["limit"] for c in limited.concurrency]
    flight = f"{limits[0]} to {max(limits)}, last {limits[-1]}" if limits else "unknown"
    return [
        "### Under the tenant's rate limit",
        "",
        f"The simulator limits the tenant to 25 requests/s with a burst of 20 (HTTP 429 with "
        "Retry-After beyond); the client's limit is the same (`rate_limit_rps 25`, "
        f"`rate_limit_burst 20`, `concurrency {concurrency}`: "
        f"POs in flight {flight}). {f.pos} POs in {f.steady_seconds:.1f} s from the first "
        f"PO's start to the last PO's end ({f.seconds:.1f} s end to end), {f.problems} "
        f"mismatches; before the run: {f.load}.",
        "",
        f"Over the {r.seconds} whole seconds in that window (the simulator's own per-second "
        f"counts): {r.served:.1f} requests/s answered without a 429 ({r.served / 25:.1%} of "
        f"25), {r.arrived:.1f} arrived, the lowest {LOWEST_OVER} s in a row {r.lowest:.1f}/s. Run "
        f"totals: {t['requests_total']} requests, {t['limited_total']} answered 429 by the "
        f"limit ({t['errors_429_total']} 429s in all). This process's CPU: "
        f"{f.own_cpu_per_po:.4f} s per PO.",
        "",
    ]


def _limit_targets(limited: Limited, engine: str) -> list[Target]:
    share = limited.rate.served / 25
    t = limited.totals
    share_429 = t["errors_429_total"] / max(1, t["requests_total"])
    return [
        _target(f"{engine}: requests/s served, share of 25", f"{share:.1%}", share,
                RATE_SHARE, True),
        _target(f"{engine}: 429s, share of requests", f"{share_429:.2%}", share_429,
                SHARE_429, False),
    ]  # fmt: skip


def render_api_limited(limited: Limited, args: argparse.Namespace, header: dict[str, Any]) -> str:
    """The REST API engine against the limited tenant (``--parts api``)."""
    lines = [
        "## The REST API engine under the tenant's rate limit",
        "",
        f"Written by `benchmarks/engines.py`, {header['date']}. Command: `{header['command']}`",
        "",
        f"Machine: {machine()}. `engine api`, the simulator's OAuth client; every API call, "
        "the token request and every file download count toward the limit.",
        "",
        "| target | measured | wanted | |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {m} | {w} | {v} |" for a, m, w, v in _limit_targets(limited, "api")),
        "",
        *_limited_text(limited, args.limited_concurrency)[2:],
    ]
    return "\n".join(lines)


def render_engines(
    rounds: Rounds, limited: Limited | None, args: argparse.Namespace, header: dict[str, Any]
) -> str:
    lines = [
        "## Engines side by side",
        "",
        f"Written by `benchmarks/engines.py`, {header['date']}; the figures below come from "
        f"one run of it. Command: `{header['command']}`",
        "",
        f"Machine: {machine()}, {header['chromium']}.",
        "",
    ]
    if rounds:
        lines += [
            f"Simulator: {args.pos} POs (seed {args.seed}), {args.latency:g} s server time "
            f"per page, files at {args.bandwidth / 1e6:g} MB/s per connection, no rate limit. "
            f"Rounds: {len(rounds)}; in each, one browser (`workers 1`), the pool "
            "(`workers 4`) and the http engine (`engine http`, `concurrency 16`, "
            "`rate_limit_rps 0`) ran once, one after the other, each from an empty output "
            "folder, each checked file by file against the manifest.",
            "",
            "| engine | browsers / POs in flight | POs | seconds, each round | POs/min "
            "| vs 1 browser | vs 4 browsers | POs/min after start-up | vs 1 browser after "
            "| vs 4 browsers after | peak MB per browser | peak MB total | CPU busy "
            "| CPU steal, each round | mismatches |",
            "| --- " * 15 + "|",
            *(_row(rounds, label) for label in rounds[0]),
            "",
        ]
    lines += ["| target | measured | wanted | |", "| --- | --- | --- | --- |"]
    lines += [f"| {a} | {m} | {w} | {v} |" for a, m, w, v in _targets(rounds, limited)]
    lines.append("")
    if limited is not None:
        lines += _limited_text(limited, args.limited_concurrency)
    lines += _notes(rounds)
    return "\n".join(lines)


def _grid_note(rounds: Rounds) -> list[str]:
    if not rounds or "grid, 2 workers" not in rounds[0]:
        return []
    return [
        "",
        "grid, 2 workers: the browser engine with `grid_url`, its two workers remote "
        "sessions on a Selenium Grid 4 standalone server (`--max-sessions 2`, managed "
        "downloads) started on this same machine, files fetched through the Grid. Its "
        "browsers are the Grid's processes, so their memory is not in the table (CPU busy "
        "is the whole machine's). Beside `2 browsers` (local, the same count) the pair "
        "shows what the Grid costs, not what more machines would give.",
    ]


def _notes(rounds: Rounds) -> list[str]:
    loads = [
        f"round {i}, {label}: {f.load}" for i, r in enumerate(rounds, 1) for label, f in r.items()
    ]
    return [
        "Seconds and POs/min end to end are `run_batch` from call to return: browser "
        "start-up and shutdown, and for the http engine the browser that reads the "
        "session's cookies and closes. After start-up: from the first PO's start to the "
        "last PO's end. A ratio is the median of the rounds' own ratios (both sides from "
        "the same round), the lowest and highest in brackets.",
        "coupadl's CPU per PO is the user + system time of the benchmark's own process (in "
        "which the http engine runs; the simulator is another process, browsers are child "
        "processes and not counted) from the first PO's start to the last PO's end, read "
        f"off samples taken every 0.05 s. Peak memory of the browsers is PSS of each "
        f"browser's process tree every {MEMORY_EVERY:g} s; CPU busy is the whole machine's "
        f"use (simulator included), every {CPU_EVERY:g} s.",
        *_grid_note(rounds),
        "",
        "What else ran (load average and the busiest other processes over 1 s, just before "
        "each run):",
        "",
        *(f"- {line}" for line in loads),
        "",
    ]
