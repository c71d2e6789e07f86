"""The library API for a whole run: spreadsheet in, folders, results and report out.

:func:`run_batch` reads the input, skips what earlier runs finished, processes the
rest (one browser, or the persistent worker pool), records each PO in the run state
the moment it finishes, keeps the results spreadsheet current and writes the report.
Running it again with the same input and output folder resumes.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import filelock

from coupadl.coupa.status import error_for
from coupadl.coupa.urls import po_id_for_number, po_url
from coupadl.engine.browser.login import reauthenticator, require_base_profile
from coupadl.engine.browser.processor import BrowserHandler
from coupadl.engine.browser.profile import (
    clone_profile,
    ensure_not_locked,
    remove_clone,
    sweep_stale_clones,
)
from coupadl.errors import (
    AuthRequiredError,
    BrowserError,
    ExitCode,
    OutputError,
    OutputUnavailableError,
)
from coupadl.execution.interrupts import graceful_interrupts
from coupadl.execution.pool.reaper import kill_leftovers, tagged_run
from coupadl.execution.progress import RunEvent, RunProgress
from coupadl.execution.ratelimit import RateLimitGate
from coupadl.execution.retry import Decision, Verdict, judge, rate_limit_message
from coupadl.files.space import DISK_FULL, STOP_CODES, output_error
from coupadl.models import POResult, POTask, Status
from coupadl.reports.html_report import write_html_report
from coupadl.reports.json_report import write_report
from coupadl.reports.outcome import RunOutcome, exit_code_for
from coupadl.settings import Settings
from coupadl.spreadsheet.reader import RunPlan, plan_rows, read_input
from coupadl.spreadsheet.writer import ResultsWriter
from coupadl.state.repair import repair_output
from coupadl.state.store import RunState

log = logging.getLogger(__name__)

ResultCallback = Callable[[POResult], None]
Reauth = Callable[[], list[dict[str, Any]]]


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold ``<out>/.coupadl/run.lock`` so two runs never write one folder at once."""
    lock_dir = out / ".coupadl"
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

    def record(self, result: POResult) -> None:
        if result.error_code in STOP_CODES:
            raise OutputUnavailableError(_unavailable(result), code=result.error_code)
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


def _base_profile_clone(settings: Settings) -> Path:
    profile = require_base_profile(settings)
    ensure_not_locked(profile)
    if settings.profile_cleanup_on_start:
        sweep_stale_clones()  # what a crashed run left in the temp folder (as the pool does)
    return clone_profile(profile)


# A fresh session that is refused again at once will not get better by signing in more.
MAX_SIGN_INS_PER_PO = 2


@dataclass
class _Progress:
    """What the processing part of a run came to."""

    pending: list[str] = field(default_factory=list)
    auth_stopped: bool = False
    pool_startup_seconds: float | None = None


class _SequentialRun:
    """One browser, one PO after another, with the pool's rules: retries with backoff,
    a dead browser restarted (up to ``max_restarts``), re-sign-in when Coupa asks."""

    def __init__(self, settings: Settings, recorder: _Recorder, reauth: Reauth) -> None:
        self.settings, self.recorder, self.reauth = settings, recorder, reauth
        self.restarts = 0
        self.clone = _base_profile_clone(settings)
        self.handler = BrowserHandler("seq", settings, self.clone)
        self.monitor = recorder.monitor
        self.stop = threading.Event()  # set by a first Ctrl+C
        self.gate = RateLimitGate()  # after HTTP 429, as in the pool

    def run(self, tasks: Sequence[POTask]) -> _Progress:
        queue = deque(tasks)
        on_interrupt = self.monitor.interrupted if self.monitor is not None else None
        with graceful_interrupts(on_interrupt) as self.stop:
            try:
                if self.monitor is not None:
                    self.monitor.worker_state("seq", "starting")
                self.handler.start()
                while queue and not self.stop.is_set():
                    task = queue.popleft()
                    self.recorder.state.mark_running(task.po_number, "seq")
                    result = self._finish(task)
                    self.recorder.record(result)
                    if result.status is Status.AUTH_REQUIRED:
                        return _Progress([task.po_number, *(t.po_number for t in queue)], True)
            finally:
                self.handler.close()
                remove_clone(self.clone)
        if self.stop.is_set():
            raise KeyboardInterrupt  # as the pool does: exit 130 once the PO is recorded
        return _Progress()

    def _finish(self, task: POTask) -> POResult:
        """Attempts of one PO until its result is final (or sign-in is impossible)."""
        sign_ins = 0
        result, verdict = self._attempt(task)
        while verdict.decision in (Decision.RETRY, Decision.PAUSE_FOR_AUTH):
            if self.stop.is_set():
                return result  # Ctrl+C: no more attempts; a re-run retries it
            if verdict.decision is Decision.PAUSE_FOR_AUTH:
                sign_ins += 1
                self.recorder.state.record_event(task.po_number, "paused_for_auth")
                if not self._sign_in_again(sign_ins):
                    return result
            else:
                self._wait_before_retry(task, result, verdict.delay)
                task = POTask(task.po_number, task.folder_levels, task.attempt + 1)
            result, verdict = self._attempt(task)
        return result

    def _attempt(self, task: POTask) -> tuple[POResult, Verdict]:
        if (wait := self.gate.remaining()) > 0:
            self.stop.wait(wait)  # Coupa asked for a pause (429); a Ctrl+C ends it early
        result = self._process(task)
        verdict = judge(result, task.attempt, self.settings, self.gate)
        if verdict.pause_began is not None:
            self._announce_rate_limit(task, verdict.pause_began)
        return result, verdict

    def _announce_rate_limit(self, task: POTask, seconds: float) -> None:
        message = rate_limit_message(task.po_number, seconds)
        log.warning("%s", message)
        self.recorder.state.record_event(task.po_number, "rate_limited", message)
        self._event("rate_limited", message, task.po_number)

    def _process(self, task: POTask) -> POResult:
        try:
            if self.monitor is None:
                return self.handler.process(task)
            return self.handler.process(task, partial(self.monitor.stage, "seq", task.po_number))
        except BrowserError as exc:
            # The browser died: a new one, and this attempt counts as a transient failure.
            self.restarts += 1
            self.recorder.state.record_event(task.po_number, "restart", exc.message)
            self._event("restart", f"{exc.message}; new browser", task.po_number)
            if self.restarts > self.settings.max_restarts:
                raise
            log.warning("%s; starting a new browser", exc.message)
            self.handler.close()
            self.handler = BrowserHandler("seq", self.settings, self.clone)
            self.handler.start()
            code, message = error_for(Status.FAILED, exc.message)
            return POResult(task.po_number, Status.FAILED, code, message, transient=True)

    def _sign_in_again(self, sign_ins: int) -> bool:
        try:
            if sign_ins > MAX_SIGN_INS_PER_PO:
                raise AuthRequiredError("Coupa keeps asking to sign in again.")
            self.handler.session.import_cookies(self.reauth())
        except AuthRequiredError as exc:
            log.warning("%s The remaining POs stay pending.", exc.message)
            return False
        return True

    def _wait_before_retry(self, task: POTask, result: POResult, delay: float) -> None:
        log.info("PO%s: %s, retrying in %.1f s", task.po_number, result.status, delay)
        self.recorder.state.record_event(task.po_number, "retry", result.error_code)
        message = f"PO {task.po_number} attempt {task.attempt} ended {result.status}"
        self._event("retry", f"{message}; retry in {delay:.1f} s", task.po_number)
        time.sleep(delay)

    def _event(self, kind: str, message: str, po: str) -> None:
        if self.monitor is not None:
            self.monitor.event(RunEvent(kind, message, "seq", po))


def _run_sequential(
    tasks: Sequence[POTask], settings: Settings, recorder: _Recorder, reauth: Reauth
) -> _Progress:
    return _SequentialRun(settings, recorder, reauth).run(tasks)


def _run_pooled(
    tasks: Sequence[POTask],
    settings: Settings,
    workers: int,
    recorder: _Recorder,
    reauth: Reauth,
    interactive: bool,
) -> _Progress:
    """The worker pool; one browser instead (with a warning) if the pool cannot start."""
    from coupadl.execution.pool.run import run_pooled

    try:
        run = run_pooled(
            tasks,
            settings,
            workers,
            recorder.record,
            recorder.state,
            require_base_profile(settings),
            reauth=reauth,
            interactive=interactive,
            progress=recorder.monitor,
        )
    except BrowserError as exc:
        left = [t for t in tasks if t.po_number not in recorder.recorded]
        log.warning(
            "the worker pool failed (%s); going on with one browser for %d POs",
            exc.message,
            len(left),
        )
        return _run_sequential(left, settings, recorder, reauth)
    if run.auth_stopped:
        # As in the sequential path: the PO that met the sign-in page says so.
        for po in dict.fromkeys(run.auth_pos):
            recorder.record(_auth_required(po, settings))
    return _Progress(run.pending, run.auth_stopped, run.startup_seconds)


def _auth_required(po: str, settings: Settings) -> POResult:
    code, message = error_for(Status.AUTH_REQUIRED)
    now = time.time()
    url = po_url(settings.require_base_url(), po_id_for_number(po))
    return POResult(
        po, Status.AUTH_REQUIRED, code, message, url=url, started_at=now, finished_at=now
    )


def resolve_workers(settings: Settings, n_tasks: int) -> int:
    """How many browsers this run uses; 1 means the sequential path."""
    if n_tasks <= 1 or not settings.enable_parallel or not settings.use_persistent_pool:
        return 1
    if settings.workers == "auto":
        from coupadl.execution.pool.monitor import auto_worker_count_now

        return max(1, min(auto_worker_count_now(settings.max_workers), n_tasks))
    return max(1, min(int(settings.workers), n_tasks))


def pending_tasks(plan: RunPlan, state: RunState, settings: Settings) -> tuple[list[POTask], int]:
    """The tasks this run processes, and how many POs earlier runs finished."""
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
    :class:`coupadl.execution.progress.RunProgress`) follows the whole run: per-worker stages,
    counts, rate, notable events, interrupts (see coupadl/execution/progress.py)."""
    settings.require_base_url()
    table = read_input(input_path)
    plan = plan_rows(table)
    out = settings.out
    started = time.time()
    with _prepared_output(out) as state:
        tasks, skipped = pending_tasks(plan, state, settings)
        workers = resolve_workers(settings, len(tasks))
        mode = "sequential" if workers == 1 else "pool"
        run_id = state.begin_run(str(input_path), mode)
        writer = ResultsWriter(table, plan, out, settings.results_flush_seconds)
        for po in plan.rows_by_po:
            earlier = state.get(po)
            if earlier is not None:
                writer.update(earlier)
        state.mark_pending(t.po_number for t in tasks)
        recorder = _Recorder(state, writer, on_result, monitor)
        log.info(
            "%d POs to process (%d finished earlier, %d invalid rows), %s with %d browser(s)",
            len(tasks), skipped, len(plan.invalid), mode, workers,
        )  # fmt: skip
        if monitor is not None:
            monitor.run_started(total=len(tasks), skipped=skipped, mode=mode, workers=workers)
        progress = _Progress()
        exit_code = ExitCode.INTERRUPTED
        reauth = reauthenticator(settings, interactive)
        output_gone = False
        try:
            if tasks and workers == 1:
                progress = _run_sequential(tasks, settings, recorder, reauth)
            elif tasks:
                progress = _run_pooled(tasks, settings, workers, recorder, reauth, interactive)
            exit_code = exit_code_for(recorder.by_status, progress.pending, progress.auth_stopped)
        except OutputUnavailableError:
            exit_code = ExitCode.OUTPUT_UNAVAILABLE
            output_gone = True  # the run's own error says what happened
            raise
        finally:
            try:
                writer.flush()
                results = [r for po in plan.rows_by_po if (r := state.get(po)) is not None]
                report = write_report(
                    out,
                    results,
                    started_at=started,
                    finished_at=time.time(),
                    mode=mode,
                    workers=workers,
                    extra={
                        "input": str(input_path),
                        "pending": progress.pending,
                        "pool_startup_seconds": progress.pool_startup_seconds,
                        "invalid_rows": len(plan.invalid),
                        # This run's, like the timings (the state DB keeps every run's).
                        "retries": state.count_events("retry", since=started),
                        "worker_restarts": state.count_events("restart", since=started),
                        "rate_limit_pauses": state.count_events("rate_limited", since=started),
                        "auth_pauses": state.count_events("paused_for_auth", since=started),
                    },
                )
                state.end_run(run_id, int(exit_code))
                if monitor is not None:
                    monitor.run_finished(int(exit_code))
                # After end_run: the state is whole even if this fails ('coupadl report' redoes it).
                write_html_report(
                    out, results, started_at=started, finished_at=time.time(), mode=mode,
                    workers=workers, pending=progress.pending,
                )  # fmt: skip
            except (OSError, sqlite3.Error, OutputError) as exc:
                # A full or read-only disk fails these writes too. The state DB keeps
                # every recorded PO; the next run rewrites the results and reports.
                log.error("could not write the results, reports or run state: %s", exc)
                if not output_gone:
                    raise OutputError(f"Cannot write to {out}: {exc}") from exc
    return RunOutcome(
        exit_code=exit_code,
        out=out,
        results_path=writer.path,
        report_path=report,
        mode=mode,
        workers=workers,
        processed=recorder.processed,
        skipped=skipped,
        pending=progress.pending,
        pool_startup_seconds=progress.pool_startup_seconds,
        invalid_rows=len(plan.invalid),
        by_status=recorder.by_status,
        elapsed=time.time() - started,
    )
