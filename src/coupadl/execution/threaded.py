"""The threaded executor: many POs in flight at once in this process, one handler per
thread, as many threads as the concurrency limit lets work.

For engines whose handlers are cheap and mostly wait on the network (the http engine:
its handlers share one connection pool), where a browser pool's processes would cost
memory for nothing. It follows the other executors' rules, decided in the same places:
:func:`coupadl.execution.retry.judge` after every attempt, one shared 429 "not before"
time, a handler that raises replaced (up to ``max_restarts`` per thread), one sign-in
for the whole run when the session expires. Workers never touch the run state, the
results or the live view's listeners themselves: they post those calls to the main
thread (the state's SQLite connection belongs to it), which also owns Ctrl+C.
"""

from __future__ import annotations

import heapq
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from coupadl.errors import AuthRequiredError, CoupadlError
from coupadl.execution.concurrency import ConcurrencyLimit, LimitChange, limit_for
from coupadl.execution.handler import (
    EngineSpec,
    Handler,
    HandlerFactory,
    failed_attempt,
    load_callable,
    load_factory,
)
from coupadl.execution.inline import InlineState, Reauth, export_session
from coupadl.execution.interrupts import graceful_interrupts
from coupadl.execution.malloc import cap_malloc_arenas
from coupadl.execution.progress import RunEvent, RunProgress
from coupadl.execution.ratelimit import RateLimitGate
from coupadl.execution.retry import MAX_SIGN_INS, Decision, judge, rate_limit_message
from coupadl.models import POResult, POTask

log = logging.getLogger(__name__)

_POLL = 0.25  # seconds a waiting worker or the main loop sleeps between looks
_OVERLOAD_CODES = frozenset({"E_RATE_LIMITED", "E_SERVER_ERROR"})


@dataclass
class ThreadedRun:
    pending: list[str] = field(default_factory=list)  # POs not finished: left pending
    auth_stopped: bool = False  # the session expired and nobody could sign in
    concurrency: list[LimitChange] = field(default_factory=list)  # the limit over time


def run_threaded(
    tasks: Sequence[POTask],
    settings: Any,
    record: Callable[[POResult], None],
    state: InlineState,
    base: Path | None,
    engine: EngineSpec,
    *,
    reauth: Reauth,
    progress: RunProgress | None = None,
    limit: ConcurrencyLimit | None = None,
) -> ThreadedRun:
    """Process ``tasks`` with up to ``settings.concurrency`` handlers of ``engine`` at
    once (``"auto"``: adapted, at most ``max_concurrency``; or ``limit``, which the
    caller may watch), started on what the engine's prepare step made from ``base``.
    The contract is :func:`run_inline`'s."""
    limit = limit or limit_for(settings.concurrency, settings.max_concurrency)
    threads = max(1, min(limit.cap, len(tasks)))
    cap_malloc_arenas()  # before the engine's and our threads start
    factory = load_factory(engine.handler_factory)
    prepare = load_callable(engine.prepare_factory)
    prepared = prepare(settings, base, None, threads, partial(export_session, factory, settings))
    try:
        run = _Threads(settings, factory, prepared, limit, record, state, reauth, progress)
        return run.run(tasks, threads)
    finally:
        prepared.release()


class _Threads:
    """The shared queue, gate, session and outbox of one threaded run."""

    def __init__(
        self,
        settings: Any,
        factory: HandlerFactory,
        prepared: Any,
        limit: ConcurrencyLimit,
        record: Callable[[POResult], None],
        state: InlineState,
        reauth: Reauth,
        progress: RunProgress | None,
    ) -> None:
        self.settings, self.factory, self.prepared = settings, factory, prepared
        self.limit, self.record, self.state = limit, record, state
        self.reauth, self.progress = reauth, progress
        self.cond = threading.Condition()  # guards everything below
        self.ready: deque[POTask] = deque()
        self.later: list[tuple[float, int, POTask]] = []  # retries: (not before, seq, task)
        self.in_flight = 0
        self.gate = RateLimitGate()
        self.session: Any = prepared.session
        self.generation = 0  # bumped by every sign-in; a handler imports newer sessions
        self.signing_in = False
        self.sign_ins: dict[str, int] = {}
        self.auth_stopped = False
        self.finished: set[str] = set()
        self.stop = threading.Event()
        self.outbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    # --- the main thread ----------------------------------------------------------------
    def run(self, tasks: Sequence[POTask], count: int) -> ThreadedRun:
        self.ready.extend(tasks)
        on_interrupt = self.progress.interrupted if self.progress is not None else None
        with graceful_interrupts(on_interrupt) as stop:
            self.stop = stop
            workers = [
                threading.Thread(target=_Worker(self, i).run, name=f"coupadl-h{i + 1}", daemon=True)
                for i in range(count)
            ]
            for thread in workers:
                thread.start()
            self._serve(workers)
        if self.stop.is_set():
            raise KeyboardInterrupt  # as the other executors: exit 130 once recorded
        pending = [t.po_number for t in tasks if t.po_number not in self.finished]
        return ThreadedRun(pending, self.auth_stopped, list(self.limit.history))

    def _serve(self, workers: list[threading.Thread]) -> None:
        """Run the workers' posted calls until every worker has ended (after a stop:
        at most ``shutdown_timeout`` more; the POs still in flight stay pending)."""
        stopped_at: float | None = None
        while any(t.is_alive() for t in workers):
            if self.stop.is_set() and stopped_at is None:
                stopped_at = time.monotonic()
                with self.cond:
                    self.cond.notify_all()
            if stopped_at is not None and time.monotonic() - stopped_at > self._grace():
                log.warning("POs still in flight after the shutdown timeout stay pending")
                break
            self._drain(_POLL)
        self._drain(0)

    def _grace(self) -> float:
        return float(self.settings.shutdown_timeout)

    def _drain(self, wait: float) -> None:
        try:
            call = self.outbox.get(timeout=wait) if wait else self.outbox.get_nowait()
            while True:
                call()
                call = self.outbox.get_nowait()
        except queue.Empty:
            return

    def post(self, call: Callable[[], None]) -> None:
        self.outbox.put(call)

    def event(self, kind: str, message: str, worker: str, po: str) -> None:
        if self.progress is not None:
            self.post(partial(self.progress.event, RunEvent(kind, message, worker, po)))

    # --- called by workers --------------------------------------------------------------
    def next_task(self, index: int) -> POTask | None:
        """The next PO for worker ``index`` once it may start one; None: no more work."""
        with self.cond:
            while True:
                if self.stop.is_set() or self.auth_stopped:
                    return None
                self._release_due()
                if not self.ready and not self.later and self.in_flight == 0:
                    self.cond.notify_all()
                    return None
                may = index < self.limit.value and not self.signing_in and self.gate.is_open()
                if may and self.ready:
                    self.in_flight += 1
                    return self.ready.popleft()
                self.cond.wait(self._wait_time())

    def _release_due(self) -> None:
        now = time.monotonic()
        while self.later and self.later[0][0] <= now:
            self.ready.append(heapq.heappop(self.later)[2])

    def _wait_time(self) -> float:
        waits = [_POLL, self.gate.remaining() or _POLL]
        if self.later:
            waits.append(max(0.01, self.later[0][0] - time.monotonic()))
        return min(waits)

    def settle(self, task: POTask, result: POResult, generation: int, worker: str) -> None:
        """What one attempt means: recorded, retried later, or a sign-in first."""
        with self.cond:
            verdict = judge(result, task.attempt, self.settings, self.gate)
        if verdict.pause_began is not None:
            message = rate_limit_message(task.po_number, verdict.pause_began)
            log.warning("%s", message)
            self.post(partial(self.state.record_event, task.po_number, "rate_limited", message))
            self.event("rate_limited", message, worker, task.po_number)
        if result.error_code in _OVERLOAD_CODES:
            self.limit.throttled(
                f"{result.error_code} on PO {task.po_number}",
                rate_limited=result.error_code == "E_RATE_LIMITED",
            )
        else:
            self.limit.finished()
        if verdict.decision is Decision.PAUSE_FOR_AUTH:
            self._pause_for_auth(task, result, generation)
        elif verdict.decision is Decision.RETRY:
            self._retry(task, result, verdict.delay, worker)
        else:
            self._final(result)

    def _final(self, result: POResult) -> None:
        with self.cond:
            self.in_flight -= 1
            self.finished.add(result.po_number)
            self.cond.notify_all()
        self.post(partial(self.record, result))

    def _retry(self, task: POTask, result: POResult, delay: float, worker: str) -> None:
        log.info("PO%s: %s, retrying in %.1f s", task.po_number, result.status, delay)
        self.post(partial(self.state.record_event, task.po_number, "retry", result.error_code))
        message = f"PO {task.po_number} attempt {task.attempt} ended {result.status}"
        self.event("retry", f"{message}; retry in {delay:.1f} s", worker, task.po_number)
        again = replace(task, attempt=task.attempt + 1)
        with self.cond:
            self.in_flight -= 1
            heapq.heappush(self.later, (time.monotonic() + delay, id(again), again))
            self.cond.notify_all()

    def _pause_for_auth(self, task: POTask, result: POResult, generation: int) -> None:
        self.post(partial(self.state.record_event, task.po_number, "paused_for_auth"))
        with self.cond:
            self.sign_ins[task.po_number] = self.sign_ins.get(task.po_number, 0) + 1
            tries = self.sign_ins[task.po_number]
            # Another worker may have signed in since this attempt began: just go again.
            needed = generation == self.generation and not self.signing_in
            if needed:
                self.signing_in = True
            while self.signing_in and not needed:
                self.cond.wait(_POLL)
        ok = self._sign_in(tries) if needed else not self.auth_stopped
        with self.cond:
            self.in_flight -= 1
            if ok:
                self.ready.appendleft(task)
            self.cond.notify_all()
        if not ok:
            # Recorded as AUTH_REQUIRED and left pending (a re-run after sign-in does it).
            self.post(partial(self.record, result))

    def _sign_in(self, tries: int) -> bool:
        """One sign-in for the whole run; False (every worker stops) when impossible."""
        try:
            if tries > MAX_SIGN_INS:
                raise AuthRequiredError("Coupa keeps asking to sign in again.")
            session = self.reauth()
        except AuthRequiredError as exc:
            log.warning("%s The remaining POs stay pending.", exc.message)
            with self.cond:
                self.auth_stopped, self.signing_in = True, False
                self.cond.notify_all()
            return False
        with self.cond:
            self.session, self.generation = session, self.generation + 1
            self.signing_in = False
            self.cond.notify_all()
        return True


class _GaveUp(Exception):
    """A worker whose handler broke more than ``max_restarts`` times."""


class _Worker:
    """One thread: its handler, started on its first PO, replaced when it breaks."""

    def __init__(self, run: _Threads, index: int) -> None:
        self.run_, self.index = run, index
        self.id = f"h{index + 1}"
        self.handler: Handler | None = None
        self.generation = 0
        self.restarts = 0

    def run(self) -> None:
        try:
            while (task := self.run_.next_task(self.index)) is not None:
                self._one(task)
        except _GaveUp as exc:
            log.error("%s", exc)  # its PO is settled; the other workers go on
        except Exception:
            log.exception("%s stopped", self.id)
        finally:
            self._close()

    def _one(self, task: POTask) -> None:
        run = self.run_
        try:
            handler = self._handler()
        except Exception as exc:
            run.settle(task, failed_attempt(task, exc, time.time()), run.generation, self.id)
            raise
        generation = run.generation
        run.post(partial(run.state.mark_running, task.po_number, self.id))
        result = self._process(handler, task)
        run.settle(task, result, generation, self.id)
        if self.restarts > run.settings.max_restarts:
            raise _GaveUp(f"{self.id}: its handler broke {self.restarts} times; it stops")

    def _handler(self) -> Handler:
        run = self.run_
        if self.handler is None:
            workdir = run.prepared.workdirs[self.index]
            self.handler = run.factory(self.id, run.settings, workdir, run.session)
            self.generation = run.generation
            self.handler.start()
        if self.generation != run.generation:
            self.handler.import_session(run.session)
            self.generation = run.generation
        return self.handler

    def _process(self, handler: Handler, task: POTask) -> POResult:
        started = time.time()
        stage = self._stage_of(task)
        try:
            return handler.process(task, stage)
        except Exception as exc:
            log.debug("processing PO %s raised", task.po_number, exc_info=True)
            why = exc.message if isinstance(exc, CoupadlError) else f"{type(exc).__name__}: {exc}"
            self.run_.post(partial(self.run_.state.record_event, task.po_number, "restart", why))
            self.run_.event("restart", f"{why}; new handler", self.id, task.po_number)
            self._close()
            self.restarts += 1
            return failed_attempt(task, exc, started)

    def _stage_of(self, task: POTask) -> Callable[[str], None]:
        progress = self.run_.progress
        if progress is None:
            return _ignore
        return partial(progress.stage, self.id, task.po_number)

    def _close(self) -> None:
        if self.handler is None:
            return
        handler, self.handler = self.handler, None
        try:
            handler.close()
        except Exception as exc:  # noqa: BLE001 - a broken handler may fail to close
            log.warning("%s: closing the handler failed: %s", self.id, exc)


def _ignore(stage: str) -> None:
    """Progress goes nowhere without a live view."""
