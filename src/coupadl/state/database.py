"""The SQLite file under the run state: created private, opened, brought to the schema.

:class:`~coupadl.state.store.RunState` asks its questions through the connection this
opens; here is what the file is: its tables and their version, the pragmas that make
every commit durable, and SQLite's "disk full" / "read-only" turned into the error
that stops a run.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from coupadl.errors import OutputError, OutputUnavailableError
from coupadl.files.space import DISK_FULL, OUTPUT_READ_ONLY, output_error

SCHEMA_VERSION = 3
# What each version adds to the one before (version 1 is _SCHEMA without these).
_MIGRATIONS = {
    2: (
        "ALTER TABLE pos ADD COLUMN engine TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE pos ADD COLUMN engine_check TEXT NOT NULL DEFAULT ''",
    ),
    # --refresh: when a refresh last read the PO, and when it added each file.
    3: (
        "ALTER TABLE pos ADD COLUMN last_refreshed REAL NOT NULL DEFAULT 0",
        "ALTER TABLE files ADD COLUMN added_at REAL NOT NULL DEFAULT 0",
    ),
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS pos (
    po_number TEXT PRIMARY KEY,
    status TEXT,
    error_code TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    supplier TEXT NOT NULL DEFAULT '',
    requisition_id TEXT NOT NULL DEFAULT '',
    url TEXT NOT NULL DEFAULT '',
    attachments_found INTEGER NOT NULL DEFAULT 0,
    folder TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    started_at REAL NOT NULL DEFAULT 0,
    finished_at REAL NOT NULL DEFAULT 0,
    worker TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'finished'))
);
CREATE INDEX IF NOT EXISTS pos_state ON pos (state);
CREATE TABLE IF NOT EXISTS files (
    po_number TEXT NOT NULL REFERENCES pos (po_number) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (po_number, position)
);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at REAL NOT NULL,
    finished_at REAL,
    input_path TEXT NOT NULL,
    mode TEXT NOT NULL,
    exit_code INTEGER
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    po_number TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind);
"""


def _make_private_dir(folder: Path) -> None:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name == "posix":
        # mkdir's mode is filtered by the umask, and an existing folder keeps its mode.
        folder.chmod(0o700)


def _make_private_file(path: Path) -> None:
    # Create the file ourselves so it never exists with looser permissions, even
    # briefly; SQLite gives the -wal/-shm files the database file's mode.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)
    if os.name == "posix":
        path.chmod(0o600)


@contextlib.contextmanager
def unavailable_as_output_error(path: Path) -> Iterator[None]:
    """SQLite's "disk is full" / "readonly database" become the run-stopping error."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc).lower()
        if "full" in text:
            code = DISK_FULL
        elif "readonly" in text or "read-only" in text:
            code = OUTPUT_READ_ONLY
        else:
            raise
        raise OutputUnavailableError(
            f"Cannot write the run state {path} ({exc}). The run stopped; what was not "
            "recorded is still pending. Free some space on the output disk (or make it "
            "writable), then run the same command again.",
            code=code,
        ) from exc


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, path: Path) -> Iterator[sqlite3.Connection]:
    """One write transaction on ``db`` (the state at ``path``); the caller holds its lock."""
    # BEGIN IMMEDIATE takes the write lock up front, so a transaction never fails
    # half-way because another connection started writing.
    with unavailable_as_output_error(path):
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # a failed write may have ended it
                db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")


def open_database(folder: Path, path: Path) -> sqlite3.Connection:
    """The state database ``path`` in ``folder``, both private, at :data:`SCHEMA_VERSION`.

    The connection may be shared between threads (``check_same_thread=False``): the
    caller serialises its use."""
    try:
        _make_private_dir(folder)
        _make_private_file(path)
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30.0)
    except OSError as exc:
        raise output_error(exc, f"Cannot open the run state {path}") from exc
    except sqlite3.Error as exc:
        raise OutputError(f"Cannot open the run state {path}: {exc}") from exc
    try:
        with unavailable_as_output_error(path):
            _setup(db, path)
    except OutputError:
        db.close()
        raise
    except sqlite3.DatabaseError as exc:
        db.close()
        raise OutputError(
            f"The run state {path} is damaged ({exc}). Delete the folder "
            f"{folder} to start over; already downloaded files are kept."
        ) from exc
    return db


def _setup(db: sqlite3.Connection, path: Path) -> None:
    db.row_factory = sqlite3.Row
    # WAL lets readers (another process looking at progress) not block the run.
    db.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit survives a power cut once the call has returned.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    version = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise OutputError(
            f"The run state {path} was written by a newer coupadl "
            f"(schema {version}, this one knows {SCHEMA_VERSION}). Upgrade coupadl "
            f"or use another output folder."
        )
    if version == 0:
        _create_schema(db, path)
    elif version < SCHEMA_VERSION:
        _migrate(db, path, version)


def _migrate(db: sqlite3.Connection, path: Path, version: int) -> None:
    """Bring a state written by an older coupadl to this schema, in one transaction."""
    with transaction(db, path):
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[step]:
                db.execute(statement)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")


def _create_schema(db: sqlite3.Connection, path: Path) -> None:
    # Statement by statement inside one transaction: executescript() would commit
    # on its own, and a crash half-way must not leave a schema without a version.
    with transaction(db, path):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        for step in range(2, SCHEMA_VERSION + 1):
            for statement in _MIGRATIONS[step]:
                db.execute(statement)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
