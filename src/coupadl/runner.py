"""The library API for a whole run: spreadsheet in, folders, results and report out.

:func:`run_batch` reads the input, skips what earlier runs finished, processes the
rest (one browser, or the persistent worker pool), records each PO in the run state
the moment it finishes, keeps the results spreadsheet current and writes the report.
Running it again with the same input and output folder resumes.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import filelock

from coupadl.browser.profile import clone_profile, ensure_not_locked, remove_clone
from coupadl.coupa.status import error_for
from coupadl.coupa.urls import po_id_for_number, po_url
from coupadl.errors import AuthRequiredError, BrowserError, ExitCode, OutputError
from coupadl.login import reauthenticator, require_base_profile
from coupadl.models import POResult, POTask, Status
from coupadl.output.report import write_report
from coupadl.pool.retry import Decision, backoff_delay, decide
from coupadl.processor import BrowserHandler
from coupadl.settings import Settings
from coupadl.spreadsheet.reader import RunPlan, plan_rows, read_input
from coupadl.spreadsheet.writer import ResultsWriter
from coupadl.state.store import RunState

log = logging.getLogger(__name__)

ResultCallback = Callable[[POResult], None]
Reauth = Callable[[], list[dict[str, Any]]]


@dataclass
class RunOutcome:
    """What a run came to. ``exit_code`` is what the CLI exits with."""

    exit_code: ExitCode
    out: Path
    results_path: Path
    report_path: Path
    mode: str
    workers: int
    processed: int  # POs finished in this run
    skipped: int  # POs finished by earlier runs
    pending: list[str] = field(default_factory=list)
    invalid_rows: int = 0
    pool_startup_seconds: float | None = None
    by_status: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0


def exit_code_for(by_status: Counter[str], pending: Sequence[str], auth_stopped: bool) -> ExitCode:
    """The documented exit code for a run's outcome."""
    if auth_stopped:
        return ExitCode.AUTH_REQUIRED
    incomplete = {Status.FAILED, Status.PARTIAL, Status.TIMEOUT}
    if pending or any(by_status.get(s.value) for s in incomplete):
        return ExitCode.INCOMPLETE
    return ExitCode.OK


@contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """Hold ``<out>/.coupadl/run.lock`` so two runs never write one folder at once."""
    lock_dir = out / ".coupadl"
    lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = filelock.FileLock(str(lock_dir / "run.lock"), timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout as exc:
        raise OutputError(
            f"Another coupadl run is using {out}. Wait for it to finish or use another --out."
        ) from exc
    try:
        yield
    finally:
        lock.release()


class _Recorder:
    """Records each finished PO everywhere at once: state, results file, caller."""

    def __init__(self, state: RunState, writer: ResultsWriter, on_result: ResultCallback | None):
        self.state, self.writer, self.on_result = state, writer, on_result
        self.by_status: Counter[str] = Counter()
        self.processed = 0
        self.recorded: set[str] = set()

    def record(self, result: POResult) -> None:
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
        if self.on_result is not None:
            self.on_result(result)


def _base_profile_clone(settings: Settings) -> Path:
    profile = require_base_profile(settings)
    ensure_not_locked(profile)
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

    def run(self, tasks: Sequence[POTask]) -> _Progress:
        queue = deque(tasks)
        try:
            self.handler.start()
            while queue:
                task = queue.popleft()
                self.recorder.state.mark_running(task.po_number, "seq")
                result = self._finish(task)
                self.recorder.record(result)
                if result.status is Status.AUTH_REQUIRED:
                    return _Progress([task.po_number, *(t.po_number for t in queue)], True)
        finally:
            self.handler.close()
            remove_clone(self.clone)
        return _Progress()

    def _finish(self, task: POTask) -> POResult:
        """Attempts of one PO until its result is final (or sign-in is impossible)."""
        sign_ins = 0
        result = self._attempt(task)
        while (decision := decide(result, task.attempt, self.settings.max_retries)) in (
            Decision.RETRY,
            Decision.PAUSE_FOR_AUTH,
        ):
            if decision is Decision.PAUSE_FOR_AUTH:
                sign_ins += 1
                if not self._sign_in_again(sign_ins):
                    return result
            else:
                self._wait_before_retry(task, result)
                task = POTask(task.po_number, task.folder_levels, task.attempt + 1)
            result = self._attempt(task)
        return result

    def _attempt(self, task: POTask) -> POResult:
        try:
            return self.handler.process(task)
        except BrowserError as exc:
            # The browser died: a new one, and this attempt counts as a transient failure.
            self.restarts += 1
            self.recorder.state.record_event(task.po_number, "restart", exc.message)
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

    def _wait_before_retry(self, task: POTask, result: POResult) -> None:
        delay = backoff_delay(
            task.attempt, self.settings.retry_backoff, self.settings.retry_backoff_max
        )
        log.info("PO%s: %s, retrying in %.1f s", task.po_number, result.status, delay)
        self.recorder.state.record_event(task.po_number, "retry", result.error_code)
        time.sleep(delay)


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
    from coupadl.pool.run import run_pooled

    try:
        run = run_pooled(
            tasks,
            settings,
            workers,
            recorder.record,
            recorder.state,
            reauth=reauth,
            interactive=interactive,
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
        from coupadl.pool.monitor import auto_worker_count_now

        return max(1, min(auto_worker_count_now(settings.max_workers), n_tasks))
    return max(1, min(int(settings.workers), n_tasks))


def _pending_tasks(plan: RunPlan, state: RunState, settings: Settings) -> tuple[list[POTask], int]:
    done = state.done_pos()
    tasks = [t for t in plan.tasks if t.po_number not in done]
    skipped = len(plan.tasks) - len(tasks)
    if settings.limit is not None:
        tasks = tasks[: settings.limit]
    return tasks, skipped


def run_batch(
    input_path: Path,
    settings: Settings,
    *,
    on_result: ResultCallback | None = None,
    interactive: bool = False,
) -> RunOutcome:
    """Process every PO of ``input_path`` that earlier runs did not finish."""
    settings.require_base_url()
    table = read_input(input_path)
    plan = plan_rows(table)
    out = settings.out
    started = time.time()
    with output_lock(out), RunState(out) as state:
        tasks, skipped = _pending_tasks(plan, state, settings)
        workers = resolve_workers(settings, len(tasks))
        mode = "sequential" if workers == 1 else "pool"
        run_id = state.begin_run(str(input_path), mode)
        writer = ResultsWriter(table, plan, out, settings.results_flush_seconds)
        for po in plan.rows_by_po:
            earlier = state.get(po)
            if earlier is not None:
                writer.update(earlier)
        state.mark_pending(t.po_number for t in tasks)
        recorder = _Recorder(state, writer, on_result)
        log.info(
            "%d POs to process (%d finished earlier, %d invalid rows), %s with %d browser(s)",
            len(tasks), skipped, len(plan.invalid), mode, workers,
        )  # fmt: skip
        progress = _Progress()
        exit_code = ExitCode.INTERRUPTED
        reauth = reauthenticator(settings, interactive)
        try:
            if tasks and workers == 1:
                progress = _run_sequential(tasks, settings, recorder, reauth)
            elif tasks:
                progress = _run_pooled(tasks, settings, workers, recorder, reauth, interactive)
            exit_code = exit_code_for(recorder.by_status, progress.pending, progress.auth_stopped)
        finally:
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
                    "retries": state.count_events("retry"),
                    "worker_restarts": state.count_events("restart"),
                },
            )
            state.end_run(run_id, int(exit_code))
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
