"""Running coupadl against a simulator with faults, and checking that nothing was lost.

Shared by the e2e fault tests (test_server_faults.py, test_browser_faults.py): one small
simulator per module, knobs back to calm before each test, every process of a run tagged
so leftovers are found machine-wide, and one check of the outcome against the manifest.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing import resource_tracker
from pathlib import Path
from typing import Any

import psutil
import pytest

from coupadl.engine.browser.handler import BrowserHandler
from coupadl.errors import ExitCode
from coupadl.execution.progress import RunEvent, RunListener, RunProgress, RunSnapshot
from coupadl.models import POResult
from coupadl.runs.batch import RunOutcome, run_batch
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.faults import Knobs
from coupadl.simulator.server import SimulatorServer
from helpers import PROCESS_TAG_ENV, leftover_processes, wait_for, write_input

log = logging.getLogger(__name__)

# Every knob at its default, except script_delay: the late scripts of a page take 2 s by
# default, which only makes tests slower.
CALM = {**dataclasses.asdict(Knobs()), "script_delay": 0.2}

# Short limits so faults are noticed in seconds; max_retries leaves room for every fault
# a test causes to land on the same PO.
FAST = {
    "workers": 2,
    "page_timeout": 8,
    "download_start_timeout": 3,
    "download_stall_timeout": 2,
    "retry_backoff": 0.2,
    "retry_backoff_max": 1.0,
    "max_retries": 4,
}


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """Eight POs: files in header and comments, requisition fallback, none, a 4 MB zip."""
    with SimulatorServer(n_pos=8, seed=21, **CALM) as server:
        yield server


@pytest.fixture(autouse=True)
def calm(sim: SimulatorServer) -> Iterator[None]:
    """Each test starts on a calm simulator with fresh counters."""
    sim.control(**CALM)
    sim.reset_stats()
    yield
    sim.control(**CALM)


@pytest.fixture
def tag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Tags every process the test's run starts (see helpers.tagged_processes)."""
    # multiprocessing's resource tracker serves the whole test process and outlives the
    # run: started before the tag is set, it is not taken for a leftover.
    resource_tracker.ensure_running()
    value = f"{tmp_path.name}-{time.monotonic_ns()}"
    monkeypatch.setenv(PROCESS_TAG_ENV, value)
    return value


class Live(RunListener):
    """What a watcher sees of a run while it goes: the results so far, the kinds of the
    run's events, and each pool worker that came up (from "worker_started" events)."""

    def __init__(self) -> None:
        self.results: list[POResult] = []
        self.worker_pids: dict[str, int] = {}
        self.starts: list[tuple[str, int]] = []  # (worker id, pid), every (re)start
        self.kinds: list[str] = []

    def event(self, event: RunEvent) -> None:
        self.kinds.append(event.kind)
        if event.kind == "worker_started":
            pid = int(event.data["pid"])
            self.worker_pids[event.worker_id] = pid
            self.starts.append((event.worker_id, pid))

    def po_finished(self, result: POResult, snapshot: RunSnapshot) -> None:
        self.results.append(result)

    def when(self, count: int, timeout: float = 120.0) -> None:
        """Wait (on a watcher thread) until ``count`` POs have finished; AssertionError
        when ``timeout`` passes first (``run`` raises it in the test)."""
        wait_for(lambda: len(self.results) >= count, f"{count} POs finished", timeout)

    def working_worker(self) -> psutil.Process:
        """The process of the worker that finished the latest PO: ready, and sure to be
        given more POs while any are left (a worker still starting may never be)."""
        return psutil.Process(self.worker_pids[self.results[-1].worker])


@dataclass
class FaultRun:
    outcome: RunOutcome
    report: dict[str, Any]
    results: list[POResult] = field(default_factory=list)

    def attempts(self) -> dict[str, int]:
        return {entry["po_number"]: entry["attempts"] for entry in self.report["pos"]}


def run(
    sim: SimulatorServer,
    settings: Any,
    tmp_path: Path,
    watch: Callable[[Live], None] | None = None,
) -> FaultRun:
    """Every PO of ``sim`` through ``run_batch``; ``watch`` runs on a thread meanwhile and
    sees the run as it goes (to cause trouble mid-run). What ``watch`` raises (a wait
    that timed out) is raised here, once the run has ended."""
    live = Live()
    monitor = RunProgress()
    monitor.add_listener(live)
    failed: list[BaseException] = []

    def guarded(live: Live) -> None:
        assert watch is not None
        try:
            watch(live)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            failed.append(exc)

    thread = None
    if watch is not None:
        thread = threading.Thread(target=guarded, args=(live,), daemon=True)
        thread.start()
    pos = list(sim.manifest()["pos"])
    outcome = run_batch(write_input(tmp_path / "in.csv", pos), settings, monitor=monitor)
    if thread is not None:
        # Wait it out (its waits are bounded), so no knob changes after the test's end.
        thread.join()
    if failed:
        raise failed[0]
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    return FaultRun(outcome, report, live.results)


def assert_nothing_lost(sim: SimulatorServer, done: FaultRun, settings: Any, tag: str) -> None:
    """The right status and files for every PO, each PO reported once, report counts that
    add up, and no process of the run left behind. Logs a one-line summary."""
    manifest = sim.manifest()
    problems = compare_with_manifest(settings.out, manifest)
    r = done.report
    log.info(
        "reliability: POs %d, retries %d, restarts %d, rate-limit pauses %d, auth pauses %d, "
        "lost %d",
        r["totals"]["pos"], r["retries"], r["worker_restarts"], r["rate_limit_pauses"],
        r["auth_pauses"], len({problem.split(":")[0] for problem in problems}),
    )  # fmt: skip
    # (Plain asserts here: pytest rewrites only test modules, so each says what it saw.)
    assert not problems, problems
    assert done.outcome.exit_code is ExitCode.OK, done.outcome.exit_code
    seen = sorted(x.po_number for x in done.results)
    assert seen == sorted(manifest["pos"]), f"each PO once, got {seen}"
    # Every retry is one more attempt of some PO (pauses for sign-in are not attempts).
    attempts = done.attempts()
    assert sum(n - 1 for n in attempts.values()) == r["retries"], (attempts, r["retries"])
    left = leftover_processes(tag)
    assert not left, f"processes of the run left behind: {left}"


def events(out: Path, kind: str) -> list[tuple[float, str, str]]:
    """``(time, po, detail)`` of the run state's events of ``kind``, oldest first."""
    with sqlite3.connect(out / ".coupadl" / "state.db") as db:
        rows = db.execute(
            "SELECT ts, po_number, detail FROM events WHERE kind = ? ORDER BY id", (kind,)
        )
        return [(float(ts), str(po), str(detail)) for ts, po, detail in rows]


class SecondCloneSignedOut(BrowserHandler):
    """A real browser handler (``PoolConfig.handler_factory``) whose worker-2 comes up
    with no cookies, as a profile copy does whose cookies the browser cannot decrypt
    (Chrome/Edge "v20" cookies on Windows). Once given cookies it keeps them."""

    def start(self) -> None:
        super().start()
        if self.worker_id == "worker-2" and not self._cookies:
            self.session.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
