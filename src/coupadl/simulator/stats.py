"""Request counters, so tests and benchmarks can see what the tool asked for."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

_GROUPS = ("pos", "requisitions", "files")
_TOTALS = ("total", "pages", "assets", "logins", "errors_500", "errors_429", "sign_in_redirects")


class Stats:
    """Counts per PO page id, requisition id and file id, plus a few totals.

    ``total`` is every request except ``/__sim__/*``; the per-id counts include
    requests that then failed on purpose (429/500).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._groups: dict[str, Counter[str]] = {g: Counter() for g in _GROUPS}
        self._totals: Counter[str] = Counter()

    def hit(self, group: str, key: str) -> None:
        with self._lock:
            self._groups[group][key] += 1

    def add(self, total: str) -> None:
        with self._lock:
            self._totals[total] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            data: dict[str, Any] = {t: self._totals[t] for t in _TOTALS}
            data.update({g: dict(sorted(c.items())) for g, c in self._groups.items()})
        return data

    def reset(self) -> None:
        with self._lock:
            for counter in self._groups.values():
                counter.clear()
            self._totals.clear()
