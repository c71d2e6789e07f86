"""Latency and fault knobs, set at start and changed at run time over ``/__sim__/control``.

The random draws (500s, 429s) come from one RNG seeded from the data set's seed, so a
single-threaded client sees the same sequence on every run.
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from coupadl.simulator import broken


@dataclass
class Knobs:
    """Every knob, with its default. ``None`` turns an optional fault off."""

    page_latency: float = 0.0  # seconds of server think time per PO/requisition page
    file_bandwidth: int = 0  # bytes/s per file response; 0 = unlimited
    error_rate_500: float = 0.0  # probability a page or file request gets HTTP 500
    rate_429: float = 0.0  # probability of HTTP 429 with Retry-After
    retry_after: int = 2  # seconds, in the Retry-After header of a 429
    # Bursts: the next N requests in fault_scope fail for sure (before the rates are drawn),
    # so a test knows exactly how many failures it caused.
    burst_500: int = 0
    burst_429: int = 0
    fault_scope: str = "all"  # which requests 500s and 429s hit: all, pages or files
    stall_after_bytes: int | None = None  # file bodies stop here and hang
    stall_seconds: float = 60.0  # ...until the client leaves or this long, then drop
    stall_count: int | None = None  # how many file bodies stall (counts down); None = all
    drop_after_bytes: int | None = None  # file bodies are cut here (connection closed)
    drop_count: int | None = None  # how many file bodies are cut (counts down); None = all
    session_ttl: float = 7200.0  # seconds a session lives
    session_max_requests: int | None = None  # page requests per session; None = unlimited
    token_ttl: float = 86399.0  # seconds a REST API token lives (Coupa: 24 h, expires_in 86399)
    script_delay: float = 2.0  # seconds the late analytics scripts take to load
    expiration_check_interval: float = 5.0  # seconds between the page's session polls
    # SSO tenant: anonymous requests go to an identity provider on another host name that
    # signs in by itself this many seconds after its page loads (simulator/sso.py).
    # None: the native /sessions/new form, as before.
    sso_after: float | None = None
    # Broken file responses by file id ("empty", "html", "short", "long", "redirect"),
    # and files served from another host name: see simulator/broken.py.
    file_faults: dict[str, str] | None = None
    file_host: str | None = None  # every file through a signed 302 to this host name
    redirect_host: str = "elsewhere.localhost"  # where "redirect" file faults point
    # Tenant-wide rate limit: one token bucket over every request of every session
    # (simulator/ratelimit.py); over it, HTTP 429 with Retry-After. 0 = off.
    rate_limit_rps: float = 0.0
    rate_limit_burst: int = 20  # tokens the bucket holds (Coupa documents 25/s, burst 20)
    # Share of the POs with attachments whose page lists them only through an inline
    # script (data/script_only.py): no links in the HTML, a browser still sees them all.
    script_attachments_share: float = 0.0
    # Share of the POs with header files whose page lists all but the last of them in
    # its HTML (the HTML still looks complete) and adds the last one by script
    # (data/script_only.py); a script-only page (the share above) stays one.
    script_extra_share: float = 0.0
    # A tenant that binds sessions to the browser (device-bound sessions, a bot wall):
    # a session cookie counts only on requests a browser makes (Sec-Fetch-Mode header).
    browser_only_sessions: bool = False


KNOB_NAMES = tuple(f.name for f in dataclasses.fields(Knobs))
_PROBABILITIES = frozenset(
    {"error_rate_500", "rate_429", "script_attachments_share", "script_extra_share"}
)
FAULT_SCOPES = ("all", "pages", "files")
_CHOICES = {"fault_scope": FAULT_SCOPES}
_VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "file_faults": broken.check_file_faults,
    "file_host": broken.check_host,
    "redirect_host": broken.check_host,
    "rate_limit_burst": lambda value: _at_least_one("rate_limit_burst", value),
}


def _at_least_one(name: str, value: Any) -> int:
    """A whole number of at least 1 (a bucket of 0 tokens would refuse everything)."""
    number = math.nan if isinstance(value, bool) else float(value)
    if not number.is_integer() or number < 1:
        raise ValueError(f"{name} must be a whole number of at least 1")
    return int(number)


def _coerce(name: str, value: Any) -> Any:
    """``value`` as the knob's type; raises ValueError when it does not fit."""
    field = next(f for f in dataclasses.fields(Knobs) if f.name == name)
    optional = "None" in str(field.type)
    if value is None:
        if not optional:
            raise ValueError(f"{name} cannot be null")
        return None
    if name in _VALIDATORS:
        return _VALIDATORS[name](value)
    if str(field.type) == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        return value
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise ValueError(f"{name} must be one of {list(_CHOICES[name])}")
        return value
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a number")
    number = int(value) if str(field.type).startswith("int") else float(value)
    if number < 0 or not math.isfinite(number):
        raise ValueError(f"{name} must be a finite number, not negative")
    if name in _PROBABILITIES and number > 1:
        raise ValueError(f"{name} is a share between 0 and 1")
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

    def draw(self, kind: str = "pages") -> int | None:
        """429 or 500 when this request (``kind``: pages or files) should fail, else None."""
        with self._lock:
            knobs = self._knobs
            if knobs.fault_scope not in ("all", kind):
                return None
            for burst, code in (("burst_429", 429), ("burst_500", 500)):
                if getattr(knobs, burst) > 0:
                    setattr(knobs, burst, getattr(knobs, burst) - 1)
                    return code
            if knobs.rate_429 and self._rng.random() < knobs.rate_429:
                return 429
            if knobs.error_rate_500 and self._rng.random() < knobs.error_rate_500:
                return 500
        return None

    def file_cut(self, size: int) -> tuple[int | None, int | None]:
        """``(stall_after, drop_after)`` for a file body of ``size`` bytes. Only a body
        the fault really cuts uses up one of ``stall_count``/``drop_count``."""
        with self._lock:
            knobs = self._knobs
            # The fault that cuts first applies (a stall on a tie, as FaultyBody does).
            if _limit(knobs.drop_after_bytes) < _limit(knobs.stall_after_bytes):
                return None, _take(knobs, "drop_after_bytes", "drop_count", size)
            stall = _take(knobs, "stall_after_bytes", "stall_count", size)
            if stall is not None:
                return stall, None
            return None, _take(knobs, "drop_after_bytes", "drop_count", size)


def _limit(value: int | None) -> float:
    return math.inf if value is None else value


def _take(knobs: Knobs, limit: str, count: str, size: int) -> int | None:
    """The knob ``limit`` if it cuts a body of ``size`` bytes; one use less of ``count``."""
    value: int | None = getattr(knobs, limit)
    left: int | None = getattr(knobs, count)
    if value is None or value >= size or left == 0:
        return None
    if left is not None:
        setattr(knobs, count, left - 1)
    return value
