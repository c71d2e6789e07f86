"""Ctrl+C / SIGTERM for a pooled run: the first signal stops gracefully (POs in flight
may finish), the second aborts (kill everything now). Either way no browser is left."""

from __future__ import annotations

import logging
import queue
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from coupadl.interrupts import started_ignored, stop_signals
from coupadl.pool.pool import PersistentWorkerPool

logger = logging.getLogger(__name__)


def install_signal_handlers(
    pool: PersistentWorkerPool, on_signal: Callable[[int], None] | None = None
) -> Callable[[], None]:
    """Route SIGINT/SIGTERM (and SIGBREAK on Windows) to the pool, except those this
    process was started with ignored; returns a function that puts the previous handlers
    back. Call from the main thread (Python's rule).
    ``on_signal(count)`` is told of each signal (1: graceful stop, 2+: abort).

    The handler itself only counts and hands over to a thread started here: a signal
    handler runs between two bytecodes of the main thread, which may hold the pool's
    lock, or be half-way through printing a line under the live dashboard.
    ``SimpleQueue.put`` is safe there (reentrant); logging or starting a thread is not."""
    count = 0
    previous: dict[signal.Signals, Any] = {}
    signals: queue.SimpleQueue[tuple[int, str] | None] = queue.SimpleQueue()

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        signals.put((count, signal.Signals(signum).name))

    def reactor() -> None:
        while (item := signals.get()) is not None:
            try:
                react(*item)
            except Exception:
                logger.exception("handling a stop signal failed")

    def react(count: int, name: str) -> None:
        if on_signal is not None:
            on_signal(count)
        if count == 1:
            logger.warning(
                "%s: stopping after the POs in flight (again to abort now); "
                "re-run the same command to resume",
                name,
            )
            pool.request_shutdown(graceful=True)
        else:
            logger.warning("%s again: aborting; closing every browser now", name)
            pool.request_shutdown(graceful=False)

    threading.Thread(target=reactor, name="coupadl-signals", daemon=True).start()
    for sig in stop_signals():
        if not started_ignored(sig):
            previous[sig] = signal.signal(sig, handle)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)
        signals.put(None)  # the reactor ends once the signals so far are handled

    return restore
