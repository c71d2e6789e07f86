"""What an ended attempt means for its task: a final result, a retry after a delay, or
the pause for sign-in. The verdict is :func:`coupadl.execution.retry.judge`'s; this
applies it to the queue, the counters and the events (on the supervisor's thread).
"""

from __future__ import annotations

import logging
import time

from coupadl.execution.pool.auth_pause import pause_for_sign_in
from coupadl.execution.pool.events import EventKind
from coupadl.execution.pool.queue import TaskRecord, TaskState
from coupadl.execution.pool.slot import WorkerSlot
from coupadl.execution.pool.state import PoolState
from coupadl.execution.retry import Decision, judge, rate_limit_message
from coupadl.models import POResult, Status

logger = logging.getLogger(__name__)


def after_attempt(state: PoolState, record: TaskRecord, result: POResult, seconds: float) -> None:
    """Decide what an ended attempt means for its task: final, retry, or auth pause."""
    now = time.monotonic()
    verdict = judge(result, record.attempts + 1, state.settings, state.rate_gate)
    if verdict.pause_began is not None:
        _announce_rate_limit(state, record, result, verdict.pause_began)
    if verdict.decision is Decision.PAUSE_FOR_AUTH:
        pause_for_sign_in(state, record, result)
        return
    record.attempts += 1
    result.attempts = record.attempts
    record.last_result = result
    if verdict.decision is Decision.RETRY:
        _retry(state, record, result, verdict.delay, now)
    else:
        _settle(state, record, result, seconds, now)


def killed_attempt(state: PoolState, slot: WorkerSlot, reason: str, hung: bool) -> None:
    """End the attempt of a worker we are killing as a transient failure."""
    record = slot.record
    slot.record = None
    slot.progress = ""
    if record is None:
        return
    finished = time.time()
    started = finished - (time.monotonic() - slot.task_started)
    result = POResult(
        po_number=record.po_number,
        status=Status.TIMEOUT if hung else Status.FAILED,
        error_code="E_TIMEOUT" if hung else state.config.failure_code,
        message=f"{slot.worker_id} {reason}",
        started_at=started,
        finished_at=finished,
        worker=slot.worker_id,
        transient=True,
    )
    after_attempt(state, record, result, finished - started)


def _retry(
    state: PoolState, record: TaskRecord, result: POResult, delay: float, now: float
) -> None:
    state.queue.schedule_retry(record, now + delay)
    state.stats.retries += 1
    logger.info(
        "PO %s attempt %d ended %s (%s); retrying in %.1f s",
        record.po_number,
        record.attempts,
        result.status,
        result.error_code or result.message,
        delay,
    )
    state.emit(
        EventKind.RETRY_SCHEDULED,
        f"PO {record.po_number} attempt {record.attempts} ended {result.status}; "
        f"retry in {delay:.1f} s",
        result.worker,
        record.po_number,
        {
            "attempt": record.attempts,
            "delay": delay,
            "status": str(result.status),
            "error_code": result.error_code,
        },
    )


def _settle(
    state: PoolState, record: TaskRecord, result: POResult, seconds: float, now: float
) -> None:
    """The task's final result: to its handle, the results queue and the counters."""
    state.queue.finish(record)
    record.handle._settle(TaskState.DONE, result)
    state.completed.append(result)
    st = state.stats
    st.final += 1
    st.by_status[result.status] += 1
    st.duration_sum += result.duration or max(0.0, seconds)
    st.last_final_at = now
    st.recent.append(now)
    state.cond.notify_all()


def _announce_rate_limit(
    state: PoolState, record: TaskRecord, result: POResult, seconds: float
) -> None:
    """The service answered 429 and every worker's next PO waits: said once per pause."""
    state.stats.rate_limit_pauses += 1
    message = rate_limit_message(record.po_number, seconds)
    logger.warning("%s", message)
    until = time.time() + state.rate_gate.remaining()
    state.emit(
        EventKind.RATE_LIMITED,
        message,
        result.worker,
        record.po_number,
        data={"seconds": seconds, "until": until},
    )
