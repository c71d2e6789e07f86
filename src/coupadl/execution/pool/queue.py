"""The pool's task queue: priorities, FIFO within a priority, one active task per PO.

Lives in the main process only and is not thread-safe on its own: the pool guards it
with its lock. Tasks waiting for a retry sit in a second heap ordered by due time and
move to the ready heap when due. Removal (cancel) is lazy: a heap entry whose record is
no longer queued with the same sequence number is dropped when it surfaces.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from coupadl.execution.pool.errors import PoolError, TaskCancelledError, TaskNotFinishedError
from coupadl.models import POResult, POTask


class Priority(enum.IntEnum):
    """Lower value runs first."""

    URGENT = 0
    HIGH = 1
    NORMAL = 2
    LOW = 3


class TaskState(enum.StrEnum):
    QUEUED = "queued"
    RETRY_WAIT = "retry_wait"  # transient failure, waiting for its backoff delay
    RUNNING = "running"
    DONE = "done"  # has its final POResult
    CANCELLED = "cancelled"
    NOT_FINISHED = "not_finished"  # the pool stopped before it finished: leave it pending


class TaskHandle:
    """The caller's view of one submitted PO."""

    def __init__(
        self, task: POTask, priority: Priority, cancel: Callable[[TaskHandle], bool]
    ) -> None:
        self.task = task
        self.priority = priority
        self._cancel = cancel
        self._settled = threading.Event()
        self._state = TaskState.QUEUED
        self._result: POResult | None = None
        self._reason = ""

    @property
    def po_number(self) -> str:
        return self.task.po_number

    @property
    def state(self) -> TaskState:
        return self._state

    @property
    def result(self) -> POResult | None:
        """The final result, or None while not DONE."""
        return self._result

    def done(self) -> bool:
        """True once settled: a final result, cancelled, or left unfinished by shutdown
        (like ``concurrent.futures.Future.done``)."""
        return self._settled.is_set()

    def cancelled(self) -> bool:
        return self._state is TaskState.CANCELLED

    def cancel(self) -> bool:
        """Cancel a task that has not started; False when it runs or is settled."""
        return self._cancel(self)

    def wait_for_completion(self, timeout: float | None = None) -> POResult:
        """The final POResult. Raises TimeoutError when ``timeout`` passes first,
        TaskCancelledError when cancelled, TaskNotFinishedError when the pool stopped
        before the PO finished (it stays pending for the next run)."""
        if not self._settled.wait(timeout):
            raise TimeoutError(f"PO {self.po_number} did not finish within {timeout} s")
        if self._state is TaskState.CANCELLED:
            raise TaskCancelledError(f"PO {self.po_number} was cancelled")
        if self._state is TaskState.NOT_FINISHED or self._result is None:
            raise TaskNotFinishedError(
                f"PO {self.po_number} did not finish before the pool stopped: {self._reason}"
            )
        return self._result

    # -- called by the pool (under its lock) ---------------------------------------------
    def _set_state(self, state: TaskState) -> None:
        self._state = state

    def _settle(self, state: TaskState, result: POResult | None = None, reason: str = "") -> None:
        self._state = state
        self._result = result
        self._reason = reason
        self._settled.set()

    def __repr__(self) -> str:
        return f"<TaskHandle PO {self.po_number} {self._state.value}>"


class DuplicateTaskError(PoolError):
    """A task for this PO is already queued or running.

    ``handle`` is the existing task's handle, so a caller that only wants the result can
    wait on it instead."""

    code = "E_DUPLICATE_TASK"

    def __init__(self, po_number: str, handle: TaskHandle) -> None:
        super().__init__(f"PO {po_number} is already queued or running in the pool")
        self.po_number = po_number
        self.handle = handle


@dataclass(eq=False)
class TaskRecord:
    """The pool's bookkeeping for one active PO."""

    task: POTask
    priority: Priority
    seq: int
    handle: TaskHandle
    attempts: int = 0  # attempts started and ended (a killed attempt counts)
    last_result: POResult | None = None
    due: float = 0.0
    submitted_at: float = field(default_factory=time.monotonic)

    @property
    def po_number(self) -> str:
        return self.task.po_number

    @property
    def state(self) -> TaskState:
        return self.handle.state


class TaskQueue:
    """Priority queue of TaskRecords with retry timers and duplicate rejection."""

    def __init__(self) -> None:
        self._ready: list[tuple[int, int, str]] = []  # (priority, seq, po)
        self._delayed: list[tuple[float, int, str]] = []  # (due, seq, po)
        self._active: dict[str, TaskRecord] = {}  # every record not settled, by PO
        self._seq = itertools.count()
        self._queued = 0
        self._waiting = 0

    # -- sizes ---------------------------------------------------------------------------
    @property
    def queued(self) -> int:
        """Ready to run now."""
        return self._queued

    @property
    def waiting_retry(self) -> int:
        return self._waiting

    @property
    def depth(self) -> int:
        """Queued plus waiting for a retry."""
        return self._queued + self._waiting

    @property
    def active(self) -> int:
        """Not settled: queued, waiting for a retry or running."""
        return len(self._active)

    def get(self, po_number: str) -> TaskRecord | None:
        return self._active.get(po_number)

    def records(self) -> list[TaskRecord]:
        return list(self._active.values())

    # -- changes -------------------------------------------------------------------------
    def add(
        self, task: POTask, priority: Priority, cancel: Callable[[TaskHandle], bool]
    ) -> TaskRecord:
        """Queue a new PO. Raises DuplicateTaskError while the same PO is active."""
        existing = self._active.get(task.po_number)
        if existing is not None:
            raise DuplicateTaskError(task.po_number, existing.handle)
        handle = TaskHandle(task, priority, cancel)
        record = TaskRecord(task=task, priority=priority, seq=next(self._seq), handle=handle)
        self._active[task.po_number] = record
        self._push_ready(record)
        return record

    def _push_ready(self, record: TaskRecord) -> None:
        record.handle._set_state(TaskState.QUEUED)
        heapq.heappush(self._ready, (int(record.priority), record.seq, record.po_number))
        self._queued += 1

    def requeue(self, record: TaskRecord) -> None:
        """Put a running task back, ahead of later tasks of its priority (it keeps its
        sequence number)."""
        if record.state is TaskState.RUNNING:
            self._push_ready(record)

    def schedule_retry(self, record: TaskRecord, due: float) -> None:
        record.due = due
        record.handle._set_state(TaskState.RETRY_WAIT)
        heapq.heappush(self._delayed, (due, record.seq, record.po_number))
        self._waiting += 1

    def promote_due(self, now: float) -> None:
        """Move retries whose delay has passed to the ready heap."""
        while self._delayed and self._delayed[0][0] <= now:
            _, seq, po = heapq.heappop(self._delayed)
            record = self._active.get(po)
            if record is None or record.seq != seq or record.state is not TaskState.RETRY_WAIT:
                continue
            self._waiting -= 1
            self._push_ready(record)

    def pop(self) -> TaskRecord | None:
        """The next task to run (marked RUNNING), or None."""
        while self._ready:
            _, seq, po = heapq.heappop(self._ready)
            record = self._active.get(po)
            if record is None or record.seq != seq or record.state is not TaskState.QUEUED:
                continue  # cancelled or stale entry
            self._queued -= 1
            record.handle._set_state(TaskState.RUNNING)
            return record
        return None

    def cancel(self, po_number: str) -> TaskRecord | None:
        """Drop a task that has not started; returns it, or None when it cannot be."""
        record = self._active.get(po_number)
        if record is None or record.state not in (TaskState.QUEUED, TaskState.RETRY_WAIT):
            return None
        self._uncount(record)
        del self._active[po_number]
        return record

    def finish(self, record: TaskRecord) -> None:
        """Forget a settled record (its heap entries are dropped lazily)."""
        if self._active.get(record.po_number) is record:
            self._uncount(record)
            del self._active[record.po_number]

    def _uncount(self, record: TaskRecord) -> None:
        if record.state is TaskState.QUEUED:
            self._queued -= 1
        elif record.state is TaskState.RETRY_WAIT:
            self._waiting -= 1

    def drain(self) -> list[TaskRecord]:
        """Remove and return every active record (shutdown)."""
        records = list(self._active.values())
        for record in records:
            self._uncount(record)
        self._active.clear()
        self._ready.clear()
        self._delayed.clear()
        return records
