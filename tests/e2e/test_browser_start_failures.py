"""Browser starts that fail for real, and the advice ``start_driver`` gives for them.

Each test breaks one thing (no display, a browser chromedriver does not support, a
driver that is not one, a program that is not a browser, a missing browser) and lets
the real chromedriver fail. The error must carry advice, not the driver's text; the
driver's text goes to the DEBUG log (--verbose). No process may be left behind.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException

import faultkit
from conftest import CHROMEDRIVER, CHROMIUM
from coupadl.engine.browser.driver import start_driver
from coupadl.engine.browser.startfail import StartCause, explain_start_failure
from coupadl.errors import BrowserError, ExitCode
from coupadl.settings import BrowserKind, load_settings
from helpers import leftover_processes

pytestmark = pytest.mark.browser
tag = faultkit.tag

# A stand-in for an old Chrome: it answers chromedriver's DevTools version question
# as Chrome 99 would, so the real chromedriver refuses it with its real message.
OLD_CHROME = """#!{python}
import http.server, json, pathlib, sys
profile = next(a.split("=", 1)[1] for a in sys.argv if a.startswith("--user-data-dir="))
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({{"Browser": "Chrome/99.0.4844.51", "Protocol-Version": "1.3",
            "User-Agent": "Mozilla/5.0 Chrome/99.0.4844.51", "V8-Version": "9.9.115",
            "WebKit-Version": "537.36 (@0123456789abcdef0123456789abcdef01234567)",
            "webSocketDebuggerUrl": "ws://127.0.0.1:1/devtools/browser/x"}}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
pathlib.Path(profile, "DevToolsActivePort").write_text(f"{{server.server_port}}\\n/x")
server.serve_forever()
"""


def _fail_to_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, **overrides: Any
) -> tuple[BrowserError, str]:
    """Start the browser with ``overrides``; the BrowserError and the DEBUG log's text."""
    values: dict[str, Any] = {
        "browser_binary": CHROMIUM,
        "driver_path": CHROMEDRIVER,
        "headless": True,
    }
    values.update(overrides)
    settings = load_settings(values)
    caplog.set_level(logging.DEBUG, logger="coupadl")
    with pytest.raises(BrowserError) as caught:
        start_driver(settings, tmp_path / "profile", tmp_path / "downloads")
    debug = "\n".join(r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)
    return caught.value, debug


def _no_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


def test_a_window_without_a_display_is_explained_and_the_raw_text_is_debug_only(
    browser_ready: None,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tag: str,
) -> None:
    _no_display(monkeypatch)

    error, debug = _fail_to_start(tmp_path, caplog, headless=False)

    assert error.exit_code is ExitCode.BROWSER
    assert "no display" in error.message and "--headless" in error.message
    assert "Examine ChromeDriver" not in error.message
    assert "Chrome instance exited" in debug  # what --verbose shows
    assert leftover_processes(tag) == []


def test_a_browser_older_than_the_driver_names_both_versions(
    browser_ready: None, tmp_path: Path, caplog: pytest.LogCaptureFixture, tag: str
) -> None:
    old = tmp_path / "old-chrome"
    old.write_text(OLD_CHROME.format(python=sys.executable))
    old.chmod(0o755)

    error, debug = _fail_to_start(tmp_path, caplog, browser_binary=old)

    assert "This version of ChromeDriver only supports Chrome version" in debug
    assert "but the browser is version 99" in error.message
    assert "--driver-path" in error.message
    assert leftover_processes(tag) == []


def test_a_driver_that_is_not_a_driver_is_blamed(
    browser_ready: None, tmp_path: Path, caplog: pytest.LogCaptureFixture, tag: str
) -> None:
    error, debug = _fail_to_start(tmp_path, caplog, driver_path="/bin/false")

    assert "unexpectedly exited" in debug
    assert "the driver /bin/false does not run" in error.message
    assert leftover_processes(tag) == []


def test_a_program_that_is_not_a_browser_is_told_to_be_checked(
    browser_ready: None, tmp_path: Path, caplog: pytest.LogCaptureFixture, tag: str
) -> None:
    error, debug = _fail_to_start(tmp_path, caplog, browser_binary="/bin/true")

    assert "Chrome instance exited" in debug
    assert "/bin/true exited as soon as it started" in error.message
    assert leftover_processes(tag) == []


def test_a_missing_browser_as_chromedriver_reports_it(
    browser_ready: None, tmp_path: Path, tag: str
) -> None:
    # find_browser refuses a missing browser_binary before chromedriver runs, so ask
    # chromedriver itself, through Selenium, for its text.
    options = webdriver.ChromeOptions()
    options.binary_location = "/nonexistent/chromium"
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    options.add_argument("--headless=new")
    os.environ["SE_OFFLINE"] = "true"
    with pytest.raises(WebDriverException) as caught:
        webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))

    failure = explain_start_failure(
        str(caught.value.msg),
        browser=BrowserKind.CHROMIUM,
        binary="/nonexistent/chromium",
        driver=CHROMEDRIVER,
        headless=True,
        display=True,
    )
    assert failure.cause is StartCause.BROWSER_MISSING
    assert "no chromium at /nonexistent/chromium" in failure.advice
    assert leftover_processes(tag) == []
