"""The pool with real worker processes (spawn) and fake handlers: tasks, retries, trouble."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from coupadl.engine.browser.profile import sweep_stale_clones
from coupadl.execution.pool import (
    DuplicateTaskError,
    EventKind,
    PoolClosedError,
    Priority,
    TaskNotFinishedError,
    TaskState,
    WorkerState,
)
from coupadl.models import POTask, Status
from fakes.handlers import SESSION_COOKIE, browser_pids
from fakes.pooltest import PoolFactory, gone, wait_until

pytestmark = pytest.mark.timeout(60)


def test_every_task_completes_exactly_once(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=2)
    # Workers start one at a time: wait for both, or the first may finish all 30 alone.
    assert len(make_pool.wait_events(EventKind.WORKER_STARTED, 2, timeout=20)) == 2
    numbers = [str(100000 + i) for i in range(30)]
    handles = {po: pool.submit_task(POTask(po)) for po in numbers}

    results = list(pool.iter_results(timeout=30))

    assert sorted(r.po_number for r in results) == sorted(numbers)
    by_po = {r.po_number: r for r in results}
    for po, handle in handles.items():
        assert handle.wait_for_completion(1) is by_po[po]
        assert handle.state is TaskState.DONE
        expected = Status.NO_ATTACHMENTS if po.endswith("1") else Status.COMPLETED
        assert by_po[po].status is expected
        assert by_po[po].attempts == (2 if po.endswith("9") else 1)
        assert by_po[po].worker in ("worker-1", "worker-2")
    batch = pool.batch_result()
    assert batch.total == 30
    assert batch.successful == 30
    assert batch.failed == 0
    assert batch.retries == 3  # ...09, ...19, ...29 failed once each
    assert batch.by_status[Status.NO_ATTACHMENTS] == 3
    # Both workers took part.
    assert {r.worker for r in results} == {"worker-1", "worker-2"}
    # Once final, the same PO may be submitted again.
    again = pool.submit_task(POTask(numbers[0]))
    assert again.wait_for_completion(10).status is Status.COMPLETED


def test_duplicate_of_an_active_po_is_rejected_with_its_handle(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1, start=False)
    first = pool.submit_task(POTask("555"))
    with pytest.raises(DuplicateTaskError) as info:
        pool.submit_task(POTask("555"), Priority.URGENT)
    assert info.value.handle is first
    pool.shutdown()
    with pytest.raises(PoolClosedError):
        pool.submit_task(POTask("556"))


def test_priorities_then_fifo_with_one_worker(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1, start=False)
    order = [
        ("700", Priority.LOW),
        ("702", Priority.NORMAL),
        ("703", Priority.NORMAL),
        ("704", Priority.HIGH),
        ("705", Priority.URGENT),
        ("706", Priority.NORMAL),
    ]
    for po, priority in order:
        pool.submit_task(POTask(po), priority)
    pool.start()

    done = [r.po_number for r in pool.iter_results(timeout=20)]

    assert done == ["705", "704", "702", "703", "706", "700"]


def test_transient_failures_retried_with_backoff_then_final(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1, max_retries=2, retry_backoff=0.2, retry_backoff_max=5)
    handle = pool.submit_task(POTask("fail-1"))

    result = handle.wait_for_completion(20)

    assert result.status is Status.FAILED
    assert result.attempts == 3
    retries = make_pool.wait_events(EventKind.RETRY_SCHEDULED, 2)
    assert [e.data["attempt"] for e in retries] == [1, 2]
    # 0.2 s then 0.4 s, each ± 20 %.
    assert 0.16 <= retries[0].data["delay"] <= 0.24
    assert 0.32 <= retries[1].data["delay"] <= 0.48
    assert retries[1].time - retries[0].time >= 0.16
    assert pool.batch_result().retries == 2
    assert pool.batch_result().failed == 1


def test_hung_worker_is_killed_restarted_and_its_task_retried(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1, task_timeout=1.0)
    handle = pool.submit_task(POTask("hang-1"))
    pool.submit_task(POTask("800"))

    result = handle.wait_for_completion(20)

    assert result.status is Status.COMPLETED
    assert result.attempts == 2
    restarted = make_pool.wait_events(EventKind.WORKER_RESTARTED)
    assert len(restarted) == 1
    assert "no progress on PO hang-1" in restarted[0].message
    assert pool.get_status().worker_restarts == 1
    assert pool.get_status().workers[0].restarts == 1
    # The hung worker's browser went with it; the new worker has a new one.
    first_browser = browser_pids(make_pool.last_settings)[0]
    assert wait_until(lambda: gone(first_browser), 5)


def test_crashed_worker_restarted_and_its_orphaned_browser_killed(
    make_pool: PoolFactory,
) -> None:
    pool = make_pool(workers=1)
    worker = pool.get_status().workers[0]
    browser, worker_pid = worker.child_pids[0], worker.pid
    assert worker_pid is not None

    result = pool.submit_task(POTask("crash-1")).wait_for_completion(20)

    assert result.status is Status.COMPLETED
    assert result.attempts == 2
    assert gone(worker_pid)
    # The fake browser runs in its own session and was re-parented when the worker died:
    # only the recorded pid could find it.
    assert wait_until(lambda: gone(browser), 5)
    restarted = make_pool.wait_events(EventKind.WORKER_RESTARTED)
    assert "exited unexpectedly" in restarted[0].message


def test_handler_exception_fails_attempt_and_restarts_browser(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1)

    result = pool.submit_task(POTask("raise-1")).wait_for_completion(20)

    assert result.status is Status.COMPLETED
    assert result.attempts == 2
    assert pool.get_status().worker_restarts == 1


def test_dead_browser_detected_and_worker_restarted(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1)
    psutil.Process(pool.get_status().workers[0].child_pids[0]).kill()

    assert wait_until(lambda: pool.get_status().worker_restarts == 1, 10)
    assert wait_until(
        lambda: any("lost a process of its handler" in e.message for e in make_pool.events), 5
    )
    assert pool.submit_task(POTask("900")).wait_for_completion(20).status is Status.COMPLETED


def test_auth_required_pauses_pool_until_resume(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1, start=False)
    auth = pool.submit_task(POTask("auth-1"))
    others = [pool.submit_task(POTask(po)) for po in ("300", "302", "304")]
    pool.start()

    early = list(pool.iter_results(timeout=20))  # ends once paused with nothing running

    assert early == []
    assert pool.paused_for_auth
    assert not auth.done()
    assert auth.state is TaskState.QUEUED  # back in the queue, not failed
    assert not any(h.done() for h in others)
    assert pool.get_status().queue_depth == 4
    time.sleep(0.3)  # still nothing dispatched while paused
    assert pool.get_status().running == 0
    assert len(make_pool.wait_events(EventKind.WORKER_STARTED)) == 1

    pool.resume(session=[dict(SESSION_COOKIE)])
    rest = list(pool.iter_results(timeout=20))

    assert sorted(r.po_number for r in rest) == ["300", "302", "304", "auth-1"]
    assert auth.result is not None
    assert auth.result.status is Status.COMPLETED
    assert auth.result.attempts == 1  # the auth bounce did not count as an attempt
    assert not pool.paused_for_auth
    assert len(make_pool.wait_events(EventKind.PAUSED_FOR_AUTH)) == 1
    assert len(make_pool.wait_events(EventKind.RESUMED)) == 1
    # The worker restarted its handler with the fresh session.
    assert len(make_pool.wait_events(EventKind.WORKER_STARTED, 2)) == 2


def test_graceful_shutdown_lets_in_flight_finish_and_leaves_rest(
    make_pool: PoolFactory,
) -> None:
    pool = make_pool(workers=2)
    # Workers start one at a time; with both up first, both take a task at once and
    # shutdown comes long before either 1.5 s task can end and let a third one in.
    assert len(make_pool.wait_events(EventKind.WORKER_STARTED, 2, timeout=20)) == 2
    handles = [pool.submit_task(POTask(f"slow-{i}")) for i in range(6)]
    assert wait_until(lambda: pool.get_status().running == 2, 10)

    pool.shutdown(graceful=True, timeout=10)

    done = [h for h in handles if h.state is TaskState.DONE]
    left = [h for h in handles if h.state is TaskState.NOT_FINISHED]
    assert len(done) == 2
    assert all(h.result is not None and h.result.status is Status.COMPLETED for h in done)
    assert len(left) == 4
    assert sorted(t.po_number for t in pool.unfinished_tasks()) == sorted(h.po_number for h in left)
    with pytest.raises(TaskNotFinishedError):
        left[0].wait_for_completion(0)
    assert pool.batch_result().not_finished == 4


def test_graceful_shutdown_timeout_kills_and_requeues_in_flight(
    make_pool: PoolFactory,
) -> None:
    pool = make_pool(workers=2)
    handles = [pool.submit_task(POTask(f"hang-{i}")) for i in range(3)]
    assert wait_until(lambda: pool.get_status().running == 2, 10)

    started = time.monotonic()
    pool.shutdown(graceful=True, timeout=0.5)

    assert time.monotonic() - started < 10
    assert all(h.state is TaskState.NOT_FINISHED for h in handles)
    assert len(pool.unfinished_tasks()) == 3
    assert pool.batch_result().total == 0  # nothing reported done


def test_abort_leaves_no_orphans(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=2)
    for i in range(4):
        pool.submit_task(POTask(f"hang-{i}"))
    assert wait_until(lambda: pool.get_status().running == 2, 10)
    worker_pids = [w.pid for w in pool.get_status().workers]

    started = time.monotonic()
    pool.shutdown(graceful=False)

    assert time.monotonic() - started < 10
    assert all(gone(pid) for pid in worker_pids if pid)
    assert all(gone(pid) for pid in browser_pids(make_pool.last_settings))
    assert all(w.state is WorkerState.STOPPED for w in pool.get_status().workers)


def test_status_with_10000_queued(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1)
    for i in range(10_000):
        pool.submit_task(POTask(f"hang-{i}"), Priority.LOW)

    status = pool.get_status()

    assert status.queue_depth + status.running == 10_000
    assert len(status.workers) == 1
    assert status.memory_budget_mb == 8192


def test_recycle_after_restarts_the_browser(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1, recycle_after=2)
    for po in ("400", "402", "404", "406", "408"):
        pool.submit_task(POTask(po))

    results = list(pool.iter_results(timeout=20))

    assert len(results) == 5
    assert len(make_pool.wait_events(EventKind.WORKER_RECYCLED, 2)) == 2
    browsers = browser_pids(make_pool.last_settings)
    assert len(browsers) == 3
    assert wait_until(lambda: all(gone(pid) for pid in browsers[:2]), 5)
    assert pool.get_status().worker_restarts == 0  # a recycle is not a restart


def test_cancel_queued_task(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1, start=False)
    keep = pool.submit_task(POTask("600"))
    drop = pool.submit_task(POTask("602"))
    assert drop.cancel()
    assert drop.cancelled()
    pool.start()
    assert [r.po_number for r in pool.iter_results(timeout=20)] == ["600"]
    assert keep.done()
    assert not drop.cancel()
    assert pool.batch_result().cancelled == 1


MAIN_SCRIPT = """
import json, sys, time
from pathlib import Path
from coupadl.models import POTask
from coupadl.engine.spec import BROWSER
from coupadl.execution.pool import PersistentWorkerPool, PoolConfig
from coupadl.settings import Settings

if __name__ == "__main__":
    tmp = Path(sys.argv[1])
    settings = Settings(out=tmp / "out", workers=1, profile_cleanup_on_start=False)
    pool = PersistentWorkerPool(PoolConfig(
        settings=settings, handler_factory="fakes.handlers:FakeHandler",
        prepare_factory=BROWSER.prepare_factory, failure_code=BROWSER.failure_code,
        base_profile=tmp / "base", clone_parent=tmp / "clones", heartbeat_interval=0.2))
    pool.start()
    pool.submit_task(POTask("hang-main"))
    while pool.get_status().running == 0:
        time.sleep(0.05)
    worker = pool.get_status().workers[0]
    print(json.dumps({"worker": worker.pid, "browsers": list(worker.child_pids)}), flush=True)
    time.sleep(600)
"""


def test_workers_and_browsers_die_with_the_main_process(tmp_path: Path) -> None:
    (tmp_path / "base" / "Default").mkdir(parents=True)
    (tmp_path / "base" / "Default" / "Cookies").write_text("c")
    script = tmp_path / "main.py"
    script.write_text(MAIN_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    main = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path)], stdout=subprocess.PIPE, env=env
    )
    try:
        assert main.stdout is not None
        pids = json.loads(main.stdout.readline())
    finally:
        main.kill()  # no shutdown, no cleanup: like a power-cut of the main process
        main.wait()

    # The worker sees its pipe break, kills its browser and exits.
    assert wait_until(lambda: gone(pids["worker"]), 10)
    assert wait_until(lambda: all(gone(pid) for pid in pids["browsers"]), 5)
    # The clone it left behind is swept by the next run.
    assert sweep_stale_clones(tmp_path / "clones") == 1
    assert list((tmp_path / "clones").iterdir()) == []
