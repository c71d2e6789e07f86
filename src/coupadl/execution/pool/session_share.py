"""Session sharing: signed-out workers get the session of a signed-in one.

A worker whose handler comes up signed out (its ``session_ok()`` said no) waits in
WAITING_SESSION; a signed-in idle worker is asked to export its session (the browser
engine: its cookies over CDP, because recent Chrome/Edge on Windows bind cookie
encryption to the app, so a copied profile can come up signed out), and the waiting
workers restart their handler with it: no second sign-in. When no worker can give them a
session, they stop waiting and take POs anyway. On the supervisor's thread, under the lock.
"""

from __future__ import annotations

import logging

from coupadl.execution.pool.events import EventKind
from coupadl.execution.pool.messages import ExportedSession, ExportSession, RestartHandler
from coupadl.execution.pool.restarts import Restarts
from coupadl.execution.pool.slot import WorkerSlot
from coupadl.execution.pool.state import PoolState
from coupadl.execution.status import WorkerState

logger = logging.getLogger(__name__)


class SessionShare:
    """Moves a signed-in worker's session to the signed-out ones."""

    def __init__(self, state: PoolState, workers: Restarts) -> None:
        self.state = state
        self.workers = workers

    def place_ready(self, slot: WorkerSlot, signed_in: bool | None) -> None:
        """A worker just came up: signed out and never given a session, it waits for
        one; otherwise it is ready for POs."""
        if signed_in is False and slot.session is None:
            slot.set_state(WorkerState.WAITING_SESSION)
            return
        if signed_in is False:
            logger.warning(
                "%s is still signed out after importing the session; its POs will show "
                "whether the session is accepted",
                slot.worker_id,
            )
        slot.set_state(WorkerState.IDLE)

    def share(self) -> None:
        """Give waiting workers the shared session, or ask a signed-in worker for one."""
        waiting = self.state.in_state(WorkerState.WAITING_SESSION)
        if not waiting:
            return
        if self.state.shared_session is not None:
            self._hand_out(waiting)
            return
        if self._has_exporter():
            return
        donor = next(
            (
                s
                for s in self.state.slots
                if s.state is WorkerState.IDLE and s.signed_in is not False
            ),
            None,
        )
        if donor is not None:
            if donor.send(ExportSession()):
                donor.set_state(WorkerState.EXPORTING_SESSION)
            else:
                self.workers.restart(donor, "could not be asked for its session")
            return
        self.release_waiting_if_stuck()

    def _hand_out(self, waiting: list[WorkerSlot]) -> None:
        session = self.state.shared_session
        for slot in waiting:
            slot.session = session
            self.workers.restart_handler(slot, RestartHandler(session))
        names = ", ".join(s.worker_id for s in waiting)
        logger.info("imported the session into signed-out worker(s) %s", names)
        self.state.emit(
            EventKind.SESSION_SHARED,
            f"signed-out worker(s) {names} restarted with the session of a signed-in worker",
            data={"workers": [s.worker_id for s in waiting]},
        )

    def on_exported(self, slot: WorkerSlot, message: ExportedSession) -> None:
        """The donor's answer: the session to share, or nothing (the waiting go on)."""
        if slot.state is not WorkerState.EXPORTING_SESSION:
            return
        slot.set_state(WorkerState.IDLE)
        if message.session:
            self.state.shared_session = message.session
            # Never the session itself in a log: it holds credentials.
            logger.info("exported the session of %s for signed-out workers", slot.worker_id)
        else:
            logger.warning(
                "%s could not export its session (%s); signed-out workers go on as they are",
                slot.worker_id,
                message.error or "none returned",
            )
            self._release_waiting("no session could be exported")

    def release_waiting_if_stuck(self) -> None:
        """Signed-out workers stop waiting when no worker can give them a session."""
        if self.state.shared_session is not None or self._has_exporter():
            return
        could_donate = any(
            s.state in (WorkerState.STARTING, WorkerState.BACKOFF, WorkerState.STOPPED)
            or (s.state in (WorkerState.IDLE, WorkerState.BUSY) and s.signed_in is not False)
            for s in self.state.slots
        )
        if not could_donate:
            self._release_waiting("no worker is signed in")

    def _release_waiting(self, why: str) -> None:
        waiting = self.state.in_state(WorkerState.WAITING_SESSION)
        if not waiting:
            return
        logger.warning(
            "%s; signed-out worker(s) %s take POs anyway (the engine will report it if "
            "the session is really gone)",
            why,
            ", ".join(s.worker_id for s in waiting),
        )
        for slot in waiting:
            slot.set_state(WorkerState.IDLE)

    def _has_exporter(self) -> bool:
        return bool(self.state.in_state(WorkerState.EXPORTING_SESSION))
