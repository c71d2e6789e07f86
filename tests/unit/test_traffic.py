"""Request rates for the live view, from running totals and a hand-driven clock."""

from __future__ import annotations

from coupadl.engine.http.traffic import Counters
from coupadl.execution.traffic import TrafficMeter, TrafficTotals
from helpers import ManualClock


def test_rates_over_the_last_readings_and_429s_since_the_meter_began() -> None:
    clock, counters = ManualClock(100.0), Counters()
    counters.answered(429)  # before the run: not this run's
    meter = TrafficMeter(counters.totals, 20.0, lambda: 6, clock)
    for _ in range(40):
        counters.answered(200)
    counters.answered(429)
    counters.received(3_000_000)
    clock.now += 2.0
    traffic = meter.sample()
    assert traffic.requests_per_second == 41 / 2.0
    assert traffic.bytes_per_second == 1_500_000
    assert (traffic.responses_429, traffic.limit_rps, traffic.in_flight_limit) == (1, 20.0, 6)


def test_old_readings_leave_the_window() -> None:
    clock, counters = ManualClock(100.0), Counters()
    meter = TrafficMeter(counters.totals, 0.0, clock=clock)
    for _ in range(100):  # a burst long ago
        counters.answered(200)
    clock.now += 1.0
    meter.sample()
    for _ in range(3):  # then quiet seconds, a request in each
        clock.now += 3.0
        counters.answered(200)
        traffic = meter.sample()
    # Rates from readings at most the window old: the burst has left them.
    assert traffic.requests_per_second < 2.0
    assert traffic.in_flight_limit is None


def test_totals_add_up_across_threads() -> None:
    import threading

    counters = Counters()

    def hammer() -> None:
        for _ in range(1000):
            counters.answered(200)
            counters.received(10)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters.totals() == TrafficTotals(4000, 0, 40_000)
