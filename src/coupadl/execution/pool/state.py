"""The pool's shared state: workers, queue, results, counters and flags, under one lock.

The supervisor's thread (supervisor.py and the parts it composes) and the public API
(pool.py) read and change it only under ``lock``, an RLock whose condition is ``cond``;
waiters on ``cond`` are woken whenever a result, a worker or a flag changes.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from typing import Any

from coupadl.errors import BrowserError
from coupadl.execution.handler import SessionData
from coupadl.execution.pool.config import PoolConfig
from coupadl.execution.pool.events import EventDispatcher, EventKind, PoolEvent
from coupadl.execution.pool.queue import TaskQueue
from coupadl.execution.pool.slot import WorkerSlot
from coupadl.execution.ratelimit import RateLimitGate
from coupadl.execution.status import ALIVE_STATES, PoolStatus, WorkerState
from coupadl.models import POResult, Status
from coupadl.settings import Settings

MB = 1024 * 1024


@dataclasses.dataclass
class Stats:
    by_status: collections.Counter[Status] = dataclasses.field(default_factory=collections.Counter)
    final: int = 0
    retries: int = 0
    worker_restarts: int = 0
    cancelled: int = 0
    not_finished: int = 0
    auth_pauses: int = 0
    rate_limit_pauses: int = 0
    duration_sum: float = 0.0
    peak_memory: int = 0
    started_at: float = 0.0  # monotonic, set by start()
    last_final_at: float = 0.0
    recent: collections.deque[float] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=5000)
    )


class PoolState:
    """Everything the pool knows while it runs; see the module docstring for the lock."""

    def __init__(
        self,
        config: PoolConfig,
        settings: Settings,
        slots: list[WorkerSlot],
        budget_mb: float,
        events: EventDispatcher,
    ) -> None:
        self.config = config
        self.settings = settings
        self.slots = slots
        self.target = len(slots)
        self.budget_bytes = int(budget_mb * MB)
        self.events = events
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.queue = TaskQueue()
        self.completed: collections.deque[POResult] = collections.deque()
        self.stats = Stats()
        self.paused_for_auth = False
        # After HTTP 429: no worker starts a PO before this (shared by the whole pool).
        self.rate_gate = RateLimitGate()
        self.closing = False  # no more dispatching or (re)starting
        self.stopping = False  # the supervisor's loop ends
        self.failed: BrowserError | None = None
        # A signed-in session for workers that come up signed out (see session_share.py).
        self.shared_session: SessionData | None = None
        self.memory_total = 0  # bytes, the last sample of every worker's processes

    def emit(
        self,
        kind: EventKind,
        message: str,
        worker_id: str = "",
        po_number: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        self.events.emit(PoolEvent(kind, message, worker_id, po_number, data or {}))

    def running(self) -> int:
        return sum(1 for slot in self.slots if slot.record is not None)

    def in_state(self, state: WorkerState) -> list[WorkerSlot]:
        return [slot for slot in self.slots if slot.state is state]

    def status(self) -> PoolStatus:
        now = time.monotonic()
        recent = self.stats.recent
        in_last_minute = 0
        for stamp in reversed(recent):
            if now - stamp > 60.0:
                break
            in_last_minute += 1
        elapsed = now - self.stats.started_at if self.stats.started_at else 0.0
        window = min(60.0, elapsed) if elapsed > 0 else 60.0
        return PoolStatus(
            workers=[slot.status(now) for slot in self.slots],
            target_workers=self.target,
            active_workers=sum(1 for s in self.slots if s.state in ALIVE_STATES),
            queue_depth=self.queue.depth,
            waiting_retry=self.queue.waiting_retry,
            running=self.running(),
            completed=self.stats.final,
            retries=self.stats.retries,
            worker_restarts=self.stats.worker_restarts,
            memory_mb=self.memory_total / MB,
            memory_budget_mb=self.budget_bytes / MB,
            throughput_per_minute=in_last_minute * 60.0 / max(window, 1.0),
            paused_for_auth=self.paused_for_auth,
            closed=self.closing,
            rate_limited_for=self.rate_gate.remaining(),
        )
