"""Session cookies from one handler started on a given profile, in a worker process.

The engine's prepare step asks for this when workers start on empty profiles (browser
profile reuse off): one worker starts on a clone of the signed-in base profile that the
engine made, exports its session, and stops; every worker then starts with it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from coupadl.execution.pool.messages import (
    Cookies,
    ExportCookies,
    Fatal,
    Ready,
    Stop,
    WorkerSpec,
)
from coupadl.execution.pool.slot import WorkerSlot, spawn_context
from coupadl.settings import Settings

logger = logging.getLogger(__name__)


def export_session_cookies(
    settings: Settings,
    handler_factory: str,
    profile: Path,
    timeout: float,
    heartbeat_interval: float = 1.0,
) -> list[dict[str, Any]] | None:
    """Cookies of a handler started on ``profile``, or None (logged)."""
    slot = WorkerSlot("seed", profile)
    try:
        slot.spawn(
            spawn_context(),
            WorkerSpec(
                worker_id="seed",
                settings=settings,
                handler_factory=handler_factory,
                profile_dir=profile,
                cookies=None,
                heartbeat_interval=heartbeat_interval,
                log_level=logging.getLogger("coupadl").getEffectiveLevel(),
            ),
        )
        deadline = time.monotonic() + timeout
        asked = False
        while time.monotonic() < deadline:
            assert slot.conn is not None
            if not slot.conn.poll(0.2):
                if not slot.process_alive():
                    logger.warning("the cookie-export browser exited before answering")
                    return None
                continue
            message = slot.conn.recv()
            if isinstance(message, Ready) and not asked:
                slot.record_children(message.child_pids)
                slot.send(ExportCookies())
                asked = True
            elif isinstance(message, Cookies):
                if message.cookies is None:
                    logger.warning("could not export the session cookies: %s", message.error)
                    return None
                logger.info(
                    "exported %d session cookie(s) from the base profile for fresh worker profiles",
                    len(message.cookies),
                )
                return message.cookies
            elif isinstance(message, Fatal):
                logger.warning("the cookie-export browser did not start: %s", message.message)
                return None
        logger.warning("exporting the session cookies took more than %.0f s; giving up", timeout)
        return None
    except (EOFError, OSError) as exc:
        logger.warning("the cookie-export browser went away: %s", exc)
        return None
    finally:
        slot.send(Stop())
        if slot.process is not None:
            slot.process.join(3.0)
        slot.kill(timeout=2.0)
