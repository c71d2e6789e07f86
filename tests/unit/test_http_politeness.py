"""The http engine's token bucket and shared 429 gate (engine/http/politeness.py), on a
fake clock: the waits are computed, never slept."""

from __future__ import annotations

import sys
import threading

import pytest

from coupadl.engine.http.politeness import Politeness, SharedGate, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_full_bucket_lets_a_burst_through_then_spaces_requests_by_the_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=4, burst=3, clock=clock)
    assert [bucket.reserve() for _ in range(3)] == [0, 0, 0]
    # Empty: each next request waits a further 1/4 s (reserved in the order asked).
    assert [bucket.reserve() for _ in range(3)] == pytest.approx([0.25, 0.5, 0.75])


def test_the_bucket_refills_with_time_but_never_beyond_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2, burst=2, clock=clock)
    bucket.reserve(), bucket.reserve()
    clock.now += 0.5  # one token back
    assert bucket.reserve() == 0
    assert bucket.reserve() == pytest.approx(0.5)
    clock.now += 3600  # an hour idle: still only `burst` tokens
    assert [bucket.reserve() for _ in range(2)] == [0, 0]
    assert bucket.reserve() == pytest.approx(0.5)


def test_rate_zero_is_no_limit() -> None:
    bucket = TokenBucket(rate=0, burst=1, clock=FakeClock())
    assert all(bucket.reserve() == 0 for _ in range(10_000))


def test_bad_bucket_values_are_refused() -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate=-1, burst=1)
    with pytest.raises(ValueError):
        TokenBucket(rate=1, burst=0)


def test_requests_over_a_long_run_never_beat_the_rate() -> None:
    clock = FakeClock()
    polite = Politeness(rate=20, burst=20, clock=clock, sleep=clock.sleep)
    start = clock.now
    sent = []
    for _ in range(1020):
        polite.wait_turn()
        sent.append(clock.now)
    # 20 at once, then 1000 more at 20/s: 50 s, and never more than burst + rate*t.
    assert clock.now - start == pytest.approx(50.0)
    for i, at in enumerate(sent):
        assert i + 1 <= 20 + (at - start) * 20 + 1e-6


def test_a_429_gate_holds_every_request_until_it_has_passed() -> None:
    clock = FakeClock()
    polite = Politeness(rate=0, burst=1, clock=clock, sleep=clock.sleep)
    assert polite.gate.close_for(30)
    assert not polite.gate.close_for(5)  # a running pause is not shortened...
    assert polite.gate.remaining() == pytest.approx(30)
    polite.gate.close_for(40)  # ...only extended
    polite.wait_turn()
    assert clock.now == pytest.approx(1040.0)
    assert polite.gate.remaining() == 0


def test_the_gate_then_the_bucket() -> None:
    clock = FakeClock()
    polite = Politeness(rate=1, burst=1, clock=clock, sleep=clock.sleep)
    polite.wait_turn()  # the one token
    polite.gate.close_for(10)
    polite.wait_turn()  # waits the gate (10 s): the bucket has refilled meanwhile
    assert clock.slept == pytest.approx([10.0])
    polite.wait_turn()
    assert clock.slept == pytest.approx([10.0, 1.0])


def test_stop_wakes_a_request_waiting_on_the_gate() -> None:
    polite = Politeness(rate=0, burst=1)  # the real clock and the stop event
    polite.gate.close_for(3600)
    done = threading.Event()

    def request() -> None:
        polite.wait_turn()
        done.set()

    thread = threading.Thread(target=request, daemon=True)
    thread.start()
    assert not done.wait(0.2)  # held by the gate
    polite.stop()
    assert done.wait(10)


def test_the_bucket_is_shared_safely_by_threads() -> None:
    # Thread switches after every few bytecodes, so an unlocked update would interleave.
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    clock = FakeClock()
    bucket = TokenBucket(rate=10, burst=5, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(2000):
            wait = bucket.reserve()
            with lock:
                waits.append(wait)

    try:
        threads = [threading.Thread(target=take) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(before)
    # The clock stood still: 5 free tokens, then one reservation every 0.1 s, each
    # handed out exactly once whatever the threads' order.
    assert sorted(waits) == pytest.approx([0.0] * 5 + [0.1 * k for k in range(1, 15996)])


def test_shared_gate_alone() -> None:
    clock = FakeClock()
    gate = SharedGate(clock)
    assert gate.remaining() == 0
    gate.close_for(2)
    clock.now += 1.5
    assert gate.remaining() == pytest.approx(0.5)
