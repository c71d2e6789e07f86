"""The http engine's running totals, for the live view: requests sent, 429 answers,
bytes of file bodies received. One set per process (every handler of a run shares it);
``totals`` is what :class:`coupadl.execution.traffic.TrafficMeter` reads."""

from __future__ import annotations

import threading

from coupadl.execution.traffic import TrafficTotals


class Counters:
    """Thread-safe running totals."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests = self._limited = self._bytes = 0

    def answered(self, status: int) -> None:
        with self._lock:
            self._requests += 1
            self._limited += status == 429

    def received(self, count: int) -> None:
        with self._lock:
            self._bytes += count

    def totals(self) -> TrafficTotals:
        with self._lock:
            return TrafficTotals(self._requests, self._limited, self._bytes)


COUNTERS = Counters()
