"""End to end with Excel input, `<|>` folder levels, requisition fallback, and the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from coupadl.cli.app import app
from coupadl.errors import ExitCode
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from helpers import write_input

pytestmark = pytest.mark.browser


def _pick(manifest: dict[str, Any], kind: str) -> str:
    return next(po for po, truth in manifest["pos"].items() if truth["kind"] == kind)


def test_excel_input_with_folder_levels(sim: Any, make_settings: Any, tmp_path: Path) -> None:
    manifest = sim.manifest()
    po = _pick(manifest, "both")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "PO_Data"
    sheet.append(["Region", "PO_NUMBER", "<|>", "Country", "Cost centre"])
    sheet.append(["EMEA", f"pm{po}", None, "Sweden", "CC/42"])
    sheet.append([None, None, None, None, None])
    sheet.append(["EMEA", "not a PO", None, "Sweden", "CC/42"])
    input_path = tmp_path / "in.xlsx"
    book.save(input_path)
    settings = make_settings()

    outcome = run_batch(input_path, settings)

    folder = settings.out / "Sweden" / "CC_42" / f"PO{po}_COMPLETED"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(f["name"] for f in manifest["pos"][po]["files"])
    results = openpyxl.load_workbook(outcome.results_path).active
    rows = [[c.value for c in row] for row in results.iter_rows()]
    header = rows[0]
    assert header[:5] == ["Region", "PO_NUMBER", "<|>", "Country", "Cost centre"]
    status = header.index("STATUS")
    assert [row[status] for row in rows[1:]] == ["COMPLETED", "INVALID_PO_NUMBER"]
    assert outcome.invalid_rows == 1


@pytest.mark.parametrize("mode", ["no_pdf", "never"])
def test_requisition_fallback_modes(
    sim: Any, make_settings: Any, tmp_path: Path, mode: str
) -> None:
    manifest = sim.manifest(fallback=mode)
    pos = [
        po
        for po, t in manifest["pos"].items()
        if t["kind"] in ("requisition_only", "no_pdf", "both")
    ]
    settings = make_settings(requisition_fallback=mode)

    run_batch(write_input(tmp_path / "in.csv", pos), settings)

    assert compare_with_manifest(settings.out, manifest, pos) == []
    sources = {f["source"] for po in pos for f in manifest["pos"][po]["files"]}
    assert ("requisition_header" in sources or "requisition_comment" in sources) == (
        mode != "never"
    )


def test_cli_run_and_login_check(sim: Any, make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings()
    po = _pick(sim.manifest(), "header")
    input_path = write_input(tmp_path / "in.csv", [po])
    common = [
        "--base-url", sim.base_url,
        "--profile-dir", str(settings.profile_dir),
        "--browser-binary", str(settings.browser_binary),
        "--driver-path", str(settings.driver_path),
    ]  # fmt: skip
    runner = CliRunner()

    result = runner.invoke(app, ["run", str(input_path), "--out", str(settings.out), *common])
    assert result.exit_code == ExitCode.OK, result.output
    assert (settings.out / "results.csv").is_file()

    check = runner.invoke(app, ["login", "--check", *common])
    assert check.exit_code == ExitCode.OK, check.output
    assert "signed in" in check.output


def test_cli_bad_input_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("Order,Amount\n1,2\n", encoding="utf-8")
    runner = CliRunner()
    for args, fragment in [
        (["run", str(bad), "--base-url", "http://127.0.0.1:9"], "Order"),
        (["run", str(tmp_path / "missing.csv"), "--base-url", "http://127.0.0.1:9"], "missing"),
        (["run", str(bad)], "--base-url"),
        (["run", str(bad), "--base-url", "ftp://x"], "base_url"),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == ExitCode.USAGE, result.output
        assert fragment in result.output
        assert "Traceback" not in result.output
