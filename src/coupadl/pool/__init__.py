"""The persistent worker pool: queue, workers, supervisor, monitors.

Browsers stay open across POs, one per worker process (spawn start method), each on its
own clone of the signed-in base profile, under a supervisor that restarts a worker that
hangs or dies and retries its PO. See ``PersistentWorkerPool``.
"""

from coupadl.pool.config import DEFAULT_HANDLER_FACTORY, PoolConfig
from coupadl.pool.errors import (
    DuplicateTaskError,
    PoolClosedError,
    PoolError,
    TaskCancelledError,
    TaskNotFinishedError,
)
from coupadl.pool.events import EventKind, PoolEvent
from coupadl.pool.handler import Handler, HandlerFactory, ProgressFn
from coupadl.pool.monitor import auto_worker_count
from coupadl.pool.pool import PersistentWorkerPool
from coupadl.pool.queue import Priority, TaskHandle, TaskState
from coupadl.pool.retry import backoff_delay
from coupadl.pool.status import BatchResult, PoolStatus, WorkerState, WorkerStatus

__all__ = [
    "DEFAULT_HANDLER_FACTORY",
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
    "TaskCancelledError",
    "TaskHandle",
    "TaskNotFinishedError",
    "TaskState",
    "WorkerState",
    "WorkerStatus",
    "auto_worker_count",
    "backoff_delay",
]
