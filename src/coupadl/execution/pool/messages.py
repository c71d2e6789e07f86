"""Messages on the pipe between the pool (main process) and one worker process.

Each worker has its own duplex pipe rather than sharing one queue with the others: a
worker killed in the middle of a write can then corrupt nothing but its own pipe (a
shared ``multiprocessing.Queue`` has a write lock that a killed writer may hold for
ever), and a killed worker's late messages cannot reach the pool at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from coupadl.execution.handler import SessionData
from coupadl.models import POResult, POTask
from coupadl.settings import Settings


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs; picklable."""

    worker_id: str
    settings: Settings
    handler_factory: str
    workdir: Path | None
    session: SessionData | None = field(repr=False)
    failure_code: str  # a start failure's code when the handler's error carries none
    heartbeat_interval: float
    log_level: int


# -- pool → worker ------------------------------------------------------------------------
@dataclass(frozen=True)
class RunTask:
    token: int
    task: POTask


@dataclass(frozen=True)
class RestartHandler:
    """Close the handler and start a new one (recycle, or a new session)."""

    session: SessionData | None = field(default=None, repr=False)


@dataclass(frozen=True)
class ExportSession:
    pass


@dataclass(frozen=True)
class Stop:
    pass


# -- worker → pool ------------------------------------------------------------------------
@dataclass(frozen=True)
class Ready:
    pid: int
    child_pids: list[int]
    signed_in: bool | None  # the handler's session_ok(); None: could not tell


@dataclass(frozen=True)
class Heartbeat:
    pass


@dataclass(frozen=True)
class HandlerLost:
    """An idle worker's remote handler is gone (a Grid lost its session)."""

    reason: str


@dataclass(frozen=True)
class Progress:
    token: int
    text: str


@dataclass(frozen=True)
class TaskDone:
    token: int
    result: POResult
    child_pids: list[int]
    # The handler raised instead of returning: it is suspect, restart it.
    broken: bool = False


@dataclass(frozen=True)
class ExportedSession:
    """The answer to ExportSession: the session, or None and why not."""

    session: SessionData | None = field(repr=False)
    error: str = ""


@dataclass(frozen=True)
class Fatal:
    """The handler could not start (or restart); the worker exits after sending this."""

    code: str
    message: str


@dataclass(frozen=True)
class Stopped:
    pass


@dataclass(frozen=True)
class LogRecordMsg:
    """A log record from the worker, re-emitted by the pool under the same logger."""

    name: str
    levelno: int
    message: str
    exc_text: str | None
    created: float
