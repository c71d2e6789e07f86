"""Doctor checks of the programs a run needs: Python, the browser and its driver."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from coupadl.doctor.result import Check, Level
from coupadl.engine.browser.driver import find_browser, find_driver
from coupadl.errors import BrowserError
from coupadl.settings import Settings

log = logging.getLogger(__name__)

MIN_PYTHON = (3, 11)
_VERSION_TIMEOUT = 20.0  # seconds for `<program> --version`
_VERSION = re.compile(r"\b(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?\b")


# --- python ------------------------------------------------------------------------------


def check_python(version: tuple[int, ...] | None = None) -> Check:
    found = tuple(version if version is not None else sys.version_info[:3])
    text = ".".join(str(part) for part in found)
    if found[:2] >= MIN_PYTHON:
        return Check("python", Level.OK, f"Python {text}")
    need = ".".join(str(part) for part in MIN_PYTHON)
    return Check(
        "python",
        Level.FAIL,
        f"Python {text}; coupadl needs {need} or newer",
        f"install Python {need}+ and set coupadl up again (scripts/setup.sh)",
    )


# --- browser and driver -----------------------------------------------------------------

VersionOf = Callable[[Path, bool], str | None]


def _windows_install_version(binary: Path) -> str | None:
    """Chrome/Edge on Windows keep their files in a folder named after the version,
    next to the executable; running ``chrome.exe --version`` would open a window."""
    versions = [
        entry.name
        for entry in binary.parent.iterdir()
        if entry.is_dir() and _VERSION.fullmatch(entry.name)
    ]
    return max(versions, key=lambda v: tuple(int(p) for p in v.split("."))) if versions else None


def program_version(path: Path, is_browser: bool = False) -> str | None:
    """The version a browser or driver reports, or None when it cannot tell."""
    if is_browser and os.name == "nt":
        try:
            return _windows_install_version(path)
        except OSError as exc:
            log.debug("cannot list %s: %s", path.parent, exc)
            return None
    try:
        done = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("%s --version failed: %s", path, exc)
        return None
    # stdout first: Debian's chromium wrapper prints shell noise on stderr.
    match = _VERSION.search(done.stdout) or _VERSION.search(done.stderr)
    return match.group(0) if match else None


def major(version: str | None) -> int | None:
    match = _VERSION.search(version or "")
    return int(match.group(1)) if match else None


def check_browser(
    settings: Settings, version_of: VersionOf = program_version
) -> tuple[Check, str | None]:
    """The browser executable and its version (returned for the driver check)."""
    name = settings.browser.value
    try:
        path = find_browser(settings)
    except BrowserError as exc:
        return (
            Check(
                "browser",
                Level.FAIL,
                exc.message,
                f"install {name} (Debian: apt-get install chromium chromium-driver), or "
                "point --browser-binary / COUPA_BROWSER_BINARY at it",
            ),
            None,
        )
    version = version_of(path, True)
    if version is None:
        return (
            Check(
                "browser",
                Level.WARN,
                f"{name} at {path}, but its version could not be read",
                f"check that '{path} --version' works; the driver check cannot compare versions",
            ),
            None,
        )
    return Check("browser", Level.OK, f"{name} {version} at {path}"), version


def check_driver(
    settings: Settings, browser_version: str | None, version_of: VersionOf = program_version
) -> Check:
    """The driver executable, its version, and whether its major version fits the browser."""
    try:
        path = find_driver(settings)
    except BrowserError as exc:
        return Check(
            "driver",
            Level.FAIL,
            exc.message,
            _driver_advice(settings, major(browser_version)),
        )
    version = version_of(path, False)
    if version is None:
        return Check(
            "driver",
            Level.FAIL,
            f"{path} does not run or does not say its version",
            f"check that '{path} --version' works (right file, executable, this OS and "
            f"CPU); {_driver_advice(settings, major(browser_version))}",
        )
    found = f"{path.name} {version} at {path}"
    wanted, have = major(browser_version), major(version)
    if wanted is None:
        return Check(
            "driver",
            Level.WARN,
            f"{found}; the browser's version is unknown, so the match is not checked",
            "make sure the driver's major version is the browser's",
        )
    if have != wanted:
        return Check(
            "driver",
            Level.FAIL,
            f"{found} does not match {settings.browser.value} {browser_version} "
            f"(major {have} vs {wanted})",
            _driver_advice(settings, wanted),
        )
    return Check("driver", Level.OK, f"{found}, matches the browser (major {wanted})")


def _driver_advice(settings: Settings, wanted: int | None) -> str:
    version = f" {wanted}" if wanted is not None else ""
    if settings.browser.value == "edge":
        where = f"msedgedriver{version} from Microsoft's Edge WebDriver page"
    elif settings.browser.value == "chrome":
        where = f"chromedriver{version} from Chrome for Testing"
    else:
        where = "chromium-driver with apt (the same version as chromium)"
    return f"install {where} and pass --driver-path (coupadl never downloads drivers)"
