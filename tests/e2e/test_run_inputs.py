"""End to end with Excel input, `<|>` folder levels, requisition fallback, and the CLI."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from coupadl.cli.app import app
from coupadl.errors import ExitCode
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest, read_statuses
from helpers import write_input

pytestmark = pytest.mark.browser


def _pick(manifest: dict[str, Any], kind: str) -> str:
    return next(po for po, truth in manifest["pos"].items() if truth["kind"] == kind)


def _saved_digests(out: Path, po: str) -> set[str]:
    """sha256 of every file the run saved in a folder of ``po`` (any status)."""
    return {
        hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in out.rglob(f"PO{po}_*")
        if folder.is_dir()
        for path in folder.iterdir()
        if path.is_file()
    }


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

    # The columns after "<|>" are the folder levels, "/" made safe (docs/architecture.md):
    # the simulator's own comparison, told that this PO's folder is there.
    truth = manifest["pos"][po]
    assert truth["status"] == "COMPLETED" and truth["files"]
    expected = copy.deepcopy(manifest)
    expected["pos"][po]["supplier_folder"] = "Sweden/CC_42"
    assert compare_with_manifest(settings.out, expected, [po]) == []
    folder = settings.out / "Sweden" / "CC_42" / f"PO{po}_COMPLETED"
    assert sorted(p.name for p in folder.iterdir()) == sorted(f["name"] for f in truth["files"])
    # The results workbook: the input's columns kept, a row per input row, in order.
    results = settings.out / "results.xlsx"
    rows = [[c.value for c in row] for row in openpyxl.load_workbook(results).active.iter_rows()]
    header = rows[0]
    assert header[:5] == ["Region", "PO_NUMBER", "<|>", "Country", "Cost centre"]
    column = {name: header.index(name) for name in ("STATUS", "SUPPLIER", "AttachmentName")}
    assert [row[column["STATUS"]] for row in rows[1:]] == ["COMPLETED", "INVALID_PO_NUMBER"]
    assert rows[1][column["SUPPLIER"]] == truth["supplier"]
    saved = sorted(str(rows[1][column["AttachmentName"]]).split("; "))
    assert saved == sorted(f["name"] for f in truth["files"])
    assert outcome.results_path == results


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
    # The files that live on the POs' requisitions (where the fallback applies under
    # no_pdf): the run must have saved each of them exactly when the mode falls back.
    fallback_truth = sim.manifest(fallback="no_pdf")["pos"]
    on_requisition = {
        po: {f["sha256"] for f in fallback_truth[po]["files"] if f["source"].startswith("req")}
        for po in pos
    }
    requisition_only = [po for po in pos if manifest["pos"][po]["kind"] == "requisition_only"]
    assert requisition_only and all(on_requisition[po] for po in requisition_only)
    settings = make_settings(requisition_fallback=mode)

    run_batch(write_input(tmp_path / "in.csv", pos), settings)

    assert compare_with_manifest(settings.out, manifest, pos) == []
    for po, wanted in on_requisition.items():
        saved = _saved_digests(settings.out, po) & wanted
        assert saved == (wanted if mode != "never" else set()), (po, mode)
    statuses = read_statuses(settings.out / "results.csv")
    expected = "COMPLETED" if mode != "never" else "NO_ATTACHMENTS"
    wrong = {po: statuses.get(po) for po in requisition_only if statuses.get(po) != {expected}}
    assert wrong == {}, expected


def test_cli_run_and_login_check(sim: Any, make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings()
    manifest = sim.manifest()
    po = _pick(manifest, "header")
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
    # What the command saved and wrote in results.csv, against the simulator's truth.
    assert compare_with_manifest(settings.out, manifest, [po]) == []
    assert read_statuses(settings.out / "results.csv") == {po: {manifest["pos"][po]["status"]}}

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
