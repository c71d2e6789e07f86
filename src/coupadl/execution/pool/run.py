"""A whole run's POs through the pool, for ``coupadl.runs.batch.run_batch``.

The runner owns the spreadsheet, the state DB and the report; this adapter owns the pool:
it starts it on the signed-in base profile, feeds it every task, hands each final result
to ``record`` as it arrives (on the caller's thread), notes pool events in the state DB,
and decides what Ctrl+C means (first: let POs in flight finish; second: abort).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from coupadl.errors import AuthRequiredError
from coupadl.execution.interrupts import install_signal_handlers
from coupadl.execution.pool.config import PoolConfig
from coupadl.execution.pool.events import EventKind, PoolEvent
from coupadl.execution.pool.pool import PersistentWorkerPool
from coupadl.execution.progress import RunEvent, RunProgress
from coupadl.execution.status import BatchResult
from coupadl.models import POResult, POTask
from coupadl.settings import Settings

logger = logging.getLogger(__name__)

# What the runner's state DB calls these events (it counts "retry" and "restart").
EVENT_NAMES = {
    EventKind.RETRY_SCHEDULED: "retry",
    EventKind.WORKER_RESTARTED: "restart",
}
# Signing in again that many times without a single PO finishing in between: give up.
MAX_SIGN_INS = 2
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
    auth_stopped: bool  # stopped because Coupa asked to sign in and nobody could
    startup_seconds: float | None  # start() to the first ready worker
    batch: BatchResult
    auth_pos: list[str]  # POs that met a sign-in page (the pool requeued them)


def run_pooled(
    tasks: Sequence[POTask],
    settings: Settings,
    workers: int,
    record: Callable[[POResult], None],
    state: EventStore,
    base_profile: Path,
    *,
    reauth: Callable[[], list[dict[str, Any]]] | None = None,
    interactive: bool = False,
    progress: RunProgress | None = None,
) -> PooledRun:
    """Process ``tasks`` with ``workers`` browsers, each on a clone of ``base_profile``.

    When Coupa asks to sign in, the pool pauses; ``reauth`` (the browser engine's is
    :func:`coupadl.engine.browser.login.reauthenticator`) may sign in again and return
    fresh cookies, and the pool resumes; if it raises :class:`AuthRequiredError` the run
    stops with the rest pending. Raises BrowserError when no browser can start (the caller may fall
    back to one browser), and KeyboardInterrupt after a Ctrl+C once the pool is down
    and the pending POs are known to the state (they were marked pending before).
    ``progress`` gets the pool's events, its per-worker status while it runs, and the
    interrupts."""
    auth_pos: list[str] = []

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

    pool = PersistentWorkerPool(
        PoolConfig(
            settings=settings,
            workers=workers,
            base_profile=base_profile,
            on_event=on_event,
            interactive=interactive,
        )
    )
    if progress is not None:
        progress.watch_pool(pool.get_status)  # the workers show as "starting" from now on
    try:
        pool.start()
    except BaseException:
        if progress is not None:
            progress.watch_pool(None)
        raise
    interrupts = 0
    sign_ins = 0  # in a row, with no result in between

    def on_signal(count: int) -> None:  # on the signal thread, see coupadl/execution/interrupts.py
        nonlocal interrupts
        interrupts = count
        if progress is not None:
            progress.interrupted(count)

    restore = _handle_stop_signals(pool, on_signal)
    try:
        for task in tasks:
            pool.submit_task(task)
        while True:
            try:
                for result in pool.iter_results(timeout=WAKE_EVERY):
                    record(result)
                    sign_ins = 0
            except TimeoutError:
                continue  # nothing finished this second; look again
            except KeyboardInterrupt:
                interrupts += 1
                if progress is not None:
                    progress.interrupted(interrupts)
                if interrupts == 1:
                    logger.warning(
                        "interrupted: finishing the POs in flight (Ctrl+C again to abort)"
                    )
                    pool.request_shutdown(graceful=True)
                else:
                    logger.warning("interrupted again: closing every browser now")
                    pool.request_shutdown(graceful=False)
                continue
            if pool.paused_for_auth and not interrupts and sign_ins < MAX_SIGN_INS:
                sign_ins += 1
                # Signing in may wait for the user: there Ctrl+C interrupts as usual.
                restore()
                try:
                    signed_in = _signed_in_again(pool, reauth)
                finally:
                    restore = _handle_stop_signals(pool, on_signal)
                if signed_in:
                    continue
            break
        pool.shutdown(graceful=True)
    except BaseException:
        pool.shutdown(graceful=False)
        raise
    finally:
        restore()
        if progress is not None:
            progress.watch_pool(None)
    pending = [task.po_number for task in pool.unfinished_tasks()]
    if interrupts:
        raise KeyboardInterrupt
    return PooledRun(
        pending=pending,
        auth_stopped=pool.paused_for_auth,
        startup_seconds=pool.startup_seconds,
        batch=pool.batch_result(),
        auth_pos=auth_pos,
    )


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


def _signed_in_again(
    pool: PersistentWorkerPool, reauth: Callable[[], list[dict[str, Any]]] | None
) -> bool:
    """Sign in again and resume the paused pool; False when that is not possible."""
    try:
        if reauth is None:
            raise AuthRequiredError("no way to sign in again during this run")
        cookies = reauth()
    except AuthRequiredError as exc:
        logger.warning("%s The remaining POs stay pending.", exc.message)
        return False
    logger.info("signed in again (%d cookies); resuming", len(cookies))
    pool.resume(cookies)
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
