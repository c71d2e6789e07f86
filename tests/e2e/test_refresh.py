"""``coupadl run --refresh`` end to end, over the http, browser and API engines: files
added to POs after a first run (the simulator's ``add-attachment``) arrive, and nothing
else is fetched or touched. The oracles are the simulator's: its manifest (which
follows the added files) file by file, and its request counters (which files were
fetched, how often); the earlier files are checked by their inode and mtime."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coupadl.errors import ExitCode
from coupadl.runs.batch import run_batch
from coupadl.runs.dryrun import dry_run
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.server import SimulatorServer
from helpers import write_input

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

RUN_FILES = {"results.csv", "report.json", "report.html"}


@pytest.fixture(scope="module")
def sim(browser_ready: None) -> Iterator[Any]:
    """This module's own simulator: its tests add files to POs."""
    with SimulatorServer(n_pos=8, seed=11) as server:
        yield server


def _po_of(manifest: dict[str, Any], kind: str) -> str:
    return next(po for po, truth in manifest["pos"].items() if truth["kind"] == kind)


def _snapshot(out: Path) -> dict[Path, tuple[int, int]]:
    """Every file of the PO folders, with what a rewrite or a re-download would change."""
    return {
        path: (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in out.rglob("*")
        if path.is_file() and ".coupadl" not in path.parts and path.name not in RUN_FILES
    }


def _results(out: Path) -> dict[str, dict[str, str]]:
    with (out / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        return {row["PO_NUMBER"].removeprefix("PO"): row for row in csv.DictReader(handle)}


def _refresh_adds_exactly_the_new_files(
    sim: Any, make_settings: Any, tmp_path: Path, added: dict[str, str], **engine: Any
) -> None:
    """First run, ``added`` ({kind: file name}) attached to one PO of each kind, then a
    refresh: exactly those files fetched, everything else as it was; then a second
    refresh finds nothing."""
    extras = engine.get("engine") == "api"  # the API shows links and notes too
    pos = list(sim.manifest()["pos"])
    input_path = write_input(tmp_path / "in.csv", pos)
    settings = make_settings(**engine)
    assert run_batch(input_path, settings).exit_code is ExitCode.OK
    assert compare_with_manifest(settings.out, sim.manifest(), api_extras=extras) == []
    before = _snapshot(settings.out)

    manifest = sim.manifest()
    new = {_po_of(manifest, kind): sim.add_attachment(_po_of(manifest, kind), name)
           for kind, name in added.items()}  # fmt: skip
    refresh = make_settings(refresh=True, **engine)
    listed = dry_run(input_path, refresh)  # what the refresh would fetch: the new files
    assert {(p.po_number, f.name) for p in listed.pos for f in p.files} == {
        (po, f["saved_name"]) for po, f in new.items()
    }
    sim.reset_stats()
    assert run_batch(input_path, refresh).exit_code is ExitCode.OK

    assert compare_with_manifest(refresh.out, sim.manifest(), api_extras=extras) == []
    stats = sim.stats()
    assert stats["files"] == {str(f["file_id"]): 1 for f in new.values()}
    # Every finished PO read again: its page, or its API record's attachment lists.
    api_read = {
        key.split("/")[1] for key in stats.get("api", {}) if key.startswith("purchase_orders/")
    }
    assert (api_read if extras else set(stats["pos"])) == set(pos)
    after = _snapshot(refresh.out)
    moved = {p.relative_to(refresh.out).parts[-1]: s for p, s in after.items()}
    for path, (inode, mtime) in before.items():  # kept, though its folder may be renamed
        assert moved[path.name] == (inode, mtime), path
    rows = _results(refresh.out)
    for po in pos:
        wanted = new[po]["saved_name"] if po in new else ""
        assert rows[po]["NEW_FILES"] == wanted, po
        assert rows[po]["LAST_REFRESHED"], po

    sim.reset_stats()
    assert run_batch(input_path, refresh).exit_code is ExitCode.OK
    assert sim.stats()["files"] == {}
    assert all(row["NEW_FILES"] == "" for row in _results(refresh.out).values())
    assert compare_with_manifest(refresh.out, sim.manifest(), api_extras=extras) == []


def test_http_refresh_fetches_only_the_new_files(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    # A COMPLETED PO gets a second PDF; a PO with no attachments gets its first file
    # (its folder appears, its status becomes COMPLETED).
    added = {"both": "Delivery_note_December.pdf", "none": "Late_invoice.xlsx"}
    _refresh_adds_exactly_the_new_files(
        sim, make_settings, tmp_path, added, engine="http", concurrency=2
    )


def test_browser_refresh_fetches_only_the_new_files(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    added = {"comment": "Signed_order_confirmation.pdf"}
    _refresh_adds_exactly_the_new_files(
        sim, make_settings, tmp_path, added, engine="browser", workers=1
    )


def test_api_refresh_fetches_only_the_new_files(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    credentials = sim.manifest()["credentials"]
    api = {
        "engine": "api",
        "api_client_id": credentials["api_client_id"],
        "api_client_secret": credentials["api_client_secret"],
        "rate_limit_rps": 0,
        "concurrency": 2,
    }
    # Not a PDF: this PO has none, so its requisition's files stay expected (no_pdf).
    added = {"header": "Goods_receipt_note.xlsx"}
    _refresh_adds_exactly_the_new_files(sim, make_settings, tmp_path, added, **api)


def test_a_refresh_that_cannot_read_a_po_keeps_what_it_had(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    po = _po_of(sim.manifest(), "unicode")
    input_path = write_input(tmp_path / "in.csv", [po])
    settings = make_settings(engine="http", concurrency=1, max_retries=1)
    assert run_batch(input_path, settings).exit_code is ExitCode.OK
    before = _snapshot(settings.out)
    sim.add_attachment(po, "Invoice_late.pdf")

    # Every page answers 500 for this refresh: the PO is never read.
    sim.control(burst_500=50, fault_scope="pages")
    try:
        outcome = run_batch(input_path, make_settings(engine="http", refresh=True, max_retries=1))
    finally:
        sim.control(burst_500=0, fault_scope="all")

    assert outcome.exit_code is ExitCode.OK  # the PO is still complete: its files are all there
    assert _snapshot(settings.out) == before
    row = _results(settings.out)[po]
    assert row["STATUS"] == "COMPLETED" and row["NEW_FILES"] == "" and not row["LAST_REFRESHED"]
    assert row["ERROR_MESSAGE"].startswith("E_SERVER_ERROR: refresh FAILED"), row
    assert os.listdir(settings.out / sim.manifest()["pos"][po]["supplier_folder"]) == [
        f"PO{po}_COMPLETED"
    ]
