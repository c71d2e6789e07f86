"""The main process's view of one worker: its process, pipe, state and timers.

A slot outlives its processes: a restarted, recycled or retired-and-revived worker keeps
its id, its work folder and its counters. Only the supervisor thread changes a slot,
under the pool's lock.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import time
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext, SpawnProcess
from pathlib import Path

import psutil

from coupadl.execution.handler import SessionData
from coupadl.execution.pool.messages import WorkerSpec
from coupadl.execution.pool.proctree import is_alive, kill_tree, watch
from coupadl.execution.pool.queue import TaskRecord
from coupadl.execution.pool.worker import worker_main
from coupadl.execution.status import WorkerState, WorkerStatus

logger = logging.getLogger(__name__)

MB = 1024 * 1024


def spawn_context() -> SpawnContext:
    # The same start method everywhere: fork would copy the main process's threads and
    # locks into the child (unsafe with the supervisor thread running) and does not exist
    # on Windows; testing with spawn on Linux is then testing what Windows users run.
    return multiprocessing.get_context("spawn")


class WorkerSlot:
    def __init__(self, worker_id: str, workdir: Path | None) -> None:
        self.worker_id = worker_id
        self.workdir = workdir
        self.session: SessionData | None = None  # what its next handler starts with
        self.state = WorkerState.STOPPED
        self.process: SpawnProcess | None = None
        self.conn: Connection | None = None
        self.children: list[psutil.Process] = []  # every pid the handler reported
        self.watched: list[psutil.Process] = []  # the handler's top processes
        self.signed_in: bool | None = None
        # Task in hand.
        self.record: TaskRecord | None = None
        self.token = 0
        self.task_started = 0.0
        self._progress = ""
        self.stage_since = 0.0  # when ``progress`` last changed
        # Timers (time.monotonic()).
        self.last_heartbeat = 0.0
        self.last_progress = 0.0
        self.state_since = 0.0
        self.next_start_at = 0.0
        # Counters.
        self.tasks_done = 0
        self.tasks_since_start = 0
        self.restarts = 0
        self.start_failures = 0
        self.ever_ready = False
        self.memory_bytes = 0
        # Flags.
        self.retire_when_idle = False
        self.retiring = False  # stopping to free memory: RETIRED (not STOPPED) once gone
        self.last_error = ""
        # A new session for its running handler, taken when it is next idle.
        self.session_pending: SessionData | None = None

    # -- process -------------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def spawn(self, ctx: SpawnContext, spec: WorkerSpec) -> None:
        """Start a new worker process; it reports Ready or Fatal over the pipe."""
        parent_conn, child_conn = ctx.Pipe(duplex=True)
        process = ctx.Process(
            target=worker_main,
            args=(spec, child_conn),
            name=f"coupadl-{self.worker_id}",
            daemon=False,  # its handler may start processes, which daemons may not do
        )
        process.start()
        # Our copy of the child's end must go, or we would never see EOF when it dies.
        child_conn.close()
        self.process = process
        self.conn = parent_conn
        self.children = []
        self.watched = []
        now = time.monotonic()
        self.last_heartbeat = now
        self.last_progress = now
        self.tasks_since_start = 0
        self.last_error = ""
        self.set_state(WorkerState.STARTING)

    def set_state(self, state: WorkerState) -> None:
        self.state = state
        self.state_since = time.monotonic()

    @property
    def progress(self) -> str:
        """The task's stage as the handler last reported it ("navigating", ...)."""
        return self._progress

    @progress.setter
    def progress(self, text: str) -> None:
        # A repeated report (a keep-alive) is not a new stage: its start time stays.
        if text != self._progress:
            self._progress = text
            self.stage_since = time.monotonic()

    def send(self, message: object) -> bool:
        if self.conn is None:
            return False
        try:
            self.conn.send(message)
            return True
        except (OSError, ValueError) as exc:
            logger.debug("%s: send failed: %s", self.worker_id, exc)
            return False

    def record_children(self, pids: list[int]) -> None:
        """Remember the handler's processes: all of them, to kill them when the worker
        goes; and its top ones, to notice when they die.

        Handlers may report processes that come and go in normal work (the browser
        engine's renderers come and go with tabs). Only processes at most two levels below
        the worker (the browser engine's driver, and the browser the driver started) mean
        "the handler lost a process".

        Processes recorded earlier and still alive are kept: a browser handler whose driver
        was killed can no longer list the browser under it, yet that browser must be killed
        with the worker, or it holds the profile clone's lock and no restart can start."""
        kept = [proc for proc in self.children if is_alive(proc)]
        known = {proc.pid for proc in kept}
        self.children = kept + [proc for proc in watch(pids) if proc.pid not in known]
        self.watched = []
        worker = self.pid
        if worker is None:
            return
        parents: dict[int, int] = {}
        for proc in self.children:
            try:
                parents[proc.pid] = proc.ppid()
            except psutil.Error:
                continue
        for proc in self.children:
            parent = parents.get(proc.pid)
            if parent == worker or (parent in parents and parents[parent] == worker):
                self.watched.append(proc)

    def lost_process(self) -> bool:
        """True when one of the handler's top processes (see record_children) exited."""
        return any(not is_alive(proc) for proc in self.watched)

    def process_alive(self) -> bool:
        return self.process is not None and self.process.is_alive()

    def kill(self, timeout: float = 3.0) -> None:
        """Kill the worker, its whole process tree and the pids its handler reported
        (which may have been re-parented when the worker died), then drop the pipe."""
        pids = [proc.pid for proc in self.children if is_alive(proc)]
        if self.process is not None and self.process.pid is not None:
            pids.insert(0, self.process.pid)
        kill_tree(pids, timeout)
        self.reap()

    def reap(self) -> None:
        """Forget the process and pipe of a worker that has exited."""
        if self.process is not None:
            self.process.join(timeout=1.0)
            with contextlib.suppress(ValueError):
                self.process.close()
        if self.conn is not None:
            with contextlib.suppress(OSError):
                self.conn.close()
        self.process = None
        self.conn = None
        self.children = []
        self.watched = []
        self.memory_bytes = 0

    def root_pids(self) -> list[int]:
        # The watched processes' trees hold every live process of the handler; a stale pid
        # (a renderer gone) could by now belong to an unrelated process: not counted.
        pids = [proc.pid for proc in self.watched]
        if self.process is not None and self.process.pid is not None:
            pids.insert(0, self.process.pid)
        return pids

    # -- reporting -----------------------------------------------------------------------
    def status(self, now: float) -> WorkerStatus:
        busy = self.state is WorkerState.BUSY
        return WorkerStatus(
            worker_id=self.worker_id,
            state=self.state,
            pid=self.pid,
            current_po=self.record.po_number if self.record is not None else None,
            progress=self.progress if busy else "",
            seconds_since_progress=now - self.last_progress if busy else 0.0,
            tasks_done=self.tasks_done,
            restarts=self.restarts,
            memory_mb=self.memory_bytes / MB,
            child_pids=tuple(proc.pid for proc in self.children),
            stage_seconds=now - self.stage_since if busy else 0.0,
            po_seconds=now - self.task_started if busy else 0.0,
        )
