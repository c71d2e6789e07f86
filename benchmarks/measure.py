"""One measured run of coupadl on the simulator, as every benchmark takes it: POs/min
end to end and after start-up, the machine's CPU, the browsers' memory, this
process's own CPU and memory, and the check against the manifest.

The figures of this process (``own_*``) are coupadl's own cost with the http engine:
the simulator is another process, and the browsers are child processes, which
``psutil.Process().cpu_times()`` user and system time does not include.
"""

from __future__ import annotations

import bisect
import os
import statistics
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from coupadl.execution.pool.monitor import TreeMemory
from coupadl.execution.pool.proctree import ProcessTable
from coupadl.models import POResult
from coupadl.runs.batch import run_batch
from coupadl.settings import load_settings

# Seconds between samples. Reading a process's PSS makes the kernel walk its page tables:
# about 30 ms of CPU per browser tree here, taken from the very runs being measured (the
# pool's own monitor therefore reads it only every 10 s). A browser's memory changes
# slowly once it runs, so every 5 s finds its peak closely enough. This process's own
# CPU time and RSS are two cheap reads of /proc/self, taken often, so that the CPU at
# the first PO's start can be read off them closely.
CPU_EVERY = 0.5
MEMORY_EVERY = 5.0
OWN_EVERY = 0.05


def value_at(times: Sequence[float], values: Sequence[float], at: float) -> float:
    """``values`` (sampled at ``times``, ascending) at ``at``, read linearly between the
    samples around it; the first or last value outside them."""
    i = bisect.bisect_left(times, at)
    if i == 0:
        return values[0]
    if i == len(times):
        return values[-1]
    t0, t1 = times[i - 1], times[i]
    share = (at - t0) / (t1 - t0) if t1 > t0 else 0.0
    return values[i - 1] + share * (values[i] - values[i - 1])


class Own:
    """This process's CPU seconds (user + system) and RSS bytes over time (``time.time()``,
    as POResult.started_at and finished_at), in arrays: a long run's samples must not
    weigh on the very memory they measure."""

    def __init__(self) -> None:
        self.at, self.cpu, self.rss = array("d"), array("d"), array("d")

    def sample(self, process: psutil.Process) -> None:
        times = process.cpu_times()
        self.at.append(time.time())
        self.cpu.append(times.user + times.system)
        self.rss.append(process.memory_info().rss)

    def cpu_between(self, first: float, last: float) -> float:
        return value_at(self.at, self.cpu, last) - value_at(self.at, self.cpu, first)

    def peak_rss_between(self, first: float, last: float) -> float:
        inside = [r for t, r in zip(self.at, self.rss, strict=True) if first <= t <= last]
        return max(inside or self.rss[-1:])


class Sampler(threading.Thread):
    """The machine's CPU use, this process's CPU and RSS, and (``trees``) the peak PSS of
    every process tree this process started except ``exclude`` (the simulator's)."""

    def __init__(self, exclude: set[int], trees: bool) -> None:
        super().__init__(daemon=True)
        self.exclude, self.trees = exclude, trees
        self.memory = TreeMemory()
        self.peak_total = 0
        self.peak_tree = 0
        self.cpu_samples: list[float] = []
        self.own = Own()
        self._halt = threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        psutil.cpu_percent()  # starts the measurement interval
        last_cpu = last_memory = time.monotonic()
        while not self._halt.wait(OWN_EVERY):
            self.own.sample(me)
            now = time.monotonic()
            if now - last_cpu >= CPU_EVERY:
                self.cpu_samples.append(psutil.cpu_percent())
                last_cpu = now
            if self.trees and now - last_memory >= MEMORY_EVERY:
                last_memory = now
                self._trees(me.pid)

    def _trees(self, pid: int) -> None:
        table = ProcessTable()  # one pass over all processes for every tree
        trees = [
            self.memory.of_processes(table.tree([child]))
            for child in table.children.get(pid, [])
            if child not in self.exclude
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


@dataclass
class Figures:
    label: str
    mode: str
    workers: int
    pos: int
    seconds: float
    steady_seconds: float  # from the first PO's start to the last PO's end
    startup_seconds: float | None
    peak_total_mb: float
    peak_per_browser_mb: float
    cpu_busy: float
    cpu_steal: float
    problems: int
    own_cpu_seconds: float  # this process, from the first PO's start to the last's end
    own_peak_rss_mb: float  # this process, same window
    load: str = ""  # what else ran, just before
    by_status: dict[str, int] = field(default_factory=dict)

    @property
    def pos_per_minute(self) -> float:
        return self.pos / self.seconds * 60

    @property
    def steady_pos_per_minute(self) -> float:
        """Without the start-up and shutdown: what a long run of thousands of POs sees."""
        return self.pos / self.steady_seconds * 60

    @property
    def own_cpu_per_po(self) -> float:
        return self.own_cpu_seconds / self.pos if self.pos else 0.0


def steal_percent(before: Any, after: Any) -> float:
    """Share of the CPU time during a run that the hypervisor gave to other guests: the
    time this machine's CPUs wanted to run and could not. 0 where the OS does not say."""
    # guest time is already counted in user time
    fields = [f for f in after._fields if f not in ("guest", "guest_nice")]
    total = sum(getattr(after, f) - getattr(before, f) for f in fields)
    stolen = getattr(after, "steal", 0.0) - getattr(before, "steal", 0.0)
    return 100 * stolen / total if total > 0 else 0.0


@dataclass
class Run:
    """What one measured run needs; ``check`` counts the output's mismatches."""

    label: str
    settings: dict[str, Any]
    input_path: Path
    check: Callable[[Path], int]
    sim_pid: int
    trees: bool = True  # sample the browsers' PSS (costs CPU of this process)
    on_result: Callable[[POResult], None] | None = None
    load: str = ""


Span = tuple[float, float]  # a PO's started_at and finished_at


def run_once(run: Run) -> tuple[Figures, list[Span]]:
    """One run; its figures, and when each PO started and ended (only the times: a
    long run's results must not weigh on this process's memory)."""
    settings = load_settings(run.settings)
    sampler = Sampler({run.sim_pid}, run.trees)
    sampler.start()
    spans: list[Span] = []

    def recorded(result: POResult) -> None:
        spans.append((result.started_at, result.finished_at))
        if run.on_result is not None:
            run.on_result(result)

    times_before = psutil.cpu_times()
    started = time.monotonic()
    outcome = run_batch(run.input_path, settings, on_result=recorded)
    seconds = time.monotonic() - started
    times_after = psutil.cpu_times()
    sampler.stop()
    first, last = min(s for s, _ in spans), max(e for _, e in spans)
    figures = Figures(
        label=run.label,
        mode=outcome.mode,
        workers=outcome.workers,
        pos=outcome.processed,
        seconds=seconds,
        steady_seconds=last - first,
        startup_seconds=outcome.pool_startup_seconds,
        peak_total_mb=sampler.peak_total / 2**20,
        peak_per_browser_mb=sampler.peak_tree / 2**20,
        cpu_busy=sampler.cpu_busy,
        cpu_steal=steal_percent(times_before, times_after),
        problems=run.check(settings.out),
        own_cpu_seconds=sampler.own.cpu_between(first, last),
        own_peak_rss_mb=sampler.own.peak_rss_between(first, last) / 2**20,
        load=run.load,
        by_status=dict(outcome.by_status),
    )
    return figures, spans


def median_range(values: Sequence[float], digits: int = 2, unit: str = "") -> str:
    """``median`` and, when the values differ, ``(lowest-highest)``."""
    text = f"{statistics.median(values):.{digits}f}{unit}"
    if min(values) != max(values):
        text += f" ({min(values):.{digits}f}-{max(values):.{digits}f})"
    return text


def rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20
