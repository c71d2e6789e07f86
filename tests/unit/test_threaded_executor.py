"""The threaded executor over a scripted handler: POs really in flight together, each PO
once, retries, a broken handler replaced, one sign-in for the whole run, 429 pauses,
the concurrency limit, Ctrl+C-free ends. Barriers, not sleeps, prove concurrency."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import threaded_fakes
from coupadl.errors import AuthRequiredError
from coupadl.execution.concurrency import ConcurrencyLimit
from coupadl.execution.handler import EngineSpec
from coupadl.execution.threaded import ThreadedRun, run_threaded
from coupadl.models import POResult, POTask, Status
from coupadl.settings import Settings
from helpers import ManualClock
from inline_fakes import RecordingState as State
from threaded_fakes import FACTORY, LOG, PREPARE

ENGINE = EngineSpec("scripted", FACTORY, PREPARE, failure_code="E_SCRIPTED")
pytestmark = pytest.mark.timeout(60)


def _run(
    tmp_path: Path,
    script: dict[str, list[Any]],
    pos: list[str],
    *,
    hold: frozenset[tuple[str, int]] = frozenset(),
    hold_timeout: float = 20.0,
    reauth: Any = None,
    **knobs: Any,
) -> tuple[list[POResult], State, ThreadedRun]:
    threaded_fakes.reset(script, hold, hold_timeout)
    knobs.setdefault("concurrency", 3)
    settings = Settings(out=tmp_path, retry_backoff=0.01, retry_backoff_max=0.02, **knobs)
    results: list[POResult] = []
    state = State()
    run = run_threaded(
        [POTask(po) for po in pos], settings, results.append, state, tmp_path / "base", ENGINE,
        reauth=reauth or (lambda: pytest.fail("no sign-in expected")),
    )  # fmt: skip
    return results, state, run


def _kinds(entry: str) -> list[tuple[Any, ...]]:
    return [e for e in LOG if e[0] == entry]


def test_three_pos_are_in_flight_at_once_and_each_is_done_once(tmp_path: Path) -> None:
    pos = [str(n) for n in range(1, 10)]
    # 1, 2 and 3 each wait until all three are inside a handler: one at a time, the
    # barrier would break and the three would fail.
    results, state, run = _run(tmp_path, {}, pos, hold=frozenset({("1", 1), ("2", 1), ("3", 1)}))
    assert sorted((r.po_number, r.status) for r in results) == [
        (po, Status.COMPLETED) for po in pos
    ]
    assert Counter(e[2] for e in _kinds("process")) == Counter(pos)  # no PO twice
    assert {w for _, w in state.running} <= {"h1", "h2", "h3"}
    assert (run.pending, run.auth_stopped) == ([], False)
    assert len(_kinds("made")) == 3 and len(_kinds("close")) == 3


def test_no_more_in_flight_than_the_limit(tmp_path: Path) -> None:
    # Three POs held for three parties, but only two may be in flight: the barrier
    # breaks, so those POs fail (and are retried without the hold).
    results, _, _ = _run(
        tmp_path, {}, ["1", "2", "3"], hold=frozenset({("1", 1), ("2", 1), ("3", 1)}),
        hold_timeout=1.0, concurrency=2, max_retries=1,
    )  # fmt: skip
    assert {e[1] for e in _kinds("made")} == {"h1", "h2"}  # h3 never started
    assert len(_kinds("process")) > 3  # the held attempts broke and were tried again
    assert sorted(r.po_number for r in results) == ["1", "2", "3"]


def test_transient_failure_retried_with_a_growing_attempt(tmp_path: Path) -> None:
    script = {"7": [Status.FAILED, Status.FAILED, Status.COMPLETED]}
    results, state, _ = _run(tmp_path, script, ["7", "8"])
    assert sorted((r.po_number, r.status) for r in results) == [
        ("7", Status.COMPLETED), ("8", Status.COMPLETED)
    ]  # fmt: skip
    assert [e[3] for e in _kinds("process") if e[2] == "7"] == [1, 2, 3]
    assert [e[1] for e in state.events if e[0] == "7"] == ["retry", "retry"]


def test_a_handler_that_raises_is_replaced(tmp_path: Path) -> None:
    results, state, _ = _run(tmp_path, {"5": ["raise", Status.COMPLETED]}, ["5"], concurrency=1)
    assert [(r.po_number, r.status) for r in results] == [("5", Status.COMPLETED)]
    assert [e[0] for e in LOG if e[0] in ("made", "close")] == ["made", "close", "made", "close"]
    assert ("5", "restart", "RuntimeError: handler broke on 5") in state.events


def test_a_worker_whose_handler_keeps_breaking_stops_and_leaves_its_po(tmp_path: Path) -> None:
    results, _, run = _run(
        tmp_path, {"5": ["raise"]}, ["5"], concurrency=1, max_restarts=1, max_retries=9
    )
    assert results == [] and run.pending == ["5"]
    assert len(_kinds("made")) == 2  # the first and one replacement


def test_pos_that_meet_the_sign_in_page_together_sign_in_once(tmp_path: Path) -> None:
    script = {po: [Status.AUTH_REQUIRED, Status.COMPLETED] for po in ("1", "2", "3")}
    sign_ins: list[int] = []

    def reauth() -> Any:
        sign_ins.append(1)
        return {"token": "fresh"}

    hold = frozenset(
        {("1", 1), ("2", 1), ("3", 1)}
    )  # all three see the sign-in page in one session
    results, state, _ = _run(tmp_path, script, ["1", "2", "3"], hold=hold, reauth=reauth)
    assert sorted((r.po_number, r.status) for r in results) == [
        (po, Status.COMPLETED) for po in ("1", "2", "3")
    ]
    assert len(sign_ins) == 1
    assert all(e[2] == {"token": "fresh"} for e in _kinds("import"))
    assert len(_kinds("import")) == 3  # every handler took the new session
    assert [e[3] for e in _kinds("process")].count(1) == 6  # a sign-in pause is no attempt
    assert sum(e[1] == "paused_for_auth" for e in state.events) == 3


def test_no_sign_in_possible_stops_the_run_with_the_rest_pending(tmp_path: Path) -> None:
    def refuse() -> Any:
        raise AuthRequiredError("nobody at the keyboard")

    results, _, run = _run(
        tmp_path, {"1": [Status.AUTH_REQUIRED]}, ["1", "2", "3"], reauth=refuse, concurrency=1
    )
    assert [(r.po_number, r.status) for r in results] == [("1", Status.AUTH_REQUIRED)]
    assert run.auth_stopped and sorted(run.pending) == ["1", "2", "3"]


def test_a_429_pauses_every_worker_and_is_recorded(tmp_path: Path) -> None:
    script = {"4": [("429", 0.3), Status.COMPLETED]}
    results, state, _ = _run(tmp_path, script, ["4", "5"], concurrency=1)
    assert sorted(r.po_number for r in results) == ["4", "5"]
    kinds = [e[1] for e in state.events]
    assert kinds == ["rate_limited", "retry"] and "429" in state.events[0][2]


def test_auto_concurrency_halves_on_overload_and_records_it(tmp_path: Path) -> None:
    script = {"9": ["5xx", Status.COMPLETED]}
    _, _, run = _run(tmp_path, script, ["9"], concurrency="auto")
    assert [c.limit for c in run.concurrency] == [4, 2]
    assert "E_SERVER_ERROR" in run.concurrency[-1].reason


def test_additive_increase_while_throughput_rises_and_cap() -> None:
    clock = ManualClock()
    limit = ConcurrencyLimit(4, 6, adaptive=True, window=5.0, clock=clock)
    for per_window in (10, 20, 30, 40, 50):
        for _ in range(per_window):
            limit.finished()
        clock.now += 5.0
    limit.finished()
    assert limit.value == 6  # 4, then +1 per rising window, capped at 6
    assert [c.limit for c in limit.history] == [4, 5, 6]


def test_no_increase_when_throughput_stays_flat() -> None:
    clock = ManualClock()
    limit = ConcurrencyLimit(4, 32, adaptive=True, window=5.0, clock=clock)
    for _ in range(4):
        for _ in range(10):
            limit.finished()
        clock.now += 5.0
    limit.finished()
    # The first window sets the reference (+1); flat ones after it change nothing.
    assert limit.value == 5


def test_halving_once_per_window_and_never_below_one() -> None:
    clock = ManualClock()
    limit = ConcurrencyLimit(8, 32, adaptive=True, clock=clock)
    limit.throttled("429")
    limit.throttled("429 again")  # same window: no second halving
    assert limit.value == 4
    for _ in range(4):
        clock.now += 10
        limit.finished()  # ends the window
        limit.throttled("429")
    assert limit.value == 1


def test_with_a_client_rate_limit_only_5xx_halve() -> None:
    """The client's token bucket sets the pace: a 429 pauses (the gate) but does not
    shrink the POs in flight; a 5xx still does."""
    limit = ConcurrencyLimit(8, 32, adaptive=True, halve_on_429=False, clock=ManualClock())
    limit.throttled("E_RATE_LIMITED on PO 1", rate_limited=True)
    assert limit.value == 8
    limit.throttled("E_SERVER_ERROR on PO 2")
    assert limit.value == 4


def test_a_fixed_limit_never_moves() -> None:
    limit = ConcurrencyLimit(3, 3, adaptive=False)
    limit.throttled("429")
    assert limit.value == 3 and len(limit.history) == 1
