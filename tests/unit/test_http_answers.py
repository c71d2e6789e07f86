"""Reading HTTP answers for the http engine (engine/http/answers.py): Retry-After in
both its forms, redirect targets."""

from __future__ import annotations

import httpx
import pytest

from coupadl.engine.http.answers import redirect_target, retry_after

NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


def _answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("30", 30.0),
        (" 2.5 ", 2.5),
        ("-4", 0.0),
        ("Tue, 14 Nov 2023 22:14:20 GMT", 60.0),  # an HTTP date a minute ahead
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # already past
        ("soon", None),
    ],
)
def test_retry_after(value: str, seconds: float | None) -> None:
    assert retry_after(_answer(429, **{"Retry-After": value}), now=NOW) == seconds


def test_no_retry_after() -> None:
    assert retry_after(_answer(429), now=NOW) is None


def test_redirect_targets_are_absolute() -> None:
    base = "https://acme.coupahost.com/order_headers/1"
    assert (
        redirect_target(_answer(302, Location="/sessions/new?x=1"), base)
        == "https://acme.coupahost.com/sessions/new?x=1"
    )
    assert redirect_target(_answer(307, Location="https://idp.example/"), base) == (
        "https://idp.example/"
    )
    assert redirect_target(_answer(200, Location="/x"), base) is None
    assert redirect_target(_answer(302), base) is None
