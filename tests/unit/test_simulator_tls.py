"""The simulator over HTTPS (``tls_cert``/``tls_key``), with a test CA made by trustme.

A client that trusts the CA gets pages, files and the SSO round trip through the
identity provider's other host name; one that does not is refused with a
certificate error.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from bs4 import BeautifulSoup

from coupadl.simulator import SimulatorServer
from coupadl.simulator.server import check_tls

PO = "/order_headers/16928000"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


def _write_cert(ca: trustme.CA, folder: Path, *names: str) -> tuple[Path, Path]:
    cert = ca.issue_cert(*names)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(key_path))
    return cert_path, key_path


@pytest.fixture(scope="module")
def cert_files(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    # The SSO identity provider is the other loopback name: the cert names both.
    return _write_cert(ca, tmp_path_factory.mktemp("tls"), "127.0.0.1", "localhost")


@pytest.fixture(scope="module")
def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture(scope="module")
def server(cert_files: tuple[Path, Path]) -> Iterator[SimulatorServer]:
    cert, key = cert_files
    with SimulatorServer(n_pos=4, seed=5, tls_cert=cert, tls_key=key) as running:
        yield running


def test_https_with_the_test_ca_serves_pages_and_files(
    server: SimulatorServer, trusting: ssl.SSLContext
) -> None:
    assert server.base_url == f"https://127.0.0.1:{server.port}"
    manifest = server.manifest()
    assert manifest["base_url"] == server.base_url
    creds = manifest["credentials"]
    with httpx.Client(base_url=server.base_url, verify=trusting, timeout=10) as client:
        assert client.get("/__sim__/manifest").json()["base_url"] == server.base_url
        form = {"user[email]": creds["email"], "user[password]": creds["password"]}
        assert client.post("/sessions", data=form).status_code == 302
        page = client.get(PO)
        assert page.status_code == 200 and page.url.scheme == "https"
        soup = BeautifulSoup(page.text, "html.parser")
        links = [str(a["href"]) for a in soup.select('a[href*="/attachment/attachment_file/"]')]
        assert links and all(link.startswith(server.base_url + "/") for link in links)
        entry = next(f for f in manifest["pos"]["16928000"]["files"] if f["source"] == "comment")
        body = client.get(links[0]).content
        assert hashlib.sha256(body).hexdigest() == entry["sha256"]


def test_without_the_ca_the_certificate_is_refused(server: SimulatorServer) -> None:
    with httpx.Client(timeout=10) as client, pytest.raises(httpx.ConnectError) as caught:
        client.get(server.base_url + "/__sim__/health")
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    plain = server.base_url.replace("https://", "http://")
    with httpx.Client(timeout=10) as client, pytest.raises(httpx.HTTPError):
        client.get(plain + "/__sim__/health")  # no plain HTTP on that port


def test_sso_round_trip_over_https_through_the_other_host_name(
    server: SimulatorServer, trusting: ssl.SSLContext
) -> None:
    server.control(sso_after=0)
    try:
        with httpx.Client(verify=trusting, timeout=10) as client:
            to_idp = client.get(server.base_url + PO)
            assert to_idp.status_code == 302
            idp_url = httpx.URL(to_idp.headers["location"])
            assert (idp_url.scheme, idp_url.host) == ("https", "localhost")
            idp = client.get(idp_url)  # the cert names localhost too
            assert idp.status_code == 200
            form = BeautifulSoup(idp.text, "html.parser").select_one("form#saml-post")
            assert form is not None
            assert str(form["action"]).startswith(server.base_url + "/")
            fields = {str(i["name"]): str(i["value"]) for i in form.select("input[type=hidden]")}
            signed_in = client.post(str(form["action"]), data=fields)
            assert signed_in.status_code == 302
            page = client.get(server.base_url + PO)
            assert page.status_code == 200 and "Purchase Order #PO16928000" in page.text
    finally:
        server.control(sso_after=None)


def test_a_cert_without_localhost_fails_the_idp_host(
    ca: trustme.CA, tmp_path: Path, trusting: ssl.SSLContext
) -> None:
    """Why the tests' certificate names both loopback names."""
    cert, key = _write_cert(ca, tmp_path, "127.0.0.1")
    sim = SimulatorServer(n_pos=2, seed=5, tls_cert=cert, tls_key=key, sso_after=0)
    with sim, httpx.Client(verify=trusting, timeout=10) as client:
        to_idp = client.get(sim.base_url + PO)
        assert client.get(sim.base_url + "/__sim__/health").status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get(to_idp.headers["location"])


def test_tls_files_are_checked_up_front(
    ca: trustme.CA, cert_files: tuple[Path, Path], tmp_path: Path
) -> None:
    cert, key = cert_files
    assert check_tls(None, None) is None
    assert check_tls(cert, key) == (cert, key)
    with pytest.raises(ValueError, match="both"):
        SimulatorServer(n_pos=2, tls_cert=cert)
    with pytest.raises(ValueError, match="not a file"):
        check_tls(cert, tmp_path / "missing.pem")
    _, other_key = _write_cert(ca, tmp_path, "127.0.0.1")
    with pytest.raises(ValueError, match="do not load"):
        check_tls(cert, other_key)  # the key of another certificate


def test_sim_command_takes_the_certificate(
    cert_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from coupadl.cli.app import app
    from coupadl.errors import ExitCode

    cert, key = cert_files
    seen: dict[str, object] = {}
    monkeypatch.setattr("coupadl.simulator.server.serve", lambda **kw: seen.update(kw))
    result = CliRunner().invoke(app, ["sim", "--tls-cert", str(cert), "--tls-key", str(key)])
    assert result.exit_code == 0, result.output
    assert (seen["tls_cert"], seen["tls_key"]) == (cert, key)
    half = CliRunner().invoke(app, ["sim", "--tls-cert", str(cert)])
    assert half.exit_code == int(ExitCode.USAGE) and "E_CONFIG" in half.output
