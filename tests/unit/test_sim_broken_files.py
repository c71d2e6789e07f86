"""The simulator's broken-file knobs (simulator/broken.py) over real HTTP on 127.0.0.1:
what a client sees for each fault, and files served from a signed URL on another host."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from coupadl.simulator import SimulatorServer
from coupadl.simulator.broken import LONG_EXTRA
from coupadl.simulator.data import SimFile


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=12, seed=3) as running:
        yield running


@pytest.fixture
def http(server: SimulatorServer) -> Iterator[httpx.Client]:
    creds = server.manifest()["credentials"]
    with httpx.Client(base_url=server.base_url, timeout=5) as client:
        form = {"user[email]": creds["email"], "user[password]": creds["password"]}
        assert client.post("/sessions", data=form).status_code == 302
        yield client
    server.control(file_faults=None, file_host=None, redirect_host="elsewhere.localhost")


def _pdf(server: SimulatorServer) -> tuple[SimFile, str]:
    """A PDF attachment and its tenant URL path."""
    sim = next(f for f in server.dataset.files.values() if f.ftype == "pdf")
    return sim, f"/attachment/attachment_file/file/{sim.file_id}/x.pdf"


def _healthy(http: httpx.Client, path: str) -> bytes:
    response = http.get(path)
    assert response.status_code == 200
    return response.content


def test_empty_html_and_short(server: SimulatorServer, http: httpx.Client) -> None:
    sim, path = _pdf(server)
    whole = _healthy(http, path)
    server.control(file_faults={str(sim.file_id): "empty"})
    empty = http.get(path)
    assert (empty.status_code, empty.content, empty.headers["content-length"]) == (200, b"", "0")

    server.control(file_faults={str(sim.file_id): "html"})
    page = http.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert page.content.startswith(b"<!DOCTYPE html>")
    assert "attachment" in page.headers["content-disposition"]  # still saved as the PDF

    server.control(file_faults={str(sim.file_id): "short"})
    short = http.get(path)
    assert int(short.headers["content-length"]) == len(short.content) == len(whole) // 2
    assert short.content == whole[: len(whole) // 2]


def test_long_content_length_then_the_connection_closes(
    server: SimulatorServer, http: httpx.Client
) -> None:
    sim, path = _pdf(server)
    whole = _healthy(http, path)
    server.control(file_faults={str(sim.file_id): "long"})
    received = bytearray()
    with pytest.raises(httpx.RemoteProtocolError), http.stream("GET", path) as response:
        assert int(response.headers["content-length"]) == len(whole) + LONG_EXTRA
        for chunk in response.iter_bytes():
            received += chunk
    assert bytes(received) == whole


def test_redirect_to_another_host_with_a_signed_url(
    server: SimulatorServer, http: httpx.Client
) -> None:
    sim, path = _pdf(server)
    whole = _healthy(http, path)
    server.control(file_faults={str(sim.file_id): "redirect"})
    moved = http.get(path, follow_redirects=False)
    assert moved.status_code == 302
    target = urlsplit(moved.headers["location"])
    assert (target.hostname, target.port) == ("elsewhere.localhost", server.port)
    # The signed URL needs no session cookie (as S3's do); a wrong signature is refused.
    on_loopback = f"{server.base_url}{target.path}?{target.query}"
    assert httpx.get(on_loopback, timeout=5).content == whole
    assert httpx.get(on_loopback.replace("sig=", "sig=0"), timeout=5).status_code == 403
    assert httpx.get(f"{server.base_url}{target.path}", timeout=5).status_code == 403


def test_file_host_serves_every_file_through_a_signed_redirect(
    server: SimulatorServer, http: httpx.Client
) -> None:
    sim, path = _pdf(server)
    server.control(file_host="files.localhost")
    moved = http.get(path, follow_redirects=False)
    assert moved.status_code == 302
    assert urlsplit(moved.headers["location"]).hostname == "files.localhost"
    target = urlsplit(moved.headers["location"])
    data = httpx.get(f"{server.base_url}{target.path}?{target.query}", timeout=5).content
    assert hashlib.sha256(data).hexdigest() == server.state.store.digest(sim)[1]


@pytest.mark.parametrize(
    "changes",
    [
        {"file_faults": {"12": "explode"}},
        {"file_faults": {"abc": "html"}},
        {"file_faults": ["12"]},
        {"file_host": "example.com"},
        {"redirect_host": "10.0.0.1"},
    ],
)
def test_bad_knob_values_are_refused_over_http(
    server: SimulatorServer, http: httpx.Client, changes: dict[str, object]
) -> None:
    response = http.post("/__sim__/control", json=changes)
    assert response.status_code == 400
    assert server.state.faults.knobs.file_faults is None
