"""RunProgress: what a snapshot says as a run is fed, listeners, interrupts; the one-browser
path's Ctrl+C handling; --only-failed's choice of POs from a real run state."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path
from unittest.mock import Mock

import pytest

from coupadl.execution.interrupts import graceful_interrupts, install_signal_handlers
from coupadl.execution.progress import Phase, RunEvent, RunListener, RunProgress, RunSnapshot
from coupadl.models import POResult, POTask, Status
from coupadl.runs.batch import pending_tasks
from coupadl.settings import load_settings
from coupadl.spreadsheet.reader import plan_rows, read_input
from coupadl.state.store import RunState
from helpers import write_input


def result(po: str, status: Status, worker: str = "seq") -> POResult:
    return POResult(po, status, worker=worker, started_at=1.0, finished_at=2.0)


class Recorder(RunListener):
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def run_started(self, snapshot: RunSnapshot) -> None:
        self.calls.append(("started", snapshot.total))

    def po_finished(self, result: POResult, snapshot: RunSnapshot) -> None:
        self.calls.append(("po", (result.po_number, snapshot.done)))

    def event(self, event: RunEvent) -> None:
        self.calls.append(("event", event.kind))

    def run_finished(self, snapshot: RunSnapshot, exit_code: int) -> None:
        self.calls.append(("finished", (snapshot.phase, exit_code)))


def test_snapshot_follows_the_run() -> None:
    listener = Recorder()
    progress = RunProgress([listener])
    assert progress.snapshot().phase is Phase.STARTING

    progress.run_started(total=4, skipped=2, mode="sequential", workers=1)
    progress.worker_state("seq", "starting")
    assert [(r.worker_id, r.state, r.po_number) for r in progress.snapshot().workers] == [
        ("seq", "starting", None)
    ]
    progress.stage("seq", "111", "navigating")
    progress.stage("seq", "111", "downloading 1 of 2")
    row = progress.snapshot().workers[0]
    assert (row.state, row.po_number, row.stage) == ("busy", "111", "downloading 1 of 2")
    assert 0 <= row.stage_seconds <= row.po_seconds

    progress.po_finished(result("111", Status.COMPLETED))
    progress.po_finished(result("222", Status.AUTH_REQUIRED))  # stays pending: not done
    snap = progress.snapshot()
    assert snap.workers[0].state == "idle"
    assert (snap.total, snap.done, snap.remaining, snap.skipped) == (4, 1, 3, 2)
    assert snap.by_status == {"COMPLETED": 1, "AUTH_REQUIRED": 1}
    assert snap.phase is Phase.RUNNING

    progress.run_finished(3)
    assert progress.snapshot().phase is Phase.DONE
    assert progress.snapshot().workers == ()
    assert listener.calls == [
        ("started", 4),
        ("po", ("111", 1)),
        ("po", ("222", 1)),
        ("finished", (Phase.DONE, 3)),
    ]


def test_rate_and_eta_come_from_finished_pos() -> None:
    now = [1000.0]
    progress = RunProgress(clock=lambda: now[0])
    progress.run_started(total=10, skipped=0, mode="pool", workers=2)
    for n in range(4):
        now[0] += 30
        progress.po_finished(result(str(n), Status.COMPLETED))
    snap = progress.snapshot()
    assert snap.rate_per_minute == pytest.approx(2.0, rel=0.01)
    assert snap.eta_seconds == pytest.approx(180.0, rel=0.01)  # 6 left at 2 a minute


def test_no_rate_no_eta_before_the_first_po() -> None:
    progress = RunProgress()
    progress.run_started(total=3, skipped=0, mode="pool", workers=2)
    assert progress.snapshot().eta_seconds is None


def test_interrupts_change_the_phase_and_are_events() -> None:
    listener = Recorder()
    progress = RunProgress([listener])
    progress.run_started(total=3, skipped=0, mode="pool", workers=2)
    progress.interrupted(1)
    assert progress.snapshot().phase is Phase.FINISHING
    progress.interrupted(2)
    snap = progress.snapshot()
    assert snap.phase is Phase.ABORTING
    assert [e.kind for e in snap.events] == ["interrupt", "interrupt"]
    assert "Ctrl+C again" in snap.events[0].message


def test_a_failing_listener_does_not_stop_the_run(caplog: pytest.LogCaptureFixture) -> None:
    class Broken(RunListener):
        def po_finished(self, result: POResult, snapshot: RunSnapshot) -> None:
            raise RuntimeError("disk full")

    progress = RunProgress([Broken()])
    progress.run_started(total=1, skipped=0, mode="sequential", workers=1)
    progress.po_finished(result("1", Status.COMPLETED))
    assert progress.snapshot().done == 1
    assert "listener (Broken) failed" in caplog.text


def test_pool_rows_come_from_the_pool_status_while_watched() -> None:
    from coupadl.execution.status import PoolStatus, WorkerState, WorkerStatus

    worker = WorkerStatus(
        worker_id="worker-1", state=WorkerState.BUSY, pid=42, current_po="333",
        progress="verifying", seconds_since_progress=0.1, tasks_done=0, restarts=0,
        memory_mb=300.0, stage_seconds=1.5, po_seconds=4.0,
    )  # fmt: skip
    status = PoolStatus(
        workers=[worker], target_workers=2, active_workers=1, queue_depth=0, waiting_retry=0,
        running=1, completed=0, retries=0, worker_restarts=0, memory_mb=512.0,
        memory_budget_mb=4096.0, throughput_per_minute=0.0, paused_for_auth=True, closed=False,
    )  # fmt: skip
    progress = RunProgress()
    progress.watch_pool(lambda: status)
    snap = progress.snapshot()
    assert [(r.worker_id, r.po_number, r.stage, r.stage_seconds, r.po_seconds)
            for r in snap.workers] == [("worker-1", "333", "verifying", 1.5, 4.0)]  # fmt: skip
    assert (snap.paused_for_auth, snap.memory_mb) == (True, 512.0)
    progress.watch_pool(None)
    assert progress.snapshot().workers == ()


@pytest.mark.skipif(os.name == "nt", reason="os.kill(SIGTERM) terminates at once on Windows")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_first_stop_signal_asks_to_finish_the_second_aborts(sig: signal.Signals) -> None:
    # graceful_interrupts defers to a handler someone else installed; start from Python's
    # own, whatever an earlier test in this process left behind.
    left_behind = {
        signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
        signal.SIGTERM: signal.signal(signal.SIGTERM, signal.SIG_DFL),
    }
    try:
        counts: list[int] = []
        with graceful_interrupts(counts.append) as stop:
            os.kill(os.getpid(), sig)
            assert stop.wait(5)
            with pytest.raises(KeyboardInterrupt):
                os.kill(os.getpid(), sig)
                threading.Event().wait(5)  # the handler raises here, in the main thread
        assert counts == [1, 2]
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        for each, handler in left_behind.items():
            signal.signal(each, handler)


def test_ctrl_c_started_ignored_stays_ignored_on_both_paths(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # nohup, or "coupadl run ... &" from a script: SIGINT arrives ignored, and the run
    # must not take it back, neither one browser nor the pool.
    left_behind = signal.signal(signal.SIGINT, signal.SIG_IGN)
    pool = Mock()
    try:
        with caplog.at_level(logging.INFO):
            with graceful_interrupts() as stop:
                assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
                os.kill(os.getpid(), signal.SIGINT)
                assert not stop.wait(0.2)
            restore = install_signal_handlers(pool)
            try:
                assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
            finally:
                restore()
        pool.request_shutdown.assert_not_called()
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        said = [r.getMessage() for r in caplog.records]
        assert said.count("SIGINT is ignored in this process: it will not stop the run") == 2
    finally:
        signal.signal(signal.SIGINT, left_behind)


def test_only_failed_picks_what_earlier_runs_queued_and_did_not_finish(tmp_path: Path) -> None:
    pos = [str(16928000 + n) for n in range(7)]
    plan = plan_rows(read_input(write_input(tmp_path / "in.csv", pos)))
    out = tmp_path / "out"
    with RunState(out) as state:
        state.mark_pending(pos[:6])  # an earlier run queued six of them
        state.record_result(result(pos[0], Status.COMPLETED))
        state.record_result(result(pos[1], Status.NO_ATTACHMENTS))
        state.record_result(result(pos[2], Status.FAILED))
        state.record_result(result(pos[3], Status.PARTIAL))
        state.record_result(result(pos[4], Status.AUTH_REQUIRED))
        state.mark_running(pos[5], "worker-1")  # interrupted mid-PO
        # pos[6]: never queued

        everything, skipped = pending_tasks(plan, state, load_settings({"out": out}))
        only, skipped_too = pending_tasks(
            plan, state, load_settings({"out": out, "only_failed": True})
        )
        limited, _ = pending_tasks(
            plan, state, load_settings({"out": out, "only_failed": True, "limit": 2})
        )

    assert [t.po_number for t in everything] == pos[2:]
    assert [t.po_number for t in only] == pos[2:6]
    assert [t.po_number for t in limited] == pos[2:4]
    assert skipped == skipped_too == 2
    assert all(isinstance(t, POTask) for t in only)
