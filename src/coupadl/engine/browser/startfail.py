"""What to tell a person whose browser or driver did not start.

chromedriver and Selenium name the symptom ("Chrome instance exited", "Service ...
unexpectedly exited"), seldom the cause or the fix. :func:`explain_start_failure` maps
their text, and whether the machine has a screen, to a cause and advice. It is pure:
the caller logs the raw text (at DEBUG, for --verbose) and raises the advice.
"""

from __future__ import annotations

import enum
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from coupadl.settings_values import BrowserKind


class StartCause(enum.StrEnum):
    VERSION_MISMATCH = "version_mismatch"
    BROWSER_MISSING = "browser_missing"
    DRIVER_BROKEN = "driver_broken"
    NO_DISPLAY = "no_display"
    BROWSER_EXITED = "browser_exited"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class StartFailure:
    cause: StartCause
    advice: str


NO_DISPLAY_HELP = "docs/troubleshooting.md, 'No display'"

# chromedriver: "This version of ChromeDriver only supports Chrome version 121\nCurrent
# browser version is 120.0.6099.224 with binary path ..."; msedgedriver says "Microsoft
# Edge WebDriver ... Microsoft Edge version" (older ones "MSEdgeDriver ... MSEdge").
_SUPPORTS = re.compile(r"only supports [\w ]*?version (\d+)")
_CURRENT = re.compile(r"Current browser version is (\d+)[\d.]*")
_NO_BINARY = re.compile(r"no \w+ binary at (.+?)(?:;|\n|$)|cannot find [\w ]*binary", re.I)
_DRIVER_BROKEN = (
    "unexpectedly exited. Status code was",  # not a driver, or not for this OS/CPU
    "may have wrong permissions",  # not executable
    "executable needs to be in PATH",  # no such file
    "Unable to obtain driver",  # Selenium Manager (offline) found none
    "Can not connect to the Service",
)
_BROWSER_GONE = (
    "Chrome instance exited",
    "chrome not reachable",
    "DevToolsActivePort file doesn't exist",
    "Chrome failed to start",
    "crashed",
    "Missing X server",
)


def has_display(platform: str | None = None, environ: Mapping[str, str] | None = None) -> bool:
    """Can a browser show a window here? Windows and macOS always can; Linux only in a
    desktop session (X11 or Wayland), which sets DISPLAY or WAYLAND_DISPLAY."""
    platform = sys.platform if platform is None else platform
    environ = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return True
    return bool(environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY"))


def _driver_source(browser: BrowserKind, major: str) -> str:
    if browser is BrowserKind.EDGE:
        return f"msedgedriver {major} from Microsoft's Edge WebDriver page"
    if browser is BrowserKind.CHROME:
        return f"chromedriver {major} from Chrome for Testing"
    return "chromium-driver of the same version as chromium (apt-get install chromium-driver)"


def _mismatch(raw: str, browser: BrowserKind) -> StartFailure | None:
    supports, current = _SUPPORTS.search(raw), _CURRENT.search(raw)
    if supports is None:
        return None
    have = current.group(1) if current else "?"
    return StartFailure(
        StartCause.VERSION_MISMATCH,
        f"the driver is for {browser.value} {supports.group(1)} but the browser is version "
        f"{have}: install {_driver_source(browser, have)} and pass --driver-path (or "
        "COUPA_DRIVER_PATH); 'coupadl doctor' compares the two versions.",
    )


def no_display_advice() -> str:
    """What to do when a browser window is wanted on a machine without a screen."""
    return (
        "this machine has no display for a browser window (Linux with neither DISPLAY "
        "nor WAYLAND_DISPLAY set: a server, SSH or a container). Use --headless (the "
        "setting headless = true) or a desktop session; to sign in see "
        f"{NO_DISPLAY_HELP}."
    )


def explain_start_failure(
    raw: str,
    *,
    browser: BrowserKind,
    binary: str,
    driver: str,
    headless: bool,
    display: bool,
) -> StartFailure:
    """The cause of a failed browser start and what to do, from the driver's message
    ``raw`` (``WebDriverException.msg``) and whether the machine has a display."""
    mismatch = _mismatch(raw, browser)
    if mismatch is not None:
        return mismatch
    missing = _NO_BINARY.search(raw)
    if missing is not None:
        where = (missing.group(1) or binary).strip()
        return StartFailure(
            StartCause.BROWSER_MISSING,
            f"there is no {browser.value} at {where}: install it, or point "
            "--browser-binary (COUPA_BROWSER_BINARY) at its executable.",
        )
    if any(hint in raw for hint in _DRIVER_BROKEN):
        return StartFailure(
            StartCause.DRIVER_BROKEN,
            f"the driver {driver} does not run: it must be the "
            f"{'msedgedriver' if browser is BrowserKind.EDGE else 'chromedriver'} for this "
            "operating system and CPU, executable, and of your browser's version; pass "
            "--driver-path (COUPA_DRIVER_PATH). 'coupadl doctor' checks it.",
        )
    if not headless and not display:
        # Without a screen a windowed Chromium exits at once: chromedriver then says
        # only "Chrome instance exited", as it does for any early crash.
        return StartFailure(StartCause.NO_DISPLAY, no_display_advice())
    if any(hint in raw for hint in _BROWSER_GONE):
        return StartFailure(
            StartCause.BROWSER_EXITED,
            f"{binary} exited as soon as it started. Check that it is {browser.value} and "
            f"starts by itself ('{binary} --headless=new --dump-dom about:blank'), that "
            "the machine has free memory, and run 'coupadl doctor'.",
        )
    return StartFailure(
        StartCause.UNKNOWN,
        "the driver refused to start a session. Run 'coupadl doctor' (browser and driver "
        "versions); --verbose shows the driver's own message.",
    )
