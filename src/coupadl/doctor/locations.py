"""The doctor's ``paths`` row: which config file, profile folder, browser and driver a
run would use, so a person on a laptop sees where coupadl looked and what it found."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from coupadl.doctor.result import Check, Level
from coupadl.engine.browser.driver import find_browser, find_driver
from coupadl.errors import BrowserError, ConfigError
from coupadl.settings import Settings
from coupadl.settings_sources import CONFIG_ENV_VAR, find_config_file
from coupadl.settings_values import default_profile_dir

Finder = Callable[[Settings], Path]


@dataclass(frozen=True)
class Found:
    """What was found, as plain data (``None``: nothing found or not needed)."""

    config: Path | None
    config_origin: str  # "--config", "COUPA_CONFIG" or "the working directory"
    cwd: Path
    profile: Path
    profile_is_default: bool
    browser: Path | None
    driver: Path | None
    browser_needed: bool = True


def config_origin(explicit: Path | None, found: Path | None, environ: Mapping[str, str]) -> str:
    """Which rule of ``find_config_file`` gave ``found``."""
    if found is None:
        return ""
    if explicit is not None:
        return "--config"
    if environ.get(CONFIG_ENV_VAR):
        return CONFIG_ENV_VAR
    return "the working directory"


def _set_env_hint(platform: str) -> str:
    if platform == "win32":
        return f'$env:{CONFIG_ENV_VAR} = "C:\\path\\coupadl.toml" (PowerShell)'
    return f"export {CONFIG_ENV_VAR}=/path/coupadl.toml"


def describe(found: Found, platform: str) -> Check:
    """The ``paths`` row for ``found`` on ``platform`` (``sys.platform`` values)."""
    if found.config is not None:
        config = f"config {found.config} (from {found.config_origin})"
    else:
        config = (
            f"config: none (looked at --config, {CONFIG_ENV_VAR} and {found.cwd}; "
            f"create coupadl.toml there or {_set_env_hint(platform)})"
        )
    profile = f"profile {found.profile}{' (default)' if found.profile_is_default else ''}"
    parts = [config, profile]
    if found.browser_needed:
        parts.append(f"browser {found.browser or 'not found'}")
        parts.append(f"driver {found.driver or 'not found'}")
    return Check("paths", Level.OK, "; ".join(parts))


def _found_or_none(finder: Finder, settings: Settings) -> Path | None:
    try:
        return finder(settings)
    except BrowserError:
        return None  # the browser and driver rows say why


def check_locations(
    settings: Settings,
    explicit_config: Path | None,
    *,
    environ: Mapping[str, str] | None = None,
    platform: str | None = None,
    browser_needed: bool = True,
    browser_at: Finder = find_browser,
    driver_at: Finder = find_driver,
) -> Check:
    """Where the settings came from and what a run would start."""
    environ = os.environ if environ is None else environ
    try:
        config = find_config_file(explicit_config)
    except ConfigError as exc:
        return Check("paths", Level.FAIL, exc.message, "fix --config or COUPA_CONFIG")
    found = Found(
        config=config.absolute() if config is not None else None,
        config_origin=config_origin(explicit_config, config, environ),
        cwd=Path.cwd(),
        profile=settings.profile_dir,
        profile_is_default=settings.profile_dir == default_profile_dir(),
        browser=_found_or_none(browser_at, settings) if browser_needed else None,
        driver=_found_or_none(driver_at, settings) if browser_needed else None,
        browser_needed=browser_needed,
    )
    return describe(found, sys.platform if platform is None else platform)
