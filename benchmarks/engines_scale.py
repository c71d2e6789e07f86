"""The http engine over many POs (``engines.py --scale N``): is its cost per PO flat?

N POs on a simulator with no page latency and unlimited bandwidth, ``concurrency 16``
and no client rate limit. This process's RSS is read when the first block of POs
(1,000, or half of N when N is smaller) has been recorded and when all have; the first
block's time (first PO's start to the block-th end) is compared with the last block's.
The manifest is fetched and the output checked in child processes, so that neither
weighs on this process's memory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from engine_figures import block_seconds, verdict
from measure import Figures, Run, rss_mb, run_once
from simrun import check_in_child, fetch_to_files, load_now, machine, signed_in_base, simulator

from coupadl.models import POResult

BLOCK = 1000
RSS_LIMIT_MB = 200
FLAT = 0.20  # after N within 20 % of after the first block; the last block at most 20 % longer


@dataclass
class Scale:
    n: int
    seed: int
    block: int
    sim_start_s: float
    manifest_s: float
    files: int
    gigabytes: float
    figures: Figures
    rss_before_mb: float
    rss_block_mb: float
    rss_end_mb: float
    first_block_s: float
    last_block_s: float
    load_after: str


class _Checkpoints:
    """This process's RSS when the ``block``-th and the ``n``-th PO are recorded."""

    def __init__(self, block: int, n: int) -> None:
        self.block, self.n, self.count = block, n, 0
        self.rss: dict[int, float] = {}

    def __call__(self, result: POResult) -> None:
        self.count += 1
        if self.count in (self.block, self.n):
            self.rss[self.count] = rss_mb()


def run_scale(n: int, seed: int, work: Path) -> Scale:
    block = min(BLOCK, n // 2)
    work.mkdir(parents=True, exist_ok=True)
    flags = ["--page-latency", "0", "--file-bandwidth", "0", "--small-files"]
    with simulator(n, seed, flags) as sim:
        began = time.monotonic()
        data = fetch_to_files(sim.base_url, work / "manifest.json", work / "input.csv")
        manifest_s = time.monotonic() - began
        base = signed_in_base(sim, data["credentials"], work)
        checkpoints = _Checkpoints(block, n)
        settings = {**base, "out": work / "out", "engine": "http", "concurrency": 16,
                    "rate_limit_rps": 0}  # fmt: skip
        run = Run(
            f"http, {n} POs", settings, work / "input.csv",
            lambda out: check_in_child(out, work / "manifest.json"), sim.pid, trees=False,
            on_result=checkpoints, load=load_now(),
        )  # fmt: skip
        rss_before = rss_mb()
        figures, spans = run_once(run)
        load_after = load_now()
    first_block, last_block = block_seconds(min(s for s, _ in spans), [e for _, e in spans], block)
    return Scale(
        n, seed, block, sim.started_in, manifest_s, data["files"], data["bytes"] / 1e9, figures,
        rss_before, checkpoints.rss.get(block, 0.0), checkpoints.rss.get(n, 0.0),
        first_block, last_block, load_after,
    )  # fmt: skip


def render_scale(scale: Scale, header: dict[str, str]) -> str:
    f, b, n = scale.figures, f"{scale.block:,}", f"{scale.n:,}"
    growth = scale.rss_end_mb / scale.rss_block_mb - 1
    slower = scale.last_block_s / scale.first_block_s - 1
    peak = max(f.own_peak_rss_mb, scale.rss_end_mb)
    rows = [
        ("coupadl CPU-s per PO", f"{f.own_cpu_per_po:.4f}", "<= 0.05",
         verdict(f.own_cpu_per_po, 0.05, at_least=False)),
        ("peak RSS of this process, MB", f"{peak:.0f}", f"<= {RSS_LIMIT_MB}",
         verdict(peak, RSS_LIMIT_MB, at_least=False)),
        (f"RSS after {b} POs / after {n}, MB", f"{scale.rss_block_mb:.0f} / "
         f"{scale.rss_end_mb:.0f} ({growth:+.0%})", "within 20 %",
         verdict(abs(growth), FLAT, at_least=False)),
        (f"first {b} POs / last {b} POs, s", f"{scale.first_block_s:.1f} / "
         f"{scale.last_block_s:.1f} ({slower:+.0%})", "last at most 20 % longer",
         verdict(slower, FLAT, at_least=False)),
    ]  # fmt: skip
    lines = [
        "## The http engine over many POs",
        "",
        f"Written by `benchmarks/engines.py --scale`, {header['date']}. "
        f"Command: `{header['command']}`",
        "",
        f"Machine: {machine()}, {header['chromium']} (sign-in only). "
        f"Before the run: {f.load}; after it: {scale.load_after}.",
        "",
        f"Simulator: {n} POs (seed {scale.seed}), no page latency, unlimited bandwidth, "
        f"`--small-files` (no 2-4 MB files): {scale.files:,} files, {scale.gigabytes:.2f} GB. "
        f"It started in {scale.sim_start_s:.1f} s; its manifest "
        f"took {scale.manifest_s:.1f} s to fetch (it hashes every file). Client: `engine http`, "
        "`concurrency 16`, `rate_limit_rps 0`.",
        "",
        f"{f.pos:,} POs in {f.seconds:.0f} s end to end ({f.pos_per_minute:.0f} POs/min), "
        f"{f.steady_seconds:.0f} s from the first PO's start to the last PO's end; "
        f"{f.problems} mismatches against the manifest; statuses {f.by_status}; "
        f"this process's CPU {f.own_cpu_seconds:.0f} s; the machine's CPUs "
        f"{f.cpu_busy:.0f}% busy (the simulator included); CPU steal {f.cpu_steal:.0f}%; "
        f"RSS {scale.rss_before_mb:.0f} MB before the run (interpreter, imports, sign-in).",
        "",
        "| figure | measured | target | |",
        "| --- | --- | --- | --- |",
        *(f"| {a} | {m} | {t} | {v} |" for a, m, t, v in rows),
        "",
    ]
    return "\n".join(lines)
