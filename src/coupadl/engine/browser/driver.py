"""Start Chromium, Chrome or Edge through Selenium, with paths we choose.

Selenium must never download a driver: we resolve the browser and driver paths
ourselves (configuration first, then well-known names and locations) and set
``SE_OFFLINE=true`` so Selenium Manager stays offline even if something slips.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import websocket
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chromium.options import ChromiumOptions
from selenium.webdriver.chromium.webdriver import ChromiumDriver
from selenium.webdriver.remote.remote_connection import RemoteConnection
from selenium.webdriver.remote.webdriver import WebDriver
from urllib3.util.retry import Retry

from coupadl.engine.browser.startfail import explain_start_failure, has_display
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
# How much longer than page_timeout any WebDriver command may take before the browser is
# given up on. Commands that wait for a page are bounded by page_timeout in chromedriver;
# downloads are watched in the file system, not through WebDriver; every other command
# answers at once, except the dry run's file-size script (its script timeout is 15 s)
# and quit (the browser closing its windows).
COMMAND_MARGIN = 20.0


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
        # The raw text names a symptom, not a fix: --verbose shows it, the error advises.
        log.debug("the driver could not start %s: %s", settings.browser.value, text.strip())
        failure = explain_start_failure(
            text,
            browser=settings.browser,
            binary=options.binary_location,
            driver=driver_path,
            headless=settings.headless,
            display=has_display(),
        )
        raise BrowserError(f"Could not start {settings.browser.value}: {failure.advice}") from exc


def command_timeout(settings: Settings) -> float:
    """Seconds any one WebDriver command may take: ``page_timeout`` plus a margin."""
    return settings.page_timeout + COMMAND_MARGIN


def bound_commands(driver: WebDriver, seconds: float) -> None:
    """Make every WebDriver command of ``driver`` fail (urllib3 ``ReadTimeoutError``)
    when chromedriver has not answered within ``seconds``, with no second try.

    Selenium waits 120 s for each answer (ChromiumRemoteConnection's ClientConfig), and
    urllib3's default Retry asks a GET again up to three times after a read timeout: a
    chromedriver stuck on a navigation held a worker for 4 x 120 s. ``client_config``
    is public and read by every request. The retries are not: Selenium 4.51 builds its
    urllib3 PoolManager in RemoteConnection.__init__, before anyone can pass arguments,
    and keeps it in the private ``_conn``. Its ``connection_pool_kw`` (urllib3's) is
    what each new connection pool is made with; ``clear()`` drops the pools made so far.
    """
    executor = driver.command_executor
    if not isinstance(executor, RemoteConnection):  # only a URL when given one
        log.warning("WebDriver commands are not bounded: no connection object to set")
        return
    executor.client_config.timeout = seconds
    manager = getattr(executor, "_conn", None)
    pool_kw = getattr(manager, "connection_pool_kw", None)
    if manager is None or not isinstance(pool_kw, dict):
        log.warning(
            "cannot turn off urllib3's retries of WebDriver commands (this Selenium has no "
            "connection manager where 4.51 had one): a hung command may be asked again"
        )
        return
    # A refused connection (the driver gone) may be tried again; a read that timed out
    # is not: the driver is still busy with the command it did not answer.
    pool_kw["retries"] = Retry(total=2, read=False)
    manager.clear()


def stop_page_loading(address: str, target: str, timeout: float = 5.0) -> bool:
    """``Page.stopLoading`` in tab ``target`` over a DevTools connection of its own.

    chromedriver runs one command at a time: while it is stuck on a navigation, its own
    ``execute_cdp_cmd`` waits behind it (measured: 23 s, until the page came). A second
    DevTools client is answered at once, and the stuck navigation then ends as a page
    timeout. A WebDriver window handle is the tab's DevTools target id. False (logged)
    when the tab cannot be reached or refuses.
    """
    try:
        ws = websocket.create_connection(
            f"ws://{address}/devtools/page/{target}", timeout=timeout, suppress_origin=True
        )
        try:
            ws.send(json.dumps({"id": 1, "method": "Page.stopLoading", "params": {}}))
            while True:  # events may come first
                answer = json.loads(ws.recv())
                if answer.get("id") == 1:
                    break
        finally:
            ws.close()
    except (OSError, ValueError, websocket.WebSocketException) as exc:
        log.warning("could not stop the page loading over DevTools: %s", exc)
        return False
    if "error" in answer:
        log.warning("the browser refused to stop the page loading: %s", answer["error"])
        return False
    return True
