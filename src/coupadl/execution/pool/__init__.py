"""The persistent worker pool: queue, workers, supervisor, monitors.

Browsers stay open across POs, one per worker process (spawn start method), each on its
own clone of the signed-in base profile, under a supervisor that restarts a worker that
hangs or dies and retries its PO. See ``PersistentWorkerPool``.
"""

from coupadl.execution.pool.config import DEFAULT_HANDLER_FACTORY, PoolConfig
from coupadl.execution.pool.errors import (
    PoolClosedError,
    PoolError,
    TaskCancelledError,
    TaskNotFinishedError,
)
from coupadl.execution.pool.events import EventKind, PoolEvent
from coupadl.execution.pool.handler import Handler, HandlerFactory, ProgressFn
from coupadl.execution.pool.monitor import auto_worker_count
from coupadl.execution.pool.pool import PersistentWorkerPool
from coupadl.execution.pool.queue import DuplicateTaskError, Priority, TaskHandle, TaskState
from coupadl.execution.retry import backoff_delay
from coupadl.execution.status import BatchResult, PoolStatus, WorkerState, WorkerStatus

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
