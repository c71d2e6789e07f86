"""End to end, faults in the browser and its driver: real headless Chromium, real worker
processes, real signals. A dying chromedriver, crashing tabs, and a WebDriver call that
never returns (its driver or browser frozen with SIGSTOP) must each end with the right
status for every PO, counted in report.json, and no process of the run left behind.

(A killed worker process and a killed browser are in test_pool_under_faults.py.)
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import psutil
import pytest

import faultkit
from coupadl.simulator.server import SimulatorServer
from faultkit import FAST, Live, assert_nothing_lost, run

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

# The kit's fixtures, for this module: a small simulator, calm knobs, process tagging.
sim, calm, tag = faultkit.sim, faultkit.calm, faultkit.tag


def driver_of(worker: psutil.Process) -> psutil.Process:
    return next(p for p in worker.children() if p.name() == "chromedriver")


def browser_of(worker: psutil.Process) -> psutil.Process:
    """The browser's main process (the driver's child; renderers and helpers are its)."""
    return next(p for p in driver_of(worker).children() if "chrom" in p.name())


def renderers_of(worker: psutil.Process) -> list[psutil.Process]:
    return [
        p for p in browser_of(worker).children(recursive=True) if "--type=renderer" in p.cmdline()
    ]


@pytest.mark.parametrize("victim", ["chromedriver", "renderers"])
def test_chromedriver_or_tabs_dying_mid_run_lose_nothing(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str, victim: str
) -> None:
    settings = make_settings(**FAST)
    killed: list[int] = []

    def trouble(live: Live) -> None:
        live.when(2)
        worker = live.working_worker()
        targets = [driver_of(worker)] if victim == "chromedriver" else renderers_of(worker)
        for target in targets:
            killed.append(target.pid)
            target.kill()

    done = run(sim, settings, tmp_path, trouble)

    assert killed, "nothing was killed"
    # Without its driver, or with every tab crashed ("tab crashed" for every command),
    # the browser cannot be driven any more: the worker is replaced.
    assert done.report["worker_restarts"] >= 1
    assert_nothing_lost(sim, done, settings, tag)


@pytest.mark.parametrize("frozen", ["chromedriver", "browser"])
def test_a_hung_webdriver_call_is_ended_by_the_task_timeout(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str, frozen: str
) -> None:
    # A frozen (SIGSTOP) driver or browser makes the worker's next WebDriver call wait
    # for ever; only the supervisor's task_timeout (no progress for 5 s) can end it.
    settings = make_settings(**FAST, task_timeout=5)
    stopped: list[int] = []

    def trouble(live: Live) -> None:
        live.when(2)
        worker = live.working_worker()
        target = driver_of(worker) if frozen == "chromedriver" else browser_of(worker)
        stopped.append(target.pid)
        os.kill(target.pid, signal.SIGSTOP)

    try:
        done = run(sim, settings, tmp_path, trouble)
    finally:
        for pid in stopped:  # should the run have failed to kill it
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                continue

    assert stopped, "nothing was frozen"
    assert done.report["worker_restarts"] >= 1
    assert done.report["retries"] >= 1
    assert_nothing_lost(sim, done, settings, tag)
