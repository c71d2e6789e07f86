"""The handler protocol: what a worker process runs, one instance per worker.

The real handler is ``coupadl.engine.browser.processor.BrowserHandler`` (one long-lived browser that
processes one PO at a time); tests use fakes from ``tests/fakes``. The pool never imports
a handler in the main process: it passes the ``"module:callable"`` path to the worker
process, which imports and calls it there (spawn start method, nothing unpicklable).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

from coupadl.errors import ConfigError
from coupadl.models import POResult, POTask
from coupadl.settings import Settings

# Called by the handler to report what it is doing; every call is a heartbeat.
ProgressFn = Callable[[str], None]


@runtime_checkable
class Handler(Protocol):
    """One worker's browser, alive from :meth:`start` to :meth:`close`."""

    def start(self) -> None:
        """Open the long-lived browser. Raises :class:`coupadl.errors.BrowserError`."""

    def process(self, task: POTask, progress: ProgressFn) -> POResult:
        """Process one PO, calling ``progress("navigating")``, ``progress("downloading
        1/3")``, … as it goes. Returns a result for every outcome it understands; set
        ``transient=True`` when another attempt may help."""

    def close(self) -> None:
        """Close the browser and its driver. Must not raise for an already dead browser."""

    def child_pids(self) -> list[int]:
        """Pids of the driver and browser, so they can be killed even after the worker
        process died and they were re-parented."""

    def export_cookies(self) -> list[dict[str, Any]]:
        """All cookies of the session (CDP ``Network.getAllCookies``)."""

    def is_signed_in(self) -> bool:
        """True when the browser's session is signed in to Coupa."""


class HandlerFactory(Protocol):
    """``factory(worker_id, settings, profile_dir, cookies) -> Handler``."""

    def __call__(
        self,
        worker_id: str,
        settings: Settings,
        profile_dir: Path | None,
        cookies: list[dict[str, Any]] | None,
    ) -> Handler: ...


def load_factory(path: str) -> HandlerFactory:
    """Import a handler factory given as ``"package.module:callable"``."""
    return cast(HandlerFactory, load_callable(path))


def load_callable(path: str) -> Callable[..., Any]:
    """Import ``"package.module:callable"`` and return the callable: how the pool gets
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
