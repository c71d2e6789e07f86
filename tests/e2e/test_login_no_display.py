"""``coupadl login`` on a machine without a screen (a Linux server: no DISPLAY, no
WAYLAND_DISPLAY), run as a person would, in a subprocess against the simulator.

With a username and password it signs in headless by itself and says so; without
them (an SSO that needs a person) it stops before any browser starts, with what to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import faultkit
from conftest import CHROMEDRIVER, CHROMIUM
from coupadl.errors import ExitCode
from helpers import leftover_processes

pytestmark = pytest.mark.browser
tag = faultkit.tag


def _login(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    return subprocess.run(
        [sys.executable, "-m", "coupadl", "login", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
        check=False,
    )


def _common(sim: Any, profile: Path) -> list[str]:
    return ["--base-url", sim.base_url, "--profile-dir", str(profile),
            "--browser-binary", CHROMIUM, "--driver-path", CHROMEDRIVER]  # fmt: skip


def test_with_a_username_and_password_login_goes_headless_by_itself(
    browser_ready: None, sim: Any, tmp_path: Path, tag: str
) -> None:
    creds = sim.manifest()["credentials"]
    common = _common(sim, tmp_path / "profile")
    before = sim.stats()["logins"]

    done = _login(*common, "--username", creds["email"], "--password", creds["password"])

    assert done.returncode == ExitCode.OK, done.stdout + done.stderr
    said = [line for line in done.stderr.splitlines() if "signing in headless" in line]
    assert len(said) == 1, done.stderr
    assert "no display" in said[0]
    assert "Signed in." in done.stderr
    assert creds["password"] not in done.stdout + done.stderr
    assert sim.stats()["logins"] == before + 1  # Coupa's own form was filled
    check = _login("--check", *common)
    assert check.returncode == ExitCode.OK, check.stdout + check.stderr
    assert "signed in" in check.stderr and "not signed in" not in check.stderr
    assert leftover_processes(tag) == []


def test_without_credentials_login_stops_before_any_browser_with_what_to_do(
    browser_ready: None, sim: Any, tmp_path: Path, tag: str
) -> None:
    profile = tmp_path / "profile"

    done = _login(*_common(sim, profile))

    out = " ".join((done.stdout + done.stderr).split())  # the console wraps long lines
    assert done.returncode == ExitCode.BROWSER, out
    assert "E_BROWSER" in out and "No display" in out
    for way in ("--profile-dir", "--headless", "--username", "coupadl login --api", "--engine api"):
        assert way in out, way
    assert "Traceback" not in out
    assert "Chrome instance exited" not in out  # no browser was tried
    assert not profile.exists(), "a browser was started on the profile"
    assert leftover_processes(tag) == []
