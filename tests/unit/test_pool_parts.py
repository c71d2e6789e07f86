"""Pool parts without processes: queue, retry policy, worker count, settings, supervisor
bookkeeping."""

from __future__ import annotations

import pickle
import random
from pathlib import Path
from typing import Any

import pytest

from coupadl.execution.pool import (
    DuplicateTaskError,
    Priority,
    TaskCancelledError,
    TaskState,
    WorkerState,
    auto_worker_count,
    backoff_delay,
)
from coupadl.execution.pool.events import EventDispatcher
from coupadl.execution.pool.messages import TaskDone
from coupadl.execution.pool.queue import TaskQueue
from coupadl.execution.pool.restarts import concurrent_starts
from coupadl.execution.pool.slot import WorkerSlot
from coupadl.execution.pool.supervisor import Supervisor
from coupadl.execution.retry import Decision, decide
from coupadl.models import POResult, POTask, Status
from coupadl.settings import Settings, load_settings
from fakes.pooltest import fake_config


def no_cancel(handle: object) -> bool:
    return False


# -- queue -------------------------------------------------------------------------------
@pytest.mark.parametrize(("cpus", "starts"), [(None, 1), (1, 1), (2, 1), (3, 1), (4, 2), (16, 8)])
def test_workers_start_at_most_one_per_two_cpus(cpus: int | None, starts: int) -> None:
    assert concurrent_starts(cpus) == starts


def test_queue_orders_by_priority_then_fifo() -> None:
    queue = TaskQueue()
    for po, prio in [
        ("a", Priority.LOW),
        ("b", Priority.NORMAL),
        ("c", Priority.URGENT),
        ("d", Priority.NORMAL),
        ("e", Priority.HIGH),
    ]:
        queue.add(POTask(po), prio, no_cancel)
    order = []
    while (record := queue.pop()) is not None:
        order.append(record.po_number)
        assert record.state is TaskState.RUNNING
    assert order == ["c", "e", "b", "d", "a"]
    assert queue.depth == 0
    assert queue.active == 5  # running until finished


def test_queue_rejects_duplicates_of_active_po_only() -> None:
    queue = TaskQueue()
    first = queue.add(POTask("1"), Priority.NORMAL, no_cancel)
    with pytest.raises(DuplicateTaskError) as info:
        queue.add(POTask("1"), Priority.HIGH, no_cancel)
    assert info.value.handle is first.handle
    record = queue.pop()
    assert record is first
    with pytest.raises(DuplicateTaskError):
        queue.add(POTask("1"), Priority.NORMAL, no_cancel)  # running counts as active
    queue.finish(record)
    assert queue.add(POTask("1"), Priority.NORMAL, no_cancel) is not first


def test_requeued_task_keeps_its_place() -> None:
    queue = TaskQueue()
    for po in "abc":
        queue.add(POTask(po), Priority.NORMAL, no_cancel)
    a = queue.pop()
    assert a is not None
    queue.requeue(a)
    assert [queue.pop().po_number for _ in range(3)] == ["a", "b", "c"]  # type: ignore[union-attr]


def test_retry_waits_until_due() -> None:
    queue = TaskQueue()
    queue.add(POTask("a"), Priority.NORMAL, no_cancel)
    queue.add(POTask("b"), Priority.LOW, no_cancel)
    a = queue.pop()
    assert a is not None
    queue.schedule_retry(a, due=100.0)
    assert a.state is TaskState.RETRY_WAIT
    assert (queue.queued, queue.waiting_retry) == (1, 1)
    queue.promote_due(now=99.0)
    assert queue.pop().po_number == "b"  # type: ignore[union-attr]
    assert queue.pop() is None
    queue.promote_due(now=100.0)
    assert queue.pop() is a


def test_cancel_only_before_running() -> None:
    queue = TaskQueue()
    queue.add(POTask("a"), Priority.NORMAL, no_cancel)
    queue.add(POTask("b"), Priority.NORMAL, no_cancel)
    assert queue.cancel("b") is not None
    assert queue.depth == 1
    running = queue.pop()
    assert running is not None and running.po_number == "a"
    assert queue.cancel("a") is None
    assert queue.pop() is None


def test_handle_wait_raises_for_cancelled_and_timeout() -> None:
    queue = TaskQueue()
    handle = queue.add(POTask("a"), Priority.NORMAL, no_cancel).handle
    with pytest.raises(TimeoutError):
        handle.wait_for_completion(0.01)
    handle._settle(TaskState.CANCELLED)
    with pytest.raises(TaskCancelledError):
        handle.wait_for_completion(0)


# -- retry policy ------------------------------------------------------------------------
def test_backoff_doubles_with_jitter_and_cap() -> None:
    rng = random.Random(1)
    for attempt, base in [(1, 2.0), (2, 4.0), (3, 8.0), (4, 16.0)]:
        delay = backoff_delay(attempt, 2.0, 60.0, rng=rng)
        assert base * 0.8 <= delay <= base * 1.2
    assert all(backoff_delay(n, 2.0, 60.0, rng=rng) <= 60.0 for n in range(5, 200))
    assert backoff_delay(10, 2.0, 60.0, jitter=0.0) == 60.0


def result(status: Status, transient: bool = False) -> POResult:
    return POResult(po_number="1", status=status, transient=transient)


@pytest.mark.parametrize(
    ("status", "transient", "attempts", "expected"),
    [
        (Status.COMPLETED, False, 1, Decision.FINAL),
        (Status.NO_ATTACHMENTS, True, 1, Decision.FINAL),  # deterministic: never retried
        (Status.PO_NOT_FOUND, True, 1, Decision.FINAL),
        (Status.ACCESS_DENIED, True, 1, Decision.FINAL),
        (Status.FAILED, True, 1, Decision.RETRY),
        (Status.TIMEOUT, True, 3, Decision.RETRY),
        (Status.TIMEOUT, True, 4, Decision.FINAL),  # max_retries=3 used up
        (Status.PARTIAL, False, 1, Decision.FINAL),  # not transient
        (Status.AUTH_REQUIRED, False, 9, Decision.PAUSE_FOR_AUTH),
    ],
)
def test_decide(status: Status, transient: bool, attempts: int, expected: Decision) -> None:
    assert decide(result(status, transient), attempts, max_retries=3) is expected


# -- worker count, settings ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("available", "cpus", "maximum", "expected"),
    [
        (16000, 8, 4, 4),  # capped by max_workers
        (16000, 2, 8, 4),  # two per CPU
        (16000, 1, 4, 2),
        (1000, 8, 8, 2),  # 1000 MB / 400 MB
        (100, 8, 4, 1),  # never fewer than one
        (16000, None, 4, 1),  # unknown CPUs: be modest
    ],
)
def test_auto_worker_count(available: int, cpus: int | None, maximum: int, expected: int) -> None:
    assert auto_worker_count(available, cpus, 400, maximum) == expected


def test_settings_from_a_config_file_are_made_picklable(tmp_path: Path) -> None:
    config = tmp_path / "coupadl.toml"
    config.write_text('workers = 3\nbase_url = "https://acme.coupahost.com"\n')
    loaded = load_settings({"task_timeout": 12.0}, config_file=config)
    copy = pickle.loads(pickle.dumps(loaded))
    assert type(copy) is Settings
    assert (copy.workers, copy.base_url, copy.task_timeout) == (
        3,
        "https://acme.coupahost.com",
        12.0,
    )


# -- supervisor bookkeeping --------------------------------------------------------------
def busy_supervisor(tmp_path: Path) -> tuple[Supervisor, WorkerSlot]:
    settings = Settings(out=tmp_path, max_retries=1)
    slot = WorkerSlot("worker-1", None)
    sup = Supervisor(fake_config(settings), settings, [slot], 1024, EventDispatcher(None))
    sup.queue.add(POTask("42"), Priority.NORMAL, no_cancel)
    slot.set_state(WorkerState.IDLE)
    record = sup.queue.pop()
    slot.record, slot.token = record, 7
    slot.set_state(WorkerState.BUSY)
    return sup, slot


def test_a_result_is_reported_once_and_stale_results_are_ignored(tmp_path: Path) -> None:
    sup, slot = busy_supervisor(tmp_path)
    done = POResult(po_number="42", status=Status.COMPLETED)
    try:
        with sup.lock:
            sup.inbox.on_task_done(slot, TaskDone(6, done, []), 0.0)  # an older attempt's token
            assert sup.stats.final == 0
            sup.inbox.on_task_done(slot, TaskDone(7, done, []), 0.0)
            sup.inbox.on_task_done(slot, TaskDone(7, done, []), 0.0)  # a duplicate
        assert sup.stats.final == 1
        assert list(sup.completed) == [done]
        assert slot.state is WorkerState.IDLE
    finally:
        sup.close_wake_pipe()


# -- one verdict for every mode (pool/retry.judge) ------------------------------------------
def _judge_settings() -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(max_retries=2, retry_backoff=1.0, retry_backoff_max=60.0)


def test_a_429_closes_the_gate_once_and_the_retry_waits_for_it() -> None:
    from coupadl.execution.ratelimit import RateLimitGate
    from coupadl.execution.retry import judge

    now = [100.0]
    gate = RateLimitGate(clock=lambda: now[0])
    limited = POResult("1", Status.FAILED, "E_RATE_LIMITED", transient=True, retry_after=30.0)

    first = judge(limited, 1, _judge_settings(), gate)
    again = judge(limited, 1, _judge_settings(), gate)

    assert first.decision is Decision.RETRY and first.pause_began == 30.0
    assert again.pause_began is None  # the pause was already running
    assert first.delay == 30.0  # not the 1 s backoff: the pause is longer
    now[0] += 30.0
    after = judge(POResult("2", Status.FAILED, transient=True), 1, _judge_settings(), gate)
    assert after.pause_began is None and 0.8 <= after.delay <= 1.2  # backoff with jitter


def test_the_verdicts_final_retry_and_sign_in() -> None:
    from coupadl.execution.ratelimit import RateLimitGate
    from coupadl.execution.retry import judge

    gate = RateLimitGate()
    transient = POResult("1", Status.TIMEOUT, transient=True)

    assert judge(transient, 2, _judge_settings(), gate).decision is Decision.RETRY
    assert judge(transient, 3, _judge_settings(), gate).decision is Decision.FINAL
    auth = POResult("1", Status.AUTH_REQUIRED)
    assert judge(auth, 9, _judge_settings(), gate).decision is Decision.PAUSE_FOR_AUTH
    done = judge(POResult("1", Status.COMPLETED), 1, _judge_settings(), gate)
    assert (done.decision, done.delay) == (Decision.FINAL, 0.0)
