"""What ``coupadl run`` shows while it works, and where it logs.

On a terminal: the live dashboard (cli/dashboard.py). Without one (CI, a scheduled task,
piped output): plain lines, one per PO plus a periodic summary (cli/plainlog.py).
``--quiet`` shows neither. ``--log-file`` also writes the log to a file, as text lines or,
with ``--log-format json``, as JSON events (observability/jsonlog.py).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from rich.console import Console

from coupadl.errors import ConfigError, OutputError
from coupadl.execution.progress import RunProgress
from coupadl.settings import LogFormat, Settings

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(message)s"


@contextmanager
def run_view(
    console: Console, settings: Settings, input_path: Path, *, quiet: bool
) -> Iterator[RunProgress]:
    """The monitor to hand to ``run_batch``, shown and logged as the settings say."""
    if settings.log_format is LogFormat.JSON and settings.log_file is None:
        raise ConfigError("--log-format json writes to a file: add --log-file PATH")
    monitor = RunProgress()
    with ExitStack() as stack:
        if settings.log_file is not None:
            stack.enter_context(_file_log(settings, settings.log_file, input_path, monitor))
        if quiet:
            pass
        elif console.is_terminal:
            from coupadl.cli.dashboard import Dashboard

            stack.enter_context(Dashboard(console, monitor))
        else:
            from coupadl.cli.plainlog import PlainProgress

            stack.enter_context(PlainProgress(monitor, settings.status_interval))
        yield monitor


@contextmanager
def _file_log(
    settings: Settings, path: Path, input_path: Path, monitor: RunProgress
) -> Iterator[None]:
    root = logging.getLogger()
    handler: logging.Handler
    if settings.log_format is LogFormat.JSON:
        from coupadl.observability.jsonlog import JsonRunLog

        json_log = JsonRunLog(
            path,
            monitor,
            input_path=input_path,
            out=settings.out,
            secrets=[settings.password or ""],
        )
        handler = json_log.handler
        closer = json_log.close
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handler = logging.FileHandler(path, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"Cannot write the log file {path}: {exc}") from exc
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
        closer = handler.close
    # The root handler: the "coupadl" logger's level (--verbose/--quiet) decides what
    # reaches it, as for the console.
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        closer()
