"""End to end, the browser engine on a real Selenium Grid 4 (the standalone server jar,
Debian's chromedriver and Chromium on its node) against the simulator.

The oracles are the simulator's manifest (file by file), the Grid's own status (its
sessions), the node's download folder on disk, and a recording proxy in front of the
Grid that says which WebDriver commands coupadl sent (tests/gridkit.py): none of them is
coupadl's code. The Grid runs on this machine, so the proxy and the node's folder are
what show that the files came through managed downloads and not a local folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import faultkit
from conftest import CHROMEDRIVER, CHROMIUM
from coupadl.errors import ExitCode
from coupadl.runs.batch import run_batch
from coupadl.simulator.server import SimulatorServer
from gridkit import RecordingProxy, running_grid
from helpers import wait_for, write_input

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
tag = faultkit.tag


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """30 POs, so a run with two remote workers lasts long enough to be disturbed."""
    with SimulatorServer(n_pos=30, seed=11) as server:
        yield server


@pytest.fixture
def grid_settings(make_settings: Any, grid: Any, sim: SimulatorServer) -> Any:
    sim.control(page_latency=0.0)
    return make_settings(
        grid_url=grid.url, grid_browser_args=["--no-sandbox"], workers=2, max_retries=3
    )


def test_thirty_pos_on_two_remote_workers_match_the_manifest_through_managed_downloads(
    sim: SimulatorServer, grid: Any, grid_settings: Any, tmp_path: Path, tag: str
) -> None:
    manifest = sim.manifest()
    files = sum(len(po["files"]) for po in manifest["pos"].values())
    with_files = sum(1 for po in manifest["pos"].values() if po["files"])
    with RecordingProxy(grid.url) as proxy:
        settings = grid_settings.model_copy(update={"grid_url": proxy.url})
        done = faultkit.run(sim, settings, tmp_path)

    faultkit.assert_nothing_lost(sim, done, settings, tag)
    assert done.report["mode"] == "pool" and done.report["workers"] == 2
    assert {r.worker for r in done.results} == {"worker-1", "worker-2"}
    # Two remote sessions were started on the Grid, and the browsers' files came from
    # the node: each one asked for by name, once (POST .../se/files), and the node's
    # folder emptied after every PO that downloaded anything (DELETE .../se/files).
    assert proxy.calls("POST", "/session") == 2
    assert proxy.calls("POST", "/se/files") == files
    assert proxy.calls("DELETE", "/se/files") >= with_files
    # No file is left on the node, and no session either once the run is over.
    assert grid.node_files() == []
    assert grid.session_ids() == []


def test_a_session_the_grid_loses_mid_run_is_replaced_and_every_po_done_once(
    sim: SimulatorServer, grid: Any, grid_settings: Any, tmp_path: Path, tag: str
) -> None:
    sim.control(page_latency=0.15)  # long enough that the run is still going
    lost: list[str] = []

    def delete_a_session(live: faultkit.Live) -> None:
        live.when(4)
        sessions = grid.session_ids()
        assert sessions, "no session on the Grid mid-run"
        grid.delete_session(sessions[0])
        lost.append(sessions[0])

    with RecordingProxy(grid.url) as proxy:
        settings = grid_settings.model_copy(update={"grid_url": proxy.url})
        done = faultkit.run(sim, settings, tmp_path, delete_a_session)

    faultkit.assert_nothing_lost(sim, done, settings, tag)
    assert lost
    # The two workers' sessions and one that replaced the lost one.
    assert proxy.calls("POST", "/session") == 3
    assert grid.session_ids() == []


def test_an_expired_session_signs_in_again_and_the_new_cookies_reach_the_grid(
    sim: SimulatorServer, grid_settings: Any, tmp_path: Path, own_profile: Path, tag: str
) -> None:
    creds = sim.manifest()["credentials"]
    settings = grid_settings.model_copy(
        update={
            "profile_dir": own_profile,
            "username": creds["email"],
            "password": creds["password"],
        }
    )
    sim.control(page_latency=0.2)

    def expire(live: faultkit.Live) -> None:
        live.when(5)
        sim.expire_sessions()

    done = faultkit.run(sim, settings, tmp_path, expire)

    faultkit.assert_nothing_lost(sim, done, settings, tag)
    assert done.report["auth_pauses"] >= 1


def test_a_grid_without_managed_downloads_is_refused_before_any_po(
    sim: SimulatorServer, base_profile: Path, tmp_path: Path
) -> None:
    pos = list(sim.manifest()["pos"])[:3]
    out = tmp_path / "out"
    with running_grid(tmp_path / "plain-grid", managed_downloads=False) as plain:
        command = [
            sys.executable, "-m", "coupadl", "run", str(write_input(tmp_path / "in.csv", pos)),
            "--base-url", sim.base_url, "--out", str(out), "--profile-dir", str(base_profile),
            "--browser-binary", CHROMIUM, "--driver-path", CHROMEDRIVER,
            "--grid-url", plain.url, "--workers", "2",
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
        assert plain.session_ids() == []

    assert done.returncode == ExitCode.BROWSER, done.stderr[-3000:]
    assert "E_GRID" in done.stderr and "--enable-managed-downloads true" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (out / "results.csv").exists()
    assert not list(out.rglob("PO*"))


def test_workers_auto_takes_the_grids_free_slots(
    sim: SimulatorServer, grid: Any, grid_settings: Any, tmp_path: Path
) -> None:
    settings = grid_settings.model_copy(update={"workers": "auto", "max_workers": 8})
    pos = list(sim.manifest()["pos"])[:4]
    outcome = run_batch(write_input(tmp_path / "in.csv", pos), settings)

    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    assert report["workers"] == 2  # the Grid runs two sessions at once (--max-sessions 2)
    assert outcome.exit_code is ExitCode.OK
    wait_for(lambda: grid.session_ids() == [], "the Grid's sessions ended", timeout=30)
