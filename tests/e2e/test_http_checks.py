"""End to end, ``engine = auto`` checking its own readings against a browser's: real
headless Chromium (the sign-in and the fallback browser) and plain HTTP against the
simulator, through run_batch. The oracles are the simulator's: its manifest (file by
file, and which pages hold a file back for a script) and its count of PO page requests
(how many pages the browser read besides plain HTTP); the order of the run is read from
the state DB's start and finish times."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from coupadl.errors import ExitCode
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from coupadl.state.store import RunState
from helpers import write_input

pytestmark = [pytest.mark.usefixtures("calm_sim"), pytest.mark.browser, pytest.mark.timeout(300)]

CONCURRENCY = 2


def _report(outcome: Any) -> dict[str, Any]:
    return json.loads(outcome.report_path.read_text(encoding="utf-8"))


def test_checked_pages_agree_and_stay_on_http(sim: Any, make_settings: Any, tmp_path: Path) -> None:
    manifest = sim.manifest()
    pos = list(manifest["pos"])
    every = 5
    settings = make_settings(engine="auto", concurrency=CONCURRENCY, auto_check_every=every)

    outcome = run_batch(write_input(tmp_path / "in.csv", pos), settings)

    assert outcome.exit_code is ExitCode.OK
    assert compare_with_manifest(settings.out, manifest) == []
    report = _report(outcome)
    # The rule as the issue states it: the first 3 POs, then 1 in `every` (the 5th,
    # 10th, ... PO the run starts).
    expected = 3 + len([n for n in range(4, len(pos) + 1) if n % every == 0])
    assert (report["engine_checks"], report["engine_disagreements"]) == (expected, 0)
    assert {entry["engine"] for entry in report["pos"]} == {"http"}
    # The simulator saw those pages twice (plain HTTP and the browser), every other once.
    hits = sim.stats()["pos"]
    assert sorted(hits.values()) == [1] * (len(pos) - expected) + [2] * expected
    # Two handlers take the first two POs: whatever else, those are checked.
    assert hits[pos[0]] == hits[pos[1]] == 2
    with RunState(settings.out) as state:
        checked = {r.po_number for r in state.results() if r.engine_check == "agreed"}
    assert checked == {po for po, n in hits.items() if n == 2}


def test_pages_that_differ_go_to_the_browser_and_then_the_run_does(
    sim: Any, make_settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim.control(script_extra_share=0.4)
    manifest = sim.manifest()
    extra = [po for po, truth in manifest["pos"].items() if truth["script_extra"]]
    assert len(extra) >= 3, "the share picked too few POs: choose another"
    settings = make_settings(engine="auto", concurrency=CONCURRENCY, auto_check_every=1)

    with caplog.at_level(logging.WARNING, logger="coupadl"):
        outcome = run_batch(write_input(tmp_path / "in.csv", list(manifest["pos"])), settings)

    assert outcome.exit_code is ExitCode.OK
    # Each file of the pages that hold one back for a script is there all the same.
    assert compare_with_manifest(settings.out, manifest) == []
    report = _report(outcome)
    engine = {entry["po_number"]: entry["engine"] for entry in report["pos"]}
    assert {po: engine[po] for po in extra} == dict.fromkeys(extra, "browser")
    with RunState(settings.out) as state:
        results = sorted(state.results(), key=lambda r: r.finished_at)
    disagreed = [r for r in results if r.engine_check == "disagreed"]
    assert report["engine_disagreements"] == len(disagreed) >= 2
    assert {r.po_number for r in disagreed} <= set(extra)  # only pages that differ
    assert report["engine_checks"] == len([r for r in results if r.engine_check])

    # The run switched before the second PO that disagreed finished: every PO started
    # after that went to the browser; of those finished after it, only one in flight
    # on the other handler at the switch can have stayed on plain HTTP.
    second = disagreed[1].finished_at
    started_after = [r.po_number for r in results if r.started_at >= second]
    assert started_after, "no PO started after the switch: nothing was checked"
    assert {engine[po] for po in started_after} == {"browser"}
    # Straight to the browser: not read over plain HTTP, not checked (the browser's
    # reading while it downloads is the only request for its page).
    check_of = {r.po_number: r.engine_check for r in results}
    hits = sim.stats()["pos"]
    assert {(check_of[po], hits[po]) for po in started_after} == {("", 1)}
    finished_after = [r.po_number for r in results if r.finished_at > second]
    assert len([po for po in finished_after if engine[po] == "http"]) <= CONCURRENCY - 1

    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for result in disagreed:
        files = manifest["pos"][result.po_number]["files"]
        held_back = [f["original_name"] for f in files if f["source"] == "header"][-1]
        line = [w for w in warnings if w.startswith(f"PO{result.po_number}: the browser reads")]
        assert len(line) == 1, warnings
        # Names only: the one the script added, no URL.
        assert f"only in the browser: {held_back!r})" in line[0], line[0]
        assert "attachment_file" not in line[0]
    switched = [w for w in warnings if "every later PO of this run goes to the browser" in w]
    assert len(switched) == 1, warnings
    # It names the two POs that switched the run (in the order found, which the order
    # finished need not be).
    assert len([r for r in disagreed if f"PO{r.po_number}" in switched[0]]) == 2, switched
