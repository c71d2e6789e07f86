"""The JSON event log of a run (``--log-format json --log-file PATH``), written with
structlog: one JSON object per line, appended, flushed line by line.

Every line has ``ts`` (ISO 8601, UTC), ``level``, ``event`` and ``run_id``; each event
has a fixed set of further keys (see ``EVENT_KEYS``), present even when empty, so a log
shipper or ``jq`` can rely on them:

- ``run_started``: the run's plan; ``run_finished``: its end, with the exit code;
- ``po_result``: one per PO result of this run;
- ``pool_event``: restarts, retries, pauses for sign-in, interrupts, ...;
- ``log``: warnings and errors logged during the run.

Secrets never reach the file: values under keys that name a cookie, password, token or
secret are replaced, and the configured password is scrubbed from every text.
"""

from __future__ import annotations

import logging
import re
import threading
import uuid
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

import structlog

from coupadl import __version__
from coupadl.errors import OutputError
from coupadl.execution.progress import RunEvent, RunListener, RunProgress, RunSnapshot
from coupadl.models import POResult

REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"cookie|passw|secret|token|authori[sz]ation|credential", re.IGNORECASE)

EVENT_KEYS: dict[str, tuple[str, ...]] = {
    "run_started": ("input", "out", "mode", "workers", "total", "skipped", "version"),
    "po_result": (
        "po", "status", "error_code", "message", "supplier", "requisition_id",
        "attachments_found", "attachments_downloaded", "files", "folder", "worker",
        "attempts", "duration_s", "done", "total",
    ),
    "pool_event": ("kind", "message", "worker", "po", "data"),
    "log": ("logger", "message"),
    "run_finished": ("exit_code", "done", "total", "by_status", "elapsed_s", "phase"),
}  # fmt: skip
COMMON_KEYS = ("ts", "level", "event", "run_id")

# Records the JSON log already has as pool_event lines (pool/run.py logs each event).
_DUPLICATE_MESSAGES = frozenset({"pool: %s"})


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``value`` with secret-named keys masked and every ``secrets`` text scrubbed.

    A number under such a key stays (e.g. how many cookies were shared): a count is no
    secret, and masking it would hide what happened."""
    known = [s for s in secrets if s]
    return _redact(value, known)


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {
            key: (
                REDACTED
                if _SECRET_KEY.search(str(key)) and not _is_number(item)
                else _redact(item, secrets)
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item, secrets) for item in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class JsonRunLog(RunListener):
    """Writes a run's events to ``path`` as JSON lines; also a logging handler's target.

    Use as a context manager around the run; it registers itself on ``monitor``."""

    def __init__(
        self,
        path: Path,
        monitor: RunProgress,
        *,
        input_path: Path,
        out: Path,
        secrets: Iterable[str] = (),
        level: int = logging.WARNING,
    ) -> None:
        self.path = path
        self.run_id = uuid.uuid4().hex[:12]
        self.input_path, self.out = input_path, out
        self._secrets = [s for s in secrets if s]
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file: TextIO = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"Cannot write the log file {path}: {exc}") from exc
        self._log = structlog.wrap_logger(
            structlog.WriteLogger(self._file),
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
                self._scrub,
                structlog.processors.JSONRenderer(sort_keys=True, ensure_ascii=False, default=str),
            ],
        )
        self.handler = _LogBridge(self, level)
        monitor.add_listener(self)

    def _scrub(
        self, logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event_dict["run_id"] = self.run_id
        cleaned = redact(dict(event_dict), self._secrets)
        return dict(cleaned)

    def write(self, event: str, level: str = "info", **fields: Any) -> None:
        """One line; ``fields`` must be exactly the event's ``EVENT_KEYS``."""
        with self._lock:
            if self._file.closed:
                return
            getattr(self._log, level)(event, **fields)

    # -- RunListener ---------------------------------------------------------------------
    def run_started(self, snapshot: RunSnapshot) -> None:
        self.write(
            "run_started",
            input=str(self.input_path),
            out=str(self.out),
            mode=snapshot.mode,
            workers=snapshot.workers_target,
            total=snapshot.total,
            skipped=snapshot.skipped,
            version=__version__,
        )

    def po_finished(self, result: POResult, snapshot: RunSnapshot) -> None:
        self.write(
            "po_result",
            level="info" if result.status.is_done else "warning",
            po=result.po_number,
            status=result.status.value,
            error_code=result.error_code,
            message=result.message,
            supplier=result.supplier,
            requisition_id=result.requisition_id,
            attachments_found=result.attachments_found,
            attachments_downloaded=result.attachments_downloaded,
            files=[
                {"name": f.name, "size": f.size, "sha256": f.sha256, "source": f.source.value}
                for f in result.files
            ],
            folder=str(result.folder) if result.folder is not None else None,
            worker=result.worker,
            attempts=result.attempts,
            duration_s=round(result.duration, 3),
            done=snapshot.done,
            total=snapshot.total,
        )

    def event(self, event: RunEvent) -> None:
        self.write(
            "pool_event",
            level="warning" if event.kind in _WARNING_KINDS else "info",
            kind=event.kind,
            message=event.message,
            worker=event.worker_id,
            po=event.po_number,
            data=dict(event.data),
        )

    def run_finished(self, snapshot: RunSnapshot, exit_code: int) -> None:
        self.write(
            "run_finished",
            exit_code=exit_code,
            done=snapshot.done,
            total=snapshot.total,
            by_status=snapshot.by_status,
            elapsed_s=round(snapshot.elapsed, 3),
            phase=snapshot.phase.value,
        )

    # -- life ----------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.close()

    def __enter__(self) -> JsonRunLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


_WARNING_KINDS = frozenset(
    {
        "worker_restarted",
        "worker_gave_up",
        "worker_retired",
        "paused_for_auth",
        "rate_limited",
        "pool_failed",
        "memory_pressure",
        "interrupt",
        "restart",
    }
)


class _LogBridge(logging.Handler):
    """Puts warnings and errors logged during the run into the JSON log as ``log``."""

    def __init__(self, target: JsonRunLog, level: int) -> None:
        super().__init__(level)
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg in _DUPLICATE_MESSAGES:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            level = record.levelname.lower()
            level = level if level in ("debug", "info", "warning", "error", "critical") else "info"
            self.target.write("log", level=level, logger=record.name, message=message)
        except Exception:  # noqa: BLE001 - a log call must never break the run
            self.handleError(record)
