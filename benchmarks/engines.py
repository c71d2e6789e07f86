"""The engines side by side on the simulator: one browser, the 4-browser pool and the
http engine, then the http engine under a tenant rate limit, and (``--scale N``) the
http engine's cost over N POs.

1. Side by side, on the realistic profile of ``throughput.py`` (1 s of server time per
   page, files at 4 MB/s; the simulator in its own process): the same POs with one
   browser (``workers 1``), the pool (``workers 4``) and ``engine http`` with
   ``concurrency 16`` and no rate limit, each run checked file by file against the
   manifest; ``--rounds`` times, and each ratio is the median of the rounds' own
   ratios. The http runs also give coupadl's own CPU seconds per PO (this process, from
   the first PO's start to the last PO's end: the sign-in browser has closed by then,
   and the simulator is another process) and this process's RSS.
2. Rate limited: the simulator limits the tenant to 25 requests/s, burst 20, and the
   client's limit is the same; the achieved rate comes from the simulator's own
   per-second counts (``/__sim__/stats``, read every few seconds: it keeps 120 s).
   ``--parts api`` runs the REST API engine the same way (its own section).
3. ``--scale N`` (e.g. 10000; it takes a while): N POs, no latency, unlimited
   bandwidth; this process's RSS after the first block of 1,000 POs and after all, and
   the time of the first and of the last 1,000 POs.
4. ``--realistic N`` (e.g. 2000): N POs on the realistic profile with coupadl's default
   settings, as a user would run them (``engines_realistic.py``).
5. ``--grid``: the side-by-side runs also have two local browsers (``workers 2``) and two
   browser workers on a Selenium Grid 4 standalone server started on this machine
   (``grid_url``; tests/gridkit.py, the jar that .ci/run fetches): the same machine, so
   the pair shows the Grid's overhead, not its scale.

    .venv/bin/python benchmarks/engines.py --pos 60 --rounds 2 --grid  # writes docs/benchmarks.md
    .venv/bin/python benchmarks/engines.py --parts none --scale 10000
    .venv/bin/python benchmarks/engines.py --parts none --realistic 2000
    .venv/bin/python benchmarks/engines.py --pos 12 --rounds 1 --limited-pos 60 --no-write

Each part writes its own section of docs/benchmarks.md (``engines``, ``http-scale``,
``http-realistic``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from docsection import DOC, markers, write_section
from engine_figures import RateFigures, achieved_rate, merge_seconds
from engines_realistic import render_realistic, run_realistic
from engines_report import render_api_limited, render_engines
from engines_scale import render_scale, run_scale
from measure import Figures, Run, run_once
from simrun import Simulator, chromium_version, load_now, signed_in_base, simulator, write_input

SECTION = markers("engines", "benchmarks/engines.py")
SCALE_SECTION = markers("http-scale", "benchmarks/engines.py")
REALISTIC_SECTION = markers("http-realistic", "benchmarks/engines.py")
API_SECTION = markers("api-limited", "benchmarks/engines.py")
LABELS = ("1 browser", "4 browsers", "http")
GRID_LABELS = ("2 browsers", "grid, 2 workers")
LIMIT_RPS, LIMIT_BURST = 25, 20
STATS_EVERY = 10.0  # seconds; the simulator keeps its per-second counts for 120


def _mismatches(out: Path, manifest: dict[str, Any], api_extras: bool = False) -> int:
    # Imported here: the simulator's modules would count in the --scale run's memory.
    from coupadl.simulator.check import compare_with_manifest

    return len(compare_with_manifest(out, manifest, api_extras=api_extras))


def _engine_settings(label: str, grid_url: str | None) -> dict[str, Any]:
    if label == "http":
        return {"engine": "http", "concurrency": 16, "rate_limit_rps": 0}
    if label.startswith("grid"):
        # The standalone server's node runs as this user: as root, Chromium needs this.
        args = ["--no-sandbox"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return {"engine": "browser", "workers": 2, "grid_url": grid_url, "grid_browser_args": args}
    return {"engine": "browser", "workers": int(label.split()[0])}


@contextmanager
def grid_if_asked(args: argparse.Namespace, work: Path) -> Iterator[str | None]:
    """A Selenium Grid for the ``--grid`` rows (tests/gridkit.py starts it), or None."""
    if not args.grid:
        yield None
        return
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from gridkit import grid_missing, running_grid

    if reason := grid_missing():
        raise SystemExit(f"--grid: {reason}")
    with running_grid(work / "grid") as grid:
        yield grid.url


def side_by_side(args: argparse.Namespace, work: Path) -> list[dict[str, Figures]]:
    """``args.rounds`` rounds of the three engines (and ``--grid``'s pair) on the same POs."""
    flags = ["--page-latency", str(args.latency), "--file-bandwidth", str(args.bandwidth)]
    labels = LABELS + (GRID_LABELS if args.grid else ())
    with simulator(args.pos, args.seed, flags) as sim, grid_if_asked(args, work) as grid_url:
        manifest = sim.manifest()
        base = signed_in_base(sim, manifest["credentials"], work / "side")
        input_path = write_input(work / "side" / "input.csv", list(manifest["pos"]))
        rounds: list[dict[str, Figures]] = []
        for number in range(1, args.rounds + 1):
            rounds.append({})
            for label in labels:
                out = work / "side" / f"out-{number}-{label.replace(' ', '-').replace(',', '')}"
                run = Run(
                    label,
                    {**base, **_engine_settings(label, grid_url), "out": out},
                    input_path,
                    lambda out: _mismatches(out, manifest),
                    sim.pid,
                    trees=label != "http",  # no browsers to sample; it costs our CPU
                    load=load_now(),
                )
                rounds[-1][label] = run_once(run)[0]
                print(f"round {number}: {rounds[-1][label]}", flush=True)
    return rounds


class RatePoller(threading.Thread):
    """The simulator's per-second counts, read every :data:`STATS_EVERY` seconds."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__(daemon=True)
        self.sim = sim
        self.seconds: dict[int, dict[str, int]] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(STATS_EVERY):
            merge_seconds(self.seconds, self.sim.stats()["rate"])

    def stop(self) -> dict[str, Any]:
        """The last counts (merged too), once the run is over."""
        self._halt.set()
        self.join()
        rate = dict(self.sim.stats()["rate"])
        merge_seconds(self.seconds, rate)
        return rate


@dataclass
class Limited:
    figures: Figures
    rate: RateFigures
    totals: dict[str, int]
    concurrency: list[dict[str, Any]] = field(default_factory=list)


def _client(sim: Simulator, manifest: dict[str, Any], engine: str, work: Path) -> dict[str, Any]:
    """How the limited run's client reaches the tenant: the signed-in profile (http) or
    the simulator's OAuth client (api)."""
    credentials = manifest["credentials"]
    if engine == "api":
        return {"base_url": sim.base_url, "api_client_id": credentials["api_client_id"],
                "api_client_secret": credentials["api_client_secret"]}  # fmt: skip
    return signed_in_base(sim, credentials, work)


def rate_limited(args: argparse.Namespace, work: Path, engine: str = "http") -> Limited:
    """``engine`` (http or api) against a tenant limited to 25 requests/s, with the same
    limit."""
    flags = ["--rate-limit-rps", str(LIMIT_RPS), "--rate-limit-burst", str(LIMIT_BURST),
             "--page-latency", str(args.limited_latency)]  # fmt: skip
    work = work / f"limited-{engine}"
    work.mkdir(parents=True, exist_ok=True)
    with simulator(args.limited_pos, args.seed, flags) as sim:
        manifest = sim.manifest()
        base = _client(sim, manifest, engine, work)
        input_path = write_input(work / "input.csv", list(manifest["pos"]))
        out = work / "out"
        settings = {**base, "out": out, "engine": engine, "concurrency": args.limited_concurrency,
                    "rate_limit_rps": LIMIT_RPS, "rate_limit_burst": LIMIT_BURST}  # fmt: skip
        run = Run(
            f"{engine}, rate limited", settings, input_path,
            lambda out: _mismatches(out, manifest, api_extras=engine == "api"), sim.pid,
            trees=False, load=load_now(),
        )  # fmt: skip
        sim.reset_stats()  # the sign-in's requests are not the run's
        poller = RatePoller(sim)
        poller.start()
        try:
            figures, spans = run_once(run)
        finally:
            totals = poller.stop()
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    keys = ("requests_total", "limited_total", "errors_429_total")
    return Limited(
        figures,
        achieved_rate(poller.seconds, first, last),
        {k: int(totals[k]) for k in keys},
        list(report.get("concurrency", [])),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pos", type=int, default=60, help="POs of the side-by-side runs")
    parser.add_argument("--rounds", type=int, default=2, help="Times to run the three engines")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--bandwidth", type=int, default=4_000_000)
    parser.add_argument("--limited-pos", type=int, default=240, help="POs of the limited run")
    parser.add_argument("--limited-latency", type=float, default=0.0)
    parser.add_argument("--limited-concurrency", default="auto")
    parser.add_argument(
        "--parts", default="side,limited,api", help="Comma-separated: side, limited, api; or none"
    )
    parser.add_argument("--scale", type=int, default=0, help="Also the N-PO http run (10000)")
    parser.add_argument(
        "--realistic", type=int, default=0, help="Also N POs with the defaults (2000)"
    )
    parser.add_argument(
        "--grid", action="store_true", help="Side by side: also 2 browsers, local and on a Grid"
    )
    parser.add_argument("--no-write", action="store_true", help="Do not write docs/benchmarks.md")
    parser.add_argument("--keep", action="store_true", help="Keep the output folders in /tmp")
    args = parser.parse_args()
    parts = {p for p in args.parts.split(",") if p and p != "none"}
    if not parts <= {"side", "limited", "api"} or args.rounds < 1:
        parser.error("--parts takes side, limited, api or none; --rounds >= 1")
    command = "python benchmarks/engines.py " + " ".join(sys.argv[1:])
    work = Path(tempfile.mkdtemp(prefix="coupadl-engines-"))
    header = {"date": date.today().isoformat(), "chromium": chromium_version(), "command": command}
    try:
        if parts & {"side", "limited"}:
            rounds = side_by_side(args, work) if "side" in parts else []
            limited = rate_limited(args, work) if "limited" in parts else None
            _emit(SECTION, render_engines(rounds, limited, args, header), args.no_write)
        if "api" in parts:
            api = rate_limited(args, work, "api")
            _emit(API_SECTION, render_api_limited(api, args, header), args.no_write)
        if args.scale:
            scale = run_scale(args.scale, args.seed, work / "scale")
            _emit(SCALE_SECTION, render_scale(scale, header), args.no_write)
        if args.realistic:
            realistic = run_realistic(
                args.realistic, args.seed, args.latency, args.bandwidth, work / "realistic"
            )
            _emit(REALISTIC_SECTION, render_realistic(realistic, header), args.no_write)
    finally:
        if not args.keep:  # the --scale 10000 output alone is about 3 GB
            shutil.rmtree(work, ignore_errors=True)


def _emit(section: tuple[str, str], text: str, no_write: bool) -> None:
    print(text, flush=True)
    if not no_write:
        begin, end = section
        write_section(begin, end, f"{begin}\n{text.rstrip()}\n{end}\n")
        print(f"written to {DOC}")


if __name__ == "__main__":
    main()
