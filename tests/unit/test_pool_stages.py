"""Per-worker stages travel from the worker process to the pool's status and on to a
RunProgress snapshot (real spawned workers, fake handlers), rate-limited on the way."""

from __future__ import annotations

import threading

import pytest

from coupadl.execution.pool.throttle import ProgressThrottle
from coupadl.execution.progress import RunProgress
from coupadl.models import POTask
from fakes.pooltest import PoolFactory, wait_until

pytestmark = pytest.mark.timeout(60)


def test_worker_stage_reaches_pool_status_and_run_progress(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=1)
    monitor = RunProgress()
    monitor.watch_pool(pool.get_status)
    pool.submit_task(POTask("slow-1"))  # reports "downloading 1/3" .. "3/3", 0.5 s apart

    seen: list[tuple[str, str | None, str, float, float]] = []

    def stage_seen() -> bool:
        for row in monitor.snapshot().workers:
            seen.append((row.state, row.po_number, row.stage, row.stage_seconds, row.po_seconds))
        return any(stage == "downloading 2/3" for _, _, stage, _, _ in seen)

    assert wait_until(stage_seen, 10), seen
    busy = [s for s in seen if s[2] == "downloading 2/3"]
    assert busy[0][:2] == ("busy", "slow-1")
    # Seconds in the stage never exceed seconds on the PO.
    assert all(0 <= stage_s <= po_s for _, _, _, stage_s, po_s in busy)
    list(pool.iter_results(timeout=20))
    idle = monitor.snapshot().workers[0]
    assert (idle.state, idle.po_number, idle.stage) == ("idle", None, "")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_throttle_sends_first_report_holds_a_burst_and_flushes_the_latest() -> None:
    sent: list[str] = []
    clock = FakeClock()
    throttle = ProgressThrottle(sent.append, min_interval=0.2, clock=clock)

    throttle("navigating")
    for n in range(1, 51):  # a PO with fifty small files, all within the interval
        clock.now += 0.001
        throttle(f"downloading {n} of 50")

    assert sent == ["navigating"]
    throttle.flush()  # still inside the interval
    assert sent == ["navigating"]
    clock.now += 0.2
    throttle.flush()  # what the heartbeat thread does
    assert sent == ["navigating", "downloading 50 of 50"]
    throttle.flush()  # nothing held back any more
    assert len(sent) == 2


def test_throttle_repeats_a_keepalive_once_per_interval_and_stops_when_closed() -> None:
    sent: list[str] = []
    clock = FakeClock()
    throttle = ProgressThrottle(sent.append, min_interval=0.05, clock=clock)
    for _ in range(30):  # 0.3 s of reports every 10 ms
        throttle("verifying")
        clock.now += 0.01
    assert sent == ["verifying"] * 6  # one per 50 ms, not one per call
    throttle.close()
    clock.now += 1
    throttle("navigating")
    throttle.flush()
    assert "navigating" not in sent


def test_throttle_never_delivers_an_older_stage_after_a_newer_one() -> None:
    sent: list[str] = []
    throttle = ProgressThrottle(sent.append, min_interval=0.001)
    stop = threading.Event()

    def flusher() -> None:
        while not stop.is_set():
            throttle.flush()

    thread = threading.Thread(target=flusher)
    thread.start()
    for n in range(2000):
        throttle(str(n))
    stop.set()
    thread.join()
    throttle.flush()
    numbers = [int(s) for s in sent]
    assert numbers == sorted(numbers)
