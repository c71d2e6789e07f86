"""How many POs are in flight at once: a fixed number, or adapted as the run goes.

``--concurrency auto`` is additive increase, multiplicative decrease, the rule TCP
uses for its window: every ``window`` seconds the run's throughput is compared with the
window before. While it rose and Coupa answered no 429 and no 5xx, one more PO may be in
flight; a 429 or 5xx halves the number at once (the tenant is telling us to slow down);
otherwise it stays. Plain logic over numbers and a clock, so it is tested without a
server; the threaded executor feeds it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

AUTO_START = 4
WINDOW_SECONDS = 5.0
RISE = 1.05  # throughput must beat the last window by 5 % to count as rising


@dataclass(frozen=True)
class LimitChange:
    """The limit from ``at`` (seconds since the run began) on, and why."""

    at: float
    limit: int
    reason: str


class ConcurrencyLimit:
    """The number of POs that may be in flight. Thread-safe."""

    def __init__(
        self,
        start: int,
        cap: int,
        *,
        adaptive: bool,
        halve_on_429: bool = True,
        window: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.cap = max(1, cap)
        self.adaptive = adaptive
        # With a client-side rate limit the token bucket sets the pace and a 429 pauses
        # every request anyway: fewer POs in flight would only leave the bucket unused
        # (the REST API engine kept 88 % of a 25/s limit halving, 100 % not).
        self.halve_on_429 = halve_on_429
        self._window, self._clock = window, clock
        self._lock = threading.Lock()
        self._limit = max(1, min(start, self.cap))
        self._began = self._window_start = clock()
        self._done = 0  # POs finished in the current window
        self._last_rate: float | None = None
        self._throttled = False  # a 429 or 5xx since the limit last changed
        self.history: list[LimitChange] = [LimitChange(0.0, self._limit, "start")]

    @property
    def value(self) -> int:
        with self._lock:
            return self._limit

    def finished(self) -> None:
        """One PO attempt ended without a sign of overload."""
        with self._lock:
            self._done += 1
            self._maybe_grow()

    def throttled(self, why: str, *, rate_limited: bool = False) -> None:
        """Coupa answered 429 (``rate_limited``) or 5xx: halve at once (once per window;
        a 429 only when ``halve_on_429``)."""
        with self._lock:
            if not self.adaptive or self._throttled or (rate_limited and not self.halve_on_429):
                return
            self._throttled = True
            self._set(max(1, self._limit // 2), why)
            self._last_rate = None  # the next window's rate is the new reference
            self._restart_window()

    def _maybe_grow(self) -> None:
        now = self._clock()
        elapsed = now - self._window_start
        if not self.adaptive or elapsed < self._window:
            return
        rate = self._done / elapsed
        rising = self._last_rate is None or rate >= self._last_rate * RISE
        if rising and self._limit < self.cap:
            self._set(self._limit + 1, f"throughput {rate * 60:.0f} POs/min, rising")
        self._last_rate = rate
        self._throttled = False
        self._restart_window()

    def _restart_window(self) -> None:
        self._window_start, self._done = self._clock(), 0

    def _set(self, limit: int, reason: str) -> None:
        self._limit = limit
        self.history.append(LimitChange(round(self._clock() - self._began, 3), limit, reason))


def limit_for(setting: int | str, cap: int, *, halve_on_429: bool = True) -> ConcurrencyLimit:
    """The limit a ``concurrency`` setting asks for: a number, or ``"auto"``."""
    if setting == "auto":
        return ConcurrencyLimit(AUTO_START, cap, adaptive=True, halve_on_429=halve_on_429)
    fixed = int(setting)
    return ConcurrencyLimit(fixed, fixed, adaptive=False)
