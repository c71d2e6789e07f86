"""The persistent worker pool: queue, workers, supervisor, monitors.

Handlers stay alive across POs, one per worker process (spawn start method), each in
the work folder the engine's prepare step made for it, under a supervisor that restarts
a worker that hangs or dies and retries its PO. See ``PersistentWorkerPool``.
"""

from coupadl.execution.handler import Handler, HandlerFactory, ProgressFn, SessionData
from coupadl.execution.pool.config import PoolConfig
from coupadl.execution.pool.errors import (
    PoolClosedError,
    PoolError,
    TaskCancelledError,
    TaskNotFinishedError,
)
from coupadl.execution.pool.events import EventKind, PoolEvent
from coupadl.execution.pool.monitor import auto_worker_count
from coupadl.execution.pool.pool import PersistentWorkerPool
from coupadl.execution.pool.queue import DuplicateTaskError, Priority, TaskHandle, TaskState
from coupadl.execution.retry import backoff_delay
from coupadl.execution.status import BatchResult, PoolStatus, WorkerState, WorkerStatus

__all__ = [
    "BatchResult",
    "DuplicateTaskError",
    "EventKind",
    "Handler",
    "HandlerFactory",
    "PersistentWorkerPool",
    "PoolClosedError",
    "PoolConfig",
    "PoolError",
    "PoolEvent",
    "PoolStatus",
    "Priority",
    "ProgressFn",
    "SessionData",
    "TaskCancelledError",
    "TaskHandle",
    "TaskNotFinishedError",
    "TaskState",
    "WorkerState",
    "WorkerStatus",
    "auto_worker_count",
    "backoff_delay",
]
