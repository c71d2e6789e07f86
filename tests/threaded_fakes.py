"""Fakes for the threaded executor's unit tests: a handler whose outcome per PO attempt is
scripted (as in ``inline_fakes``) and that can hold attempts at a barrier, so a test
knows several POs really were in flight at once. Everything lands in ``LOG``."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from coupadl.models import POResult, POTask, Status

# po -> outcomes, one per attempt: a Status, "raise", or ("429", seconds)
SCRIPT: dict[str, list[Any]] = {}
LOG: list[tuple[Any, ...]] = []
# (po, attempt) pairs that wait at BARRIER before they return.
HOLD: set[tuple[str, int]] = set()
BARRIER: list[threading.Barrier] = []
FACTORY = "threaded_fakes:ScriptedHandler"
PREPARE = "inline_fakes:prepare"
_lock = threading.Lock()


def reset(
    script: dict[str, list[Any]],
    hold: frozenset[tuple[str, int]] = frozenset(),
    timeout: float = 20.0,
) -> None:
    SCRIPT.clear()
    SCRIPT.update({po: list(outcomes) for po, outcomes in script.items()})
    LOG.clear()
    HOLD.clear()
    HOLD.update(hold)
    BARRIER.clear()
    BARRIER.append(threading.Barrier(max(1, len(hold)), timeout=timeout))


class ScriptedHandler:
    def __init__(self, worker_id: str, settings: Any, workdir: Path | None, session: Any) -> None:
        self.name = worker_id
        LOG.append(("made", worker_id, workdir, session))

    def start(self) -> None:
        LOG.append(("start", self.name))

    def process(self, task: POTask, progress: Any) -> POResult:
        progress("navigating")
        LOG.append(("process", self.name, task.po_number, task.attempt))
        with _lock:
            outcomes = SCRIPT.get(task.po_number) or [Status.COMPLETED]
            outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        if (task.po_number, task.attempt) in HOLD:
            BARRIER[0].wait()  # raises BrokenBarrierError if the others never come
        if outcome == "raise":
            raise RuntimeError(f"handler broke on {task.po_number}")
        if isinstance(outcome, tuple):
            return POResult(task.po_number, Status.FAILED, "E_RATE_LIMITED", transient=True,
                            retry_after=outcome[1])  # fmt: skip
        if outcome == "5xx":
            return POResult(task.po_number, Status.FAILED, "E_SERVER_ERROR", transient=True)
        return POResult(task.po_number, outcome, transient=outcome is Status.FAILED,
                        worker=self.name)  # fmt: skip

    def close(self) -> None:
        LOG.append(("close", self.name))

    def child_pids(self) -> list[int]:
        return []

    def export_session(self) -> Any:
        return {"token": "seed-session"}

    def import_session(self, session: Any) -> None:
        LOG.append(("import", self.name, session))

    def session_ok(self) -> bool:
        return True
