"""A whole run's POs through the pool, for ``coupadl.runs.batch.run_batch``.

The runner owns the spreadsheet, the state DB and the report; this adapter owns the pool:
it starts it with the engine's parts and the run's base, feeds it every task, hands each
final result to ``record`` as it arrives (on the caller's thread), notes pool events in
the state DB, and decides what Ctrl+C means (first: let POs in flight finish; second:
abort).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from coupadl.errors import AuthRequiredError
from coupadl.execution.handler import EngineSpec, SessionData
from coupadl.execution.interrupts import install_signal_handlers
from coupadl.execution.pool.config import PoolConfig
from coupadl.execution.pool.events import EventCallback, EventKind, PoolEvent
from coupadl.execution.pool.pool import PersistentWorkerPool
from coupadl.execution.progress import RunEvent, RunProgress
from coupadl.execution.retry import MAX_SIGN_INS
from coupadl.execution.status import BatchResult
from coupadl.models import POResult, POTask
from coupadl.settings import Settings

logger = logging.getLogger(__name__)

# What the runner's state DB calls these events (it counts "retry" and "restart").
EVENT_NAMES = {
    EventKind.RETRY_SCHEDULED: "retry",
    EventKind.WORKER_RESTARTED: "restart",
}
WAKE_EVERY = 1.0  # iter_results timeout, so a Ctrl+C is seen promptly on every platform


def _detail(event: PoolEvent) -> str:
    """What the run state keeps of an event: for a retry its error code, as the
    one-browser path keeps it, so the state reads the same whichever mode ran."""
    if event.kind is EventKind.RETRY_SCHEDULED and event.data.get("error_code"):
        return str(event.data["error_code"])
    return event.message


class EventStore(Protocol):
    def record_event(self, po: str, kind: str, detail: str = "") -> None: ...


@dataclass
class PooledRun:
    pending: list[str]  # POs not finished: left pending in the state
    auth_stopped: bool  # stopped: the session needed a new sign-in and nobody could give one
    startup_seconds: float | None  # start() to the first ready worker
    batch: BatchResult
    auth_pos: list[str]  # POs that met the sign-in need (the pool requeued them)


def run_pooled(
    tasks: Sequence[POTask],
    settings: Settings,
    workers: int,
    record: Callable[[POResult], None],
    state: EventStore,
    base_profile: Path,
    *,
    engine: EngineSpec,
    reauth: Callable[[], SessionData] | None = None,
    interactive: bool = False,
    progress: RunProgress | None = None,
) -> PooledRun:
    """Process ``tasks`` with ``workers`` handlers of ``engine``, each in a work folder
    the engine's prepare step makes from ``base_profile``.

    When the engine reports that the session needs a new sign-in, the pool pauses;
    ``reauth`` (the browser engine's is :func:`coupadl.engine.browser.login.reauthenticator`)
    may sign in again and return a fresh session, and the pool resumes; if it raises
    :class:`AuthRequiredError` the run stops with the rest pending. Raises BrowserError
    when no worker can start (the caller may fall back to one worker), and
    KeyboardInterrupt after a Ctrl+C once the pool is down and the pending POs are known
    to the state (they were marked pending before). ``progress`` gets the pool's events,
    its per-worker status while it runs, and the interrupts."""
    auth_pos: list[str] = []
    config = PoolConfig(
        settings=settings,
        handler_factory=engine.handler_factory,
        prepare_factory=engine.prepare_factory,
        failure_code=engine.failure_code,
        workers=workers,
        base_profile=base_profile,
        on_event=_event_recorder(state, progress, auth_pos),
        interactive=interactive,
    )
    pool = _started(PersistentWorkerPool(config), progress)
    loop = _ResultLoop(pool, record, reauth, progress)
    loop.run(tasks)
    pending = [task.po_number for task in pool.unfinished_tasks()]
    if loop.interrupts:
        raise KeyboardInterrupt
    return PooledRun(
        pending=pending,
        auth_stopped=pool.paused_for_auth,
        startup_seconds=pool.startup_seconds,
        batch=pool.batch_result(),
        auth_pos=auth_pos,
    )


def _event_recorder(
    state: EventStore, progress: RunProgress | None, auth_pos: list[str]
) -> EventCallback:
    """The pool's event callback: log, state DB, live progress; sign-in POs noted."""

    def on_event(event: PoolEvent) -> None:
        if event.kind is EventKind.PAUSED_FOR_AUTH and event.po_number:
            auth_pos.append(event.po_number)
        # RunState is thread-safe; this runs on the pool's event thread.
        log = logger.warning if event.kind in _WARN else logger.info
        log("pool: %s", event.message)
        state.record_event(
            event.po_number, EVENT_NAMES.get(event.kind, event.kind.value), _detail(event)
        )
        if progress is not None:
            progress.event(_run_event(event))

    return on_event


def _started(pool: PersistentWorkerPool, progress: RunProgress | None) -> PersistentWorkerPool:
    """``pool``, started, watched by ``progress`` from before its start."""
    if progress is not None:
        progress.watch_pool(pool.get_status)  # the workers show as "starting" from now on
    try:
        pool.start()
    except BaseException:
        if progress is not None:
            progress.watch_pool(None)
        raise
    return pool


class _ResultLoop:
    """Feeds the pool, records its results, signs in again when it pauses for that, and
    turns stop signals into a graceful stop, then an abort."""

    def __init__(
        self,
        pool: PersistentWorkerPool,
        record: Callable[[POResult], None],
        reauth: Callable[[], SessionData] | None,
        progress: RunProgress | None,
    ) -> None:
        self.pool, self.record, self.reauth, self.progress = pool, record, reauth, progress
        self.interrupts = 0
        self.sign_ins = 0  # in a row, with no result in between
        self.restore: Callable[[], None] = lambda: None

    def on_signal(self, count: int) -> None:
        """On the signal thread, see coupadl/execution/interrupts.py."""
        self.interrupts = count
        if self.progress is not None:
            self.progress.interrupted(count)

    def run(self, tasks: Sequence[POTask]) -> None:
        """Every task through the pool, then the pool shut down (aborted on an error)."""
        pool = self.pool
        self.restore = _handle_stop_signals(pool, self.on_signal)
        try:
            for task in tasks:
                pool.submit_task(task)
            self._collect()
            pool.shutdown(graceful=True)
        except BaseException:
            pool.shutdown(graceful=False)
            raise
        finally:
            self.restore()
            if self.progress is not None:
                self.progress.watch_pool(None)

    def _collect(self) -> None:
        """Record results until the pool has no more to give (and no sign-in helps)."""
        while True:
            try:
                for result in self.pool.iter_results(timeout=WAKE_EVERY):
                    self.record(result)
                    self.sign_ins = 0
            except TimeoutError:
                continue  # nothing finished this second; look again
            except KeyboardInterrupt:
                self._interrupted()
                continue
            if not self._signed_in_again():
                return

    def _interrupted(self) -> None:
        """A KeyboardInterrupt where no signal handler could be set (not the main thread)."""
        self.interrupts += 1
        if self.progress is not None:
            self.progress.interrupted(self.interrupts)
        if self.interrupts == 1:
            logger.warning("interrupted: finishing the POs in flight (Ctrl+C again to abort)")
            self.pool.request_shutdown(graceful=True)
        else:
            logger.warning("interrupted again: closing every worker now")
            self.pool.request_shutdown(graceful=False)

    def _signed_in_again(self) -> bool:
        """When the pool paused for sign-in: sign in and resume; False: the run ends."""
        if not self.pool.paused_for_auth or self.interrupts or self.sign_ins >= MAX_SIGN_INS:
            return False
        self.sign_ins += 1
        # Signing in may wait for the user: there Ctrl+C interrupts as usual.
        self.restore()
        try:
            return _resume_signed_in(self.pool, self.reauth)
        finally:
            self.restore = _handle_stop_signals(self.pool, self.on_signal)


def _handle_stop_signals(
    pool: PersistentWorkerPool, on_signal: Callable[[int], None]
) -> Callable[[], None]:
    """Ctrl+C and SIGTERM go to the pool (first: finish the POs in flight; then: abort)
    instead of raising KeyboardInterrupt wherever the main thread is, which could be in
    the middle of recording a result or printing under the dashboard. Python lets only
    the main thread set handlers; elsewhere the KeyboardInterrupt path below remains."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    return install_signal_handlers(pool, on_signal)


def _resume_signed_in(pool: PersistentWorkerPool, reauth: Callable[[], SessionData] | None) -> bool:
    """Sign in again and resume the paused pool; False when that is not possible."""
    try:
        if reauth is None:
            raise AuthRequiredError("no way to sign in again during this run")
        session = reauth()
    except AuthRequiredError as exc:
        logger.warning("%s The remaining POs stay pending.", exc.message)
        return False
    logger.info("signed in again; resuming")
    pool.resume(session)
    return True


def _run_event(event: PoolEvent) -> RunEvent:
    return RunEvent(
        event.kind.value, event.message, event.worker_id, event.po_number, event.data, event.time
    )


_WARN = frozenset(
    {
        EventKind.WORKER_RESTARTED,
        EventKind.WORKER_GAVE_UP,
        EventKind.WORKER_RETIRED,
        EventKind.PAUSED_FOR_AUTH,
        EventKind.POOL_FAILED,
    }
)
