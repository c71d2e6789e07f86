"""Memory: how many workers fit, and how much the workers use now.

Each worker's usage is the sum over its process tree (the worker, the driver, the
browser and its renderers) plus the pids its handler reported. Chromium's processes
share a lot of memory, so RSS would count shared pages once per process and overstate
the total; PSS (Linux) splits shared pages between the processes that share them. Where
PSS does not exist, USS (memory private to the process) is the next best; RSS is the last
resort. Which one is used is logged once.

Reading PSS is not free: Linux sums it page by page (``/proc/<pid>/smaps_rollup``), about
30 ms of CPU per browser tree, taken from the browsers the pool runs. So the monitor
reads it every ``EXACT_EVERY``-th sample, and whenever a tree's processes change (a new
tab's renderer, a restarted browser); in between, it scales the tree's RSS, which costs
next to nothing, by the PSS/RSS ratio of the last exact reading.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable

import psutil

from coupadl.execution.pool.proctree import ProcessTable

logger = logging.getLogger(__name__)

MB = 1024 * 1024
DEFAULT_PER_WORKER_MB = 400  # one headless Chromium with one Coupa tab, measured roughly
# A PO is mostly waiting for Coupa (about 1 s per page) and ~0.3 s of browser CPU, so two
# browsers per core keep the cores busy: on 2 cores, 4 workers ran about 1.8x faster than 2
# (docs/benchmarks.md).
WORKERS_PER_CPU = 2
BUDGET_SHARE = 0.7  # default budget: this share of the RAM available at start
EXACT_EVERY = 5  # samples between exact readings: 10 s at the default 2 s interval


def auto_worker_count(
    available_mb: float,
    cpu_count: int | None,
    per_worker_mb: float = DEFAULT_PER_WORKER_MB,
    max_workers: int = 4,
) -> int:
    """Workers for ``workers="auto"``: as many as fit in ``available_mb`` at
    ``per_worker_mb`` each, at most ``WORKERS_PER_CPU`` per CPU and at most
    ``max_workers``; never fewer than 1."""
    by_memory = int(available_mb // per_worker_mb) if per_worker_mb > 0 else max_workers
    by_cpu = WORKERS_PER_CPU * max(1, cpu_count or 1) if cpu_count else 1
    return max(1, min(by_memory, by_cpu, max_workers))


def auto_worker_count_now(max_workers: int, per_worker_mb: float = DEFAULT_PER_WORKER_MB) -> int:
    """``auto_worker_count`` for this machine now (70 % of available RAM, all CPUs)."""
    return auto_worker_count(default_budget_mb(), os.cpu_count(), per_worker_mb, max_workers)


def default_budget_mb() -> float:
    """The default memory budget: 70 % of the RAM available now."""
    return psutil.virtual_memory().available / MB * BUDGET_SHARE


class TreeMemory:
    """Measures the memory of process trees with the best metric the platform allows."""

    def __init__(self) -> None:
        self._metric: str | None = None

    def _choose(self, proc: psutil.Process) -> str:
        try:
            info = proc.memory_full_info()
        except psutil.AccessDenied:
            logger.info("memory metric: RSS (no access to detailed memory info)")
            return "rss"
        if hasattr(info, "pss"):
            logger.info("memory metric: PSS of each worker's process tree")
            return "pss"
        logger.info("memory metric: USS of each worker's process tree (no PSS here)")
        return "uss"

    def of_process(self, proc: psutil.Process) -> int:
        if self._metric is None:
            self._metric = self._choose(proc)
        try:
            if self._metric == "rss":
                return int(proc.memory_info().rss)
            info = proc.memory_full_info()
            return int(getattr(info, self._metric))
        except psutil.AccessDenied:
            # Some processes (e.g. a sandbox helper) refuse detailed info: count their RSS.
            try:
                return int(proc.memory_info().rss)
            except psutil.Error:
                return 0
        except psutil.Error:
            return 0  # gone between listing and measuring

    def of_processes(self, procs: list[psutil.Process]) -> int:
        """Bytes used by ``procs`` (a tree from :class:`ProcessTable`)."""
        return sum(self.of_process(proc) for proc in procs)


def rss_of(procs: list[psutil.Process]) -> int:
    """Resident bytes of ``procs``, shared pages counted once per process: cheap to read."""
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):  # gone between listing and measuring
            total += int(proc.memory_info().rss)
    return total


class MemoryMonitor:
    """Samples the workers' memory every ``interval`` seconds on a daemon thread.

    ``roots`` returns {worker_id: [root pids]} (called without the pool's lock held long);
    ``store`` receives {worker_id: bytes}. Sampling runs here, not in get_status(), so a
    status call never pays for reading /proc."""

    def __init__(
        self,
        roots: Callable[[], dict[str, list[int]]],
        store: Callable[[dict[str, int]], None],
        interval: float = 2.0,
        exact_every: int = EXACT_EVERY,
    ) -> None:
        self._roots = roots
        self._store = store
        self._interval = interval
        self._exact_every = max(1, exact_every)
        self._samples = 0
        # worker id -> (the pids of its last exact reading, that reading's PSS/RSS)
        self._ratios: dict[str, tuple[frozenset[int], float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.measure = TreeMemory()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="coupadl-pool-memory", daemon=True)
        self._thread.start()

    def sample_once(self) -> dict[str, int]:
        table = ProcessTable()
        exact_turn = self._samples % self._exact_every == 0
        self._samples += 1
        roots = self._roots()
        usage = {wid: self._usage(wid, table.tree(pids), exact_turn) for wid, pids in roots.items()}
        for gone in self._ratios.keys() - roots.keys():
            del self._ratios[gone]
        self._store(usage)
        return usage

    def _usage(self, worker_id: str, procs: list[psutil.Process], exact_turn: bool) -> int:
        rss = rss_of(procs)
        pids = frozenset(proc.pid for proc in procs)
        last = self._ratios.get(worker_id)
        if exact_turn or last is None or last[0] != pids or rss == 0:
            exact = self.measure.of_processes(procs)
            self._ratios[worker_id] = (pids, exact / rss if rss else 1.0)
            return exact
        return int(rss * last[1])

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sample_once()
            except Exception:
                # Never let a sampling hiccup end monitoring for the rest of the run.
                logger.exception("memory sampling failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self._thread = None
