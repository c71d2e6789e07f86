"""The simulator's exact-count fault knobs (bursts, stall and drop counts) and timeline."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from coupadl.simulator import build_dataset, create_app
from coupadl.simulator.faults import Faults, make_knobs

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

EMAIL, PASSWORD = "buyer@example.com", "coupa-sim"
PO = "/order_headers/16928000"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(build_dataset(8, 21)), base_url="http://sim.test") as test:
        form = {"user[email]": EMAIL, "user[password]": PASSWORD}
        assert test.post("/sessions", data=form, follow_redirects=False).status_code == 302
        yield test


def _file_path(client: TestClient) -> str:
    app_state = client.app.state.sim  # type: ignore[attr-defined]
    sim = max(app_state.dataset.files.values(), key=lambda f: f.size_hint)
    return f"/attachment/attachment_file/file/{sim.file_id}/x"


def test_bursts_fail_exactly_n_requests_in_their_scope() -> None:
    faults = Faults(make_knobs(burst_500=2, burst_429=1, fault_scope="pages"), seed=1)
    assert faults.draw("files") is None  # out of scope: the burst is kept for pages
    assert [faults.draw("pages") for _ in range(4)] == [429, 500, 500, None]
    assert faults.knobs.burst_500 == 0 and faults.knobs.burst_429 == 0


def test_fault_scope_is_checked() -> None:
    with pytest.raises(ValueError, match="fault_scope"):
        make_knobs(fault_scope="everything")
    with pytest.raises(ValueError):
        make_knobs(burst_500=-1)


def test_stall_and_drop_counts_only_count_bodies_they_cut() -> None:
    faults = Faults(make_knobs(stall_after_bytes=100, stall_count=1, drop_after_bytes=100,
                               drop_count=2), seed=1)  # fmt: skip
    assert faults.file_cut(50) == (None, None)  # too small to cut: nothing used up
    assert faults.file_cut(500) == (100, None)  # a stall wins a tie
    assert faults.file_cut(500) == (None, 100)
    assert faults.file_cut(500) == (None, 100)
    assert faults.file_cut(500) == (None, None)
    # Without a count, every body is cut (as before counts existed).
    assert Faults(make_knobs(drop_after_bytes=10), seed=1).file_cut(500) == (None, 10)


def test_a_429_page_says_how_long_to_wait_and_the_timeline_records_it(
    client: TestClient,
) -> None:
    client.post("/__sim__/control", json={"burst_429": 1, "retry_after": 3})
    limited = client.get(PO)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
    assert "wait 3 seconds" in limited.text
    assert client.get(PO).status_code == 200  # the burst is used up
    timeline = client.get("/__sim__/timeline").json()
    assert [r["id"] for r in timeline["requests"]] == ["16928000", "16928000"]
    [fault] = timeline["faults"]
    assert (fault["fault"], fault["group"], fault["id"]) == ("429", "pos", "16928000")
    assert timeline["requests"][0]["t"] <= fault["t"] <= timeline["requests"][1]["t"]
    client.post("/__sim__/stats/reset")
    assert client.get("/__sim__/timeline").json() == {"requests": [], "faults": []}


def test_file_bursts_and_cuts_are_counted(client: TestClient) -> None:
    path = _file_path(client)
    client.post("/__sim__/control", json={"fault_scope": "files", "burst_500": 1})
    assert client.get(PO).status_code == 200  # pages are out of scope
    assert client.get(path).status_code == 500
    client.post("/__sim__/control", json={"drop_after_bytes": 10, "drop_count": 1})
    assert len(client.get(path).content) == 10  # cut (a real client sees a closed socket)
    assert len(client.get(path).content) > 10
    stats = client.get("/__sim__/stats").json()
    assert (stats["errors_500"], stats["dropped_files"], stats["stalled_files"]) == (1, 1, 0)
    faults = [f["fault"] for f in client.get("/__sim__/timeline").json()["faults"]]
    assert faults == ["500", "drop"]
