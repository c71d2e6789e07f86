"""Latency and fault knobs, set at start and changed at run time over ``/__sim__/control``.

The random draws (500s, 429s) come from one RNG seeded from the data set's seed, so a
single-threaded client sees the same sequence on every run.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass
class Knobs:
    """Every knob, with its default. ``None`` turns an optional fault off."""

    page_latency: float = 0.0  # seconds of server think time per PO/requisition page
    file_bandwidth: int = 0  # bytes/s per file response; 0 = unlimited
    error_rate_500: float = 0.0  # probability a page or file request gets HTTP 500
    rate_429: float = 0.0  # probability of HTTP 429 with Retry-After
    retry_after: int = 2  # seconds, in the Retry-After header of a 429
    stall_after_bytes: int | None = None  # file bodies stop here and hang
    stall_seconds: float = 60.0  # ...until the client leaves or this long, then drop
    drop_after_bytes: int | None = None  # file bodies are cut here (connection closed)
    session_ttl: float = 7200.0  # seconds a session lives
    session_max_requests: int | None = None  # page requests per session; None = unlimited
    script_delay: float = 2.0  # seconds the late analytics scripts take to load
    expiration_check_interval: float = 5.0  # seconds between the page's session polls


KNOB_NAMES = tuple(f.name for f in dataclasses.fields(Knobs))
_PROBABILITIES = frozenset({"error_rate_500", "rate_429"})


def _coerce(name: str, value: Any) -> Any:
    """``value`` as the knob's type; raises ValueError when it does not fit."""
    field = next(f for f in dataclasses.fields(Knobs) if f.name == name)
    optional = "None" in str(field.type)
    if value is None:
        if not optional:
            raise ValueError(f"{name} cannot be null")
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number")
    number = int(value) if str(field.type).startswith("int") else float(value)
    if number < 0:
        raise ValueError(f"{name} must not be negative")
    if name in _PROBABILITIES and number > 1:
        raise ValueError(f"{name} is a probability between 0 and 1")
    return number


def make_knobs(**values: Any) -> Knobs:
    """Knobs from keyword values (validated like a control request)."""
    knobs = Knobs()
    for name, value in check_changes(values).items():
        setattr(knobs, name, value)
    return knobs


def check_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(changes) - set(KNOB_NAMES))
    if unknown:
        raise ValueError(f"unknown knobs {unknown}; known: {list(KNOB_NAMES)}")
    try:
        return {name: _coerce(name, value) for name, value in changes.items()}
    except (TypeError, ValueError) as exc:
        raise ValueError(str(exc)) from exc


class Faults:
    """The live knobs plus the seeded RNG that decides which requests fail."""

    def __init__(self, knobs: Knobs | None, seed: int) -> None:
        self._knobs = dataclasses.replace(knobs) if knobs else Knobs()
        self._rng = random.Random(f"coupa-sim-faults:{seed}")
        self._lock = threading.Lock()

    @property
    def knobs(self) -> Knobs:
        """A copy: read a consistent set of values once per request."""
        with self._lock:
            return dataclasses.replace(self._knobs)

    def snapshot(self) -> dict[str, Any]:
        return dataclasses.asdict(self.knobs)

    def update(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply validated ``changes`` (all or nothing); the new knobs."""
        checked = check_changes(changes)
        with self._lock:
            for name, value in checked.items():
                setattr(self._knobs, name, value)
        return self.snapshot()

    def draw(self) -> int | None:
        """429 or 500 when this request should fail, else None."""
        knobs = self.knobs
        with self._lock:
            if knobs.rate_429 and self._rng.random() < knobs.rate_429:
                return 429
            if knobs.error_rate_500 and self._rng.random() < knobs.error_rate_500:
                return 500
        return None
