"""The handler protocol: the engine's worker, as every executor sees it.

A handler processes one PO at a time for as long as it lives (the browser engine's is
``coupadl.engine.browser.handler.BrowserHandler``: one long-lived browser; the tests use
fakes from ``tests/fakes``). Executors never import an engine: they get the handler's
factory as a ``"module:callable"`` path and load it where the handler runs (the pool: in
the worker process, spawn start method, so nothing unpicklable crosses a process).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from coupadl.errors import ConfigError, CoupadlError
from coupadl.models import POResult, POTask, Status
from coupadl.settings import Settings

SessionData = Any  # opaque to the executors, picklable; the browser engine's is its cookie list
# Called by the handler to report what it is doing; every call is a heartbeat.
ProgressFn = Callable[[str], None]


@runtime_checkable
class Handler(Protocol):
    """One worker of an engine, alive from :meth:`start` to :meth:`close`."""

    def start(self) -> None:
        """Get ready for POs. Raises a :class:`coupadl.errors.CoupadlError` (its code is
        reported) when it cannot."""

    def process(self, task: POTask, progress: ProgressFn) -> POResult:
        """Process one PO, calling ``progress("navigating")``, ``progress("downloading
        1/3")``, … as it goes. Returns a result for every outcome it understands; set
        ``transient=True`` when another attempt may help."""

    def close(self) -> None:
        """Release what :meth:`start` took. Must not raise for a handler already dead."""

    def child_pids(self) -> list[int]:
        """The OS processes it owns, for supervision and memory ([] if none): they are
        killed with the worker even after it died and they were re-parented."""

    def export_session(self) -> SessionData:
        """Its session, for another handler to :meth:`import_session`."""

    def import_session(self, session: SessionData) -> None:
        """Take over a session another handler exported."""

    def session_ok(self) -> bool:
        """True when its session is signed in (POs will not ask for a new sign-in)."""


@runtime_checkable
class RemoteHandler(Protocol):
    """A handler whose work runs on another machine (a browser on a Selenium Grid): it
    has no local processes to watch, so its worker asks it, between POs, whether it is
    still there."""

    def alive(self) -> bool:
        """False when the remote end is gone; a cheap call, never a page load."""


@dataclass(frozen=True)
class EngineSpec:
    """An engine as the executors see it: its parts by ``"module:callable"`` path, so an
    executor imports no engine (the engines are listed in ``coupadl.engine.spec``)."""

    name: str
    # (worker_id, settings, workdir, session) -> Handler: a HandlerFactory
    handler_factory: str
    # Once per run, in the main process: a work folder per worker and maybe a shared
    # session (the browser engine: profile clones, or empty profiles plus cookies).
    prepare_factory: str
    # The error code of a PO whose worker died before it returned a result.
    failure_code: str


def failed_attempt(task: POTask, exc: BaseException, started: float) -> POResult:
    """The result of an attempt whose handler raised: failed, worth another attempt (every
    executor replaces such a handler)."""
    code = exc.code if isinstance(exc, CoupadlError) else "E_INTERNAL"
    return POResult(
        po_number=task.po_number,
        status=Status.FAILED,
        error_code=code,
        message=f"{type(exc).__name__}: {exc}",
        started_at=started,
        finished_at=time.time(),
        transient=True,
    )


class HandlerFactory(Protocol):
    """``factory(worker_id, settings, workdir, session) -> Handler``."""

    def __call__(
        self,
        worker_id: str,
        settings: Settings,
        workdir: Path | None,
        session: SessionData | None,
    ) -> Handler: ...


def load_factory(path: str) -> HandlerFactory:
    """Import a handler factory given as ``"package.module:callable"``."""
    return cast(HandlerFactory, load_callable(path))


def load_callable(path: str) -> Callable[..., Any]:
    """Import ``"package.module:callable"`` and return the callable: how an executor gets
    an engine's parts without importing any engine."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"a factory must look like 'package.module:callable', not {path!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import the factory module {module_name!r}: {exc}") from exc
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise ConfigError(f"{module_name!r} has no attribute {attr!r}") from exc
    if not callable(obj):
        raise ConfigError(f"factory {path!r} is not callable")
    return cast(Callable[..., Any], obj)
