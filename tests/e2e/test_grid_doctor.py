"""``coupadl doctor --grid-url`` as a user runs it: the real command against a real
Selenium Grid 4 (tests/gridkit.py), real Chromium and the simulator.

The oracle for what the Grid offers is the Grid itself: its own ``/status`` (the
version its node reports), and the sessions this test starts on it with selenium
directly, not through coupadl.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection
from selenium.webdriver.remote.webdriver import WebDriver

from conftest import CHROMEDRIVER, CHROMIUM
from coupadl.doctor.checks import DoctorExit
from gridkit import grid_missing, running_grid
from helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

LOCAL = ("python", "paths", "browser", "driver", "profile", "output", "tenant")
GRID = ("grid", "browsers", "slots", "managed")
_LINE = re.compile(r"^(ok|warn|fail|skip)\s+(\w+)\s+(.*)$")


def _doctor(
    sim: Any, profile: Path, out: Path, *flags: str, env: dict[str, str] | None = None
) -> tuple[int, dict[str, tuple[str, str]]]:
    """Run the command; its exit code and {check: (level, rest of the line)}."""
    done = subprocess.run(
        [
            sys.executable, "-m", "coupadl", "doctor",
            "--base-url", sim.base_url,
            "--profile-dir", str(profile),
            "--out", str(out),
            "--browser-binary", CHROMIUM,
            "--driver-path", CHROMEDRIVER,
            "--min-free-mb", "1",
            "--no-session-check",
            *flags,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    lines = {}
    for line in (done.stdout + done.stderr).splitlines():
        match = _LINE.match(line)
        if match:
            lines[match.group(2)] = (match.group(1), match.group(3))
    # The Grid's rows come between the local ones and the session's.
    assert tuple(lines) == (*LOCAL, *GRID, "session"), done.stdout + done.stderr
    return done.returncode, lines


def _levels(lines: dict[str, tuple[str, str]], names: tuple[str, ...]) -> dict[str, str]:
    return {name: lines[name][0] for name in names}


@contextmanager
def _chrome_sessions(url: str, count: int) -> Iterator[list[WebDriver]]:
    """``count`` Chrome sessions on the Grid, started with selenium itself."""
    drivers: list[WebDriver] = []
    try:
        for _ in range(count):
            options = webdriver.ChromeOptions()
            for arg in ("--headless=new", "--no-sandbox"):
                options.add_argument(arg)
            options.enable_downloads = True
            connection = ChromiumRemoteConnection(url, vendor_prefix="goog", browser_name="chrome")
            drivers.append(webdriver.Remote(command_executor=connection, options=options))
        yield drivers
    finally:
        for driver in drivers:
            driver.quit()


def _node_version(grid: Any) -> str:
    nodes = grid.status()["nodes"]
    return str(nodes[0]["version"]).split(" ")[0]


@pytest.fixture
def idle_grid(grid: Any) -> Any:
    """The shared Grid with no session left by an earlier test."""
    wait_for(lambda: grid.session_ids() == [], "the Grid's sessions to end", timeout=60)
    return grid


def test_a_grid_that_can_run_the_browsers_passes(
    sim: Any, base_profile: Path, idle_grid: Any, tmp_path: Path
) -> None:
    code, lines = _doctor(sim, base_profile, tmp_path / "out", "--grid-url", idle_grid.url)

    assert _levels(lines, (*LOCAL, *GRID)) == dict.fromkeys((*LOCAL, *GRID), "ok"), lines
    assert code == DoctorExit.OK
    grid_line = lines["grid"][1]
    assert idle_grid.url in grid_line
    assert f"Selenium Grid {_node_version(idle_grid)} " in grid_line
    assert "2 of 2 chrome slots free" in lines["slots"][1]  # --max-sessions 2
    assert "chrome" in lines["browsers"][1]
    assert "managed downloads on for chrome" in lines["managed"][1]


def test_busy_slots_are_counted_and_a_full_grid_warns(
    sim: Any, base_profile: Path, idle_grid: Any, tmp_path: Path
) -> None:
    with _chrome_sessions(idle_grid.url, 1):
        code, lines = _doctor(sim, base_profile, tmp_path / "out", "--grid-url", idle_grid.url)
        assert lines["slots"] == ("ok", "1 of 2 chrome slots free")
        assert code == DoctorExit.OK
        with _chrome_sessions(idle_grid.url, 1):
            code, lines = _doctor(sim, base_profile, tmp_path / "out", "--grid-url", idle_grid.url)

    level, text = lines["slots"]
    assert level == "warn"
    assert "0 of 2 chrome slots free" in text and "queue" in text
    assert code == DoctorExit.WARNINGS


def test_a_grid_without_managed_downloads_fails_with_the_flag_to_start_it_with(
    sim: Any, base_profile: Path, browser_ready: None, tmp_path: Path
) -> None:
    if grid_missing():
        pytest.skip(grid_missing())
    with running_grid(tmp_path / "grid", managed_downloads=False) as plain:
        code, lines = _doctor(sim, base_profile, tmp_path / "out", "--grid-url", plain.url)

    level, text = lines["managed"]
    assert level == "fail"
    advice = text.split("-> ", 1)[1]
    assert "--enable-managed-downloads true" in advice and "docs/grid.md" in advice
    assert code == DoctorExit.FAILED
    # The Grid itself is fine: it answers, and has both chrome slots free.
    assert _levels(lines, (*LOCAL, "grid", "browsers", "slots")) == dict.fromkeys(
        (*LOCAL, "grid", "browsers", "slots"), "ok"
    )
    assert lines["slots"][1] == "2 of 2 chrome slots free"


def test_a_grid_that_does_not_answer_fails_and_the_rest_is_not_checked(
    sim: Any, base_profile: Path, browser_ready: None, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nobody = f"http://127.0.0.1:{sock.getsockname()[1]}"
    # From the environment, as a run would take it.
    code, lines = _doctor(sim, base_profile, tmp_path / "out", env={"COUPA_GRID_URL": nobody})

    level, text = lines["grid"]
    assert level == "fail"
    assert nobody in text and "E_GRID" in text
    assert "--grid-url" in text.split("-> ", 1)[1]
    assert _levels(lines, GRID[1:]) == dict.fromkeys(GRID[1:], "skip")
    assert _levels(lines, LOCAL) == dict.fromkeys(LOCAL, "ok")  # still checked
    assert code == DoctorExit.FAILED
