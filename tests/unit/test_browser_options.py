"""The browser's command line: what headless workers and a visible browser get."""

from __future__ import annotations

from pathlib import Path

from coupadl.engine.browser.driver import build_options
from coupadl.settings import load_settings


def _arguments(tmp_path: Path, *, headless: bool) -> list[str]:
    binary = tmp_path / "chromium"
    binary.write_text("")  # build_options only checks that the configured browser exists
    settings = load_settings({"browser_binary": binary, "headless": headless})
    return list(build_options(settings, tmp_path / "profile", tmp_path / "dl").arguments)


def test_a_headless_browser_runs_full_screen_so_it_draws_no_toolbar(tmp_path: Path) -> None:
    arguments = _arguments(tmp_path, headless=True)

    assert "--headless=new" in arguments
    assert "--start-fullscreen" in arguments
    assert f"--user-data-dir={tmp_path / 'profile'}" in arguments


def test_a_visible_browser_keeps_its_window_and_toolbar(tmp_path: Path) -> None:
    arguments = _arguments(tmp_path, headless=False)

    assert not [a for a in arguments if a.startswith("--headless")]
    assert "--start-fullscreen" not in arguments
    assert "--window-size=1024,768" in arguments
