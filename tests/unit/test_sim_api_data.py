"""The simulated REST API's answers against the manifest, over real HTTP.

130 POs on a simulator of its own, read with httpx. The oracle is the manifest
(``/__sim__/manifest``): which POs exist, their supplier, dates, status and API ids,
and every file's name and sha256. Filters are checked by applying them to the
manifest's values here; file bytes by their sha256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from coupadl.simulator import SimulatorServer

POS = "/api/purchase_orders"


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=130, seed=5) as running:
        yield running


@pytest.fixture(scope="module")
def truth(server: SimulatorServer) -> dict[str, Any]:
    return httpx.get(f"{server.base_url}/__sim__/manifest", timeout=120).json()


@pytest.fixture(scope="module")
def api(server: SimulatorServer, truth: dict[str, Any]) -> Iterator[httpx.Client]:
    creds = truth["credentials"]
    form = {"client_id": creds["api_client_id"], "client_secret": creds["api_client_secret"],
            "grant_type": "client_credentials"}  # fmt: skip
    token = httpx.post(f"{server.base_url}/oauth2/token", data=form).json()["access_token"]
    headers = {"Accept": "application/json", "Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        yield client


def _get(api: httpx.Client, path: str, **params: str) -> Any:
    answer = api.get(path, params=params)
    assert answer.status_code == 200, (path, params, answer.text[:200])
    return answer.json()


def _all(api: httpx.Client, path: str, **params: str) -> list[dict[str, Any]]:
    """Every record of a list, 50 at a time through ``offset``."""
    records: list[dict[str, Any]] = []
    while True:
        batch = _get(api, path, offset=str(len(records)), **params)
        assert len(batch) <= 50
        records += batch
        if len(batch) < 50:
            return records


def _visible(truth: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n: po for n, po in truth["pos"].items() if po["api"] is not None}


def _numbers(records: list[dict[str, Any]]) -> list[str]:
    return [r["po-number"] for r in records]


def test_paging_lists_every_visible_po_once_fifty_at_a_time(
    api: httpx.Client, truth: dict[str, Any]
) -> None:
    visible = _visible(truth)
    assert len(visible) > 2 * 50  # three pages
    first, second = _get(api, POS), _get(api, POS, offset="50")
    assert len(first) == len(second) == 50
    assert len(_get(api, POS, limit="500")) == 50
    assert _numbers(_all(api, POS)) == list(visible)  # in id order, none twice, none left out
    assert _get(api, POS, offset="1000") == []


def test_a_po_by_number_in_both_spellings_and_by_id(
    api: httpx.Client, truth: dict[str, Any]
) -> None:
    for number, po in list(_visible(truth).items())[:15]:
        for key in ("po-number", "po_number"):
            (record,) = _get(api, POS, **{key: number})
            assert record["po-number"] == number and record["id"] == po["api"]["id"]
        record = _get(api, f"{POS}/{po['api']['id']}")
        supplier = record["supplier"]
        assert f"{supplier['name']}-{supplier['number']}" == po["supplier"]  # the web's name
        assert supplier == po["api"]["supplier"]
        assert record["status"] == po["api"]["status"]
        assert record["created-at"] == po["api"]["created_at"]
        assert record["total"] == po["api"]["total"]
        assert record["currency"] == {"code": po["api"]["currency"]}
        req = po["requisition"]
        assert record["requisition-header"] == ({"id": int(req)} if req else None)


def test_an_unknown_filter_is_ignored(api: httpx.Client) -> None:
    assert _get(api, POS, **{"no-such-attribute": "x"}) == _get(api, POS)
    assert _get(api, POS, **{"supplier[no-such]": "x"}, offset="50") == _get(api, POS, offset="50")


def test_supplier_status_and_created_at_filters(api: httpx.Client, truth: dict[str, Any]) -> None:
    visible = _visible(truth)
    name = next(iter(visible.values()))["api"]["supplier"]["name"]
    expected = [n for n, po in visible.items() if po["api"]["supplier"]["name"] == name]
    assert len(expected) >= 2
    assert _numbers(_all(api, POS, **{"supplier[name]": name})) == expected
    for status in ("issued", "closed", "cancelled"):
        expected = [n for n, po in visible.items() if po["api"]["status"] == status]
        assert expected
        assert _numbers(_all(api, POS, status=status)) == expected
    low, high = "2025-01-01T00:00:00-07:00", "2026-01-01T00:00:00-07:00"
    after, before = datetime.fromisoformat(low), datetime.fromisoformat(high)

    def created(po: dict[str, Any]) -> datetime:
        return datetime.fromisoformat(po["api"]["created_at"])

    in_2025 = [n for n, po in visible.items() if after <= created(po) < before]
    assert 0 < len(in_2025) < len(visible)
    window = {"created-at[gt_or_eq]": low, "created-at[lt]": high}
    assert _numbers(_all(api, POS, **window)) == in_2025
    edge = visible[in_2025[0]]["api"]["created_at"]  # the bounds at a PO's own instant
    strictly = [n for n, po in visible.items() if created(po) > datetime.fromisoformat(edge)]
    assert _numbers(_all(api, POS, **{"created-at[gt]": edge})) == strictly
    at_most = [n for n, po in visible.items() if created(po) <= datetime.fromisoformat(edge)]
    assert _numbers(_all(api, POS, **{"created-at[lt_or_eq]": edge})) == at_most
    both = {"created-at[gt_or_eq]": low, "created-at[lt]": high, "status": "issued"}
    issued = [n for n in in_2025 if visible[n]["api"]["status"] == "issued"]
    assert _numbers(_all(api, POS, **both)) == issued


def test_fields_limits_the_answer(api: httpx.Client, truth: dict[str, Any]) -> None:
    number = next(iter(_visible(truth)))
    fields = '["id","po-number",{"supplier":["name","number"]}]'
    (record,) = _get(api, POS, **{"po-number": number, "fields": fields})
    supplier = truth["pos"][number]["api"]["supplier"]
    named = {"name": supplier["name"], "number": supplier["number"]}
    assert record == {"id": int(number), "po-number": number, "supplier": named}
    assert set(_get(api, f"{POS}/{number}", fields='["status"]')) == {"status"}
    assert api.get(POS, params={"fields": "not json"}).status_code == 400


def _files(api: httpx.Client, doc: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(header attachments, attachments of its comments) of a PO or requisition path."""
    header = _get(api, f"{doc}/attachments")
    comments = _get(api, f"{doc}/comments")
    in_comments = [a for c in comments for a in _get(api, f"/api/comments/{c['id']}/attachments")]
    return header, in_comments


def _keys(items: list[dict[str, Any]]) -> set[tuple[str, int]]:
    return {
        (a["file-file-name"], a["file-file-size"]) for a in items if a["type"] == "AttachmentFile"
    }


def _expected(po: dict[str, Any], *sources: str) -> set[tuple[str, int]]:
    return {(f["original_name"], f["size"]) for f in po["files"] if f["source"] in sources}


def test_header_and_comment_attachments_are_the_manifest_files(
    api: httpx.Client, truth: dict[str, Any]
) -> None:
    checked_extras = 0
    for number, po in list(_visible(truth).items())[:40]:  # every kind, a few times
        header, in_comments = _files(api, f"{POS}/{number}")
        assert _keys(header) == _expected(po, "header"), number
        assert _keys(in_comments) == _expected(po, "comment"), number
        assert all(a["type"] == "AttachmentFile" for a in in_comments)
        extras = [{k: a[k] for k in ("id", "type", "intent", "url", "text") if a[k] is not None}
                  for a in header if a["type"] != "AttachmentFile"]  # fmt: skip
        assert extras == po["api_extras"], number
        checked_extras += len(extras)
        if extras:
            assert po["files"] and any(f["source"] in ("header", "comment") for f in po["files"])
        ids = [c["id"] for c in _get(api, f"{POS}/{number}/comments")]
        assert ids == po["api"]["comment_ids"]
    assert checked_extras >= 10
    types = {e["type"] for po in truth["pos"].values() for e in po["api_extras"]}
    assert types == {"AttachmentUrl", "AttachmentText"}


def test_requisition_attachments_complete_what_the_manifest_expects(
    api: httpx.Client, truth: dict[str, Any]
) -> None:
    fallbacks = 0
    listed = {r["id"]: r for r in _all(api, "/api/requisitions")}
    for number, po in _visible(truth).items():
        req = po["api"]["requisition"]
        assert (req is None) == (po["requisition"] is None)
        if req is None:
            continue
        record = listed.pop(req["id"])
        assert record["id"] == int(po["requisition"]) and record["created-at"] == req["created_at"]
        assert record["purchase-orders"] == [{"id": int(number), "po-number": number}]
        wanted = _expected(po, "requisition_header", "requisition_comment")
        if not wanted or fallbacks == 8:  # eight requisitions' files are plenty
            continue
        assert _get(api, f"/api/requisitions/{req['id']}") == record
        fallbacks += 1
        header, in_comments = _files(api, f"/api/requisitions/{req['id']}")
        po_header, po_comments = _files(api, f"{POS}/{number}")
        own = _keys(po_header + po_comments)
        # The manifest lists a file the PO also has once: the union is what counts.
        assert _keys(header + in_comments) | own == wanted | _expected(po, "header", "comment")
        assert wanted <= _keys(header + in_comments)
    assert fallbacks >= 5 and not listed  # no requisition the manifest does not know


def test_file_urls_serve_the_manifest_bytes_with_the_token_only(
    api: httpx.Client, truth: dict[str, Any], server: SimulatorServer
) -> None:
    checked = 0
    for number, po in list(_visible(truth).items())[:24]:
        header, in_comments = _files(api, f"{POS}/{number}")
        got = set()
        for item in header + in_comments:
            if item["type"] != "AttachmentFile":
                continue
            answer = api.get(item["file-url"])
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith(item["file-content-type"])
            got.add((item["file-file-name"], hashlib.sha256(answer.content).hexdigest()))
        own = [f for f in po["files"] if f["source"] in ("header", "comment")]
        assert got == {(f["original_name"], f["sha256"]) for f in own}, number
        checked += len(got)
    assert checked >= 40
    anonymous = httpx.get(item["file-url"], timeout=10)
    assert anonymous.status_code == 401
