"""Ctrl+C / SIGTERM for a pooled run: the first signal stops gracefully (POs in flight
may finish), the second aborts (kill everything now). Either way no browser is left."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

from coupadl.pool.pool import PersistentWorkerPool

logger = logging.getLogger(__name__)


def _signals() -> list[signal.Signals]:
    names = ["SIGINT", "SIGTERM", "SIGBREAK"]  # SIGBREAK: Ctrl+Break on Windows
    return [getattr(signal, name) for name in names if hasattr(signal, name)]


def install_signal_handlers(pool: PersistentWorkerPool) -> Callable[[], None]:
    """Route SIGINT/SIGTERM (and SIGBREAK on Windows) to the pool; returns a function that
    puts the previous handlers back. Call from the main thread (Python's rule).

    The handler itself only starts the shutdown on a background thread: a signal handler
    runs between two bytecodes of the main thread, which may hold the pool's lock."""
    count = 0
    previous: dict[signal.Signals, Any] = {}

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal count
        count += 1
        name = signal.Signals(signum).name
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

    for sig in _signals():
        previous[sig] = signal.signal(sig, handle)

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore
