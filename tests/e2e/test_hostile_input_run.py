"""Messy input spreadsheets through ``coupadl run`` with both engines (a real browser, and
plain HTTP after a headless sign-in): the valid rows are fetched (each PO once, whatever
its spelling), every other row gets its own reason in the results file, and the exit code
is the documented one. No traceback anywhere."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from typer.testing import CliRunner

from coupadl.cli.app import app
from coupadl.errors import ExitCode
from coupadl.simulator.check import compare_with_manifest
from helpers import cache_formula_values

pytestmark = pytest.mark.browser

# How each engine is asked for on the command line: one browser, or plain HTTP two POs
# at a time.
ENGINES = {"browser": ["--sequential"], "http": ["--engine", "http", "--concurrency", "2"]}


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _restore_logging() -> Any:
    root, package = logging.getLogger(), logging.getLogger("coupadl")
    saved = (root.handlers[:], root.level, package.level)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    package.setLevel(saved[2])


def _run(input_path: Path, settings: Any, engine: str) -> Any:
    args = [
        "run", str(input_path), "--base-url", settings.base_url, "--out", str(settings.out),
        "--profile-dir", str(settings.profile_dir), "--browser-binary",
        str(settings.browser_binary), "--driver-path", str(settings.driver_path),
        *ENGINES[engine],
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert "Traceback" not in result.output, result.output
    report = json.loads((settings.out / "report.json").read_text(encoding="utf-8"))
    assert {entry["engine"] for entry in report["pos"]} == {engine}  # the engine asked for
    return result


def _two_completed(sim: Any) -> list[str]:
    manifest = sim.manifest()
    return [po for po, t in manifest["pos"].items() if t["status"] == "COMPLETED"][:2]


def test_latin1_csv_with_duplicates_blank_rows_and_invalid_numbers(
    sim: Any, make_settings: Any, tmp_path: Path, engine: str
) -> None:
    first, second = _two_completed(sim)
    lines = [
        "PO_NUMBER;Fournisseur;Remarque",
        f"PO{first};Société Générale;première",
        "",
        f"{first};Société Générale;doublon sans préfixe",
        ";;",
        f"pm{first};Müller;doublon PM",
        "PO-;Ærø;invalide",
        f"PO{second};Façade;deuxième",
        "abc;x;lettres",
        f"PO{second}.0;x;doublon décimal",
    ]
    path = tmp_path / "entrée.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))
    settings = make_settings()
    sim.reset_stats()

    result = _run(path, settings, engine)

    assert result.exit_code == ExitCode.OK, result.output
    assert "not UTF-8" in result.output  # the encoding fallback is logged
    assert sorted(sim.stats()["pos"]) == sorted([first, second])  # each PO fetched once
    assert all(count == 1 for count in sim.stats()["pos"].values())
    with (settings.out / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    assert [r["Remarque"] for r in rows] == [
        "première",
        "doublon sans préfixe",
        "doublon PM",
        "invalide",
        "deuxième",
        "lettres",
        "doublon décimal",
    ]  # fmt: skip  (accents read back intact; blank rows dropped)
    assert rows[0]["Fournisseur"] == "Société Générale"
    statuses = [r["STATUS"] for r in rows]
    assert statuses == ["COMPLETED"] * 3 + ["INVALID_PO_NUMBER", "COMPLETED",
                                            "INVALID_PO_NUMBER", "COMPLETED"]  # fmt: skip
    for row in (rows[3], rows[5]):
        assert row["ERROR_MESSAGE"].startswith("E_INVALID_PO: Invalid PO number")
    assert rows[0]["AttachmentName"] == rows[1]["AttachmentName"] == rows[2]["AttachmentName"]
    assert compare_with_manifest(settings.out, sim.manifest(), [first, second]) == []


def test_excel_formulas_and_dates(
    sim: Any, make_settings: Any, tmp_path: Path, engine: str
) -> None:
    from datetime import datetime

    first, second = _two_completed(sim)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "PO_Data"
    sheet.append(["PO_NUMBER", "Ordered", "Note"])
    sheet.append([f'=CONCAT("PO","{first}")', datetime(2025, 3, 14), "formula, calculated"])
    sheet.append([int(second), datetime(2025, 3, 15, 9, 30), "a number cell"])
    sheet.append([f'=CONCAT("PO","{second}")', None, "formula, never calculated"])
    sheet.append([datetime(2025, 1, 2), None, "a date where the PO should be"])
    path = tmp_path / "in.xlsx"
    book.save(path)
    cache_formula_values(path, {"A2": f"PO{first}"})
    settings = make_settings()

    result = _run(path, settings, engine)

    assert result.exit_code == ExitCode.OK, result.output
    flat = " ".join(result.output.split())
    assert "A4" in flat and "never calculated" in flat
    results = openpyxl.load_workbook(settings.out / "results.xlsx").active
    rows = [[c.value for c in row] for row in results.iter_rows()]
    header = rows[0]
    status, error = header.index("STATUS"), header.index("ERROR_MESSAGE")
    assert [r[status] for r in rows[1:]] == [
        "COMPLETED", "COMPLETED", "INVALID_PO_NUMBER", "INVALID_PO_NUMBER",
    ]  # fmt: skip
    assert "never calculated" in rows[3][error]
    assert "holds a date (2025-01-02)" in rows[4][error]
    assert rows[1][header.index("Ordered")] == datetime(2025, 3, 14)  # dates stay dates
    assert compare_with_manifest(settings.out, sim.manifest(), [first, second]) == []
