"""The engines benchmark's arithmetic (benchmarks/engine_figures.py, measure.value_at):
hand-made counts with answers worked out by hand."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from engine_figures import (
    achieved_rate,
    block_seconds,
    merge_seconds,
    ratios,
    verdict,
)
from measure import value_at


def _slot(second: int, requests: int, limited: int = 0, errors_429: int = 0) -> dict[str, int]:
    return {"second": second, "requests": requests, "limited": limited, "errors_429": errors_429}


def test_a_later_snapshot_of_a_second_replaces_the_earlier_one() -> None:
    seconds: dict[int, dict[str, int]] = {}
    merge_seconds(seconds, {"per_second": [_slot(100, 3), _slot(101, 7)]})
    merge_seconds(seconds, {"per_second": [_slot(101, 25, 1, 2), _slot(102, 4)]})
    assert seconds == {
        100: {"requests": 3, "limited": 0, "errors_429": 0},
        101: {"requests": 25, "limited": 1, "errors_429": 2},
        102: {"requests": 4, "limited": 0, "errors_429": 0},
    }


def test_the_rate_counts_whole_seconds_only_and_429s_are_not_served() -> None:
    # Run from 99.5 to 106.2: whole seconds 100..105; 99 and 106 are partial.
    counts = {99: 40, 100: 25, 101: 25, 102: 26, 103: 24, 104: 25, 105: 25, 106: 90}
    seconds = {s: {"requests": n, "limited": 0, "errors_429": 0} for s, n in counts.items()}
    seconds[102] = {"requests": 26, "limited": 1, "errors_429": 3}
    rate = achieved_rate(seconds, 99.5, 106.2)
    assert rate.seconds == 6
    assert rate.arrived == pytest.approx(150 / 6)
    assert rate.served == pytest.approx(147 / 6)
    assert rate.errors_429 == 3
    # 5-second stretches: 100-104 served 25+25+23+24+25 = 122, 101-105 = 122.
    assert rate.lowest == pytest.approx(122 / 5)


def test_a_second_without_requests_counts_as_zero() -> None:
    seconds = {s: {"requests": 20, "limited": 0, "errors_429": 0} for s in (10, 11, 13, 14, 15)}
    rate = achieved_rate(seconds, 9.9, 16.0)  # whole seconds 10..15; 12 is missing
    assert (rate.seconds, rate.served, rate.lowest) == (6, pytest.approx(100 / 6), 16.0)


def test_a_run_shorter_than_a_whole_second_has_no_rate() -> None:
    assert achieved_rate({}, 10.2, 10.9).seconds == 0


def test_the_first_and_last_blocks_are_timed_from_their_own_edges() -> None:
    # Starts at 0; ends 1..10 given out of order; blocks of 3.
    ends = [5.0, 1.0, 2.0, 10.0, 3.0, 4.0, 6.0, 8.5, 7.0, 9.0]
    first, last = block_seconds(0.0, ends, 3)
    assert first == 3.0  # from the first start to the third end
    assert last == 10.0 - 7.0  # from the end before the last three to the last end
    with pytest.raises(ValueError):
        block_seconds(0.0, ends, 6)


def test_verdicts_and_ratios() -> None:
    assert verdict(10.0, 10.0, at_least=True) == "met"
    assert verdict(9.99, 10.0, at_least=True) == "missed"
    assert verdict(0.05, 0.05, at_least=False) == "met"
    assert verdict(0.051, 0.05, at_least=False) == "missed"
    assert ratios([300.0, 200.0], [30.0, 25.0]) == [10.0, 8.0]
    with pytest.raises(ValueError):
        ratios([1.0], [1.0, 2.0])


def test_cpu_at_a_moment_is_read_between_the_samples_around_it() -> None:
    times, cpu = [10.0, 10.5, 11.0], [2.0, 2.5, 4.0]
    assert value_at(times, cpu, 10.75) == pytest.approx(3.25)
    assert value_at(times, cpu, 10.5) == 2.5
    assert value_at(times, cpu, 9.0) == 2.0  # before the first sample: the first
    assert value_at(times, cpu, 12.0) == 4.0
