"""What a run asks of the tenant, as rates for the live view: requests per second against
the limit, 429 answers, bytes per second, and how many POs may be in flight.

An engine that counts its requests (the http engine: ``engine/http/traffic.py``) hands
a function giving its running totals; :class:`TrafficMeter` turns two readings a few
seconds apart into rates. Plain arithmetic over readings and a clock, tested without a
server.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 5.0  # rates over the last five seconds: steady, yet quick to follow


@dataclass(frozen=True)
class TrafficTotals:
    """Running totals since the engine started counting."""

    requests: int = 0
    limited: int = 0  # answered 429 Too Many Requests
    bytes: int = 0  # of file bodies received


@dataclass(frozen=True)
class Traffic:
    """The rates the dashboard shows."""

    requests_per_second: float
    limit_rps: float  # 0: no limit
    responses_429: int  # in the whole run
    bytes_per_second: float
    in_flight_limit: int | None  # POs that may be in flight now; None: not limited this way


class TrafficMeter:
    """Rates from an engine's running totals. Thread-safe; each :meth:`sample` keeps a
    reading, so rates are over the readings of the last ``WINDOW_SECONDS``."""

    def __init__(
        self,
        totals: Callable[[], TrafficTotals],
        limit_rps: float,
        in_flight_limit: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._totals, self._limit_rps = totals, limit_rps
        self._in_flight, self._clock = in_flight_limit, clock
        self._lock = threading.Lock()
        self._first = totals()
        self._readings: deque[tuple[float, TrafficTotals]] = deque([(clock(), self._first)])

    def sample(self) -> Traffic:
        now, totals = self._clock(), self._totals()
        with self._lock:
            self._readings.append((now, totals))
            while len(self._readings) > 2 and now - self._readings[1][0] >= WINDOW_SECONDS:
                self._readings.popleft()
            then, before = self._readings[0]
        seconds = now - then
        if seconds > 0:
            rps = (totals.requests - before.requests) / seconds
            bps = (totals.bytes - before.bytes) / seconds
        else:
            rps = bps = 0.0
        return Traffic(
            requests_per_second=rps,
            limit_rps=self._limit_rps,
            responses_429=totals.limited - self._first.limited,
            bytes_per_second=bps,
            in_flight_limit=self._in_flight() if self._in_flight is not None else None,
        )
