"""The REST API engine end to end against the real simulator's API: OAuth token, PO by
number, header and comment attachments, requisition fallback, files with the bearer
token; the output checked file by file against the manifest (the web's files plus the
API-only link and note items). No browser takes part: the simulator's web page counter
stays at zero.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from coupadl.errors import ApiScopeError, ExitCode
from coupadl.models import POResult
from coupadl.runs.batch import run_batch
from coupadl.runs.dryrun import dry_run
from coupadl.settings import Settings, load_settings
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.server import SimulatorServer
from helpers import record_api_tokens, write_input


@pytest.fixture
def api_sim(calm_sim: Any) -> Iterator[Any]:
    """The shared simulator recording the API tokens it grants; credentials restored."""
    record_api_tokens(calm_sim)
    yield calm_sim
    calm_sim.restore_api_credentials()


def _api_settings(sim: Any, out: Path, **overrides: Any) -> Settings:
    credentials = sim.manifest()["credentials"]
    values: dict[str, Any] = {
        "base_url": sim.base_url,
        "out": out,
        "engine": "api",
        "api_client_id": credentials["api_client_id"],
        "api_client_secret": credentials["api_client_secret"],
        "concurrency": 4,
        "rate_limit_rps": 0,  # the client's default 20/s would make each test 10 s
        "retry_backoff": 0.2,
        "results_flush_seconds": 0,
        "download_stall_timeout": 10,
        "page_timeout": 20,
    }
    values.update(overrides)
    return load_settings(values)


def _run(
    sim: Any, tmp_path: Path, on_result: Callable[[POResult], None] | None = None, **kw: Any
) -> tuple[Any, Settings, dict[str, Any]]:
    manifest = sim.manifest()
    input_path = write_input(tmp_path / "pos.csv", list(manifest["pos"]))
    settings = _api_settings(sim, tmp_path / "out", **kw)
    return run_batch(input_path, settings, on_result=on_result), settings, manifest


def _report(out: Path) -> dict[str, Any]:
    return dict(json.loads((out / "report.json").read_text(encoding="utf-8")))


def test_every_po_matches_the_manifest_with_its_api_items(api_sim: Any, tmp_path: Path) -> None:
    outcome, settings, manifest = _run(api_sim, tmp_path)
    assert outcome.exit_code is ExitCode.OK, outcome.by_status
    assert compare_with_manifest(settings.out, manifest, api_extras=True) == []
    assert any(po["api_extras"] for po in manifest["pos"].values())  # the check checked some
    report = _report(settings.out)
    assert report["mode"] == "api" and report["engines"] == {"api": len(manifest["pos"])}
    stats = api_sim.stats()
    assert stats["pages"] == 0, "a web page was asked for: the run did not go through the API"
    assert stats["api_tokens"] == 1  # one token for the whole run


def test_a_second_run_fetches_nothing_again(api_sim: Any, tmp_path: Path) -> None:
    first, settings, manifest = _run(api_sim, tmp_path)
    assert first.exit_code is ExitCode.OK
    before = api_sim.stats()
    again = run_batch(tmp_path / "pos.csv", settings)
    after = api_sim.stats()
    assert again.processed == 0 and again.skipped == len(manifest["pos"])
    assert after["files"] == before["files"] and after["api_calls"] == before["api_calls"]
    assert compare_with_manifest(settings.out, manifest, api_extras=True) == []


def test_tokens_that_expire_mid_run_are_renewed_and_nothing_fails(
    api_sim: Any, tmp_path: Path
) -> None:
    done: list[str] = []

    def expire_now_and_then(result: POResult) -> None:
        done.append(result.po_number)
        if len(done) in (3, 9):
            api_sim.expire_api_tokens()

    outcome, settings, manifest = _run(api_sim, tmp_path, expire_now_and_then)
    assert outcome.exit_code is ExitCode.OK, outcome.by_status
    assert compare_with_manifest(settings.out, manifest, api_extras=True) == []
    assert api_sim.stats()["api_tokens"] >= 3  # the first, and one after each expiry


def test_revoked_credentials_stop_the_run_with_exit_4_and_the_rest_pending(
    api_sim: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    done: list[str] = []

    def revoke_after_three(result: POResult) -> None:
        done.append(result.po_number)
        if len(done) == 3:
            api_sim.revoke_api_credentials()

    outcome, settings, manifest = _run(api_sim, tmp_path, revoke_after_three, concurrency=1)
    assert outcome.exit_code is ExitCode.AUTH_REQUIRED
    assert outcome.pending, "every PO after the revocation stays pending"
    assert len(outcome.pending) >= len(manifest["pos"]) - 4
    client_id = manifest["credentials"]["api_client_id"]
    secret = manifest["credentials"]["api_client_secret"]
    assert client_id in caplog.text and secret not in caplog.text
    api_sim.restore_api_credentials()
    resumed = run_batch(tmp_path / "pos.csv", settings)  # the rest, once access is back
    assert resumed.exit_code is ExitCode.OK
    assert compare_with_manifest(settings.out, manifest, api_extras=True) == []


def test_a_client_without_a_needed_scope_stops_before_any_po(api_sim: Any, tmp_path: Path) -> None:
    credentials = api_sim.manifest()["credentials"]
    with pytest.raises(ApiScopeError, match=r"core\.requisition\.read"):
        _run(
            api_sim, tmp_path, api_client_id=credentials["api_limited_client_id"],
            api_client_secret=credentials["api_limited_client_secret"],
        )  # fmt: skip
    assert not (tmp_path / "out" / "results.csv").exists() or "COMPLETED" not in (
        tmp_path / "out" / "results.csv"
    ).read_text(encoding="utf-8")
    assert not api_sim.stats()["files"], "no file was fetched"


@pytest.mark.parametrize("fault", ["burst_429", "burst_500"])
@pytest.mark.parametrize("when", ["at the token", "mid-run"])
def test_429_and_500_bursts_are_waited_out_and_retried(
    api_sim: Any, tmp_path: Path, fault: str, when: str
) -> None:
    """Three failures in a row: on the token endpoint (the run's first request), or on
    the API calls and files of the POs in flight after the first PO is done."""
    burst = {fault: 3, "retry_after": 1}
    if when == "at the token":
        api_sim.control(**burst)
    done: list[str] = []

    def arm_after_the_first(result: POResult) -> None:
        done.append(result.po_number)
        if when == "mid-run" and len(done) == 1:
            api_sim.control(**burst)

    outcome, settings, manifest = _run(api_sim, tmp_path, arm_after_the_first)
    assert outcome.exit_code is ExitCode.OK, outcome.by_status
    assert compare_with_manifest(settings.out, manifest, api_extras=True) == []
    stats = api_sim.stats()
    assert stats["errors_429" if fault == "burst_429" else "errors_500"] == 3
    assert stats["api_tokens"] == 1


def _expire_tokens_after(sim: Any, api_calls: int) -> threading.Thread:
    """Expire every API token once the run has made ``api_calls`` API calls."""

    def watch() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            if sim.stats()["api_calls"] >= api_calls:
                sim.expire_api_tokens()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def test_thirty_pos_through_the_cli_file_by_file_and_no_secret_anywhere(tmp_path: Path) -> None:
    """``coupadl run --engine api`` as a user runs it, --verbose with a JSON log file; a
    token expires mid-run. Then neither the client secret nor any token the simulator
    granted is in the CLI's output or in any file the run wrote."""
    with SimulatorServer(n_pos=30, seed=11) as sim:
        issued = record_api_tokens(sim)
        manifest = sim.manifest()
        credentials = manifest["credentials"]
        out, log_file = tmp_path / "out", tmp_path / "run.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("COUPA_")}
        env.update(
            COUPA_API_CLIENT_ID=credentials["api_client_id"],
            COUPA_API_CLIENT_SECRET=credentials["api_client_secret"],
            COUPA_RATE_LIMIT_RPS="0",
            COUPA_RETRY_BACKOFF="0.2",
        )
        command = [
            sys.executable, "-m", "coupadl", "run",
            str(write_input(tmp_path / "in.csv", list(manifest["pos"]))),
            "--base-url", sim.base_url, "--out", str(out), "--engine", "api",
            "--concurrency", "3", "--verbose", "--log-file", str(log_file),
            "--log-format", "json",
        ]  # fmt: skip
        watcher = _expire_tokens_after(sim, 40)
        done = subprocess.run(
            command, env=env, capture_output=True, timeout=400, stdin=subprocess.DEVNULL
        )
        watcher.join(timeout=1)
        tokens_granted = sim.stats()["api_tokens"]
    output = done.stdout + done.stderr
    assert done.returncode == ExitCode.OK, output.decode(errors="replace")[-3000:]
    assert b"Traceback" not in output
    assert compare_with_manifest(out, manifest, api_extras=True) == []
    assert tokens_granted >= 2 and len(issued) == tokens_granted  # renewed after the expiry
    secrets = {"the client secret": credentials["api_client_secret"].encode()}
    secrets.update({f"token {n + 1}": token.encode() for n, token in enumerate(issued)})
    leaks = [f"{what} in the CLI's output" for what, v in secrets.items() if v in output]
    artefacts = [log_file, *sorted(p for p in out.rglob("*") if p.is_file())]
    assert {"results.csv", "report.json", "state.db", "run.log"} <= {p.name for p in artefacts}
    for path in artefacts:
        blob = path.read_bytes()
        leaks += [f"{what} in {path.name}" for what, v in secrets.items() if v in blob]
    assert leaks == []


def test_the_dry_run_lists_from_the_api_and_fetches_no_file(api_sim: Any, tmp_path: Path) -> None:
    manifest = api_sim.manifest()
    input_path = write_input(tmp_path / "pos.csv", list(manifest["pos"]))
    settings = _api_settings(api_sim, tmp_path / "out")
    listing = dry_run(input_path, settings)
    assert not api_sim.stats()["files"], "the dry run fetched a file"
    assert not settings.out.exists()
    listed = {po.po_number: po for po in listing.pos}
    assert set(listed) == set(manifest["pos"])
    for number, truth in manifest["pos"].items():
        files = listed[number].files
        sizes = sorted(f.size for f in files if not f.url.startswith("data:"))
        assert sizes == sorted(f["size"] for f in truth["files"]), number
        extras = [f for f in files if f.url.startswith("data:")]
        assert len(extras) == len(truth["api_extras"]), number
        assert all(f.size and f.name.endswith((".url", ".txt")) for f in extras)
