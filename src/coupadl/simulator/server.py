"""Running the simulator: in a background thread for tests and the demo, or in the foreground.

Binds 127.0.0.1 by default and refuses any other address unless ``allow_remote=True``:
the simulator has a well-known password and a control API without sign-in. With a
certificate and its key (``tls_cert``, ``tls_key``: PEM files) it serves HTTPS, as a
real tenant does; in SSO mode the certificate must name both ``127.0.0.1`` and
``localhost`` (the identity provider's host name, ``simulator/sso.py``).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn
from starlette.applications import Starlette

from coupadl.simulator.api.state import ApiState
from coupadl.simulator.app import create_app
from coupadl.simulator.auth import Credentials
from coupadl.simulator.data import Dataset, build_dataset
from coupadl.simulator.faults import make_knobs
from coupadl.simulator.sim_state import SimState
from coupadl.simulator.transfer import quiet_intentional_drops

log = logging.getLogger(__name__)

DEFAULT_PORT = 8765
_START_TIMEOUT = 15.0


def check_host(host: str, allow_remote: bool = False) -> None:
    """Raise ValueError for a non-loopback ``host`` unless ``allow_remote``."""
    if allow_remote or host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"refusing to bind the simulator to {host!r}: it has a known password and an "
            "open control API; use 127.0.0.1, or --allow-remote (allow_remote=True) if you "
            "mean it"
        )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    return sock


Tls = tuple[Path, Path]  # (certificate chain, private key), PEM files


def _url(host: str, port: int, tls: Tls | None = None) -> str:
    scheme = "https" if tls else "http"
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


def check_tls(cert: Path | None, key: Path | None) -> Tls | None:
    """``(cert, key)`` when both are given, None when neither; ValueError otherwise."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ValueError("HTTPS needs both a certificate (tls_cert) and its key (tls_key)")
    for what, path in (("certificate", cert), ("key", key)):
        if not Path(path).is_file():
            raise ValueError(f"the TLS {what} {str(path)!r} is not a file")
    try:  # here, not in the server's thread, so a bad pair says what is wrong
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise ValueError(f"the TLS certificate and key do not load: {exc}") from exc
    return Path(cert), Path(key)


def _config(app: Starlette, tls: Tls | None = None) -> uvicorn.Config:
    quiet_intentional_drops()
    return uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="h11",
        ws="none",
        timeout_graceful_shutdown=1,  # stalled downloads must not hold up a stop
        ssl_certfile=str(tls[0]) if tls else None,
        ssl_keyfile=str(tls[1]) if tls else None,
    )


class SimulatorServer:
    """A simulated Coupa tenant served by uvicorn in a background thread.

    Use as a context manager; ``port=0`` picks a free port. Knob keyword arguments
    are those of :class:`coupadl.simulator.faults.Knobs`. ``tls_cert`` and ``tls_key``
    (PEM files, both or neither) make it serve HTTPS; ``base_url`` then says https.
    """

    def __init__(
        self,
        n_pos: int = 20,
        seed: int = 0,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        credentials: Credentials | None = None,
        dataset: Dataset | None = None,
        allow_remote: bool = False,
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        **knobs: Any,
    ) -> None:
        check_host(host, allow_remote)
        self.tls = check_tls(tls_cert, tls_key)
        self.host = host
        self.dataset = dataset or build_dataset(n_pos, seed)
        self.app = create_app(self.dataset, make_knobs(**knobs), credentials)
        self._requested_port = port
        self._sock: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> SimState:
        return self.app.state.sim

    @property
    def api(self) -> ApiState:
        """The REST API's live state: its tokens and catalog (``simulator/api/``)."""
        return self.app.state.api

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("the simulator is not running")
        return int(self._sock.getsockname()[1])

    @property
    def base_url(self) -> str:
        return _url(self.host, self.port, self.tls)

    def start(self) -> SimulatorServer:
        if self._thread is not None:
            return self
        self._sock = _bind(self.host, self._requested_port)
        self._server = uvicorn.Server(_config(self.app, self.tls))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name="coupadl-simulator",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the simulator did not start")
            time.sleep(0.01)
        log.debug("simulator at %s", self.base_url)
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout=10)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- the control API, called directly (same process, no HTTP) ---------------------

    def manifest(self, fallback: str | None = None) -> dict[str, Any]:
        """The truth (docs/architecture.md); ``fallback`` as ``requisition_fallback``."""
        return self.state.manifest(self.base_url, fallback)

    def control(self, **knobs: Any) -> dict[str, Any]:
        """Change knobs now; returns all knobs. Raises ValueError for a bad one."""
        return self.state.faults.update(knobs)

    def expire_sessions(self) -> None:
        self.state.sessions.expire_all()

    def add_attachment(self, po_number: str, name: str, size: int = 4096) -> dict[str, Any]:
        """Attach a new file to a PO (as ``POST /__sim__/add-attachment``); its id and
        names. Raises ValueError as that answers 400."""
        sim = self.state.add_attachment(po_number, name, size)
        return {"file_id": sim.file_id, "name": sim.name, "saved_name": sim.saved_name}

    def expire_api_tokens(self) -> int:
        """Every REST API token issued so far expires now; how many were live."""
        return self.api.tokens.expire_all()

    def revoke_api_credentials(self) -> None:
        """Every OAuth client's secret is wrong and every token unknown, until
        :meth:`restore_api_credentials`."""
        self.api.tokens.revoke()

    def restore_api_credentials(self) -> None:
        self.api.tokens.restore()

    def stats(self) -> dict[str, Any]:
        return self.state.stats.snapshot()

    def timeline(self) -> dict[str, list[dict[str, Any]]]:
        """When each PO/requisition/file request and each 500/429 happened (time.time())."""
        return self.state.stats.timeline()

    def reset_stats(self) -> None:
        self.state.stats.reset()


def serve(
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    n_pos: int = 20,
    seed: int = 0,
    *,
    large_files: bool = True,
    credentials: Credentials | None = None,
    allow_remote: bool = False,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
    **knobs: Any,
) -> None:
    """Serve the simulator in the foreground until interrupted (``coupadl sim``)."""
    check_host(host, allow_remote)
    tls = check_tls(tls_cert, tls_key)
    credentials = credentials or Credentials()
    dataset = build_dataset(n_pos, seed, large_files=large_files)
    app = create_app(dataset, make_knobs(**knobs), credentials)
    sock = _bind(host, port)
    url = _url(host, int(sock.getsockname()[1]), tls)
    log.info("Coupa simulator: %s (%d POs, seed %d)", url, n_pos, seed)
    log.info("sign in as %s / %s", credentials.email, credentials.password)
    log.info("REST API: OAuth client %s (its secret is in the manifest's credentials)",
             credentials.api_client_id)  # fmt: skip
    if knobs.get("sso_after") is not None:
        log.info(
            "SSO mode: anonymous requests go to an identity provider on another host name "
            "that signs in by itself after %s s; /sessions/new still works",
            knobs["sso_after"],
        )
    log.info("truth: %s/__sim__/manifest, knobs: %s/__sim__/control", url, url)
    try:
        uvicorn.Server(_config(app, tls)).run(sockets=[sock])
    finally:
        sock.close()
