"""The library API for a whole run: spreadsheet in, folders, results and report out.

:func:`run_batch` reads the input, skips what earlier runs finished, processes the
rest (one browser, or the persistent worker pool), records each PO in the run state
the moment it finishes, keeps the results spreadsheet current and writes the report.
Running it again with the same input and output folder resumes.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import filelock

from coupadl.errors import (
    ExitCode,
    OutputError,
    OutputUnavailableError,
)
from coupadl.execution.pool.reaper import kill_leftovers, tagged_run
from coupadl.execution.progress import RunProgress
from coupadl.files.space import DISK_FULL, STOP_CODES, output_error
from coupadl.models import POResult, POTask
from coupadl.reports.html_report import write_html_report
from coupadl.reports.json_report import REPORT_NAME, write_report
from coupadl.reports.outcome import RunOutcome, exit_code_for, workers_phrase
from coupadl.runs.executors import (
    Processed,
    engine_figures,
    grid_engine,
    process_tasks,
    run_mode,
)
from coupadl.runs.refresh import refresh_tasks, refreshed
from coupadl.settings import Settings
from coupadl.spreadsheet.reader import RunPlan, plan_rows, read_input
from coupadl.spreadsheet.writer import ResultsWriter
from coupadl.state.repair import repair_output
from coupadl.state.store import STATE_DIR_NAME, RunState

log = logging.getLogger(__name__)

ResultCallback = Callable[[POResult], None]
Reauth = Callable[[], list[dict[str, Any]]]


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold ``<out>/.coupadl/run.lock`` so two runs never write one folder at once."""
    lock_dir = out / STATE_DIR_NAME
    lock = filelock.FileLock(str(lock_dir / "run.lock"), timeout=0)
    try:
        lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock.acquire()
    except filelock.Timeout as exc:
        raise OutputError(
            f"Another coupadl run is using {out}. Wait for it to finish or use another --out."
        ) from exc
    except OSError as exc:
        raise output_error(exc, f"Cannot use the output folder {out}") from exc
    try:
        yield
    finally:
        lock.release()


@contextmanager
def _prepared_output(out: Path) -> Iterator[RunState]:
    """Lock ``out``, clear what a crashed run left there, and tag this run's processes
    (see state/repair.py and execution/pool/reaper.py)."""
    with output_lock(out):
        kill_leftovers(out)
        with RunState(out) as state, tagged_run(out):
            repair_output(out, state)
            yield state


class _Recorder:
    """Records each finished PO everywhere at once: state, results file, caller."""

    def __init__(
        self,
        state: RunState,
        writer: ResultsWriter,
        on_result: ResultCallback | None,
        monitor: RunProgress | None = None,
    ):
        self.state, self.writer, self.on_result = state, writer, on_result
        self.monitor = monitor
        self.by_status: Counter[str] = Counter()
        self.processed = 0
        self.recorded: set[str] = set()
        # --refresh: the POs read again; each keeps its earlier result if that fails.
        self.refreshing: set[str] = set()

    def record(self, result: POResult) -> None:
        if result.error_code in STOP_CODES:
            raise OutputUnavailableError(_unavailable(result), code=result.error_code)
        if result.po_number in self.refreshing:
            result = refreshed(self.state.get(result.po_number), result)
        self.state.record_result(result)
        self.writer.update(result)
        self.by_status[result.status.value] += 1
        self.processed += 1
        self.recorded.add(result.po_number)
        log.info(
            "PO%s %s%s (%d/%d files)",
            result.po_number,
            result.status.value,
            f" [{result.error_code}]" if result.error_code else "",
            result.attachments_downloaded,
            result.attachments_found,
        )
        if self.monitor is not None:
            self.monitor.po_finished(result)
        if self.on_result is not None:
            self.on_result(result)


def _unavailable(result: POResult) -> str:
    what = "is full" if result.error_code == DISK_FULL else "cannot be written"
    return (
        f"The output folder {what} ({result.message}). The run stopped; PO"
        f"{result.po_number} and the POs after it are still pending. Free some space (or "
        "make the folder writable), then run the same command again."
    )


def pending_tasks(plan: RunPlan, state: RunState, settings: Settings) -> tuple[list[POTask], int]:
    """The tasks this run processes, and how many POs earlier runs finished (with
    --refresh those are read again, as refresh tasks)."""
    if settings.refresh:
        tasks, refreshing = refresh_tasks(plan.tasks, state, settings)
        log.info("--refresh: %d finished POs are read again for new files", refreshing)
        return (tasks[: settings.limit] if settings.limit is not None else tasks), 0
    done = state.done_pos()
    tasks = [t for t in plan.tasks if t.po_number not in done]
    skipped = len(plan.tasks) - len(tasks)
    if settings.only_failed:
        # Not done, and queued by an earlier run: failed, partial, timed out, or left
        # pending by an interrupt. POs no run has queued yet wait for a normal run.
        known = state.known_pos()
        tasks = [t for t in tasks if t.po_number in known]
    if settings.limit is not None:
        tasks = tasks[: settings.limit]
    return tasks, skipped


@dataclass
class _Run:
    """One run's parts, from the lock to the reports."""

    input_path: Path
    settings: Settings
    plan: RunPlan
    state: RunState
    writer: ResultsWriter
    mode: str
    workers: int
    run_id: int
    started: float
    monitor: RunProgress | None


def run_batch(
    input_path: Path,
    settings: Settings,
    *,
    on_result: ResultCallback | None = None,
    interactive: bool = False,
    monitor: RunProgress | None = None,
) -> RunOutcome:
    """Process every PO of ``input_path`` that earlier runs did not finish.

    ``on_result`` is called with each PO's result as it is recorded; ``monitor`` (a
    :class:`coupadl.execution.progress.RunProgress`) follows the whole run: per-worker
    stages, counts, rate, notable events, interrupts."""
    settings.require_base_url()
    settings = grid_engine(settings)
    table = read_input(input_path)
    plan = plan_rows(table)
    started = time.time()
    with _prepared_output(settings.out) as state:
        tasks, skipped = pending_tasks(plan, state, settings)
        mode, workers = run_mode(settings, len(tasks))
        run_id = state.begin_run(str(input_path), mode)
        writer = ResultsWriter(table, plan, settings.out, settings.results_flush_seconds)
        for po in plan.rows_by_po:
            if (earlier := state.get(po)) is not None:
                writer.update(earlier)
        state.mark_pending(t.po_number for t in tasks)
        recorder = _Recorder(state, writer, on_result, monitor)
        recorder.refreshing = {t.po_number for t in tasks if t.earlier is not None}
        log.info(
            "%d POs to process (%d finished earlier, %d invalid rows), %s with %s",
            len(tasks), skipped, len(plan.invalid), mode, workers_phrase(mode, workers),
        )  # fmt: skip
        if monitor is not None:
            monitor.run_started(total=len(tasks), skipped=skipped, mode=mode, workers=workers)
        run = _Run(
            input_path, settings, plan, state, writer, mode, workers, run_id, started, monitor
        )
        progress = Processed()
        exit_code = ExitCode.INTERRUPTED
        output_gone = False
        try:
            progress = process_tasks(tasks, settings, workers, recorder, interactive)
            if progress.mode is not None:  # the run changed engine (auto: HTTP refused)
                run.mode, run.workers = progress.mode, progress.workers or run.workers
            exit_code = exit_code_for(recorder.by_status, progress.pending, progress.auth_stopped)
        except OutputUnavailableError:
            exit_code = ExitCode.OUTPUT_UNAVAILABLE
            output_gone = True  # the run's own error says what happened
            raise
        finally:
            report = _write_outputs(run, progress, exit_code, output_gone)
    return RunOutcome(
        exit_code=exit_code,
        out=settings.out,
        results_path=writer.path,
        report_path=report,
        mode=run.mode,
        workers=run.workers,
        processed=recorder.processed,
        skipped=skipped,
        pending=progress.pending,
        pool_startup_seconds=progress.pool_startup_seconds,
        invalid_rows=len(plan.invalid),
        by_status=recorder.by_status,
        elapsed=time.time() - started,
    )


def _write_outputs(run: _Run, progress: Processed, exit_code: ExitCode, output_gone: bool) -> Path:
    """The results file, report.json, the run's end in the state, report.html.

    On a full or read-only disk these fail too: the state DB keeps every recorded PO and
    the next run rewrites the rest, so that is logged; it is raised only when the run
    itself has not already failed for that reason."""
    state, out, started = run.state, run.settings.out, run.started
    try:
        run.writer.flush()
        results = [r for po in run.plan.rows_by_po if (r := state.get(po)) is not None]
        report = write_report(
            out,
            results,
            started_at=started,
            finished_at=time.time(),
            mode=run.mode,
            workers=run.workers,
            extra={
                "input": str(run.input_path),
                "pending": progress.pending,
                "pool_startup_seconds": progress.pool_startup_seconds,
                "invalid_rows": len(run.plan.invalid),
                # This run's, like the timings (the state DB keeps every run's).
                "retries": state.count_events("retry", since=started),
                "worker_restarts": state.count_events("restart", since=started),
                "rate_limit_pauses": state.count_events("rate_limited", since=started),
                "auth_pauses": state.count_events("paused_for_auth", since=started),
                **engine_figures(results, progress),
            },
        )
        state.end_run(run.run_id, int(exit_code))
        if run.monitor is not None:
            run.monitor.run_finished(int(exit_code))
        # After end_run: the state is whole even if this fails ('coupadl report' redoes it).
        write_html_report(
            out, results, started_at=started, finished_at=time.time(), mode=run.mode,
            workers=run.workers, pending=progress.pending,
        )  # fmt: skip
    except (OSError, sqlite3.Error, OutputError) as exc:
        log.error("could not write the results, reports or run state: %s", exc)
        if not output_gone:
            raise OutputError(f"Cannot write to {out}: {exc}") from exc
        return out / REPORT_NAME
    return report
