"""Snapshots of the pool for callers: per-worker status, pool status, batch result."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from coupadl.models import Status


class WorkerState(enum.StrEnum):
    STARTING = "starting"  # process or handler starting (also a handler recycle)
    WAITING_SESSION = "waiting_session"  # signed out; waiting for a signed-in worker's session
    IDLE = "idle"
    BUSY = "busy"
    EXPORTING_SESSION = "exporting_session"  # exporting its session for signed-out workers
    BACKOFF = "backoff"  # waiting to be restarted
    STOPPING = "stopping"
    RETIRED = "retired"  # stopped to free memory; may be started again
    STOPPED = "stopped"
    FAILED = "failed"  # gave up after too many restarts or start failures


# States in which a worker holds (or is getting) a live handler.
ALIVE_STATES = frozenset(
    {
        WorkerState.STARTING,
        WorkerState.WAITING_SESSION,
        WorkerState.IDLE,
        WorkerState.BUSY,
        WorkerState.EXPORTING_SESSION,
    }
)


@dataclass(frozen=True)
class WorkerStatus:
    worker_id: str
    state: WorkerState
    pid: int | None
    current_po: str | None
    progress: str
    seconds_since_progress: float
    tasks_done: int
    restarts: int
    memory_mb: float
    child_pids: tuple[int, ...] = ()  # the processes its handler reported
    stage_seconds: float = 0.0  # busy: since ``progress`` last changed (the stage began)
    po_seconds: float = 0.0  # busy: since the current PO was handed to the worker


@dataclass(frozen=True)
class PoolStatus:
    workers: list[WorkerStatus]
    target_workers: int
    active_workers: int  # workers holding a live handler
    queue_depth: int  # queued plus waiting for a retry
    waiting_retry: int
    running: int
    completed: int  # tasks with a final result
    retries: int
    worker_restarts: int
    memory_mb: float  # all workers' process trees, last sample
    memory_budget_mb: float
    throughput_per_minute: float  # final results in the last minute
    paused_for_auth: bool
    closed: bool
    rate_limited_for: float = 0.0  # seconds until new POs may start after HTTP 429


@dataclass(frozen=True)
class BatchResult:
    """Totals over every final result the pool produced.

    ``successful`` counts outcomes a re-run would not change (COMPLETED, NO_ATTACHMENTS,
    PO_NOT_FOUND, ACCESS_DENIED: ``Status.is_done``); ``failed`` the rest (PARTIAL,
    FAILED, TIMEOUT). Tasks the pool stopped before finishing are ``not_finished``."""

    total: int
    successful: int
    failed: int
    by_status: dict[Status, int] = field(default_factory=dict)
    not_finished: int = 0
    cancelled: int = 0
    processing_time: float = 0.0  # wall seconds from start() to the last result (or now)
    average_time_per_po: float = 0.0  # mean worker seconds of the final attempts
    retries: int = 0
    worker_restarts: int = 0
    peak_memory_mb: float = 0.0
    rate_limit_pauses: int = 0  # pool-wide pauses after HTTP 429
