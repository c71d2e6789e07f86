"""Notable pool events, delivered to ``PoolConfig.on_event`` on a thread of their own.

The runner logs them and records them in its state DB. Delivery runs on a dedicated
thread so a slow callback (a database write) never delays supervision of the workers.
"""

from __future__ import annotations

import enum
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


class EventKind(enum.StrEnum):
    WORKER_STARTED = "worker_started"  # ready for tasks (first start or scale-up)
    WORKER_START_FAILED = "worker_start_failed"  # one start attempt failed; retried later
    WORKER_RESTARTED = "worker_restarted"  # killed (hung, crashed, a process died), respawned
    WORKER_RECYCLED = "worker_recycled"  # handler restarted after recycle_after POs
    WORKER_RETIRED = "worker_retired"  # stopped to free memory
    WORKER_GAVE_UP = "worker_gave_up"  # too many restarts or start failures
    SESSION_SHARED = "session_shared"  # signed-out workers got a signed-in worker's session
    RETRY_SCHEDULED = "retry_scheduled"
    PAUSED_FOR_AUTH = "paused_for_auth"
    RESUMED = "resumed"
    RATE_LIMITED = "rate_limited"  # HTTP 429: no new PO starts until data["until"]
    MEMORY_PRESSURE = "memory_pressure"
    POOL_FAILED = "pool_failed"  # no worker left and none can start


@dataclass(frozen=True)
class PoolEvent:
    kind: EventKind
    message: str
    worker_id: str = ""
    po_number: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


EventCallback = Callable[[PoolEvent], None]

_STOP = object()


class EventDispatcher:
    """Calls the callback for each event, in order, on its own daemon thread."""

    def __init__(self, callback: EventCallback | None) -> None:
        self._callback = callback
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._callback is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="coupadl-pool-events", daemon=True)
        self._thread.start()

    def emit(self, event: PoolEvent) -> None:
        if self._callback is not None:
            self._queue.put(event)

    def _run(self) -> None:
        assert self._callback is not None
        while True:
            event = self._queue.get()
            if event is _STOP:
                return
            try:
                self._callback(event)
            except Exception:
                # A broken callback must not stop the pool or later events.
                logger.exception("pool on_event callback failed for %s", event.kind)

    def stop(self, timeout: float = 5.0) -> None:
        """Deliver the events already emitted, then stop (not waiting on itself)."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(_STOP)
        if thread is not threading.current_thread():
            thread.join(timeout)
        self._thread = None
