"""End to end, persistent pool against the simulator, with trouble: real headless
Chromium, real worker processes, real signals. The oracle is the simulator's manifest;
leftovers are found by the test's process tag (helpers.PROCESS_TAG_ENV): a re-parented
browser is no one's child, and another run's browser on the machine is not this test's."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import faultkit
from coupadl.engine.spec import BROWSER
from coupadl.errors import ExitCode
from coupadl.execution.pool import PersistentWorkerPool, PoolConfig, Priority
from coupadl.execution.progress import RunProgress
from coupadl.models import POResult, POTask
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.server import SimulatorServer
from faultkit import Live, events
from helpers import default_sigint, leftover_processes, wait_for, write_input

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

tag = faultkit.tag  # every process a test's run starts carries the test's tag


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """30 POs, so a run lasts long enough to be interrupted."""
    with SimulatorServer(n_pos=30, seed=11) as server:
        yield server


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Profile clones go here, so the test can see that none is left."""
    clones = tmp_path / "tmp"
    clones.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(clones))
    return clones


class Watcher(threading.Thread):
    """Runs ``action`` once ``count`` POs have finished; ``join`` raises what it raised
    (a wait that timed out, an action that failed) in the test's thread."""

    def __init__(self, results: list[POResult], count: int, action: Callable[[], None]) -> None:
        super().__init__(daemon=True)
        self.results, self.count, self.action = results, count, action
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            wait_for(lambda: len(self.results) >= self.count, f"{self.count} POs finished")
            self.action()
        except BaseException as exc:  # noqa: BLE001 - raised again by join()
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def test_thirty_pos_with_three_workers_match_the_manifest(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, private_tmp: Path, tag: str
) -> None:
    manifest = sim.manifest()
    settings = make_settings(workers=3)

    outcome = run_batch(write_input(tmp_path / "in.csv", list(manifest["pos"])), settings)

    assert (outcome.mode, outcome.workers, outcome.processed) == ("pool", 3, 30)
    assert compare_with_manifest(settings.out, manifest) == []
    assert outcome.exit_code is ExitCode.OK
    assert outcome.pool_startup_seconds is not None
    assert leftover_processes(tag) == [], "processes of the run left behind"
    assert list(private_tmp.iterdir()) == [], "profile clones left behind"


@pytest.mark.parametrize("victim", ["worker process", "browser"])
def test_killed_worker_or_browser_mid_run_loses_nothing(
    sim: SimulatorServer,
    make_settings: Any,
    tmp_path: Path,
    private_tmp: Path,
    tag: str,
    victim: str,
) -> None:
    manifest = sim.manifest()
    settings = make_settings(workers=2)
    live = Live()
    monitor = RunProgress()
    monitor.add_listener(live)
    killed: dict[str, Any] = {}

    def kill() -> None:
        # A worker that has finished a PO: one still starting would be replaced without
        # counting as a restart.
        worker_id = live.results[-1].worker
        worker = live.working_worker()
        if victim == "worker process":
            target = worker
        else:
            # The browser itself (the driver's child), not chromedriver: that one is the
            # worker's first "chrom" child (killing it is in test_browser_faults.py).
            driver = next(p for p in worker.children() if p.name() == "chromedriver")
            target = next(p for p in driver.children() if "chrom" in p.name())
        killed.update(worker=worker_id, pid=worker.pid, starts=len(live.starts))
        target.kill()

    watcher = Watcher(live.results, 5, kill)
    outcome = run_batch(
        write_input(tmp_path / "in.csv", list(manifest["pos"])), settings, monitor=monitor
    )
    watcher.join()
    results = live.results

    assert killed, "nothing was killed"
    # The worker was restarted: the run's report counts it, its state DB names the
    # worker, and the worker came up again as a new process.
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    restarted = [detail.split()[0] for _, _, detail in events(settings.out, "restart")]
    assert killed["worker"] in restarted, (killed, restarted)
    assert report["worker_restarts"] == len(restarted), (report["worker_restarts"], restarted)
    later = [pid for worker, pid in live.starts[killed["starts"] :] if worker == killed["worker"]]
    assert later and later[0] != killed["pid"], (killed, live.starts)
    assert sorted(r.po_number for r in results) == sorted(manifest["pos"]), "each PO once"
    assert compare_with_manifest(settings.out, manifest) == []
    assert outcome.exit_code is ExitCode.OK
    # Every retry is one more attempt of some PO.
    assert sum(p["attempts"] - 1 for p in report["pos"]) == report["retries"]
    assert leftover_processes(tag) == [], "processes of the run left behind"
    assert list(private_tmp.iterdir()) == []


def _finished_pos(out: Path) -> set[str]:
    try:
        with sqlite3.connect(out / ".coupadl" / "state.db") as db:
            rows = db.execute("SELECT po_number FROM pos WHERE state='finished'")
            return {row[0] for row in rows}
    except sqlite3.OperationalError:
        return set()  # the run has not created its tables yet


def test_sigint_mid_run_then_rerun_completes_without_refetching(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str
) -> None:
    manifest = sim.manifest()
    settings = make_settings(workers=2)
    input_path = write_input(tmp_path / "in.csv", list(manifest["pos"]))
    command = [
        sys.executable, "-m", "coupadl", "run", str(input_path),
        "--base-url", sim.base_url, "--out", str(settings.out), "--workers", "2",
        "--profile-dir", str(settings.profile_dir),
        "--browser-binary", str(settings.browser_binary),
        "--driver-path", str(settings.driver_path),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=default_sigint
    )
    try:
        state_db = settings.out / ".coupadl" / "state.db"  # (connecting would make it)
        wait_for(
            lambda: state_db.exists() and len(_finished_pos(settings.out)) >= 5,
            "5 POs finished in the run's state DB",
        )
    except AssertionError:
        process.kill()
        raise
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)

    assert process.returncode == ExitCode.INTERRUPTED, output.decode(errors="replace")
    assert leftover_processes(tag) == [], "processes of the run left behind"
    first = _finished_pos(settings.out)
    assert 5 <= len(first) < 30

    sim.reset_stats()
    outcome = run_batch(input_path, settings)

    assert not set(sim.stats()["pos"]) & first, (
        "POs finished before the interrupt were fetched again"
    )
    assert outcome.skipped == len(first)
    assert compare_with_manifest(settings.out, manifest) == []


def test_expired_session_pauses_the_pool_then_sign_in_resumes(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, own_profile: Path
) -> None:
    manifest = sim.manifest()
    input_path = write_input(tmp_path / "in.csv", list(manifest["pos"]))
    settings = make_settings(workers=2, profile_dir=own_profile)
    results: list[POResult] = []
    watcher = Watcher(results, 4, sim.expire_sessions)

    stopped = run_batch(input_path, settings, on_result=results.append)
    watcher.join()

    assert stopped.exit_code is ExitCode.AUTH_REQUIRED
    assert stopped.pending, "the rest of the queue must stay pending"
    statuses = {r.status.value for r in results}
    assert "AUTH_REQUIRED" in statuses
    assert not statuses & {"FAILED", "PO_NOT_FOUND", "PARTIAL", "TIMEOUT"}
    assert len(results) < 30
    assert json.loads(stopped.report_path.read_text(encoding="utf-8"))["auth_pauses"] == 1

    # With the tenant's credentials configured, the run signs in again by itself.
    creds = manifest["credentials"]
    resumed_settings = settings.model_copy(
        update={"username": creds["email"], "password": creds["password"]}
    )
    more: list[POResult] = []
    watcher = Watcher(more, 3, sim.expire_sessions)
    resumed = run_batch(input_path, resumed_settings, on_result=more.append)
    watcher.join()

    assert resumed.exit_code is ExitCode.OK
    assert compare_with_manifest(settings.out, manifest) == []
    # This run's report counts this run's pause (the state DB also holds the first's).
    assert json.loads(resumed.report_path.read_text(encoding="utf-8"))["auth_pauses"] >= 1


def test_priorities_are_honoured_with_real_browsers(
    sim: SimulatorServer, make_settings: Any, base_profile: Path, private_tmp: Path
) -> None:
    pos = list(sim.manifest()["pos"])[:5]
    settings = make_settings(workers=1)
    config = PoolConfig(
        settings=settings,
        handler_factory=BROWSER.handler_factory,
        prepare_factory=BROWSER.prepare_factory,
        failure_code=BROWSER.failure_code,
        base_profile=base_profile,
    )
    pool = PersistentWorkerPool(config)
    try:
        # Queued before the pool starts, so all of them wait when the only worker asks
        # for its first: they leave by priority (first come first within one), whatever
        # the timing. The worker then takes them one at a time, so they finish so too.
        order = [(pos[0], Priority.LOW), (pos[1], Priority.NORMAL), (pos[2], Priority.URGENT),
                 (pos[3], Priority.HIGH), (pos[4], Priority.NORMAL)]  # fmt: skip
        handles = [pool.submit_task(POTask(po), priority=p) for po, p in order]
        pool.start()
        results = [h.wait_for_completion(120) for h in handles]
    finally:
        pool.shutdown(graceful=True, timeout=30)
    by_finish = [r.po_number for r in sorted(results, key=lambda r: r.finished_at)]
    assert by_finish == [pos[2], pos[3], pos[1], pos[4], pos[0]]
    assert all(r.status.is_done for r in results), [(r.po_number, r.message) for r in results]
    assert list(private_tmp.iterdir()) == [], "profile clones left behind"
