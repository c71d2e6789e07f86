"""--refresh: which finished POs a run reads again, and what it records of each.

A refresh task carries what earlier runs saved of its PO (:class:`~coupadl.models.Earlier`);
the per-PO flow fetches only the files that are new (:mod:`coupadl.engine.refresh`). A
refresh that never read the PO (its page failed, the session expired, the server said
"not found" today) changes nothing on disk, so its PO keeps the earlier result, with the
refresh's error in the message: the files already downloaded stay the PO's record, and
the next refresh tries again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from coupadl.errors import ConfigError
from coupadl.models import Earlier, POResult, POTask
from coupadl.settings import Settings
from coupadl.state.store import RunState

log = logging.getLogger(__name__)


def refresh_tasks(
    tasks: Sequence[POTask], state: RunState, settings: Settings
) -> tuple[list[POTask], int]:
    """``tasks`` with every PO an earlier run finished as done turned into a refresh
    task; the others stay as they are (a refresh resumes unfinished POs as any run
    does). Also how many were turned."""
    if settings.only_failed:
        raise ConfigError(
            "--refresh reads the finished POs again and --only-failed leaves them out: "
            "use one of them."
        )
    done = state.done_pos()
    out: list[POTask] = []
    for task in tasks:
        earlier = state.get(task.po_number) if task.po_number in done else None
        if earlier is None:
            out.append(task)
            continue
        folder = earlier.folder
        if folder is not None and folder.is_relative_to(state.out):
            # The dry run reads a copy of the state elsewhere: its folders are <out>'s.
            folder = settings.out / folder.relative_to(state.out)
        known = Earlier(earlier.status, tuple(earlier.files), folder)
        out.append(dataclasses.replace(task, earlier=known))
    return out, sum(t.earlier is not None for t in out)


def refreshed(earlier: POResult | None, result: POResult) -> POResult:
    """What to record of a refresh attempt: ``result`` when the refresh read the PO
    (it has ``last_refreshed``), else ``earlier`` with the refresh's error noted."""
    if earlier is None or result.last_refreshed or not earlier.status.is_done:
        return result
    log.warning(
        "PO%s: the refresh did not read the PO (%s %s); keeping what earlier runs saved",
        result.po_number, result.status.value, result.error_code,
    )  # fmt: skip
    note = f"refresh {result.status.value}: {result.message}".rstrip(": ")
    return dataclasses.replace(
        earlier,
        error_code=result.error_code,
        message=note,
        attempts=result.attempts,
        finished_at=result.finished_at,
        transient=False,
        retry_after=None,
    )
