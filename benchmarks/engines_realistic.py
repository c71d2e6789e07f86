"""A long run as a user starts it (``engines.py --realistic N``): N POs on the
realistic profile (1 s of server time per page, files at 4 MB/s) with coupadl's
defaults: ``engine auto`` (plain HTTP, checked now and then by a browser),
``concurrency auto`` and the default client rate limit. The simulator sets no limit of
its own, so the client's is what holds the run back, as a polite client's should.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from measure import Figures, Run, run_once
from simrun import check_in_child, fetch_to_files, load_now, machine, signed_in_base, simulator

from coupadl.settings import load_settings


@dataclass
class Realistic:
    n: int
    seed: int
    latency: float
    bandwidth: int
    files: int
    gigabytes: float
    requests: int  # served by the simulator during the run
    figures: Figures
    report: dict[str, Any]
    load_after: str


def run_realistic(n: int, seed: int, latency: float, bandwidth: int, work: Path) -> Realistic:
    work.mkdir(parents=True, exist_ok=True)
    flags = ["--page-latency", str(latency), "--file-bandwidth", str(bandwidth)]
    with simulator(n, seed, flags) as sim:
        data = fetch_to_files(sim.base_url, work / "manifest.json", work / "input.csv")
        base = signed_in_base(sim, data["credentials"], work)
        settings = {**base, "out": work / "out"}  # everything else as coupadl ships it
        run = Run(
            f"defaults, {n} POs", settings, work / "input.csv",
            lambda out: check_in_child(out, work / "manifest.json"), sim.pid, trees=False,
            load=load_now(),
        )  # fmt: skip
        before = sim.get("stats")["total"]
        figures, _ = run_once(run)
        requests = sim.get("stats")["total"] - before
        load_after = load_now()
    report = json.loads((work / "out" / "report.json").read_text(encoding="utf-8"))
    return Realistic(
        n, seed, latency, bandwidth, data["files"], data["bytes"] / 1e9, requests, figures,
        report, load_after,
    )  # fmt: skip


def render_realistic(r: Realistic, header: dict[str, str]) -> str:
    f, rep, defaults = r.figures, r.report, load_settings({})
    peak = max((c["limit"] for c in rep.get("concurrency", [])), default=0)
    minutes = f.seconds / 60
    lines = [
        f"## A {r.n:,}-PO run with the defaults",
        "",
        f"Written by `benchmarks/engines.py --realistic`, {header['date']}. "
        f"Command: `{header['command']}`",
        "",
        f"Machine: {machine()}, {header['chromium']}. Before the run: {f.load}; "
        f"after it: {r.load_after}.",
        "",
        f"Simulator: {r.n:,} POs (seed {r.seed}), {r.latency:g} s of server time per page, "
        f"files at {r.bandwidth / 1e6:g} MB/s, no rate limit of its own: {r.files:,} files, "
        f"{r.gigabytes:.2f} GB. Client: coupadl's defaults (`engine {defaults.engine}`, "
        f"`concurrency {defaults.concurrency}`, `rate_limit_rps {defaults.rate_limit_rps:g}`, "
        f"`rate_limit_burst {defaults.rate_limit_burst}`), one signed-in profile.",
        "",
        f"**{r.n:,} POs in {minutes:.1f} min end to end** ({f.pos_per_minute:.0f} POs/min), "
        f"{f.problems} mismatches against the manifest, statuses {f.by_status}. "
        f"The simulator served {r.requests:,} requests (the checking browser's pages and "
        f"their assets included). POs by engine {rep.get('engines')}, "
        f"{rep.get('engine_checks')} also read by the browser to check the http reading, "
        f"{rep.get('engine_disagreements')} disagreements, "
        f"{rep.get('fell_back_to_browser')} handed to the browser; concurrency up to {peak}. "
        f"This process's CPU {f.own_cpu_seconds:.0f} s ({f.own_cpu_per_po:.3f} CPU-s per PO, "
        f"browser checks included), its peak RSS {f.own_peak_rss_mb:.0f} MB; the machine's "
        f"CPUs {f.cpu_busy:.0f}% busy (the simulator included).",
        "",
    ]
    return "\n".join(lines)
