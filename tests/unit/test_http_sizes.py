"""File sizes by HEAD for the dry run (engine/http/sizes.py), against a real loopback
HTTP server that records what it was asked: the method, the path, the host and whether
a cookie came. What the simulator does not send (no Content-Length, a 404, a 429 on a
file, a link to another host) is answered here."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from coupadl.engine.http.politeness import Politeness
from coupadl.engine.http.runtime import HttpRuntime
from coupadl.engine.http.session import HttpSession
from coupadl.engine.http.sizes import head_sizes
from coupadl.settings import load_settings

SECRET = "s3cr3t-session"


class _Files(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, str, bool]]] = []  # method, path, host, a cookie came

    def _answer(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0]
        self.seen.append((self.command, self.path, host, SECRET in self.headers.get("Cookie", "")))
        if self.path == "/file/ok":
            self.send_response(200)
            self.send_header("Content-Length", "1234")
        elif self.path == "/file/moved":
            self.send_response(302)
            self.send_header("Location", "/file/ok")
            self.send_header("Content-Length", "0")
        elif self.path == "/file/limited":
            self.send_response(429)
            self.send_header("Retry-After", "30")
            self.send_header("Content-Length", "0")
        elif self.path == "/file/unsized":
            self.send_response(200)  # HTTP/1.0, no length: the body would end at close
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = _answer
    do_GET = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    _Files.seen = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(httpd.server_address[1])
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def runtime(server: int, tmp_path: Path) -> Iterator[HttpRuntime]:
    settings = load_settings(
        {"base_url": f"http://127.0.0.1:{server}", "out": tmp_path / "out", "rate_limit_rps": 0}
    )
    cookie = {"name": "_coupa_session", "value": SECRET, "domain": "127.0.0.1", "path": "/"}
    made = HttpRuntime(settings, HttpSession([cookie], "Mozilla/5.0 X"), "Mozilla/5.0 X")
    try:
        yield made
    finally:
        made.close()


def test_each_size_is_a_head_with_the_tenants_cookie_and_unknown_unless_a_2xx_tells(
    runtime: HttpRuntime, server: int
) -> None:
    tenant = f"http://127.0.0.1:{server}"
    urls = [
        f"{tenant}/file/ok",
        f"{tenant}/file/moved",
        f"{tenant}/file/gone",
        f"{tenant}/file/unsized",
        f"http://localhost:{server}/file/ok",  # another host name: not the tenant's
        "data:text/plain,hello",
    ]

    assert head_sizes(runtime, urls) == [1234, None, None, None, None, None]

    # Only the tenant's four, by HEAD, each with the session cookie; the redirect was
    # not followed, and nothing went to the other host.
    asked = sorted(_Files.seen)
    assert asked == [
        ("HEAD", path, "127.0.0.1", True)
        for path in sorted(["/file/ok", "/file/moved", "/file/gone", "/file/unsized"])
    ]


def test_a_429_on_a_size_holds_every_request(runtime: HttpRuntime, server: int) -> None:
    assert head_sizes(runtime, [f"http://127.0.0.1:{server}/file/limited"]) == [None]
    # Retry-After 30: the shared gate is closed (read at once, well inside the 30 s).
    assert runtime.politeness.gate.remaining() > 0


def test_each_size_waits_its_turn_in_the_shared_politeness(
    runtime: HttpRuntime, server: int
) -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # a clock that moves only when slept on
        slept.append(seconds)
        now[0] += seconds

    runtime.politeness = Politeness(0, 1, clock=lambda: now[0], sleep=sleep)
    runtime.politeness.gate.close_for(12)  # as after a 429 elsewhere in the process

    assert head_sizes(runtime, [f"http://127.0.0.1:{server}/file/ok"]) == [1234]
    assert slept == [12] and len(_Files.seen) == 1
