"""The manifest check of what a run makes from the simulator's Outlook messages.

The output is made as a run makes it (the simulator's bytes, the client's converter),
then spoiled one way at a time: each spoiling must be reported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from coupadl.files.convert.msg_pdf import convert_msg
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.data import (
    Dataset,
    SimFile,
    build_dataset,
    build_manifest,
    expected_attachments,
)
from coupadl.simulator.files import FileStore, file_bytes


@pytest.fixture(scope="module")
def run() -> tuple[dict[str, Any], Dataset]:
    dataset = build_dataset(20, 3)
    store = FileStore()
    truth = build_manifest(
        dataset, base_url="http://sim", credentials={}, digest=store.digest, message=store.message
    )
    return truth, dataset


def _po_with_msg(truth: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    for number, entry in truth["pos"].items():
        for f in entry["files"]:
            if f.get("message") and not f["name"].lower().endswith(".pdf"):
                return number, f
    raise AssertionError("the data set has no PO with a .msg")


def _write(out: Path, truth: dict[str, Any], dataset: Dataset, convert: bool) -> None:
    """What a correct run writes: every file, the .msg conversions, results.csv."""
    for number, entry in truth["pos"].items():
        folder = out / str(entry["folder"])
        for _, sim in expected_attachments(dataset, dataset.pos[number]):
            folder.mkdir(parents=True, exist_ok=True)
            (folder / sim.saved_name).write_bytes(file_bytes(sim))
        for f in entry["files"]:
            if convert and f.get("message"):
                convert_msg(folder / f["name"])
    rows = [f"PO{n},{e['status']}" for n, e in truth["pos"].items()]
    (out / "results.csv").write_text("PO_NUMBER,STATUS\n" + "\n".join(rows) + "\n", "utf-8")
    (out / "report.json").write_text(json.dumps({"pos": []}), encoding="utf-8")


def _paths(out: Path, truth: dict[str, Any], number: str, f: dict[str, Any]) -> tuple[Path, Path]:
    folder = out / truth["pos"][number]["folder"]
    stem = f["name"][: -len(".msg")]
    return folder / f"{stem}.pdf", folder / f"{stem} - {f['message']['attachment_name']}"


def test_a_converted_run_matches_and_each_spoiling_is_found(run: Any, tmp_path: Path) -> None:
    truth, dataset = run
    _write(tmp_path, truth, dataset, convert=True)
    assert compare_with_manifest(tmp_path, truth) == []
    number, f = _po_with_msg(truth)
    pdf, saved = _paths(tmp_path, truth, number, f)
    assert pdf.is_file() and saved.is_file()

    original = saved.read_bytes()
    saved.write_bytes(original[:-1] + b"!")
    assert compare_with_manifest(tmp_path, truth) == [
        f"PO{number}: {saved.name!r} differs from the message's attachment"
    ]
    saved.unlink()
    assert compare_with_manifest(tmp_path, truth) == [
        f"PO{number}: attachment {saved.name!r} of {f['name']!r} not saved"
    ]
    saved.write_bytes(original)

    # A PDF of the right name that does not hold the message: the simulator's own PDF.
    pdf.write_bytes(file_bytes(SimFile(1, "other.pdf", "pdf", 4000, 5)))
    assert compare_with_manifest(tmp_path, truth) == [
        f"PO{number}: {pdf.name!r} lacks the message's subject",
        f"PO{number}: {pdf.name!r} lacks the message's body",
    ]
    pdf.unlink()
    assert compare_with_manifest(tmp_path, truth) == [
        f"PO{number}: no PDF {pdf.name!r} made from {f['name']!r}"
    ]


def test_a_file_that_merely_looks_derived_is_stray(run: Any, tmp_path: Path) -> None:
    truth, dataset = run
    _write(tmp_path, truth, dataset, convert=True)
    number, f = _po_with_msg(truth)
    pdf, _ = _paths(tmp_path, truth, number, f)
    lookalike = pdf.with_name(f"{f['name'][: -len('.msg')]} - notes.txt")
    lookalike.write_text("not in the message")
    relative = lookalike.relative_to(tmp_path)
    assert compare_with_manifest(tmp_path, truth) == [
        f"PO{number}: unexpected file {lookalike.name!r}",
        f"stray file {relative}",
    ]


def test_without_conversion_nothing_may_be_made(run: Any, tmp_path: Path) -> None:
    truth, dataset = run
    _write(tmp_path, truth, dataset, convert=False)
    assert compare_with_manifest(tmp_path, truth, convert=False) == []
    problems = compare_with_manifest(tmp_path, truth)
    number, f = _po_with_msg(truth)
    pdf, _ = _paths(tmp_path, truth, number, f)
    assert f"PO{number}: no PDF {pdf.name!r} made from {f['name']!r}" in problems

    _write(tmp_path, truth, dataset, convert=True)
    pdf, saved = _paths(tmp_path, truth, number, f)
    problems = compare_with_manifest(tmp_path, truth, convert=False)
    assert f"PO{number}: {pdf.name!r} made although conversion is off" in problems
    assert f"PO{number}: {saved.name!r} made although conversion is off" in problems
