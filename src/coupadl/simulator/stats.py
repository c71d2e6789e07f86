"""Request counters, so tests and benchmarks can see what the tool asked for."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Any

from coupadl.simulator.ratelimit import RateWindow

_GROUPS = ("pos", "requisitions", "files", "api")
_TOTALS = (
    "total", "pages", "assets", "logins", "errors_500", "errors_429", "sign_in_redirects",
    "stalled_files", "dropped_files", "api_calls", "api_tokens",
)  # fmt: skip
_FAULT_TOTALS = {
    "500": "errors_500", "429": "errors_429", "stall": "stalled_files", "drop": "dropped_files",
}  # fmt: skip
_TIMELINE_LENGTH = 100_000  # per list; plenty for a benchmark, bounded for a long demo


class Stats:
    """Counts per PO page id, requisition id and file id, plus a few totals.

    ``total`` is every request except ``/__sim__/*``; the per-id counts include
    requests that then failed on purpose (429/500). :meth:`timeline` keeps when each
    counted request and each fault happened (``time.time()``), so a test can check the
    order of events (e.g. that no PO page was asked for while a Retry-After ran).
    ``rate`` counts the requests the tenant-wide rate limit applies to, per second.
    A 429 from that limit is a "limited" fault in the timeline (group ``rate_limit``,
    id the path) and in ``rate``, not in ``errors_429`` (the ``rate_429`` knobs').
    The REST API's record requests count in group ``api`` (by path, without ``/api/``)
    and ``api_calls``, its file downloads in ``files``, tokens issued in ``api_tokens``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, Counter[str]] = {g: Counter() for g in _GROUPS}
        self._totals: Counter[str] = Counter()
        self._requests: deque[tuple[float, str, str]] = deque(maxlen=_TIMELINE_LENGTH)
        self._faults: deque[tuple[float, str, str, str]] = deque(maxlen=_TIMELINE_LENGTH)
        self.rate = RateWindow()

    def hit(self, group: str, key: str) -> None:
        with self._lock:
            self._groups[group][key] += 1
            self._requests.append((time.time(), group, key))

    def add(self, total: str) -> None:
        with self._lock:
            self._totals[total] += 1

    def fault(self, what: str, group: str, key: str) -> None:
        """A request failed on purpose: ``what`` is "500", "429", "stall", "drop" or
        "limited" (the rate limit's 429, counted in ``rate``)."""
        with self._lock:
            if what in _FAULT_TOTALS:
                self._totals[_FAULT_TOTALS[what]] += 1
            self._faults.append((time.time(), what, group, key))

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {t: self._totals[t] for t in _TOTALS}
            data.update({g: dict(sorted(c.items())) for g, c in self._groups.items()})
        data["rate"] = self.rate.snapshot()
        return data

    def timeline(self) -> dict[str, list[dict[str, Any]]]:
        """``requests``: every counted PO, requisition and file request; ``faults``:
        every 500, 429, stalled or dropped answer. Oldest first; times are ``time.time()``."""
        with self._lock:
            requests = list(self._requests)
            faults = list(self._faults)
        return {
            "requests": [{"t": t, "group": g, "id": k} for t, g, k in requests],
            "faults": [{"t": t, "fault": f, "group": g, "id": k} for t, f, g, k in faults],
        }

    def reset(self) -> None:
        with self._lock:
            for counter in self._groups.values():
                counter.clear()
            self._totals.clear()
            self._requests.clear()
            self._faults.clear()
        self.rate.reset()
