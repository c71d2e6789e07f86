"""SimulatorServer over real HTTP on 127.0.0.1: start/stop, control, broken transfers."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from coupadl.simulator import SimulatorServer
from coupadl.simulator.server import check_host
from coupadl.simulator.transfer import FaultyBody


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=12, seed=3) as running:
        yield running


@pytest.fixture
def http(server: SimulatorServer) -> Iterator[httpx.Client]:
    """A signed-in client; knobs are reset afterwards."""
    server.reset_stats()
    creds = server.manifest()["credentials"]
    with httpx.Client(base_url=server.base_url, timeout=5) as client:
        form = {"user[email]": creds["email"], "user[password]": creds["password"]}
        assert client.post("/sessions", data=form).status_code == 302
        yield client
    server.control(stall_after_bytes=None, drop_after_bytes=None, file_bandwidth=0,
                   session_max_requests=None)  # fmt: skip


def _file(server: SimulatorServer, at_least: int = 0) -> tuple[str, dict[str, Any]]:
    """A comment file's URL path and its manifest entry."""
    for number, entry in server.manifest("never")["pos"].items():
        for f in entry["files"]:
            if f["source"] == "comment" and f["size"] >= at_least:
                po = server.dataset.pos[number]
                sim = next(s for s in po.attachments.comment_files if s.name == f["original_name"])
                return f"/attachment/attachment_file/file/{sim.file_id}/x", f
    raise AssertionError("no such file")


def test_server_serves_on_a_free_loopback_port(server: SimulatorServer, http: httpx.Client) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}" and server.port > 0
    over_http = http.get("/__sim__/manifest").json()
    assert over_http == server.manifest()
    assert over_http["base_url"] == server.base_url
    path, entry = _file(server)
    response = http.get(path)
    assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
    page = http.get("/order_headers/16928000").text
    assert f'data-url="{server.base_url}/attachment/attachment_file/' in page or (
        f'href="{server.base_url}/attachment/attachment_file/' in page
    )
    stats = server.stats()
    assert stats["pos"] == {"16928000": 1} and stats["logins"] == 1


def test_control_and_expiry_through_the_server_object(
    server: SimulatorServer, http: httpx.Client
) -> None:
    assert server.control(page_latency=0)["page_latency"] == 0
    with pytest.raises(ValueError):
        server.control(no_such_knob=1)
    assert http.get("/order_headers/16928000").status_code == 200
    server.expire_sessions()
    expired = http.get("/order_headers/16928000", follow_redirects=False)
    assert expired.status_code == 302


def test_non_loopback_hosts_are_refused() -> None:
    with pytest.raises(ValueError):
        SimulatorServer(host="0.0.0.0")
    with pytest.raises(ValueError):
        check_host("192.168.1.10")
    check_host("::1")
    check_host("localhost")
    check_host("0.0.0.0", allow_remote=True)


def test_drop_after_bytes_cuts_the_connection(server: SimulatorServer, http: httpx.Client) -> None:
    path, entry = _file(server, at_least=4096)
    server.control(drop_after_bytes=1000)
    received = bytearray()
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):  # noqa: SIM117
        with http.stream("GET", path) as response:
            assert int(response.headers["content-length"]) == entry["size"]
            for chunk in response.iter_raw():
                received += chunk
    assert len(received) == 1000


def test_stall_hangs_until_stall_seconds_then_drops(
    server: SimulatorServer, http: httpx.Client
) -> None:
    path, _ = _file(server, at_least=4096)
    server.control(stall_after_bytes=500, stall_seconds=0.3)
    received = bytearray()
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):  # noqa: SIM117
        with http.stream("GET", path) as response:
            for chunk in response.iter_raw():
                received += chunk
    assert len(received) == 500


def test_stalled_client_can_give_up(server: SimulatorServer, http: httpx.Client) -> None:
    path, _ = _file(server, at_least=4096)
    server.control(stall_after_bytes=100, stall_seconds=30)
    with pytest.raises(httpx.ReadTimeout):
        http.get(path, timeout=0.3)
    server.control(stall_after_bytes=None)
    assert http.get(path).status_code == 200  # the server is not stuck


def test_bandwidth_streams_in_several_chunks() -> None:
    data = bytes(range(256)) * 200  # 51,200 bytes at 100 kB/s: 10 KB chunks
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await anyio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    body = FaultyBody(data, [(b"content-type", b"application/pdf")], bandwidth=100_000)
    anyio.run(body, {"type": "http", "method": "GET"}, receive, send)
    chunks = [m["body"] for m in messages if m["type"] == "http.response.body" and m["body"]]
    assert len(chunks) >= 5 and b"".join(chunks) == data
    assert messages[-1]["more_body"] is False
    start = messages[0]
    assert start["status"] == 200 and (b"content-length", b"51200") in start["headers"]
