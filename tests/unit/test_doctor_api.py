"""The API route's doctor verdicts (fake answers, no network) and where the OAuth
secret is kept (``engine/api/secret.py``, with a test keyring backend)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backends import fail

from coupadl.coupa.page import PageInfo, PageKind
from coupadl.doctor.api import ApiAnswers, api_configured, check_api
from coupadl.doctor.checks import DoctorExit, exit_code, run_doctor
from coupadl.doctor.result import Level
from coupadl.engine.api import secret as api_secret
from coupadl.errors import (
    ApiScopeError,
    AuthRequiredError,
    ConfigError,
    CoupadlError,
    NetworkError,
    RateLimitedError,
)
from coupadl.settings import Settings, load_settings
from keyring_backend import FileKeyring

BASE = "https://acme.coupahost.com"
ALL = frozenset({"core.purchase_order.read", "core.requisition.read", "core.common.read"})


def _settings(**values: Any) -> Settings:
    return load_settings({"base_url": BASE, "engine": "api", "api_client_id": "acme-dl", **values})


def _rows(settings: Settings, answers: ApiAnswers) -> dict[str, tuple[Level, str]]:
    checks = check_api(settings, ask=lambda s: answers)
    return {c.name: (c.level, f"{c.detail} -> {c.advice}") for c in checks}


def test_the_route_is_checked_for_engine_api_or_a_client_id() -> None:
    assert api_configured(_settings())
    assert api_configured(load_settings({"engine": "http", "api_client_id": "x"}))
    assert not api_configured(load_settings({"engine": "http"}))
    assert check_api(load_settings({"engine": "browser"})) == []


def test_everything_granted_and_read_is_ok() -> None:
    rows = _rows(_settings(), ApiAnswers("acme-dl", "the credential store", ALL))
    assert {name: level for name, (level, _) in rows.items()} == {
        "api": Level.OK, "scopes": Level.OK, "po_list": Level.OK,
    }  # fmt: skip
    assert "acme-dl" in rows["api"][1] and "the credential store" in rows["api"][1]


def test_each_missing_scope_is_named_and_fails() -> None:
    granted = ALL - {"core.common.read"}
    level, text = _rows(_settings(), ApiAnswers("acme-dl", "x", granted))["scopes"]
    assert level is Level.FAIL
    assert "core.purchase_order.read ok" in text and "core.common.read missing" in text
    assert "grant OAuth client acme-dl core.common.read" in text
    assert "requisition_fallback" not in text  # that way out is for the requisition scope only


def test_the_requisition_scope_is_not_needed_without_the_fallback() -> None:
    granted = ALL - {"core.requisition.read"}
    answers = ApiAnswers("acme-dl", "x", granted)
    level, text = _rows(_settings(), answers)["scopes"]
    assert level is Level.FAIL and "requisition_fallback = never" in text
    level, text = _rows(_settings(requisition_fallback="never"), answers)["scopes"]
    assert level is Level.OK and "core.requisition.read" not in text


def test_a_scope_not_asked_for_is_pointed_out() -> None:
    settings = _settings(api_scopes="core.purchase_order.read core.requisition.read")
    answers = ApiAnswers("acme-dl", "x", ALL - {"core.common.read"})
    assert "add core.common.read to api_scopes" in _rows(settings, answers)["scopes"][1]


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        (AuthRequiredError("the Coupa API refused the OAuth client acme-dl"), "still active"),
        (ConfigError("no secret for the OAuth client acme-dl"), "coupadl login --api"),
        (ApiScopeError("none of the scopes"), "grant the client the scopes"),
        (NetworkError("could not be reached"), "network route"),
    ],
)
def test_no_token_fails_with_advice_and_skips_the_rest(error: CoupadlError, advice: str) -> None:
    answers = ApiAnswers("acme-dl", "x", token_error=error)
    rows = _rows(_settings(), answers)
    level, text = rows["api"]
    assert level is Level.FAIL and advice in text
    assert rows["scopes"][0] is Level.SKIP and rows["po_list"][0] is Level.SKIP
    assert exit_code(check_api(_settings(), ask=lambda s: answers)) is DoctorExit.FAILED


def test_the_login_advice_names_tenant_and_client() -> None:
    error = AuthRequiredError("refused")
    text = _rows(_settings(), ApiAnswers("acme-dl", "x", token_error=error))["api"][1]
    assert f"coupadl login --api --base-url {BASE} --api-client-id acme-dl" in text


@pytest.mark.parametrize(
    ("read", "level", "words"),
    [
        (PageInfo(PageKind.ACCESS_DENIED, title="denied"), Level.FAIL, "read no purchase orders"),
        (PageInfo(PageKind.NOT_FOUND, title="not found"), Level.FAIL, "--base-url"),
        (PageInfo(PageKind.SERVER_ERROR, title="HTTP 503"), Level.WARN, "HTTP 503"),
        (ApiScopeError("lacks the scope core.purchase_order.read"), Level.FAIL, "that scope"),
        (RateLimitedError("HTTP 429", 5.0), Level.WARN, "try again later"),
        (NetworkError("reset"), Level.FAIL, "reset"),
    ],
)
def test_the_po_list_read(read: Any, level: Level, words: str) -> None:
    got, text = _rows(_settings(), ApiAnswers("acme-dl", "x", ALL, read=read))["po_list"]
    assert got is level and words in text


def test_no_base_url_fails_without_asking() -> None:
    asked: list[Settings] = []

    def ask(settings: Settings) -> ApiAnswers:
        asked.append(settings)
        return ApiAnswers("", "")

    checks = check_api(load_settings({"engine": "api", "api_client_id": "acme-dl"}), ask=ask)
    assert asked == [] and checks[0].level is Level.FAIL and "no Coupa URL" in checks[0].detail


def test_engine_api_skips_every_browser_check(tmp_path: Path) -> None:
    settings = load_settings({"engine": "api", "api_client_id": "acme-dl", "out": tmp_path})
    checks = run_doctor(settings, session=True, min_free_bytes=0)  # no URL: no network
    names = [c.name for c in checks]
    assert names == ["python", "paths", "browser", "driver", "profile", "output", "tenant",
                     "session", "api", "scopes", "po_list"]  # fmt: skip
    skipped = {c.name for c in checks if c.level is Level.SKIP}
    assert {"browser", "driver", "profile", "session"} <= skipped


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """tests/keyring_backend.py in this process: a stand-in for the OS store."""
    path = tmp_path / "keyring.json"
    monkeypatch.setenv("COUPADL_TEST_KEYRING", str(path))
    before = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    yield path
    keyring.set_keyring(before)


def test_a_stored_secret_is_found_per_tenant_and_client(file_keyring: Path) -> None:
    assert api_secret.credential_store() is not None
    api_secret.store_secret(BASE + "/", "acme-dl", "s3cret")
    assert api_secret.client_secret(_settings(), "acme-dl") == "s3cret"
    assert api_secret.stored_secret("https://other.coupahost.com", "acme-dl") is None
    assert api_secret.client_secret(_settings(api_client_secret="env"), "acme-dl") == "env"
    with pytest.raises(ConfigError, match="coupadl login --api"):
        api_secret.client_secret(_settings(), "another-client")


def test_without_a_store_nothing_is_kept_and_the_variable_is_named() -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert api_secret.credential_store() is None
        assert api_secret.stored_secret(BASE, "acme-dl") is None
        with pytest.raises(ConfigError, match="COUPA_API_CLIENT_SECRET") as raised:
            api_secret.store_secret(BASE, "acme-dl", "s3cret")
        assert "s3cret" not in str(raised.value)
    finally:
        keyring.set_keyring(before)
