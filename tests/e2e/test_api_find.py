"""``coupadl find`` end to end: the CLI against the real simulator's REST API (a
simulator of its own, 120 POs), the spreadsheet it writes read back and checked row by
row against the manifest's ``api`` entries, then handed to a run of the API engine.

The oracle is the manifest, filtered here with plain comparisons of its own (a
created-at's tenant-local date is its first ten characters), never with coupadl's
filter code.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner, Result

from coupadl.cli.app import app
from coupadl.errors import ExitCode
from coupadl.runs.batch import run_batch
from coupadl.settings import load_settings
from coupadl.simulator import SimulatorServer
from coupadl.simulator.check import compare_with_manifest

COLUMNS = ["PO_NUMBER", "COUPA_SUPPLIER", "COUPA_CREATED_AT", "COUPA_STATUS", "COUPA_TOTAL"]
Api = dict[str, Any]


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=120, seed=7) as running:
        yield running


@pytest.fixture(scope="module")
def manifest(server: SimulatorServer) -> dict[str, Any]:
    return dict(server.manifest())


def _visible(manifest: dict[str, Any]) -> dict[str, Api]:
    return {n: po["api"] for n, po in manifest["pos"].items() if po["api"] is not None}


def _expected(manifest: dict[str, Any], keep: Callable[[Api], bool]) -> list[list[str]]:
    return [
        [n, f"{a['supplier']['name']}-{a['supplier']['number']}", a["created_at"], a["status"],
         a["total"]]
        for n, a in _visible(manifest).items() if keep(a)
    ]  # fmt: skip


def _find(
    server: SimulatorServer, manifest: dict[str, Any], *args: str, limited: bool = False
) -> Result:
    creds = manifest["credentials"]
    prefix = "api_limited_" if limited else "api_"
    argv = ["find", "--base-url", server.base_url, "--api-client-id",
            creds[prefix + "client_id"], "--rate-limit-rps", "0", *args]  # fmt: skip
    env = {"COUPA_API_CLIENT_SECRET": creds[prefix + "client_secret"]}
    result = CliRunner().invoke(app, argv, env=env)
    assert "seems to ignore" not in result.output  # the tenant applied every filter sent
    return result


def _rows(path: Path) -> list[list[str]]:
    """The file read back without coupadl: the header, then each row as text."""
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    else:
        sheet = openpyxl.load_workbook(path, read_only=True)["PO_Data"]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        for row in rows[1:]:
            assert isinstance(row[0], str), f"PO_NUMBER {row[0]!r} is not text"
    assert rows[0] == COLUMNS
    # The total as a number (a workbook holds a number, a CSV its text).
    return [[*r[:4], str(Decimal(str(r[4])).quantize(Decimal("0.01")))] for r in rows[1:]]


def _api_calls(server: SimulatorServer) -> int:
    return int(server.stats()["api"].get("purchase_orders", 0))


CASES: dict[str, tuple[list[str], Callable[[Api], bool]]] = {
    "status": (["--status", "issued"], lambda a: a["status"] == "issued"),
    "created-after": (
        ["--created-after", "2025-07-01"], lambda a: a["created_at"][:10] >= "2025-07-01"
    ),
    "created-before": (
        ["--created-before", "2024-09-15"], lambda a: a["created_at"][:10] < "2024-09-15"
    ),
    "supplier-contains": (
        ["--supplier-contains", "INDUSTRIAL"],
        lambda a: "industrial" in a["supplier"]["name"].lower(),
    ),
    "combined": (
        ["--status", "issued", "--created-after", "2025-01-01", "--created-before", "2026-01-01"],
        lambda a: a["status"] == "issued" and "2025-01-01" <= a["created_at"][:10] < "2026-01-01",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_each_filter_finds_exactly_the_manifests_pos(
    server: SimulatorServer, manifest: dict[str, Any], tmp_path: Path, case: str
) -> None:
    args, keep = CASES[case]
    expected = _expected(manifest, keep)
    assert expected, "the oracle finds nothing: the case checks nothing"
    out = tmp_path / "pos.csv"
    before = _api_calls(server)
    result = _find(server, manifest, *args, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert _rows(out) == expected
    assert _api_calls(server) - before == len(expected) // 50 + 1  # one GET per page of 50
    assert f"{len(expected)} PO(s)" in result.output


def test_more_than_one_page_is_read_with_progress(
    server: SimulatorServer, manifest: dict[str, Any], tmp_path: Path
) -> None:
    expected = _expected(manifest, lambda a: a["status"] == "issued")
    assert len(expected) > 50
    result = _find(server, manifest, "--status", "issued", "--out", str(tmp_path / "p.csv"))
    assert result.exit_code == 0, result.output
    assert "page 1, 50 read" in result.output and f"page 2, {len(expected)} read" in result.output


def test_supplier_exact_and_combined_into_a_workbook(
    server: SimulatorServer, manifest: dict[str, Any], tmp_path: Path
) -> None:
    names = Counter(a["supplier"]["name"] for a in _visible(manifest).values())
    name, count = names.most_common(1)[0]
    assert count > 1
    out = tmp_path / "pos.xlsx"
    result = _find(server, manifest, "--supplier", name, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert _rows(out) == _expected(manifest, lambda a: a["supplier"]["name"] == name)
    # A hostile name (quotes, slash, colon) goes through the query intact.
    hostile = next(n for n in names if '"' in n or "/" in n)
    out2 = tmp_path / "hostile.xlsx"
    issued_hostile = _expected(
        manifest, lambda a: a["supplier"]["name"] == hostile and a["status"] == "issued"
    )
    result = _find(
        server, manifest, "--supplier", hostile, "--status", "issued", "--out", str(out2)
    )
    assert result.exit_code == 0, result.output
    if issued_hostile:
        assert _rows(out2) == issued_hostile
    else:
        assert not out2.exists()


def test_no_match_is_a_message_exit_0_and_no_file(
    server: SimulatorServer, manifest: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "none.xlsx"
    result = _find(server, manifest, "--supplier", "No Such Supplier AB", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "No PO matches" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_an_existing_file_is_replaced_only_with_overwrite(
    server: SimulatorServer, manifest: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "pos.csv"
    out.write_text("mine\n", encoding="utf-8")
    calls = _api_calls(server)
    refused = _find(server, manifest, "--status", "closed", "--out", str(out))
    assert refused.exit_code == ExitCode.USAGE and "--overwrite" in refused.output
    assert out.read_text(encoding="utf-8") == "mine\n" and _api_calls(server) == calls
    done = _find(server, manifest, "--status", "closed", "--out", str(out), "--overwrite")
    assert done.exit_code == 0, done.output
    assert _rows(out) == _expected(manifest, lambda a: a["status"] == "closed")


def test_a_client_without_the_requisition_scope_can_find(
    server: SimulatorServer,
    manifest: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert "core.requisition.read" not in manifest["credentials"]["api_limited_scopes"]
    tokens = server.app.state.api.tokens
    grant, asked = tokens.grant, []

    def recording_grant(client_id: str, secret: str, scope: str, ttl: float) -> Any:
        asked.append(scope)
        return grant(client_id, secret, scope, ttl)

    monkeypatch.setattr(tokens, "grant", recording_grant)
    out = tmp_path / "pos.csv"
    result = _find(server, manifest, "--status", "cancelled", "--out", str(out), limited=True)
    assert result.exit_code == 0, result.output
    assert _rows(out) == _expected(manifest, lambda a: a["status"] == "cancelled")
    assert asked == ["core.purchase_order.read"]  # no more than find needs


def test_revoked_credentials_exit_4_naming_the_client_never_the_secret(
    server: SimulatorServer, manifest: dict[str, Any], tmp_path: Path
) -> None:
    out = tmp_path / "pos.csv"
    server.revoke_api_credentials()
    try:
        result = _find(server, manifest, "--status", "issued", "--out", str(out))
    finally:
        server.restore_api_credentials()
    creds = manifest["credentials"]
    assert result.exit_code == ExitCode.AUTH_REQUIRED, result.output
    assert creds["api_client_id"] in result.output
    assert creds["api_client_secret"] not in result.output
    assert not out.exists()


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_run_of_the_api_engine_takes_the_file_as_it_is(
    server: SimulatorServer, manifest: dict[str, Any], tmp_path: Path, suffix: str
) -> None:
    names = Counter(a["supplier"]["name"] for a in _visible(manifest).values())
    name = names.most_common(1)[0][0]
    found = tmp_path / f"found{suffix}"
    result = _find(server, manifest, "--supplier", name, "--out", str(found))
    assert result.exit_code == 0, result.output
    numbers = [row[0] for row in _rows(found)]
    assert 1 < len(numbers) < 10
    creds = manifest["credentials"]
    settings = load_settings({
        "base_url": server.base_url, "out": tmp_path / "out", "engine": "api",
        "api_client_id": creds["api_client_id"], "api_client_secret": creds["api_client_secret"],
        "rate_limit_rps": 0, "concurrency": 2, "results_flush_seconds": 0,
    })  # fmt: skip
    outcome = run_batch(found, settings)
    assert outcome.exit_code is ExitCode.OK, outcome.by_status
    assert outcome.processed == len(numbers)
    subset = {**manifest, "pos": {n: manifest["pos"][n] for n in numbers}}
    assert compare_with_manifest(settings.out, subset, api_extras=True) == []
    results = settings.out / f"results{suffix}"
    header = _header(results)
    assert header[: len(COLUMNS)] == COLUMNS and "STATUS" in header  # kept, results appended


def _header(path: Path) -> list[str]:
    if path.suffix == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            return next(csv.reader(f))
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    return [str(c) for c in next(sheet.iter_rows(values_only=True))]
