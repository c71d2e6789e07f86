"""The simulator's own statement of the naming rules: its reviewed tables, its narrow
plain rule, its folders and derived-file rule, and the stricter manifest check.

The simulator states these rules apart from the client; the last tests of each group
hold both statements side by side, so a change to either one fails here first,
before any browser test.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from coupadl.files.convert.names import embedded_name, pdf_name_for
from coupadl.files.names import sanitize_folder, sanitize_name, unique_name
from coupadl.simulator.check import compare_with_manifest, read_statuses
from coupadl.simulator.data import Kind, build_dataset, build_manifest, expected_attachments
from coupadl.simulator.data.saved_names import (
    DUPLICATE_SAVED,
    HOSTILE_SAVED,
    SUPPLIER_FOLDERS,
    plain_saved_name,
    supplier_folder,
)
from coupadl.simulator.data.words import (
    HOSTILE_COMMENTS,
    HOSTILE_HEADER,
    SUPPLIER_NAMES,
    SUPPLIER_SPECIALS,
)
from coupadl.simulator.derived_names import is_derived

SEEDS = range(25)
FALLBACKS = ("never", "no_attachments", "no_pdf")


def _manifest(n_pos: int = 20, seed: int = 0, fallback: str = "no_pdf") -> dict[str, Any]:
    return build_manifest(
        build_dataset(n_pos, seed),
        base_url="http://sim",
        credentials={},
        digest=lambda sim: (sim.size_hint, f"{sim.file_id:064x}"),
        fallback=fallback,
    )


# --- the reviewed tables and the plain rule ----------------------------------------------


def test_every_hostile_name_has_a_reviewed_saved_name() -> None:
    assert set(HOSTILE_SAVED) == set(HOSTILE_HEADER) | set(HOSTILE_COMMENTS)


@pytest.mark.parametrize("name", sorted(HOSTILE_SAVED))
def test_the_plain_rule_refuses_every_hostile_name(name: str) -> None:
    with pytest.raises(ValueError, match="reviewed table"):
        plain_saved_name(name)


@pytest.mark.parametrize(
    ("name", "saved"),
    [
        ("Quote_1234.pdf", "Quote_1234.pdf"),
        ("Offer 7 (final).pdf", "Offer 7 (final).pdf"),
        ("Pedido_Me\u0301xico_1.txt", "Pedido_M\u00e9xico_1.txt"),  # NFD becomes NFC
        ("a" * 130 + ".docx", "a" * 115 + ".docx"),  # cut in the stem, extension kept
    ],
)
def test_plain_names(name: str, saved: str) -> None:
    assert plain_saved_name(name) == saved


def test_hostile_and_duplicate_pos_carry_the_tables_names() -> None:
    data = build_dataset(20, 3)
    hostile = next(po for po in data.pos.values() if po.kind is Kind.HOSTILE)
    assert [(f.name, f.saved_name) for _, f in expected_attachments(data, hostile)] == [
        (name, HOSTILE_SAVED[name]) for name in (*HOSTILE_HEADER, *HOSTILE_COMMENTS)
    ]
    duplicates = next(po for po in data.pos.values() if po.kind is Kind.DUPLICATES)
    listed = [(f.name, f.saved_name) for _, f in expected_attachments(data, duplicates)]
    stem = listed[0][0].rsplit(".", 1)[0]
    assert listed[:4] == [(p.format(stem=stem), s.format(stem=stem)) for p, s in DUPLICATE_SAVED]


def test_supplier_folders() -> None:
    assert supplier_folder('ACME/Nordic: "Parts"-0012345678') == "ACME_Nordic_ _Parts_-0012345678"
    assert supplier_folder("São Paulo Industrial Ltda.-0000000001") == (
        "São Paulo Industrial Ltda.-0000000001"
    )
    assert supplier_folder("") == "_unknown_supplier"
    with pytest.raises(ValueError, match="reviewed table"):
        supplier_folder("Nordic/Parts AB-0000000001")
    hostile = {n for n in (*SUPPLIER_SPECIALS, *SUPPLIER_NAMES) if "/" in n or ":" in n}
    assert hostile == set(SUPPLIER_FOLDERS)


@pytest.mark.parametrize("seed", SEEDS)
def test_manifest_names_and_folders_are_the_data_sets(seed: int) -> None:
    data = build_dataset(40, seed)
    for fallback in FALLBACKS:
        truth = _manifest(40, seed, fallback)["pos"]
        for number, po in data.pos.items():
            files = expected_attachments(data, po, fallback)
            assert [f["name"] for f in truth[number]["files"]] == [f.saved_name for _, f in files]
            folder = truth[number]["folder"]
            if files:
                assert folder == f"{po.supplier_folder}/PO{number}_COMPLETED"
            else:
                assert folder is None


@pytest.mark.parametrize("seed", SEEDS)
def test_the_client_names_files_and_folders_as_the_simulator_expects(seed: int) -> None:
    """Both statements of the rules agree on every name of the data set."""
    data = build_dataset(40, seed)
    for po in data.pos.values():
        if po.visible:
            assert sanitize_folder(po.supplier) == po.supplier_folder
        for fallback in FALLBACKS:
            taken: set[str] = set()
            for _, sim in expected_attachments(data, po, fallback):
                assert unique_name(sanitize_name(sim.name), taken) == sim.saved_name


# --- files made from a .msg --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "derived"),
    [
        ("RE_ Quote 12.pdf", True),
        ("re_ quote 12.PDF", True),
        ("RE_ Quote 12 - drawing.dwg", True),
        ("RE_ Quote 12 - FW_ inner - scan.tif", True),
        ("RE_ Quote 12.txt", False),
        ("RE_ Quote 123.pdf", False),
        ("Other.pdf", False),
    ],
)
def test_derived_from_a_msg(name: str, derived: bool) -> None:
    assert is_derived(name, ["Notes.txt", "RE_ Quote 12.msg"]) is derived
    assert not is_derived(name, ["RE_ Quote 12.txt"])


@pytest.mark.parametrize("msg", ["RE_ Quote 12.msg", "W" * 70 + ".msg", "Ülçü " * 30 + "x.msg"])
def test_the_client_derives_names_the_simulator_recognises(msg: str) -> None:
    msg = sanitize_name(msg)
    assert is_derived(pdf_name_for(msg), [msg])
    assert is_derived(embedded_name(msg, "scan.tif"), [msg])
    assert not is_derived("scan.tif", [msg])


# --- the check ---------------------------------------------------------------------------


def _write_run(out: Path, truth: dict[str, Any], statuses: dict[str, str] | None = None) -> None:
    """Write what a correct run of ``truth`` writes: folders, files, results.csv."""
    for entry in truth["pos"].values():
        for f in entry["files"]:
            path = out / entry["folder"] / f["name"]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(f["name"].encode())
    rows = [f"PO{n},{(statuses or {}).get(n, e['status'])}" for n, e in truth["pos"].items()]
    (out / "results.csv").write_text("PO_NUMBER,STATUS\n" + "\n".join(rows) + "\n", "utf-8-sig")
    (out / "report.json").write_text(json.dumps({"pos": []}), encoding="utf-8")


def _bytes_manifest() -> dict[str, Any]:
    truth = _manifest(12, 5)
    for entry in truth["pos"].values():
        for f in entry["files"]:
            f["size"] = len(f["name"].encode())
            f["sha256"] = hashlib.sha256(f["name"].encode()).hexdigest()
    return truth


def test_a_correct_output_matches(tmp_path: Path) -> None:
    truth = _bytes_manifest()
    _write_run(tmp_path, truth)
    assert compare_with_manifest(tmp_path, truth) == []
    assert read_statuses(tmp_path / "results.csv")["16928000"] == {"COMPLETED"}


def test_status_comes_from_the_folder_and_the_results_not_the_report(tmp_path: Path) -> None:
    truth = _bytes_manifest()
    completed = next(n for n, e in truth["pos"].items() if e["files"])
    empty = next(n for n, e in truth["pos"].items() if e["status"] == "NO_ATTACHMENTS")
    _write_run(tmp_path, truth, {empty: "FAILED"})
    folder = tmp_path / truth["pos"][completed]["folder"]
    folder.rename(folder.with_name(f"PO{completed}_PARTIAL"))
    relative = Path(truth["pos"][completed]["folder"])
    assert compare_with_manifest(tmp_path, truth) == [
        f"PO{empty}: status FAILED in results.csv, expected NO_ATTACHMENTS",
        f"PO{completed}: folder {relative.with_name(f'PO{completed}_PARTIAL')} "
        f"(status PARTIAL), expected {relative}",
        f"PO{completed}: folder {relative} missing",
    ] + [
        f"stray file {relative.with_name(f'PO{completed}_PARTIAL') / f['name']}"
        for f in sorted(truth["pos"][completed]["files"], key=lambda f: f["name"])
    ]


def test_stray_files_are_found_outside_the_pos_checked(tmp_path: Path) -> None:
    truth = _bytes_manifest()
    _write_run(tmp_path, truth)
    with_files = [n for n, e in truth["pos"].items() if e["files"]]
    other = truth["pos"][with_files[1]]
    stray = Path(other["folder"]) / other["files"][0]["name"]
    assert compare_with_manifest(tmp_path, truth, with_files[:1]) == sorted(
        f"stray file {Path(other_entry['folder']) / f['name']}"
        for n, other_entry in truth["pos"].items()
        if n != with_files[0]
        for f in other_entry["files"]
    )
    assert f"stray file {stray}" in compare_with_manifest(tmp_path, truth, with_files[:1])


def test_a_wrong_name_or_supplier_folder_is_a_mismatch(tmp_path: Path) -> None:
    truth = _bytes_manifest()
    _write_run(tmp_path, truth)
    number = next(n for n, e in truth["pos"].items() if e["kind"] == "duplicates")
    folder = tmp_path / truth["pos"][number]["folder"]
    name = truth["pos"][number]["files"][1]["name"]  # "<stem> (1).pdf"
    (folder / name).rename(folder / name.replace(" (1)", "_1"))
    problems = compare_with_manifest(tmp_path, truth)
    assert f"PO{number}: missing file {name!r}" in problems
    moved = tmp_path / "elsewhere"
    folder.parent.rename(moved)
    assert f"PO{number}: folder {truth['pos'][number]['folder']} missing" in (
        compare_with_manifest(tmp_path, truth)
    )


def test_statuses_are_read_from_a_results_workbook_too(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["Region", "po_number", "Status"], ["EMEA", "pm123", "COMPLETED"], ["x", "", ""]):
        sheet.append(row)
    book.save(tmp_path / "results.xlsx")
    assert read_statuses(tmp_path / "results.xlsx") == {"123": {"COMPLETED"}}
