"""End to end, sequential path: a real headless Chromium against the simulator.

The oracle is the simulator's manifest: every file checked by name, size and sha256.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import psutil
import pytest

from coupadl.errors import ExitCode
from coupadl.models import POResult
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from helpers import write_input

pytestmark = pytest.mark.browser


def _results_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_twenty_pos_match_the_manifest_file_by_file(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    pos = list(manifest["pos"])
    assert len(pos) == 20
    settings = make_settings()

    outcome = run_batch(write_input(tmp_path / "in.csv", pos), settings)

    assert compare_with_manifest(settings.out, manifest) == []
    expected_statuses = {po: truth["status"] for po, truth in manifest["pos"].items()}
    rows = _results_rows(outcome.results_path)
    assert {row["PO_NUMBER"][2:]: row["STATUS"] for row in rows} == expected_statuses
    for row in rows:
        truth = manifest["pos"][row["PO_NUMBER"][2:]]
        assert row["SUPPLIER"] == truth["supplier"]
        assert int(row["ATTACHMENTS_DOWNLOADED"]) == len(truth["files"])
        names = [f["name"] for f in truth["files"]]
        assert row["AttachmentName"] == "; ".join(names)
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    assert report["totals"]["pos"] == 20
    assert report["totals"]["files"] == sum(len(t["files"]) for t in manifest["pos"].values())
    assert outcome.exit_code is ExitCode.OK
    # No work folder or staging leftovers anywhere, and no supplier folder left empty
    # (a PO that ended with no file, say after an empty requisition, leaves none).
    assert not [p for p in settings.out.rglob("*__WORK")]
    assert not [p for p in settings.out.rglob("*.crdownload")]
    state_dir = settings.out / ".coupadl"
    empty = [
        p
        for p in settings.out.rglob("*")
        if p.is_dir() and not any(p.iterdir()) and state_dir not in (p, *p.parents)
    ]
    assert not empty, empty


def test_rerun_resumes_without_fetching_finished_pos(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    pos = list(sim.manifest()["pos"])
    settings = make_settings()
    input_path = write_input(tmp_path / "in.csv", pos)
    first = run_batch(input_path, settings.model_copy(update={"limit": 6}))
    assert first.processed == 6

    sim.reset_stats()
    second = run_batch(input_path, settings)

    fetched = set(sim.stats()["pos"])
    done_first = {po for po in pos[:6]}
    assert not (fetched & done_first), "finished POs were fetched again"
    assert second.processed == len(pos) - 6
    assert second.skipped == 6
    assert compare_with_manifest(settings.out, sim.manifest()) == []


def test_hostile_names_stay_inside_out(sim: Any, make_settings: Any, tmp_path: Path) -> None:
    manifest = sim.manifest()
    hostile = [po for po, t in manifest["pos"].items() if t["kind"] == "hostile"]
    assert hostile, "the data set must contain a PO with hostile file names"
    # Two levels of folders of this test's own above <out>: a name like "../../x" would
    # land there (the pytest folders above are shared with other test runs).
    outer = tmp_path / "outer"
    inner = outer / "inner"
    settings = make_settings(out=inner / "out")
    input_path = write_input(tmp_path / "in.csv", hostile)
    inner.mkdir(parents=True)
    before = {p: set(p.iterdir()) for p in (tmp_path, outer)}

    run_batch(input_path, settings)

    out = settings.out.resolve()
    for path in out.rglob("*"):
        assert out in path.resolve().parents
    assert set(inner.iterdir()) == {settings.out}
    for folder in (tmp_path, outer):
        assert set(folder.iterdir()) == before[folder], "something was written outside <out>"
    assert compare_with_manifest(settings.out, manifest, hostile) == []
    originals = {
        f["original_name"] for t in (manifest["pos"][p] for p in hostile) for f in t["files"]
    }
    assert any("/" in n or "\\" in n for n in originals)


def test_expired_session_is_auth_required_not_not_found(
    sim: Any, make_settings: Any, tmp_path: Path, own_profile: Path
) -> None:
    manifest = sim.manifest()
    found = [po for po, t in manifest["pos"].items() if t["status"] == "COMPLETED"][:3]
    settings = make_settings(out=tmp_path / "expired", profile_dir=own_profile)
    sim.expire_sessions()
    try:
        outcome = run_batch(write_input(tmp_path / "in.csv", found), settings)
    finally:
        sim.control(session_ttl=7200)

    assert outcome.exit_code is ExitCode.AUTH_REQUIRED
    assert outcome.by_status == {"AUTH_REQUIRED": 1}
    assert set(outcome.pending) == set(found)
    rows = _results_rows(outcome.results_path)
    assert "PO_NOT_FOUND" not in {row["STATUS"] for row in rows}


def test_sequential_run_survives_its_browser_dying(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    pos = list(manifest["pos"])[:8]
    settings = make_settings()
    seen: list[POResult] = []
    killed: list[int] = []

    def kill_browser_after_three(result: POResult) -> None:
        seen.append(result)
        if len(seen) == 3:
            driver = next(p for p in psutil.Process().children() if p.name() == "chromedriver")
            browser = next(p for p in driver.children() if "chrom" in p.name())
            killed.append(browser.pid)
            browser.kill()

    outcome = run_batch(
        write_input(tmp_path / "in.csv", pos), settings, on_result=kill_browser_after_three
    )

    assert killed
    assert outcome.exit_code is ExitCode.OK
    assert compare_with_manifest(settings.out, manifest, pos) == []
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    assert report["worker_restarts"] >= 1
    assert sorted(r.po_number for r in seen) == sorted(pos)
