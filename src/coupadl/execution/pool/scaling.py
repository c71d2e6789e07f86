"""Memory scaling: retire a worker while the workers use more than the memory budget,
start a retired one again when memory frees up.

The samples come from the memory monitor's thread (monitor.py) through
:meth:`Scaling.memory_roots` and :meth:`Scaling.store_memory`, which take the lock; the
decisions run on the supervisor's thread, once per new sample.
"""

from __future__ import annotations

import logging

from coupadl.execution.pool.events import EventKind
from coupadl.execution.pool.restarts import Restarts
from coupadl.execution.pool.slot import WorkerSlot
from coupadl.execution.pool.state import MB, PoolState
from coupadl.execution.status import ALIVE_STATES, WorkerState

logger = logging.getLogger(__name__)

SCALE_DOWN_COOLDOWN = 10.0  # let memory settle after retiring a worker
SCALE_UP_COOLDOWN = 30.0
SCALE_UP_HEADROOM = 0.8  # start a worker again only below 80 % of the budget


class Scaling:
    """Keeps the workers' memory under the budget (never below one worker)."""

    def __init__(self, state: PoolState, workers: Restarts) -> None:
        self.state = state
        self.workers = workers
        self._memory_seq = 0  # samples stored
        self._memory_seen = 0  # samples acted on
        self._last_scale = 0.0

    # -- the monitor's thread ------------------------------------------------------------
    def memory_roots(self) -> dict[str, list[int]]:
        with self.state.lock:
            return {
                slot.worker_id: slot.root_pids()
                for slot in self.state.slots
                if slot.process is not None
            }

    def store_memory(self, usage: dict[str, int]) -> None:
        state = self.state
        with state.lock:
            for slot in state.slots:
                if slot.process is not None and slot.worker_id in usage:
                    slot.memory_bytes = usage[slot.worker_id]
            state.memory_total = sum(slot.memory_bytes for slot in state.slots)
            state.stats.peak_memory = max(state.stats.peak_memory, state.memory_total)
            self._memory_seq += 1

    # -- the supervisor's thread ---------------------------------------------------------
    def scale(self, now: float) -> None:
        """Retire an idle worker while over the memory budget (never the last one); start
        retired workers again when memory frees up."""
        if self._memory_seq == self._memory_seen:
            return
        self._memory_seen = self._memory_seq
        total = self.state.memory_total
        alive = [s for s in self.state.slots if s.state in ALIVE_STATES and not s.retire_when_idle]
        if total > self.state.budget_bytes and len(alive) > 1:
            if now - self._last_scale >= SCALE_DOWN_COOLDOWN:
                self._scale_down(alive, total, now)
            return
        retired = self.state.in_state(WorkerState.RETIRED)
        if not retired or now - self._last_scale < SCALE_UP_COOLDOWN:
            return
        per_worker = total / len(alive) if alive else self.state.config.per_worker_mb * MB
        if total + per_worker < self.state.budget_bytes * SCALE_UP_HEADROOM:
            self._scale_up(retired[0], total, now)

    def _scale_down(self, alive: list[WorkerSlot], total: int, now: float) -> None:
        """Retire the biggest idle worker (or, with none idle, the biggest once idle)."""
        budget = self.state.budget_bytes
        idle = [s for s in alive if s.state is WorkerState.IDLE]
        victim = max(idle or alive, key=lambda s: s.memory_bytes)
        victim.retire_when_idle = True
        self._last_scale = now
        msg = (
            f"workers use {total / MB:.0f} MB, over the {budget / MB:.0f} MB "
            f"budget: retiring {victim.worker_id}"
        )
        logger.warning("%s", msg)
        self.state.emit(
            EventKind.WORKER_RETIRED,
            msg,
            victim.worker_id,
            data={"memory_mb": total / MB, "budget_mb": budget / MB},
        )
        if victim.state is WorkerState.IDLE:
            self.workers.retire(victim)

    def _scale_up(self, slot: WorkerSlot, total: int, now: float) -> None:
        self._last_scale = now
        logger.info(
            "memory freed (%.0f MB of %.0f MB used): starting %s again",
            total / MB,
            self.state.budget_bytes / MB,
            slot.worker_id,
        )
        slot.next_start_at = now
        slot.set_state(WorkerState.STOPPED)
