"""Rate-limits a task's progress reports on their way from a worker to the pool.

A handler reports stages ("navigating", "downloading 2 of 3", ...), never bytes; still,
a PO with many small files would send a burst of messages the dashboard cannot show
anyway. At most one report goes out per ``min_interval``; the latest one held back is
sent by :meth:`ProgressThrottle.flush`, which the worker's heartbeat thread calls, so the
pool sees the current stage within a heartbeat. Every report also tells the pool that the
task moves, and a report repeated as a keep-alive still goes out once per interval.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

MIN_INTERVAL = 0.25  # seconds; the dashboard refreshes about four times a second


class ProgressThrottle:
    """A ``progress(text)`` callable for one task that forwards to ``send``."""

    def __init__(
        self,
        send: Callable[[str], object],
        min_interval: float = MIN_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._min_interval = min_interval
        self._clock = clock
        # One lock around sending too, so a flush from the heartbeat thread can never
        # deliver an older stage after a newer one.
        self._lock = threading.Lock()
        self._last_sent = -math.inf
        self._pending: str | None = None
        self._closed = False

    def __call__(self, text: str) -> None:
        with self._lock:
            if self._closed:
                return
            now = self._clock()
            if now - self._last_sent < self._min_interval:
                self._pending = str(text)
                return
            self._pending = None
            self._last_sent = now
            self._send(str(text))

    def flush(self) -> None:
        """Send the report held back, if its interval has passed."""
        with self._lock:
            if self._closed or self._pending is None:
                return
            now = self._clock()
            if now - self._last_sent < self._min_interval:
                return
            text, self._pending = self._pending, None
            self._last_sent = now
            self._send(text)

    def close(self) -> None:
        """The task is over: nothing more goes out."""
        with self._lock:
            self._closed = True
            self._pending = None
