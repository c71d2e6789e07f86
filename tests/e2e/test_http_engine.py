"""The http engine end to end against the real simulator (and, where the simulator has
no such answer, a tiny real HTTP server on loopback): sign-in with headless Chromium
once, then pages and files over plain HTTP through the inline executor (and the whole
data set once through ``coupadl run`` itself), the output checked file by file against
the manifest.

Signed-in sessions: the module's simulator records every session token it issues, so
the secrets grep knows every cookie value the run could have held.
"""

from __future__ import annotations

import copy
import http.server
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
import trustme

from conftest import CHROMEDRIVER, CHROMIUM
from coupadl.coupa.urls import po_url
from coupadl.engine.browser.login import reauthenticator
from coupadl.engine.http.fetcher import HttpFetcher
from coupadl.engine.http.handler import HttpHandler
from coupadl.engine.http.prepare import prepare_http
from coupadl.engine.http.records import HttpRecords
from coupadl.engine.spec import HTTP
from coupadl.errors import AuthRequiredError, DownloadError, DownloadTimeout, ExitCode
from coupadl.execution.inline import InlineRun, run_inline
from coupadl.models import Attachment, POResult, POTask, Status
from coupadl.settings import Settings, load_settings
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.data import expected_attachments
from coupadl.simulator.server import SimulatorServer
from helpers import record_session_tokens, wait_for, write_input

N_POS = 30


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """The module's tenant; it remembers every session token it hands out."""
    with SimulatorServer(n_pos=N_POS, seed=7) as server:
        record_session_tokens(server)
        yield server


@pytest.fixture(autouse=True)
def _healthy_server_afterwards(sim: SimulatorServer) -> Iterator[None]:
    yield
    sim.control(
        file_faults=None, file_host=None, sso_after=None, script_attachments_share=0.0,
        burst_429=0, stall_after_bytes=None, drop_after_bytes=None, fault_scope="all",
        page_latency=0.0, file_bandwidth=0,
    )  # fmt: skip


@dataclass
class Recorder:
    """The run's record callback and state, as run_batch's would be (in memory)."""

    results: dict[str, POResult] = field(default_factory=dict)
    events: list[tuple[str, str]] = field(default_factory=list)
    on_record: Callable[[POResult], None] | None = None

    def record(self, result: POResult) -> None:
        self.results[result.po_number] = result
        if self.on_record is not None:
            self.on_record(result)

    def mark_running(self, po: str, worker: str) -> None:
        pass

    def record_event(self, po: str, kind: str, detail: str = "") -> None:
        self.events.append((po, kind))


def _nobody_signs_in() -> Any:
    raise AuthRequiredError("nobody is there to sign in")


def _run(
    pos: list[str],
    settings: Settings,
    profile: Path,
    recorder: Recorder | None = None,
    reauth: Callable[[], Any] = _nobody_signs_in,
) -> tuple[InlineRun, Recorder]:
    recorder = recorder or Recorder()
    tasks = [POTask(po) for po in pos]
    run = run_inline(tasks, settings, recorder.record, recorder, profile, HTTP, reauth=reauth)
    return run, recorder


def _statuses(recorder: Recorder) -> dict[str, str]:
    return {po: r.status.value for po, r in recorder.results.items()}


def _expected(manifest: dict[str, Any], pos: list[str]) -> dict[str, str]:
    return {po: manifest["pos"][po]["status"] for po in pos}


def _with_files(manifest: dict[str, Any], least: int = 1) -> list[str]:
    return [
        po
        for po, t in manifest["pos"].items()
        if t["status"] == "COMPLETED" and t["kind"] in ("both", "header", "comment")
        and len(t["files"]) >= least
    ]  # fmt: skip


# --- the whole data set --------------------------------------------------------------------


@pytest.mark.browser
def test_every_po_matches_the_manifest_file_by_file(
    sim: SimulatorServer, make_settings: Any, base_profile: Path
) -> None:
    manifest = sim.manifest()
    pos = list(manifest["pos"])
    settings = make_settings(engine="http")

    run, recorder = _run(pos, settings, base_profile)

    assert run.pending == [] and not run.auth_stopped
    assert _statuses(recorder) == _expected(manifest, pos)
    assert compare_with_manifest(settings.out, manifest, pos) == []
    assert {r.engine for r in recorder.results.values()} == {"http"}
    assert not list(settings.out.rglob("*__WORK")) and not list(settings.out.rglob(".incoming"))


@pytest.mark.browser
@pytest.mark.timeout(240)
def test_every_po_through_the_cli_matches_the_manifest_file_by_file(
    sim: SimulatorServer, base_profile: Path, tmp_path: Path
) -> None:
    """``coupadl run`` as a person runs it: its own process, the threaded executor."""
    manifest = sim.manifest()
    out = tmp_path / "out"
    input_path = write_input(tmp_path / "in.csv", list(manifest["pos"]))
    sim.reset_stats()
    command = [
        sys.executable, "-m", "coupadl", "run", str(input_path),
        "--base-url", sim.base_url, "--out", str(out), "--profile-dir", str(base_profile),
        "--browser-binary", CHROMIUM, "--driver-path", CHROMEDRIVER,
        "--engine", "http", "--concurrency", "2",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=200, check=False)

    assert done.returncode == ExitCode.OK, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert compare_with_manifest(out, manifest) == []
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert (report["mode"], report["totals"]["pos"]) == ("http", N_POS)
    assert {entry["engine"] for entry in report["pos"]} == {"http"}
    assert sim.stats()["pos"] == dict.fromkeys(manifest["pos"], 1)  # each PO's page once
    said = done.stdout + done.stderr
    assert [what for what, value in _secrets(sim).items() if value in said] == []


@pytest.mark.browser
def test_script_only_attachment_lists_go_to_the_browser(
    sim: SimulatorServer, make_settings: Any, base_profile: Path, tmp_path: Path
) -> None:
    sim.control(script_attachments_share=0.5)
    manifest = sim.manifest()
    scripted = [po for po in _with_files(manifest) if manifest["pos"][po]["script_attachments"]]
    plain = [po for po in _with_files(manifest) if po not in scripted]
    assert len(scripted) >= 2 and plain, "the knob picked no PO"
    pos = scripted[:2] + plain[:2]

    auto = make_settings(engine="auto", out=tmp_path / "auto")
    run, recorder = _run(pos, auto, base_profile)

    assert run.pending == []
    assert _statuses(recorder) == _expected(manifest, pos)
    assert compare_with_manifest(auto.out, manifest, pos) == []
    engines = {po: r.engine for po, r in recorder.results.items()}
    assert engines == {**dict.fromkeys(scripted[:2], "browser"), **dict.fromkeys(plain[:2], "http")}

    strict = make_settings(engine="http", out=tmp_path / "http")
    run, recorder = _run(pos, strict, base_profile)

    for po in scripted[:2]:
        result = recorder.results[po]
        assert (result.status, result.error_code) == (Status.FAILED, "E_NEEDS_BROWSER")
        assert not result.transient and result.attempts == 1
        assert "read in a browser" in result.message and "--engine auto" in result.message
    expected = copy.deepcopy(manifest)
    for po in scripted[:2]:
        expected["pos"][po].update(status="FAILED", files=[], folder=None)
    assert compare_with_manifest(strict.out, expected, pos) == []


# --- signing in ----------------------------------------------------------------------------


def _secrets(sim: SimulatorServer) -> dict[str, str]:
    found = {}
    for i, token in enumerate(sim.issued):  # type: ignore[attr-defined]
        found[f"session cookie {i}"] = token
        for j, part in enumerate(token.split(".")):
            if len(part) >= 8:
                found[f"session cookie {i} part {j}"] = part
    return found


@pytest.mark.browser
def test_an_expired_session_pauses_signs_in_again_and_resumes_without_a_secret_anywhere(
    sim: SimulatorServer,
    make_settings: Any,
    own_profile: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Files from a signed-URL file host (secrets in the query), the session expired
    after the third PO: the run signs in again (a plain cookie list from the
    re-sign-in) and finishes; no cookie value nor signature is logged or written."""
    caplog.set_level(logging.DEBUG)
    manifest = sim.manifest()
    pos = _with_files(manifest)[:6]
    creds = manifest["credentials"]
    sim.control(file_host="localhost")  # the tenant is 127.0.0.1: another host name
    settings = make_settings(
        engine="http", profile_dir=own_profile, file_hosts=["localhost"],
        username=creds["email"], password=creds["password"],
    )  # fmt: skip
    sign_ins: list[int] = []
    reauth = reauthenticator(settings, interactive=False)

    def sign_in_again() -> Any:
        sign_ins.append(1)
        return reauth()

    def expire_after_third(result: POResult) -> None:
        if len(recorder.results) == 3:
            sim.expire_sessions()

    recorder = Recorder(on_record=expire_after_third)
    run, _ = _run(pos, settings, own_profile, recorder, sign_in_again)

    assert run.pending == [] and not run.auth_stopped
    assert sign_ins == [1]
    assert [kind for _, kind in recorder.events].count("paused_for_auth") == 1
    assert _statuses(recorder) == _expected(manifest, pos)
    assert compare_with_manifest(settings.out, manifest, pos) == []
    assert len(sim.issued) >= 2  # type: ignore[attr-defined]
    files = [r for r in sim.timeline()["requests"] if r["group"] == "files"]
    assert files, "no file was fetched"

    secrets = _secrets(sim)
    texts = {"the log": caplog.text}
    texts.update({f"result {po}": repr(r) for po, r in recorder.results.items()})
    leaks = [f"{what} in {where}" for where, text in texts.items()
             for what, value in secrets.items() if value in text]  # fmt: skip
    leaks += [f"a signed URL's signature in {where}" for where, t in texts.items() if "sig=" in t]
    for path in (p for p in settings.out.rglob("*") if p.is_file()):
        blob = path.read_bytes()
        leaks += [f"{what} in {path}" for what, v in secrets.items() if v.encode() in blob]
        leaks += [f"a signature in {path}"] if b"sig=" in blob else []
    assert leaks == []


@pytest.mark.browser
@pytest.mark.parametrize("tenant", ["native", "sso"])
def test_a_redirect_to_sign_in_or_to_the_identity_provider_stops_the_run(
    tenant: str, sim: SimulatorServer, make_settings: Any, own_profile: Path
) -> None:
    manifest = sim.manifest()
    pos = _with_files(manifest)[:3]
    settings = make_settings(engine="http", profile_dir=own_profile)
    idp_pages = sim.app.state.sso.record.idp_pages
    try:
        if tenant == "sso":
            sim.control(sso_after=60)
        sim.expire_sessions()
        run, recorder = _run(pos, settings, own_profile)
    finally:
        sim.control(sso_after=None)  # before own_profile signs the base profile in again

    assert run.auth_stopped and run.pending == pos
    result = recorder.results[pos[0]]
    assert result.status is Status.AUTH_REQUIRED, result
    where = "localhost" if tenant == "sso" else "/sessions/new"
    assert where in result.message
    assert sim.app.state.sso.record.idp_pages == idp_pages  # the IdP never saw us
    assert not list(settings.out.rglob("PO*"))


class _Tenant(http.server.BaseHTTPRequestHandler):
    """Answers no simulator gives: 401, a bot wall's 403, an unknown layout, a bare 503."""

    ANSWERS: ClassVar[dict[str, tuple[int, str]]] = {
        "/order_headers/1001": (401, "<html><body><h1>401 Unauthorized</h1></body></html>"),
        "/order_headers/1002": (
            403,
            "<html><head><title>Attention Required!</title></head><body><h1>Please verify "
            "you are a human</h1></body></html>",
        ),
        "/order_headers/1003": (
            403,
            '<html><body><div class="flash_error">You are not authorized to view this '
            "page.</div></body></html>",
        ),
        "/order_headers/1004": (200, "<html><body><div id='root'></div></body></html>"),
        "/order_headers/1005": (503, "<html><body>upstream gone</body></html>"),
        "/sessions/expiration_check": (401, "<html><body>Unauthorized</body></html>"),
    }

    def do_GET(self) -> None:
        status, body = self.ANSWERS.get(self.path, (404, "Not Found"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def tenant_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Tenant)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("po", "status", "code", "transient"),
    [
        ("1001", Status.AUTH_REQUIRED, "E_AUTH_REQUIRED", False),  # 401
        ("1002", Status.AUTH_REQUIRED, "E_AUTH_REQUIRED", False),  # 403, not Coupa's page
        ("1003", Status.ACCESS_DENIED, "E_ACCESS_DENIED", False),  # Coupa's 403 page
        ("1004", Status.FAILED, "E_NEEDS_BROWSER", False),  # unknown layout, engine http
        ("1005", Status.FAILED, "E_SERVER_ERROR", True),  # 5xx whatever its body
    ],
)
def test_status_codes_the_simulator_does_not_send(
    po: str, status: Status, code: str, transient: bool, tenant_server: str, tmp_path: Path
) -> None:
    settings = load_settings({"base_url": tenant_server, "out": tmp_path, "engine": "http"})
    handler = HttpHandler("h1", settings, None, None)
    handler.start()
    try:
        result = handler.process(POTask(po))
    finally:
        handler.close()
    assert (result.status, result.error_code, result.transient) == (status, code, transient)
    assert result.engine == "http"


def test_a_401_session_poll_is_signed_out(tenant_server: str, tmp_path: Path) -> None:
    settings = load_settings({"base_url": tenant_server, "out": tmp_path})
    handler = HttpHandler("h1", settings, None, None)
    handler.start()
    try:
        assert not handler.session_ok()
    finally:
        handler.close()


def test_a_refused_connection_is_a_transient_network_failure(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = load_settings({"base_url": f"http://127.0.0.1:{port}", "out": tmp_path})
    handler = HttpHandler("h1", settings, None, None)
    handler.start()
    try:
        result = handler.process(POTask("16928000"))
    finally:
        handler.close()
    assert (result.status, result.error_code) == (Status.FAILED, "E_NETWORK")
    assert result.transient and "127.0.0.1" in result.message


def test_tls_trusts_the_ca_bundle_and_names_it_when_a_certificate_is_untrusted(
    tmp_path: Path,
) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(tmp_path / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "key.pem"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    with SimulatorServer(
        n_pos=3, seed=1, tls_cert=tmp_path / "cert.pem", tls_key=tmp_path / "key.pem"
    ) as tls_sim:
        results = {}
        for bundle in (tmp_path / "ca.pem", None):
            values = {"base_url": tls_sim.base_url, "out": tmp_path / "out", "ca_bundle": bundle}
            handler = HttpHandler("h1", load_settings(values), None, None)
            handler.start()
            try:
                results[bundle is not None] = handler.process(POTask("16928000"))
            finally:
                handler.close()
    # Trusted: the TLS connection works and the tenant asks to sign in (no cookies).
    assert results[True].status is Status.AUTH_REQUIRED
    assert results[False].error_code == "E_NETWORK" and results[False].transient
    assert "ca_bundle" in results[False].message


# --- downloads -----------------------------------------------------------------------------


@pytest.fixture
def signed_in(make_settings: Any, base_profile: Path) -> Callable[..., HttpHandler]:
    """Started http handlers on the base profile's session (closed after the test)."""
    handlers: list[HttpHandler] = []
    session = prepare_http(make_settings(), base_profile, None, 1, lambda _: None).session

    def make(**overrides: Any) -> HttpHandler:
        handler = HttpHandler("h1", make_settings(engine="http", **overrides), None, session)
        handler.start()
        handlers.append(handler)
        return handler

    yield make
    for handler in handlers:
        handler.close()


def _largest_file(sim: SimulatorServer, handler: HttpHandler) -> tuple[Attachment, int]:
    """An attachment over 4000 bytes as its PO's page lists it, and its size."""
    manifest = sim.manifest()
    for po in _with_files(manifest):
        listed = expected_attachments(sim.dataset, sim.dataset.pos[po], "no_pdf")
        sizes = {
            str(sim_file.file_id): entry["size"]
            for (_, sim_file), entry in zip(listed, manifest["pos"][po]["files"], strict=True)
        }
        page = HttpRecords(handler.runtime).open_record(po_url(sim.base_url, po))
        for attachment in page.attachments:
            size = sizes.get(attachment.url.split("/")[-2], 0)
            if size > 4000:
                return attachment, size
    raise AssertionError("no file over 4000 bytes")


def _fetch(handler: HttpHandler, attachment: Attachment, staging: Path) -> Path:
    staging.mkdir(parents=True, exist_ok=True)
    fetcher = HttpFetcher(handler.runtime)
    try:
        pending = fetcher.start(attachment, "file.bin", staging)
        return fetcher.finish(pending, lambda: None)
    finally:
        fetcher.abandon()


@pytest.mark.browser
def test_a_page_slower_than_page_timeout_is_a_timeout(
    sim: SimulatorServer, signed_in: Callable[..., HttpHandler]
) -> None:
    handler = signed_in(page_timeout=1)
    sim.control(page_latency=5)
    result = handler.process(POTask(_with_files(sim.manifest())[0]))
    assert (result.status, result.error_code, result.transient) == (
        Status.TIMEOUT, "E_TIMEOUT", True
    )  # fmt: skip


@pytest.mark.browser
def test_a_stalled_download_times_out_and_a_cut_one_fails(
    sim: SimulatorServer, signed_in: Callable[..., HttpHandler], tmp_path: Path
) -> None:
    # Pages may take 60 s, longer than the stall lasts (30 s): only the stall timeout fires.
    handler = signed_in(download_stall_timeout=1, page_timeout=60)
    attachment, size = _largest_file(sim, handler)
    sim.control(stall_after_bytes=1000, stall_count=1, stall_seconds=30)
    with pytest.raises(DownloadTimeout, match="no data for 1 s after 1,000 bytes"):
        _fetch(handler, attachment, tmp_path / "stall")
    sim.control(drop_after_bytes=1000, drop_count=1)
    with pytest.raises(DownloadError) as cut:
        _fetch(handler, attachment, tmp_path / "drop")
    assert not isinstance(cut.value, DownloadTimeout)
    assert f"closed after 1,000 of the {size:,} bytes" in cut.value.message
    # The knobs are used up: the same file now arrives whole.
    assert _fetch(handler, attachment, tmp_path / "whole").stat().st_size == size


def _requests_of(sim: SimulatorServer, file_id: int) -> int:
    """How many requests for the file ``file_id`` the simulator has served."""
    requests = sim.timeline()["requests"]
    return sum(r["group"] == "files" and r["id"] == str(file_id) for r in requests)


@pytest.mark.browser
def test_a_download_redirected_to_another_host_is_refused(
    sim: SimulatorServer, make_settings: Any, base_profile: Path
) -> None:
    manifest = sim.manifest()
    po, healthy = _with_files(manifest, least=2)[:2]
    victim = expected_attachments(sim.dataset, sim.dataset.pos[po], "no_pdf")[0][1]
    sim.control(file_faults={str(victim.file_id): "redirect"})
    settings = make_settings(engine="http", max_retries=0)
    before = _requests_of(sim, victim.file_id)

    _, recorder = _run([po, healthy], settings, base_profile)

    expected = copy.deepcopy(manifest)
    expected["pos"][po]["files"] = manifest["pos"][po]["files"][1:]
    expected["pos"][po]["status"] = "PARTIAL"
    assert compare_with_manifest(settings.out, expected, [po, healthy]) == []
    message = recorder.results[po].message
    assert (
        f"{victim.saved_name}: the server redirected the download to elsewhere.localhost" in message
    )
    assert "refused: elsewhere.localhost is not the tenant's host" in message
    assert "sig=" not in message
    assert _requests_of(sim, victim.file_id) - before == 1  # the tenant's 302 only


@pytest.mark.browser
def test_file_host_403_is_a_failed_download_and_a_sign_in_redirect_is_auth(
    sim: SimulatorServer, signed_in: Callable[..., HttpHandler], tmp_path: Path
) -> None:
    handler = signed_in(file_hosts=["localhost"])
    attachment, _ = _largest_file(sim, handler)
    file_id, name = attachment.url.split("/")[-2:]
    expired = f"http://localhost:{sim.port}/files/signed/{file_id}/{name}?expires=1&sig=00"
    with pytest.raises(DownloadError, match="HTTP 403; a signed file URL may have expired"):
        _fetch(handler, Attachment("x", expired, attachment.source), tmp_path / "a")
    # Without the session, the tenant sends the file request to its sign-in page.
    handler.runtime.cookies.replace([])
    with pytest.raises(AuthRequiredError, match="sign-in page"):
        _fetch(handler, attachment, tmp_path / "b")


@pytest.mark.browser
@pytest.mark.parametrize("scope", ["pages", "files"])
def test_a_429_closes_the_shared_gate_for_its_retry_after(
    scope: str, sim: SimulatorServer, signed_in: Callable[..., HttpHandler], tmp_path: Path
) -> None:
    handler = signed_in(rate_limit_pause=1, max_retries=0)
    attachment, _ = _largest_file(sim, handler)
    gate = handler.runtime.politeness.gate
    assert gate.remaining() == 0
    sim.control(burst_429=1, retry_after=7, fault_scope=scope)

    if scope == "pages":
        result = handler.process(POTask(_with_files(sim.manifest())[0]))
        assert result.transient
        assert (result.error_code, result.retry_after) == ("E_RATE_LIMITED", 7)
    else:
        with pytest.raises(DownloadError, match="429 Too Many Requests"):
            _fetch(handler, attachment, tmp_path / "f")
    # Every request of the process now waits for the Retry-After: 7 s, not the 1 s default.
    assert 1 < gate.remaining() <= 7


@pytest.mark.browser
def test_a_pos_files_download_side_by_side_and_abandon_stops_them(
    sim: SimulatorServer, signed_in: Callable[..., HttpHandler], tmp_path: Path
) -> None:
    handler = signed_in()
    attachment, size = _largest_file(sim, handler)
    sim.control(file_bandwidth=1000)  # the file takes several seconds
    fetcher = HttpFetcher(handler.runtime)
    transfers = []
    for k in range(2):
        (tmp_path / str(k)).mkdir()
        transfers.append(fetcher.start(attachment, "file.bin", tmp_path / str(k)))
    try:
        # Both bodies arriving while neither has finished: they run side by side.
        wait_for(
            lambda: (
                all(t.received > 0 for t in transfers)
                and not any(t.future is not None and t.future.done() for t in transfers)
            ),
            "two downloads of one PO under way at once",
            timeout=60,
        )
    finally:
        fetcher.abandon()
        sim.control(file_bandwidth=0)
    for transfer in transfers:
        assert transfer.future is not None and transfer.future.done()
        error = transfer.future.exception()
        assert isinstance(error, DownloadError) and "abandoned" in error.message
        assert transfer.target.stat().st_size < size


@pytest.mark.browser
def test_session_ok_asks_coupas_session_poll(
    sim: SimulatorServer, signed_in: Callable[..., HttpHandler]
) -> None:
    handler = signed_in()
    assert handler.session_ok()
    handler.runtime.cookies.replace([])  # signed out
    assert not handler.session_ok()
