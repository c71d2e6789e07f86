"""Secrets and isolation, end to end: a real batch through the CLI, then every artefact is
searched for the session cookie and the password.

The simulator gets a random password and records every session token it issues; the run
(two workers, ``--verbose``, a JSON log file) has its session expired half-way, so it
signs in again with the password, and one file is broken, so error texts are written.
None of those values may appear in the results, report.json, report.html, the logs,
the run state database (with its WAL), any other file under ``<out>``, or error texts.
Profile clones and run state are private to the user, and clones are gone afterwards.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coupadl.errors import ConfigError, ExitCode
from coupadl.runs.batch import run_batch
from coupadl.settings import load_settings
from coupadl.simulator.auth import Credentials
from coupadl.simulator.data import expected_attachments
from coupadl.simulator.server import SimulatorServer
from helpers import record_session_tokens, write_input

pytestmark = pytest.mark.browser

PASSWORD = "pw-" + secrets.token_hex(12)
EMAIL = "buyer@example.com"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """A tenant with a random password that records every session token it hands out."""
    with SimulatorServer(n_pos=20, seed=11, credentials=Credentials(EMAIL, PASSWORD)) as server:
        record_session_tokens(server)
        yield server


def _secrets_of(sim: SimulatorServer) -> dict[str, bytes]:
    """Every secret value and the distinctive parts of each, as bytes to search for."""
    found = {"password": PASSWORD.encode()}
    for i, token in enumerate(sim.issued):  # type: ignore[attr-defined]
        found[f"session cookie {i}"] = token.encode()
        _, nonce, signature = token.split(".")
        found[f"session cookie {i} (nonce)"] = nonce.encode()
        found[f"session cookie {i} (signature)"] = signature.encode()
    return found


def _leaks(blob: bytes, where: str, values: dict[str, bytes]) -> list[str]:
    return [f"{what} in {where}" for what, value in values.items() if value in blob]


def _expire_after(sim: SimulatorServer, n_pos: int) -> threading.Thread:
    """Expire every session once the run has opened ``n_pos`` PO pages."""

    def watch() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if len(sim.stats()["pos"]) >= n_pos:
                sim.expire_sessions()
                return
            time.sleep(0.1)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    "engine_args",
    [["--engine", "browser", "--workers", "2"], ["--engine", "http", "--concurrency", "2"]],
    ids=["browser", "http"],
)
def test_no_secret_in_any_artefact(
    sim: SimulatorServer,
    base_profile: Path,
    make_settings: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    engine_args: list[str],
) -> None:
    settings = make_settings()  # paths of browser, driver and the signed-in profile
    manifest = sim.manifest()
    pos = [po for po, t in manifest["pos"].items() if t["status"] == "COMPLETED"][:8]
    broken = next(
        f for _, f in expected_attachments(sim.dataset, sim.dataset.pos[pos[0]], "no_pdf")
    )
    sim.control(file_faults={str(broken.file_id): "empty"})
    # Chromium puts its singleton socket under TMPDIR: a long path would not fit in a
    # socket address, so a short private folder instead of one under tmp_path.
    clones = Path(tempfile.mkdtemp(prefix="cdl-"))
    request.addfinalizer(lambda: shutil.rmtree(clones, ignore_errors=True))
    out, log_file = tmp_path / "out", tmp_path / "run.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPA_")}
    env.update(
        COUPA_USERNAME=EMAIL,
        COUPA_PASSWORD=PASSWORD,  # the run signs in again with it when the session expires
        COUPA_RETRY_BACKOFF="0.2",
        SE_OFFLINE="true",
        TMPDIR=str(clones),  # profile clones go here, so the test can look at them
    )
    command = [
        sys.executable, "-m", "coupadl", "run", str(write_input(tmp_path / "in.csv", pos)),
        "--base-url", sim.base_url, "--out", str(out), *engine_args,
        "--profile-dir", str(base_profile), "--browser-binary", str(settings.browser_binary),
        "--driver-path", str(settings.driver_path), "--verbose",
        "--log-file", str(log_file), "--log-format", "json",
    ]  # fmt: skip
    logins_before = sim.stats()["logins"]
    sim.reset_stats()
    watcher = _expire_after(sim, 3)
    try:
        done = subprocess.run(
            command, env=env, capture_output=True, timeout=400, stdin=subprocess.DEVNULL
        )
    finally:
        watcher.join(timeout=1)
        sim.control(file_faults=None)
    output = done.stdout + done.stderr
    assert done.returncode == ExitCode.INCOMPLETE, output.decode(errors="replace")[-3000:]
    assert sim.stats()["logins"] >= 1, "the run never signed in again: the password was unused"
    assert len(sim.issued) >= 2  # type: ignore[attr-defined]
    assert b"Traceback" not in output
    assert b"the server sent an empty file" in (out / "results.csv").read_bytes()
    assert logins_before >= 1

    values = _secrets_of(sim)
    leaks = _leaks(output, "the CLI's stdout/stderr (--verbose)", values)
    artefacts = [log_file, *sorted(p for p in out.rglob("*") if p.is_file())]
    names = {p.name for p in artefacts}
    assert {"results.csv", "report.json", "state.db", "run.log"} <= names, names
    for path in artefacts:
        leaks += _leaks(path.read_bytes(), str(path.relative_to(tmp_path)), values)
    assert leaks == []

    # The password is not kept by the browser either (no saved login in the profile).
    for login_data in base_profile.rglob("Login Data"):
        with sqlite3.connect(f"file:{login_data}?mode=ro", uri=True) as db:
            assert db.execute("SELECT COUNT(*) FROM logins").fetchone()[0] == 0
    for path in (p for p in base_profile.rglob("*") if p.is_file()):
        assert PASSWORD.encode() not in path.read_bytes(), path

    # Run state private to the user; no profile clone left behind.
    if os.name == "posix":
        state_dir = out / ".coupadl"
        assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
        for db_file in state_dir.glob("state.db*"):
            assert stat.S_IMODE(db_file.stat().st_mode) == 0o600, db_file
    assert [p.name for p in clones.iterdir() if p.name.startswith("coupadl-")] == []


def test_error_texts_do_not_echo_the_password(tmp_path: Path) -> None:
    """Settings errors show the problem, never the values (pydantic would show inputs)."""
    secret = "pw-" + secrets.token_hex(12)
    for bad in ({"base_url": "http://acme.example.com"}, {"workers": "many"}):
        with pytest.raises(ConfigError) as info:
            load_settings({**bad, "password": secret, "username": EMAIL})
        assert secret not in info.value.message
        assert secret not in str(info.value)
    settings = load_settings({"password": secret, "base_url": "https://acme.example.com"})
    assert secret not in repr(settings) and secret not in str(settings)


@pytest.mark.parametrize("workers", [1, 2])
def test_clones_left_by_a_killed_run_are_removed_by_the_next_run(
    sim: SimulatorServer,
    base_profile: Path,
    make_settings: Any,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    workers: int,
) -> None:
    """kill -9 leaves the run's profile clones (copies of the signed-in session) in the
    temp folder; the next start, sequential or pooled, removes them."""
    clones = Path(tempfile.mkdtemp(prefix="cdl-"))
    request.addfinalizer(lambda: shutil.rmtree(clones, ignore_errors=True))
    settings = make_settings(out=tmp_path / "out", workers=workers)
    manifest = sim.manifest()
    input_path = write_input(tmp_path / "in.csv", list(manifest["pos"])[:6])
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPA_")}
    env.update(SE_OFFLINE="true", TMPDIR=str(clones))
    command = [
        sys.executable, "-m", "coupadl", "run", str(input_path),
        "--base-url", sim.base_url, "--out", str(settings.out), "--engine", "browser",
        "--workers", str(workers),
        "--profile-dir", str(base_profile), "--browser-binary", str(settings.browser_binary),
        "--driver-path", str(settings.driver_path),
    ]  # fmt: skip
    sim.control(page_latency=0.5)  # time to kill it mid-run
    sim.reset_stats()
    try:
        run = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run.poll() is None:
            if sim.stats()["pos"]:  # a browser is at work on its clone
                break
            time.sleep(0.05)
        assert run.poll() is None, "the run ended before it could be killed"
        run.kill()
        run.wait(timeout=30)
    finally:
        sim.control(page_latency=0.0)
    left = [p for p in clones.iterdir() if p.name.startswith("coupadl-clone-")]
    assert left, "the killed run left no clone: nothing to prove"

    monkeypatch.setattr(tempfile, "tempdir", str(clones))  # this process's clones go there too
    outcome = run_batch(input_path, settings)

    assert outcome.exit_code is ExitCode.OK
    assert [p.name for p in clones.iterdir() if p.name.startswith("coupadl-")] == []
