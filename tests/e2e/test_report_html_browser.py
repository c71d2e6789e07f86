"""report.html as a person sees it: a real run against the simulator, then the page
opened from disk (file://) in real headless Chromium; and ``coupadl report OUT``.
Then the page of a generated 10,000-PO run, filtered, searched, sorted and paged
through its controls, checked against plain Python over the generated results."""

from __future__ import annotations

import math
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
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait
from typer.testing import CliRunner

from coupadl.cli.app import app
from coupadl.engine.browser.driver import start_driver
from coupadl.errors import ExitCode, suggested_action
from coupadl.models import POResult, Status
from coupadl.reports.html_report import write_html_report
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from helpers import write_input
from reportdata import (
    HOSTILE_SUPPLIER,
    SEARCH_WORD,
    UNICODE_SUPPLIER,
    GeneratedRun,
    generate_run,
    headless_chromium,
    time_to_interactive,
)

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
    # Hostile names stayed text: nothing ran but the page's own script, nothing was fetched.
    assert len(driver.find_elements(By.CSS_SELECTOR, "script")) == 2  # its data, its code
    assert not driver.find_elements(By.CSS_SELECTOR, "img, iframe")
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


# --- a 10,000-PO run ----------------------------------------------------------------------

BIG_SUPPLIER = "Supplier 000 S.A."  # the head of the generated long tail
PAGE = 100
# What the table shows, in one round trip: each row's cells and its file links.
_READ_ROWS = """
return Array.from(document.querySelectorAll("#rows tr")).map(tr => ({
  id: tr.id, cells: Array.from(tr.cells).map(td => td.innerText.trim()),
  files: Array.from(tr.cells[3].querySelectorAll("a")).map(a => [a.textContent, a.href]),
}));
"""


def _size(r: POResult) -> int:
    return sum(f.size for f in r.files)


def _searched(r: POResult, word: str) -> bool:
    """The search's rule: in "PO" + the number, or in a file name (case-insensitive)."""
    return word in f"po{r.po_number}".lower() or any(word in f.name.lower() for f in r.files)


def _check_rows(driver: WebDriver, expected: list[POResult]) -> None:
    shown = driver.execute_script(_READ_ROWS)
    assert [row["id"] for row in shown] == [f"po-{r.po_number}" for r in expected]
    for row, r in zip(shown, expected, strict=True):
        po, status, supplier = row["cells"][:3]
        assert (po, status, supplier) == (f"PO{r.po_number}", r.status.value, r.supplier)
        assert [name for name, _ in row["files"]] == [f.name for f in r.files]
        assert r.folder is not None
        for (name, link), f in zip(row["files"], r.files, strict=True):
            assert _path_of(link) == r.folder / f.name, name  # as the browser resolved it
    assert len(driver.find_elements(By.CSS_SELECTOR, "tr.po")) == len(expected) <= PAGE


def _page_info(driver: WebDriver) -> str:
    return str(driver.find_element(By.ID, "pageinfo").text)


def _summary_row(driver: WebDriver, supplier: str) -> Any:
    for row in driver.find_elements(By.CSS_SELECTOR, "table.suppliers tbody tr"):
        if row.find_element(By.TAG_NAME, "td").text == supplier:
            return row
    raise AssertionError(f"no summary line for {supplier!r}")


def _summary_line(driver: WebDriver, supplier: str) -> list[str]:
    return [c.text for c in _summary_row(driver, supplier).find_elements(By.TAG_NAME, "td")][1:]


def _expected_line(run: GeneratedRun, supplier: str) -> list[str]:
    mine = [r for r in run.results if r.supplier == supplier]
    problems = [r for r in mine if r.status not in (Status.COMPLETED, Status.NO_ATTACHMENTS)]
    files = [f for r in mine for f in r.files]
    mb = sum(f.size for f in files) / 2**20
    return [str(len(mine)), str(len(files)), f"{mb:.1f}", str(len(problems))]


def _filter_search_sort_page(driver: WebDriver, run: GeneratedRun) -> None:
    """Status and supplier filters, a search, a sort by size (descending), page 2."""
    results = run.results
    Select(driver.find_element(By.ID, "f-status")).select_by_value("COMPLETED")
    Select(driver.find_element(By.ID, "f-supplier")).select_by_visible_text(BIG_SUPPLIER)
    filtered = [r for r in results if r.status is Status.COMPLETED and r.supplier == BIG_SUPPLIER]
    _check_rows(driver, filtered[:PAGE])
    assert f"{len(filtered)} of {len(results)} POs" in _page_info(driver)

    driver.find_element(By.ID, "f-search").send_keys(SEARCH_WORD.upper())
    size_header = driver.find_element(By.CSS_SELECTOR, ".pos-table th button[data-key=size]")
    size_header.click()
    size_header.click()  # the second click: largest first
    driver.find_element(By.ID, "next").click()

    expected = [r for r in filtered if _searched(r, SEARCH_WORD)]
    expected = sorted(expected, key=_size, reverse=True)  # ties keep the input order
    assert len(expected) > PAGE, "the generated run must give the filters a page 2"
    pages = math.ceil(len(expected) / PAGE)
    assert _page_info(driver) == f"page 2 of {pages} · {len(expected)} of {len(results)} POs"
    _check_rows(driver, expected[PAGE : 2 * PAGE])


def _check_new_in_this_refresh(driver: WebDriver, run: GeneratedRun) -> None:
    """The section lists the POs a refresh added files to in this run (not before it);
    the table's "only POs with new files" shows those, each new file marked."""
    new = [r for r in run.results if any(f.added_at >= run.started_at for f in r.files)]
    listed = [e.get_attribute("id") for e in driver.find_elements(By.CSS_SELECTOR, "tr.refreshed")]
    assert len(new) == 20 and listed == [f"new-po-{r.po_number}" for r in new]
    driver.find_element(By.ID, "f-clear").click()
    driver.find_element(By.ID, "f-new").click()
    _check_rows(driver, new)
    marked = driver.find_elements(By.CSS_SELECTOR, "#rows .files li .new")
    assert len(marked) == sum(1 for r in new for f in r.files if f.added_at >= run.started_at)


@pytest.mark.browser
def test_report_html_at_10000_pos(
    browser_ready: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = generate_run(tmp_path / "out")
    page = write_html_report(
        run.out, run.results, started_at=run.started_at, finished_at=run.finished_at,
        mode="pool", workers=4,
    )  # fmt: skip
    size = page.stat().st_size
    assert size < 6 * 2**20

    driver = headless_chromium(tmp_path / "viewer-profile")
    try:
        figures = time_to_interactive(driver, page.as_uri())
        with capsys.disabled():  # a figure to read, never a pass/fail criterion
            print(  # noqa: T201
                f"\nreport.html at {len(run.results)} POs: {size / 2**20:.2f} MB, "
                f"time to interactive {figures['tti']:.0f} ms (first page "
                f"{figures['ready']:.0f} ms, filter {figures['filter']:.0f} ms)"
            )
        driver.get("about:blank")
        driver.get(page.as_uri())
        # Unfiltered: the first page, in input order, and no more rows than that.
        _check_rows(driver, run.results[:PAGE])
        assert _page_info(driver) == f"page 1 of 100 · {len(run.results)} of 10000 POs"
        _filter_search_sort_page(driver, run)

        for supplier in (HOSTILE_SUPPLIER, UNICODE_SUPPLIER):
            assert _summary_line(driver, supplier) == _expected_line(run, supplier)
        # A supplier's name in the summary shows its POs (the other filters cleared).
        driver.find_element(By.ID, "f-clear").click()
        _summary_row(driver, "Supplier 003 S.A.").find_element(
            By.CSS_SELECTOR, "button.sup"
        ).click()
        _check_rows(driver, [r for r in run.results if r.supplier == "Supplier 003 S.A."][:PAGE])

        # A failure link to a PO far down the input: its page is shown and the row marked.
        late = next(r for r in run.results[PAGE * 7 :] if r.status is Status.TIMEOUT)
        driver.find_element(
            By.CSS_SELECTOR, f'#fail-E_TIMEOUT a[href="#po-{late.po_number}"]'
        ).click()
        # The hashchange event comes as a task after the click.
        row = WebDriverWait(driver, 10).until(
            lambda d: d.find_element(By.ID, f"po-{late.po_number}")
        )
        assert "target" in (row.get_attribute("class") or "")
        at = run.results.index(late) // PAGE + 1
        assert _page_info(driver).startswith(f"page {at} of 100 ")

        _check_new_in_this_refresh(driver, run)
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert.text  # noqa: B018
    finally:
        driver.quit()
