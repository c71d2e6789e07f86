"""Report on a finished or interrupted run from its state alone (``coupadl report OUT``).

Everything comes from ``<OUT>/.coupadl/state.db``; nothing is fetched and nothing is
changed except ``report.html``, which is written again. The summary is the one the
run printed at its end: the last run's POs by status, the POs earlier runs finished,
the POs left pending.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from coupadl.errors import ExitCode, NoRunStateError
from coupadl.reports.html_report import write_html_report
from coupadl.reports.json_report import REPORT_NAME
from coupadl.reports.outcome import RunOutcome
from coupadl.spreadsheet.reader import EXCEL_EXTENSIONS
from coupadl.state.store import DB_NAME, STATE_DIR_NAME, RunRecord, RunState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StateReport:
    """The summary of the last run into a folder, and the report page written for it."""

    outcome: RunOutcome
    html_path: Path


def _exit_code(run: RunRecord) -> ExitCode:
    if run.exit_code is None:
        # end_run runs in a finally: only a killed process (or a run still going) skips it.
        log.info("run %d never recorded its end: killed, or still running", run.id)
        return ExitCode.INTERRUPTED
    try:
        return ExitCode(run.exit_code)
    except ValueError:
        log.warning("run %d ended with unknown exit code %s", run.id, run.exit_code)
        return ExitCode.INTERNAL_ERROR


def report_from_state(out: Path) -> StateReport:
    """Summarise the last run into ``out`` and (re)write ``<out>/report.html``.

    Raises :class:`NoRunStateError` when ``out`` holds no run state; the folder is
    left untouched then (no state database is created).
    """
    out = Path(out)
    state_path = out / STATE_DIR_NAME / DB_NAME
    if not state_path.is_file():
        where = "does not exist" if not out.exists() else f"has no run state ({state_path})"
        raise NoRunStateError(
            f"{out} {where}: it is not the output folder of a coupadl run. "
            "Give the --out folder of a run."
        )
    with RunState(out) as state:
        run = state.last_run()
        results = state.results()
        pending = state.unfinished()
    if run is None:
        raise NoRunStateError(f"{out} has run state but no run was ever started in it.")

    this_run = [r for r in results if r.finished_at >= run.started_at]
    pending_set = set(pending)
    skipped = sum(
        1
        for r in results
        if r.finished_at < run.started_at and r.status.is_done and r.po_number not in pending_set
    )
    ended = run.finished_at or max((r.finished_at for r in this_run), default=run.started_at)
    # The state has no worker count: the workers that finished a PO are the ones that ran.
    workers = len({r.worker for r in this_run if r.worker}) or 1
    results_name = (
        "results.xlsx" if Path(run.input_path).suffix.lower() in EXCEL_EXTENSIONS else "results.csv"
    )
    html_path = write_html_report(
        out,
        results,
        started_at=run.started_at,
        finished_at=ended,
        mode=run.mode,
        workers=workers,
        pending=pending,
    )
    outcome = RunOutcome(
        exit_code=_exit_code(run),
        out=out,
        results_path=out / results_name,
        report_path=out / REPORT_NAME,
        mode=run.mode,
        workers=workers,
        processed=len(this_run),
        skipped=skipped,
        pending=pending,
        by_status=Counter(r.status.value for r in this_run),
        elapsed=max(0.0, ended - run.started_at),
    )
    return StateReport(outcome, html_path)
