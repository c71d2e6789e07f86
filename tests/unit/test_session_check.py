"""Is a worker's browser signed in? Coupa's session poll first, the home page only when
its answer is unknown. The handler is real; its browser session is a fake."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from coupadl.coupa.signin import session_poll_answer
from coupadl.engine.browser.handler import BrowserHandler
from coupadl.settings import load_settings

BASE = "https://acme.coupahost.com"
JSON = "application/json"


@pytest.mark.parametrize(
    ("content_type", "text", "expected"),
    [
        (JSON, '{"expired": false, "expires_in": 7100}', True),
        ("application/json; charset=utf-8", '{"expires_in": 7100}', True),
        (JSON, "{}", True),
        (JSON, '{"expired_session_url": "/sessions/new"}', False),
        (JSON, '{"expired": true}', False),
        (JSON, '{"error": "unauthorized"}', None),
        (JSON, '["not", "an", "object"]', None),
        (JSON, "{not json", None),
        ("text/html", '{"expired": false}', None),  # an HTML page that happens to say it
        ("text/html", "<html><body>Welcome</body></html>", None),
    ],
)
def test_session_poll_answers(content_type: str, text: str, expected: bool | None) -> None:
    assert session_poll_answer(content_type, text) is expected


class FakeSession:
    """Where each URL lands and what the document there says."""

    def __init__(self, answers: dict[str, tuple[str, str, str]]) -> None:
        self.answers = answers  # url -> (landed url, content type, text)
        self.opened: list[str] = []
        self._current = ""

    @contextmanager
    def po_tab(self) -> Iterator[None]:
        yield

    def open(self, url: str) -> str:
        self.opened.append(url)
        self._current = url
        return self.answers[url][0]

    def document_text(self) -> tuple[str, str]:
        _, content_type, text = self.answers[self._current]
        return content_type, text


def handler_with(session: FakeSession, tmp_path: Path) -> BrowserHandler:
    settings = load_settings({"base_url": BASE, "out": tmp_path / "out"})
    handler = BrowserHandler("worker-1", settings, workdir=tmp_path / "profile")
    handler.session = session  # type: ignore[assignment]
    return handler


CHECK = f"{BASE}/sessions/expiration_check"
HOME = f"{BASE}/"


def test_a_live_session_is_told_by_the_poll_alone(tmp_path: Path) -> None:
    session = FakeSession({CHECK: (CHECK, JSON, '{"expired": false, "expires_in": 7000}')})
    assert handler_with(session, tmp_path).session_ok() is True
    assert session.opened == [CHECK]  # no page to render


@pytest.mark.parametrize(
    "landing",
    [
        (CHECK, JSON, '{"expired_session_url": "/sessions/new"}'),
        (f"{BASE}/sessions/new?return_to=x", "text/html", "<form>"),
        ("https://login.microsoftonline.com/abc/saml2", "text/html", "<form>"),  # SSO
    ],
)
def test_an_expired_or_anonymous_session_is_signed_out(
    landing: tuple[str, str, str], tmp_path: Path
) -> None:
    session = FakeSession({CHECK: landing})
    assert handler_with(session, tmp_path).session_ok() is False
    assert session.opened == [CHECK]


@pytest.mark.parametrize(
    ("home_lands_on", "expected"),
    [(f"{BASE}/order_headers", True), (f"{BASE}/sessions/new", False)],
)
def test_an_unknown_poll_answer_falls_back_to_the_home_page(
    home_lands_on: str, expected: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    session = FakeSession(
        {
            CHECK: (CHECK, "text/html", "<html>Maintenance</html>"),
            HOME: (home_lands_on, "text/html", ""),
        }
    )
    with caplog.at_level(logging.INFO, logger="coupadl"):
        assert handler_with(session, tmp_path).session_ok() is expected
    assert session.opened == [CHECK, HOME]
    assert "gave no answer coupadl knows" in caplog.text
