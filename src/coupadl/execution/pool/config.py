"""Configuration of one pool. Only picklable parts (settings, factory path, profile
directories, cookies) go to the worker processes; the callback stays in the main one."""

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

DEFAULT_HANDLER_FACTORY = "coupadl.engine.browser.processor:BrowserHandler"
# The engine's once-per-run step in the main process: a profile folder per worker, maybe
# a shared session (see coupadl/engine/browser/prepare.py). Loaded by path, like the handler.
DEFAULT_PREPARE_FACTORY = "coupadl.engine.browser.prepare:prepare_profiles"


@dataclass
class PoolConfig:
    settings: Settings
    # None: settings.workers. "auto": from the memory budget and CPUs (auto_worker_count).
    workers: int | Literal["auto"] | None = None
    handler_factory: str = DEFAULT_HANDLER_FACTORY
    prepare_factory: str = DEFAULT_PREPARE_FACTORY
    # The signed-in profile to clone per worker; None lets the handler pick its own.
    base_profile: Path | None = None
    clone_parent: Path | None = None  # where clones go (default: the system temp dir)
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
