"""The expected outcome of a run: which files each PO should yield, its status, the manifest.

The manifest is the truth the tool's output is checked against (docs/architecture.md),
published at ``/__sim__/manifest`` and used by :mod:`coupadl.simulator.check`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from coupadl.simulator.data.api_data import manifest_entry
from coupadl.simulator.data.model import Dataset, Kind, PurchaseOrder, SimFile
from coupadl.simulator.data.saved_names import name_key
from coupadl.simulator.data.script_only import script_extra, script_only

FALLBACKS = ("never", "no_attachments", "no_pdf")
DEFAULT_FALLBACK = "no_pdf"


def _file_key(source: str, sim: SimFile) -> tuple[str, int]:
    """What the file's URL is made of: header items use /type/<id>, comments /file/<id>."""
    return ("type" if source.endswith("header") else "file", sim.file_id)


def fallback_applies(po_names: list[str], fallback: str) -> bool:
    """The requisition fallback rule of docs/architecture.md, on the PO's own names."""
    if fallback == "never":
        return False
    if fallback == "no_attachments":
        return not po_names
    if fallback == "no_pdf":
        return not any(name.lower().endswith(".pdf") for name in po_names)
    raise ValueError(f"unknown requisition fallback {fallback!r}; use one of {FALLBACKS}")


def expected_attachments(
    dataset: Dataset, po: PurchaseOrder, fallback: str = DEFAULT_FALLBACK
) -> list[tuple[str, SimFile]]:
    """(source, file) the tool should download for ``po``, in order, one per URL."""
    if not po.visible:
        return []
    listed = po.attachments.listed("header", "comment")
    requisition = dataset.requisitions.get(po.requisition_id or "")
    if requisition and fallback_applies([f.name for _, f in listed], fallback):
        listed += requisition.attachments.listed("requisition_header", "requisition_comment")
    seen: set[tuple[str, int]] = set()
    unique = []
    for source, sim in listed:
        key = _file_key(source, sim)
        if key not in seen:
            seen.add(key)
            unique.append((source, sim))
    return unique


def expected_status(po: PurchaseOrder, n_files: int) -> str:
    if po.kind is Kind.NOT_FOUND:
        return "PO_NOT_FOUND"
    if po.kind is Kind.DENIED:
        return "ACCESS_DENIED"
    return "COMPLETED" if n_files else "NO_ATTACHMENTS"


def _check_saved_names(po: str, files: list[dict[str, Any]]) -> None:
    """The data set's saved names are the truth only if no two of a PO are one name:
    a collision the generator did not plan (and state in a table) is its bug."""
    keys = [name_key(f["name"]) for f in files]
    if "" in keys or len(set(keys)) != len(keys):
        names = [f["name"] for f in files]
        raise ValueError(f"PO{po}: saved names missing or not unique: {names}")


def build_manifest(
    dataset: Dataset,
    *,
    base_url: str,
    credentials: Mapping[str, str],
    digest: Callable[[SimFile], tuple[int, str]],
    message: Callable[[SimFile], dict[str, Any] | None] = lambda sim: None,
    fallback: str | None = None,
    script_share: float = 0.0,
    extra_share: float = 0.0,
) -> dict[str, Any]:
    """The truth the tool's output is checked against (docs/architecture.md).

    ``message`` tells what is in a ``.msg`` file (see ``FileStore.message``): its
    entry then has a ``message``, which :mod:`coupadl.simulator.check` checks the
    PDF made from it and the file saved out of it against. ``script_share`` is the
    ``script_attachments_share`` knob: a PO whose page lists its files only through
    a script says so in ``script_attachments`` (its files are listed all the same);
    ``extra_share`` is ``script_extra_share``: a PO whose page adds its last header
    file by script says so in ``script_extra`` (that file is listed too). Each PO's
    ``api`` and ``api_extras`` are what the REST API shows of it (``data/api_data.py``)."""
    fallback = fallback or DEFAULT_FALLBACK
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown requisition fallback {fallback!r}; use one of {FALLBACKS}")
    pos: dict[str, Any] = {}
    for number, po in dataset.pos.items():
        files = []
        for source, sim in expected_attachments(dataset, po, fallback):
            size, sha256 = digest(sim)
            entry = {
                "name": sim.saved_name,
                "original_name": sim.name,
                "size": size,
                "sha256": sha256,
                "source": source,
            }
            content = message(sim)
            if content is not None:
                entry["message"] = content
            files.append(entry)
        _check_saved_names(number, files)
        status = expected_status(po, len(files))
        requisition = dataset.requisitions.get(po.requisition_id or "")
        api, api_extras = manifest_entry(dataset.seed, po, requisition)
        pos[number] = {
            "kind": po.kind.value,
            "status": status,
            "supplier": po.supplier,
            "supplier_folder": po.supplier_folder,
            "folder": f"{po.supplier_folder}/PO{number}_{status}" if files else None,
            "requisition": po.requisition_id,
            "script_attachments": script_only(dataset.seed, po, script_share),
            "script_extra": script_extra(dataset.seed, po, extra_share, script_share),
            "files": files,
            "api": api,
            "api_extras": api_extras,
        }
    return {
        "base_url": base_url.rstrip("/"),
        "credentials": dict(credentials),
        "requisition_fallback": fallback,
        "seed": dataset.seed,
        "pos": pos,
    }
