"""End to end, pool path: two real headless Chromiums against the simulator.

The oracle is the simulator's manifest and its request log; leftovers are found by the
test's process tag (helpers.PROCESS_TAG_ENV), wherever they were re-parented to.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psutil
import pytest

import faultkit
from coupadl.engine.spec import BROWSER
from coupadl.errors import ExitCode
from coupadl.execution.pool import EventKind, PersistentWorkerPool, PoolConfig, PoolEvent
from coupadl.execution.status import WorkerStatus
from coupadl.models import POResult, POTask
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from helpers import leftover_processes, wait_for, write_input

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

tag = faultkit.tag  # every process a test's pool starts carries the test's tag

# Seconds the server thinks on each PO page while a test holds a PO mid-work: a kill
# made as soon as the page was asked for lands long before the page arrives.
HOLD = 8.0


def browser_of(worker_pid: int) -> psutil.Process:
    """The browser a worker's chromedriver started (the driver's "chrom" child)."""
    worker = psutil.Process(worker_pid)
    driver = next(p for p in worker.children() if p.name() == "chromedriver")
    return next(p for p in driver.children() if "chrom" in p.name())


def matches_manifest(result: POResult, truth: dict[str, Any]) -> bool:
    """The status and the files (name, content) the simulator says the PO has."""
    got = sorted((f.name, f.sha256) for f in result.files)
    wanted = sorted((f["name"], f["sha256"]) for f in truth["files"])
    return result.status.value == truth["status"] and got == wanted


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


def test_pooled_run_matches_the_manifest(
    sim: Any, make_settings: Any, tmp_path: Path, tag: str
) -> None:
    manifest = sim.manifest()
    pos = list(manifest["pos"])
    settings = make_settings(workers=2)

    outcome = run_batch(write_input(tmp_path / "in.csv", pos), settings)

    assert outcome.mode == "pool"
    assert outcome.workers == 2
    assert compare_with_manifest(settings.out, manifest) == []
    assert outcome.exit_code is ExitCode.OK
    assert not list(settings.out.rglob("*__WORK"))
    assert leftover_processes(tag) == [], "processes of the run left behind"


def test_browser_killed_mid_po_is_restarted_and_abort_leaves_no_browser(
    sim: Any, make_settings: Any, base_profile: Path, tmp_path: Path, tag: str
) -> None:
    events: list[PoolEvent] = []
    settings = make_settings(workers=2)
    truth = sim.manifest()["pos"]
    pos = list(truth)[:6]
    pool = real_pool(settings, base_profile, tmp_path, events)
    busy: list[WorkerStatus] = []

    def po_in_progress() -> bool:
        """A worker is on a PO whose page the server has been asked for (and holds)."""
        asked = sim.stats()["pos"]
        busy[:] = [w for w in pool.get_status().workers if w.current_po in asked]
        return bool(busy)

    def of_kind(kind: EventKind) -> list[PoolEvent]:
        return [e for e in events if e.kind is kind]

    try:
        pool.start()
        sim.reset_stats()  # (the module's earlier tests asked for these POs too)
        sim.control(page_latency=HOLD)
        handles = [pool.submit_task(POTask(po)) for po in pos]
        wait_for(po_in_progress, "a worker on a PO whose page the server holds", 60)
        [victim, *_] = busy
        assert victim.pid is not None and victim.current_po is not None
        browser_of(victim.pid).kill()
        sim.control(page_latency=0)
        results = {h.po_number: h.wait_for_completion(120) for h in handles}
        asked = dict(sim.stats()["pos"])  # (before the abort below asks for them again)
        wait_for(lambda: of_kind(EventKind.WORKER_RESTARTED), "a worker_restarted event", 30)
        # The worker came up again as a new process.
        wait_for(
            lambda: any(
                e.worker_id == victim.worker_id and e.data["pid"] != victim.pid
                for e in of_kind(EventKind.WORKER_STARTED)
            ),
            f"{victim.worker_id} started again as a new process",
            60,
        )
        # Abort while POs run: every browser must go with the pool.
        for po in pos:
            pool.submit_task(POTask(po))
        wait_for(lambda: any(w.current_po for w in pool.get_status().workers), "a PO running", 60)
    finally:
        sim.control(page_latency=0)
        pool.shutdown(graceful=False)

    assert [e.worker_id for e in of_kind(EventKind.WORKER_RESTARTED)] == [victim.worker_id]
    # The PO in progress was asked for again (the server's count) and ended as it should.
    killed_po = victim.current_po
    assert asked[killed_po] >= 2, asked
    assert matches_manifest(results[killed_po], truth[killed_po]), results[killed_po]
    assert sorted(results) == sorted(pos)
    assert all(matches_manifest(r, truth[po]) for po, r in results.items()), results
    assert leftover_processes(tag) == [], "processes of the pool left behind"
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

    def all_idle() -> bool:
        states = [w.state.value for w in pool.get_status().workers]
        return states == ["idle", "idle"]

    try:
        pool.start()
        wait_for(all_idle, "both workers idle (worker-2 with worker-1's cookies)", 60)
        handles = [pool.submit_task(POTask(po)) for po in pos]
        results = [h.wait_for_completion(120) for h in handles]
    finally:
        pool.shutdown(graceful=True, timeout=30)

    def kinds(kind: EventKind) -> list[PoolEvent]:
        return [e for e in events if e.kind is kind]

    wait_for(lambda: kinds(EventKind.SESSION_SHARED), "a session_shared event", 30)
    signed_in = {(e.worker_id, e.data["signed_in"]) for e in kinds(EventKind.WORKER_STARTED)}
    assert ("worker-1", True) in signed_in
    assert ("worker-2", False) in signed_in  # found signed out by the real session check
    assert [e.data["workers"] for e in kinds(EventKind.SESSION_SHARED)] == [["worker-2"]]
    assert all(r.status.is_done for r in results), [(r.po_number, r.message) for r in results]
    assert {r.worker for r in results} == {"worker-1", "worker-2"}
    truth = sim.manifest()["pos"]
    for result in results:
        assert matches_manifest(result, truth[result.po_number]), result
