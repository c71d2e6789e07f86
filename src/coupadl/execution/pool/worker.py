"""The code that runs inside a worker process (started with the spawn method).

A worker runs one handler at a time (a new one after a recycle or with a new session)
and one task at a time, as the pool tells it over its pipe. A heartbeat thread reports
that the process is alive while it is idle or busy; the handler's progress calls show
that a task moves. When the pool's end of the pipe goes away (the main process died),
the worker kills the handler's processes and exits, so none of them outlives the run.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
import traceback
from multiprocessing.connection import Connection

from coupadl.errors import CoupadlError
from coupadl.execution.handler import Handler, RemoteHandler, failed_attempt, load_factory
from coupadl.execution.pool.messages import (
    ExportedSession,
    ExportSession,
    Fatal,
    HandlerLost,
    Heartbeat,
    LogRecordMsg,
    Progress,
    Ready,
    RestartHandler,
    RunTask,
    Stop,
    Stopped,
    TaskDone,
    WorkerSpec,
)
from coupadl.execution.pool.proctree import is_alive, kill_tree, watch
from coupadl.execution.pool.throttle import ProgressThrottle

logger = logging.getLogger(__name__)

# Seconds between two checks that an idle remote handler's far end is still there.
REMOTE_CHECK_SECONDS = 5.0


class Channel:
    """The worker's end of the pipe; sends are serialised across threads."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()
        self.broken = False

    def send(self, message: object) -> bool:
        if self.broken:
            return False
        with self._lock:
            try:
                self._conn.send(message)
                return True
            except (OSError, EOFError, ValueError):
                # The pool closed its end or is gone.
                self.broken = True
                return False

    def recv(self) -> object:
        return self._conn.recv()


class PipeLogHandler(logging.Handler):
    """Sends log records to the pool, which logs them with the run's configuration."""

    def __init__(self, channel: Channel, worker_id: str) -> None:
        super().__init__()
        self._channel = channel
        self._worker_id = worker_id

    def emit(self, record: logging.LogRecord) -> None:
        try:
            exc_text = None
            if record.exc_info:
                exc_text = "".join(traceback.format_exception(*record.exc_info))
            message = f"[{self._worker_id}] {record.getMessage()}"
            self._channel.send(
                LogRecordMsg(record.name, record.levelno, message, exc_text, record.created)
            )
        except Exception:  # noqa: BLE001 - a log call must never break the worker
            self.handleError(record)


def _ignore_interrupts() -> None:
    # Ctrl+C reaches every process of the console/process group. Only the main process
    # decides what an interrupt means (graceful stop, then abort); the worker and the
    # processes its handler starts (ignored signals are inherited) keep going until told.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "SIGBREAK"):
        signal.signal(signal.SIGBREAK, signal.SIG_IGN)


class Worker:
    def __init__(self, spec: WorkerSpec, channel: Channel) -> None:
        self.spec = spec
        self.channel = channel
        self.factory = load_factory(spec.handler_factory)
        self.handler: Handler | None = None
        self.session = spec.session
        self.stopping = False
        self.throttle: ProgressThrottle | None = None  # the task in hand's progress

    # -- handler life ----------------------------------------------------------------------
    def start_handler(self) -> bool:
        """Start a new handler and report Ready, or report Fatal; True on success."""
        spec = self.spec
        try:
            self.handler = self.factory(spec.worker_id, spec.settings, spec.workdir, self.session)
            self.handler.start()
        except Exception as exc:  # noqa: BLE001 - any start failure is reported to the pool
            code = exc.code if isinstance(exc, CoupadlError) else spec.failure_code
            logger.warning("the handler did not start: %s", exc)
            self.close_handler()
            self.channel.send(Fatal(code, f"{type(exc).__name__}: {exc}"))
            return False
        self.channel.send(Ready(os.getpid(), self.child_pids(), self.signed_in()))
        return True

    def signed_in(self) -> bool | None:
        assert self.handler is not None
        try:
            return bool(self.handler.session_ok())
        except Exception as exc:  # noqa: BLE001 - unknown is an answer; the tasks will tell
            logger.warning("could not tell whether the handler's session is signed in: %s", exc)
            return None

    def child_pids(self) -> list[int]:
        if self.handler is None:
            return []
        try:
            return [int(pid) for pid in self.handler.child_pids()]
        except Exception as exc:  # noqa: BLE001 - pids are a safety net, not essential
            logger.warning("handler could not list its child pids: %s", exc)
            return []

    def check_remote(self) -> None:
        """Between POs, ask a remote handler whether its far end is still there (it has
        no local processes whose exit would tell); tell the pool when it is not."""
        handler = self.handler
        if not isinstance(handler, RemoteHandler) or self.throttle is not None:
            return
        try:
            alive = handler.alive()
        except Exception as exc:  # noqa: BLE001 - a failed check is a lost handler
            logger.warning("checking the remote handler failed: %s", exc)
            alive = False
        if not alive and handler is self.handler and self.throttle is None:
            self.channel.send(HandlerLost("its remote browser session is gone"))

    def close_handler(self) -> None:
        handler, self.handler = self.handler, None
        if handler is None:
            return
        procs = []
        try:
            # Handles taken before close() remember each process's start time, so a pid
            # reused after close() is not mistaken for a leftover.
            procs = watch([int(pid) for pid in handler.child_pids()])
        except Exception as exc:  # noqa: BLE001 - see above
            logger.debug("no child pids before close: %s", exc)
        try:
            handler.close()
        except Exception as exc:  # noqa: BLE001 - a dead handler may fail to close
            logger.warning("closing the handler failed: %s", exc)
        leftovers = [proc.pid for proc in procs if is_alive(proc)]
        if leftovers:
            logger.debug("killing %d handler process(es) left after close", len(leftovers))
            kill_tree(leftovers)

    # -- commands --------------------------------------------------------------------------
    def run_task(self, command: RunTask) -> None:
        assert self.handler is not None
        token = command.token
        progress = ProgressThrottle(lambda text: self.channel.send(Progress(token, text)))
        self.throttle = progress
        started = time.time()
        broken = False
        try:
            result = self.handler.process(command.task, progress)
        except Exception as exc:
            logger.exception("processing PO %s raised", command.task.po_number)
            result = failed_attempt(command.task, exc, started)
            broken = True
            if isinstance(self.handler, RemoteHandler):
                # The pool kills this process next: end the remote session first, or
                # the Grid keeps its slot until its own session timeout.
                self.close_handler()
        if not result.started_at:
            result.started_at = started
        if not result.finished_at:
            result.finished_at = time.time()
        result.worker = self.spec.worker_id
        progress.close()
        self.throttle = None
        self.channel.send(TaskDone(token, result, self.child_pids(), broken))

    def export_session(self) -> None:
        assert self.handler is not None
        try:
            session = self.handler.export_session()
        except Exception as exc:  # noqa: BLE001 - reported to the pool, which carries on
            logger.warning("could not export the session: %s", exc)
            self.channel.send(ExportedSession(None, error=str(exc)))
            return
        self.channel.send(ExportedSession(session))

    def restart(self, command: RestartHandler) -> bool:
        self.close_handler()
        if command.session is not None:
            self.session = command.session
        return self.start_handler()

    def serve(self) -> int:
        """The command loop; returns the process exit code."""
        if not self.start_handler():
            return 1
        while True:
            try:
                command = self.channel.recv()
            except (EOFError, OSError):
                logger.info("the pool went away; closing the handler")
                return 0
            if isinstance(command, RunTask):
                self.run_task(command)
            elif isinstance(command, ExportSession):
                self.export_session()
            elif isinstance(command, RestartHandler):
                if not self.restart(command):
                    return 1
            elif isinstance(command, Stop):
                self.stopping = True
                self.close_handler()
                self.channel.send(Stopped())
                return 0
            else:
                logger.warning("unknown command %r ignored", command)


def _heartbeat_loop(worker: Worker, interval: float) -> None:
    next_check = time.monotonic() + REMOTE_CHECK_SECONDS
    while True:
        time.sleep(interval)
        if worker.stopping:
            return
        throttle = worker.throttle
        if throttle is not None:
            throttle.flush()  # a stage held back by the rate limit goes out now
        elif time.monotonic() >= next_check:
            next_check = time.monotonic() + REMOTE_CHECK_SECONDS
            worker.check_remote()
        if not worker.channel.send(Heartbeat()):
            if worker.stopping:
                return
            # The main process is gone while the handler may be stuck in a task: kill its
            # processes ourselves and leave, rather than live on as an orphan.
            logger.debug("pool gone; killing the handler's processes and exiting")
            kill_tree(worker.child_pids())
            os._exit(3)


def worker_main(spec: WorkerSpec, conn: Connection) -> None:
    """Entry point of a worker process."""
    _ignore_interrupts()
    channel = Channel(conn)
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(PipeLogHandler(channel, spec.worker_id))
    root.setLevel(spec.log_level)
    code = 1
    worker: Worker | None = None
    try:
        worker = Worker(spec, channel)
        threading.Thread(
            target=_heartbeat_loop,
            args=(worker, spec.heartbeat_interval),
            name="heartbeat",
            daemon=True,
        ).start()
        code = worker.serve()
    except Exception as exc:
        logger.exception("worker failed")
        channel.send(Fatal("E_INTERNAL", f"{type(exc).__name__}: {exc}"))
    finally:
        if worker is not None:
            worker.stopping = True
            worker.close_handler()
    logging.shutdown()
    sys.exit(code)
