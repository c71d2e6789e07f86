"""The simulated REST API's gate, over real HTTP: OAuth tokens, 401/403, revocation,
and the tenant's rate limit and fault knobs on API calls.

A simulator of its own on 127.0.0.1, called with httpx. The clients, secrets and
scopes come from the manifest's ``credentials``; which POs are denied or unknown from
its ``kind``s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from coupadl.simulator import Knobs, SimulatorServer

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=12, seed=3) as running:
        yield running


@pytest.fixture
def api(server: SimulatorServer) -> Iterator[httpx.Client]:
    """A client of the tenant; every knob and the credentials as they were, afterwards."""
    server.control(**dataclasses.asdict(Knobs()))
    with httpx.Client(base_url=server.base_url, timeout=20, follow_redirects=False) as client:
        yield client
    server.restore_api_credentials()
    server.control(**dataclasses.asdict(Knobs()))


@pytest.fixture(scope="module")
def truth(server: SimulatorServer) -> dict[str, Any]:
    return httpx.get(f"{server.base_url}/__sim__/manifest", timeout=60).json()


def _grant(api: httpx.Client, client_id: str, secret: str, scope: str = "") -> httpx.Response:
    form = {"client_id": client_id, "client_secret": secret,
            "grant_type": "client_credentials", "scope": scope}  # fmt: skip
    return api.post("/oauth2/token", data=form)


def _token(api: httpx.Client, truth: dict[str, Any], *, limited: bool = False) -> str:
    creds = truth["credentials"]
    prefix = "api_limited_client" if limited else "api_client"
    answer = _grant(api, creds[f"{prefix}_id"], creds[f"{prefix}_secret"])
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def _auth(token: str) -> dict[str, str]:
    return {**JSON, "Authorization": f"Bearer {token}"}


def _numbers(truth: dict[str, Any], kind: str) -> list[str]:
    return [n for n, po in truth["pos"].items() if po["kind"] == kind]


def _paths(api: httpx.Client, truth: dict[str, Any]) -> list[str]:
    """One path of every kind of API resource, on a PO with a requisition and comments,
    and the ``file-url`` of one of its header files (read with a good token)."""
    number, po = next((n, p) for n, p in truth["pos"].items() if p["api"] and p["requisition"]
                      and p["api"]["comment_ids"]
                      and any(f["source"] == "header" for f in p["files"]))  # fmt: skip
    req = po["requisition"]
    listed = api.get(f"/api/purchase_orders/{number}/attachments",
                     headers=_auth(_token(api, truth))).json()  # fmt: skip
    file_url = next(a["file-url"] for a in listed if a["type"] == "AttachmentFile")
    return [
        "/api/purchase_orders", f"/api/purchase_orders/{number}",
        f"/api/purchase_orders/{number}/attachments", f"/api/purchase_orders/{number}/comments",
        "/api/requisitions", f"/api/requisitions/{req}", f"/api/requisitions/{req}/comments",
        f"/api/comments/{po['api']['comment_ids'][0]}/attachments",
        httpx.URL(file_url).path, "/api/no_such_resource",
    ]  # fmt: skip


def test_a_token_for_each_client_with_its_scopes(api: httpx.Client, truth: dict[str, Any]) -> None:
    creds = truth["credentials"]
    full = _grant(api, creds["api_client_id"], creds["api_client_secret"])
    assert full.status_code == 200 and full.headers["cache-control"] == "no-store"
    body = full.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 86399
    assert set(body["scope"].split()) == set(creds["api_scopes"].split()) == {
        "core.purchase_order.read", "core.requisition.read", "core.common.read"}  # fmt: skip
    limited = _grant(api, creds["api_limited_client_id"], creds["api_limited_client_secret"])
    assert set(limited.json()["scope"].split()) == set(creds["api_limited_scopes"].split())
    assert "core.requisition.read" not in limited.json()["scope"]
    asked = _grant(api, creds["api_client_id"], creds["api_client_secret"], "core.common.read")
    assert asked.json()["scope"] == "core.common.read"
    assert full.json()["access_token"] != asked.json()["access_token"]


def test_a_wrong_secret_or_client_is_invalid_client(
    api: httpx.Client, truth: dict[str, Any]
) -> None:
    creds = truth["credentials"]
    for client_id, secret in ((creds["api_client_id"], creds["api_limited_client_secret"]),
                              ("someone-else", creds["api_client_secret"]),
                              (creds["api_client_id"], "")):  # fmt: skip
        answer = _grant(api, client_id, secret)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    form = {"client_id": creds["api_client_id"], "client_secret": creds["api_client_secret"],
            "grant_type": "password"}  # fmt: skip
    assert api.post("/oauth2/token", data=form).json()["error"] == "unsupported_grant_type"


def test_every_api_path_is_401_json_without_a_live_token(
    api: httpx.Client, truth: dict[str, Any], server: SimulatorServer
) -> None:
    creds = truth["credentials"]
    web = api.post("/sessions", data={"user[email]": creds["email"],
                                      "user[password]": creds["password"]})  # fmt: skip
    assert web.status_code == 302  # a web session: it counts for nothing on the API
    for path in _paths(api, truth):
        for headers in (JSON, _auth("not-a-token"), {**JSON, "Authorization": "Basic eDp5"}):
            answer = api.get(path, headers=headers)
            assert answer.status_code == 401, (path, answer.status_code, answer.text[:80])
            assert answer.json()["error"] == "invalid_token"
            assert answer.headers["www-authenticate"].startswith("Bearer")
    token = _token(api, truth)
    assert api.get(_paths(api, truth)[1], headers=_auth(token)).status_code == 200
    assert server.expire_api_tokens() >= 1
    expired = api.get(_paths(api, truth)[1], headers=_auth(token))
    assert expired.status_code == 401 and "expired" in expired.json()["error_description"]


def test_token_ttl_knob_sets_expires_in_and_a_zero_one_is_dead(
    api: httpx.Client, truth: dict[str, Any]
) -> None:
    assert api.post("/__sim__/control", json={"token_ttl": 300}).status_code == 200
    creds = truth["credentials"]
    assert (
        _grant(api, creds["api_client_id"], creds["api_client_secret"]).json()["expires_in"] == 300
    )
    api.post("/__sim__/control", json={"token_ttl": 0})
    token = _token(api, truth)
    answer = api.get("/api/purchase_orders", headers=_auth(token))
    assert answer.status_code == 401 and "expired" in answer.json()["error_description"]


def test_expire_tokens_over_the_control_api(api: httpx.Client, truth: dict[str, Any]) -> None:
    token = _token(api, truth)
    assert api.get("/api/purchase_orders", headers=_auth(token)).status_code == 200
    assert api.post("/__sim__/api/expire-tokens").json()["expired"] >= 1
    assert api.get("/api/purchase_orders", headers=_auth(token)).status_code == 401
    assert api.get("/api/purchase_orders", headers=_auth(_token(api, truth))).status_code == 200


def test_revoked_credentials_refuse_tokens_until_restored(
    api: httpx.Client, truth: dict[str, Any]
) -> None:
    creds = truth["credentials"]
    token = _token(api, truth)
    assert api.post("/__sim__/api/revoke").json() == {"revoked": True}
    assert api.get("/__sim__/api").json() == {"revoked": True}
    assert api.get("/api/purchase_orders", headers=_auth(token)).status_code == 401
    refused = _grant(api, creds["api_client_id"], creds["api_client_secret"])
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert api.post("/__sim__/api/restore").json() == {"revoked": False}
    assert api.get("/api/purchase_orders", headers=_auth(token)).status_code == 401
    assert api.get("/api/purchase_orders", headers=_auth(_token(api, truth))).status_code == 200


def test_a_missing_scope_is_403_naming_it(api: httpx.Client, truth: dict[str, Any]) -> None:
    limited = _auth(_token(api, truth, limited=True))
    paths = _paths(api, truth)
    for path in paths[4:7]:  # the requisition paths
        answer = api.get(path, headers=limited)
        assert answer.status_code == 403, path
        assert answer.json()["error"] == "insufficient_scope"
        assert answer.json()["scope"] == "core.requisition.read"
        assert "core.requisition.read" in answer.json()["error_description"]
    for path in paths[:4]:
        assert api.get(path, headers=limited).status_code == 200, path
    creds = truth["credentials"]
    common = _grant(api, creds["api_client_id"], creds["api_client_secret"], "core.common.read")
    only_common = _auth(common.json()["access_token"])
    answer = api.get(paths[0], headers=only_common)
    assert answer.status_code == 403 and answer.json()["scope"] == "core.purchase_order.read"
    assert api.get(paths[7], headers=only_common).status_code == 200  # a comment's files


def test_json_only_and_denied_and_unknown_pos(api: httpx.Client, truth: dict[str, Any]) -> None:
    headers = _auth(_token(api, truth))
    assert api.get("/api/purchase_orders", headers={**headers, "Accept": "*/*"}).status_code == 406
    for number in _numbers(truth, "denied"):
        for path in (f"/api/purchase_orders/{number}", f"/api/purchase_orders/{number}/comments",
                     f"/api/purchase_orders/{number}/attachments"):  # fmt: skip
            answer = api.get(path, headers=headers)
            assert answer.status_code == 403 and answer.json()["error"] == "forbidden", path
        listed = api.get("/api/purchase_orders", params={"po-number": number}, headers=headers)
        assert listed.status_code == 403
    assert _numbers(truth, "denied") and _numbers(truth, "not_found")
    for number in _numbers(truth, "not_found"):
        answer = api.get(f"/api/purchase_orders/{number}", headers=headers)
        assert answer.status_code == 404 and answer.json()["error"] == "not_found"
        for key in ("po-number", "po_number"):
            listed = api.get("/api/purchase_orders", params={key: number}, headers=headers)
            assert listed.status_code == 200 and listed.json() == []


def test_the_tenant_rate_limit_covers_api_calls(
    api: httpx.Client, truth: dict[str, Any], server: SimulatorServer
) -> None:
    headers = _auth(_token(api, truth))
    server.control(rate_limit_rps=0.01, rate_limit_burst=2)  # refills in 100 s: no timing
    answers = [api.get("/api/purchase_orders", headers=headers) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert int(answers[2].headers["retry-after"]) >= 1
    assert answers[2].json()["error"] == "too_many_requests"
    creds = truth["credentials"]
    assert _grant(api, creds["api_client_id"], creds["api_client_secret"]).status_code == 429


def test_fault_bursts_hit_api_calls_as_pages_and_files(
    api: httpx.Client, truth: dict[str, Any], server: SimulatorServer
) -> None:
    headers = _auth(_token(api, truth))
    file_path = _paths(api, truth)[8]
    server.control(burst_500=1)
    first, second = (api.get("/api/purchase_orders", headers=headers) for _ in range(2))
    assert (first.status_code, second.status_code) == (500, 200)
    assert first.json()["error"] == "internal_server_error"
    server.control(burst_429=1, retry_after=7)
    limited = api.get("/api/purchase_orders", headers=headers)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    server.control(burst_500=1, fault_scope="files")  # files only: records pass
    assert api.get("/api/purchase_orders", headers=headers).status_code == 200
    assert api.get(file_path, headers=headers).status_code == 500
    assert api.get(file_path, headers=headers).status_code == 200
