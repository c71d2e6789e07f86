"""SIGTERM to a real ``coupadl run --sequential``: the first one lets the PO in flight
finish, the run exits 130 with the rest pending, and a re-run completes.

The CLI turns SIGTERM into KeyboardInterrupt for its own cleanup; before the run took
that handler over, the first SIGTERM aborted the PO in flight (it stayed unfinished).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import faultkit
from coupadl.errors import ExitCode
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.server import SimulatorServer
from helpers import leftover_processes, write_input

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

tag = faultkit.tag  # every process the test starts (the CLI's too) carries the test's tag

N_POS = 6
PAGE_LATENCY = 1.5  # seconds per page: long enough that the signal meets a PO in flight


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=N_POS, seed=31) as server:
        yield server


def _pos_in(out: Path, state: str) -> set[str]:
    try:
        with sqlite3.connect(f"file:{out / '.coupadl' / 'state.db'}?mode=ro", uri=True) as db:
            rows = db.execute("SELECT po_number FROM pos WHERE state = ?", (state,)).fetchall()
    except sqlite3.OperationalError:
        return set()  # no database or no tables yet
    return {row[0] for row in rows}


def test_first_sigterm_finishes_the_po_in_flight_then_exits_130(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str
) -> None:
    manifest = sim.manifest()
    pos = sorted(manifest["pos"])
    input_path = write_input(tmp_path / "in.csv", pos)
    settings = make_settings()
    sim.control(page_latency=PAGE_LATENCY)
    command = [
        sys.executable, "-m", "coupadl", "run", str(input_path), "--sequential",
        "--base-url", settings.base_url, "--out", str(settings.out),
        "--profile-dir", str(settings.profile_dir),
        "--browser-binary", str(settings.browser_binary),
        "--driver-path", str(settings.driver_path),
    ]  # fmt: skip
    env = {**os.environ, "COUPA_RETRY_BACKOFF": "0.2"}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        # Wait for a PO in flight after one has finished (the browser is up and busy).
        deadline = time.monotonic() + 120
        in_flight: set[str] = set()
        while process.poll() is None and time.monotonic() < deadline:
            in_flight = _pos_in(settings.out, "running")
            if in_flight and _pos_in(settings.out, "finished"):
                break
            time.sleep(0.05)
        assert process.poll() is None and in_flight, "the run never had a PO in flight"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    sim.control(page_latency=0.0)
    text = output.decode(errors="replace")

    assert process.returncode == ExitCode.INTERRUPTED, text
    assert "finishing the PO in flight" in text, text
    finished = _pos_in(settings.out, "finished")
    assert in_flight <= finished, f"the PO in flight {in_flight} did not finish:\n{text}"
    assert len(finished) < N_POS, "the run finished everything: the signal came too late"
    assert leftover_processes(tag) == [], "processes of the run left behind"

    sim.reset_stats()
    outcome = run_batch(input_path, settings)

    assert outcome.exit_code is ExitCode.OK
    assert outcome.skipped == len(finished)
    assert not set(sim.stats()["pos"]) & finished, "finished POs were fetched again"
    assert compare_with_manifest(settings.out, manifest) == []


def test_sigterm_stops_the_demo_like_ctrl_c(tmp_path: Path, tag: str) -> None:
    """``coupadl demo`` runs its own simulator and browsers: a SIGTERM must end it as an
    interrupt (exit 130, nothing left running), not kill it mid-way."""
    out = tmp_path / "demo"
    command = [sys.executable, "-m", "coupadl", "demo", "--out", str(out), "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if _pos_in(out / "downloads", "finished"):
                break
            time.sleep(0.05)
        assert process.poll() is None, "the demo ended before a PO finished"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    text = output.decode(errors="replace")

    assert process.returncode == ExitCode.INTERRUPTED, text
    assert "Interrupted." in text, text
    assert leftover_processes(tag) == [], "processes of the run left behind"
