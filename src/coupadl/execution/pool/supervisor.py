"""The supervisor: one thread in the main process that runs the pool.

Its loop waits on every worker's pipe and process (and a wake-up pipe for the API), then
takes a turn under the lock: the workers' messages (inbox.py), the exits, and the chores
in a fixed order: timeouts (timeouts.py), starts (restarts.py), memory (scaling.py),
session sharing (session_share.py), idle workers' chores, dispatch (dispatch.py). The
state it runs on is its own (:class:`PoolState`), shared with the public API in pool.py.
"""

from __future__ import annotations

import logging
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any

from coupadl.execution.handler import SessionData
from coupadl.execution.pool.auth_pause import resume as resume_after_sign_in
from coupadl.execution.pool.config import PoolConfig
from coupadl.execution.pool.dispatch import Dispatcher
from coupadl.execution.pool.events import EventDispatcher
from coupadl.execution.pool.inbox import Inbox
from coupadl.execution.pool.restarts import Restarts
from coupadl.execution.pool.scaling import Scaling
from coupadl.execution.pool.session_share import SessionShare
from coupadl.execution.pool.slot import WorkerSlot, spawn_context
from coupadl.execution.pool.state import PoolState
from coupadl.execution.pool.timeouts import Watchdog
from coupadl.settings import Settings

logger = logging.getLogger(__name__)

TICK = 0.1  # longest sleep of the loop: timers are checked at least this often


class Supervisor(PoolState):
    """The pool's state and the thread that runs it, composed of one part per job."""

    def __init__(
        self,
        config: PoolConfig,
        settings: Settings,
        slots: list[WorkerSlot],
        budget_mb: float,
        events: EventDispatcher,
    ) -> None:
        super().__init__(config, settings, slots, budget_mb, events)
        self.ctx = spawn_context()
        self.workers = Restarts(self, self.ctx, on_worker_lost=self._worker_lost)
        self.sharing = SessionShare(self, self.workers)
        self.inbox = Inbox(self, self.workers, self.sharing)
        self.watchdog = Watchdog(self, self.workers)
        self.scaling = Scaling(self, self.workers)
        self.dispatcher = Dispatcher(self, self.workers)
        self._wake_r, self._wake_w = self.ctx.Pipe(duplex=False)
        self._wake_pending = False
        self._thread: threading.Thread | None = None

    # -- thread --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="coupadl-pool-supervisor", daemon=True
        )
        self._thread.start()

    def stop_thread(self, timeout: float = 5.0) -> None:
        with self.lock:
            self.stopping = True
            self.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the pool supervisor thread did not stop in %.0f s", timeout)

    def wake(self) -> None:
        """Make the loop run now (after a submit, resume, shutdown); caller holds the lock."""
        if not self._wake_pending:
            self._wake_pending = True
            try:
                self._wake_w.send_bytes(b"!")
            except OSError as exc:
                logger.debug("wake pipe closed: %s", exc)

    def close_wake_pipe(self) -> None:
        for conn in (self._wake_r, self._wake_w):
            try:
                conn.close()
            except OSError as exc:
                logger.debug("closing wake pipe: %s", exc)

    # -- the loop ------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self.lock:
                if self.stopping:
                    return
                waitables, by_conn, by_sentinel = self._waitables()
            try:
                ready = wait(waitables, timeout=TICK)
            except OSError as exc:
                # A pipe closed between building the list and waiting: just go round.
                logger.debug("wait failed: %s", exc)
                ready = []
            try:
                with self.lock:
                    self._turn(ready, by_conn, by_sentinel)
            except Exception:
                # A bug here must not leave the workers unsupervised for the rest of the run.
                logger.exception("pool supervisor error; carrying on")
                time.sleep(TICK)
            self.inbox.flush_logs()

    def _waitables(self) -> tuple[list[Any], dict[int, WorkerSlot], dict[int, WorkerSlot]]:
        """What to wait on: the wake pipe, each worker's pipe and process sentinel."""
        by_conn: dict[int, WorkerSlot] = {}
        by_sentinel: dict[int, WorkerSlot] = {}
        waitables: list[Any] = [self._wake_r]
        for slot in self.slots:
            if slot.conn is not None:
                by_conn[id(slot.conn)] = slot
                waitables.append(slot.conn)
            if slot.process is not None:
                by_sentinel[slot.process.sentinel] = slot
                waitables.append(slot.process.sentinel)
        return waitables, by_conn, by_sentinel

    def _turn(
        self,
        ready: list[Any],
        by_conn: dict[int, WorkerSlot],
        by_sentinel: dict[int, WorkerSlot],
    ) -> None:
        if self.stopping:
            return
        if self._wake_r in ready:
            self._drain_wake()
        exited: list[WorkerSlot] = []
        for obj in ready:
            if isinstance(obj, Connection):
                slot = by_conn.get(id(obj))
                if slot is not None and slot.conn is obj and not self.inbox.drain(slot):
                    exited.append(slot)
            else:
                slot = by_sentinel.get(obj)
                if slot is not None and slot.process is not None and slot.process.sentinel == obj:
                    exited.append(slot)
        for slot in exited:
            if slot.process is not None or slot.conn is not None:
                self.workers.on_exit(slot)
        self._tick(time.monotonic())

    def _drain_wake(self) -> None:
        self._wake_pending = False
        while self._wake_r.poll():
            self._wake_r.recv_bytes()

    def _tick(self, now: float) -> None:
        self.queue.promote_due(now)
        self.watchdog.check(now)
        if not self.closing:
            self.workers.start_workers(now)
            self.scaling.scale(now)
            self.sharing.share()
            self.workers.idle_chores()
            self.dispatcher.dispatch(now)

    def _worker_lost(self) -> None:
        self.sharing.release_waiting_if_stuck()

    # -- API helpers (caller holds the lock) ---------------------------------------------
    def resume(self, session: SessionData | None) -> None:
        """End a pause for sign-in; with ``session``, every worker takes it (auth_pause.py)."""
        resume_after_sign_in(self, session)
        self.wake()
        self.cond.notify_all()
