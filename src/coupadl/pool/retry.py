"""What happens after one attempt of a PO: final, retry later, or pause for sign-in."""

from __future__ import annotations

import enum
import random

from coupadl.models import POResult, Status

JITTER = 0.2  # ± 20 %: spreads retries of POs that failed together (e.g. a 429 burst)


class Decision(enum.Enum):
    FINAL = "final"
    RETRY = "retry"
    PAUSE_FOR_AUTH = "pause_for_auth"


def backoff_delay(
    attempt: int, base: float, cap: float, jitter: float = JITTER, rng: random.Random | None = None
) -> float:
    """Delay before retry number ``attempt`` (1-based): ``base * 2**(attempt-1)`` capped at
    ``cap``, times a random factor in ``[1 - jitter, 1 + jitter]``, never above ``cap``."""
    attempt = max(1, attempt)
    # Cap the exponent before it can overflow a float for absurd attempt numbers.
    raw = base * 2.0 ** min(attempt - 1, 60)
    delay = min(cap, raw)
    factor = 1.0 + (rng or random).uniform(-jitter, jitter)
    return max(0.0, min(cap, delay * factor))


def decide(result: POResult, attempts_made: int, max_retries: int) -> Decision:
    """Decide about a PO after its ``attempts_made``-th attempt ended with ``result``."""
    if result.status is Status.AUTH_REQUIRED:
        # Not the PO's fault: the whole session expired. The attempt does not count.
        return Decision.PAUSE_FOR_AUTH
    if result.status is Status.COMPLETED or result.status.is_deterministic:
        return Decision.FINAL
    if result.transient and attempts_made <= max_retries:
        return Decision.RETRY
    return Decision.FINAL
