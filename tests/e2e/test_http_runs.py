"""End to end, the http engine through the library API and the CLI: the browser signs in
once (real headless Chromium, real login form) and closes, then plain HTTP against the
simulator. The oracle is the simulator's manifest, file by file; the simulator's own
request log says what was fetched, how often, and how many at once."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import faultkit
from conftest import CHROMEDRIVER, CHROMIUM
from coupadl.errors import ExitCode
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from helpers import leftover_processes, write_input

pytestmark = [pytest.mark.usefixtures("calm_sim"), pytest.mark.browser, pytest.mark.timeout(240)]
tag = faultkit.tag
Live, run = faultkit.Live, faultkit.run


@pytest.fixture
def http_settings(make_settings: Any) -> Any:
    return make_settings(engine="http", concurrency=4, retry_backoff=0.2)


def test_twenty_pos_over_http_match_the_manifest_file_by_file(
    sim: Any, http_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    outcome = run_batch(write_input(tmp_path / "in.csv", list(manifest["pos"])), http_settings)

    assert compare_with_manifest(http_settings.out, manifest) == []
    assert outcome.exit_code is ExitCode.OK
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    assert (report["mode"], report["totals"]["pos"]) == ("http", 20)
    assert report["engines"] == {"http": 20} and report["fell_back_to_browser"] == 0
    assert {entry["engine"] for entry in report["pos"]} == {"http"}
    # Each PO's page once: no PO was read twice, none was skipped.
    assert sim.stats()["pos"] == dict.fromkeys(manifest["pos"], 1)
    assert not list(http_settings.out.rglob("*__WORK"))


def test_several_pos_are_in_flight_at_once(sim: Any, make_settings: Any, tmp_path: Path) -> None:
    # Every page takes the server 0.6 s: one PO at a time, no two page requests would
    # start within 0.3 s of each other.
    sim.control(page_latency=0.6)
    settings = make_settings(engine="http", concurrency=4)
    pos = list(sim.manifest()["pos"])[:8]
    run_batch(write_input(tmp_path / "in.csv", pos), settings)

    starts = sorted(r["t"] for r in sim.timeline()["requests"] if r["group"] == "pos")
    assert len(starts) == 8
    close = [b - a for a, b in itertools.pairwise(starts) if b - a < 0.3]
    assert len(close) >= 3, starts
    assert json.loads((settings.out / "report.json").read_text())["workers"] == 4


def test_a_rerun_fetches_only_what_the_first_left(
    sim: Any, http_settings: Any, tmp_path: Path
) -> None:
    pos = list(sim.manifest()["pos"])
    input_path = write_input(tmp_path / "in.csv", pos)
    first = run_batch(input_path, http_settings.model_copy(update={"limit": 6}))
    assert first.processed == 6
    done_first = {r["po_number"] for r in json.loads(first.report_path.read_text())["pos"]}

    sim.reset_stats()
    second = run_batch(input_path, http_settings)

    assert second.processed == len(pos) - 6
    assert not set(sim.stats()["pos"]) & done_first
    assert compare_with_manifest(http_settings.out, sim.manifest()) == []


def test_the_cli_runs_the_http_engine_and_leaves_no_browser(
    sim: Any, base_profile: Path, tmp_path: Path, tag: str
) -> None:
    pos = list(sim.manifest()["pos"])[:5]
    out = tmp_path / "out"
    command = [
        sys.executable, "-m", "coupadl", "run", str(write_input(tmp_path / "in.csv", pos)),
        "--base-url", sim.base_url, "--out", str(out), "--profile-dir", str(base_profile),
        "--browser-binary", CHROMIUM, "--driver-path", CHROMEDRIVER,
        "--engine", "http", "--concurrency", "2", "--rate-limit-rps", "50",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    manifest = sim.manifest()
    manifest["pos"] = {po: manifest["pos"][po] for po in pos}
    assert compare_with_manifest(out, manifest) == []
    assert not leftover_processes(tag)


def test_a_session_that_expires_mid_run_stops_then_signs_in_again(
    sim: Any, make_settings: Any, tmp_path: Path, own_profile: Path
) -> None:
    manifest = sim.manifest()
    settings = make_settings(engine="http", concurrency=2, profile_dir=own_profile)

    def expire_after_four(live: Live) -> None:
        live.when(4)
        sim.expire_sessions()

    stopped = run(sim, settings, tmp_path, expire_after_four)

    # Nobody to sign in (no terminal, no credentials): the run stops, the rest pending,
    # and no PO is taken for missing or failed because the session ended.
    assert stopped.outcome.exit_code is ExitCode.AUTH_REQUIRED
    assert stopped.outcome.pending
    statuses = {r.status.value for r in stopped.results}
    assert "AUTH_REQUIRED" in statuses
    assert not statuses & {"FAILED", "PO_NOT_FOUND", "PARTIAL", "TIMEOUT", "NO_ATTACHMENTS"}
    assert stopped.report["auth_pauses"] >= 1

    # With the tenant's credentials the run signs in again by itself, headless.
    creds = manifest["credentials"]
    again = settings.model_copy(update={"username": creds["email"], "password": creds["password"]})
    resumed = run(sim, again, tmp_path, expire_after_four)

    assert resumed.outcome.exit_code is ExitCode.OK
    assert resumed.report["auth_pauses"] >= 1
    assert compare_with_manifest(settings.out, manifest) == []


def test_auto_switches_to_the_browser_when_plain_http_is_refused(
    sim: Any, make_settings: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The tenant takes the session only from a browser: plain HTTP is sent to sign in.
    sim.control(browser_only_sessions=True)
    pos = list(sim.manifest()["pos"])[:4]
    settings = make_settings(engine="auto", workers=1)

    with caplog.at_level("WARNING", logger="coupadl"):
        outcome = run_batch(write_input(tmp_path / "in.csv", pos), settings)

    assert outcome.exit_code is ExitCode.OK
    manifest = sim.manifest()
    manifest["pos"] = {po: manifest["pos"][po] for po in pos}
    assert compare_with_manifest(settings.out, manifest) == []
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    assert report["mode"] == "sequential" and report["engines"] == {"browser": 4}
    switched = [r.message for r in caplog.records if "browser engine" in r.message]
    assert len(switched) == 1 and "plain HTTP" in switched[0], switched


def test_auto_reads_script_only_pages_in_a_browser_and_counts_them(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    sim.control(script_attachments_share=0.5)
    manifest = sim.manifest()
    scripted = {po for po, truth in manifest["pos"].items() if truth["script_attachments"]}
    assert scripted, "the share picked no PO: choose another"
    settings = make_settings(engine="auto", concurrency=3)

    outcome = run_batch(write_input(tmp_path / "in.csv", list(manifest["pos"])), settings)

    assert outcome.exit_code is ExitCode.OK
    assert compare_with_manifest(settings.out, manifest) == []
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    by_engine = {entry["po_number"]: entry["engine"] for entry in report["pos"]}
    assert {po for po, engine in by_engine.items() if engine == "browser"} == scripted
    assert report["fell_back_to_browser"] == len(scripted)
