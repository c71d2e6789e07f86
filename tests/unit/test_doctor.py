"""Each decision of ``coupadl doctor``, with fakes for what it talks to (no browser)."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest

from coupadl.doctor import environment, network, output
from coupadl.doctor.checks import DoctorExit, exit_code, run_doctor
from coupadl.doctor.environment import (
    check_browser,
    check_driver,
    check_python,
    major,
    program_version,
)
from coupadl.doctor.network import HttpAnswer, check_tenant
from coupadl.doctor.output import check_output
from coupadl.doctor.profile import check_profile, check_session
from coupadl.doctor.result import Check, Level
from coupadl.errors import BrowserError, ExitCode, ProfileLockedError
from coupadl.settings import Settings, load_settings

BASE = "https://acme.coupahost.com"


@pytest.fixture(autouse=True)
def _no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The machine's proxy variables must not steer the tenant checks."""
    for name in list(os.environ):
        if name.lower() in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
            monkeypatch.delenv(name)


def _exe(path: Path, stdout: str = "", stderr: str = "", code: int = 0) -> Path:
    path.write_text(
        f"#!/bin/sh\nprintf '%s' '{stdout}'\nprintf '%s' '{stderr}' >&2\nexit {code}\n",
        encoding="utf-8",
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _settings(tmp_path: Path, **values: Any) -> Settings:
    browser = tmp_path / "browser-bin"
    driver = tmp_path / "driver-bin"
    for path in (browser, driver):
        path.touch()
    defaults: dict[str, Any] = {
        "base_url": BASE,
        "browser_binary": browser,
        "driver_path": driver,
        "profile_dir": tmp_path / "profile",
        "out": tmp_path / "out",
    }
    defaults.update(values)
    return load_settings(defaults)


def _versions(browser: str | None, driver: str | None) -> Any:
    return lambda path, is_browser: browser if is_browser else driver


# --- python -----------------------------------------------------------------------------


def test_python_3_11_or_newer_is_ok_older_fails() -> None:
    assert check_python((3, 11, 2)).level is Level.OK
    assert check_python((3, 13, 0)).level is Level.OK
    old = check_python((3, 10, 12))
    assert old.level is Level.FAIL
    assert "3.11" in old.detail and old.advice


# --- versions -----------------------------------------------------------------------------


@pytest.mark.skipif(os.name == "nt", reason="shell-script fakes")
def test_program_version_reads_the_version_a_program_prints(tmp_path: Path) -> None:
    driver = _exe(tmp_path / "chromedriver", "ChromeDriver 120.0.6099.109 (abc-refs/heads/x)")
    wrapper = _exe(tmp_path / "chromium", "Chromium 156.0.8078.79 built on Debian",
                   "[: 25276502016: unexpected operator")  # fmt: skip
    silent = _exe(tmp_path / "silent", "", "", 1)

    assert program_version(driver) == "120.0.6099.109"
    assert program_version(wrapper, True) == "156.0.8078.79"
    assert program_version(silent) is None
    assert program_version(tmp_path / "missing") is None


def test_windows_browser_version_comes_from_the_install_folder(tmp_path: Path) -> None:
    exe = tmp_path / "msedge.exe"
    exe.touch()
    for name in ("119.0.2151.97", "120.0.2210.61", "Locales", "SetupMetrics"):
        (tmp_path / name).mkdir()

    assert environment._windows_install_version(exe) == "120.0.2210.61"


def test_major_version() -> None:
    assert major("156.0.8078.79") == 156
    assert major("Microsoft Edge WebDriver 120.0.2210.61") == 120
    assert major(None) is None
    assert major("unknown") is None


# --- browser and driver -------------------------------------------------------------------


def test_browser_found_with_its_version(tmp_path: Path) -> None:
    check, version = check_browser(_settings(tmp_path), _versions("156.0.8078.79", None))
    assert check.level is Level.OK
    assert version == "156.0.8078.79"
    assert "156.0.8078.79" in check.detail


def test_browser_missing_fails_with_where_to_get_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path, browser_binary=tmp_path / "nowhere" / "chromium")
    check, version = check_browser(settings, _versions("1.2.3", None))
    assert check.level is Level.FAIL and version is None
    assert "--browser-binary" in check.advice


def test_browser_without_a_readable_version_warns(tmp_path: Path) -> None:
    check, version = check_browser(_settings(tmp_path), _versions(None, None))
    assert check.level is Level.WARN and version is None


def test_driver_of_the_same_major_version_is_ok(tmp_path: Path) -> None:
    check = check_driver(_settings(tmp_path), "156.0.8078.79", _versions(None, "156.0.8078.12"))
    assert check.level is Level.OK
    assert "156" in check.detail


def test_driver_of_another_major_version_fails_with_the_version_to_get(tmp_path: Path) -> None:
    check = check_driver(_settings(tmp_path), "156.0.8078.79", _versions(None, "120.0.6099.109"))
    assert check.level is Level.FAIL
    assert "120" in check.detail and "156" in check.detail
    assert "--driver-path" in check.advice and "never downloads" in check.advice


def test_edge_driver_advice_names_msedgedriver(tmp_path: Path) -> None:
    settings = _settings(tmp_path, browser="edge")
    check = check_driver(settings, "121.0.1.1", _versions(None, "120.0.1.1"))
    assert check.level is Level.FAIL
    assert "msedgedriver 121" in check.advice


def test_driver_missing_or_silent_fails(tmp_path: Path) -> None:
    missing = _settings(tmp_path, driver_path=tmp_path / "nowhere" / "chromedriver")
    assert check_driver(missing, "156.0.1.1", _versions(None, "156.0.1.1")).level is Level.FAIL
    silent = check_driver(_settings(tmp_path), "156.0.1.1", _versions(None, None))
    assert silent.level is Level.FAIL
    assert "--version" in silent.advice


def test_driver_cannot_be_compared_with_an_unknown_browser_version(tmp_path: Path) -> None:
    check = check_driver(_settings(tmp_path), None, _versions(None, "156.0.1.1"))
    assert check.level is Level.WARN


# --- profile and session ------------------------------------------------------------------


def test_missing_profile_fails_with_the_login_command(tmp_path: Path) -> None:
    check = check_profile(tmp_path / "none", BASE)
    assert check.level is Level.FAIL
    assert f"coupadl login --base-url {BASE}" in check.advice


def test_profile_that_is_a_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "profile"
    path.write_text("x", encoding="utf-8")
    assert check_profile(path).level is Level.FAIL


@pytest.mark.skipif(os.name == "nt", reason="Chromium's SingletonLock is a POSIX symlink")
def test_profile_held_by_a_running_browser_fails(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "Local State").write_text("{}", encoding="utf-8")
    # What a live Chromium leaves: SingletonLock -> "<host>-<pid>"; this process is alive.
    os.symlink(f"{socket.gethostname()}-{os.getpid()}", profile / "SingletonLock")

    check = check_profile(profile)

    assert check.level is Level.FAIL
    assert str(os.getpid()) in check.detail
    assert "close the browser" in check.advice


@pytest.mark.skipif(os.name == "nt", reason="Chromium's SingletonLock is a POSIX symlink")
def test_profile_with_a_stale_lock_is_ok(tmp_path: Path) -> None:
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "Local State").write_text("{}", encoding="utf-8")
    os.symlink(f"{socket.gethostname()}-999999999", profile / "SingletonLock")
    assert check_profile(profile).level is Level.OK


def test_empty_profile_warns(tmp_path: Path) -> None:
    (tmp_path / "profile").mkdir()
    check = check_profile(tmp_path / "profile")
    assert check.level is Level.WARN
    assert "coupadl login" in check.advice


def test_session_skipped_on_request_or_when_something_it_needs_failed(tmp_path: Path) -> None:
    def boom(settings: Settings) -> bool:
        raise AssertionError("no browser should start")

    settings = _settings(tmp_path)
    skipped = check_session(settings, wanted=False, signed_in=boom)
    assert skipped.level is Level.SKIP and "--no-session-check" in skipped.detail
    blocked = check_session(settings, blocked_by="driver failed", signed_in=boom)
    assert blocked.level is Level.SKIP and "driver failed" in blocked.detail


def test_session_signed_in_or_out(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    assert check_session(settings, signed_in=lambda s: True).level is Level.OK
    out = check_session(settings, signed_in=lambda s: False)
    assert out.level is Level.FAIL
    assert f"coupadl login --base-url {BASE}" in out.advice


def test_session_errors_become_failed_checks(tmp_path: Path) -> None:
    def locked(settings: Settings) -> bool:
        raise ProfileLockedError("in use by process 42")

    def broken(settings: Settings) -> bool:
        raise BrowserError("Could not start chromium: crashed")

    settings = _settings(tmp_path)
    assert check_session(settings, signed_in=locked).level is Level.FAIL
    failed = check_session(settings, signed_in=broken)
    assert failed.level is Level.FAIL and "E_BROWSER" in failed.detail


# --- output -------------------------------------------------------------------------------

GB = 1024**3


def _disk(free: int) -> Any:
    return lambda path: (100 * GB, 100 * GB - free, free)


def test_writable_output_with_room_is_ok(tmp_path: Path) -> None:
    check = check_output(tmp_path, GB, disk_usage=_disk(50 * GB))
    assert check.level is Level.OK
    assert "50.0 GB free" in check.detail
    assert list(tmp_path.iterdir()) == []  # the write probe leaves nothing behind


def test_output_not_there_yet_is_checked_on_its_parent(tmp_path: Path) -> None:
    seen: list[Path] = []

    def usage(path: Path) -> tuple[int, int, int]:
        seen.append(path)
        return (100 * GB, 0, 100 * GB)

    check = check_output(tmp_path / "a" / "b", GB, disk_usage=usage)

    assert check.level is Level.OK and "will be created" in check.detail
    assert seen == [tmp_path]
    assert not (tmp_path / "a").exists()


def test_low_free_space_warns(tmp_path: Path) -> None:
    check = check_output(tmp_path, GB, disk_usage=_disk(200 * 1024**2))
    assert check.level is Level.WARN
    assert "200.0 MB" in check.detail and "--out" in check.advice


def test_unwritable_output_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    denied = check_output(tmp_path, GB, _disk(50 * GB), probe_write=lambda p: "Permission denied")
    assert denied.level is Level.FAIL and "Permission denied" in denied.detail
    monkeypatch.setattr(output.os, "access", lambda path, mode: False)
    cannot_create = check_output(tmp_path / "new", GB, _disk(50 * GB))
    assert cannot_create.level is Level.FAIL


def test_output_that_is_a_file_fails(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("x", encoding="utf-8")
    assert check_output(path, GB, _disk(50 * GB)).level is Level.FAIL


def test_unknown_free_space_warns(tmp_path: Path) -> None:
    def broken(path: Path) -> tuple[int, int, int]:
        raise OSError("statvfs failed")

    assert check_output(tmp_path, GB, disk_usage=broken).level is Level.WARN


# --- tenant -------------------------------------------------------------------------------


def _answer(answer: HttpAnswer) -> Any:
    return lambda url, timeout, proxy: answer


def test_no_tenant_url_fails() -> None:
    check = check_tenant(None, get=_answer(HttpAnswer(200)))
    assert check.level is Level.FAIL and "--base-url" in check.advice


@pytest.mark.parametrize(
    ("answer", "level", "words"),
    [
        (HttpAnswer(200), Level.OK, "answered 200"),
        (HttpAnswer(302, "https://login.microsoftonline.com/x/saml2"), Level.OK,
         "login.microsoftonline.com (single sign-on)"),
        (HttpAnswer(302, f"{BASE}/sessions/new"), Level.OK, "its sign-in form"),
        (HttpAnswer(302, "/sessions/new"), Level.OK, "its sign-in form"),
        (HttpAnswer(404), Level.WARN, "HTTP 404"),
        (HttpAnswer(503), Level.WARN, "HTTP 503"),
        (HttpAnswer(407), Level.FAIL, "407"),
        (HttpAnswer(None, error="[Errno 111] Connection refused"), Level.FAIL,
         "did not answer: [Errno 111] Connection refused"),
    ],
)  # fmt: skip
def test_tenant_answers(answer: HttpAnswer, level: Level, words: str) -> None:
    check = check_tenant(BASE, get=_answer(answer))
    assert check.level is level
    assert words in check.detail
    assert "direct, no proxy set" in check.detail
    assert bool(check.advice) == (level is not Level.OK)


def test_unreachable_tenant_advice_depends_on_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    refused = _answer(HttpAnswer(None, error="timed out"))
    assert "VPN" in check_tenant(BASE, get=refused).advice

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    behind = check_tenant(BASE, get=refused)
    assert "proxy.corp:3128" in behind.advice and "NO_PROXY" in behind.advice

    tls = check_tenant(BASE, get=_answer(HttpAnswer(None, error="CERTIFICATE_VERIFY", tls=True)))
    assert "SSL_CERT_FILE" in tls.advice


def test_the_route_names_the_variable_and_hides_the_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    used: list[str | None] = []

    def get(url: str, timeout: float, proxy: str | None) -> HttpAnswer:
        used.append(proxy)
        return HttpAnswer(200)

    monkeypatch.setenv("HTTPS_PROXY", "http://me:s3cret@proxy.corp:3128")

    route = check_tenant(BASE, get=get).detail

    assert "via proxy http://me:***@proxy.corp:3128 (HTTPS_PROXY)" in route
    assert "s3cret" not in route
    monkeypatch.setenv("NO_PROXY", ".coupahost.com")
    assert "direct: acme.coupahost.com is in NO_PROXY" in check_tenant(BASE, get=get).detail
    assert used[-1] is None


def test_the_check_goes_through_the_proxy_it_names(monkeypatch: pytest.MonkeyPatch) -> None:
    used: list[str | None] = []

    def get(url: str, timeout: float, proxy: str | None) -> HttpAnswer:
        used.append(proxy)
        return HttpAnswer(200)

    monkeypatch.setenv("HTTPS_PROXY", "http://me:s3cret@proxy.corp:3128")
    check = check_tenant(BASE, get=get)
    assert used == ["http://me:s3cret@proxy.corp:3128"]  # the real one, password included
    assert "s3cret" not in check.detail and "proxy.corp:3128" in check.detail

    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    local = check_tenant("http://127.0.0.1:8765", get=get)
    assert used[-1] is None  # this computer's addresses are reached directly, as browsers do
    assert "direct: 127.0.0.1 is this computer" in local.detail


def test_fetch_of_loopback_ignores_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    from coupadl.simulator.server import SimulatorServer

    with socket.socket() as sock:  # a proxy that is not there
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{sock.getsockname()[1]}")
    with SimulatorServer(n_pos=2, seed=3) as sim:
        check = check_tenant(sim.base_url)
    assert check.level is Level.OK, check


def test_fetch_reports_a_redirect_without_following_it() -> None:
    from coupadl.simulator.server import SimulatorServer

    with SimulatorServer(n_pos=2, seed=3) as sim:
        answer = network.fetch(sim.base_url + "/", 5)
        check = check_tenant(sim.base_url)
    assert answer.status == 302
    assert answer.location.startswith("/sessions/new")
    assert check.level is Level.OK and "its sign-in form" in check.detail


def test_fetch_of_a_closed_port_is_no_answer() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answer = network.fetch(f"http://127.0.0.1:{port}/", 5)
    assert answer.status is None and answer.error


# --- all together -------------------------------------------------------------------------


def test_exit_code_is_the_worst_level() -> None:
    ok, warn, fail, skip = (Check("x", level, "") for level in Level)
    assert exit_code([ok, skip]) is DoctorExit.OK
    assert exit_code([ok, warn, skip]) is DoctorExit.WARNINGS
    assert exit_code([ok, warn, fail]) is DoctorExit.FAILED
    assert (DoctorExit.OK, DoctorExit.WARNINGS, DoctorExit.FAILED) == (0, 10, 11)
    # Never a value a run exits with, so scripts can tell them apart.
    assert not {DoctorExit.WARNINGS, DoctorExit.FAILED} & {int(c) for c in ExitCode}


def test_run_doctor_skips_the_session_when_what_it_needs_failed(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = _settings(
        tmp_path, base_url=f"http://127.0.0.1:{port}", driver_path=tmp_path / "no-driver"
    )

    checks = {c.name: c for c in run_doctor(settings, tenant_timeout=5)}

    assert list(checks) == ["python", "paths", "browser", "driver", "profile", "output", "tenant",
                            "session"]  # fmt: skip
    assert checks["driver"].level is Level.FAIL
    assert checks["tenant"].level is Level.FAIL
    assert checks["session"].level is Level.SKIP
    assert "driver, profile and tenant failed" in checks["session"].detail
