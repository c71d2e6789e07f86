"""One runtime per process for the http handlers (engine/http/runtime.py): shared by
handlers of the same settings, its session changed by any of them, closed with the
last one. No network: nothing is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupadl.engine.http.handler import HttpHandler
from coupadl.engine.http.session import HttpSession
from coupadl.settings import Settings, load_settings

BASE = "https://acme.coupahost.com"


def _cookie(value: str) -> dict[str, object]:
    return {"name": "_coupa_session", "value": value, "domain": "acme.coupahost.com", "path": "/"}


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return load_settings({"base_url": BASE, "out": tmp_path / "out", **extra})


def test_handlers_share_one_runtime_and_the_last_one_closes_it(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    first = HttpHandler("h1", settings, None, HttpSession([_cookie("one")], "Mozilla/5.0 X"))
    second = HttpHandler("h2", settings, None, [_cookie("stale")])
    first.start()
    second.start()
    try:
        assert first.runtime is second.runtime
        # The running runtime keeps its cookies: a later handler's session is older.
        assert first.runtime.cookies.header_for(BASE + "/") == "_coupa_session=one"
        # A new sign-in's plain cookie list, imported on one, is every handler's.
        second.import_session([_cookie("two")])
        assert first.runtime.cookies.header_for(BASE + "/") == "_coupa_session=two"
        exported = first.export_session()
        assert exported.user_agent == "Mozilla/5.0 X"
        assert [c["value"] for c in exported.cookies] == ["two"]
        assert first.child_pids() == []  # no fallback browser started
        runtime = first.runtime
        first.close()
        assert not runtime.client.is_closed  # the second handler still uses it
    finally:
        second.close()
    assert runtime.client.is_closed
    with pytest.raises(RuntimeError):
        _ = second.runtime


def test_other_settings_get_their_own_runtime(tmp_path: Path) -> None:
    one = HttpHandler("a", _settings(tmp_path), None, None)
    two = HttpHandler("b", _settings(tmp_path, rate_limit_rps=5), None, None)
    one.start()
    two.start()
    try:
        assert one.runtime is not two.runtime
        assert two.runtime.politeness.bucket.rate == 5
    finally:
        one.close()
        two.close()


def test_a_restarted_handler_gets_a_fresh_runtime_with_the_last_user_agent(
    tmp_path: Path,
) -> None:
    settings = _settings(tmp_path)
    handler = HttpHandler("h", settings, None, HttpSession([], "Mozilla/5.0 Known"))
    handler.start()
    old = handler.runtime
    handler.close()
    # A re-sign-in gives cookies only: the browser's user agent is still the one sent.
    again = HttpHandler("h", settings, None, [_cookie("new")])
    again.start()
    try:
        assert again.runtime is not old
        assert again.runtime.client.headers["User-Agent"] == "Mozilla/5.0 Known"
    finally:
        again.close()


def test_the_headless_browser_user_agent_is_sent_as_chrome(tmp_path: Path) -> None:
    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 HeadlessChrome/131.0 Safari/537.36"
    handler = HttpHandler("h", _settings(tmp_path), None, HttpSession([], agent))
    handler.start()
    try:
        sent = handler.runtime.client.headers["User-Agent"]
        assert "HeadlessChrome" not in sent and "Chrome/131.0" in sent
    finally:
        handler.close()
