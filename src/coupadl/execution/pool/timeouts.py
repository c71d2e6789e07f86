"""Timeouts: a task whose progress stops for ``task_timeout``, a worker that sends
nothing (not even heartbeats), a start or session export that takes too long, a stop
that does not end, a handler that lost one of its processes. Each one restarts the
worker (restarts.py). Checked on every turn of the supervisor's loop, under the lock.
"""

from __future__ import annotations

from coupadl.execution.pool.restarts import LOST_PROCESS, Restarts
from coupadl.execution.pool.state import PoolState
from coupadl.execution.status import ALIVE_STATES, WorkerState

STOP_GRACE = 5.0  # a worker told to stop that is still there after this is killed
PROCESS_CHECK_EVERY = 1.0  # seconds between looks at the handlers' processes
# Where a handler's lost process is looked for on every check.
_PROCESS_WATCHED = (WorkerState.IDLE, WorkerState.BUSY, WorkerState.WAITING_SESSION)


class Watchdog:
    """Finds workers that are stuck or silent, or lost a process, and restarts them."""

    def __init__(self, state: PoolState, workers: Restarts) -> None:
        self.state = state
        self.workers = workers
        settings, config = state.settings, state.config
        self.start_timeout = max(settings.task_timeout, 60.0)
        self.silence_timeout = max(settings.task_timeout, 10 * config.heartbeat_interval, 30.0)
        self._last_process_check = 0.0

    def check(self, now: float) -> None:
        timeout = self.state.settings.task_timeout
        check_processes = now - self._last_process_check >= PROCESS_CHECK_EVERY
        if check_processes:
            self._last_process_check = now
        restart = self.workers.restart
        for slot in self.state.slots:
            state = slot.state
            if state is WorkerState.BUSY and now - slot.last_progress > timeout:
                po = slot.record.po_number if slot.record else "?"
                restart(
                    slot, f"made no progress on PO {po} for {now - slot.last_progress:.0f} s", True
                )
            elif state in ALIVE_STATES and now - slot.last_heartbeat > self.silence_timeout:
                restart(slot, f"sent nothing for {now - slot.last_heartbeat:.0f} s", True)
            elif (
                state in (WorkerState.STARTING, WorkerState.EXPORTING_SESSION)
                and now - slot.state_since > self.start_timeout
            ):
                doing = "start" if state is WorkerState.STARTING else "export its session"
                restart(slot, f"took more than {self.start_timeout:.0f} s to {doing}", True)
            elif state is WorkerState.STOPPING and now - slot.state_since > STOP_GRACE:
                self.workers.on_exit(slot)
            elif check_processes and state in _PROCESS_WATCHED and slot.lost_process():
                restart(slot, LOST_PROCESS)
