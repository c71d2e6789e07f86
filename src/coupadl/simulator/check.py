"""Compare a run's output folder with the simulator's manifest, file by file.

Used by ``coupadl demo`` to prove its result and by the tests as their oracle. It
trusts nothing of the client: the expected names and folders are the manifest's own
(:mod:`coupadl.simulator.data.saved_names`), the status of a PO is read from its
folder's name and from the results file's STATUS column (not from the tool's report),
and the files made from an expected ``.msg`` are named by the simulator's own rule
(:mod:`coupadl.simulator.derived_names`) and checked by content
(:mod:`coupadl.simulator.check_msg`). Checked: every expected file present once with
the right size and sha256, exactly one folder per PO that has files and none for the
others, the right status per PO, each ``.msg``'s PDF holding its subject and body and
its attached file saved, and no stray file anywhere in the output.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from coupadl.simulator.check_msg import check_made, made_from
from coupadl.simulator.data.saved_names import name_key, supplier_folder
from coupadl.simulator.derived_names import is_derived

# What a run writes besides the PO folders.
RUN_FILES = {"results.csv", "results.xlsx", "report.json", "report.html"}
RESULTS_NAMES = ("results.csv", "results.xlsx")
STATE_DIR = ".coupadl"
_PO_FOLDER = re.compile(r"PO(\d+)_(.+)")  # PO<number>_<STATUS>, or PO<number>__WORK
_DELIMITERS = ",;\t|"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _undescribed(expected: list[Mapping[str, Any]]) -> list[str]:
    """Expected names whose derived files are known by the naming rule only (a
    ``.msg`` without a ``message`` in the manifest, as in hand-made manifests)."""
    return [f["name"] for f in expected if not f.get("message")]


def _made(expected: list[Mapping[str, Any]], convert: bool) -> list[str]:
    """The names a run makes from the PO's described ``.msg`` files."""
    downloads = {name_key(f["name"]) for f in expected}
    return [name for f in expected for name in made_from(f, downloads)] if convert else []


def _check_files(
    folder: Path,
    expected: list[Mapping[str, Any]],
    po: str,
    convert: bool,
    allowed: Iterable[Path] = (),
) -> list[str]:
    """``allowed``: files found otherwise (the API-only items), not unexpected."""
    problems = []
    on_disk = {p.name for p in folder.iterdir()} - {p.name for p in allowed}
    wanted = {f["name"] for f in expected}
    made = {name_key(name) for name in _made(expected, convert)}
    for name in sorted(on_disk - wanted):
        if name_key(name) in made or is_derived(name, _undescribed(expected)):
            continue
        problems.append(f"PO{po}: unexpected file {name!r}")
    downloads = {name_key(name) for name in wanted}
    for entry in expected:
        path = folder / entry["name"]
        if not path.is_file():
            problems.append(f"PO{po}: missing file {entry['name']!r}")
        elif path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            problems.append(f"PO{po}: {entry['name']!r} differs from the server's file")
        problems.extend(check_made(folder, entry, downloads, po, convert))
    return problems


def _po_folders(out: Path) -> dict[str, list[Path]]:
    """Every ``PO<n>_...`` folder in the output (relative), by PO number."""
    found: dict[str, list[Path]] = {}
    for path in sorted(out.rglob("PO*")):
        relative = path.relative_to(out)
        match = _PO_FOLDER.fullmatch(path.name)
        if match and path.is_dir() and relative.parts[0] != STATE_DIR:
            found.setdefault(match[1], []).append(relative)
    return found


def _expected_folder(po: str, truth: Mapping[str, Any]) -> Path | None:
    """Where the PO's files belong, relative to the output; None when it has none.
    From the manifest's supplier folder and status, so a caller may edit the status."""
    if not truth["files"]:
        return None
    parent = truth.get("supplier_folder") or supplier_folder(truth.get("supplier", ""))
    return Path(parent) / f"PO{po}_{truth['status']}"


def _check_folders(po: str, truth: Mapping[str, Any], found: list[Path]) -> list[str]:
    """The PO's folders, their names read as its status: exactly the expected one."""
    expected = _expected_folder(po, truth)
    problems = []
    for relative in found:
        if relative != expected:
            match = _PO_FOLDER.fullmatch(relative.name)
            status = match[2] if match else "?"
            want = expected or f"no folder ({truth['status']})"
            problems.append(f"PO{po}: folder {relative} (status {status}), expected {want}")
    return problems


def _table_rows(path: Path) -> list[list[Any]]:
    if path.suffix.lower() == ".xlsx":
        from openpyxl import load_workbook

        book = load_workbook(path, read_only=True)
        try:
            return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()
    text = path.read_text(encoding="utf-8-sig")
    header = text.splitlines()[0] if text else ""
    delimiter = max(_DELIMITERS, key=header.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def read_statuses(path: Path) -> dict[str, set[str]]:
    """PO number (the digits of its PO_NUMBER cell) -> the STATUS values of its rows."""
    rows = _table_rows(path)
    header = [str(cell or "").strip().casefold() for cell in (rows[0] if rows else [])]
    if "po_number" not in header or "status" not in header:
        raise ValueError(f"{path.name} has no PO_NUMBER and STATUS columns")
    po_col, status_col = header.index("po_number"), header.index("status")
    statuses: dict[str, set[str]] = {}
    for row in rows[1:]:
        cells = [str(cell or "") for cell in row] + [""] * len(header)
        number = re.sub(r"\D", "", cells[po_col])
        if number:
            statuses.setdefault(number, set()).add(cells[status_col])
    return statuses


def _results_file(out: Path, results: Path | None) -> Path | None:
    if results is not None:
        return results
    return next((out / n for n in RESULTS_NAMES if (out / n).is_file()), None)


def _check_results(path: Path, manifest: Mapping[str, Any], wanted_pos: list[str]) -> list[str]:
    try:
        statuses = read_statuses(path)
    except (OSError, ValueError) as exc:
        return [f"results file {path.name}: {exc}"]
    problems = []
    for po in wanted_pos:
        expected = manifest["pos"][po]["status"]
        got = statuses.get(po, set())
        if got != {expected}:
            shown = "/".join(sorted(got)) or "missing"
            problems.append(f"PO{po}: status {shown} in {path.name}, expected {expected}")
    return problems


def _stray_files(out: Path, expected: set[Path], names: Mapping[Path, list[str]]) -> list[str]:
    problems = []
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out)
        if relative.parts[0] == STATE_DIR or path.is_dir() or str(relative) in RUN_FILES:
            continue
        if path in expected or is_derived(path.name, names.get(path.parent, ())):
            continue
        problems.append(f"stray file {relative}")
    return problems


def _api_items(
    folder: Path, extras: list[Mapping[str, Any]], po: str
) -> tuple[set[Path], list[str]]:
    """The files of ``folder`` that hold the PO's API-only items (an ``AttachmentUrl`` as
    a ``.url`` shortcut naming its address, an ``AttachmentText`` as a ``.txt`` file of
    its text), found by content: how the engine names them is its own rule."""
    found: set[Path] = set()
    problems = []
    candidates = sorted(folder.glob("*")) if folder.is_dir() else []
    for extra in extras:
        if extra["type"] == "AttachmentUrl":
            wanted, suffix = f"URL={extra['url']}\r\n".encode(), ".url"
            match = [p for p in candidates if p.suffix == suffix and wanted in p.read_bytes()]
        else:
            wanted, suffix = str(extra["text"]).encode(), ".txt"
            match = [p for p in candidates if p.suffix == suffix and p.read_bytes() == wanted]
        match = [p for p in match if p not in found]
        if not match:
            problems.append(f"PO{po}: its {extra['type']} {extra['id']} has no {suffix} file")
            continue
        found.add(match[0])
    return found, problems


def compare_with_manifest(
    out: Path,
    manifest: Mapping[str, Any],
    pos: Iterable[str] | None = None,
    results: Path | None = None,
    *,
    convert: bool = True,
    api_extras: bool = False,
) -> list[str]:
    """Problems found (empty when the output matches).

    ``pos`` limits the POs checked; a file in ``out`` that is none of theirs is stray
    all the same. ``results`` is the results file to read statuses from (by default
    ``<out>/results.csv`` or ``results.xlsx`` when there is one). ``convert``: whether
    the run made PDFs of ``.msg`` files (``msg_to_pdf``). ``api_extras``: the run read
    the REST API, so each PO's API-only items must be there too.
    """
    wanted_pos = list(pos) if pos is not None else list(manifest["pos"])
    results_path = _results_file(out, results)
    problems = [] if results_path is None else _check_results(results_path, manifest, wanted_pos)
    folders = _po_folders(out)
    expected_paths: set[Path] = set()
    expected_names: dict[Path, list[str]] = {}  # per PO folder, for derived files
    for po in wanted_pos:
        truth = manifest["pos"][po]
        problems.extend(_check_folders(po, truth, folders.get(po, [])))
        relative = _expected_folder(po, truth)
        if relative is None:
            continue
        folder = out / relative
        expected_paths.update(folder / f["name"] for f in truth["files"])
        expected_paths.update(folder / name for name in _made(truth["files"], convert))
        expected_names[folder] = _undescribed(truth["files"])
        if not folder.is_dir():
            problems.append(f"PO{po}: folder {relative} missing")
            continue
        items: set[Path] = set()
        if api_extras:
            items, missing = _api_items(folder, truth.get("api_extras") or [], po)
            expected_paths.update(items)
            problems.extend(missing)
        problems.extend(_check_files(folder, truth["files"], po, convert, items))
    return problems + _stray_files(out, expected_paths, expected_names)
