"""After an HTTP 429 the whole run waits: one shared "not before" time for every browser.

Coupa answers too many requests with 429 Too Many Requests. Retrying only the PO that
met it would let the other workers carry on hammering the tenant; instead no new PO
starts anywhere until the wait has passed. POs already on their way finish what they
are doing. The pool's supervisor and the sequential runner each hold one
:class:`RateLimitGate` and look at it before they start a PO.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def pause_seconds(retry_after: float | None, default: float, cap: float) -> float:
    """How long to pause after a 429 page that asked for ``retry_after`` seconds.

    ``None`` (the page named no wait) gives ``default``; nothing is longer than ``cap``,
    so a nonsensical Retry-After cannot stall a run for hours.
    """
    wanted = default if retry_after is None else retry_after
    return min(max(0.0, wanted), cap)


class RateLimitGate:
    """A "not before" time that only moves forward. Not thread-safe: its owner locks."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0

    def close_for(self, seconds: float) -> bool:
        """Let nothing new start for ``seconds`` from now (a running pause is extended,
        never shortened). True when this begins a pause, False when one was running."""
        now = self._clock()
        began = now >= self._until
        self._until = max(self._until, now + max(0.0, seconds))
        return began

    def remaining(self) -> float:
        """Seconds until new work may start; 0 when it may start now."""
        return max(0.0, self._until - self._clock())

    def is_open(self) -> bool:
        return self.remaining() == 0.0
