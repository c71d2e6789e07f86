"""The pause for sign-in: once the engine reports that a PO met a session that needs a
new sign-in, no PO starts until ``resume``, which may bring every worker a new session.

The PO that met it is not at fault: its attempt does not count and it waits in the
queue. Called on the supervisor's thread (pause) or the API's (resume), under the lock.
"""

from __future__ import annotations

import logging

from coupadl.execution.handler import SessionData
from coupadl.execution.pool.events import EventKind
from coupadl.execution.pool.queue import TaskRecord
from coupadl.execution.pool.state import PoolState
from coupadl.execution.status import WorkerState
from coupadl.models import POResult

logger = logging.getLogger(__name__)

# Workers whose handler runs with the old session: they take the new one when next idle.
_LIVE = (WorkerState.STARTING, WorkerState.IDLE, WorkerState.BUSY, WorkerState.WAITING_SESSION)


def pause_for_sign_in(state: PoolState, record: TaskRecord, result: POResult) -> None:
    """Put ``record`` back in the queue and pause the pool (announced once per pause)."""
    state.queue.requeue(record)
    if not state.paused_for_auth:
        state.paused_for_auth = True
        state.stats.auth_pauses += 1
        what = (
            "sign in again and resume"
            if state.config.interactive
            else "the run stops; sign in with 'coupadl login' and run it again"
        )
        logger.warning(
            "the engine reported the session needs a new sign-in (PO %s): pausing the pool; %s",
            record.po_number,
            what,
        )
        state.emit(
            EventKind.PAUSED_FOR_AUTH,
            f"the engine reported the session needs a new sign-in while processing PO "
            f"{record.po_number}; pool paused ({what})",
            result.worker,
            record.po_number,
        )
    state.cond.notify_all()


def resume(state: PoolState, session: SessionData | None) -> None:
    """End the pause; with ``session``, every worker's next handler starts with it.

    The caller wakes the supervisor's loop and the waiters afterwards."""
    if session is not None:
        state.shared_session = session
        for slot in state.slots:
            slot.session = session
            if slot.state in _LIVE:
                # Workers without a process get it at their next start.
                slot.session_pending = session
                if slot.state is WorkerState.WAITING_SESSION:
                    slot.set_state(WorkerState.IDLE)
        logger.info("pushing the fresh session to every worker")
    was_paused = state.paused_for_auth
    state.paused_for_auth = False
    if was_paused:
        state.emit(EventKind.RESUMED, "pool resumed after sign-in")
