"""report.html as a person sees it: a real run against the simulator, then the page
opened from disk (file://) in real headless Chromium; and ``coupadl report OUT``."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from typer.testing import CliRunner

from coupadl.cli.app import app
from coupadl.engine.browser.driver import start_driver
from coupadl.errors import ExitCode, suggested_action
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from helpers import write_input

KINDS = ("both", "unicode", "hostile", "none", "not_found", "denied")


def _path_of(url: str) -> Path:
    parsed = urlparse(url)
    assert parsed.scheme == "file", url
    return Path(url2pathname(parsed.path))


def _expected_counts(manifest: dict[str, Any], pos: list[str]) -> dict[str, int]:
    """POs per status, as the simulator says they must end."""
    return dict(Counter(manifest["pos"][po]["status"] for po in pos))


def _status_counts(rows: dict[str, int]) -> dict[str, int]:
    """The rows of a totals table that name a status (upper case), with their counts."""
    return {label: count for label, count in rows.items() if re.fullmatch(r"[A-Z_]+", label)}


def _check_page(driver: WebDriver, manifest: dict[str, Any], pos: list[str]) -> None:
    truth = {po: manifest["pos"][po] for po in pos}
    # Totals: one line per status with its count, as in the manifest.
    totals = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "table.totals tr"):
        label, count = (c.text for c in row.find_elements(By.TAG_NAME, "td"))
        totals[label] = int(count)
    assert _status_counts(totals) == _expected_counts(manifest, pos)
    assert "left pending" not in totals
    assert totals["POs"] == len(pos)

    # A row per PO with its status, supplier and every file linked to the file on disk.
    rows = driver.find_elements(By.CSS_SELECTOR, "tr.po")
    assert [r.get_attribute("id") for r in rows] == [f"po-{po}" for po in pos]
    for row, po in zip(rows, pos, strict=True):
        cells = row.find_elements(By.TAG_NAME, "td")
        assert cells[0].text == f"PO{po}"
        assert cells[1].text == truth[po]["status"]
        assert cells[2].text == truth[po]["supplier"]
        links = cells[3].find_elements(By.TAG_NAME, "a")
        assert [a.text for a in links] == [f["name"] for f in truth[po]["files"]]
        for link, file in zip(links, truth[po]["files"], strict=True):
            path = _path_of(link.get_property("href"))  # as the browser resolved it
            assert path.is_file() and path.stat().st_size == file["size"], path

    # Failures grouped by reason, with what to do.
    for code in ("E_PO_NOT_FOUND", "E_ACCESS_DENIED"):
        group = driver.find_element(By.ID, f"fail-{code}")
        assert code in group.text and suggested_action(code) in group.text
        po = next(p for p in pos if truth[p]["status"] == code[2:])
        assert f"PO{po}" in group.text

    chart = driver.find_element(By.CSS_SELECTOR, "svg.chart")
    assert chart.is_displayed()
    assert chart.find_elements(By.CSS_SELECTOR, "circle.pt")
    # Hostile names stayed text: nothing ran, nothing was fetched.
    assert not driver.find_elements(By.CSS_SELECTOR, "script, img, iframe")
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018


@pytest.mark.browser
def test_report_html_in_a_real_browser_then_cli_report(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    pos = [next(po for po, t in manifest["pos"].items() if t["kind"] == k) for k in KINDS]
    settings = make_settings()
    outcome = run_batch(write_input(tmp_path / "in.csv", pos), settings)
    assert outcome.exit_code is ExitCode.OK
    # The run itself matches the simulator's truth (files, folders, results.csv), so the
    # report is checked against what is on disk as well as against the manifest.
    assert compare_with_manifest(settings.out, manifest, pos) == []
    page = settings.out / "report.html"
    assert page.is_file()

    driver = start_driver(settings, tmp_path / "viewer-profile", tmp_path / "viewer-downloads")
    try:
        driver.get(page.resolve().as_uri())
        _check_page(driver, manifest, pos)
        # The PO folder link opens the folder with the PO's files in it.
        unicode_po = pos[KINDS.index("unicode")]
        folder_link = driver.find_element(By.CSS_SELECTOR, f"#po-{unicode_po} a.folder")
        folder = _path_of(folder_link.get_property("href"))
        assert folder == settings.out / manifest["pos"][unicode_po]["folder"]
        assert folder.is_dir()
        folder_link.click()
        listing = driver.find_element(By.TAG_NAME, "body").text
        assert manifest["pos"][unicode_po]["files"][0]["name"] in listing
    finally:
        driver.quit()

    # coupadl report OUT: the same summary from the state, and report.html written again.
    page.unlink()
    result = CliRunner().invoke(app, ["report", str(settings.out)])
    assert result.exit_code == ExitCode.OK, result.output
    assert "Traceback" not in result.output
    output = " ".join(result.output.split())  # rich wraps long lines
    assert f"{len(pos)} POs processed" in output
    # The table's status rows against the simulator's statuses, not the run's own counts.
    printed = {status: int(n) for status, n in re.findall(r"│ ([A-Z_]+) │ (\d+) │", output)}
    assert printed == _expected_counts(manifest, pos), output
    assert str(page) in "".join(result.output.split())
    assert page.is_file() and "<svg " in page.read_text(encoding="utf-8")


def test_cli_report_on_a_folder_without_state(tmp_path: Path) -> None:
    folder = tmp_path / "not-a-run"
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "coupadl", "report", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == ExitCode.USAGE
    output = " ".join((done.stdout + done.stderr).split())  # rich wraps long lines
    assert "E_NO_RUN_STATE" in output and "no run state" in output
    assert "Traceback" not in output
    assert list(folder.iterdir()) == []  # nothing created there
