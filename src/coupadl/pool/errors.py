"""Errors the pool API raises on purpose."""

from __future__ import annotations

from typing import TYPE_CHECKING

from coupadl.errors import CoupadlError

if TYPE_CHECKING:
    from coupadl.pool.queue import TaskHandle


class PoolError(CoupadlError):
    """Base of the pool's own errors."""

    code = "E_POOL"


class PoolClosedError(PoolError):
    """The pool is shutting down or shut down (or was never started) and takes no tasks."""

    code = "E_POOL_CLOSED"


class DuplicateTaskError(PoolError):
    """A task for this PO is already queued or running.

    ``handle`` is the existing task's handle, so a caller that only wants the result can
    wait on it instead."""

    code = "E_DUPLICATE_TASK"

    def __init__(self, po_number: str, handle: TaskHandle) -> None:
        super().__init__(f"PO {po_number} is already queued or running in the pool")
        self.po_number = po_number
        self.handle = handle


class TaskCancelledError(PoolError):
    """The task was cancelled before it ran."""

    code = "E_TASK_CANCELLED"


class TaskNotFinishedError(PoolError):
    """The pool shut down (or gave up) before this task finished; leave it pending."""

    code = "E_TASK_NOT_FINISHED"
