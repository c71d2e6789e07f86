"""The http engine's cookie store (engine/http/cookies.py): which cookies a request
gets, what Set-Cookie changes, what is exported, and that no value shows in a repr.
Expected headers are written out by hand from RFC 6265's rules."""

from __future__ import annotations

import pickle

from coupadl.engine.http.cookies import CookieStore, parse_set_cookie
from coupadl.engine.http.session import HttpSession, as_http_session

NOW = 1_700_000_000.0


def _cdp(name: str, value: str, domain: str, path: str = "/", **extra: object) -> dict[str, object]:
    return {"name": name, "value": value, "domain": domain, "path": path, "expires": -1, **extra}


def _store(*cookies: dict[str, object]) -> CookieStore:
    return CookieStore(cookies, clock=lambda: NOW)


def test_host_only_and_domain_cookies_as_cdp_gives_them() -> None:
    store = _store(
        _cdp("host", "1", "acme.coupahost.com"),
        _cdp("dom", "2", ".coupahost.com"),
        _cdp("idp", "3", "login.microsoftonline.com"),
    )
    assert store.header_for("https://acme.coupahost.com/order_headers/1") == "host=1; dom=2"
    # A host-only cookie is not sent to a subdomain; a domain cookie is.
    assert store.header_for("https://files.acme.coupahost.com/x") == "dom=2"
    assert store.header_for("https://files.example.com/x") is None
    assert store.header_for("https://notcoupahost.com/") is None


def test_ip_and_single_label_hosts() -> None:
    store = _store(_cdp("a", "1", "127.0.0.1"), _cdp("b", "2", "localhost"))
    assert store.header_for("http://127.0.0.1:8765/order_headers/5") == "a=1"
    assert store.header_for("http://localhost:8765/") == "b=2"


def test_path_secure_and_expiry() -> None:
    store = _store(
        _cdp("root", "r", "acme.com"),
        _cdp("deep", "d", "acme.com", "/order_headers"),
        _cdp("sec", "s", "acme.com", secure=True),
        _cdp("old", "o", "acme.com", expires=NOW - 1),
        _cdp("live", "l", "acme.com", expires=NOW + 60),
    )
    # Longer paths first; the secure one over https only; the expired one never.
    assert store.header_for("https://acme.com/order_headers/1") == "deep=d; root=r; sec=s; live=l"
    assert store.header_for("http://acme.com/order_headersX") == "root=r; live=l"
    assert [c["name"] for c in store.export()] == ["root", "deep", "sec", "live"]


def test_set_cookie_updates_adds_and_deletes() -> None:
    store = _store(_cdp("_coupa_session", "old", "acme.com"))
    url = "https://acme.com/order_headers/1"
    store.store(url, ["_coupa_session=new; path=/; HttpOnly; secure; SameSite=Lax"])
    store.store(url, ["pref=1; Max-Age=60; Path=/order_headers"])
    assert store.header_for(url) == "pref=1; _coupa_session=new"
    store.store(url, ["pref=; Max-Age=0; Path=/order_headers"])
    store.store(url, ["bad cookie without equals sign", "evil=1; Domain=other.com"])
    assert store.header_for(url) == "_coupa_session=new"
    assert len(store) == 1  # the deleted cookie is gone, not just hidden
    exported = store.export()
    assert exported == [
        {
            "name": "_coupa_session",
            "value": "new",
            "domain": "acme.com",
            "path": "/",
            "secure": True,
            "httpOnly": True,
            "expires": -1,
            "session": True,
            "sameSite": "Lax",
        }
    ]


def test_set_cookie_defaults_and_dates() -> None:
    cookie = parse_set_cookie("a=1", "https://acme.com/sessions/new", NOW)
    assert cookie is not None and cookie.path == "/sessions" and cookie.host_only
    cookie = parse_set_cookie(
        "b=2; Domain=.acme.com; Expires=Wed, 21-Oct-2037 07:28:00 GMT", "https://x.acme.com/", NOW
    )
    assert cookie is not None and not cookie.host_only and cookie.domain == "acme.com"
    assert cookie.expires is not None and cookie.expires > NOW


def test_replace_drops_the_old_session() -> None:
    store = _store(_cdp("a", "1", "acme.com"), _cdp("b", "2", "acme.com"))
    store.replace([_cdp("a", "9", "acme.com")])
    assert store.header_for("https://acme.com/") == "a=9"
    assert len(store) == 1


def test_no_cookie_value_in_any_repr() -> None:
    secret = "s3cr3t-value-1234"
    store = _store(_cdp("_coupa_session", secret, "acme.com"))
    session = HttpSession(store.export(), "UA")
    cookie = parse_set_cookie(f"x={secret}", "https://acme.com/", NOW)
    for shown in (repr(store), str(store), repr(session), repr(cookie)):
        assert secret not in shown
    assert pickle.loads(pickle.dumps(session)) == session  # a pool may carry it


def test_a_session_is_an_http_session_or_a_plain_cookie_list() -> None:
    cookies = [_cdp("a", "1", "acme.com")]
    assert as_http_session(cookies) == HttpSession(cookies, "")
    assert as_http_session(None) == HttpSession([], "")
    session = HttpSession(cookies, "UA")
    assert as_http_session(session) is session
