"""In-process fakes for the inline executor's unit tests: a handler whose outcome per
PO attempt is scripted, and a prepare step. Everything they see lands in ``LOG``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coupadl.models import POResult, POTask, Status

# po -> outcomes, one per attempt: a Status, "raise", or ("429", seconds)
SCRIPT: dict[str, list[Any]] = {}
LOG: list[tuple[Any, ...]] = []
FACTORY = "inline_fakes:ScriptedHandler"
PREPARE = "inline_fakes:prepare"


def reset(script: dict[str, list[Any]]) -> None:
    SCRIPT.clear()
    SCRIPT.update({po: list(outcomes) for po, outcomes in script.items()})
    LOG.clear()


class RecordingState:
    """The run state as an executor sees it (``InlineState``), recording every call."""

    def __init__(self) -> None:
        self.running: list[tuple[str, str]] = []
        self.events: list[tuple[str, str, str]] = []

    def mark_running(self, po: str, worker: str) -> None:
        self.running.append((po, worker))

    def record_event(self, po: str, kind: str, detail: str = "") -> None:
        self.events.append((po, kind, detail))


class ScriptedHandler:
    count = 0

    def __init__(self, worker_id: str, settings: Any, workdir: Path | None, session: Any) -> None:
        ScriptedHandler.count += 1
        self.name = f"{worker_id}#{ScriptedHandler.count}"
        LOG.append(("made", self.name, workdir, session))

    def start(self) -> None:
        LOG.append(("start", self.name))

    def process(self, task: POTask, progress: Any) -> POResult:
        progress("navigating")
        LOG.append(("process", self.name, task.po_number, task.attempt))
        outcomes = SCRIPT.get(task.po_number) or [Status.COMPLETED]
        outcome = outcomes.pop(0) if len(outcomes) > 1 else outcomes[0]
        if outcome == "raise":
            raise RuntimeError(f"handler broke on {task.po_number}")
        if isinstance(outcome, tuple):
            return POResult(task.po_number, Status.FAILED, "E_RATE_LIMITED", transient=True,
                            retry_after=outcome[1])  # fmt: skip
        return POResult(task.po_number, outcome, transient=outcome is Status.FAILED)

    def close(self) -> None:
        LOG.append(("close", self.name))

    def child_pids(self) -> list[int]:
        return []

    def export_session(self) -> Any:
        LOG.append(("export", self.name))
        return {"token": "seed-session"}

    def import_session(self, session: Any) -> None:
        LOG.append(("import", self.name, session))

    def session_ok(self) -> bool:
        return True


@dataclass
class Prepared:
    workdirs: list[Path | None]
    session: Any = None
    released: list[bool] = field(default_factory=list)

    def release(self) -> None:
        LOG.append(("release",))


def prepare(settings: Any, base: Path | None, clone_parent: Path | None, count: int,
            export_session: Any) -> Prepared:  # fmt: skip
    """Like the browser's: a work folder per worker; with profile reuse off, the
    session of a handler started on a seed folder."""
    LOG.append(("prepare", base, count))
    workdirs: list[Path | None] = [Path(f"/nonexistent/work-{i}") for i in range(count)]
    if settings.profile_reuse_enabled:
        return Prepared(workdirs)
    return Prepared(workdirs, export_session(Path("/nonexistent/seed")))
