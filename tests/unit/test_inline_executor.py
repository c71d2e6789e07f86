"""The inline executor (one in-process worker) over a scripted handler: dispatch,
retries, a broken handler replaced, sign-in pauses, 429 pauses, the prepare step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import inline_fakes
from coupadl.errors import AuthRequiredError
from coupadl.execution.handler import EngineSpec
from coupadl.execution.inline import run_inline
from coupadl.models import POResult, POTask, Status
from coupadl.settings import Settings
from inline_fakes import FACTORY, LOG, PREPARE
from inline_fakes import RecordingState as State

ENGINE = EngineSpec("scripted", FACTORY, PREPARE, failure_code="E_SCRIPTED")


def _run(
    tmp_path: Path, script: dict[str, list[Any]], pos: list[str], reauth: Any = None, **knobs: Any
) -> tuple[list[POResult], State, Any]:
    inline_fakes.reset(script)
    settings = Settings(out=tmp_path, retry_backoff=0.01, retry_backoff_max=0.02, **knobs)
    results: list[POResult] = []
    state = State()
    run = run_inline(
        [POTask(po) for po in pos], settings, results.append, state, tmp_path / "base", ENGINE,
        reauth=reauth or (lambda: pytest.fail("no sign-in expected")),
    )  # fmt: skip
    return results, state, run


def _kinds(entry: str) -> list[tuple[Any, ...]]:
    return [e for e in LOG if e[0] == entry]


def test_every_po_once_in_order_on_one_handler(tmp_path: Path) -> None:
    results, state, run = _run(tmp_path, {"2": [Status.NO_ATTACHMENTS]}, ["1", "2", "3"])
    assert [(r.po_number, r.status) for r in results] == [
        ("1", Status.COMPLETED), ("2", Status.NO_ATTACHMENTS), ("3", Status.COMPLETED)
    ]  # fmt: skip
    assert state.running == [("1", "seq"), ("2", "seq"), ("3", "seq")]
    assert (run.pending, run.auth_stopped) == ([], False)
    made = _kinds("made")
    assert len(made) == 1 and made[0][2] == Path("/nonexistent/work-0") and made[0][3] is None
    assert LOG[0] == ("prepare", tmp_path / "base", 1)
    assert len(_kinds("start")) == 1 and len(_kinds("close")) == 1
    assert LOG[-1] == ("release",)  # the prepared work folders go, after the handler closed


def test_transient_failure_retried_until_it_passes(tmp_path: Path) -> None:
    script = {"7": [Status.FAILED, Status.FAILED, Status.COMPLETED]}
    results, state, _ = _run(tmp_path, script, ["7"])
    assert [(r.po_number, r.status) for r in results] == [("7", Status.COMPLETED)]
    assert [e[3] for e in _kinds("process")] == [1, 2, 3]  # the attempt number grows
    assert [e[1] for e in state.events] == ["retry", "retry"]


def test_retries_stop_at_max_retries(tmp_path: Path) -> None:
    results, _, _ = _run(tmp_path, {"7": [Status.FAILED]}, ["7"], max_retries=1)
    assert [r.status for r in results] == [Status.FAILED]
    assert len(_kinds("process")) == 2


def test_a_handler_that_raises_is_replaced_and_the_attempt_retried(tmp_path: Path) -> None:
    results, state, _ = _run(tmp_path, {"5": ["raise", Status.COMPLETED]}, ["5", "6"])
    assert [(r.po_number, r.status) for r in results] == [
        ("5", Status.COMPLETED), ("6", Status.COMPLETED)
    ]  # fmt: skip
    first, second = (e[1] for e in _kinds("made"))
    assert _kinds("close")[0] == ("close", first)
    assert _kinds("process")[-1][1] == second  # the new handler goes on with the next PO
    assert ("5", "restart", "RuntimeError: handler broke on 5") in state.events


def test_restarts_run_out(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="handler broke"):
        _run(tmp_path, {"5": ["raise"]}, ["5"], max_restarts=1)
    assert len(_kinds("made")) == 2  # the first and one replacement
    assert _kinds("close")[-1][0] == "close"


def test_sign_in_again_hands_the_fresh_session_to_the_handler(tmp_path: Path) -> None:
    script = {"3": [Status.AUTH_REQUIRED, Status.COMPLETED]}
    results, state, _ = _run(tmp_path, script, ["3"], reauth=lambda: {"token": "fresh"})
    assert [r.status for r in results] == [Status.COMPLETED]
    assert _kinds("import")[0][2] == {"token": "fresh"}
    assert ("3", "paused_for_auth", "") in state.events
    assert [e[3] for e in _kinds("process")] == [1, 1]  # a sign-in pause is no attempt


def test_no_sign_in_possible_stops_the_run_with_the_rest_pending(tmp_path: Path) -> None:
    def refuse() -> Any:
        raise AuthRequiredError("nobody at the keyboard")

    results, _, run = _run(tmp_path, {"2": [Status.AUTH_REQUIRED]}, ["1", "2", "3"], refuse)
    assert [(r.po_number, r.status) for r in results] == [
        ("1", Status.COMPLETED), ("2", Status.AUTH_REQUIRED)
    ]  # fmt: skip
    assert (run.pending, run.auth_stopped) == (["2", "3"], True)


def test_a_session_refused_again_and_again_gives_up(tmp_path: Path) -> None:
    results, _, run = _run(
        tmp_path, {"2": [Status.AUTH_REQUIRED]}, ["2"], reauth=lambda: {"token": "x"}
    )
    assert len(_kinds("import")) == 2  # MAX_SIGN_INS, then it stops
    assert run.auth_stopped and [r.status for r in results] == [Status.AUTH_REQUIRED]


def test_a_429_pauses_and_is_recorded(tmp_path: Path) -> None:
    script = {"4": [("429", 0.05), Status.COMPLETED]}
    results, state, _ = _run(tmp_path, script, ["4"])
    assert [r.status for r in results] == [Status.COMPLETED]
    kinds = [e[1] for e in state.events]
    assert kinds == ["rate_limited", "retry"]
    assert "429" in state.events[0][2]


def test_profile_reuse_off_starts_the_worker_with_the_seeds_session(tmp_path: Path) -> None:
    _run(tmp_path, {}, ["1"], profile_reuse_enabled=False)
    seed, worker = _kinds("made")
    assert seed[1].startswith("seed#") and seed[2] == Path("/nonexistent/seed")
    assert ("export", seed[1]) in LOG and ("close", seed[1]) in LOG
    assert worker[3] == {"token": "seed-session"}


def test_a_replaced_handler_starts_with_the_latest_session(tmp_path: Path) -> None:
    script = {"3": [Status.AUTH_REQUIRED, "raise", Status.COMPLETED]}
    results, _, _ = _run(tmp_path, script, ["3"], reauth=lambda: {"token": "fresh"})
    assert [r.status for r in results] == [Status.COMPLETED]
    assert [e[3] for e in _kinds("made")] == [None, {"token": "fresh"}]
