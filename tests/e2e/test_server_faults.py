"""End to end, faults from the server: real headless Chromium, real worker processes, the
simulator's knobs. Each test ends with the right status and files for every PO (the
simulator's manifest is the oracle), report.json counts the retries, and no process of
the run is left. Failures are caused in exact numbers (bursts, counts), never by chance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import faultkit
from coupadl.simulator.server import SimulatorServer
from faultkit import FAST, Live, assert_nothing_lost, events, run, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

# The kit's fixtures, for this module: a small simulator, calm knobs, process tagging.
sim, calm, tag = faultkit.sim, faultkit.calm, faultkit.tag


def test_bursts_of_500_on_files_and_pages_are_retried(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str
) -> None:
    settings = make_settings(**FAST)

    def faults() -> list[dict[str, Any]]:
        return sim.timeline()["faults"]

    def trouble(live: Live) -> None:
        # Two file downloads fail, then (once they have) two page loads.
        sim.control(fault_scope="files", burst_500=2)
        wait_until(lambda: len(faults()) >= 2)
        sim.control(fault_scope="pages", burst_500=2)

    done = run(sim, settings, tmp_path, trouble)

    served = [(f["fault"], "files" if f["group"] == "files" else "pages") for f in faults()]
    assert served == [("500", "files")] * 2 + [("500", "pages")] * 2
    # An attempt meets at most one page fault (PO page, or later its requisition page) and
    # ends there: two page faults fail two attempts (the file faults may share one).
    assert done.report["retries"] >= 2
    # A 500 on a PO's own page is named as what it was, not as a failed download.
    po_page_faults = [f for f in faults() if f["group"] == "pos"]
    retried_for = [detail for _, _, detail in events(settings.out, "retry")]
    assert retried_for.count("E_SERVER_ERROR") == len(po_page_faults)
    assert_nothing_lost(sim, done, settings, tag)


@pytest.mark.parametrize("workers", [2, 1], ids=["pool", "sequential"])
def test_429_pauses_every_worker_for_the_retry_after(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str, workers: int
) -> None:
    retry_after = 4
    settings = make_settings(**{**FAST, "workers": workers})
    sim.control(retry_after=retry_after)

    def trouble(live: Live) -> None:
        live.when(2)
        sim.control(fault_scope="pages", burst_429=1)

    done = run(sim, settings, tmp_path, trouble)

    assert_nothing_lost(sim, done, settings, tag)
    timeline = sim.timeline()
    [limited] = timeline["faults"]
    assert limited["fault"] == "429"
    assert done.report["rate_limit_pauses"] == 1
    assert done.report["retries"] >= 1
    # The window: from when the run learnt of the 429 (its event in the state DB is
    # written a moment after the pause began, which only shrinks the window) to
    # Retry-After seconds after the server sent it (the run's pause ends later still).
    # No PO page may be asked for inside it, except by POs that were already on their
    # way when the pause began: at most one per other worker, none without a pool.
    [(paused_at, _, _)] = events(settings.out, "rate_limited")
    window_end = limited["t"] + retry_after
    assert limited["t"] <= paused_at
    pages = [r for r in timeline["requests"] if r["group"] == "pos"]
    inside = [r for r in pages if paused_at <= r["t"] < window_end]
    assert len(inside) <= workers - 1, inside
    # The PO that met the 429 came back only after the wait, and the run went on.
    again = [r for r in pages if r["id"] == limited["id"] and r["t"] > limited["t"]]
    if limited["group"] == "pos":
        assert again and again[0]["t"] >= window_end
    assert any(r["t"] >= window_end for r in pages)


CUTS = {
    # A body that hangs for 600 s, with download_timeout 600 s too: only the no-progress
    # timeout (download_stall_timeout, 2 s) can notice it within the test's time limit.
    "stall": {"stall_after_bytes": 1000, "stall_count": 2, "stall_seconds": 600},
    # A connection cut once: Chromium asks for the file again by itself.
    "drop once": {"drop_after_bytes": 1000, "drop_count": 1},
    # Cut every time for a while: Chromium gives up after a few tries (and shows no file
    # at all), so coupadl's own download timeouts must notice and retry the PO.
    "drop repeatedly": {"drop_after_bytes": 1000, "drop_count": 15},
}


@pytest.mark.parametrize("cut", list(CUTS))
def test_stalled_or_dropped_downloads_end_complete(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str, cut: str
) -> None:
    settings = make_settings(**FAST, download_timeout=600)
    sim.control(**CUTS[cut])

    done = run(sim, settings, tmp_path)

    faults = sim.timeline()["faults"]
    wanted = CUTS[cut].get("stall_count") or CUTS[cut]["drop_count"]
    assert [f["fault"] for f in faults] == [cut.split()[0]] * wanted
    # Every file that was cut was asked for again (by Chromium or by a retry)...
    assert all(sim.stats()["files"][f["id"]] >= 2 for f in faults)
    if cut != "drop once":
        # ...and here by coupadl: the PO was retried.
        assert done.report["retries"] >= 1
    assert_nothing_lost(sim, done, settings, tag)


def test_pages_that_never_finish_loading(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str
) -> None:
    # Every page keeps loading scripts for 30 s, far beyond page_timeout (8 s): waiting
    # for the load event would time out on every PO. And the first two pages asked for
    # never arrive at all (the server thinks for 600 s): those must time out and retry.
    settings = make_settings(**FAST)
    sim.control(script_delay=30, page_latency=600)

    def trouble(live: Live) -> None:
        wait_until(lambda: sum(sim.stats()["pos"].values()) >= 2)
        sim.control(page_latency=0)

    done = run(sim, settings, tmp_path, trouble)

    requests = sim.timeline()["requests"]
    hung = [r for r in requests if r["group"] != "files"][:2]
    timeouts = [e for e in events(settings.out, "retry") if "TIMEOUT" in e[2]]
    # The hung pages timed out (more than they cannot have: no other page waited).
    assert len(timeouts) == len(hung) == 2
    assert {po for _, po, _ in timeouts} == {r["id"] for r in hung}
    assert sim.stats()["assets"] > 0, "the pages did ask for their late scripts"
    assert_nothing_lost(sim, done, settings, tag)
