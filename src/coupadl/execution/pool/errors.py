"""Errors the pool API raises on purpose."""

from __future__ import annotations

from coupadl.errors import CoupadlError


class PoolError(CoupadlError):
    """Base of the pool's own errors."""

    code = "E_POOL"


class PoolClosedError(PoolError):
    """The pool is shutting down or shut down (or was never started) and takes no tasks."""

    code = "E_POOL_CLOSED"


class TaskCancelledError(PoolError):
    """The task was cancelled before it ran."""

    code = "E_TASK_CANCELLED"


class TaskNotFinishedError(PoolError):
    """The pool shut down (or gave up) before this task finished; leave it pending."""

    code = "E_TASK_NOT_FINISHED"
