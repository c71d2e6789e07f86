"""kill -9 of the whole run at seeded random moments, then a resume: the output must be
exactly what the simulator's manifest says, every time.

Each case starts a real ``coupadl run`` (alternately pooled and sequential), waits
until a random number of POs has finished plus a random fraction of a second, and
SIGKILLs the main process only: workers and browsers must notice on their own, and
the next run must repair what the kill left (work folders, partial files, POs in
flight, the results file and report).
"""

from __future__ import annotations

import csv
import logging
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coupadl.errors import ExitCode
from coupadl.execution.pool.reaper import processes_of
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.server import SimulatorServer
from helpers import write_input

pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]
log = logging.getLogger(__name__)

SEED = 20261122
KILLS_WANTED = 20
N_POS = 6


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=N_POS, seed=23) as server:
        yield server


def _finished(out: Path) -> int:
    try:
        with sqlite3.connect(f"file:{out / '.coupadl' / 'state.db'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM pos WHERE state='finished'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # no database or no tables yet


def _start_run(input_path: Path, settings: Any, workers: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "coupadl", "run", str(input_path),
        "--base-url", settings.base_url, "--out", str(settings.out),
        "--workers", str(workers), "--profile-dir", str(settings.profile_dir),
        "--browser-binary", str(settings.browser_binary),
        "--driver-path", str(settings.driver_path),
    ]  # fmt: skip
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _kill_at_random_point(process: subprocess.Popen[bytes], out: Path, rng: random.Random) -> bool:
    """SIGKILL the main process after a random number of POs; False if it ended first."""
    wanted = rng.randrange(0, N_POS - 1)
    deadline = time.monotonic() + 120
    while process.poll() is None and _finished(out) < wanted and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(rng.uniform(0.0, 0.5))
    if process.poll() is not None:
        return False
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    # The reaper kills what the run had started, without waiting for the next run.
    deadline = time.monotonic() + 15
    while (left := processes_of(out)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"processes outlived the killed run: {left}"
    return True


def _results_rows(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_kill_minus_nine_at_random_points_then_resume(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    pos = sorted(manifest["pos"])
    input_path = write_input(tmp_path / "in.csv", pos)
    rng = random.Random(SEED)
    kills = cases = 0
    while kills < KILLS_WANTED and cases < KILLS_WANTED + 10:
        cases += 1
        # Spaces and non-ASCII in the output path, on purpose.
        out = tmp_path / f"Bons de commande é {cases}"
        killed_workers, resume_workers = (2, 1) if cases % 2 else (1, 2)
        settings = make_settings(out=out, workers=resume_workers)
        killed = _kill_at_random_point(_start_run(input_path, settings, killed_workers), out, rng)
        kills += killed

        outcome = run_batch(input_path, settings)

        assert outcome.exit_code is ExitCode.OK, f"case {cases}: {outcome}"
        assert compare_with_manifest(out, manifest) == [], f"case {cases}"
        rows = _results_rows(out)
        assert sorted(r["PO_NUMBER"].removeprefix("PO") for r in rows) == pos
        assert {r["PO_NUMBER"].removeprefix("PO"): r["STATUS"] for r in rows} == {
            po: manifest["pos"][po]["status"] for po in pos
        }
        assert processes_of(out) == [], f"case {cases}: processes outlived the run"
    log.warning("crash consistency: %d cases, %d kills survived, lost: 0", cases, kills)
    assert kills >= KILLS_WANTED


def test_a_second_run_on_the_same_output_refuses_and_never_interleaves(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    input_path = write_input(tmp_path / "in.csv", sorted(manifest["pos"]))
    settings = make_settings(out=tmp_path / "out")
    first = _start_run(input_path, settings, workers=1)
    deadline = time.monotonic() + 120
    while first.poll() is None and _finished(settings.out) < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert first.poll() is None, "the first run ended before the second could meet it"

    second = subprocess.run(
        [sys.executable, "-m", "coupadl", "run", str(input_path), "--out", str(settings.out),
         "--base-url", settings.base_url, "--profile-dir", str(settings.profile_dir)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert second.returncode == ExitCode.USAGE
    assert "Another coupadl run is using" in second.stderr + second.stdout
    assert "Traceback" not in second.stderr
    assert first.wait(timeout=300) == ExitCode.OK
    assert compare_with_manifest(settings.out, manifest) == []
