"""``coupadl doctor`` as a user runs it: the real command, real Chromium, the simulator."""

from __future__ import annotations

import re
import shutil
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from coupadl.doctor.checks import DoctorExit
from coupadl.simulator.server import SimulatorServer

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"  # as in tests/conftest.py
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHECKS = ("python", "paths", "browser", "driver", "profile", "output", "tenant", "session")
_LINE = re.compile(r"^(ok|warn|fail|skip)\s+(\w+)\s+(.*)$")


def _doctor(
    sim: Any, profile: Path, out: Path, *extra: str, flags: tuple[str, ...] = ()
) -> tuple[int, dict[str, Any]]:
    """Run the command (``extra``: option/value pairs that replace the defaults); its exit
    code and {check: (level, rest of the line)}."""
    args = {
        "--base-url": sim.base_url,
        "--profile-dir": str(profile),
        "--out": str(out),
        "--browser-binary": CHROMIUM,
        "--driver-path": CHROMEDRIVER,
        "--min-free-mb": "1",
    }
    overrides = dict(zip(extra[::2], extra[1::2], strict=True))
    argv = [item for pair in {**args, **overrides}.items() for item in pair]
    done = subprocess.run(
        [sys.executable, "-m", "coupadl", "doctor", *argv, *flags],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    lines = {}
    for line in (done.stdout + done.stderr).splitlines():
        match = _LINE.match(line)
        if match:
            lines[match.group(2)] = (match.group(1), match.group(3))
    assert tuple(lines) == CHECKS, done.stdout + done.stderr
    return done.returncode, lines


def test_everything_ok_with_a_signed_in_profile(
    sim: Any, base_profile: Path, tmp_path: Path
) -> None:
    code, lines = _doctor(sim, base_profile, tmp_path / "out")

    assert {name: level for name, (level, _) in lines.items()} == dict.fromkeys(CHECKS, "ok")
    assert code == DoctorExit.OK
    assert "matches the browser" in lines["driver"][1]
    assert "its sign-in form" in lines["tenant"][1]  # anonymous GET: off to /sessions/new
    assert "signed in" in lines["session"][1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _old_driver(folder: Path) -> Path:
    """A 'chromedriver' of another major version than the browser."""
    fake = folder / "chromedriver"
    fake.write_text("#!/bin/sh\necho 'ChromeDriver 99.0.4844.51 (old)'\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake


@pytest.mark.parametrize(
    ("case", "failing", "advice"),
    [
        ("missing driver", "driver", "--driver-path"),
        ("old driver", "driver", "chromium-driver"),
        ("unreachable tenant", "tenant", "VPN"),
        ("missing profile", "profile", "coupadl login --base-url"),
    ],
)
def test_a_broken_set_up_fails_with_advice(
    sim: Any, base_profile: Path, tmp_path: Path, case: str, failing: str, advice: str
) -> None:
    extra = {
        "missing driver": ("--driver-path", str(tmp_path / "nowhere" / "chromedriver")),
        "old driver": ("--driver-path", str(_old_driver(tmp_path))),
        "unreachable tenant": ("--base-url", f"http://127.0.0.1:{_free_port()}"),
        "missing profile": ("--profile-dir", str(tmp_path / "no-profile")),
    }[case]

    code, lines = _doctor(sim, base_profile, tmp_path / "out", *extra)

    level, text = lines[failing]
    assert level == "fail"
    assert "-> " in text and advice in text.split("-> ", 1)[1]
    assert code == DoctorExit.FAILED
    # The slow session check does not start a browser that cannot work.
    assert lines["session"][0] == "skip"
    others = {n: lv for n, (lv, _) in lines.items() if n not in (failing, "session")}
    assert set(others.values()) == {"ok"}, lines


def test_an_expired_session_fails_the_session_check(
    sim: Any, base_profile: Path, tmp_path: Path
) -> None:
    # A second tenant with the same seed accepts the profile's session cookie (cookies
    # ignore the port); expiring its sessions leaves the shared fixture's tenant alone.
    with SimulatorServer(n_pos=2, seed=sim.dataset.seed) as other:
        other.expire_sessions()

        code, lines = _doctor(other, base_profile, tmp_path / "out")

    level, text = lines["session"]
    assert level == "fail"
    assert "signed out" in text and "coupadl login --base-url" in text
    assert code == DoctorExit.FAILED


def test_session_check_can_be_left_out(sim: Any, base_profile: Path, tmp_path: Path) -> None:
    code, lines = _doctor(sim, base_profile, tmp_path / "out", flags=("--no-session-check",))

    assert lines["session"][0] == "skip"
    assert code == DoctorExit.OK
