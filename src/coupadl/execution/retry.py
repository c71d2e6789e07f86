"""What happens after one attempt of a PO: final, retry later, or pause for sign-in.

Decided here once for every mode: the pool's supervisor and the one-browser path both
ask :func:`judge`.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from typing import Protocol

from coupadl.execution.ratelimit import RateLimitGate
from coupadl.models import POResult, Status

JITTER = 0.2  # ± 20 %: spreads retries of POs that failed together (e.g. a 429 burst)
# Signing in again that many times with no PO finishing in between: a fresh session that
# is refused again at once will not get better by signing in more.
MAX_SIGN_INS = 2


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


class RetrySettings(Protocol):
    max_retries: int
    retry_backoff: float
    retry_backoff_max: float


@dataclass(frozen=True)
class Verdict:
    """What one ended attempt means for the run, in every mode (pool or one browser)."""

    decision: Decision
    delay: float = 0.0  # RETRY: seconds before the next attempt (at least the 429 pause)
    pause_began: float | None = None  # this attempt's 429 began a run-wide pause of N s


def judge(
    result: POResult, attempts_made: int, settings: RetrySettings, gate: RateLimitGate
) -> Verdict:
    """Decide after the ``attempts_made``-th attempt of a PO ended with ``result``: a 429
    closes ``gate`` (every worker's "not before" time), then final, retry (after a
    backoff no shorter than the pause) or pause for sign-in."""
    began = None
    if result.retry_after is not None and gate.close_for(result.retry_after):
        began = result.retry_after
    decision = decide(result, attempts_made, settings.max_retries)
    delay = 0.0
    if decision is Decision.RETRY:
        backoff = backoff_delay(attempts_made, settings.retry_backoff, settings.retry_backoff_max)
        delay = max(backoff, gate.remaining())
    return Verdict(decision, delay, began)


def rate_limit_message(po_number: str, seconds: float) -> str:
    return (
        f"Coupa answered 429 Too Many Requests (PO {po_number}): "
        f"no new PO starts for {seconds:.0f} s"
    )
