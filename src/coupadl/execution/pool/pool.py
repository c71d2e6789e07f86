"""``PersistentWorkerPool``: the public face of the pool.

Start-up (the engine's prepare step, first workers), submitting, waiting, status and
shutdown live here; everything that happens while the pool runs is the supervisor's
(supervisor.py and the parts it composes).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from coupadl.errors import BrowserError
from coupadl.execution.handler import SessionData, load_callable
from coupadl.execution.pool.config import PoolConfig, resolve_worker_count
from coupadl.execution.pool.errors import PoolClosedError
from coupadl.execution.pool.events import EventDispatcher
from coupadl.execution.pool.messages import Stop
from coupadl.execution.pool.monitor import MemoryMonitor, default_budget_mb
from coupadl.execution.pool.queue import Priority, TaskHandle, TaskState
from coupadl.execution.pool.seed import export_session
from coupadl.execution.pool.slot import WorkerSlot
from coupadl.execution.pool.supervisor import Supervisor
from coupadl.execution.pool.timeouts import STOP_GRACE
from coupadl.execution.status import ALIVE_STATES, BatchResult, PoolStatus, WorkerState
from coupadl.models import POResult, POTask

logger = logging.getLogger(__name__)

MB = 1024 * 1024


class PersistentWorkerPool:
    """Handlers that stay alive across POs, one per worker process, under supervision.

    Use as a context manager or call :meth:`start` and :meth:`shutdown`::

        config = PoolConfig(settings, handler, prepare, failure_code, workers=4, base_profile=p)
        with PersistentWorkerPool(config) as pool:
            for task in tasks:
                pool.submit_task(task)
            for result in pool.iter_results():
                ...
    """

    def __init__(self, config: PoolConfig) -> None:
        self.config = config
        self._settings = config.settings
        self._events = EventDispatcher(config.on_event)
        budget = self._settings.memory_budget_mb
        self._budget_mb = float(budget) if budget else default_budget_mb()
        self._target = resolve_worker_count(config, self._budget_mb)
        self._prepared: Any = None  # what the engine's prepare step made
        slots = [WorkerSlot(f"worker-{i + 1}", None) for i in range(self._target)]
        self._sup = Supervisor(config, self._settings, slots, self._budget_mb, self._events)
        self._monitor = MemoryMonitor(
            self._sup.scaling.memory_roots, self._sup.scaling.store_memory, config.memory_interval
        )
        self._started = False
        self._shutdown_lock = threading.Lock()
        self._shutdown_started = False
        self._shutdown_done = threading.Event()
        self._abort = threading.Event()
        self._unfinished: list[POTask] = []
        self.shutdown_requested = False  # set by request_shutdown (signals)
        # Seconds from calling start() (the prepare step included) until the first worker
        # was ready; None until then.
        self.startup_seconds: float | None = None

    # -- properties ----------------------------------------------------------------------
    @property
    def target_workers(self) -> int:
        return self._target

    @property
    def paused_for_auth(self) -> bool:
        return self._sup.paused_for_auth

    @property
    def closed(self) -> bool:
        return self._sup.closing

    @property
    def failure(self) -> BrowserError | None:
        """Set when every worker was given up; the pool then takes no more tasks."""
        return self._sup.failed

    # -- start -----------------------------------------------------------------------------
    def start(self) -> None:
        """Run the engine's prepare step and start the workers; return once one worker is
        ready.

        The other workers keep starting in the background. Raises what the prepare step
        raises (the browser engine: ProfileLockedError when a running browser holds the
        base profile), BrowserError when no worker can start (after the start retries)."""
        if self._started:
            return
        if self._shutdown_started:
            raise PoolClosedError("this pool was shut down; make a new one")
        self._started = True
        begun = time.monotonic()
        # Workers are not daemons: without this, a caller that forgets shutdown() would
        # hang at exit in multiprocessing's own exit handler (it joins them), and their
        # handlers' processes would stay. atexit runs its handlers last-in first-out, so
        # this one runs first.
        atexit.register(self._shutdown_at_exit)
        config = self.config
        logger.info(
            "starting a pool of %d worker(s) (memory budget %.0f MB)",
            self._target,
            self._budget_mb,
        )
        try:
            self._prepare_workdirs()
        except BaseException:
            self._release_prepared()
            raise
        self._events.start()
        self._sup.stats.started_at = time.monotonic()
        self._sup.start()
        self._monitor.start()
        with self._sup.cond:
            self._sup.wake()
            while True:
                if any(slot.ever_ready for slot in self._sup.slots):
                    self.startup_seconds = time.monotonic() - begun
                    logger.info("pool ready after %.1f s", self.startup_seconds)
                    return
                if self._sup.failed is not None:
                    error = self._sup.failed
                    break
                self._sup.cond.wait(0.5)
        logger.error("no worker could start: %s", error)
        self.shutdown(graceful=False)
        raise BrowserError(f"No worker could start ({error}). Handler: {config.handler_factory}.")

    def _prepare_workdirs(self) -> None:
        """The engine's once-per-run step (``PoolConfig.prepare_factory``): a work folder
        for every worker, and maybe a session every worker starts with."""
        config, settings = self.config, self._settings
        prepare = load_callable(config.prepare_factory)
        slots = self._sup.slots

        def seed_session(workdir: Path) -> SessionData | None:
            return export_session(
                settings,
                config.handler_factory,
                config.failure_code,
                workdir,
                timeout=max(settings.task_timeout, 60.0),
                heartbeat_interval=config.heartbeat_interval,
            )

        self._prepared = prepare(
            settings, config.base_profile, config.clone_parent, len(slots), seed_session
        )
        if self._prepared.session is not None:
            self._sup.shared_session = self._prepared.session
        for slot, workdir in zip(slots, self._prepared.workdirs, strict=True):
            slot.workdir = workdir
            slot.session = self._prepared.session

    # -- tasks ---------------------------------------------------------------------------
    def submit_task(self, task: POTask, priority: Priority = Priority.NORMAL) -> TaskHandle:
        """Queue a PO. Raises DuplicateTaskError (carrying the existing handle) while the
        same PO is queued or running, PoolClosedError once the pool is shutting down."""
        with self._sup.lock:
            if self._sup.closing:
                raise PoolClosedError("the pool is shut down and takes no more tasks")
            record = self._sup.queue.add(task, Priority(priority), self._cancel)
            if self._started:
                self._sup.wake()
            return record.handle

    def _cancel(self, handle: TaskHandle) -> bool:
        with self._sup.lock:
            record = self._sup.queue.get(handle.po_number)
            if record is None or record.handle is not handle:
                return False
            if self._sup.queue.cancel(handle.po_number) is None:
                return False
            handle._settle(TaskState.CANCELLED, reason="cancelled")
            self._sup.stats.cancelled += 1
            self._sup.cond.notify_all()
            return True

    def iter_results(self, timeout: float | None = None) -> Iterator[POResult]:
        """Yield final POResults in completion order (one consumer at a time).

        Ends when no task is queued, waiting for a retry or running; when the pool is
        paused for sign-in and nothing is running any more (check ``paused_for_auth``,
        then ``resume()`` and iterate again, or ``shutdown()``); or when the pool is
        shutting down and its POs in flight have ended. Raises TimeoutError when no result
        comes for ``timeout`` seconds, and the pool's BrowserError when every worker was
        given up."""
        sup = self._sup
        while True:
            with sup.cond:
                deadline = None if timeout is None else time.monotonic() + timeout
                while not sup.completed:
                    if sup.failed is not None:
                        raise sup.failed
                    if sup.queue.active == 0 or self._shutdown_done.is_set():
                        return
                    if (sup.paused_for_auth or sup.closing) and sup.running() == 0:
                        # Nothing can finish any more until resume() / it is shut down.
                        return
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError(f"no PO finished within {timeout} s")
                    sup.cond.wait(remaining)
                result = sup.completed.popleft()
            yield result

    def resume(self, session: SessionData | None = None) -> None:
        """Continue after a pause for sign-in; with ``session``, every worker restarts its
        handler with it first (the session is never logged)."""
        with self._sup.lock:
            self._sup.resume(session)

    # -- status --------------------------------------------------------------------------
    def get_status(self) -> PoolStatus:
        """A cheap snapshot (no process is inspected; memory is the last sample)."""
        with self._sup.lock:
            return self._sup.status()

    def batch_result(self) -> BatchResult:
        with self._sup.lock:
            st = self._sup.stats
            successful = sum(n for status, n in st.by_status.items() if status.is_done)
            end = st.last_final_at or time.monotonic()
            elapsed = max(0.0, end - st.started_at) if st.started_at else 0.0
            return BatchResult(
                total=st.final,
                successful=successful,
                failed=st.final - successful,
                by_status=dict(st.by_status),
                not_finished=st.not_finished,
                cancelled=st.cancelled,
                processing_time=elapsed,
                average_time_per_po=st.duration_sum / st.final if st.final else 0.0,
                retries=st.retries,
                worker_restarts=st.worker_restarts,
                peak_memory_mb=st.peak_memory / MB,
                rate_limit_pauses=st.rate_limit_pauses,
            )

    def unfinished_tasks(self) -> list[POTask]:
        """Tasks the shutdown left unfinished (to be left pending), after shutdown()."""
        return list(self._unfinished)

    # -- shutdown ------------------------------------------------------------------------
    def request_shutdown(self, graceful: bool = True) -> None:
        """Start a shutdown on a background thread and return (safe from a signal handler)."""
        self.shutdown_requested = True
        if not graceful:
            self._abort.set()
            with self._sup.lock:
                self._sup.cond.notify_all()
        threading.Thread(
            target=self.shutdown,
            kwargs={"graceful": graceful},
            name="coupadl-pool-shutdown",
            daemon=True,
        ).start()

    def shutdown(self, graceful: bool = True, timeout: float | None = None) -> None:
        """Stop the pool. Graceful: stop dispatching, let POs in flight finish for up to
        ``timeout`` (default settings.shutdown_timeout), then kill what still runs. Not
        graceful: kill at once. Either way the unfinished tasks settle NOT_FINISHED
        (``unfinished_tasks()``), no process of a handler is left running, and what the
        prepare step made is released.

        A second call while one runs waits for it; ``graceful=False`` cuts its wait short."""
        if not graceful:
            self._abort.set()
        with self._shutdown_lock:
            first = not self._shutdown_started
            self._shutdown_started = True
        if not first:
            with self._sup.lock:
                self._sup.cond.notify_all()
            self._shutdown_done.wait(STOP_GRACE * 2 + 5)
            return
        try:
            self._shutdown(
                graceful, self._settings.shutdown_timeout if timeout is None else timeout
            )
        finally:
            self._shutdown_done.set()
            atexit.unregister(self._shutdown_at_exit)

    def _shutdown_at_exit(self) -> None:
        if not self._shutdown_started:
            logger.warning("the program is exiting without pool.shutdown(); aborting the pool")
        self.shutdown(graceful=False)

    def _shutdown(self, graceful: bool, timeout: float) -> None:
        sup = self._sup
        started = time.monotonic()
        with sup.cond:
            sup.closing = True
            running = sup.running()
            sup.cond.notify_all()
        if graceful and self._started and running:
            logger.info("stopping: waiting up to %.0f s for %d PO(s) in flight", timeout, running)
            deadline = started + timeout
            with sup.cond:
                while sup.running() and not self._abort.is_set():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    sup.cond.wait(min(remaining, 0.5))
        sup.stop_thread()
        self._monitor.stop()
        # The supervisor thread has ended: from here on this thread alone touches state.
        in_flight = [slot for slot in sup.slots if slot.record is not None]
        for slot in in_flight:
            record = slot.record
            assert record is not None
            logger.warning(
                "PO %s did not finish before the stop; it stays pending", record.po_number
            )
            slot.record = None
            sup.queue.requeue(record)  # back in the queue, then settled NOT_FINISHED below
            slot.kill(timeout=2.0)
            slot.set_state(WorkerState.STOPPED)
        self._stop_workers(graceful and not self._abort.is_set())
        for record in sup.queue.drain():
            self._unfinished.append(record.task)
            sup.stats.not_finished += 1
            record.handle._settle(TaskState.NOT_FINISHED, reason="the pool was shut down")
        sup.close_wake_pipe()
        self._release_prepared()
        with sup.cond:
            sup.cond.notify_all()
        self._events.stop()
        logger.info(
            "pool stopped in %.1f s (%d PO(s) left pending)",
            time.monotonic() - started,
            len(self._unfinished),
        )

    def _stop_workers(self, polite: bool) -> None:
        """Close every worker: ask idle ones to close their handler (polite), then kill
        every process tree that is still there, including the handlers' recorded pids."""
        slots = [s for s in self._sup.slots if s.process is not None]
        if polite:
            # Busy workers were already dealt with; the others close their handlers (the
            # browser engine: a clean driver quit) in parallel, within STOP_GRACE.
            asked = [
                slot
                for slot in slots
                if slot.state in ALIVE_STATES
                and slot.state is not WorkerState.BUSY
                and slot.record is None
                and slot.send(Stop())
            ]
            deadline = time.monotonic() + STOP_GRACE
            for slot in asked:
                if slot.process is not None:
                    slot.process.join(max(0.0, deadline - time.monotonic()))
        for slot in slots:
            slot.kill(timeout=2.0)
            slot.set_state(WorkerState.STOPPED)

    def _release_prepared(self) -> None:
        if self._prepared is not None:
            self._prepared.release()

    # -- context manager -----------------------------------------------------------------
    def __enter__(self) -> PersistentWorkerPool:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown(graceful=exc_type is None)
