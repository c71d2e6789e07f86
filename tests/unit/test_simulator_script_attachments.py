"""PO pages that list their attachments only through a script (``script_attachments_share``).

The served HTML is read with BeautifulSoup and the selectors of coupa-facts.md (not
with coupadl's parser): a script-only page has no file links, keeps the "View
Attachments (n)" count of the plain page, and the manifest flags it and still lists
its files. A real headless Chromium run of the browser engine then downloads every
file of such pages, checked against the manifest.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from bs4 import BeautifulSoup

from coupadl.simulator import SimulatorServer

_COUNT = re.compile(r"View Attachments \((\d+)\)")


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=20, seed=7) as running:
        yield running


@pytest.fixture
def http(server: SimulatorServer) -> Iterator[httpx.Client]:
    creds = server.manifest()["credentials"]
    with httpx.Client(base_url=server.base_url, timeout=10) as client:
        form = {"user[email]": creds["email"], "user[password]": creds["password"]}
        assert client.post("/sessions", data=form).status_code == 302
        yield client
    server.control(script_attachments_share=0)


def _links(html: str) -> list[str]:
    """Every file URL a page shows: comment links and header file buttons (coupa-facts.md)."""
    soup = BeautifulSoup(html, "html.parser")
    hrefs = [str(a["href"]) for a in soup.select('a[href*="/attachment/attachment_file/"]')]
    spans = [str(s["data-url"]) for s in soup.select("span.attachment-file[data-url]")]
    items = [str(li["data-url"]) for li in soup.select("li.attachment[data-url]")]
    return spans + items + hrefs


def _count(html: str) -> int | None:
    text = BeautifulSoup(html, "html.parser").get_text(" ")
    match = _COUNT.search(text)
    return int(match.group(1)) if match else None


def _pages(http: httpx.Client, numbers: list[str]) -> dict[str, str]:
    pages = {}
    for number in numbers:
        response = http.get(f"/order_headers/{number}")
        if response.status_code == 200:
            pages[number] = response.text
    return pages


def _flagged(manifest: dict[str, Any]) -> set[str]:
    return {n for n, po in manifest["pos"].items() if po["script_attachments"]}


def test_share_one_hides_every_link_but_keeps_counts_and_truth(
    server: SimulatorServer, http: httpx.Client
) -> None:
    numbers = list(server.manifest()["pos"])
    plain = _pages(http, numbers)
    plain_manifest = server.manifest()
    assert not _flagged(plain_manifest)  # share 0: no PO is script-only

    server.control(script_attachments_share=1)
    scripted = _pages(http, numbers)
    manifest = server.manifest()

    with_links = {n for n, html in plain.items() if _links(html)}
    assert len(with_links) >= 10
    assert _flagged(manifest) == with_links  # share 1: every PO showing files of its own
    assert set(scripted) == set(plain)
    for number, html in scripted.items():
        assert _links(html) == [], number
        assert "attachment_file" not in html, number  # not even inside the script
        assert _count(html) == _count(plain[number]), number
        flagged = number in with_links
        assert ('id="attachment-fill"' in html) == flagged, number
    # The manifest stays the truth: the same files, only the flag differs.
    for number, truth in manifest["pos"].items():
        before = dict(plain_manifest["pos"][number], script_attachments=truth["script_attachments"])
        assert truth == before, number


def test_the_choice_is_fixed_by_seed_and_share(server: SimulatorServer, http: httpx.Client) -> None:
    def flagged(share: float) -> set[str]:
        sim = SimulatorServer(n_pos=20, seed=7, script_attachments_share=share)
        return _flagged(sim.state.manifest("http://sim.test"))

    half = flagged(0.5)
    assert half == flagged(0.5)  # a new simulator, the same POs
    assert 0 < len(half) < len(flagged(1.0))
    assert flagged(0.2) <= half <= flagged(0.8) <= flagged(1.0)
    assert flagged(0.0) == set()

    # Over HTTP the pages agree with the manifest: links exactly where it has no flag.
    server.control(script_attachments_share=0.5)
    manifest = server.manifest()
    assert _flagged(manifest) == half
    pages = _pages(http, list(manifest["pos"]))
    for number, html in pages.items():
        if manifest["pos"][number]["script_attachments"]:
            assert _links(html) == [], number
            assert _count(html) is not None, number
        elif any(f["source"] in ("header", "comment") for f in manifest["pos"][number]["files"]):
            assert _links(html), number


def test_requisition_pages_and_print_views_keep_their_files(
    server: SimulatorServer, http: httpx.Client
) -> None:
    server.control(script_attachments_share=1)
    requisition = next(r for r in server.dataset.requisitions.values() if r.attachments.header)
    assert _links(http.get(f"/requisition_headers/{requisition.req_id}").text)
    po = next(p for p in server.dataset.pos.values() if p.attachments.header)
    print_view = http.get(f"/order_headers/print_view?id={po.number}&version=1").text
    assert po.attachments.header[0].name in BeautifulSoup(print_view, "html.parser").get_text()


def test_the_share_is_a_knob_between_0_and_1(server: SimulatorServer, http: httpx.Client) -> None:
    assert http.post("/__sim__/control", json={"script_attachments_share": 1.5}).status_code == 400
    with pytest.raises(ValueError):
        server.control(script_attachments_share=-0.1)
    knobs = http.post("/__sim__/control", json={"script_attachments_share": 0.25}).json()
    assert knobs["script_attachments_share"] == 0.25


# --- real headless Chromium: the browser engine still gets every file --------------------


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """Replaces conftest's simulator for this module's browser test: every PO with files
    of its own lists them only through its script."""
    with SimulatorServer(n_pos=12, seed=7, script_attachments_share=1.0) as running:
        yield running


@pytest.mark.browser
def test_the_browser_engine_downloads_everything_from_script_only_pages(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path
) -> None:
    from coupadl.runs.batch import run_batch
    from coupadl.simulator.check import compare_with_manifest
    from helpers import write_input

    manifest = sim.manifest()
    assert len(_flagged(manifest)) >= 7  # header, comment, both, hostile, unicode, ...
    settings = make_settings()
    run_batch(write_input(tmp_path / "in.csv", list(manifest["pos"])), settings)
    assert compare_with_manifest(settings.out, manifest) == []
