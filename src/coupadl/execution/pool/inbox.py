"""Worker messages: read a worker's pipe and act on each message it sent.

Every message is a sign of life (the heartbeat timer). A finished task goes to
attempts.py, a ready worker to session_share.py, a dead pipe to restarts.py. Log records
from the workers are kept and re-emitted by :meth:`Inbox.flush_logs` after the lock is
released, so a slow log handler never holds up the pool.
"""

from __future__ import annotations

import logging
import time
from multiprocessing.connection import Connection

from coupadl.execution.pool.attempts import after_attempt
from coupadl.execution.pool.events import EventKind
from coupadl.execution.pool.messages import (
    ExportedSession,
    Fatal,
    HandlerLost,
    Heartbeat,
    LogRecordMsg,
    Progress,
    Ready,
    RestartHandler,
    Stopped,
    TaskDone,
)
from coupadl.execution.pool.restarts import Restarts
from coupadl.execution.pool.session_share import SessionShare
from coupadl.execution.pool.slot import WorkerSlot
from coupadl.execution.pool.state import PoolState
from coupadl.execution.status import WorkerState

logger = logging.getLogger(__name__)

MAX_MESSAGES_PER_WORKER = 500  # per loop turn, so one chatty worker cannot starve others


class Inbox:
    """Handles what the workers send."""

    def __init__(self, state: PoolState, workers: Restarts, sharing: SessionShare) -> None:
        self.state = state
        self.workers = workers
        self.sharing = sharing
        self._logs: list[LogRecordMsg] = []

    def drain(self, slot: WorkerSlot) -> bool:
        """Handle the slot's pending messages; False when its pipe reached EOF."""
        assert slot.conn is not None
        conn: Connection = slot.conn
        for _ in range(MAX_MESSAGES_PER_WORKER):
            try:
                if not conn.poll():
                    return True
                message = conn.recv()
            except (EOFError, OSError):
                return False
            self.on_message(slot, message)
            if slot.conn is not conn:
                return True  # the message made us kill or replace this worker
        return True

    def on_message(self, slot: WorkerSlot, message: object) -> None:
        now = time.monotonic()
        slot.last_heartbeat = now
        if isinstance(message, Heartbeat):
            return
        if isinstance(message, LogRecordMsg):
            self._logs.append(message)
        elif isinstance(message, Progress):
            if slot.state is WorkerState.BUSY and message.token == slot.token:
                slot.last_progress = now
                slot.progress = message.text
        elif isinstance(message, TaskDone):
            self.on_task_done(slot, message, now)
        elif isinstance(message, Ready):
            self._on_ready(slot, message)
        elif isinstance(message, ExportedSession):
            self.sharing.on_exported(slot, message)
        elif isinstance(message, HandlerLost):
            self._on_lost(slot, message)
        elif isinstance(message, Fatal):
            slot.last_error = message.message
            logger.warning("%s could not start its handler: %s", slot.worker_id, message.message)
        elif isinstance(message, Stopped):
            logger.debug("%s stopped", slot.worker_id)
        else:
            logger.warning("%s sent an unknown message %r", slot.worker_id, type(message))

    def _on_lost(self, slot: WorkerSlot, message: HandlerLost) -> None:
        """A new handler for a worker whose remote one is gone; a busy worker's task
        finds that out by itself (and its PO is retried)."""
        if slot.state is not WorkerState.IDLE:
            return
        logger.warning("%s: %s; starting a new one", slot.worker_id, message.reason)
        self.workers.restart_handler(slot, RestartHandler(slot.session))

    def _on_ready(self, slot: WorkerSlot, message: Ready) -> None:
        if slot.state is not WorkerState.STARTING:
            logger.debug("%s: Ready while %s ignored", slot.worker_id, slot.state)
            return
        slot.record_children(message.child_pids)
        slot.signed_in = message.signed_in
        first = not slot.ever_ready
        slot.ever_ready = True
        slot.start_failures = 0
        self.sharing.place_ready(slot, message.signed_in)
        self.state.emit(
            EventKind.WORKER_STARTED,
            f"{slot.worker_id} ready (pid {message.pid}, handler pids {message.child_pids})",
            slot.worker_id,
            data={
                "pid": message.pid,
                "child_pids": list(message.child_pids),
                "signed_in": message.signed_in,
                "first_start": first,
                "restarts": slot.restarts,
            },
        )
        self.state.cond.notify_all()

    def on_task_done(self, slot: WorkerSlot, message: TaskDone, now: float) -> None:
        if slot.state is not WorkerState.BUSY or message.token != slot.token or slot.record is None:
            # A result for an attempt we already gave up on: never report a task twice.
            logger.debug("%s: late result for token %d ignored", slot.worker_id, message.token)
            return
        record = slot.record
        slot.record = None
        slot.progress = ""
        slot.tasks_done += 1
        slot.tasks_since_start += 1
        slot.record_children(message.child_pids)
        slot.set_state(WorkerState.IDLE)
        after_attempt(self.state, record, message.result, now - slot.task_started)
        if message.broken:
            self.workers.restart(slot, "raised an exception in its handler")

    def flush_logs(self) -> None:
        """Re-emit the workers' log records under their own loggers (takes the lock only
        to pick them up)."""
        with self.state.lock:
            logs, self._logs = self._logs, []
        for item in logs:
            target = logging.getLogger(item.name)
            if not target.isEnabledFor(item.levelno):
                continue  # the worker filtered on the root level only
            record = logging.makeLogRecord(
                {
                    "name": item.name,
                    "levelno": item.levelno,
                    "levelname": logging.getLevelName(item.levelno),
                    "msg": item.message,
                    "exc_text": item.exc_text,
                    "created": item.created,
                }
            )
            target.handle(record)
