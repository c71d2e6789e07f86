"""A worker's life: start, restart after trouble, recycle, retire, give up.

A worker in trouble is killed with its whole process tree and started again after a
backoff delay; its task goes back to the queue as a failed (transient) attempt. A worker
that never came up gets ``start_attempts`` tries, one that did gets ``max_restarts``;
then it is given up, and when every worker is, the pool has failed. All of it runs on
the supervisor's thread, under the lock.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from multiprocessing.context import SpawnContext

from coupadl.errors import BrowserError
from coupadl.execution.pool.attempts import killed_attempt
from coupadl.execution.pool.events import EventKind
from coupadl.execution.pool.messages import RestartHandler, Stop, WorkerSpec
from coupadl.execution.pool.queue import TaskState
from coupadl.execution.pool.slot import WorkerSlot
from coupadl.execution.pool.state import PoolState
from coupadl.execution.retry import backoff_delay
from coupadl.execution.status import ALIVE_STATES, WorkerState

logger = logging.getLogger(__name__)

# Why a worker is restarted when one of its handler's top processes exited.
LOST_PROCESS = "lost a process of its handler (one of them exited)"


def concurrent_starts(cpu_count: int | None) -> int:
    """How many workers may start at once.

    A start is CPU-bound in more than one process (the worker's imports, then the
    handler's: Chromium's several processes), so starts beyond half the CPUs only slow
    each other down. On 2 cores with 4 browser workers: started together, the first PO
    began after about 7 s; one at a time, after about 3 s, and the run as a whole ended
    no later.
    """
    return max(1, (cpu_count or 1) // 2)


class Restarts:
    """Starts, restarts, recycles and retires workers; gives up on one that keeps failing.

    ``on_worker_lost`` runs whenever a worker goes down (restart or given up): workers
    waiting for a session from it may have to stop waiting (session_share.py)."""

    def __init__(
        self, state: PoolState, ctx: SpawnContext, on_worker_lost: Callable[[], None]
    ) -> None:
        self.state = state
        self.ctx = ctx
        self.on_worker_lost = on_worker_lost
        self.max_starts = concurrent_starts(os.cpu_count())

    # -- starting ------------------------------------------------------------------------
    def spec_for(self, slot: WorkerSlot) -> WorkerSpec:
        config = self.state.config
        return WorkerSpec(
            worker_id=slot.worker_id,
            settings=self.state.settings,
            handler_factory=config.handler_factory,
            workdir=slot.workdir,
            session=slot.session,
            failure_code=config.failure_code,
            heartbeat_interval=config.heartbeat_interval,
            log_level=logging.getLogger("coupadl").getEffectiveLevel(),
        )

    def spawn(self, slot: WorkerSlot) -> None:
        slot.retire_when_idle = False
        slot.spawn(self.ctx, self.spec_for(slot))
        logger.debug("%s: process %s started", slot.worker_id, slot.pid)

    def start_workers(self, now: float) -> None:
        """Start the workers whose (re)start is due, a few at a time."""
        # Starting handlers is CPU-bound: see concurrent_starts.
        self._revive_if_none_left(now)
        for slot in self.state.slots:
            if len(self.state.in_state(WorkerState.STARTING)) >= self.max_starts:
                return
            if (
                slot.state in (WorkerState.STOPPED, WorkerState.BACKOFF)
                and now >= slot.next_start_at
            ):
                try:
                    self.spawn(slot)
                except Exception as exc:  # noqa: BLE001 - e.g. OSError, or spawn's RuntimeError
                    # Counted as a failed start, so a pool that cannot spawn at all gives up
                    # (start() raises) instead of trying for ever.
                    slot.last_error = f"{type(exc).__name__}: {exc}"
                    slot.set_state(WorkerState.STARTING)
                    self.restart(slot, f"could not spawn a process ({slot.last_error})")

    def _revive_if_none_left(self, now: float) -> None:
        """Memory pressure retires workers but never the last; if the last one then fails
        for good, a retired one must come back or the run would stall."""
        slots = self.state.slots
        coming = (WorkerState.STOPPED, WorkerState.BACKOFF, WorkerState.STOPPING)
        if any(s.state in ALIVE_STATES or s.state in coming for s in slots):
            return
        retired = self.state.in_state(WorkerState.RETIRED)
        if retired:
            logger.warning(
                "no worker left running: starting retired %s again", retired[0].worker_id
            )
            retired[0].next_start_at = now
            retired[0].set_state(WorkerState.STOPPED)

    # -- trouble -------------------------------------------------------------------------
    def on_exit(self, slot: WorkerSlot) -> None:
        """The worker process exited or its pipe closed."""
        if slot.state is WorkerState.STOPPING:
            slot.kill(timeout=1.0)  # make sure nothing of it is left behind
            slot.set_state(WorkerState.RETIRED if slot.retiring else WorkerState.STOPPED)
            slot.retiring = False
            self.state.cond.notify_all()
            return
        code = None
        if slot.process is not None:
            # The pipe can report EOF a moment before the process is gone.
            slot.process.join(0.5)
            code = slot.process.exitcode
        if slot.state is WorkerState.STARTING:
            reason = f"failed to start ({slot.last_error or f'exit code {code}'})"
        else:
            reason = f"exited unexpectedly (exit code {code})"
        self.restart(slot, reason)

    def restart(self, slot: WorkerSlot, reason: str, hung: bool = False) -> None:
        """Kill a worker in trouble, requeue its task as a failed attempt, schedule a new
        process after a backoff delay, or give the worker up."""
        was_starting = slot.state is WorkerState.STARTING
        logger.warning("%s %s; killing it", slot.worker_id, reason)
        slot.kill()
        killed_attempt(self.state, slot, reason, hung)
        now = time.monotonic()
        if was_starting and not slot.ever_ready:
            delay = self._start_failed(slot, reason)
        else:
            delay = self._restarted(slot, reason)
        if delay is None:
            return  # given up
        slot.next_start_at = now + delay
        slot.set_state(WorkerState.BACKOFF)
        self.on_worker_lost()
        self.state.cond.notify_all()

    def _start_failed(self, slot: WorkerSlot, reason: str) -> float | None:
        """Count a failed first start; the delay before the next, or None: given up."""
        settings = self.state.settings
        slot.start_failures += 1
        if slot.start_failures >= self.state.config.start_attempts:
            self.give_up(slot, f"could not start after {slot.start_failures} attempts: {reason}")
            return None
        delay = backoff_delay(
            slot.start_failures, settings.retry_backoff, settings.retry_backoff_max
        )
        self.state.emit(
            EventKind.WORKER_START_FAILED,
            f"{slot.worker_id} {reason}; trying again in {delay:.1f} s",
            slot.worker_id,
            data={"attempt": slot.start_failures, "delay": delay},
        )
        return delay

    def _restarted(self, slot: WorkerSlot, reason: str) -> float | None:
        """Count a restart; the delay before it, or None: given up."""
        settings = self.state.settings
        slot.restarts += 1
        self.state.stats.worker_restarts += 1
        if slot.restarts > settings.max_restarts:
            self.give_up(slot, f"restarted {slot.restarts - 1} times; last: {reason}")
            return None
        delay = backoff_delay(slot.restarts, settings.retry_backoff, settings.retry_backoff_max)
        self.state.emit(
            EventKind.WORKER_RESTARTED,
            f"{slot.worker_id} {reason}; restart {slot.restarts} in {delay:.1f} s",
            slot.worker_id,
            data={"restarts": slot.restarts, "delay": delay, "reason": reason},
        )
        return delay

    def give_up(self, slot: WorkerSlot, reason: str) -> None:
        logger.error("%s given up: %s", slot.worker_id, reason)
        slot.set_state(WorkerState.FAILED)
        self.state.emit(
            EventKind.WORKER_GAVE_UP, f"{slot.worker_id} given up: {reason}", slot.worker_id
        )
        self._check_pool_alive(reason)
        self.on_worker_lost()
        self.state.cond.notify_all()

    def _check_pool_alive(self, last_reason: str) -> None:
        """With every worker given up the pool has failed: its tasks stay unfinished."""
        state = self.state
        if state.closing or state.failed is not None:
            return
        if any(slot.state is not WorkerState.FAILED for slot in state.slots):
            return
        state.failed = BrowserError(f"No worker is left running; last error: {last_reason}")
        state.closing = True
        logger.error("%s", state.failed)
        state.emit(EventKind.POOL_FAILED, str(state.failed))
        for record in state.queue.drain():
            state.stats.not_finished += 1
            record.handle._settle(TaskState.NOT_FINISHED, reason=str(state.failed))

    # -- between tasks -------------------------------------------------------------------
    def idle_chores(self) -> None:
        """Things an idle worker does before its next task: stop (retire), take a new
        session, recycle its handler."""
        recycle_after = self.state.settings.recycle_after
        for slot in self.state.slots:
            if slot.state is not WorkerState.IDLE:
                continue  # (checked here: a chore can change another worker's state)
            if slot.retire_when_idle:
                self.retire(slot)
            elif slot.session_pending is not None:
                slot.session, slot.session_pending = slot.session_pending, None
                self.restart_handler(slot, RestartHandler(slot.session))
            elif recycle_after > 0 and slot.tasks_since_start >= recycle_after:
                self.state.emit(
                    EventKind.WORKER_RECYCLED,
                    f"{slot.worker_id} restarts its handler after {slot.tasks_since_start} POs",
                    slot.worker_id,
                )
                self.restart_handler(slot, RestartHandler(None))

    def restart_handler(self, slot: WorkerSlot, command: RestartHandler) -> None:
        """Tell a live worker to close its handler and start a new one."""
        if slot.send(command):
            slot.tasks_since_start = 0
            slot.set_state(WorkerState.STARTING)
        else:
            self.restart(slot, "could not be told to restart its handler")

    def retire(self, slot: WorkerSlot) -> None:
        """Stop a worker to free memory (RETIRED once gone; it may start again)."""
        slot.retire_when_idle = False
        slot.retiring = True
        slot.set_state(WorkerState.STOPPING)
        if not slot.send(Stop()):
            self.on_exit(slot)
