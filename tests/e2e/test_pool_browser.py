"""End to end, pool path: two real headless Chromiums against the simulator.

The oracle is the simulator's manifest; the orphan checks look for any chromium or
chromedriver process left under this test process or among the pids the pool recorded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from coupadl.engine.spec import BROWSER
from coupadl.errors import ExitCode
from coupadl.execution.pool import EventKind, PersistentWorkerPool, PoolConfig, PoolEvent
from coupadl.models import POTask
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from helpers import write_input

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


def browser_processes() -> list[psutil.Process]:
    """Chromium or chromedriver processes still running under this test process."""
    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            if "chrom" in proc.name().lower():
                found.append(proc)
        except psutil.NoSuchProcess:
            continue
    return found


def all_gone(pids: list[int], timeout: float = 10.0) -> bool:
    def gone(pid: int) -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(gone(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def real_pool(
    settings: Any, base_profile: Path, tmp_path: Path, events: list[PoolEvent], **config: Any
) -> PersistentWorkerPool:
    """A pool of real browser workers on clones of ``base_profile``, its events kept;
    ``config`` overrides (e.g. another handler factory)."""
    engine = {
        "handler_factory": BROWSER.handler_factory,
        "prepare_factory": BROWSER.prepare_factory,
        "failure_code": BROWSER.failure_code,
    }
    return PersistentWorkerPool(
        PoolConfig(
            settings=settings,
            base_profile=base_profile,
            clone_parent=tmp_path / "clones",
            on_event=events.append,
            **{**engine, **config},
        )
    )


def test_pooled_run_matches_the_manifest(sim: Any, make_settings: Any, tmp_path: Path) -> None:
    manifest = sim.manifest()
    pos = list(manifest["pos"])
    settings = make_settings(workers=2)

    outcome = run_batch(write_input(tmp_path / "in.csv", pos), settings)

    assert outcome.mode == "pool"
    assert outcome.workers == 2
    assert compare_with_manifest(settings.out, manifest) == []
    assert outcome.exit_code is ExitCode.OK
    assert not list(settings.out.rglob("*__WORK"))
    assert not browser_processes()


def test_dead_browser_restarted_and_abort_leaves_no_browser(
    sim: Any, make_settings: Any, base_profile: Path, tmp_path: Path
) -> None:
    events: list[PoolEvent] = []
    settings = make_settings(workers=2)
    pos = list(sim.manifest()["pos"])[:8]
    pool = real_pool(settings, base_profile, tmp_path, events)
    recorded: list[int] = []
    try:
        pool.start()
        victim = next(w for w in pool.get_status().workers if w.child_pids)
        recorded.extend(victim.child_pids)
        # Kill the worker's chromedriver and browser: the supervisor must notice.
        for pid in victim.child_pids[:2]:
            psutil.Process(pid).kill()
        handles = [pool.submit_task(POTask(po)) for po in pos]
        results = [h.wait_for_completion(120) for h in handles]
        assert sorted(r.po_number for r in results) == sorted(pos)
        # Noticed by the supervisor, or by the handler failing on it: either way a restart.
        time.sleep(0.5)  # events arrive on the pool's event thread
        restarted = [e for e in events if e.kind is EventKind.WORKER_RESTARTED]
        assert [e.worker_id for e in restarted] == [victim.worker_id]
        for worker in pool.get_status().workers:
            recorded.extend(worker.child_pids)
        # Abort while POs run: every browser must go with the pool.
        for po in pos:
            pool.submit_task(POTask(po))
        time.sleep(1.0)
    finally:
        pool.shutdown(graceful=False)
    assert all_gone(recorded)
    assert not browser_processes()
    assert not list((tmp_path / "clones").iterdir())


def test_a_clone_that_comes_up_signed_out_gets_a_signed_in_workers_cookies(
    sim: Any, make_settings: Any, base_profile: Path, tmp_path: Path
) -> None:
    """The worker's session check (Coupa's session poll, in the real browser) finds
    worker-2 signed out; the pool exports worker-1's cookies over CDP, restarts worker-2
    with them, and worker-2 then downloads POs like the other."""
    events: list[PoolEvent] = []
    settings = make_settings(workers=2)
    pos = list(sim.manifest()["pos"])[:6]
    pool = real_pool(
        settings, base_profile, tmp_path, events, handler_factory="faultkit:SecondCloneSignedOut"
    )
    try:
        pool.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = {w.worker_id: w for w in pool.get_status().workers}
            if len(states) == 2 and all(w.state.value == "idle" for w in states.values()):
                break
            time.sleep(0.2)
        handles = [pool.submit_task(POTask(po)) for po in pos]
        results = [h.wait_for_completion(120) for h in handles]
    finally:
        pool.shutdown(graceful=True, timeout=30)
    time.sleep(0.2)  # events arrive on the pool's event thread
    started = [e for e in events if e.kind is EventKind.WORKER_STARTED]
    signed_in = {(e.worker_id, e.data["signed_in"]) for e in started}
    assert ("worker-1", True) in signed_in
    assert ("worker-2", False) in signed_in  # found signed out by the real session check
    shared = [e for e in events if e.kind is EventKind.SESSION_SHARED]
    assert [e.data["workers"] for e in shared] == [["worker-2"]]
    assert all(r.status.is_done for r in results), [(r.po_number, r.message) for r in results]
    assert {r.worker for r in results} == {"worker-1", "worker-2"}
    truth = sim.manifest()["pos"]
    for result in results:
        got = sorted((f.name, f.sha256) for f in result.files)
        assert got == sorted((f["name"], f["sha256"]) for f in truth[result.po_number]["files"])
