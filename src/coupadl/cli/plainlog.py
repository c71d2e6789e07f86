"""Progress without a terminal (CI, a scheduled task, output piped to a file).

Each finished PO already gets one log line from the runner ("PO16928033 COMPLETED
(3/3 files)"); this adds a summary line every ``status_interval`` seconds and one at the
end: done/total, statuses, rate and ETA. Lines go through ``logging`` (logger
``coupadl.execution.progress``), so ``--quiet`` silences them and ``--log-file`` keeps them.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from coupadl.execution.progress import Phase, RunListener, RunProgress, RunSnapshot

log = logging.getLogger("coupadl.execution.progress")


def format_duration(seconds: float | None) -> str:
    """``1:02:03``, ``2:03``; "?" when unknown."""
    if seconds is None:
        return "?"
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_counts(by_status: dict[str, int]) -> str:
    return ", ".join(f"{status} {n}" for status, n in sorted(by_status.items()) if n) or "none"


def summary_line(snapshot: RunSnapshot) -> str:
    """One line a person reads in a CI log."""
    parts = [
        f"{snapshot.done}/{snapshot.total} POs done ({format_counts(snapshot.by_status)})",
        f"{snapshot.remaining} left",
        f"{snapshot.rate_per_minute:.1f} POs/min",
        f"ETA {format_duration(snapshot.eta_seconds) if snapshot.remaining else '0:00'}",
        f"elapsed {format_duration(snapshot.elapsed)}",
    ]
    if snapshot.skipped:
        parts.append(f"{snapshot.skipped} finished earlier")
    if snapshot.paused_for_auth:
        parts.append("paused: Coupa asks to sign in")
    if snapshot.phase in (Phase.FINISHING, Phase.ABORTING, Phase.INTERRUPTED):
        parts.append(snapshot.phase.value)
    return "progress: " + ", ".join(parts)


class PlainProgress(RunListener):
    """Logs a summary line every ``interval`` seconds while the run works, and at its end."""

    def __init__(self, monitor: RunProgress, interval: float) -> None:
        self.monitor = monitor
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        monitor.add_listener(self)

    def run_started(self, snapshot: RunSnapshot) -> None:
        if self._thread is None and snapshot.total:
            self._thread = threading.Thread(
                target=self._loop, name="coupadl-progress-lines", daemon=True
            )
            self._thread.start()

    def run_finished(self, snapshot: RunSnapshot, exit_code: int) -> None:
        self._stop.set()
        if snapshot.total:
            log.info("%s", summary_line(snapshot))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            snapshot = self.monitor.snapshot()
            if snapshot.phase in (Phase.DONE, Phase.INTERRUPTED):
                return
            log.info("%s", summary_line(snapshot))

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
