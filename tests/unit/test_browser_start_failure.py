"""The advice for a browser that did not start, from the driver's own words.

The texts below are what Selenium 4.51 and chromedriver 156 (Debian) said when made
to fail for real (tests/e2e/test_browser_start_failures.py makes them again and checks
the same mapping), and, for msedgedriver, which does not run here, the text it printed
in public bug reports.
"""

from __future__ import annotations

import pytest

from coupadl.engine.browser.startfail import (
    StartCause,
    StartFailure,
    explain_start_failure,
    has_display,
)
from coupadl.settings import BrowserKind

_DOCS = (
    "; For documentation on this error, please visit: "
    "https://www.selenium.dev/documentation/webdriver/troubleshooting/errors"
)
INSTANCE_EXITED = (
    "session not created: Chrome instance exited. Examine ChromeDriver verbose log to "
    "determine the cause." + _DOCS + "#sessionnotcreatedexception"
)
NO_BINARY = (
    "session not created\nfrom unknown error: no chrome binary at /nonexistent/chromium"
    + _DOCS
    + "#sessionnotcreatedexception"
)
CHROME_MISMATCH = (
    "session not created: This version of ChromeDriver only supports Chrome version 156\n"
    "Current browser version is 99.0.4844.51 with binary path /opt/old/chrome"
    + _DOCS
    + "#sessionnotcreatedexception"
)
EDGE_MISMATCH = (
    "session not created: This version of Microsoft Edge WebDriver only supports Microsoft "
    "Edge version 122\nCurrent browser version is 124.0.2478.80 with binary path "
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe"
)
DRIVER_TEXTS = [
    "Service /bin/false unexpectedly exited. Status code was: 1",
    "'tmp_s_qgdll' executable may have wrong permissions.",
    "Unable to obtain driver for chrome" + _DOCS + "/driver_location",
]


def _explain(
    raw: str, *, headless: bool = True, display: bool = True, browser: str = "chromium"
) -> StartFailure:
    return explain_start_failure(
        raw,
        browser=BrowserKind(browser),
        binary="/usr/bin/chromium",
        driver="/usr/bin/chromedriver",
        headless=headless,
        display=display,
    )


def test_a_windowed_start_without_a_display_is_told_so() -> None:
    failure = _explain(INSTANCE_EXITED, headless=False, display=False)

    assert failure.cause is StartCause.NO_DISPLAY
    assert "DISPLAY" in failure.advice and "--headless" in failure.advice
    assert "No display" in failure.advice  # the section of docs/troubleshooting.md


@pytest.mark.parametrize(("headless", "display"), [(True, False), (False, True), (True, True)])
def test_the_same_text_with_a_display_or_headless_is_a_browser_that_exited(
    headless: bool, display: bool
) -> None:
    failure = _explain(INSTANCE_EXITED, headless=headless, display=display)

    assert failure.cause is StartCause.BROWSER_EXITED
    assert "/usr/bin/chromium --headless=new --dump-dom about:blank" in failure.advice


def test_a_missing_browser_names_the_path_chromedriver_looked_at() -> None:
    failure = _explain(NO_BINARY, headless=False, display=False)

    assert failure.cause is StartCause.BROWSER_MISSING
    assert "/nonexistent/chromium:" in failure.advice
    assert "--browser-binary" in failure.advice


def test_a_chromedriver_for_another_chrome_names_both_versions_and_the_driver_to_get() -> None:
    failure = _explain(CHROME_MISMATCH, browser="chrome")

    assert failure.cause is StartCause.VERSION_MISMATCH
    assert "chrome 156 but the browser is version 99" in failure.advice
    assert "chromedriver 99 from Chrome for Testing" in failure.advice
    assert "--driver-path" in failure.advice


def test_an_msedgedriver_for_another_edge_points_at_microsofts_driver_page() -> None:
    failure = _explain(EDGE_MISMATCH, browser="edge", display=False, headless=False)

    assert failure.cause is StartCause.VERSION_MISMATCH
    assert "edge 122 but the browser is version 124" in failure.advice
    assert "msedgedriver 124 from Microsoft's Edge WebDriver page" in failure.advice


def test_chromium_from_debian_is_told_to_take_the_driver_of_the_same_package_version() -> None:
    failure = _explain(CHROME_MISMATCH)

    assert "apt-get install chromium-driver" in failure.advice


@pytest.mark.parametrize("raw", DRIVER_TEXTS)
def test_a_driver_that_does_not_run_is_blamed_not_the_display(raw: str) -> None:
    failure = _explain(raw, headless=False, display=False)

    assert failure.cause is StartCause.DRIVER_BROKEN
    assert "/usr/bin/chromedriver does not run" in failure.advice


def test_an_unknown_text_is_not_repeated_but_points_at_verbose_and_doctor() -> None:
    failure = _explain("session not created: something new went wrong")

    assert failure.cause is StartCause.UNKNOWN
    assert "something new" not in failure.advice
    assert "--verbose" in failure.advice and "coupadl doctor" in failure.advice


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        ("linux", {}, False),
        ("linux", {"DISPLAY": ""}, False),
        ("linux", {"DISPLAY": ":0"}, True),
        ("linux", {"WAYLAND_DISPLAY": "wayland-0"}, True),
        ("win32", {}, True),
        ("darwin", {}, True),
    ],
)
def test_only_linux_without_display_or_wayland_display_has_no_screen(
    platform: str, environ: dict[str, str], expected: bool
) -> None:
    assert has_display(platform, environ) is expected
