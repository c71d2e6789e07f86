"""Dispatch: queued tasks go to idle workers, in queue order, one task per worker.

Nothing is handed out while the pool is paused for sign-in or an HTTP 429 pause runs.
Each hand-out gets a fresh token, so a late result of an attempt the pool already gave
up on is recognised and dropped (inbox.py). On the supervisor's thread, under the lock.
"""

from __future__ import annotations

import dataclasses

from coupadl.execution.pool.messages import RunTask
from coupadl.execution.pool.restarts import LOST_PROCESS, Restarts
from coupadl.execution.pool.state import PoolState
from coupadl.execution.status import WorkerState


class Dispatcher:
    """Hands queued tasks to idle workers."""

    def __init__(self, state: PoolState, workers: Restarts) -> None:
        self.state = state
        self.workers = workers
        self._tokens = 0

    def dispatch(self, now: float) -> None:
        state = self.state
        if state.paused_for_auth or not state.rate_gate.is_open():
            return
        for slot in state.slots:
            if slot.state is not WorkerState.IDLE or slot.retire_when_idle:
                continue
            if not state.queue.queued:
                return
            if slot.lost_process():
                # Checked here too (not only every PROCESS_CHECK_EVERY), so a PO is not
                # wasted on a handler that is already broken.
                self.workers.restart(slot, LOST_PROCESS)
                continue
            record = state.queue.pop()
            if record is None:
                return
            self._tokens += 1
            slot.token = self._tokens
            slot.record = record
            slot.task_started = now
            slot.last_progress = now
            slot.progress = "dispatched"
            slot.set_state(WorkerState.BUSY)
            task = dataclasses.replace(record.task, attempt=record.task.attempt + record.attempts)
            if not slot.send(RunTask(slot.token, task)):
                self.workers.restart(slot, "could not be sent a task")
