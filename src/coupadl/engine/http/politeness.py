"""How fast the http engine may ask Coupa: one token bucket and one "not before" time,
shared by every request of the process (pages, file bodies, redirect hops, session
checks), whatever handler thread sends it.

The bucket holds ``rate_limit_burst`` tokens and refills at ``rate_limit_rps`` per
second (0: no limit). A request that finds it empty reserves the next token and sleeps
until it is due, so waiting requests go in the order they asked and the tenant never
sees more than the limit. After an HTTP 429 the gate closes for the Retry-After, and
every request waits until it has passed (:class:`SharedGate`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from coupadl.execution.ratelimit import RateLimitGate

Clock = Callable[[], float]
Sleep = Callable[[float], object]


class TokenBucket:
    """A thread-safe token bucket; ``rate`` 0 turns it off."""

    def __init__(self, rate: float, burst: int, clock: Clock = time.monotonic) -> None:
        if rate < 0 or burst < 1:
            raise ValueError(f"a token bucket needs rate >= 0 and burst >= 1, not {rate}, {burst}")
        self.rate, self.burst = float(rate), int(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(burst)  # may go below 0: tokens reserved by waiting requests
        self._stamp = clock()

    def reserve(self) -> float:
        """Take the next token; seconds to wait before using it (0: now)."""
        if self.rate == 0:
            return 0.0
        with self._lock:
            now = self._clock()
            elapsed = max(0.0, now - self._stamp)
            self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class SharedGate:
    """The "not before" time after a 429, for every thread: a locked RateLimitGate."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._gate = RateLimitGate(clock)
        self._lock = threading.Lock()

    def close_for(self, seconds: float) -> bool:
        """No request before ``seconds`` from now (a running pause is only extended).
        True when this begins a pause."""
        with self._lock:
            return self._gate.close_for(seconds)

    def remaining(self) -> float:
        with self._lock:
            return self._gate.remaining()


class Politeness:
    """Every request waits its turn here: first the gate, then a token."""

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Clock = time.monotonic,
        sleep: Sleep | None = None,
    ) -> None:
        self.bucket = TokenBucket(rate, burst, clock)
        self.gate = SharedGate(clock)
        self._stopping = threading.Event()
        # Sleeping on the event lets close() wake every waiting request at once.
        self._sleep: Sleep = sleep if sleep is not None else self._stopping.wait

    def wait_turn(self) -> None:
        """Block until this request may go (returns at once after :meth:`stop`)."""
        while (pause := self.gate.remaining()) > 0 and not self._stopping.is_set():
            self._sleep(pause)
        wait = self.bucket.reserve()
        if wait > 0 and not self._stopping.is_set():
            self._sleep(wait)

    def stop(self) -> None:
        """Wake every waiting request: the process is closing its client."""
        self._stopping.set()
