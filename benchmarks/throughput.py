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
The browser engine against the http engine: ``benchmarks/engines.py``.

    .venv/bin/python benchmarks/throughput.py            # prints, and writes docs/benchmarks.md
    .venv/bin/python benchmarks/throughput.py --pos 24 --workers 1,2 --rounds 1 --no-write
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from docsection import DOC, markers, write_section
from measure import CPU_EVERY, MEMORY_EVERY, Figures, Run, median_range, run_once
from simrun import chromium_version, machine, signed_in_base, simulator, write_input

from coupadl.simulator.check import compare_with_manifest

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = markers("throughput", "benchmarks/throughput.py")


def _ratios(rounds: list[dict[int, Figures]], workers: int, steady: bool) -> list[float]:
    """Per round: this worker count's POs/min over the same round's sequential run."""

    def rate(f: Figures) -> float:
        return f.steady_pos_per_minute if steady else f.pos_per_minute

    return [rate(r[workers]) / rate(r[1]) for r in rounds]


def _row(runs: list[Figures], rounds: list[dict[int, Figures]]) -> str:
    first, median = runs[0], statistics.median
    startups = [f.startup_seconds for f in runs if f.startup_seconds is not None]
    startup = f"{median(startups):.2f}" if startups else "-"
    seconds = " / ".join(f"{f.seconds:.1f}" for f in runs)
    return (
        f"| {first.mode} | {first.workers} | {first.pos} | {seconds} | "
        f"{median(f.pos_per_minute for f in runs):.1f} | "
        f"{median_range(_ratios(rounds, first.workers, steady=False), unit='x')} | {startup} | "
        f"{median(f.steady_pos_per_minute for f in runs):.1f} | "
        f"{median_range(_ratios(rounds, first.workers, steady=True), unit='x')} | "
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
        f"Machine: {machine()}, {chromium_version()}.",
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

    flags = ["--page-latency", str(args.latency), "--file-bandwidth", str(args.bandwidth)]
    with simulator(args.pos, args.seed, flags) as sim:
        manifest = sim.manifest()
        work = Path(tempfile.mkdtemp(prefix="coupadl-bench-"))
        base = signed_in_base(sim, manifest["credentials"], work)
        input_path = write_input(work / "input.csv", list(manifest["pos"]))
        rounds: list[dict[int, Figures]] = []
        for number in range(1, args.rounds + 1):
            rounds.append({})
            for workers in counts:
                # The browser engine named: the default ("auto") would take the http one.
                out = work / f"out-{number}-{workers}"
                settings = {**base, "out": out, "engine": "browser", "workers": workers}
                run = Run(
                    f"{workers} browser(s)", settings, input_path,
                    lambda out: len(compare_with_manifest(out, manifest)), sim.pid,
                )  # fmt: skip
                figures = run_once(run)[0]
                rounds[-1][workers] = figures
                print(f"round {number}: {figures}", flush=True)
    text = render(rounds, args, command)
    print(text)
    if not args.no_write:
        write_section(BEGIN, END, f"{BEGIN}\n{text.rstrip()}\n{END}\n")
        print(f"written to {DOC}")


if __name__ == "__main__":
    main()
