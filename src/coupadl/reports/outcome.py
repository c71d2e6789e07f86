"""What a run came to (``RunOutcome``) and the exit code that says so."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from coupadl.errors import ExitCode
from coupadl.models import Status


@dataclass
class RunOutcome:
    """What a run came to. ``exit_code`` is what the CLI exits with."""

    exit_code: ExitCode
    out: Path
    results_path: Path
    report_path: Path
    mode: str
    workers: int
    processed: int  # POs finished in this run
    skipped: int  # POs finished by earlier runs
    pending: list[str] = field(default_factory=list)
    invalid_rows: int = 0
    pool_startup_seconds: float | None = None
    by_status: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0


def workers_phrase(mode: str, workers: int) -> str:
    """How many worked at once, as a person reads it: browsers, or POs in flight."""
    if mode == "http":
        return f"up to {workers} PO(s) at once over HTTP"
    if mode == "api":
        return f"up to {workers} PO(s) at once through the Coupa API"
    return f"{workers} browser(s)"


def exit_code_for(by_status: Counter[str], pending: Sequence[str], auth_stopped: bool) -> ExitCode:
    """The documented exit code for a run's outcome."""
    if auth_stopped:
        return ExitCode.AUTH_REQUIRED
    incomplete = {Status.FAILED, Status.PARTIAL, Status.TIMEOUT}
    if pending or any(by_status.get(s.value) for s in incomplete):
        return ExitCode.INCOMPLETE
    return ExitCode.OK
