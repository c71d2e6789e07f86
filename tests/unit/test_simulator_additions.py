"""The simulator's ``POST /__sim__/add-attachment``: a file added to a PO after the start
shows on the PO's page, in its REST API comments, in the manifest, and downloads. The
checks read the page's HTML and the API's JSON, not the data set."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup

from coupadl.simulator import Kind, build_dataset, create_app

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "http://sim.test"
NAME = "Delivery_note_December.pdf"


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(create_app(build_dataset(8, 3)), base_url=BASE) as test_client:
        form = {"user[email]": "buyer@example.com", "user[password]": "coupa-sim"}
        test_client.post("/sessions", data=form, follow_redirects=False)
        yield test_client


def _po(client: TestClient, kind: Kind) -> str:
    pos = client.get("/__sim__/manifest").json()["pos"]
    return next(po for po, truth in pos.items() if truth["kind"] == kind.value)


def _page_links(client: TestClient, po: str) -> dict[str, str]:
    html = client.get(f"/order_headers/{po}").text
    links = BeautifulSoup(html, "html.parser").select(".commentAttachments a[href]")
    return {str(a["title"]): str(a["href"]) for a in links}


def test_an_added_file_is_on_the_page_in_the_manifest_and_downloads(client: TestClient) -> None:
    po = _po(client, Kind.BOTH)
    assert NAME not in _page_links(client, po)
    answer = client.post("/__sim__/add-attachment", json={"po": po, "name": NAME, "size": 5000})
    assert answer.status_code == 200, answer.text
    file_id = answer.json()["file_id"]

    href = _page_links(client, po)[NAME]
    assert href.endswith(f"/attachment/attachment_file/file/{file_id}/{NAME}")
    entry = client.get("/__sim__/manifest").json()["pos"][po]["files"][-1]
    assert (entry["name"], entry["size"], entry["source"]) == (NAME, 5000, "comment")
    body = client.get(href.removeprefix(BASE)).content
    assert body.startswith(b"%PDF-1.") and len(body) == 5000


def test_the_api_lists_the_added_file_in_a_new_comment(client: TestClient) -> None:
    po = _po(client, Kind.HEADER)
    client.post("/__sim__/add-attachment", json={"po": po, "name": "GRN.csv"})
    form = {
        "client_id": "coupa-sim-api",
        "client_secret": "coupa-sim-api-secret",
        "grant_type": "client_credentials",
        "scope": "core.purchase_order.read core.common.read",
    }
    token = client.post("/oauth2/token", data=form).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    comments = client.get(f"/api/purchase_orders/{po}/comments", headers=headers).json()
    last = comments[-1]["id"]
    files = client.get(f"/api/comments/{last}/attachments", headers=headers).json()
    assert [f["file-file-name"] for f in files] == ["GRN.csv"]


@pytest.mark.parametrize(
    ("body", "why"),
    [
        ({"po": "1", "name": NAME}, "not a PO the user can see"),
        ({"name": NAME}, "send"),
        ({"po": "{both}", "name": "../evil.pdf"}, "state its saved name"),
        ({"po": "{both}", "name": "archive.rar"}, "extensions"),
        ({"po": "{both}", "name": NAME, "size": 0}, "size"),
    ],
)
def test_refused_additions_say_why(client: TestClient, body: dict[str, object], why: str) -> None:
    both = _po(client, Kind.BOTH)
    body = {k: (v.format(both=both) if isinstance(v, str) else v) for k, v in body.items()}
    answer = client.post("/__sim__/add-attachment", json=body)
    assert answer.status_code == 400 and why in answer.json()["error"]


def test_a_name_the_po_has_is_refused(client: TestClient) -> None:
    po = _po(client, Kind.COMMENT)
    taken = client.get("/__sim__/manifest").json()["pos"][po]["files"][0]["name"]
    answer = client.post("/__sim__/add-attachment", json={"po": po, "name": taken})
    assert answer.status_code == 400 and "already has a file" in answer.json()["error"]
