"""Compare a run's output folder with the simulator's manifest, file by file.

Used by ``coupadl demo`` to prove its result and by the tests as their oracle:
every expected file present once with the right size and sha256, exactly one
folder per PO that has files, the right status per PO, no stray files. Files made
from an expected ``.msg`` (its PDF, its embedded attachments: the naming rule of
:mod:`coupadl.files.convert.names`) are not stray: they are not the PO's attachments.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from coupadl.files.convert.names import is_derived_from_any
from coupadl.files.folders import final_dir, parent_dir
from coupadl.models import Status

# What a run writes besides the PO folders.
RUN_FILES = {"results.csv", "results.xlsx", "report.json", "report.html"}
STATE_DIR = ".coupadl"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _check_files(folder: Path, expected: list[Mapping[str, Any]], po: str) -> list[str]:
    problems = []
    on_disk = {p.name for p in folder.iterdir()}
    wanted = {f["name"] for f in expected}
    for name in sorted(on_disk - wanted):
        if is_derived_from_any(name, wanted):
            continue
        problems.append(f"PO{po}: unexpected file {name!r}")
    for entry in expected:
        path = folder / entry["name"]
        if not path.is_file():
            problems.append(f"PO{po}: missing file {entry['name']!r}")
        elif path.stat().st_size != entry["size"] or _sha256(path) != entry["sha256"]:
            problems.append(f"PO{po}: {entry['name']!r} differs from the server's file")
    return problems


def compare_with_manifest(
    out: Path, manifest: Mapping[str, Any], pos: Iterable[str] | None = None
) -> list[str]:
    """Problems found (empty when the output matches). ``pos`` limits the check."""
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    reported = {entry["po_number"]: entry for entry in report["pos"]}
    wanted_pos = list(pos) if pos is not None else list(manifest["pos"])
    problems: list[str] = []
    expected_paths: set[Path] = set()
    expected_names: dict[Path, list[str]] = {}  # per PO folder, for derived files
    for po in wanted_pos:
        truth = manifest["pos"][po]
        got = reported.get(po)
        if got is None:
            problems.append(f"PO{po}: not in report.json")
            continue
        if got["status"] != truth["status"]:
            problems.append(f"PO{po}: status {got['status']}, expected {truth['status']}")
        if not truth["files"]:
            continue
        folder = final_dir(parent_dir(out, (), truth["supplier"]), po, Status(truth["status"]))
        expected_paths.update(folder / f["name"] for f in truth["files"])
        expected_names[folder] = [f["name"] for f in truth["files"]]
        if not folder.is_dir():
            problems.append(f"PO{po}: folder {folder.relative_to(out)} missing")
            continue
        problems.extend(_check_files(folder, truth["files"], po))
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out)
        if relative.parts[0] == STATE_DIR or path.is_dir() or str(relative) in RUN_FILES:
            continue
        if path in expected_paths or is_derived_from_any(
            path.name, expected_names.get(path.parent, ())
        ):
            continue
        if pos is None or _po_of(relative) in wanted_pos:
            problems.append(f"stray file {relative}")
    return problems


def _po_of(relative: Path) -> str:
    folder = relative.parent.name
    return folder[2:].split("_", 1)[0] if folder.startswith("PO") else ""
