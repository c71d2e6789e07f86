"""The doctor's ``paths`` row: which config file, profile, browser and driver were found,
from plain data (fake Windows and macOS paths, the platform given), no real OS needed."""

from __future__ import annotations

from pathlib import Path, PureWindowsPath

import pytest

from coupadl.doctor.checks import run_doctor
from coupadl.doctor.locations import Found, check_locations, config_origin, describe
from coupadl.doctor.result import Level
from coupadl.errors import BrowserError
from coupadl.settings import Settings, load_settings

EDGE = PureWindowsPath(r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe")
PROFILE = PureWindowsPath(r"C:\Users\ana\AppData\Local\coupadl\base-profile")


def _found(**overrides: object) -> Found:
    values: dict[str, object] = {
        "config": None,
        "config_origin": "",
        "cwd": PureWindowsPath(r"C:\Users\ana\coupa"),
        "profile": PROFILE,
        "profile_is_default": True,
        "browser": EDGE,
        "driver": PureWindowsPath(r"C:\tools\msedgedriver.exe"),
    }
    values.update(overrides)
    return Found(**values)  # type: ignore[arg-type]


def test_a_windows_laptop_without_a_config_file_is_told_where_coupadl_looked() -> None:
    check = describe(_found(), "win32")

    assert check.name == "paths" and check.level is Level.OK
    assert r"looked at --config, COUPA_CONFIG and C:\Users\ana\coupa" in check.detail
    assert "$env:COUPA_CONFIG" in check.detail  # PowerShell, not export
    assert rf"profile {PROFILE} (default)" in check.detail
    assert f"browser {EDGE}" in check.detail
    assert r"driver C:\tools\msedgedriver.exe" in check.detail


def test_a_mac_with_a_config_file_names_it_and_where_it_came_from() -> None:
    toml = Path("/Users/ana/coupa/coupadl.toml")
    check = describe(
        _found(config=toml, config_origin="COUPA_CONFIG", browser=None, driver=None),
        "darwin",
    )

    assert f"config {toml} (from COUPA_CONFIG)" in check.detail
    assert "browser not found; driver not found" in check.detail
    assert "$env:" not in check.detail


def test_engine_api_leaves_browser_and_driver_out() -> None:
    check = describe(_found(browser_needed=False), "linux")

    assert "browser" not in check.detail and "driver" not in check.detail
    assert "export COUPA_CONFIG=" in check.detail


@pytest.mark.parametrize(
    ("explicit", "environ", "origin"),
    [
        (Path("my.toml"), {"COUPA_CONFIG": "/x.toml"}, "--config"),
        (None, {"COUPA_CONFIG": "/x.toml"}, "COUPA_CONFIG"),
        (None, {}, "the working directory"),
    ],
)
def test_the_origin_follows_the_order_settings_are_looked_for(
    explicit: Path | None, environ: dict[str, str], origin: str
) -> None:
    assert config_origin(explicit, Path("found.toml"), environ) == origin


def _fails(settings: Settings) -> Path:
    raise BrowserError("not here")


def test_check_locations_finds_the_working_directorys_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "coupadl.toml").write_text('base_url = "https://acme.coupahost.com"\n')
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"profile_dir": tmp_path / "p"})

    check = check_locations(
        settings,
        None,
        environ={},
        platform="darwin",
        browser_at=lambda s: Path("/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge"),
        driver_at=_fails,
    )

    assert f"config {tmp_path / 'coupadl.toml'} (from the working directory)" in check.detail
    assert f"profile {tmp_path / 'p'};" in check.detail  # not the default: no "(default)"
    assert "browser /Applications/Microsoft Edge.app" in check.detail
    assert "driver not found" in check.detail


def test_a_missing_config_file_named_by_the_environment_fails_the_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings({})
    monkeypatch.setenv("COUPA_CONFIG", str(tmp_path / "gone.toml"))

    check = check_locations(settings, None, browser_at=_fails, driver_at=_fails)

    assert check.level is Level.FAIL and "gone.toml" in check.detail


def test_run_doctor_shows_the_row_second_with_the_given_config(tmp_path: Path) -> None:
    given = tmp_path / "team.toml"
    given.write_text("")
    settings = load_settings({"engine": "api", "out": tmp_path}, config_file=given)

    checks = run_doctor(settings, session=False, min_free_bytes=0, config_file=given)

    assert checks[1].name == "paths"
    assert f"config {given} (from --config)" in checks[1].detail
