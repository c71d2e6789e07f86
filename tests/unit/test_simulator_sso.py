"""The simulator's SSO mode (in process, no browser): the IdP on another host name,
its assertion, and the native form that keeps working beside it."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from coupadl.coupa.page import PageKind, parse_page
from coupadl.coupa.urls import is_sign_in_url
from coupadl.simulator import build_dataset, create_app
from coupadl.simulator.auth import COOKIE_NAME
from coupadl.simulator.faults import make_knobs
from coupadl.simulator.sso import ACS_PATH, IDP_PATH, other_host

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "http://127.0.0.1:8765"


def _client(sso_after: float | None) -> TestClient:
    app = create_app(build_dataset(5, 2), make_knobs(sso_after=sso_after))
    return TestClient(app, base_url=BASE)


@pytest.fixture
def sso_client() -> Iterator[TestClient]:
    with _client(0.0) as client:
        yield client


def _idp_form(client: TestClient, path: str = "/order_headers") -> tuple[str, dict[str, str]]:
    """Follow an anonymous request to the IdP; return the form's action and fields."""
    to_idp = client.get(path, follow_redirects=False)
    assert to_idp.status_code == 302
    page = client.get(to_idp.headers["location"], follow_redirects=False)
    assert page.status_code == 200
    form = BeautifulSoup(page.text, "html.parser").select_one("form#saml-post")
    assert form is not None
    fields = {str(i["name"]): str(i["value"]) for i in form.select("input[type=hidden]")}
    return str(form["action"]), fields


def _sso_record(client: TestClient) -> dict[str, Any]:
    return client.app.state.sso.record.snapshot()  # type: ignore[attr-defined,no-any-return]


def test_other_host_is_the_other_loopback_name() -> None:
    assert other_host("127.0.0.1") == "localhost"
    assert other_host("LOCALHOST") == "127.0.0.1"


def test_anonymous_request_goes_to_an_idp_on_another_host(sso_client: TestClient) -> None:
    answer = sso_client.get("/order_headers/16928000?x=1", follow_redirects=False)

    location = answer.headers["location"]
    parts = urlsplit(location)
    assert answer.status_code == 302
    assert parts.hostname == "localhost" and parts.port == 8765
    assert parts.path == IDP_PATH
    assert parse_qs(parts.query)["RelayState"] == ["/order_headers/16928000?x=1"]
    # What coupadl sees: another host is a sign-in page, never a Coupa page.
    assert is_sign_in_url(location, BASE)


def test_idp_page_is_a_sign_in_page_that_posts_to_the_tenant(sso_client: TestClient) -> None:
    to_idp = sso_client.get("/", follow_redirects=False).headers["location"]
    page = sso_client.get(to_idp)

    assert parse_page(page.text, to_idp, BASE).kind is PageKind.SIGN_IN
    action, fields = _idp_form(sso_client)
    assert action == BASE + ACS_PATH
    assert set(fields) == {"SAMLResponse", "RelayState"}
    assert "setTimeout" in page.text  # signs in by itself, like a person finishing


def test_the_assertion_signs_in_and_returns_to_the_page_asked_for(
    sso_client: TestClient,
) -> None:
    action, fields = _idp_form(sso_client, "/order_headers/16928000")

    done = sso_client.post(action, data=fields, follow_redirects=False)

    assert done.status_code == 302
    assert done.headers["location"] == "/order_headers/16928000"
    assert COOKIE_NAME in done.cookies
    assert sso_client.get("/order_headers", follow_redirects=False).status_code == 200
    record = _sso_record(sso_client)
    assert record["idp_pages"] == 1 and record["logins"] == 1


def test_an_assertion_posted_before_the_user_finished_is_refused() -> None:
    with _client(30.0) as client:
        action, fields = _idp_form(client)

        early = client.post(action, data=fields, follow_redirects=False)

        assert early.status_code == 403
        assert "not yet valid" in early.text
        assert COOKIE_NAME not in early.cookies
        assert client.get("/order_headers", follow_redirects=False).status_code == 302
        assert _sso_record(client)["rejected"] == 1


def test_forged_or_replayed_assertions_are_refused(sso_client: TestClient) -> None:
    action, fields = _idp_form(sso_client)
    forged = dict(fields, SAMLResponse=fields["SAMLResponse"][:-2] + "00")
    assert sso_client.post(action, data=forged, follow_redirects=False).status_code == 403

    assert sso_client.post(action, data=fields, follow_redirects=False).status_code == 302
    sso_client.cookies.clear()
    replay = sso_client.post(action, data=fields, follow_redirects=False)
    assert replay.status_code == 403
    assert "already used" in replay.text


def test_relay_state_cannot_leave_the_tenant(sso_client: TestClient) -> None:
    action, fields = _idp_form(sso_client)
    fields["RelayState"] = "//evil.example/x"

    done = sso_client.post(action, data=fields, follow_redirects=False)

    assert done.headers["location"] == "/"


def test_idp_refuses_a_consumer_on_another_server(sso_client: TestClient) -> None:
    import base64
    import json

    bad = base64.urlsafe_b64encode(json.dumps({"acs": "http://evil.example/x"}).encode())
    page = sso_client.get(f"http://localhost:8765{IDP_PATH}?SAMLRequest={bad.decode()}")

    assert page.status_code == 400


def test_native_form_still_works_in_sso_mode(sso_client: TestClient) -> None:
    form = {"user[email]": "buyer@example.com", "user[password]": "coupa-sim", "return_to": "/"}
    assert sso_client.get("/sessions/new").status_code == 200

    done = sso_client.post("/sessions", data=form, follow_redirects=False)

    assert done.status_code == 302 and COOKIE_NAME in done.cookies
    assert sso_client.get("/order_headers", follow_redirects=False).status_code == 200


def test_without_the_knob_anonymous_requests_get_the_native_form() -> None:
    with _client(None) as client:
        answer = client.get("/order_headers", follow_redirects=False)
        assert urlsplit(answer.headers["location"]).path == "/sessions/new"


def test_sso_can_be_switched_on_at_run_time() -> None:
    with _client(None) as client:
        assert client.post("/__sim__/control", json={"sso_after": 1.5}).status_code == 200
        answer = client.get("/order_headers", follow_redirects=False)
        assert urlsplit(answer.headers["location"]).path == IDP_PATH
        assert client.get("/__sim__/control").json()["sso_after"] == 1.5


def test_completion_time_is_recorded_on_the_callers_clock(sso_client: TestClient) -> None:
    before = time.monotonic()
    action, fields = _idp_form(sso_client)
    sso_client.post(action, data=fields, follow_redirects=False)

    (completed,) = _sso_record(sso_client)["completed_at"]
    assert before <= completed <= time.monotonic()
