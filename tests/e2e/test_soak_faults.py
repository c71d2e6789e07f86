"""Soak: long runs with server faults all along, real headless Chromium, two workers.

Marked ``soak``: not part of a normal run or CI; ``scripts/soak.sh`` runs them. Each run
fetches every PO of an 80-PO simulator while its knobs (simulator/faults.py) inject
faults the whole time: random 500s and 429s, stalled and dropped downloads with page
loads that hang, sessions that expire every few dozen pages. The oracle is the
simulator's manifest (faultkit.assert_nothing_lost); each test also checks that the
faults it asked for were served, so a quiet simulator cannot pass for a robust client.
Figures (POs, seconds, retries, pauses) go to the JUnit XML for soak.sh.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import faultkit
from coupadl.simulator.server import SimulatorServer
from faultkit import CALM, FAST, FaultRun, Live, assert_nothing_lost, events, run
from helpers import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.soak, pytest.mark.timeout(1200)]

N_POS = 80
# Room for the faults that can land on one PO by chance (about 1 in 10^6 for 8 tries).
LONG = {**FAST, "max_retries": 8}
Record = Callable[[str, object], None]

calm, tag = faultkit.calm, faultkit.tag


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=N_POS, seed=31, **CALM) as server:
        yield server


def _timed(sim: SimulatorServer, settings: Any, tmp_path: Path, *watch: Any) -> FaultRun:
    started = time.monotonic()
    done = run(sim, settings, tmp_path, *watch)
    done.report["soak_seconds"] = time.monotonic() - started
    return done


def _figures(record_property: Record, done: FaultRun) -> None:
    """What soak.sh reports: POs, wall time, POs per minute, retries and pauses."""
    report, seconds = done.report, done.report["soak_seconds"]
    record_property("pos", report["totals"]["pos"])
    record_property("run_seconds", round(seconds, 1))
    record_property("pos_per_minute", round(report["totals"]["pos"] / seconds * 60, 1))
    for key in ("retries", "worker_restarts", "rate_limit_pauses", "auth_pauses"):
        record_property(key, report[key])


def test_random_500s_and_429s_all_along(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str, record_property: Record
) -> None:
    settings = make_settings(**LONG)
    # Random 500s and 429s on any request; once 40 POs are done, on pages only, and the
    # next page for sure gets a 429 (one on a file download fails the download, one on a
    # page pauses every worker: both must be seen).
    sim.control(error_rate_500=0.04, rate_429=0.01, retry_after=1)

    def pages_only(live: Live) -> None:
        live.when(40, timeout=600)
        sim.control(fault_scope="pages", burst_429=1)

    done = _timed(sim, settings, tmp_path, pages_only)

    served = [(f["fault"], f["group"]) for f in sim.timeline()["faults"]]
    assert sum(fault == "500" for fault, _ in served) >= 5, served
    assert any(fault == "429" and group != "files" for fault, group in served), served
    assert done.report["rate_limit_pauses"] >= 1
    assert done.report["retries"] >= 5
    assert_nothing_lost(sim, done, settings, tag)
    _figures(record_property, done)


def test_stalls_drops_and_hung_pages_all_along(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, tag: str, record_property: Record
) -> None:
    # Files hang (600 s, caught by the 2 s no-progress timeout) or are cut; and three
    # times in the run, after 20, 40 and 60 POs, the next two pages never arrive.
    settings = make_settings(**LONG, download_timeout=600)
    sim.control(
        stall_after_bytes=1000, stall_count=4, stall_seconds=600,
        drop_after_bytes=1000, drop_count=8,
    )  # fmt: skip
    hung = 0

    def hang_pages(live: Live) -> None:
        nonlocal hung
        for count in (20, 40, 60):
            live.when(count, timeout=600)
            asked = sum(sim.stats()["pos"].values())
            sim.control(page_latency=600)
            wait_for(lambda a=asked: sum(sim.stats()["pos"].values()) >= a + 2, "2 pages hung")
            sim.control(page_latency=0)
            hung += 1

    done = _timed(sim, settings, tmp_path, hang_pages)

    faults = [f["fault"] for f in sim.timeline()["faults"]]
    assert (faults.count("stall"), faults.count("drop")) == (4, 8), faults
    assert hung == 3
    timeouts = [e for e in events(settings.out, "retry") if "TIMEOUT" in e[2]]
    assert len(timeouts) >= hung * 2, timeouts
    assert_nothing_lost(sim, done, settings, tag)
    _figures(record_property, done)


def test_sessions_expiring_all_along_are_signed_in_again(
    sim: SimulatorServer,
    make_settings: Any,
    tmp_path: Path,
    tag: str,
    own_profile: Path,
    record_property: Record,
) -> None:
    creds = sim.manifest()["credentials"]
    settings = make_settings(
        **LONG, profile_dir=own_profile, username=creds["email"], password=creds["password"]
    )
    # A session ends after 40 page requests: every 15-20 POs or so, whatever the timing.
    sim.control(session_max_requests=40)

    done = _timed(sim, settings, tmp_path)

    assert done.report["auth_pauses"] >= 3, done.report["auth_pauses"]
    assert sim.stats()["logins"] >= 3, sim.stats()
    assert_nothing_lost(sim, done, settings, tag)
    _figures(record_property, done)
