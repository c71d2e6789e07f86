"""Pool start-up, profiles and session cookies, memory scaling, signals (real processes)."""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from pathlib import Path

import pytest

from coupadl.engine.browser.profile import is_clone
from coupadl.errors import BrowserError, ProfileLockedError
from coupadl.execution.interrupts import install_signal_handlers
from coupadl.execution.pool import (
    EventKind,
    PersistentWorkerPool,
    TaskState,
    WorkerState,
)
from coupadl.execution.pool import scaling as scaling_module
from coupadl.models import POTask, Status
from fakes.handlers import SESSION_COOKIE, SIGNED_OUT_FILE
from fakes.pooltest import PoolFactory, fake_config, wait_until

pytestmark = pytest.mark.timeout(60)


def signed_in_base(tmp_path: Path, signed_out_workers: str = "") -> Path:
    base = tmp_path / "base-profile"
    (base / "Default").mkdir(parents=True)
    (base / "Default" / "Cookies").write_bytes(b"sqlite cookies")
    (base / "Local State").write_text("{}")
    if signed_out_workers:
        (base / SIGNED_OUT_FILE).write_text(signed_out_workers)
    return base


# -- start-up ----------------------------------------------------------------------------
def test_start_raises_browser_error_when_no_worker_can_start(make_pool: PoolFactory) -> None:
    with pytest.raises(BrowserError, match="No worker could start"):
        make_pool("FailingStartHandler", workers=2)
    kinds = make_pool.kinds()
    assert kinds.count("worker_start_failed") == 4  # 2 workers x (3 attempts - 1)
    assert kinds.count("worker_gave_up") == 2
    assert "pool_failed" in kinds


def test_pool_runs_with_the_workers_it_has(make_pool: PoolFactory) -> None:
    pool = make_pool("OneWorkerStartsHandler", workers=2)
    results = [pool.submit_task(POTask(str(n))) for n in range(500, 506)]

    assert all(h.wait_for_completion(20).worker == "worker-1" for h in results)
    assert wait_until(lambda: pool.get_status().workers[1].state is WorkerState.FAILED, 10)
    assert make_pool.wait_events(EventKind.WORKER_GAVE_UP)


def test_failed_start_is_retried(make_pool: PoolFactory) -> None:
    pool = make_pool("FlakyStartHandler", workers=2)

    assert wait_until(
        lambda: all(w.state is WorkerState.IDLE for w in pool.get_status().workers), 15
    )
    assert len(make_pool.wait_events(EventKind.WORKER_START_FAILED, 2)) == 2
    assert pool.submit_task(POTask("510")).wait_for_completion(10).status is Status.COMPLETED


# -- profiles and cookies ----------------------------------------------------------------
def test_workers_get_private_clones_removed_on_shutdown(
    make_pool: PoolFactory, tmp_path: Path
) -> None:
    base = signed_in_base(tmp_path)
    pool = make_pool(workers=2, config={"base_profile": base})
    clones = sorted(make_pool.clone_parent.iterdir())

    assert len(clones) == 2
    assert all(is_clone(c) and (c / "Default" / "Cookies").exists() for c in clones)
    assert pool.submit_task(POTask("520")).wait_for_completion(10).status is Status.COMPLETED
    pool.shutdown()
    assert list(make_pool.clone_parent.iterdir()) == []


@pytest.mark.skipif(os.name == "nt", reason="SingletonLock symlinks are POSIX")
def test_locked_base_profile_refused(make_pool: PoolFactory, tmp_path: Path) -> None:
    base = signed_in_base(tmp_path)
    os.symlink(f"{socket.gethostname()}-{os.getpid()}", base / "SingletonLock")

    with pytest.raises(ProfileLockedError, match=r"(?i)close Edge/Chrome"):
        make_pool(workers=1, config={"base_profile": base})


def test_signed_out_clone_gets_session_of_signed_in_worker(
    make_pool: PoolFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="coupadl")
    base = signed_in_base(tmp_path, signed_out_workers="worker-2")
    pool = make_pool(workers=2, config={"base_profile": base})
    assert wait_until(
        lambda: all(w.state is WorkerState.IDLE for w in pool.get_status().workers), 15
    )
    handles = [pool.submit_task(POTask(str(n))) for n in range(530, 540, 2)]

    results = [h.wait_for_completion(20) for h in handles]

    # Without the session worker-2 would answer AUTH_REQUIRED and pause the pool.
    assert all(r.status is Status.COMPLETED for r in results)
    assert not pool.paused_for_auth
    shared = make_pool.wait_events(EventKind.SESSION_SHARED)
    assert len(shared) == 1
    assert shared[0].data["workers"] == ["worker-2"]
    assert "imported the session into signed-out worker(s) worker-2" in caplog.text
    assert SESSION_COOKIE["value"] not in caplog.text


def test_profile_reuse_off_uses_empty_profiles_and_seed_session(
    make_pool: PoolFactory, tmp_path: Path
) -> None:
    base = signed_in_base(tmp_path)
    pool = make_pool(workers=2, profile_reuse_enabled=False, config={"base_profile": base})
    profiles = sorted(make_pool.clone_parent.iterdir())

    assert len(profiles) == 2  # the seed's clone is already gone
    assert all(p.name.startswith("coupadl-fresh-") for p in profiles)
    assert all(not (p / "Default").exists() for p in profiles)
    handles = [pool.submit_task(POTask(str(n))) for n in (540, 542, 544)]
    # Empty profiles are signed in only through the seed's session.
    assert all(h.wait_for_completion(20).status is Status.COMPLETED for h in handles)


# -- memory ------------------------------------------------------------------------------
def test_memory_pressure_retires_to_one_then_scales_back(
    make_pool: PoolFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scaling_module, "SCALE_UP_COOLDOWN", 0.0)
    # Below the settings' own floor on purpose: any real worker is over this budget.
    settings = make_pool.settings(workers=2).model_copy(update={"memory_budget_mb": 1})
    pool = make_pool(settings=settings, config={"memory_interval": 0.2})

    assert wait_until(
        lambda: [w.state for w in pool.get_status().workers].count(WorkerState.RETIRED) == 1,
        10,
    )
    time.sleep(0.6)  # a few more samples: still over budget, but never below one worker
    status = pool.get_status()
    assert status.active_workers == 1
    assert status.memory_mb > 1
    assert make_pool.wait_events(EventKind.WORKER_RETIRED)
    assert pool.submit_task(POTask("550")).wait_for_completion(10).status is Status.COMPLETED

    # Memory "frees up": the retired worker comes back.
    with pool._sup.lock:
        pool._sup.budget_bytes = 64 * 1024**3
    assert wait_until(lambda: pool.get_status().active_workers == 2, 10)
    assert pool.batch_result().peak_memory_mb > 1


# -- signals -----------------------------------------------------------------------------
@pytest.mark.skipif(os.name == "nt", reason="os.kill(SIGTERM) terminates at once on Windows")
def test_first_signal_stops_gracefully_second_aborts(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1, shutdown_timeout=30)
    handle = pool.submit_task(POTask("hang-a"))
    assert wait_until(lambda: pool.get_status().running == 1, 10)
    restore = install_signal_handlers(pool)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert wait_until(lambda: pool.closed, 5)
        assert pool.shutdown_requested
        assert not handle.done()  # graceful: waits for the PO in flight
        started = time.monotonic()
        os.kill(os.getpid(), signal.SIGTERM)
        assert wait_until(handle.done, 10)
        assert time.monotonic() - started < 10
    finally:
        restore()
    assert handle.state is TaskState.NOT_FINISHED
    assert [t.po_number for t in pool.unfinished_tasks()] == ["hang-a"]


# -- events ------------------------------------------------------------------------------
def test_broken_event_callback_does_not_stop_the_pool(tmp_path: Path) -> None:
    factory = PoolFactory(tmp_path)

    def explode(event: object) -> None:
        raise RuntimeError("callback bug")

    config = fake_config(
        factory.settings(workers=1), clone_parent=factory.clone_parent, on_event=explode
    )
    try:
        with PersistentWorkerPool(config) as pool:
            factory.pools.append(pool)
            result = pool.submit_task(POTask("crash-b")).wait_for_completion(20)
        assert result.status is Status.COMPLETED
    finally:
        factory.close_all()
