"""Repair what an interrupted run left in ``<out>``, before the next run starts.

Order of writes during a run (what makes this repair enough):

1. a PO is downloaded into ``PO<n>__WORK`` (attachments staged in ``.incoming``);
2. the work folder is renamed to its final name in one step;
3. only then is the PO recorded as finished in the state DB (one transaction).

The results file and reports are replaced atomically (files/atomic.py): a kill during
such a write leaves the old file whole plus a hidden temporary file, removed here.

A kill at any instant therefore leaves at worst a work folder (discarded here: the PO
is not finished, so it runs again) or a final folder of a PO that is not recorded as
finished (it runs again and its new folder replaces the old one). The repair also
re-opens a finished PO whose files are no longer all on disk, so the results never
claim a file that is not there. The results file and report are rewritten from the
state DB by every run, so they need nothing here.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from coupadl.files.atomic import is_temp_name
from coupadl.files.folders import WORK_SUFFIX, prune_empty
from coupadl.models import POResult
from coupadl.state.store import STATE_DIR_NAME, RunState

log = logging.getLogger(__name__)


@dataclass
class Repair:
    """What :func:`repair_output` changed."""

    work_folders_removed: list[Path] = field(default_factory=list)
    reopened: list[str] = field(default_factory=list)  # finished POs with files missing
    temp_files_removed: list[Path] = field(default_factory=list)  # of atomic writes


def find_work_folders(out: Path) -> list[Path]:
    """Every ``*__WORK`` folder under ``out`` (not looking inside them or the state)."""
    found: list[Path] = []
    for root, dirs, _files in os.walk(out):
        keep = []
        for name in dirs:
            if name.endswith(WORK_SUFFIX):
                found.append(Path(root) / name)
            elif not (root == str(out) and name == STATE_DIR_NAME):
                keep.append(name)
        dirs[:] = keep
    return sorted(found)


def missing_files(result: POResult) -> list[str]:
    """Names of the result's files that are not on disk with their recorded size."""
    if not result.files:
        return []
    if result.folder is None:
        return [f.name for f in result.files]
    missing = []
    for recorded in result.files:
        path = result.folder / recorded.name
        try:
            if path.stat().st_size != recorded.size:
                missing.append(recorded.name)
        except OSError:
            missing.append(recorded.name)
    return missing


def repair_output(out: Path, state: RunState) -> Repair:
    """Discard unfinished work folders and half-written results and reports, and
    re-open finished POs whose files are gone."""
    repair = Repair()
    # The results file and the reports are written in the output folder itself.
    for path in sorted(out.iterdir()):
        if path.is_file() and is_temp_name(path.name):
            log.info("removing %s, left by an interrupted write", path.name)
            path.unlink()
            repair.temp_files_removed.append(path)
    for folder in find_work_folders(out):
        log.info("discarding the unfinished download folder %s", folder.relative_to(out))
        shutil.rmtree(folder)
        prune_empty(folder.parent, out)
        repair.work_folders_removed.append(folder)
    done = state.done_pos()
    for result in state.results():
        if result.po_number not in done:
            continue
        missing = missing_files(result)
        if missing:
            log.warning(
                "PO%s was finished but %d of its files are missing (%s): downloading it again",
                result.po_number, len(missing), ", ".join(missing[:3]),
            )  # fmt: skip
            repair.reopened.append(result.po_number)
    if repair.reopened:
        state.mark_pending(repair.reopened)
    return repair
