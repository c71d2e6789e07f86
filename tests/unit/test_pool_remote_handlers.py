"""A remote handler (a browser on a Selenium Grid) has no local process whose exit would
tell the pool it is gone: the idle worker asks it, and a lost one is started again in
the same worker process. Real worker processes, fake handlers (tests/fakes/handlers.py)."""

from __future__ import annotations

from coupadl.execution.status import WorkerState
from coupadl.models import POTask, Status
from fakes.handlers import REMOTE_GONE_FILE, state_dir
from fakes.pooltest import PoolFactory, wait_until


def _starts(make_pool: PoolFactory, worker: str) -> list[str]:
    assert make_pool.last_settings is not None
    path = state_dir(make_pool.last_settings) / f"starts-{worker}"
    return path.read_text().split() if path.exists() else []


def test_an_idle_worker_whose_remote_session_is_gone_gets_a_new_one(
    make_pool: PoolFactory,
) -> None:
    pool = make_pool("RemoteGoneHandler", workers=2)
    assert wait_until(lambda: all(w.state is WorkerState.IDLE for w in pool.get_status().workers))
    assert [len(_starts(make_pool, w)) for w in ("worker-1", "worker-2")] == [1, 1]
    assert make_pool.last_settings is not None
    (state_dir(make_pool.last_settings) / REMOTE_GONE_FILE).touch()

    # Checked every few seconds between POs (worker.REMOTE_CHECK_SECONDS): each worker
    # starts its handler again, in the process it already had.
    assert wait_until(
        lambda: all(len(_starts(make_pool, w)) == 2 for w in ("worker-1", "worker-2")), 20
    )
    for worker in ("worker-1", "worker-2"):
        first, second = _starts(make_pool, worker)
        assert first == second
    assert wait_until(lambda: all(w.state is WorkerState.IDLE for w in pool.get_status().workers))
    assert pool.submit_task(POTask("700")).wait_for_completion(10).status is Status.COMPLETED

