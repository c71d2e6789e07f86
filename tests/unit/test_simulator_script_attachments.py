"""PO pages that list their attachments only through a script (``script_attachments_share``),
or their last header file only (``script_extra_share``).

The served HTML is read with BeautifulSoup and the selectors of coupa-facts.md (not
with coupadl's parser): a script-only page has no file links, keeps the "View
Attachments (n)" count of the plain page, and the manifest flags it and still lists
its files. A script-extra page lists every header file but the last (or Coupa's "None"
item), so its HTML looks complete; its script holds the last one. A real headless
Chromium run of the browser engine then downloads every file of script-only pages,
checked against the manifest (script-extra pages: tests/e2e/test_http_checks.py).
"""

from __future__ import annotations

import base64
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
    server.control(script_attachments_share=0, script_extra_share=0)


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


# --- script-extra pages: the last header file only through a script ----------------------

_B64 = re.compile(r'\("[^"]+", "([A-Za-z0-9+/=]+)"\)')


def _header_names(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    return [str(s["title"]) for s in soup.select("span.attachment-file[data-url]")]


def _header_lists(html: str) -> list[Any]:
    return BeautifulSoup(html, "html.parser").select("div.attachments > ul.attachments-list")


def _extra(manifest: dict[str, Any]) -> set[str]:
    return {n for n, po in manifest["pos"].items() if po["script_extra"]}


def _own_header(truth: dict[str, Any]) -> list[str]:
    return [f["original_name"] for f in truth["files"] if f["source"] == "header"]


def test_script_extra_pages_hold_back_their_last_header_file(
    server: SimulatorServer, http: httpx.Client
) -> None:
    numbers = list(server.manifest()["pos"])
    plain, plain_manifest = _pages(http, numbers), server.manifest()
    assert not _extra(plain_manifest)

    server.control(script_extra_share=1)
    pages, manifest = _pages(http, numbers), server.manifest()

    with_header = {n for n, truth in manifest["pos"].items() if _own_header(truth)}
    assert len(with_header) >= 5
    assert _extra(manifest) == with_header  # share 1: every PO with header files
    for number, html in pages.items():
        truth = manifest["pos"][number]
        if number not in with_header:
            assert _links(html) == _links(plain[number]), number
            assert 'id="attachment-extra"' not in html, number
            continue
        names = _header_names(html)
        assert names == _own_header(truth)[:-1], number
        # It looks complete: its one header list holds files, or Coupa's "None" item.
        (listed,) = _header_lists(html)
        assert listed.select("span.attachment-file") or listed.select("li.none"), number
        assert _count(html) == _count(plain[number]), number
        assert len(_links(html)) == len(_links(plain[number])) - 2, number  # span + its li
        # The script holds exactly the held-back file, its URL only as base64.
        script = BeautifulSoup(html, "html.parser").select_one("script#attachment-extra")
        assert script is not None, number
        (encoded,) = _B64.findall(script.get_text())
        added = base64.b64decode(encoded).decode("utf-8")
        assert _header_names(added) == _own_header(truth)[-1:], number
        url = BeautifulSoup(added, "html.parser").select_one("span.attachment-file")["data-url"]
        assert url not in html and url in _links(plain[number]), number
    # The manifest stays the truth: the same files, only the flag differs.
    for number, truth in manifest["pos"].items():
        before = dict(plain_manifest["pos"][number], script_extra=truth["script_extra"])
        assert truth == before, number


def test_a_script_only_page_stays_script_only(server: SimulatorServer, http: httpx.Client) -> None:
    server.control(script_attachments_share=1, script_extra_share=1)
    manifest = server.manifest()
    assert not _extra(manifest) and _flagged(manifest)
    for number, html in _pages(http, list(manifest["pos"])).items():
        assert 'id="attachment-extra"' not in html, number


def test_the_extra_choice_is_fixed_by_seed_and_share(server: SimulatorServer) -> None:
    def extra(share: float) -> set[str]:
        sim = SimulatorServer(n_pos=20, seed=7, script_extra_share=share)
        return _extra(sim.state.manifest("http://sim.test"))

    half = extra(0.5)
    assert half == extra(0.5)
    assert 0 < len(half) < len(extra(1.0))
    assert extra(0.2) <= half <= extra(0.8) <= extra(1.0)
    assert extra(0.0) == set()
    assert http_status(server, {"script_extra_share": 1.5}) == 400
    # The two knobs draw apart: together, each picks POs of its own.
    both = SimulatorServer(n_pos=20, seed=7, script_attachments_share=0.5, script_extra_share=0.5)
    manifest = both.state.manifest("http://sim.test")
    assert _extra(manifest) and _flagged(manifest) and not _extra(manifest) & _flagged(manifest)


def http_status(server: SimulatorServer, knobs: dict[str, Any]) -> int:
    return httpx.post(f"{server.base_url}/__sim__/control", json=knobs, timeout=10).status_code


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
