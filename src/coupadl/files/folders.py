"""The folder of one PO: ``<out>/<levels...>/PO<number>__WORK`` while it is being
downloaded, then exactly one ``PO<number>_<STATUS>``.

The work folder is renamed, not copied, so a PO's final folder appears whole or
not at all. Folder levels are the supplier name, or the spreadsheet's columns
after a ``<|>`` marker; every level is sanitised and proven to stay inside ``<out>``.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from coupadl.files.names import safe_join
from coupadl.models import Status

log = logging.getLogger(__name__)

WORK_SUFFIX = "__WORK"
UNKNOWN_SUPPLIER = "_unknown_supplier"
# Hidden folder inside the work folder where each attachment gets its own staging dir.
STAGING_NAME = ".incoming"


def parent_dir(out: Path, levels: Sequence[str], supplier: str) -> Path:
    """Where the PO folder lives: under the given levels, else under the supplier."""
    parts = [level for level in levels if level.strip()] or [supplier or UNKNOWN_SUPPLIER]
    return safe_join(out, *parts)


def work_dir(parent: Path, po_number: str) -> Path:
    return parent / f"PO{po_number}{WORK_SUFFIX}"


def final_dir(parent: Path, po_number: str, status: Status) -> Path:
    return parent / f"PO{po_number}_{status.value}"


def final_dirs_of(parent: Path, po_number: str) -> list[Path]:
    """Final folders this PO already has under ``parent`` (from an earlier run)."""
    prefix = f"PO{po_number}_"
    if not parent.is_dir():
        return []
    return [
        p
        for p in parent.iterdir()
        if p.is_dir()
        and p.name.startswith(prefix)
        and not p.name.endswith(WORK_SUFFIX)
        and p.name[len(prefix) :].isupper()
    ]


def prepare_work_dir(parent: Path, po_number: str) -> Path:
    """An empty work folder; leftovers of an interrupted attempt are discarded."""
    work = work_dir(parent, po_number)
    if work.exists():
        log.info(
            "PO%s: discarding an unfinished download folder from an earlier attempt", po_number
        )
        shutil.rmtree(work)
    for _ in range(3):
        try:
            work.mkdir(parents=True)
            break
        except FileNotFoundError:
            # Another worker pruned the (then empty) supplier folder between our
            # creating it and the work folder in it: create both again.
            log.debug("PO%s: parent folder vanished while creating %s", po_number, work)
    else:
        work.mkdir(parents=True)
    return work


def prune_empty(folder: Path, root: Path) -> None:
    """Remove ``folder`` and its parents below ``root`` while they are empty: a supplier
    folder made for a PO that ended with no file must not stay behind."""
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:  # not empty (another PO's folder is in it), or already gone
            return
        log.debug("removed the empty folder %s", folder)
        folder = folder.parent


def finalize(work: Path, po_number: str, status: Status) -> Path | None:
    """Rename the work folder to its final name; remove it when it holds no file.

    An older final folder of the same PO (say ``_PARTIAL`` from a previous run) is
    replaced, so each PO has exactly one folder.
    """
    shutil.rmtree(work / STAGING_NAME, ignore_errors=True)
    if not any(work.iterdir()):
        work.rmdir()
        return None
    target = final_dir(work.parent, po_number, status)
    for old in final_dirs_of(work.parent, po_number):
        log.info("PO%s: replacing the earlier folder %s", po_number, old.name)
        shutil.rmtree(old)
    os.replace(work, target)
    return target


def join_folder(work: Path, folder: Path | None, po_number: str, status: Status) -> Path | None:
    """A refresh's new files (in ``work``) moved into the PO's folder from an earlier
    run, which is then named for ``status``. With no earlier folder ``work`` becomes
    the PO's folder, as in :func:`finalize`. Earlier files are never replaced."""
    if folder is None or not folder.is_dir():
        return finalize(work, po_number, status)
    shutil.rmtree(work / STAGING_NAME, ignore_errors=True)
    for path in sorted(work.iterdir()):
        target = folder / path.name
        if target.exists():
            # New downloads never collide (their names avoid the folder's), but a PDF
            # made from a new .msg may be named like an earlier file: keep the earlier.
            log.warning("PO%s: %s is in its folder already; kept as it was", po_number, path.name)
            path.unlink()
            continue
        os.replace(path, target)
    work.rmdir()
    final = final_dir(folder.parent, po_number, status)
    if final != folder:
        log.info("PO%s: folder %s renamed to %s", po_number, folder.name, final.name)
        os.replace(folder, final)
    return final
