"""Isolation settings: no plain http:// to another computer unless asked for, which hosts
may serve files, a simulator that stays on loopback, run state private to the user."""

from __future__ import annotations

import logging
import os
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from coupadl.cli.app import app
from coupadl.errors import ConfigError, ExitCode
from coupadl.models import POResult, Status
from coupadl.settings import is_loopback_host, load_settings
from coupadl.simulator.server import SimulatorServer
from coupadl.state.store import RunState


@pytest.fixture(autouse=True)
def _restore_logging() -> Any:
    root, package = logging.getLogger(), logging.getLogger("coupadl")
    saved = (root.handlers[:], root.level, package.level)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    package.setLevel(saved[2])


def cli(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


# --- plain http ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://acme.coupahost.com",
        "http://10.0.0.5:8080",
        "http://[2001:db8::1]",
        "http://localhost.evil.com",
    ],
)
def test_plain_http_to_another_computer_is_refused(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"base_url": url})
    assert "allow_insecure_http" in info.value.message
    assert "unencrypted" in info.value.message


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765", "http://127.1.2.3", "http://localhost:9", "http://[::1]:80",
     "http://coupa.localhost:8765", "https://acme.coupahost.com"],
)  # fmt: skip
def test_https_and_loopback_http_are_fine(url: str) -> None:
    assert load_settings({"base_url": url}).base_url == url


def test_plain_http_allowed_when_asked_for(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = "http://coupa.intranet.example"
    assert load_settings({"base_url": url, "allow_insecure_http": True}).base_url == url
    monkeypatch.setenv("COUPA_ALLOW_INSECURE_HTTP", "1")
    assert load_settings({"base_url": url}).allow_insecure_http is True
    monkeypatch.delenv("COUPA_ALLOW_INSECURE_HTTP")
    config = tmp_path / "c.toml"
    config.write_text(f'base_url = "{url}"\nallow_insecure_http = true\n', encoding="utf-8")
    assert load_settings({}, config_file=config).base_url == url


def test_cli_refuses_plain_http_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = str(tmp_path / "in.csv")
    result = cli("run", missing, "--base-url", "http://acme.coupahost.com")
    assert result.exit_code == ExitCode.USAGE
    flat = " ".join(result.output.split())
    assert "[E_CONFIG]" in flat and "allow_insecure_http" in flat
    # Allowed: the run gets past the settings (and stops at the missing input file).
    monkeypatch.setenv("COUPA_ALLOW_INSECURE_HTTP", "true")
    result = cli("run", missing, "--base-url", "http://acme.coupahost.com")
    assert result.exit_code == ExitCode.USAGE
    assert "Input file not found" in " ".join(result.output.split())


def test_is_loopback_host() -> None:
    assert all(map(is_loopback_host, ["localhost", "LOCALHOST.", "a.b.localhost", "127.0.0.1",
                                      "127.255.0.9", "::1", "[::1]"]))  # fmt: skip
    assert not any(map(is_loopback_host, ["", None, "localhost.example", "10.0.0.1", "::",
                                          "0.0.0.0", "example.com"]))  # fmt: skip


# --- file hosts ------------------------------------------------------------------------------


def test_file_hosts_from_every_source(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert load_settings({}).file_hosts == []
    given = ["Files.Acme.com", "*.s3.amazonaws.com", "https://cdn.acme.com/"]
    assert load_settings({"file_hosts": given}).file_hosts == [
        "files.acme.com", "*.s3.amazonaws.com", "cdn.acme.com",
    ]  # fmt: skip
    monkeypatch.setenv("COUPA_FILE_HOSTS", "files.acme.com, *.s3.amazonaws.com")
    assert load_settings({}).file_hosts == ["files.acme.com", "*.s3.amazonaws.com"]
    monkeypatch.delenv("COUPA_FILE_HOSTS")
    config = tmp_path / "c.toml"
    config.write_text('file_hosts = ["files.acme.com"]\n', encoding="utf-8")
    assert load_settings({}, config_file=config).file_hosts == ["files.acme.com"]


@pytest.mark.parametrize("bad", ["files.acme.com/path", "a b", "*", "files.*.com", "x?y"])
def test_file_hosts_must_be_host_names(bad: str) -> None:
    with pytest.raises(ConfigError, match="file_hosts"):
        load_settings({"file_hosts": [bad]})


# --- the simulator stays on loopback ----------------------------------------------------------


def test_simulator_binds_loopback_by_default() -> None:
    with SimulatorServer(n_pos=1) as server:
        assert server._sock is not None
        assert server._sock.getsockname()[0] == "127.0.0.1"
        assert server.base_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com"])
def test_simulator_cli_refuses_other_addresses_without_allow_remote(host: str) -> None:
    result = cli("sim", "--host", host, "--port", "0")
    assert result.exit_code == ExitCode.USAGE
    flat = " ".join(result.output.split())
    assert "[E_CONFIG]" in flat and "--allow-remote" in flat
    with pytest.raises(ValueError, match="refusing to bind"):
        SimulatorServer(host=host)


def test_nothing_listens_after_a_refused_simulator_start() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    cli("sim", "--host", "0.0.0.0", "--port", str(port))
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


# --- run state private to the user -------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_state_database_and_its_wal_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        with RunState(tmp_path) as state:
            state.record_result(POResult("1", Status.COMPLETED))
            files = sorted(state.dir.glob("state.db*"))
            assert {p.name for p in files} >= {"state.db", "state.db-wal", "state.db-shm"}
            for path in files:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            assert stat.S_IMODE(state.dir.stat().st_mode) == 0o700
    finally:
        os.umask(old)
