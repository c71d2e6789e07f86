"""The inline executor: one worker in this process, one PO after another.

It follows the pool's rules, decided in the same places: after every attempt
:func:`coupadl.execution.retry.judge` says final, retry (after a backoff no shorter than a
429 pause) or pause for sign-in; a handler that raises is replaced (up to
``max_restarts``) and its attempt counts as a transient failure, as a pool worker's
does. Like the pool it knows no engine: the handler and the engine's prepare step come
in by their ``"module:callable"`` paths (:class:`coupadl.execution.handler.EngineSpec`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from coupadl.errors import AuthRequiredError, CoupadlError
from coupadl.execution.handler import (
    EngineSpec,
    Handler,
    HandlerFactory,
    failed_attempt,
    load_callable,
    load_factory,
)
from coupadl.execution.interrupts import graceful_interrupts
from coupadl.execution.progress import RunEvent, RunProgress
from coupadl.execution.ratelimit import RateLimitGate
from coupadl.execution.retry import MAX_SIGN_INS, Decision, Verdict, judge, rate_limit_message
from coupadl.models import POResult, POTask, Status
from coupadl.settings import Settings

log = logging.getLogger(__name__)

WORKER_ID = "seq"  # how the state, the events and the live view name the one worker

Reauth = Callable[[], Any]


class InlineState(Protocol):
    """What the executor tells the run state (``coupadl.state.store.RunState`` is one)."""

    def mark_running(self, po: str, worker: str) -> None: ...
    def record_event(self, po: str, kind: str, detail: str = "") -> None: ...


@dataclass
class InlineRun:
    pending: list[str] = field(default_factory=list)  # POs not finished: left pending
    auth_stopped: bool = False  # stopped because the session expired and nobody could sign in


def run_inline(
    tasks: Sequence[POTask],
    settings: Settings,
    record: Callable[[POResult], None],
    state: InlineState,
    base: Path | None,
    engine: EngineSpec,
    *,
    reauth: Reauth,
    progress: RunProgress | None = None,
) -> InlineRun:
    """Process ``tasks`` one after another with one handler of ``engine``, started on
    what the engine's prepare step made from ``base`` (the browser: a profile clone).

    ``record`` gets each final result. When the session expires, ``reauth()`` returns a
    fresh one (or raises :class:`AuthRequiredError`: the run stops, the rest pending).
    A first Ctrl+C/SIGTERM lets the PO in flight finish, then raises KeyboardInterrupt."""
    factory = load_factory(engine.handler_factory)
    prepare = load_callable(engine.prepare_factory)
    prepared = prepare(settings, base, None, 1, partial(export_session, factory, settings))
    try:
        worker = _InlineWorker(settings, factory, prepared.workdirs[0], prepared.session)
        return _Loop(settings, worker, record, state, reauth, progress).run(tasks)
    finally:
        prepared.release()


def export_session(factory: HandlerFactory, settings: Settings, workdir: Path) -> Any:
    """The session of a handler started on ``workdir``, for the prepare step (profile
    reuse off: every worker starts empty, with the signed-in seed's session)."""
    handler = factory("seed", settings, workdir, None)
    try:
        handler.start()
        return handler.export_session()
    finally:
        handler.close()


class _InlineWorker:
    """The one handler, replaced when it breaks (up to ``max_restarts`` times)."""

    def __init__(
        self, settings: Settings, factory: HandlerFactory, workdir: Path | None, session: Any
    ) -> None:
        self.settings, self.factory = settings, factory
        self.workdir, self.session = workdir, session
        self.restarts = 0
        self.handler: Handler = factory(WORKER_ID, settings, workdir, session)

    def replace(self, why: str) -> None:
        """A new handler for a broken one (the caller has checked ``max_restarts``)."""
        self.restarts += 1
        log.warning("%s; starting a new one", why)
        self.close()
        self.handler = self.factory(WORKER_ID, self.settings, self.workdir, self.session)
        self.handler.start()

    def new_session(self, session: Any) -> None:
        self.session = session  # a replaced handler starts with it too
        self.handler.import_session(session)

    def close(self) -> None:
        try:
            self.handler.close()
        except Exception as exc:  # noqa: BLE001 - a dead handler may fail to close
            log.warning("closing the handler failed: %s", exc)


class _Loop:
    """Dispatch, retries, 429 pauses and sign-in pauses for the one worker."""

    def __init__(
        self,
        settings: Settings,
        worker: _InlineWorker,
        record: Callable[[POResult], None],
        state: InlineState,
        reauth: Reauth,
        progress: RunProgress | None,
    ) -> None:
        self.settings, self.worker, self.record, self.state = settings, worker, record, state
        self.reauth, self.progress = reauth, progress
        self.gate = RateLimitGate()  # after HTTP 429, as in the pool

    def run(self, tasks: Sequence[POTask]) -> InlineRun:
        queue = deque(tasks)
        on_interrupt = self.progress.interrupted if self.progress is not None else None
        with graceful_interrupts(on_interrupt) as self.stop:
            try:
                if self.progress is not None:
                    self.progress.worker_state(WORKER_ID, "starting")
                self.worker.handler.start()
                while queue and not self.stop.is_set():
                    task = queue.popleft()
                    self.state.mark_running(task.po_number, WORKER_ID)
                    result = self._finish(task)
                    self.record(result)
                    if result.status is Status.AUTH_REQUIRED:
                        return InlineRun([task.po_number, *(t.po_number for t in queue)], True)
            finally:
                self.worker.close()
        if self.stop.is_set():
            raise KeyboardInterrupt  # as the pool does: exit 130 once the PO is recorded
        return InlineRun()

    def _finish(self, task: POTask) -> POResult:
        """Attempts of one PO until its result is final (or sign-in is impossible)."""
        sign_ins = 0
        result, verdict = self._attempt(task)
        while verdict.decision in (Decision.RETRY, Decision.PAUSE_FOR_AUTH):
            if self.stop.is_set():
                return result  # Ctrl+C: no more attempts; a re-run retries it
            if verdict.decision is Decision.PAUSE_FOR_AUTH:
                sign_ins += 1
                self.state.record_event(task.po_number, "paused_for_auth")
                if not self._sign_in_again(sign_ins):
                    return result
            else:
                self._wait_before_retry(task, result, verdict.delay)
                task = replace(task, attempt=task.attempt + 1)
            result, verdict = self._attempt(task)
        return result

    def _attempt(self, task: POTask) -> tuple[POResult, Verdict]:
        if (wait := self.gate.remaining()) > 0:
            self.stop.wait(wait)  # Coupa asked for a pause (429); a Ctrl+C ends it early
        result = self._process(task)
        verdict = judge(result, task.attempt, self.settings, self.gate)
        if verdict.pause_began is not None:
            message = rate_limit_message(task.po_number, verdict.pause_began)
            log.warning("%s", message)
            self.state.record_event(task.po_number, "rate_limited", message)
            self._event("rate_limited", message, task.po_number)
        return result, verdict

    def _process(self, task: POTask) -> POResult:
        started = time.time()
        stage = self._stage_of(task)
        try:
            return self.worker.handler.process(task, stage)
        except Exception as exc:
            # The handler broke: a new one, and this attempt counts as a transient
            # failure (a pool worker's rule).
            log.debug("processing PO %s raised", task.po_number, exc_info=True)
            why = exc.message if isinstance(exc, CoupadlError) else f"{type(exc).__name__}: {exc}"
            self.state.record_event(task.po_number, "restart", why)
            self._event("restart", f"{why}; new worker", task.po_number)
            if self.worker.restarts >= self.settings.max_restarts:
                raise
            self.worker.replace(why)
            return failed_attempt(task, exc, started)

    def _stage_of(self, task: POTask) -> Callable[[str], None]:
        if self.progress is None:
            return _ignore
        return partial(self.progress.stage, WORKER_ID, task.po_number)

    def _sign_in_again(self, sign_ins: int) -> bool:
        try:
            if sign_ins > MAX_SIGN_INS:
                raise AuthRequiredError("Coupa keeps asking to sign in again.")
            self.worker.new_session(self.reauth())
        except AuthRequiredError as exc:
            log.warning("%s The remaining POs stay pending.", exc.message)
            return False
        return True

    def _wait_before_retry(self, task: POTask, result: POResult, delay: float) -> None:
        log.info("PO%s: %s, retrying in %.1f s", task.po_number, result.status, delay)
        self.state.record_event(task.po_number, "retry", result.error_code)
        message = f"PO {task.po_number} attempt {task.attempt} ended {result.status}"
        self._event("retry", f"{message}; retry in {delay:.1f} s", task.po_number)
        time.sleep(delay)

    def _event(self, kind: str, message: str, po: str) -> None:
        if self.progress is not None:
            self.progress.event(RunEvent(kind, message, WORKER_ID, po))


def _ignore(stage: str) -> None:
    """Progress goes nowhere without a live view."""
