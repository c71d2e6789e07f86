"""End to end, a page whose HTML never arrives in the middle of a run: real headless
Chromium against the simulator (``page_latency=600`` for a moment).

chromedriver does not always end such a navigation at ``page_timeout``: when the page
before finishes loading its late scripts (``script_delay``) while the navigation waits,
chromedriver waits for the new page however long it takes, and every later WebDriver
command waits behind it. Selenium's own limit is 120 s per command, and urllib3 asked a
GET again three times. (With late scripts that outlast page_timeout, as in
test_server_faults.py, chromedriver does end it.)
Now the session stops the load over DevTools soon after ``page_timeout`` (the PO ends
TIMEOUT and is retried in the same browser), and failing that, every command fails
after ``page_timeout + COMMAND_MARGIN``, once, and the browser is replaced.

The task timeout is set far beyond the test's own timeout, so only those bounds can
let a run finish: with the old code each test runs into its pytest timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3

import faultkit
from coupadl.engine.browser import session as session_module
from coupadl.engine.browser.driver import COMMAND_MARGIN, bound_commands
from coupadl.engine.browser.session import BrowserSession
from coupadl.simulator.server import SimulatorServer
from faultkit import FAST, Live, assert_nothing_lost, events, run
from helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]

sim, calm, tag = faultkit.sim, faultkit.calm, faultkit.tag

# Late scripts take 1 s: the next PO's navigation in the same tab often starts while
# the page before is loading, and that page finishes loading while the navigation waits.
STILL_LOADING = {"script_delay": 1}
HANG = 600.0  # the server's think time for the pages that hang: beyond every timeout
STOPPED = "chromedriver did not end a page load at page_timeout"


def _pages(sim: SimulatorServer) -> int:
    return sum(sim.stats()["pos"].values())


class HungPages:
    """After ``after`` POs are done, the next ``count`` PO pages asked for never arrive.
    ``sure`` are the POs asked for while the hang was surely on, ``maybe`` those asked
    for while it was being switched on or off."""

    def __init__(self, sim: SimulatorServer, after: int, count: int) -> None:
        self.sim, self.after, self.count = sim, after, count
        self.sure: set[str] = set()
        self.maybe: set[str] = set()

    def __call__(self, live: Live) -> None:
        live.when(self.after)
        asked = _pages(self.sim)
        before_on = time.time()
        self.sim.control(page_latency=HANG)
        on = time.time()
        wait_for(lambda: _pages(self.sim) >= asked + self.count, f"{self.count} pages hung")
        off = time.time()
        self.sim.control(page_latency=0)
        after_off = time.time()
        pages = [r for r in self.sim.timeline()["requests"] if r["group"] == "pos"]
        self.sure = {r["id"] for r in pages if on <= r["t"] <= off}
        self.maybe = {r["id"] for r in pages if before_on <= r["t"] <= after_off}


def test_a_command_that_is_never_answered_fails_once_after_the_bound(
    sim: SimulatorServer, make_settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A bound (3 s) below page_timeout (20 s): chromedriver is still waiting for the page
    # when the bound ends the navigation, and holds the GET that follows. Selenium's
    # default would wait 120 s for each, and urllib3 would ask the GET again.
    settings = make_settings(page_timeout=20)
    pos = list(sim.manifest()["pos"])
    caplog.set_level(logging.WARNING, logger="urllib3")
    with BrowserSession(settings, settings.profile_dir) as session:
        bound_commands(session.driver, 3)
        session.driver.switch_to.new_window("tab")
        sim.control(page_latency=HANG)
        try:
            # Straight to the driver: no DevTools stop (that is session.open's).
            with pytest.raises(urllib3.exceptions.ReadTimeoutError):
                session.driver.get(f"{sim.base_url}/order_headers/{pos[1]}")
        finally:
            sim.control(page_latency=0)
        # The GET fails at its first timeout too (a retried one ends in MaxRetryError).
        with pytest.raises(urllib3.exceptions.ReadTimeoutError):
            _ = session.driver.window_handles
        session.hung = "given up by the test"  # close() kills instead of asking to quit
    retried = [r for r in caplog.records if r.getMessage().startswith("Retrying")]
    assert not retried, [r.getMessage() for r in retried]


def test_a_page_stuck_loading_mid_run_is_stopped_and_the_po_retried(
    sim: SimulatorServer,
    make_settings: Any,
    tmp_path: Path,
    tag: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(**FAST, task_timeout=1000)
    sim.control(**STILL_LOADING)
    hung = HungPages(sim, after=3, count=2)
    caplog.set_level(logging.WARNING, logger="coupadl")

    done = run(sim, settings, tmp_path, hung)

    # Each hung page's PO timed out and was retried (a download that is slow to start on
    # a busy machine is a TIMEOUT too, so others may be among them).
    timeouts = {po for _, po, detail in events(settings.out, "retry") if detail == "E_TIMEOUT"}
    assert hung.sure, "no page was asked for while the server hung"
    assert hung.sure <= timeouts, (hung.sure, timeouts)
    # Stopped, the tab is usable again: no browser had to be replaced.
    assert done.report["worker_restarts"] == 0
    stops = [r for r in caplog.records if STOPPED in r.getMessage()]
    assert stops, "no navigation outlived page_timeout: the test missed the case"
    assert_nothing_lost(sim, done, settings, tag)


def test_a_stuck_page_that_cannot_be_stopped_gives_the_browser_up(
    sim: SimulatorServer,
    make_settings: Any,
    tmp_path: Path,
    tag: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One worker (the run's own process, so the patch applies) whose DevTools stop
    # fails: only the command timeout ends the navigation, and the browser is replaced.
    settings = make_settings(**{**FAST, "workers": 1}, task_timeout=1000)
    sim.control(**STILL_LOADING)
    stop_calls: list[str] = []

    def unreachable(address: str, target: str, timeout: float = 5.0) -> bool:
        stop_calls.append(threading.current_thread().name)
        return False

    monkeypatch.setattr(session_module, "stop_page_loading", unreachable)
    hung = HungPages(sim, after=3, count=1)

    done = run(sim, settings, tmp_path, hung)

    bound = settings.page_timeout + COMMAND_MARGIN
    restarts = [detail for _, _, detail in events(settings.out, "restart")]
    assert any(f"did not answer a WebDriver command within {bound:.0f} s" in d for d in restarts), (
        restarts
    )
    browser_errors = {po for _, po, d in events(settings.out, "retry") if d == "E_BROWSER"}
    assert hung.sure <= browser_errors <= hung.maybe, (hung.sure, browser_errors, hung.maybe)
    assert done.report["worker_restarts"] >= 1
    assert stop_calls, "no navigation outlived page_timeout: the test missed the case"
    assert_nothing_lost(sim, done, settings, tag)
