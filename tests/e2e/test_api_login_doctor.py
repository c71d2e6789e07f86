"""``coupadl login --api``, ``coupadl run --engine api`` with the stored secret, and
``coupadl doctor``'s API rows, as a user runs them: the real commands in subprocesses
against the real simulator's OAuth clients (random secrets).

The operating system's credential store is stood in for by a file-backed ``keyring``
backend (tests/keyring_backend.py), selected with ``PYTHON_KEYRING_BACKEND``: CI
machines have no Windows Credential Manager, keychain or Secret Service. The case
without any store uses keyring's own "fail" backend, what such a machine really has.
Every output of every command (stdout, stderr, the log file, the output folder) is
searched for the secrets and the bearer tokens the simulator granted.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pexpect
import pytest

from coupadl.doctor.checks import DoctorExit
from coupadl.errors import ExitCode
from coupadl.simulator.auth import Credentials
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.server import SimulatorServer
from helpers import record_api_tokens, write_input
from keyring_backend import read_store

TESTS = Path(__file__).resolve().parents[1]
SECRET = "cs-" + secrets.token_hex(16)
LIMITED_SECRET = "cs-limited-" + secrets.token_hex(16)
SERVICE = "coupadl-api"
_ROW = re.compile(r"^(ok|warn|fail|skip)\s+(\w+)\s+(.*)$")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    credentials = Credentials(api_client_secret=SECRET, api_limited_client_secret=LIMITED_SECRET)
    with SimulatorServer(n_pos=12, seed=23, credentials=credentials) as server:
        record_api_tokens(server)
        yield server


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "keyring.json"


def _env(store: Path, backend: str = "keyring_backend.FileKeyring", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPA_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), env.get("PYTHONPATH")) if p)
    env.update(PYTHON_KEYRING_BACKEND=backend, COUPADL_TEST_KEYRING=str(store), **extra)
    return env


class Outputs:
    """Every command's output, to search for secrets at the end of each test."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def run(self, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "coupadl", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        self.texts += [done.stdout, done.stderr]
        return done

    def assert_no_secret(self, sim: SimulatorServer, *files: Path) -> None:
        texts = self.texts + [p.read_text(encoding="utf-8", errors="replace") for p in files]
        values = {"secret": SECRET, "limited secret": LIMITED_SECRET}
        values.update({f"token {i}": t for i, t in enumerate(sim.api_issued)})  # type: ignore[attr-defined]
        for name, value in values.items():
            assert not any(value in text for text in texts), f"the {name} was printed"


@pytest.fixture
def outputs(sim: SimulatorServer) -> Iterator[Outputs]:
    found = Outputs()
    yield found
    found.assert_no_secret(sim)


def _login(outputs: Outputs, sim: SimulatorServer, env: dict[str, str], client_id: str) -> Any:
    return outputs.run(
        env, "login", "--api", "--base-url", sim.base_url, "--api-client-id", client_id
    )


def _account(sim: SimulatorServer, client_id: str) -> str:
    return f"{sim.base_url} {client_id}"


def test_login_stores_the_checked_secret_and_a_run_reads_it_from_the_store(
    sim: SimulatorServer, store: Path, outputs: Outputs, tmp_path: Path
) -> None:
    credentials = sim.manifest()["credentials"]
    client_id = credentials["api_client_id"]
    done = _login(outputs, sim, _env(store, COUPA_API_CLIENT_SECRET=SECRET), client_id)

    assert done.returncode == ExitCode.OK, done.stderr
    assert read_store(store) == {SERVICE: {_account(sim, client_id): SECRET}}
    said = " ".join(done.stderr.split())
    assert f"stored the secret of OAuth client {client_id}" in said
    assert "credential store" in said and "warning" not in said

    manifest = sim.manifest()
    pos = [po for po, truth in manifest["pos"].items() if truth["api_extras"]][:2]
    pos += [po for po in manifest["pos"] if po not in pos][: 6 - len(pos)]
    assert len(pos) == 6 and any(manifest["pos"][po]["api_extras"] for po in pos)
    input_path = write_input(tmp_path / "pos.csv", pos)
    out, log = tmp_path / "out", tmp_path / "run.log"
    env = _env(store, COUPA_RATE_LIMIT_RPS="0")  # no secret: it comes from the store
    ran = outputs.run(
        env, "run", str(input_path), "--engine", "api", "--base-url", sim.base_url,
        "--api-client-id", client_id, "--out", str(out), "--concurrency", "2",
        "--log-file", str(log), "--verbose",
    )  # fmt: skip

    assert ran.returncode == ExitCode.OK, ran.stderr[-3000:]
    assert compare_with_manifest(out, manifest, pos, api_extras=True) == []
    outputs.assert_no_secret(sim, log, *(p for p in out.rglob("*") if p.suffix in _TEXT))


_TEXT = {".csv", ".json", ".html", ".log", ".txt", ".url"}


@pytest.mark.skipif(os.name == "nt", reason="needs a POSIX pseudo-terminal (pexpect.spawn)")
def test_the_secret_typed_at_the_hidden_prompt_is_not_echoed(
    sim: SimulatorServer, store: Path, outputs: Outputs
) -> None:
    client_id = sim.manifest()["credentials"]["api_client_id"]
    args = ["-m", "coupadl", "login", "--api", "--base-url", sim.base_url,
            "--api-client-id", client_id]  # fmt: skip
    child = pexpect.spawn(
        sys.executable, args, env=_env(store), encoding="utf-8", timeout=60, dimensions=(40, 200)
    )
    child.expect(f"Secret of OAuth client {client_id}")
    child.sendline(SECRET)
    child.expect(pexpect.EOF)
    child.close()
    screen = _ANSI.sub("", child.before or "")  # all it printed after the prompt
    outputs.texts.append(screen)

    assert child.exitstatus == ExitCode.OK, screen
    assert SECRET not in screen, "the typed secret was echoed"
    assert "stored the secret" in " ".join(screen.split())
    assert read_store(store) == {SERVICE: {_account(sim, client_id): SECRET}}


def test_a_wrong_secret_is_refused_and_nothing_is_stored(
    sim: SimulatorServer, store: Path, outputs: Outputs
) -> None:
    client_id = sim.manifest()["credentials"]["api_client_id"]
    wrong = "cs-wrong-" + secrets.token_hex(8)
    done = _login(outputs, sim, _env(store, COUPA_API_CLIENT_SECRET=wrong), client_id)

    assert done.returncode == ExitCode.AUTH_REQUIRED, done.stderr
    said = " ".join(done.stderr.split())
    assert f"refused the OAuth client {client_id}" in said and "Nothing was stored" in said
    assert read_store(store) == {}
    assert wrong not in done.stdout + done.stderr


def test_without_a_credential_store_it_says_so_and_points_to_the_variable(
    sim: SimulatorServer, store: Path, outputs: Outputs
) -> None:
    client_id = sim.manifest()["credentials"]["api_client_id"]
    env = _env(store, backend="keyring.backends.fail.Keyring", COUPA_API_CLIENT_SECRET=SECRET)
    done = _login(outputs, sim, env, client_id)

    assert done.returncode == ExitCode.USAGE, done.stderr
    said = " ".join(done.stderr.split())
    assert "no operating-system credential store" in said
    assert "Set COUPA_API_CLIENT_SECRET" in said and "nothing was stored" in said
    assert read_store(store) == {}


def _doctor(
    outputs: Outputs, sim: SimulatorServer, env: dict[str, str], client_id: str, out: Path
) -> tuple[int, dict[str, tuple[str, str]]]:
    done = outputs.run(
        env, "doctor", "--engine", "api", "--base-url", sim.base_url, "--api-client-id",
        client_id, "--out", str(out), "--min-free-mb", "1",
        "--browser-binary", str(out / "no-such-browser"),  # engine api needs none
    )  # fmt: skip
    rows = {}
    for line in done.stderr.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match.group(2)] = (match.group(1), match.group(3))
    assert list(rows)[-3:] == ["api", "scopes", "po_list"], done.stderr
    assert rows["browser"][0] == "skip" and rows["session"][0] == "skip"
    return done.returncode, rows


def _store_both(sim: SimulatorServer, store: Path, outputs: Outputs) -> dict[str, str]:
    credentials = sim.manifest()["credentials"]
    for client_id, secret in ((credentials["api_client_id"], SECRET),
                              (credentials["api_limited_client_id"], LIMITED_SECRET)):  # fmt: skip
        done = _login(outputs, sim, _env(store, COUPA_API_CLIENT_SECRET=secret), client_id)
        assert done.returncode == ExitCode.OK, done.stderr
    return dict(credentials)


def test_doctor_passes_the_good_client_and_names_the_missing_scope_of_the_limited_one(
    sim: SimulatorServer, store: Path, outputs: Outputs, tmp_path: Path
) -> None:
    credentials = _store_both(sim, store, outputs)
    limited_login = " ".join(outputs.texts[-1].split())
    assert "warning [E_API_SCOPE] the client was not granted core.requisition.read" in limited_login

    code, rows = _doctor(outputs, sim, _env(store), credentials["api_client_id"], tmp_path)
    assert code == DoctorExit.OK, rows
    assert {n: rows[n][0] for n in ("api", "scopes", "po_list")} == dict.fromkeys(
        ("api", "scopes", "po_list"), "ok"
    )
    assert "the credential store" in rows["api"][1]

    limited = credentials["api_limited_client_id"]
    code, rows = _doctor(outputs, sim, _env(store), limited, tmp_path)
    assert code == DoctorExit.FAILED, rows
    assert rows["api"][0] == "ok" and rows["po_list"][0] == "ok"
    level, scopes = rows["scopes"]
    assert level == "fail"
    assert (
        "core.purchase_order.read ok, core.requisition.read missing, core.common.read ok" in scopes
    )
    assert f"grant OAuth client {limited} core.requisition.read" in scopes


def test_doctor_reports_a_revoked_client_as_refused(
    sim: SimulatorServer, store: Path, outputs: Outputs, tmp_path: Path
) -> None:
    credentials = _store_both(sim, store, outputs)
    client_id = credentials["api_client_id"]
    sim.revoke_api_credentials()
    try:
        code, rows = _doctor(outputs, sim, _env(store), client_id, tmp_path)
    finally:
        sim.restore_api_credentials()

    assert code == DoctorExit.FAILED, rows
    level, detail = rows["api"]
    assert level == "fail" and f"refused the OAuth client {client_id}" in detail
    assert "still active" in detail
    assert rows["scopes"][0] == "skip" and rows["po_list"][0] == "skip"
