"""Throughput of coupadl on the simulator: sequential versus 2 and 4 workers.

Starts the simulator in its own process with a realistic latency profile (about 1 s
of server time per page, files at a few MB/s), signs in once, then runs the same
spreadsheet with each worker count into a fresh output folder and measures, in one
run of this script: POs/min, speedup over sequential, pool start-up time, peak memory
(PSS) per browser and in total. Every run is checked file by file against the
manifest, so a fast wrong run cannot count.

The machine is shared and noisy, so the whole set (sequential, then each worker count)
runs ``--rounds`` times back to back; each speedup is the median of the per-round
ratios (pool against the sequential run of the same round), with their range.

    .venv/bin/python benchmarks/throughput.py            # prints, and writes docs/benchmarks.md
    .venv/bin/python benchmarks/throughput.py --pos 24 --workers 1,2 --rounds 1 --no-write
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from docsection import DOC, markers, write_section

from coupadl.engine.browser.login import sign_in
from coupadl.execution.pool.monitor import TreeMemory
from coupadl.execution.pool.proctree import ProcessTable
from coupadl.models import POResult
from coupadl.runs.batch import run_batch
from coupadl.settings import load_settings
from coupadl.simulator.check import compare_with_manifest

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = markers("throughput", "benchmarks/throughput.py")


@dataclass
class Figures:
    workers: int
    mode: str
    pos: int
    seconds: float
    steady_seconds: float  # from the first PO's start to the last PO's end
    startup_seconds: float | None
    peak_total_mb: float
    peak_per_browser_mb: float
    cpu_busy: float
    cpu_steal: float
    problems: int

    @property
    def pos_per_minute(self) -> float:
        return self.pos / self.seconds * 60

    @property
    def steady_pos_per_minute(self) -> float:
        """Without the start-up and shutdown: what a long run of thousands of POs sees."""
        return self.pos / self.steady_seconds * 60


# Seconds between samples. Reading a process's PSS makes the kernel walk its page tables:
# about 30 ms of CPU per browser tree here, taken from the very runs being measured (the
# pool's own monitor therefore reads it only every 10 s). A browser's memory changes
# slowly once it runs, so every 5 s finds its peak closely enough.
CPU_EVERY = 0.5
MEMORY_EVERY = 5.0


class MemorySampler(threading.Thread):
    """Peak PSS of every process tree this process started, except the simulator's."""

    def __init__(self, exclude: set[int]) -> None:
        super().__init__(daemon=True)
        self.exclude = exclude
        self.memory = TreeMemory()
        self.peak_total = 0
        self.peak_tree = 0
        self.cpu_samples: list[float] = []
        self._halt = threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        psutil.cpu_percent()  # starts the measurement interval
        ticks = 0
        while not self._halt.wait(CPU_EVERY):
            self.cpu_samples.append(psutil.cpu_percent())
            ticks += 1
            if ticks % round(MEMORY_EVERY / CPU_EVERY):
                continue
            table = ProcessTable()  # one pass over all processes for every tree
            trees = [
                self.memory.of_processes(table.tree([pid]))
                for pid in table.children.get(me.pid, [])
                if pid not in self.exclude
            ]
            self.peak_total = max(self.peak_total, sum(trees))
            self.peak_tree = max([self.peak_tree, *trees])

    @property
    def cpu_busy(self) -> float:
        """Average share of all CPUs in use (the whole machine) while sampling."""
        return sum(self.cpu_samples) / len(self.cpu_samples) if self.cpu_samples else 0.0

    def stop(self) -> None:
        self._halt.set()
        self.join()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_simulator(port: int, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "coupadl", "sim", "--port", str(port), "--pos", str(args.pos),
        "--seed", str(args.seed), "--page-latency", str(args.latency),
        "--file-bandwidth", str(args.bandwidth),
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/__sim__/health", timeout=1)
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the simulator did not start")


def fetch_manifest(base_url: str) -> dict:
    with urllib.request.urlopen(f"{base_url}/__sim__/manifest", timeout=30) as response:
        return json.load(response)


def run_once(
    workers: int, base: dict, manifest: dict, input_path: Path, out: Path, sim_pid: int
) -> Figures:
    settings = load_settings({**base, "out": out, "workers": workers})
    sampler = MemorySampler({sim_pid})
    sampler.start()
    results: list[POResult] = []
    times_before = psutil.cpu_times()
    started = time.monotonic()
    outcome = run_batch(input_path, settings, on_result=results.append)
    seconds = time.monotonic() - started
    times_after = psutil.cpu_times()
    sampler.stop()
    problems = compare_with_manifest(settings.out, manifest)
    return Figures(
        workers=outcome.workers,
        mode=outcome.mode,
        pos=outcome.processed,
        seconds=seconds,
        steady_seconds=max(r.finished_at for r in results) - min(r.started_at for r in results),
        startup_seconds=outcome.pool_startup_seconds,
        peak_total_mb=sampler.peak_total / 2**20,
        peak_per_browser_mb=sampler.peak_tree / 2**20,
        cpu_busy=sampler.cpu_busy,
        cpu_steal=steal_percent(times_before, times_after),
        problems=len(problems),
    )


def steal_percent(before: Any, after: Any) -> float:
    """Share of the CPU time during a run that the hypervisor gave to other guests: the
    time this machine's CPUs wanted to run and could not. 0 where the OS does not say."""
    # guest time is already counted in user time
    fields = [f for f in after._fields if f not in ("guest", "guest_nice")]
    total = sum(getattr(after, f) - getattr(before, f) for f in fields)
    stolen = getattr(after, "steal", 0.0) - getattr(before, "steal", 0.0)
    return 100 * stolen / total if total > 0 else 0.0


def chromium_version() -> str:
    try:
        return subprocess.run(
            ["chromium", "--version"], capture_output=True, text=True, timeout=20
        ).stdout.strip()
    except OSError:
        return "unknown"


def _ratios(rounds: list[dict[int, Figures]], workers: int, steady: bool) -> list[float]:
    """Per round: this worker count's POs/min over the same round's sequential run."""

    def rate(f: Figures) -> float:
        return f.steady_pos_per_minute if steady else f.pos_per_minute

    return [rate(r[workers]) / rate(r[1]) for r in rounds]


def _speedup(ratios: list[float]) -> str:
    text = f"{statistics.median(ratios):.2f}x"
    if min(ratios) != max(ratios):
        text += f" ({min(ratios):.2f}-{max(ratios):.2f})"
    return text


def _row(runs: list[Figures], rounds: list[dict[int, Figures]]) -> str:
    first, median = runs[0], statistics.median
    startups = [f.startup_seconds for f in runs if f.startup_seconds is not None]
    startup = f"{median(startups):.2f}" if startups else "-"
    seconds = " / ".join(f"{f.seconds:.1f}" for f in runs)
    return (
        f"| {first.mode} | {first.workers} | {first.pos} | {seconds} | "
        f"{median(f.pos_per_minute for f in runs):.1f} | "
        f"{_speedup(_ratios(rounds, first.workers, steady=False))} | {startup} | "
        f"{median(f.steady_pos_per_minute for f in runs):.1f} | "
        f"{_speedup(_ratios(rounds, first.workers, steady=True))} | "
        f"{max(f.peak_per_browser_mb for f in runs):.0f} | "
        f"{max(f.peak_total_mb for f in runs):.0f} | "
        f"{median(f.cpu_busy for f in runs):.0f}% | "
        f"{' / '.join(f'{f.cpu_steal:.0f}%' for f in runs)} | {sum(f.problems for f in runs)} |"
    )


def render(rounds: list[dict[int, Figures]], args: argparse.Namespace, command: str) -> str:
    lines = [
        "## Throughput",
        "",
        "Written by `benchmarks/throughput.py`; the figures below come from one run of it.",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"{chromium_version()}.",
        "",
        f"Simulator: {args.pos} POs (seed {args.seed}), {args.latency:g} s server time per page, "
        f"files at {args.bandwidth / 1e6:g} MB/s per connection. Each run starts from an empty "
        "output folder and is checked file by file (name, size, sha256) against the manifest.",
        f"Rounds: {len(rounds)}; in each, every mode below ran once, one after the other.",
        "",
        "| mode | browsers | POs | seconds, each round | POs/min | speedup | pool start-up s "
        "| POs/min after start-up | speedup after start-up "
        "| peak MB per browser | peak MB total | CPU busy | CPU steal, each round "
        "| mismatches |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for workers in rounds[0]:
        lines.append(_row([r[workers] for r in rounds], rounds))
    lines += [
        "",
        "Seconds, POs/min and speedup are end to end: `run_batch` from call to return, "
        "browser start-up and shutdown included. The figures after start-up count from the "
        "first PO's start to the last PO's end: what a run of thousands of POs sees, where "
        "start-up is paid once.",
        "POs/min, start-up and CPU busy are medians over the rounds. A speedup is the median "
        "of the rounds' own ratios (this mode against the sequential run of the same round), "
        "with the lowest and highest in brackets: the machine is shared, and a slow minute "
        "should weigh on both sides of a ratio, not on one.",
        "Peak memory (the highest of the rounds) is the proportional set size (PSS) of each "
        "browser's process tree (worker process, chromedriver, Chromium), sampled every "
        f"{MEMORY_EVERY:g} s (each sample costs CPU itself). CPU busy is the average use of "
        f"all the machine's CPUs during the run, sampled every {CPU_EVERY:g} s "
        "(browsers, coupadl and the simulator, which shares the machine here but not in "
        "real use). CPU steal is the share of CPU time during the run that the hypervisor "
        "gave to other virtual machines (counted in CPU busy too): a run with high steal "
        "ran on a slower machine than the others.",
        "Targets on a 2-core machine: 2 workers at least 1.8x and 4 workers at least 3x "
        "sequential.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pos", type=int, default=80)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--bandwidth", type=int, default=4_000_000)
    parser.add_argument("--workers", default="1,2,4", help="Worker counts; 1 (sequential) first")
    parser.add_argument("--rounds", type=int, default=3, help="Times to run the whole set")
    parser.add_argument("--no-write", action="store_true", help="Do not write docs/benchmarks.md")
    args = parser.parse_args()
    command = "python benchmarks/throughput.py " + " ".join(sys.argv[1:])
    counts = [int(w) for w in args.workers.split(",")]
    if counts[0] != 1 or args.rounds < 1:
        parser.error("--workers must start with 1 (the sequential baseline); --rounds >= 1")

    port = free_port()
    simulator = start_simulator(port, args)
    try:
        base_url = f"http://127.0.0.1:{port}"
        manifest = fetch_manifest(base_url)
        work = Path(tempfile.mkdtemp(prefix="coupadl-bench-"))
        base = {
            "base_url": base_url,
            "profile_dir": work / "profile",
            "username": manifest["credentials"]["email"],
            "password": manifest["credentials"]["password"],
            "results_flush_seconds": 1.0,
        }
        sign_in(load_settings(base), timeout=60)
        input_path = work / "input.csv"
        input_path.write_text("PO_NUMBER\n" + "\n".join(manifest["pos"]) + "\n", encoding="utf-8")
        rounds: list[dict[int, Figures]] = []
        for number in range(1, args.rounds + 1):
            rounds.append({})
            for workers in counts:
                out = work / f"out-{number}-{workers}"
                figures = run_once(workers, base, manifest, input_path, out, simulator.pid)
                rounds[-1][workers] = figures
                print(f"round {number}: {figures}", flush=True)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
    text = render(rounds, args, command)
    print(text)
    if not args.no_write:
        write_section(BEGIN, END, f"{BEGIN}\n{text.rstrip()}\n{END}\n")
        print(f"written to {DOC}")


if __name__ == "__main__":
    main()
