"""Tenant URLs and sign-in detection."""

from __future__ import annotations

import pytest

from coupadl.coupa.urls import (
    is_sign_in_url,
    po_id_for_number,
    po_url,
    requisition_url,
    same_tenant,
    session_check_url,
)

BASE = "https://acme.coupahost.com"


@pytest.mark.parametrize("base", [BASE, BASE + "/", " " + BASE + "/ "])
def test_page_urls_ignore_trailing_slash(base: str) -> None:
    assert po_url(base, "16928033") == f"{BASE}/order_headers/16928033"
    assert requisition_url(base, "9561914") == f"{BASE}/requisition_headers/9561914"
    assert session_check_url(base) == f"{BASE}/sessions/expiration_check"
    assert not is_sign_in_url(session_check_url(base), base)


def test_po_url_quotes_ids_so_they_cannot_leave_the_path() -> None:
    assert po_url(BASE, "1/../x") == f"{BASE}/order_headers/1%2F..%2Fx"


def test_po_id_is_the_number_today() -> None:
    assert po_id_for_number("16928033") == "16928033"


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/sessions/new",
        f"{BASE}/sessions",
        f"{BASE}/sessions/",
        f"{BASE}/Sessions/New?return_to=%2Forder_headers%2F1",
        f"{BASE}/login",
        f"{BASE}/saml/acs",
        "https://login.microsoftonline.com/abc/saml2?SAMLRequest=xyz",
        "https://acme.okta.com/app/coupa/exk1/sso/saml",
        "https://acme.coupacloud.com/order_headers/1",  # another tenant host
        "http://127.0.0.1:9000/idp/login",  # a local identity provider on another port
    ],
)
def test_sign_in_urls(url: str) -> None:
    assert is_sign_in_url(url, BASE)


@pytest.mark.parametrize(
    "url",
    [
        f"{BASE}/order_headers/16928033",
        f"{BASE}/requisition_headers/9561914",
        f"{BASE}/",
        f"{BASE}",
        f"{BASE}/sessions/expiration_check",
        f"{BASE}/sessionsX",
        "https://ACME.coupahost.com:443/order_headers/1",
        "http://acme.coupahost.com/order_headers/1",
        "/order_headers/1",
        "",
        "about:blank",
        "data:text/html,hi",
        "chrome-error://chromewebdata/",
    ],
)
def test_not_sign_in_urls(url: str) -> None:
    assert not is_sign_in_url(url, BASE)


def test_local_base_with_port() -> None:
    base = "http://127.0.0.1:8123"
    assert not is_sign_in_url("http://127.0.0.1:8123/order_headers/1", base)
    assert is_sign_in_url("http://127.0.0.1:8123/sessions/new", base)
    assert is_sign_in_url("http://localhost:8123/order_headers/1", base)


def test_base_with_path_prefix() -> None:
    base = "https://example.com/coupa"
    assert same_tenant("https://example.com/coupa/order_headers/1", base)
    assert not same_tenant("https://example.com/other/order_headers/1", base)
    assert is_sign_in_url("https://example.com/coupa/sessions/new", base)
    assert is_sign_in_url("https://example.com/other", base)


def test_same_tenant() -> None:
    assert same_tenant(f"{BASE}/order_headers/1", BASE)
    assert same_tenant("/order_headers/1", BASE)
    assert not same_tenant("https://evil.example/order_headers/1", BASE)
    assert not same_tenant("//evil.example/x", BASE)
    assert not same_tenant("https://acme.coupahost.com.evil.example/", BASE)
    assert not same_tenant("about:blank", BASE)
