"""The supervisor: one thread in the main process that runs the pool.

It reads every worker's pipe, hands queued tasks to idle workers, and watches for trouble:
a task whose progress stops for ``task_timeout``, a worker process that exits, a browser
that dies, memory over budget. A worker in trouble is killed with its whole process tree
and started again; its task goes back to the queue as a failed (transient) attempt.

All pool state lives here and changes only under ``self.lock`` (an RLock shared with the
public API in pool.py through ``self.cond``). Blocking work is kept out of the lock
where it matters (log records from workers are re-emitted after it is released).
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import os
import threading
import time
from multiprocessing.connection import Connection, wait
from typing import Any

from coupadl.errors import BrowserError
from coupadl.execution.pool.config import PoolConfig
from coupadl.execution.pool.events import EventDispatcher, EventKind, PoolEvent
from coupadl.execution.pool.messages import (
    Cookies,
    ExportCookies,
    Fatal,
    Heartbeat,
    LogRecordMsg,
    Progress,
    Ready,
    RestartBrowser,
    RunTask,
    Stop,
    Stopped,
    TaskDone,
    WorkerSpec,
)
from coupadl.execution.pool.queue import TaskQueue, TaskRecord, TaskState
from coupadl.execution.pool.slot import WorkerSlot, spawn_context
from coupadl.execution.ratelimit import RateLimitGate
from coupadl.execution.retry import Decision, backoff_delay, judge, rate_limit_message
from coupadl.execution.status import ALIVE_STATES, PoolStatus, WorkerState
from coupadl.models import POResult, Status
from coupadl.settings import Settings

logger = logging.getLogger(__name__)

TICK = 0.1  # longest sleep of the loop: timers are checked at least this often
BROWSER_CHECK_EVERY = 1.0
STOP_GRACE = 5.0  # a worker told to stop that is still there after this is killed
SCALE_DOWN_COOLDOWN = 10.0  # let memory settle after retiring a worker
SCALE_UP_COOLDOWN = 30.0
SCALE_UP_HEADROOM = 0.8  # start a worker again only below 80 % of the budget
MAX_MESSAGES_PER_WORKER = 500  # per loop turn, so one chatty worker cannot starve others
MB = 1024 * 1024


def concurrent_starts(cpu_count: int | None) -> int:
    """How many workers may start at once.

    A start is CPU-bound in more than one process (the worker's imports, then Chromium's
    several processes), so starts beyond half the CPUs only slow each other down. On 2
    cores with 4 workers: started together, the first PO began after about 7 s; one at
    a time, after about 3 s, and the run as a whole ended no later.
    """
    return max(1, (cpu_count or 1) // 2)


@dataclasses.dataclass
class Stats:
    by_status: collections.Counter[Status] = dataclasses.field(default_factory=collections.Counter)
    final: int = 0
    retries: int = 0
    worker_restarts: int = 0
    cancelled: int = 0
    not_finished: int = 0
    auth_pauses: int = 0
    rate_limit_pauses: int = 0
    duration_sum: float = 0.0
    peak_memory: int = 0
    started_at: float = 0.0  # monotonic, set by start()
    last_final_at: float = 0.0
    recent: collections.deque[float] = dataclasses.field(
        default_factory=lambda: collections.deque(maxlen=5000)
    )


class Supervisor:
    def __init__(
        self,
        config: PoolConfig,
        settings: Settings,
        slots: list[WorkerSlot],
        budget_mb: float,
        events: EventDispatcher,
    ) -> None:
        self.config = config
        self.settings = settings
        self.slots = slots
        self.target = len(slots)
        self.budget_bytes = int(budget_mb * MB)
        self.events = events
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.queue = TaskQueue()
        self.completed: collections.deque[POResult] = collections.deque()
        self.stats = Stats()
        self.ctx = spawn_context()
        self.paused_for_auth = False
        # After HTTP 429: no worker starts a PO before this (shared by the whole pool).
        self.rate_gate = RateLimitGate()
        self.closing = False  # no more dispatching or (re)starting
        self.stopping = False  # the loop ends
        self.failed: BrowserError | None = None
        self.shared_cookies: list[dict[str, Any]] | None = None
        self.memory_total = 0
        self._memory_seq = 0
        self._memory_seen = 0
        self._last_scale = 0.0
        self._last_browser_check = 0.0
        self._tokens = 0
        self._logs: list[LogRecordMsg] = []
        self._wake_r, self._wake_w = self.ctx.Pipe(duplex=False)
        self._wake_pending = False
        self._thread: threading.Thread | None = None
        s = settings
        self.start_timeout = max(s.task_timeout, 60.0)
        self.silence_timeout = max(s.task_timeout, 10 * config.heartbeat_interval, 30.0)
        self.max_starts = concurrent_starts(os.cpu_count())

    # -- thread --------------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="coupadl-pool-supervisor", daemon=True
        )
        self._thread.start()

    def stop_thread(self, timeout: float = 5.0) -> None:
        with self.lock:
            self.stopping = True
            self.wake()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("the pool supervisor thread did not stop in %.0f s", timeout)

    def wake(self) -> None:
        """Make the loop run now (after a submit, resume, shutdown); caller holds the lock."""
        if not self._wake_pending:
            self._wake_pending = True
            try:
                self._wake_w.send_bytes(b"!")
            except OSError as exc:
                logger.debug("wake pipe closed: %s", exc)

    def _run(self) -> None:
        while True:
            with self.lock:
                if self.stopping:
                    return
                by_conn: dict[int, WorkerSlot] = {}
                by_sentinel: dict[int, WorkerSlot] = {}
                waitables: list[Any] = [self._wake_r]
                for slot in self.slots:
                    if slot.conn is not None:
                        by_conn[id(slot.conn)] = slot
                        waitables.append(slot.conn)
                    if slot.process is not None:
                        by_sentinel[slot.process.sentinel] = slot
                        waitables.append(slot.process.sentinel)
            try:
                ready = wait(waitables, timeout=TICK)
            except OSError as exc:
                # A pipe closed between building the list and waiting: just go round.
                logger.debug("wait failed: %s", exc)
                ready = []
            try:
                with self.lock:
                    self._turn(ready, by_conn, by_sentinel)
            except Exception:
                # A bug here must not leave the workers unsupervised for the rest of the run.
                logger.exception("pool supervisor error; carrying on")
                time.sleep(TICK)
            self._flush_logs()

    def _turn(
        self,
        ready: list[Any],
        by_conn: dict[int, WorkerSlot],
        by_sentinel: dict[int, WorkerSlot],
    ) -> None:
        if self.stopping:
            return
        if self._wake_r in ready:
            self._drain_wake()
        exited: list[WorkerSlot] = []
        for obj in ready:
            if isinstance(obj, Connection):
                slot = by_conn.get(id(obj))
                if slot is not None and slot.conn is obj and not self._drain(slot):
                    exited.append(slot)
            else:
                slot = by_sentinel.get(obj)
                if slot is not None and slot.process is not None and slot.process.sentinel == obj:
                    exited.append(slot)
        for slot in exited:
            if slot.process is not None or slot.conn is not None:
                self._on_exit(slot)
        self._tick(time.monotonic())

    def _drain_wake(self) -> None:
        self._wake_pending = False
        while self._wake_r.poll():
            self._wake_r.recv_bytes()

    def _drain(self, slot: WorkerSlot) -> bool:
        """Handle the slot's pending messages; False when its pipe reached EOF."""
        assert slot.conn is not None
        conn = slot.conn
        for _ in range(MAX_MESSAGES_PER_WORKER):
            try:
                if not conn.poll():
                    return True
                message = conn.recv()
            except (EOFError, OSError):
                return False
            self._on_message(slot, message)
            if slot.conn is not conn:
                return True  # the message made us kill or replace this worker
        return True

    def _flush_logs(self) -> None:
        with self.lock:
            logs, self._logs = self._logs, []
        for item in logs:
            target = logging.getLogger(item.name)
            if not target.isEnabledFor(item.levelno):
                continue  # the worker filtered on the root level only
            record = logging.makeLogRecord(
                {
                    "name": item.name,
                    "levelno": item.levelno,
                    "levelname": logging.getLevelName(item.levelno),
                    "msg": item.message,
                    "exc_text": item.exc_text,
                    "created": item.created,
                }
            )
            target.handle(record)

    # -- messages ------------------------------------------------------------------------
    def _on_message(self, slot: WorkerSlot, message: object) -> None:
        now = time.monotonic()
        slot.last_heartbeat = now
        if isinstance(message, Heartbeat):
            return
        if isinstance(message, LogRecordMsg):
            self._logs.append(message)
        elif isinstance(message, Progress):
            if slot.state is WorkerState.BUSY and message.token == slot.token:
                slot.last_progress = now
                slot.progress = message.text
        elif isinstance(message, TaskDone):
            self._on_task_done(slot, message, now)
        elif isinstance(message, Ready):
            self._on_ready(slot, message)
        elif isinstance(message, Cookies):
            self._on_cookies(slot, message)
        elif isinstance(message, Fatal):
            slot.last_error = message.message
            logger.warning("%s could not start its browser: %s", slot.worker_id, message.message)
        elif isinstance(message, Stopped):
            logger.debug("%s stopped", slot.worker_id)
        else:
            logger.warning("%s sent an unknown message %r", slot.worker_id, type(message))

    def _on_ready(self, slot: WorkerSlot, message: Ready) -> None:
        if slot.state is not WorkerState.STARTING:
            logger.debug("%s: Ready while %s ignored", slot.worker_id, slot.state)
            return
        slot.record_children(message.child_pids)
        slot.signed_in = message.signed_in
        first = not slot.ever_ready
        slot.ever_ready = True
        slot.start_failures = 0
        if message.signed_in is False and slot.cookies is None:
            slot.set_state(WorkerState.WAITING_COOKIES)
        else:
            if message.signed_in is False:
                logger.warning(
                    "%s is still signed out after importing session cookies; its POs will "
                    "show whether Coupa accepts it",
                    slot.worker_id,
                )
            slot.set_state(WorkerState.IDLE)
        self._emit(
            EventKind.WORKER_STARTED,
            f"{slot.worker_id} ready (pid {message.pid}, browser pids {message.child_pids})",
            slot.worker_id,
            data={
                "pid": message.pid,
                "child_pids": list(message.child_pids),
                "signed_in": message.signed_in,
                "first_start": first,
                "restarts": slot.restarts,
            },
        )
        self.cond.notify_all()

    def _on_cookies(self, slot: WorkerSlot, message: Cookies) -> None:
        if slot.state is not WorkerState.EXPORTING:
            return
        slot.set_state(WorkerState.IDLE)
        if message.cookies:
            self.shared_cookies = message.cookies
            # Count only: cookie values are credentials and never go to a log.
            logger.info(
                "exported %d session cookie(s) from %s for signed-out workers",
                len(message.cookies),
                slot.worker_id,
            )
        else:
            logger.warning(
                "%s could not export its cookies (%s); signed-out workers go on as they are",
                slot.worker_id,
                message.error or "none returned",
            )
            self._release_waiting("no cookies could be exported")

    def _on_task_done(self, slot: WorkerSlot, message: TaskDone, now: float) -> None:
        if slot.state is not WorkerState.BUSY or message.token != slot.token or slot.record is None:
            # A result for an attempt we already gave up on: never report a task twice.
            logger.debug("%s: late result for token %d ignored", slot.worker_id, message.token)
            return
        record = slot.record
        slot.record = None
        slot.progress = ""
        slot.tasks_done += 1
        slot.tasks_since_start += 1
        slot.record_children(message.child_pids)
        slot.set_state(WorkerState.IDLE)
        self._after_attempt(record, message.result, now - slot.task_started)
        if message.broken:
            self._restart(slot, "raised an exception in its handler")

    # -- attempts ------------------------------------------------------------------------
    def _after_attempt(self, record: TaskRecord, result: POResult, seconds: float) -> None:
        """Decide what an ended attempt means for its task: final, retry, or auth pause."""
        now = time.monotonic()
        verdict = judge(result, record.attempts + 1, self.settings, self.rate_gate)
        if verdict.pause_began is not None:
            self._announce_rate_limit(record, result, verdict.pause_began)
        decision = verdict.decision
        if decision is Decision.PAUSE_FOR_AUTH:
            # Not the PO's fault; the attempt does not count and the PO waits for resume().
            self.queue.requeue(record)
            if not self.paused_for_auth:
                self.paused_for_auth = True
                self.stats.auth_pauses += 1
                what = (
                    "sign in again and resume"
                    if self.config.interactive
                    else "the run stops; sign in with 'coupadl login' and run it again"
                )
                logger.warning(
                    "Coupa asked to sign in (PO %s): pausing the pool; %s", record.po_number, what
                )
                self._emit(
                    EventKind.PAUSED_FOR_AUTH,
                    f"Coupa asked to sign in while processing PO {record.po_number}; "
                    f"pool paused ({what})",
                    result.worker,
                    record.po_number,
                )
            self.cond.notify_all()
            return
        record.attempts += 1
        result.attempts = record.attempts
        record.last_result = result
        if decision is Decision.RETRY:
            delay = verdict.delay
            self.queue.schedule_retry(record, now + delay)
            self.stats.retries += 1
            logger.info(
                "PO %s attempt %d ended %s (%s); retrying in %.1f s",
                record.po_number,
                record.attempts,
                result.status,
                result.error_code or result.message,
                delay,
            )
            self._emit(
                EventKind.RETRY_SCHEDULED,
                f"PO {record.po_number} attempt {record.attempts} ended {result.status}; "
                f"retry in {delay:.1f} s",
                result.worker,
                record.po_number,
                {
                    "attempt": record.attempts,
                    "delay": delay,
                    "status": str(result.status),
                    "error_code": result.error_code,
                },
            )
            return
        self.queue.finish(record)
        record.handle._settle(TaskState.DONE, result)
        self.completed.append(result)
        st = self.stats
        st.final += 1
        st.by_status[result.status] += 1
        st.duration_sum += result.duration or max(0.0, seconds)
        st.last_final_at = now
        st.recent.append(now)
        self.cond.notify_all()

    def _announce_rate_limit(self, record: TaskRecord, result: POResult, seconds: float) -> None:
        """Coupa answered 429 and every worker's next PO waits: said once per pause."""
        self.stats.rate_limit_pauses += 1
        message = rate_limit_message(record.po_number, seconds)
        logger.warning("%s", message)
        until = time.time() + self.rate_gate.remaining()
        self._emit(
            EventKind.RATE_LIMITED,
            message,
            result.worker,
            record.po_number,
            data={"seconds": seconds, "until": until},
        )

    def _killed_attempt(self, slot: WorkerSlot, reason: str, hung: bool) -> None:
        """End the attempt of a worker we are killing as a transient failure."""
        record = slot.record
        slot.record = None
        slot.progress = ""
        if record is None:
            return
        finished = time.time()
        started = finished - (time.monotonic() - slot.task_started)
        result = POResult(
            po_number=record.po_number,
            status=Status.TIMEOUT if hung else Status.FAILED,
            error_code="E_TIMEOUT" if hung else "E_BROWSER",
            message=f"{slot.worker_id} {reason}",
            started_at=started,
            finished_at=finished,
            worker=slot.worker_id,
            transient=True,
        )
        self._after_attempt(record, result, finished - started)

    # -- worker life -----------------------------------------------------------------------
    def spec_for(self, slot: WorkerSlot) -> WorkerSpec:
        return WorkerSpec(
            worker_id=slot.worker_id,
            settings=self.settings,
            handler_factory=self.config.handler_factory,
            profile_dir=slot.profile_dir,
            cookies=slot.cookies,
            heartbeat_interval=self.config.heartbeat_interval,
            log_level=logging.getLogger("coupadl").getEffectiveLevel(),
        )

    def _spawn(self, slot: WorkerSlot) -> None:
        slot.retire_when_idle = False
        slot.spawn(self.ctx, self.spec_for(slot))
        logger.debug("%s: process %s started", slot.worker_id, slot.pid)

    def _on_exit(self, slot: WorkerSlot) -> None:
        """The worker process exited or its pipe closed."""
        if slot.state is WorkerState.STOPPING:
            slot.kill(timeout=1.0)  # make sure nothing of it is left behind
            slot.set_state(WorkerState.RETIRED if slot.retiring else WorkerState.STOPPED)
            slot.retiring = False
            self.cond.notify_all()
            return
        code = None
        if slot.process is not None:
            # The pipe can report EOF a moment before the process is gone.
            slot.process.join(0.5)
            code = slot.process.exitcode
        if slot.state is WorkerState.STARTING:
            reason = f"failed to start ({slot.last_error or f'exit code {code}'})"
        else:
            reason = f"exited unexpectedly (exit code {code})"
        self._restart(slot, reason)

    def _restart(self, slot: WorkerSlot, reason: str, hung: bool = False) -> None:
        """Kill a worker in trouble, requeue its task as a failed attempt, schedule a new
        process after a backoff delay, or give the worker up."""
        was_starting = slot.state is WorkerState.STARTING
        logger.warning("%s %s; killing it", slot.worker_id, reason)
        slot.kill()
        self._killed_attempt(slot, reason, hung)
        now = time.monotonic()
        if was_starting and not slot.ever_ready:
            slot.start_failures += 1
            if slot.start_failures >= self.config.start_attempts:
                self._give_up(
                    slot, f"could not start after {slot.start_failures} attempts: {reason}"
                )
                return
            delay = backoff_delay(
                slot.start_failures, self.settings.retry_backoff, self.settings.retry_backoff_max
            )
            self._emit(
                EventKind.WORKER_START_FAILED,
                f"{slot.worker_id} {reason}; trying again in {delay:.1f} s",
                slot.worker_id,
                data={"attempt": slot.start_failures, "delay": delay},
            )
        else:
            slot.restarts += 1
            self.stats.worker_restarts += 1
            if slot.restarts > self.settings.max_restarts:
                self._give_up(slot, f"restarted {slot.restarts - 1} times; last: {reason}")
                return
            delay = backoff_delay(
                slot.restarts, self.settings.retry_backoff, self.settings.retry_backoff_max
            )
            self._emit(
                EventKind.WORKER_RESTARTED,
                f"{slot.worker_id} {reason}; restart {slot.restarts} in {delay:.1f} s",
                slot.worker_id,
                data={"restarts": slot.restarts, "delay": delay, "reason": reason},
            )
        slot.next_start_at = now + delay
        slot.set_state(WorkerState.BACKOFF)
        self._release_waiting_if_stuck()
        self.cond.notify_all()

    def _give_up(self, slot: WorkerSlot, reason: str) -> None:
        logger.error("%s given up: %s", slot.worker_id, reason)
        slot.set_state(WorkerState.FAILED)
        self._emit(EventKind.WORKER_GAVE_UP, f"{slot.worker_id} given up: {reason}", slot.worker_id)
        self._check_pool_alive(reason)
        self._release_waiting_if_stuck()
        self.cond.notify_all()

    def _check_pool_alive(self, last_reason: str) -> None:
        if self.closing or self.failed is not None:
            return
        if any(slot.state is not WorkerState.FAILED for slot in self.slots):
            return
        self.failed = BrowserError(f"No browser worker is left running; last error: {last_reason}")
        self.closing = True
        logger.error("%s", self.failed)
        self._emit(EventKind.POOL_FAILED, str(self.failed))
        for record in self.queue.drain():
            self.stats.not_finished += 1
            record.handle._settle(TaskState.NOT_FINISHED, reason=str(self.failed))

    # -- timers --------------------------------------------------------------------------
    def _tick(self, now: float) -> None:
        self.queue.promote_due(now)
        self._check_workers(now)
        if not self.closing:
            self._start_workers(now)
            self._scale(now)
            self._share_session()
            self._idle_chores()
            self._dispatch(now)

    def _check_workers(self, now: float) -> None:
        timeout = self.settings.task_timeout
        check_browsers = now - self._last_browser_check >= BROWSER_CHECK_EVERY
        if check_browsers:
            self._last_browser_check = now
        for slot in self.slots:
            state = slot.state
            if state is WorkerState.BUSY and now - slot.last_progress > timeout:
                po = slot.record.po_number if slot.record else "?"
                self._restart(
                    slot, f"made no progress on PO {po} for {now - slot.last_progress:.0f} s", True
                )
            elif state in ALIVE_STATES and now - slot.last_heartbeat > self.silence_timeout:
                self._restart(slot, f"sent nothing for {now - slot.last_heartbeat:.0f} s", True)
            elif (
                state in (WorkerState.STARTING, WorkerState.EXPORTING)
                and now - slot.state_since > self.start_timeout
            ):
                self._restart(slot, f"took more than {self.start_timeout:.0f} s to {state}", True)
            elif state is WorkerState.STOPPING and now - slot.state_since > STOP_GRACE:
                self._on_exit(slot)
            elif (
                check_browsers
                and state in (WorkerState.IDLE, WorkerState.BUSY, WorkerState.WAITING_COOKIES)
                and slot.browser_dead()
            ):
                self._restart(slot, "lost its browser (a browser or driver process exited)")

    def _starting(self) -> int:
        return sum(1 for slot in self.slots if slot.state is WorkerState.STARTING)

    def _start_workers(self, now: float) -> None:
        # Starting browsers is CPU-bound: see concurrent_starts.
        self._revive_if_none_left(now)
        for slot in self.slots:
            if self._starting() >= self.max_starts:
                return
            if (
                slot.state in (WorkerState.STOPPED, WorkerState.BACKOFF)
                and now >= slot.next_start_at
            ):
                try:
                    self._spawn(slot)
                except Exception as exc:  # noqa: BLE001 - e.g. OSError, or spawn's RuntimeError
                    # Counted as a failed start, so a pool that cannot spawn at all gives up
                    # (start() raises) instead of trying for ever.
                    slot.last_error = f"{type(exc).__name__}: {exc}"
                    slot.set_state(WorkerState.STARTING)
                    self._restart(slot, f"could not spawn a process ({slot.last_error})")

    def _revive_if_none_left(self, now: float) -> None:
        """Memory pressure retires workers but never the last; if the last one then fails
        for good, a retired one must come back or the run would stall."""
        coming = (WorkerState.STOPPED, WorkerState.BACKOFF, WorkerState.STOPPING)
        if any(s.state in ALIVE_STATES or s.state in coming for s in self.slots):
            return
        retired = [s for s in self.slots if s.state is WorkerState.RETIRED]
        if retired:
            logger.warning(
                "no worker left running: starting retired %s again", retired[0].worker_id
            )
            retired[0].next_start_at = now
            retired[0].set_state(WorkerState.STOPPED)

    def _idle_chores(self) -> None:
        """Things an idle worker does before its next task: stop (retire), take new
        cookies, recycle its browser."""
        recycle_after = self.settings.recycle_after
        for slot in self.slots:
            if slot.state is not WorkerState.IDLE:
                continue
            if slot.retire_when_idle:
                self._retire(slot)
            elif slot.cookies_pending is not None:
                slot.cookies, slot.cookies_pending = slot.cookies_pending, None
                self._restart_browser(slot, RestartBrowser(slot.cookies))
            elif recycle_after > 0 and slot.tasks_since_start >= recycle_after:
                self._emit(
                    EventKind.WORKER_RECYCLED,
                    f"{slot.worker_id} restarts its browser after {slot.tasks_since_start} POs",
                    slot.worker_id,
                )
                self._restart_browser(slot, RestartBrowser(None))

    def _restart_browser(self, slot: WorkerSlot, command: RestartBrowser) -> None:
        if slot.send(command):
            slot.tasks_since_start = 0
            slot.set_state(WorkerState.STARTING)
        else:
            self._restart(slot, "could not be told to restart its browser")

    def _retire(self, slot: WorkerSlot) -> None:
        slot.retire_when_idle = False
        slot.retiring = True
        slot.set_state(WorkerState.STOPPING)
        if not slot.send(Stop()):
            self._on_exit(slot)

    def _dispatch(self, now: float) -> None:
        if self.paused_for_auth or not self.rate_gate.is_open():
            return
        for slot in self.slots:
            if slot.state is not WorkerState.IDLE or slot.retire_when_idle:
                continue
            if not self.queue.queued:
                return
            if slot.browser_dead():
                # Checked here too (not only every BROWSER_CHECK_EVERY), so a PO is not
                # wasted on a browser that is already gone.
                self._restart(slot, "lost its browser (a browser or driver process exited)")
                continue
            record = self.queue.pop()
            if record is None:
                return
            self._tokens += 1
            slot.token = self._tokens
            slot.record = record
            slot.task_started = now
            slot.last_progress = now
            slot.progress = "dispatched"
            slot.set_state(WorkerState.BUSY)
            task = dataclasses.replace(record.task, attempt=record.task.attempt + record.attempts)
            if not slot.send(RunTask(slot.token, task)):
                self._restart(slot, "could not be sent a task")

    # -- signed-out workers --------------------------------------------------------------
    def _has_exporter(self) -> bool:
        return any(slot.state is WorkerState.EXPORTING for slot in self.slots)

    def _share_session(self) -> None:
        """Give signed-out workers the session cookies of a signed-in one.

        Recent Chrome/Edge on Windows bind cookie encryption to the app, so a copied
        profile can come up signed out. Exporting the cookies over CDP from a signed-in
        browser and restarting the signed-out ones with them avoids a second login."""
        waiting = [s for s in self.slots if s.state is WorkerState.WAITING_COOKIES]
        if not waiting:
            return
        if self.shared_cookies is not None:
            for slot in waiting:
                slot.cookies = self.shared_cookies
                self._restart_browser(slot, RestartBrowser(self.shared_cookies))
            names = ", ".join(s.worker_id for s in waiting)
            logger.info(
                "imported %d session cookie(s) into signed-out worker(s) %s",
                len(self.shared_cookies),
                names,
            )
            self._emit(
                EventKind.COOKIES_SHARED,
                f"signed-out worker(s) {names} restarted with the session cookies of a "
                "signed-in worker",
                data={
                    "workers": [s.worker_id for s in waiting],
                    "cookies": len(self.shared_cookies),
                },
            )
            return
        if self._has_exporter():
            return
        donor = next(
            (s for s in self.slots if s.state is WorkerState.IDLE and s.signed_in is not False),
            None,
        )
        if donor is not None:
            if donor.send(ExportCookies()):
                donor.set_state(WorkerState.EXPORTING)
            else:
                self._restart(donor, "could not be asked for its cookies")
            return
        self._release_waiting_if_stuck()

    def _release_waiting_if_stuck(self) -> None:
        """Signed-out workers stop waiting when no worker can give them cookies."""
        if self.shared_cookies is not None or self._has_exporter():
            return
        could_donate = any(
            s.state in (WorkerState.STARTING, WorkerState.BACKOFF, WorkerState.STOPPED)
            or (s.state in (WorkerState.IDLE, WorkerState.BUSY) and s.signed_in is not False)
            for s in self.slots
        )
        if not could_donate:
            self._release_waiting("no worker is signed in")

    def _release_waiting(self, why: str) -> None:
        waiting = [s for s in self.slots if s.state is WorkerState.WAITING_COOKIES]
        if not waiting:
            return
        logger.warning(
            "%s; signed-out worker(s) %s take POs anyway (Coupa will ask to sign in if "
            "the session is really gone)",
            why,
            ", ".join(s.worker_id for s in waiting),
        )
        for slot in waiting:
            slot.set_state(WorkerState.IDLE)

    # -- memory --------------------------------------------------------------------------
    def memory_roots(self) -> dict[str, list[int]]:
        with self.lock:
            return {
                slot.worker_id: slot.root_pids() for slot in self.slots if slot.process is not None
            }

    def store_memory(self, usage: dict[str, int]) -> None:
        with self.lock:
            for slot in self.slots:
                if slot.process is not None and slot.worker_id in usage:
                    slot.memory_bytes = usage[slot.worker_id]
            self.memory_total = sum(slot.memory_bytes for slot in self.slots)
            self.stats.peak_memory = max(self.stats.peak_memory, self.memory_total)
            self._memory_seq += 1

    def _scale(self, now: float) -> None:
        """Retire an idle worker while over the memory budget (never the last one); start
        retired workers again when memory frees up."""
        if self._memory_seq == self._memory_seen:
            return
        self._memory_seen = self._memory_seq
        total = self.memory_total
        alive = [s for s in self.slots if s.state in ALIVE_STATES and not s.retire_when_idle]
        if total > self.budget_bytes and len(alive) > 1:
            if now - self._last_scale < SCALE_DOWN_COOLDOWN:
                return
            idle = [s for s in alive if s.state is WorkerState.IDLE]
            victim = max(idle or alive, key=lambda s: s.memory_bytes)
            victim.retire_when_idle = True
            self._last_scale = now
            msg = (
                f"workers use {total / MB:.0f} MB, over the {self.budget_bytes / MB:.0f} MB "
                f"budget: retiring {victim.worker_id}"
            )
            logger.warning("%s", msg)
            self._emit(
                EventKind.WORKER_RETIRED,
                msg,
                victim.worker_id,
                data={"memory_mb": total / MB, "budget_mb": self.budget_bytes / MB},
            )
            if victim.state is WorkerState.IDLE:
                self._retire(victim)
            return
        retired = [s for s in self.slots if s.state is WorkerState.RETIRED]
        if not retired or now - self._last_scale < SCALE_UP_COOLDOWN:
            return
        per_worker = total / len(alive) if alive else self.config.per_worker_mb * MB
        if total + per_worker < self.budget_bytes * SCALE_UP_HEADROOM:
            slot = retired[0]
            self._last_scale = now
            logger.info(
                "memory freed (%.0f MB of %.0f MB used): starting %s again",
                total / MB,
                self.budget_bytes / MB,
                slot.worker_id,
            )
            slot.next_start_at = now
            slot.set_state(WorkerState.STOPPED)

    # -- API helpers (caller holds the lock) ---------------------------------------------
    def resume(self, cookies: list[dict[str, Any]] | None) -> None:
        if cookies is not None:
            self.shared_cookies = cookies
            for slot in self.slots:
                slot.cookies = cookies
                if slot.state in (
                    WorkerState.STARTING,
                    WorkerState.IDLE,
                    WorkerState.BUSY,
                    WorkerState.WAITING_COOKIES,
                ):
                    # Its browser has the old session: restart it with the new one as soon
                    # as it is idle. Workers without a process get them at their next start.
                    slot.cookies_pending = cookies
                    if slot.state is WorkerState.WAITING_COOKIES:
                        slot.set_state(WorkerState.IDLE)
            logger.info("pushing %d fresh session cookie(s) to every worker", len(cookies))
        was_paused = self.paused_for_auth
        self.paused_for_auth = False
        if was_paused:
            self._emit(EventKind.RESUMED, "pool resumed after sign-in")
        self.wake()
        self.cond.notify_all()

    def running(self) -> int:
        return sum(1 for slot in self.slots if slot.record is not None)

    def status(self) -> PoolStatus:
        now = time.monotonic()
        recent = self.stats.recent
        in_last_minute = 0
        for stamp in reversed(recent):
            if now - stamp > 60.0:
                break
            in_last_minute += 1
        elapsed = now - self.stats.started_at if self.stats.started_at else 0.0
        window = min(60.0, elapsed) if elapsed > 0 else 60.0
        return PoolStatus(
            workers=[slot.status(now) for slot in self.slots],
            target_workers=self.target,
            active_workers=sum(1 for s in self.slots if s.state in ALIVE_STATES),
            queue_depth=self.queue.depth,
            waiting_retry=self.queue.waiting_retry,
            running=self.running(),
            completed=self.stats.final,
            retries=self.stats.retries,
            worker_restarts=self.stats.worker_restarts,
            memory_mb=self.memory_total / MB,
            memory_budget_mb=self.budget_bytes / MB,
            throughput_per_minute=in_last_minute * 60.0 / max(window, 1.0),
            paused_for_auth=self.paused_for_auth,
            closed=self.closing,
            rate_limited_for=self.rate_gate.remaining(),
        )

    def _emit(
        self,
        kind: EventKind,
        message: str,
        worker_id: str = "",
        po_number: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        self.events.emit(PoolEvent(kind, message, worker_id, po_number, data or {}))

    def close_wake_pipe(self) -> None:
        for conn in (self._wake_r, self._wake_w):
            try:
                conn.close()
            except OSError as exc:
                logger.debug("closing wake pipe: %s", exc)
