"""Start Chromium, Chrome or Edge through Selenium, with paths we choose.

Selenium must never download a driver: we resolve the browser and driver paths
ourselves (configuration first, then well-known names and locations) and set
``SE_OFFLINE=true`` so Selenium Manager stays offline even if something slips.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chromium.options import ChromiumOptions
from selenium.webdriver.chromium.webdriver import ChromiumDriver

from coupadl.errors import BrowserError, ProfileLockedError
from coupadl.settings import BrowserKind, Settings

log = logging.getLogger(__name__)

_BINARY_NAMES: dict[BrowserKind, tuple[str, ...]] = {
    BrowserKind.CHROMIUM: ("chromium", "chromium-browser"),
    BrowserKind.CHROME: ("google-chrome", "google-chrome-stable", "chrome"),
    BrowserKind.EDGE: ("microsoft-edge", "microsoft-edge-stable", "msedge"),
}
_BINARY_PATHS: dict[BrowserKind, tuple[str, ...]] = {
    BrowserKind.CHROMIUM: (
        "/usr/bin/chromium",
        "/Applications/Chromium.app/Contents/MacOS/Chromium",
    ),
    BrowserKind.CHROME: (
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    ),
    BrowserKind.EDGE: (
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        r"C:\Program Files\Microsoft\Edge\Application\msedge.exe",
        "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    ),
}
_DRIVER_NAMES: dict[BrowserKind, tuple[str, ...]] = {
    BrowserKind.CHROMIUM: ("chromedriver",),
    BrowserKind.CHROME: ("chromedriver",),
    BrowserKind.EDGE: ("msedgedriver",),
}
# Chromium's exit code when another browser holds the user-data-dir.
_PROFILE_IN_USE_HINTS = ("user data directory is already in use", "exit code 21")


def _first_existing(names: tuple[str, ...], paths: tuple[str, ...]) -> Path | None:
    for name in names:
        found = shutil.which(name)
        if found:
            return Path(found)
    for candidate in paths:
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def find_browser(settings: Settings) -> Path:
    """The browser executable: ``browser_binary`` if set, else found by name."""
    if settings.browser_binary is not None:
        if not settings.browser_binary.is_file():
            raise BrowserError(f"Browser not found at {settings.browser_binary} (browser_binary).")
        return settings.browser_binary
    found = _first_existing(_BINARY_NAMES[settings.browser], _BINARY_PATHS[settings.browser])
    if found is None:
        raise BrowserError(
            f"Could not find {settings.browser.value}. Install it (Debian: "
            "'apt-get install chromium chromium-driver') or set COUPA_BROWSER_BINARY."
        )
    return found


def find_driver(settings: Settings) -> Path:
    """The driver executable: ``driver_path`` if set, else found on PATH. Never downloaded."""
    if settings.driver_path is not None:
        if not settings.driver_path.is_file():
            raise BrowserError(f"Driver not found at {settings.driver_path} (driver_path).")
        return settings.driver_path
    found = _first_existing(_DRIVER_NAMES[settings.browser], ("/usr/bin/chromedriver",))
    if found is None:
        names = " or ".join(_DRIVER_NAMES[settings.browser])
        raise BrowserError(
            f"Could not find {names} on PATH. Install the driver that matches your browser "
            "version and set COUPA_DRIVER_PATH; coupadl never downloads drivers."
        )
    return found


def _running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@functools.cache
def _log_no_sandbox() -> None:
    """Say once per process why the sandbox is off (not once per browser)."""
    log.info("running as root: starting the browser with --no-sandbox")


def build_options(settings: Settings, profile_dir: Path, download_dir: Path) -> ChromiumOptions:
    """Browser options for one long-lived, unattended session."""
    options: ChromiumOptions = (
        webdriver.EdgeOptions()
        if settings.browser is BrowserKind.EDGE
        else webdriver.ChromeOptions()
    )
    options.binary_location = str(find_browser(settings))
    # Coupa pages keep loading scripts after the DOM is ready; waiting for "load" wastes time.
    options.page_load_strategy = "eager"
    for arg in (
        f"--user-data-dir={profile_dir}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1024,768",  # a desktop layout; larger windows cost more paint CPU
    ):
        options.add_argument(arg)
    if settings.headless:
        options.add_argument("--headless=new")
        options.add_argument("--disable-gpu")
        # Headless Chrome/Edge still draw their own window: tab strip, toolbar, the
        # loading spinner of every page. Full screen hides them: Chromium's CPU per PO
        # went from about 0.69 to 0.36 CPU-s on the benchmark's simulator. Pages are read
        # from the DOM, so the screen-sized window (800x600 headless) changes nothing.
        options.add_argument("--start-fullscreen")
    if sys.platform.startswith("linux") and _running_as_root():
        # Chromium's sandbox cannot run as root; without this flag it refuses to start.
        _log_no_sandbox()
        options.add_argument("--no-sandbox")
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(download_dir),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            # Several files from one page count as "automatic downloads", blocked by default.
            "profile.default_content_setting_values.automatic_downloads": 1,
            "plugins.always_open_pdf_externally": True,
        },
    )
    return options


def _outside_terminal_group() -> dict[str, Any]:
    """Popen arguments that start the driver, and so the browser, in a process group of
    its own. A Ctrl+C typed in a terminal goes to the whole foreground group, and
    Chromium shuts itself down on SIGINT even when its parent ignores it: the browsers
    the graceful stop lets finish their POs would die with the first Ctrl+C. coupadl's
    own process decides what Ctrl+C means, and closes the browsers itself."""
    if sys.platform == "win32":
        return {"creation_flags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}


def start_driver(settings: Settings, profile_dir: Path, download_dir: Path) -> ChromiumDriver:
    """Start the browser on ``profile_dir``. Raises :class:`BrowserError` with advice."""
    os.environ["SE_OFFLINE"] = "true"
    options = build_options(settings, profile_dir, download_dir)
    driver_path = str(find_driver(settings))
    try:
        if settings.browser is BrowserKind.EDGE:
            edge = webdriver.EdgeService(driver_path, popen_kw=_outside_terminal_group())
            return webdriver.Edge(options=cast(webdriver.EdgeOptions, options), service=edge)
        chrome = webdriver.ChromeService(driver_path, popen_kw=_outside_terminal_group())
        return webdriver.Chrome(options=cast(webdriver.ChromeOptions, options), service=chrome)
    except WebDriverException as exc:
        text = str(exc.msg or exc)
        if any(hint in text for hint in _PROFILE_IN_USE_HINTS):
            raise ProfileLockedError(
                f"The browser profile {profile_dir} is in use by another browser. "
                "Close that browser, or run 'coupadl login' again."
            ) from exc
        raise BrowserError(
            f"Could not start {settings.browser.value}: {text.strip()[:500]}"
        ) from exc
