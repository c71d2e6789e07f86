"""A live view of a run, for whoever shows it: the terminal dashboard, the plain
progress lines, the JSON log, or a program that uses coupadl as a library.

``run_batch(..., progress=RunProgress())`` feeds it. Readers either poll
:meth:`RunProgress.snapshot` (cheap: counters under a lock plus the pool's own status
snapshot; no process is inspected) or register a :class:`RunListener`, which is told of
each PO result and notable event as it happens, on the thread that produced it.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from coupadl.errors import ExitCode
from coupadl.execution.traffic import Traffic, TrafficMeter
from coupadl.models import POResult, Status

if TYPE_CHECKING:
    from coupadl.execution.status import PoolStatus, WorkerStatus

log = logging.getLogger(__name__)

# POs per minute over the last ten minutes: follows a run that speeds up or slows down
# (a pause for sign-in, a slow tenant) without jumping at every PO.
RATE_WINDOW = 600.0
MAX_EVENTS = 50


class Phase(enum.StrEnum):
    STARTING = "starting"  # reading the input, starting browsers
    RUNNING = "running"
    FINISHING = "finishing"  # first Ctrl+C: POs in flight finish, no new one starts
    ABORTING = "aborting"  # second Ctrl+C: every browser is closed now
    DONE = "done"
    INTERRUPTED = "interrupted"  # over, after Ctrl+C (exit code 130)


@dataclass(frozen=True)
class WorkerRow:
    """What one browser is doing now."""

    worker_id: str
    state: str  # the pool's WorkerState values: "busy", "idle", "starting", "backoff", ...
    po_number: str | None = None
    stage: str = ""  # "navigating", "finding", "downloading 2 of 3", "verifying", ...
    stage_seconds: float = 0.0  # in this stage
    po_seconds: float = 0.0  # on this PO (this attempt)


@dataclass(frozen=True)
class RunEvent:
    """A notable moment: a pool event (its ``EventKind`` value as ``kind``), or from the
    one-browser path "retry", "restart"; "interrupt" for Ctrl+C."""

    kind: str
    message: str
    worker_id: str = ""
    po_number: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class RunSnapshot:
    phase: Phase
    mode: str  # "sequential", "pool", "http" or "api"; "" before the run has planned its work
    workers_target: int
    total: int  # POs this run set out to process
    skipped: int  # POs earlier runs finished
    by_status: dict[str, int]  # results of this run, by STATUS
    workers: tuple[WorkerRow, ...]
    events: tuple[RunEvent, ...]  # the latest, oldest first
    elapsed: float
    rate_per_minute: float
    paused_for_auth: bool = False
    memory_mb: float | None = None  # the browsers' memory, where the pool measured it
    traffic: Traffic | None = None  # requests against the limit, where the engine counts

    @property
    def done(self) -> int:
        """POs finished in this run. AUTH_REQUIRED ones stay pending: not counted."""
        return sum(n for s, n in self.by_status.items() if s != Status.AUTH_REQUIRED.value)

    @property
    def remaining(self) -> int:
        return max(0, self.total - self.done)

    @property
    def eta_seconds(self) -> float | None:
        """Seconds left at the current rate; None until a rate is known."""
        if self.rate_per_minute <= 0:
            return None
        return self.remaining / self.rate_per_minute * 60.0


class RunListener:
    """Told of a run as it goes; override what you need.

    Methods run on the run's own threads (the main one, the pool's event thread): keep
    them quick. An exception is logged and otherwise ignored: showing a run must never
    stop it."""

    def run_started(self, snapshot: RunSnapshot) -> None:
        """The POs to process are known."""

    def po_finished(self, result: POResult, snapshot: RunSnapshot) -> None:
        """A PO has its result for this run (recorded in the state already)."""

    def event(self, event: RunEvent) -> None:
        """A retry, a restart, a pause for sign-in, an interrupt, ..."""

    def run_finished(self, snapshot: RunSnapshot, exit_code: int) -> None:
        """The run is over (also after Ctrl+C, with exit code 130)."""


@dataclass
class _Activity:
    state: str
    po_number: str | None = None
    stage: str = ""
    stage_since: float = 0.0
    po_since: float = 0.0


class RunProgress:
    """Thread-safe progress of one run. Feed methods are called by the runner."""

    def __init__(
        self, listeners: Iterable[RunListener] = (), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lock = threading.Lock()  # never held while calling out (pool, listeners)
        self._listeners = list(listeners)
        self._phase = Phase.STARTING
        self._mode = ""
        self._target = 0
        self._total = 0
        self._skipped = 0
        self._by_status: Counter[str] = Counter()
        self._stamps: deque[float] = deque()  # monotonic times of finished POs
        self._events: deque[RunEvent] = deque(maxlen=MAX_EVENTS)
        self._started = self._clock()
        self._ended: float | None = None
        self._rows: dict[str, _Activity] = {}
        self._pool: Callable[[], PoolStatus] | None = None
        self._traffic: TrafficMeter | None = None

    def add_listener(self, listener: RunListener) -> None:
        with self._lock:
            self._listeners.append(listener)

    # -- fed by the runner ---------------------------------------------------------------
    def run_started(self, *, total: int, skipped: int, mode: str, workers: int) -> None:
        with self._lock:
            self._total, self._skipped = total, skipped
            self._mode, self._target = mode, workers
            self._started = self._clock()
            if self._phase is Phase.STARTING:
                self._phase = Phase.RUNNING
        snapshot = self.snapshot()
        self._notify(lambda listener: listener.run_started(snapshot))

    def po_finished(self, result: POResult) -> None:
        with self._lock:
            self._by_status[result.status.value] += 1
            if result.status is not Status.AUTH_REQUIRED:
                self._stamps.append(self._clock())
            row = self._rows.get(result.worker)
            if row is not None and row.po_number == result.po_number:
                self._rows[result.worker] = _Activity("idle")
        snapshot = self.snapshot()
        self._notify(lambda listener: listener.po_finished(result, snapshot))

    def stage(self, worker_id: str, po_number: str, stage: str) -> None:
        """The one-browser path's progress (the pool reports its own, see watch_pool)."""
        now = self._clock()
        with self._lock:
            row = self._rows.get(worker_id)
            if row is None or row.po_number != po_number:
                self._rows[worker_id] = _Activity("busy", po_number, stage, now, now)
            elif row.stage != stage:
                row.stage, row.stage_since = stage, now

    def worker_state(self, worker_id: str, state: str) -> None:
        """A browser with no PO in hand: "starting", "idle", ..."""
        with self._lock:
            self._rows[worker_id] = _Activity(state)

    def watch_pool(self, status: Callable[[], PoolStatus] | None) -> None:
        """Read per-worker activity from the pool (``pool.get_status``) while it runs."""
        with self._lock:
            self._pool = status

    def watch_traffic(self, meter: TrafficMeter | None) -> None:
        """Read the engine's request rates (the http engine's) while it runs."""
        with self._lock:
            self._traffic = meter

    def event(self, event: RunEvent) -> None:
        with self._lock:
            self._events.append(event)
        self._notify(lambda listener: listener.event(event))

    def interrupted(self, count: int) -> None:
        """Ctrl+C number ``count``: the first lets the POs in flight finish, the next abort."""
        with self._lock:
            if self._phase in (Phase.DONE, Phase.INTERRUPTED):
                return
            self._phase = Phase.FINISHING if count == 1 else Phase.ABORTING
        if count == 1:
            message = "finishing the POs in flight (Ctrl+C again to abort)"
        else:
            message = "aborting: closing every browser now"
        self.event(RunEvent("interrupt", message, data={"count": count}))

    def run_finished(self, exit_code: int) -> None:
        with self._lock:
            self._phase = Phase.INTERRUPTED if exit_code == ExitCode.INTERRUPTED else Phase.DONE
            self._ended = self._clock()
            self._pool = self._traffic = None
            self._rows.clear()
        snapshot = self.snapshot()
        self._notify(lambda listener: listener.run_finished(snapshot, exit_code))

    # -- read ----------------------------------------------------------------------------
    def snapshot(self) -> RunSnapshot:
        with self._lock:
            pool, meter = self._pool, self._traffic
        # Outside our lock: the pool and the meter take their own.
        status = pool() if pool is not None else None
        traffic = meter.sample() if meter is not None else None
        now = self._clock()
        with self._lock:
            end = self._ended if self._ended is not None else now
            while self._stamps and now - self._stamps[0] > RATE_WINDOW:
                self._stamps.popleft()
            elapsed = max(0.0, end - self._started)
            window = min(RATE_WINDOW, elapsed)
            rate = len(self._stamps) * 60.0 / window if window >= 1.0 and self._stamps else 0.0
            if status is not None:
                rows = tuple(_pool_row(w) for w in status.workers)
            else:
                rows = tuple(
                    WorkerRow(
                        wid,
                        a.state,
                        a.po_number,
                        a.stage,
                        now - a.stage_since if a.po_number else 0.0,
                        now - a.po_since if a.po_number else 0.0,
                    )
                    for wid, a in sorted(self._rows.items())
                )
            return RunSnapshot(
                phase=self._phase,
                mode=self._mode,
                workers_target=self._target,
                total=self._total,
                skipped=self._skipped,
                by_status=dict(self._by_status),
                workers=rows,
                events=tuple(self._events),
                elapsed=elapsed,
                rate_per_minute=rate,
                paused_for_auth=bool(status is not None and status.paused_for_auth),
                memory_mb=status.memory_mb if status is not None else None,
                traffic=traffic,
            )

    def _notify(self, call: Callable[[RunListener], None]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                call(listener)
            except Exception:
                log.exception("a run progress listener (%s) failed", type(listener).__name__)


def _pool_row(worker: WorkerStatus) -> WorkerRow:
    busy = worker.current_po is not None
    return WorkerRow(
        worker_id=worker.worker_id,
        state=str(worker.state),
        po_number=worker.current_po,
        stage=worker.progress if busy else "",
        stage_seconds=worker.stage_seconds if busy else 0.0,
        po_seconds=worker.po_seconds if busy else 0.0,
    )
