"""``coupadl run --dry-run``: what a run would download, without downloading it.

It signs in like a run (the saved profile's session), opens each PO the run would
process (the same choice: finished POs skipped, ``only_failed``, ``limit``), and walks
it through the run's own per-PO flow (:func:`coupadl.engine.flow.walk_po`) with a sink
that lists the files instead of downloading them (``dryrun_listing``). Nothing is
downloaded and nothing is written to the output folder: the listing goes to the caller.

The engine is the run's: ``http`` and ``auto`` read pages over plain HTTP and ask each
size with a HEAD request (``dryrun_http``); ``browser``, and ``auto`` when Coupa
refuses the session over plain HTTP, read them in one browser, whose page asks the
sizes (``dryrun_browser``); ``api`` lists from the REST API, sizes as its attachment
records name them (``dryrun_api``). A file whose size the tenant does not tell is listed
with an unknown size.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from coupadl.errors import PlainHttpRefusedError
from coupadl.models import POTask
from coupadl.runs.dryrun_api import list_over_api
from coupadl.runs.dryrun_browser import list_in_browser
from coupadl.runs.dryrun_http import list_over_http
from coupadl.runs.dryrun_listing import (
    FILES,
    NEEDS_BROWSER,
    DryRunResult,
    PlannedFile,
    PlannedPO,
)
from coupadl.settings import EngineKind, Settings
from coupadl.spreadsheet.reader import RunPlan, plan_rows, read_input
from coupadl.state.store import DB_NAME, STATE_DIR_NAME, RunState

__all__ = ["FILES", "NEEDS_BROWSER", "DryRunResult", "PlannedFile", "PlannedPO", "dry_run"]

log = logging.getLogger(__name__)


def dry_run(
    input_path: Path,
    settings: Settings,
    *,
    on_po: Callable[[PlannedPO], None] | None = None,
) -> DryRunResult:
    """List what ``run_batch(input_path, settings)`` would download."""
    settings.require_base_url()
    plan = plan_rows(read_input(input_path))
    tasks, skipped = _select(plan, settings)
    result = DryRunResult([], skipped, len(plan.invalid))
    if not tasks:
        return result

    def listed(planned: PlannedPO) -> None:
        result.pos.append(planned)
        if on_po is not None:
            on_po(planned)

    if settings.engine is EngineKind.API:
        list_over_api(tasks, settings, listed)
        return result
    if settings.engine is not EngineKind.BROWSER:
        try:
            list_over_http(tasks, settings, listed)
            return result
        except PlainHttpRefusedError as exc:
            # Only in auto, and before any PO was listed (as a run switches engine).
            log.warning("%s: the dry run goes on with the browser engine", exc.message)
    list_in_browser(tasks, settings, listed)
    return result


def _select(plan: RunPlan, settings: Settings) -> tuple[list[POTask], int]:
    """The run's own choice of tasks. The run state is read from a copy: even opening
    the database in place would create files in the output folder."""
    from coupadl.runs.batch import pending_tasks

    db = settings.out / STATE_DIR_NAME / DB_NAME
    if db.is_file():
        with tempfile.TemporaryDirectory(prefix="coupadl-dry-run-") as scratch:
            copy = Path(scratch) / STATE_DIR_NAME
            copy.mkdir()
            for part in (db, db.with_name(DB_NAME + "-wal")):  # -wal: a run in progress
                if part.is_file():
                    shutil.copy2(part, copy / part.name)
            with RunState(Path(scratch)) as state:
                return pending_tasks(plan, state, settings)
    tasks = [] if settings.only_failed else list(plan.tasks)
    if settings.limit is not None:
        tasks = tasks[: settings.limit]
    return tasks, 0
