"""Plain data that flows through coupadl: tasks in, results out.

Everything here is a frozen-ish dataclass or an enum with no behaviour that needs
a browser, a process or a file system, so any layer can import it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path


class Status(enum.StrEnum):
    """The outcome of one PO. The value is what users see in STATUS columns."""

    COMPLETED = "COMPLETED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    NO_ATTACHMENTS = "NO_ATTACHMENTS"
    PO_NOT_FOUND = "PO_NOT_FOUND"
    ACCESS_DENIED = "ACCESS_DENIED"
    AUTH_REQUIRED = "AUTH_REQUIRED"
    TIMEOUT = "TIMEOUT"

    @property
    def is_done(self) -> bool:
        """True when re-running the same input must not fetch this PO again."""
        return self in DONE_STATUSES

    @property
    def is_deterministic(self) -> bool:
        """True when retrying cannot change the outcome (the server said so)."""
        return self in DETERMINISTIC_STATUSES


# Outcomes the server decided; another attempt would give the same answer.
DETERMINISTIC_STATUSES = frozenset(
    {Status.NO_ATTACHMENTS, Status.PO_NOT_FOUND, Status.ACCESS_DENIED}
)
DONE_STATUSES = DETERMINISTIC_STATUSES | {Status.COMPLETED}


class AttachmentSource(enum.StrEnum):
    """Where on the Coupa pages an attachment was listed."""

    HEADER = "header"
    COMMENT = "comment"
    REQUISITION_HEADER = "requisition_header"
    REQUISITION_COMMENT = "requisition_comment"


@dataclass(frozen=True)
class Attachment:
    """One attachment listed on a PO or requisition page."""

    name: str
    url: str
    source: AttachmentSource
    # Bytes, where the listing says (the API's ``file-file-size``; web pages do not).
    size: int | None = None


@dataclass(frozen=True)
class POTask:
    """One PO to process: the normalised number and where its files go."""

    po_number: str
    # Folder levels under the output dir; empty means "use the supplier".
    folder_levels: tuple[str, ...] = ()
    attempt: int = 1
    # --refresh: what earlier runs saved of this finished PO; only new files are fetched.
    earlier: Earlier | None = None


@dataclass(frozen=True)
class FileResult:
    """A file that ended up on disk, verified."""

    name: str
    size: int
    sha256: str
    source: AttachmentSource
    url: str = ""
    # When a --refresh run added the file (time.time()); 0 for the PO's first download.
    added_at: float = 0.0


@dataclass
class POResult:
    """Everything known about one PO after one attempt. Plain data, picklable."""

    po_number: str
    status: Status
    error_code: str = ""
    message: str = ""
    supplier: str = ""
    requisition_id: str = ""
    url: str = ""
    attachments_found: int = 0
    files: list[FileResult] = field(default_factory=list)
    folder: Path | None = None
    started_at: float = 0.0
    finished_at: float = 0.0
    attempts: int = 1
    worker: str = ""
    # Which engine read the PO ("http", "browser"); "" when it never reached one.
    engine: str = ""
    # engine = auto: "agreed" / "disagreed" when the browser read the PO's page too and
    # its attachment list was compared with plain HTTP's; "" when it was not checked.
    engine_check: str = ""
    # When a --refresh run last read the PO (time.time()); 0 when none did.
    last_refreshed: float = 0.0
    # True when another attempt may succeed (network error, HTTP 5xx/429, timeout).
    transient: bool = False
    # HTTP 429: seconds no new PO may start in any browser (coupadl.execution.ratelimit); else None.
    retry_after: float | None = None

    @property
    def attachments_downloaded(self) -> int:
        return len(self.files)

    @property
    def new_files(self) -> list[FileResult]:
        """The files the last refresh added (none when no refresh ran)."""
        stamp = self.last_refreshed
        return [f for f in self.files if stamp and f.added_at == stamp]

    @property
    def duration(self) -> float:
        return max(0.0, self.finished_at - self.started_at)


@dataclass(frozen=True)
class Earlier:
    """A finished PO as earlier runs left it, for a --refresh run: its status, its files
    and its folder (None when it has none, as a PO with no attachments)."""

    status: Status
    files: tuple[FileResult, ...] = ()
    folder: Path | None = None
