"""The session of one handler started in a given work folder, in a worker process.

The engine's prepare step asks for this when workers start in empty work folders (the
browser engine: profile reuse off): one worker starts in a folder the engine made from
the signed-in base, exports its session, and stops; every worker then starts with it.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from coupadl.execution.handler import SessionData
from coupadl.execution.pool.messages import (
    ExportedSession,
    ExportSession,
    Fatal,
    Ready,
    Stop,
    WorkerSpec,
)
from coupadl.execution.pool.slot import WorkerSlot, spawn_context
from coupadl.settings import Settings

logger = logging.getLogger(__name__)


def export_session(
    settings: Settings,
    handler_factory: str,
    failure_code: str,
    workdir: Path,
    timeout: float,
    heartbeat_interval: float = 1.0,
) -> SessionData | None:
    """The session of a handler started in ``workdir``, or None (logged)."""
    slot = WorkerSlot("seed", workdir)
    try:
        slot.spawn(
            spawn_context(),
            WorkerSpec(
                worker_id="seed",
                settings=settings,
                handler_factory=handler_factory,
                workdir=workdir,
                session=None,
                failure_code=failure_code,
                heartbeat_interval=heartbeat_interval,
                log_level=logging.getLogger("coupadl").getEffectiveLevel(),
            ),
        )
        return _ask(slot, timeout)
    except (EOFError, OSError) as exc:
        logger.warning("the session-export worker went away: %s", exc)
        return None
    finally:
        slot.send(Stop())
        if slot.process is not None:
            slot.process.join(3.0)
        slot.kill(timeout=2.0)


def _ask(slot: WorkerSlot, timeout: float) -> SessionData | None:
    """Wait for the seed to be ready, ask for its session, wait for the answer."""
    deadline = time.monotonic() + timeout
    asked = False
    while time.monotonic() < deadline:
        assert slot.conn is not None
        if not slot.conn.poll(0.2):
            if not slot.process_alive():
                logger.warning("the session-export worker exited before answering")
                return None
            continue
        message = slot.conn.recv()
        if isinstance(message, Ready) and not asked:
            slot.record_children(message.child_pids)
            slot.send(ExportSession())
            asked = True
        elif isinstance(message, ExportedSession):
            if message.session is None:
                logger.warning("could not export the session: %s", message.error)
                return None
            logger.info("exported the base's session for workers in fresh work folders")
            return message.session
        elif isinstance(message, Fatal):
            logger.warning("the session-export worker did not start: %s", message.message)
            return None
    logger.warning("exporting the session took more than %.0f s; giving up", timeout)
    return None
