"""What a Selenium Grid offers, read from real ``/status`` answers (tests/unit/data/grid,
captured from the Grid of tests/gridkit.py), and the doctor's verdicts on it (plain
data, no network)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from coupadl.doctor.checks import run_doctor
from coupadl.doctor.grid import (
    browsers_check,
    check_grid,
    grid_check,
    managed_check,
    slots_check,
)
from coupadl.doctor.result import Level
from coupadl.engine.browser.grid import GridStatus, grid_browser_name, parse_status
from coupadl.errors import GridError
from coupadl.settings import BrowserKind, Settings, load_settings

DATA = Path(__file__).parent / "data" / "grid"
URL = "http://grid.example:4444"


def _answer(name: str) -> dict[str, Any]:
    payload = json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))
    assert isinstance(payload, dict)
    return payload


def _nodes(payload: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = payload["value"]["nodes"]
    assert isinstance(nodes, list)
    return nodes


# --- parse_status over real answers -----------------------------------------------------


def test_an_idle_standalone_server_offers_its_max_sessions_not_its_slot_count() -> None:
    payload = _answer("standalone-managed")
    # It lists two slots per browser (six), and runs at most two sessions.
    assert len(_nodes(payload)[0]["slots"]) == 6
    status = parse_status(payload, "chrome")
    assert status == GridStatus(
        ready=True,
        version="4.48.0",
        browsers=("MicrosoftEdge", "chrome", "firefox"),
        slots=2,
        free=2,
        managed_downloads=True,
        nodes=1,
        nodes_up=1,
    )


def test_a_running_session_takes_one_slot_and_a_full_node_has_none_free() -> None:
    one = parse_status(_answer("standalone-one-session"), "chrome")
    full = parse_status(_answer("standalone-full"), "chrome")
    assert (one.slots, one.free) == (2, 1)
    assert (full.slots, full.free) == (2, 0)
    assert not full.ready  # what a full Grid says: not a reason to call it unreachable


def test_a_busy_slot_of_another_browser_counts_against_the_node() -> None:
    payload = _answer("standalone-one-session")
    # The node's session runs in a chrome slot: Edge, with its own two idle slots,
    # has only one session left on this node all the same.
    edge = parse_status(payload, "MicrosoftEdge")
    assert (edge.slots, edge.free) == (2, 1)
    # Move that session to a firefox slot: chrome's two slots are idle, one is free.
    moved = copy.deepcopy(payload)
    slots = _nodes(moved)[0]["slots"]
    busy = next(s for s in slots if s["session"])
    idle_firefox = next(s for s in slots if s["stereotype"]["browserName"] == "firefox")
    idle_firefox["session"], busy["session"] = busy["session"], None
    chrome = parse_status(moved, "chrome")
    assert (chrome.slots, chrome.free) == (2, 1)


def test_max_sessions_caps_a_node_below_its_slots_for_the_browser() -> None:
    payload = copy.deepcopy(_answer("standalone-managed"))
    _nodes(payload)[0]["maxSessions"] = 1
    status = parse_status(payload, "chrome")
    assert (status.slots, status.free) == (1, 1)


def test_managed_downloads_are_read_per_browser_from_the_stereotypes() -> None:
    assert parse_status(_answer("standalone-managed"), "chrome").managed_downloads
    assert parse_status(_answer("standalone-managed"), "MicrosoftEdge").managed_downloads
    unmanaged = parse_status(_answer("standalone-unmanaged"), "chrome")
    assert not unmanaged.managed_downloads
    assert (unmanaged.slots, unmanaged.free) == (2, 2)  # it runs sessions, without files
    # Only chrome's slots on: Edge's stay off.
    payload = copy.deepcopy(_answer("standalone-unmanaged"))
    for slot in _nodes(payload)[0]["slots"]:
        if slot["stereotype"]["browserName"] == "chrome":
            slot["stereotype"]["se:downloadsEnabled"] = True
    assert parse_status(payload, "chrome").managed_downloads
    assert not parse_status(payload, "MicrosoftEdge").managed_downloads


def test_a_browser_the_grid_does_not_offer_has_no_slot() -> None:
    status = parse_status(_answer("standalone-managed"), "safari")
    assert (status.slots, status.free, status.managed_downloads) == (0, 0, False)
    assert status.browsers == ("MicrosoftEdge", "chrome", "firefox")


def test_a_hub_counts_only_the_slots_that_can_take_coupadls_sessions() -> None:
    # Node A has managed downloads, node B not: coupadl asks for them, so the Grid gives
    # its sessions node A's slot only.
    status = parse_status(_answer("hub-two-nodes"), "chrome")
    assert (status.nodes, status.nodes_up, status.slots, status.free) == (2, 2, 1, 1)
    assert status.managed_downloads  # node A's
    both = copy.deepcopy(_answer("hub-two-nodes"))
    for node in _nodes(both):
        for slot in node["slots"]:
            slot["stereotype"]["se:downloadsEnabled"] = True
    assert (parse_status(both, "chrome").slots, parse_status(both, "chrome").free) == (2, 2)


def test_a_node_that_is_down_offers_no_slot() -> None:
    payload = _answer("hub-node-down")
    assert [n["availability"] for n in _nodes(payload)] == ["UP", "DOWN"]
    status = parse_status(payload, "chrome")
    assert (status.nodes, status.nodes_up, status.slots, status.free) == (2, 1, 1, 1)
    # Its browsers are still named (it is registered), but its stereotypes do not
    # count: with the managed node down, nothing offers managed downloads.
    assert status.browsers == ("MicrosoftEdge", "chrome", "firefox")
    swapped = copy.deepcopy(payload)
    first, second = _nodes(swapped)
    first["availability"], second["availability"] = "DOWN", "UP"
    assert not parse_status(swapped, "chrome").managed_downloads


def test_a_hub_without_nodes_offers_nothing() -> None:
    status = parse_status(_answer("hub-no-node"), "chrome")
    assert status == GridStatus(
        ready=False, version="", browsers=(), slots=0, free=0, managed_downloads=False
    )


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"value": None},
        {"value": "Selenium Grid ready."},
        {"value": [1, 2]},
        {"value": {"ready": True}},  # Grid 3 answers without nodes
        {"value": {"nodes": "node-1"}},
        {"value": {"nodes": 3}},
        {"value": {"nodes": [None, 1, "x", {}]}},
        {"value": {"nodes": [{"availability": "UP", "slots": 5}]}},
        {"value": {"nodes": [{"availability": "UP", "slots": [None, {"stereotype": "x"}]}]}},
        {"value": {"nodes": [{"availability": "UP", "maxSessions": "many", "slots": []}]}},
        {"value": {"nodes": [{"availability": "UP", "version": None, "slots": [{}]}]}},
    ],
)
def test_garbage_offers_nothing_and_does_not_crash(payload: Any) -> None:
    status = parse_status(payload, "chrome")
    assert (status.slots, status.free, status.managed_downloads) == (0, 0, False)


def test_an_unreadable_max_sessions_falls_back_to_the_slots() -> None:
    payload = copy.deepcopy(_answer("standalone-managed"))
    _nodes(payload)[0]["maxSessions"] = "two"
    assert parse_status(payload, "chrome").slots == 2


def test_chromium_runs_in_chrome_slots_edge_in_microsoft_edge_slots() -> None:
    assert grid_browser_name(BrowserKind.CHROMIUM) == "chrome"
    assert grid_browser_name(BrowserKind.CHROME) == "chrome"
    assert grid_browser_name(BrowserKind.EDGE) == "MicrosoftEdge"


# --- the doctor's verdicts ------------------------------------------------------------


def _settings(**values: Any) -> Settings:
    return load_settings({"grid_url": URL, "engine": "browser", **values})


def _status(**values: Any) -> GridStatus:
    fields: dict[str, Any] = {
        "ready": True,
        "version": "4.48.0",
        "browsers": ("MicrosoftEdge", "chrome", "firefox"),
        "slots": 2,
        "free": 2,
        "managed_downloads": True,
        "nodes": 1,
        "nodes_up": 1,
    }
    return GridStatus(**{**fields, **values})


def _rows(settings: Settings, found: GridStatus | GridError) -> dict[str, tuple[Level, str]]:
    def read(_: Settings) -> GridStatus:
        if isinstance(found, GridError):
            raise found
        return found

    checks = check_grid(settings, read=read)
    return {c.name: (c.level, f"{c.detail} -> {c.advice}") for c in checks}


def test_no_grid_url_no_grid_rows() -> None:
    assert check_grid(load_settings({}), read=lambda s: pytest.fail("asked the Grid")) == []


def test_a_grid_that_can_run_the_browsers_is_ok_and_named() -> None:
    rows = _rows(_settings(), _status(free=1))
    assert {name: level for name, (level, _) in rows.items()} == {
        "grid": Level.OK, "browsers": Level.OK, "slots": Level.OK, "managed": Level.OK,
    }  # fmt: skip
    assert URL in rows["grid"][1] and "Selenium Grid 4.48.0" in rows["grid"][1]
    assert "1 of 2 chrome slots free" in rows["slots"][1]
    assert "chrome" in rows["managed"][1]


def test_the_real_answers_give_the_verdicts_a_user_would_see() -> None:
    def levels(name: str) -> dict[str, Level]:
        status = parse_status(_answer(name), "chrome")
        return {n: lv for n, (lv, _) in _rows(_settings(), status).items()}

    assert set(levels("standalone-managed").values()) == {Level.OK}
    assert levels("standalone-full")["slots"] is Level.WARN
    assert levels("standalone-unmanaged")["managed"] is Level.FAIL
    assert levels("hub-no-node")["slots"] is Level.FAIL


def test_an_unreachable_grid_fails_and_the_rest_is_not_checked() -> None:
    error = GridError(f"The Selenium Grid at {URL} did not answer /status: refused")
    rows = _rows(_settings(), error)
    level, text = rows["grid"]
    assert level is Level.FAIL
    assert "did not answer" in text and "--grid-url" in text.split("->", 1)[1]
    assert {rows[n][0] for n in ("browsers", "slots", "managed")} == {Level.SKIP}


def test_an_answer_of_another_major_version_is_not_a_grid_4() -> None:
    check = grid_check(URL, _status(version="3.141.59"))
    assert check.level is Level.FAIL
    assert "3.141.59" in check.detail and "Selenium Grid 4" in check.detail
    assert "--grid-url" in check.advice


def test_the_grid_row_counts_the_nodes() -> None:
    assert "2 nodes, 1 up" in grid_check(URL, _status(nodes=2, nodes_up=1)).detail
    empty = grid_check(URL, _status(version="", nodes=0, nodes_up=0, slots=0, free=0))
    assert empty.level is Level.OK and "no node" in empty.detail


def test_no_free_slot_warns_that_sessions_would_queue() -> None:
    check = slots_check("chrome", _status(free=0))
    assert check.level is Level.WARN
    assert "0 of 2 chrome slots free" in check.detail and "queue" in check.detail
    assert check.advice


def test_no_slot_for_the_browser_fails_and_lists_what_the_grid_offers() -> None:
    check = slots_check("MicrosoftEdge", _status(browsers=("chrome", "firefox"), slots=0, free=0))
    assert check.level is Level.FAIL
    assert "chrome, firefox" in check.detail
    assert "--browser chromium" in check.advice  # chrome is on offer
    no_node = slots_check("chrome", _status(browsers=(), slots=0, free=0, nodes_up=0))
    assert no_node.level is Level.FAIL and "none" in no_node.detail


def test_managed_downloads_off_fails_with_the_flag_and_the_guide() -> None:
    check = managed_check("chrome", _status(managed_downloads=False))
    assert check.level is Level.FAIL
    assert "--enable-managed-downloads true" in check.advice
    assert "docs/grid.md" in check.advice
    skipped = managed_check("chrome", _status(slots=0, free=0, managed_downloads=False))
    assert skipped.level is Level.SKIP  # no slot to look at: the slots row says why


def test_a_grid_without_a_chromium_browser_fails_the_browsers_row() -> None:
    assert browsers_check(_status(browsers=("chrome",))).level is Level.OK
    assert browsers_check(_status(browsers=("MicrosoftEdge", "firefox"))).level is Level.OK
    check = browsers_check(_status(browsers=("firefox", "safari")))
    assert check.level is Level.FAIL
    assert "firefox, safari" in check.detail and "Chrome" in check.advice


def test_the_configured_browser_picks_the_slots() -> None:
    rows = _rows(_settings(browser="edge"), _status())
    assert "MicrosoftEdge" in rows["slots"][1]


def test_an_engine_without_browser_workers_fails_the_grid_row() -> None:
    rows = _rows(_settings(engine="http"), _status())
    level, text = rows["grid"]
    assert level is Level.FAIL and "'http'" in text and "--engine browser" in text
    assert {rows[n][0] for n in ("browsers", "slots", "managed")} == {Level.SKIP}


def test_run_doctor_puts_the_grid_rows_before_the_session(tmp_path: Path) -> None:
    # Engine 'api' with a Grid is refused before any network (no URL: no tenant GET).
    settings = load_settings({"engine": "api", "grid_url": URL, "out": tmp_path})
    names = [c.name for c in run_doctor(settings, min_free_bytes=0)]
    assert names == ["python", "paths", "browser", "driver", "profile", "output", "tenant",
                     "grid", "browsers", "slots", "managed", "session",
                     "api", "scopes", "po_list"]  # fmt: skip
