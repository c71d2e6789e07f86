"""The tenant-wide rate limit: one token bucket over every request, and per-second counts.

Coupa documents a limit of 25 requests/s with a burst of 20, answered over it with
HTTP 429 (coupa-facts.md). The ``rate_limit_rps`` and ``rate_limit_burst`` knobs give
the simulator one such bucket for the whole tenant, shared by all sessions: the
limit a pool of workers has to live with together. :class:`RateWindow` counts what
came in and what was refused, per second, so a benchmark can see the rate it reached.
Both cost O(1) per request and hold bounded memory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

WINDOW_SECONDS = 120  # how many past seconds /__sim__/stats reports


class TokenBucket:
    """``burst`` tokens, refilled at ``rps`` per second; a request takes one.

    The limits are read per request (they are live knobs); new limits start with a
    full bucket, so a test that sets them knows that exactly ``burst`` requests pass
    at once.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limits: tuple[float, int] | None = None
        self._tokens = 0.0
        self._last = 0.0

    def take(self, rps: float, burst: int) -> float:
        """0.0 when the request may pass (it used a token), else the seconds until a
        token is there. ``rps`` 0 turns the limit off."""
        with self._lock:
            if rps <= 0:
                self._limits = None
                return 0.0
            now = self._clock()
            if self._limits != (rps, burst):
                self._limits = (rps, burst)
                self._tokens, self._last = float(burst), now
            elapsed = max(0.0, now - self._last)
            self._tokens = min(float(burst), self._tokens + elapsed * rps)
            self._last = now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return 0.0
            return (1.0 - self._tokens) / rps


class RateWindow:
    """Requests, 429s from the bucket and all 429s: in total and for each of the last
    :data:`WINDOW_SECONDS` unix seconds (a ring of slots, one per second)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._slots: list[list[int]] = []  # [second, requests, limited, errors_429]
        self._totals = [0, 0, 0]
        self.reset()

    def arrived(self) -> int:
        """Count a request; its unix second, to pass to :meth:`answered_429`."""
        second = int(self._clock())
        with self._lock:
            slot = self._slots[second % WINDOW_SECONDS]
            if slot[0] != second:  # a slot last used WINDOW_SECONDS or more ago
                slot[:] = [second, 0, 0, 0]
            slot[1] += 1
            self._totals[0] += 1
        return second

    def answered_429(self, second: int, *, limited: bool) -> None:
        """The request that arrived in ``second`` got a 429 (``limited``: from the bucket)."""
        with self._lock:
            self._totals[2] += 1
            self._totals[1] += limited
            slot = self._slots[second % WINDOW_SECONDS]
            if slot[0] == second:  # else the slot has moved on to a newer second
                slot[3] += 1
                slot[2] += limited

    def snapshot(self) -> dict[str, Any]:
        now = int(self._clock())
        with self._lock:
            slots = [list(s) for s in self._slots if now - WINDOW_SECONDS < s[0] <= now]
            requests, limited, errors_429 = self._totals
        return {
            "window_seconds": WINDOW_SECONDS,
            "requests_total": requests,
            "limited_total": limited,
            "errors_429_total": errors_429,
            "per_second": [
                {"second": s, "requests": n, "limited": lim, "errors_429": e}
                for s, n, lim, e in sorted(slots)
            ],
        }

    def reset(self) -> None:
        with self._lock:
            self._slots = [[-1, 0, 0, 0] for _ in range(WINDOW_SECONDS)]
            self._totals = [0, 0, 0]
