"""Configuration of one pool. Only picklable parts (settings, factory paths, work
folders, the session) go to the worker processes; the callback stays in the main one."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from coupadl.execution.pool.events import EventCallback
from coupadl.execution.pool.monitor import DEFAULT_PER_WORKER_MB, auto_worker_count
from coupadl.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class PoolConfig:
    settings: Settings
    # The engine's parts by "module:callable" path (coupadl.execution.handler.EngineSpec names
    # them): the handler each worker runs (coupadl.execution.handler.HandlerFactory),
    # and the once-per-run step in the main process that makes a work folder per worker
    # and maybe a session every worker starts with.
    handler_factory: str
    prepare_factory: str
    # The error code of a PO whose worker died before it returned a result.
    failure_code: str
    # None: settings.workers. "auto": from the memory budget and CPUs (auto_worker_count).
    workers: int | Literal["auto"] | None = None
    # What the prepare step starts from (the browser engine: the signed-in profile to
    # clone per worker); None lets the handler pick its own.
    base_profile: Path | None = None
    clone_parent: Path | None = None  # where the work folders go (default: the temp dir)
    on_event: EventCallback | None = None
    # The runner can ask the user to sign in again when the pool pauses for auth. The
    # pool behaves the same either way; this only changes what the pause event says.
    interactive: bool = False
    # Tuning knobs that are not user settings.
    heartbeat_interval: float = 1.0
    memory_interval: float = 2.0
    per_worker_mb: float = DEFAULT_PER_WORKER_MB
    start_attempts: int = 3  # tries to bring up a worker that never came up yet


def resolve_worker_count(config: PoolConfig, budget_mb: float) -> int:
    """The target number of workers for this pool."""
    wanted = config.workers if config.workers is not None else config.settings.workers
    if wanted == "auto":
        count = auto_worker_count(
            budget_mb, os.cpu_count(), config.per_worker_mb, config.settings.max_workers
        )
        logger.info(
            "workers=auto: %d worker(s) for a %.0f MB budget and %s CPU(s)",
            count,
            budget_mb,
            os.cpu_count(),
        )
        return count
    return max(1, int(wanted))
