"""End to end, persistent pool against the simulator, with trouble: real headless
Chromium, real worker processes, real signals. The oracle is the simulator's manifest;
orphans are looked for machine-wide (a re-parented browser is no one's child)."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coupadl.engine.spec import BROWSER
from coupadl.errors import ExitCode
from coupadl.execution.pool import PersistentWorkerPool, PoolConfig, Priority
from coupadl.execution.progress import RunProgress
from coupadl.models import POResult, POTask
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.server import SimulatorServer
from faultkit import Live
from helpers import browser_pids, default_sigint, orphans, write_input

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


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


def kill_after(results: list[POResult], count: int, action: Any) -> threading.Thread:
    """Run ``action`` once ``count`` POs have finished (watching from a thread)."""

    def watch() -> None:
        deadline = time.monotonic() + 120
        while len(results) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        action()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_thirty_pos_with_three_workers_match_the_manifest(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, private_tmp: Path
) -> None:
    manifest = sim.manifest()
    before = browser_pids()
    settings = make_settings(workers=3)

    outcome = run_batch(write_input(tmp_path / "in.csv", list(manifest["pos"])), settings)

    assert (outcome.mode, outcome.workers, outcome.processed) == ("pool", 3, 30)
    assert compare_with_manifest(settings.out, manifest) == []
    assert outcome.exit_code is ExitCode.OK
    assert outcome.pool_startup_seconds is not None
    assert not orphans(before)
    assert list(private_tmp.iterdir()) == [], "profile clones left behind"


@pytest.mark.parametrize("victim", ["worker process", "browser"])
def test_killed_worker_or_browser_mid_run_loses_nothing(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, private_tmp: Path, victim: str
) -> None:
    manifest = sim.manifest()
    before = browser_pids()
    settings = make_settings(workers=2)
    live = Live()
    monitor = RunProgress()
    monitor.add_listener(live)
    killed: list[int] = []

    def kill() -> None:
        # A worker that has finished a PO: one still starting would be replaced without
        # counting as a restart.
        worker = live.working_worker()
        if victim == "worker process":
            target = worker
        else:
            # The browser itself (the driver's child), not chromedriver: that one is the
            # worker's first "chrom" child (killing it is in test_browser_faults.py).
            driver = next(p for p in worker.children() if p.name() == "chromedriver")
            target = next(p for p in driver.children() if "chrom" in p.name())
        killed.append(target.pid)
        target.kill()

    watcher = kill_after(live.results, 5, kill)
    outcome = run_batch(
        write_input(tmp_path / "in.csv", list(manifest["pos"])), settings, monitor=monitor
    )
    watcher.join()
    results = live.results

    assert killed, "nothing was killed"
    assert sorted(r.po_number for r in results) == sorted(manifest["pos"]), "each PO once"
    assert compare_with_manifest(settings.out, manifest) == []
    assert outcome.exit_code is ExitCode.OK
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    if victim == "worker process":
        # A killed browser may instead be found dead by an idle check, its worker then
        # left out of dispatch: nothing is lost either way, but no restart is certain.
        assert report["worker_restarts"] >= 1
    # Every retry is one more attempt of some PO.
    assert sum(p["attempts"] - 1 for p in report["pos"]) == report["retries"]
    assert not orphans(before)
    assert list(private_tmp.iterdir()) == []


def _finished_pos(out: Path) -> set[str]:
    try:
        with sqlite3.connect(out / ".coupadl" / "state.db") as db:
            rows = db.execute("SELECT po_number FROM pos WHERE state='finished'")
            return {row[0] for row in rows}
    except sqlite3.OperationalError:
        return set()  # the run has not created its tables yet


def test_sigint_mid_run_then_rerun_completes_without_refetching(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    settings = make_settings(workers=2)
    input_path = write_input(tmp_path / "in.csv", list(manifest["pos"]))
    before = browser_pids()
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
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (settings.out / ".coupadl" / "state.db").exists() and len(
            _finished_pos(settings.out)
        ) >= 5:
            break
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)

    assert process.returncode == ExitCode.INTERRUPTED, output.decode(errors="replace")
    assert not orphans(before)
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
    watcher = kill_after(results, 4, sim.expire_sessions)

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
    watcher = kill_after(more, 3, sim.expire_sessions)
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
    with PersistentWorkerPool(config) as pool:
        first = pool.submit_task(POTask(pos[0]))
        deadline = time.monotonic() + 60
        while pool.get_status().workers[0].current_po != pos[0] and time.monotonic() < deadline:
            time.sleep(0.01)
        # The only worker is busy: these wait in the queue and leave it by priority.
        order = [(pos[1], Priority.LOW), (pos[2], Priority.NORMAL), (pos[3], Priority.URGENT),
                 (pos[4], Priority.HIGH)]  # fmt: skip
        handles = [pool.submit_task(POTask(po), priority=p) for po, p in order]
        results = [h.wait_for_completion(120) for h in [first, *handles]]
    by_finish = [r.po_number for r in sorted(results, key=lambda r: r.finished_at)]
    assert by_finish == [pos[0], pos[3], pos[4], pos[2], pos[1]]
    assert list(private_tmp.iterdir()) == [], "profile clones left behind"
