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
from faultkit import FAST, Live, assert_nothing_lost, events, run
from helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

# The kit's fixtures, for this module: a small simulator, calm knobs, process tagging.
sim, calm, tag = faultkit.sim, faultkit.calm, faultkit.tag
ENGINES = {"browser": {}, "http": {"engine": "http", "concurrency": 2}}


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Each test with both engines: browser workers, and plain HTTP two POs at a time."""
    return {**FAST, **ENGINES[request.param]}


def test_bursts_of_500_on_files_and_pages_are_retried(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str, engine: dict[str, Any]
) -> None:
    settings = make_settings(**engine)

    def faults() -> list[dict[str, Any]]:
        return sim.timeline()["faults"]

    def trouble(live: Live) -> None:
        # Two file downloads fail, then (once they have) two page loads.
        sim.control(fault_scope="files", burst_500=2)
        wait_for(lambda: len(faults()) >= 2, "two file downloads answered 500")
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


@pytest.mark.parametrize(
    ("kind", "workers"), [("browser", 2), ("browser", 1), ("http", 2)],
    ids=["pool", "sequential", "http"],
)  # fmt: skip
def test_429_pauses_every_worker_for_the_retry_after(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str, kind: str, workers: int
) -> None:
    retry_after = 4
    # http: two POs in flight, as two pool workers are.
    settings = make_settings(**{**FAST, **ENGINES[kind], "workers": workers})
    # Armed before the run: the first page any worker asks for is a PO page (a PO's
    # requisition page comes after the PO's own), so the 429 hits a PO page for sure.
    sim.control(retry_after=retry_after, fault_scope="pages", burst_429=1)
    paused: list[int] = []

    def trouble(live: Live) -> None:
        # Where the server's request log stood when the run said it paused.
        wait_for(lambda: "rate_limited" in live.kinds, "the run's rate_limited event")
        paused.append(len(sim.timeline()["requests"]))

    done = run(sim, settings, tmp_path, trouble)

    assert_nothing_lost(sim, done, settings, tag)
    timeline = sim.timeline()
    [limited] = timeline["faults"]
    assert (limited["fault"], limited["group"]) == ("429", "pos"), limited
    assert done.report["rate_limit_pauses"] == 1
    assert len(events(settings.out, "rate_limited")) == 1
    assert done.report["retries"] >= 1
    # The pause: from the run's event to Retry-After seconds after the server sent the
    # 429 (both ends on the server's side: its request log, its clock). No PO page may
    # be asked for inside it, except by POs already on their way when the pause began:
    # at most one per other worker, none without a pool.
    window_end = limited["t"] + retry_after
    after_pause = timeline["requests"][paused[0] :]
    inside = [r for r in after_pause if r["group"] == "pos" and r["t"] < window_end]
    assert len(inside) <= workers - 1, inside
    # The PO that met the 429 was asked for again, only after the wait, and the run
    # went on.
    pages = [r for r in timeline["requests"] if r["group"] == "pos"]
    again = [r for r in pages if r["id"] == limited["id"] and r["t"] > limited["t"]]
    assert again, f"PO {limited['id']} was not asked for again after its 429"
    assert again[0]["t"] >= window_end, (again[0], window_end)
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
    sim: SimulatorServer,
    make_settings: Any,
    tmp_path: Path,
    tag: str,
    cut: str,
    engine: dict[str, Any],
) -> None:
    settings = make_settings(**engine, download_timeout=600)
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
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str, engine: dict[str, Any]
) -> None:
    # Every page keeps loading scripts for 30 s, far beyond page_timeout (8 s): waiting
    # for the load event would time out on every PO. And the first two pages asked for
    # never arrive at all (the server thinks for 600 s): those must time out and retry.
    # (Plain HTTP never asks for the scripts: only the hung pages matter there.)
    settings = make_settings(**engine)
    sim.control(script_delay=30, page_latency=600)

    def trouble(live: Live) -> None:
        wait_for(lambda: sum(sim.stats()["pos"].values()) >= 2, "two PO pages asked for")
        sim.control(page_latency=0)

    done = run(sim, settings, tmp_path, trouble)

    requests = sim.timeline()["requests"]
    hung = [r for r in requests if r["group"] != "files"][:2]
    timeouts = [e for e in events(settings.out, "retry") if "TIMEOUT" in e[2]]
    # The hung pages timed out (more than they cannot have: no other page waited).
    assert len(timeouts) == len(hung) == 2
    assert {po for _, po, _ in timeouts} == {r["id"] for r in hung}
    if settings.engine == "browser":
        assert sim.stats()["assets"] > 0, "the pages did ask for their late scripts"
    assert_nothing_lost(sim, done, settings, tag)
