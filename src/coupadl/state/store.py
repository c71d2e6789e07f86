"""Durable run state in SQLite: what each PO reached, which files it has, what happened.

The results spreadsheet is for people; this database is what a re-run trusts. Every
method commits before it returns (``synchronous=FULL``), so a crash, a power cut or
Ctrl+C loses at most the PO that was being worked on, and ``in_flight()`` names it.
The file itself (schema, pragmas, private permissions) is :mod:`coupadl.state.database`.

One connection is shared by the main thread and the pool's supervisor thread
(``check_same_thread=False``); a lock serialises them because a sqlite3 connection
must not run two statements at once.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal

from coupadl.models import DONE_STATUSES, AttachmentSource, FileResult, POResult, Status
from coupadl.state.database import open_database, transaction

STATE_DIR_NAME = ".coupadl"
DB_NAME = "state.db"

PoState = Literal["pending", "running", "finished"]

_RESULT_FIELDS = (
    "po_number", "status", "error_code", "message", "supplier", "requisition_id", "url",
    "attachments_found", "folder", "attempts", "started_at", "finished_at", "worker",
    "engine", "engine_check", "last_refreshed",
)  # fmt: skip


@dataclass(frozen=True)
class RunRecord:
    """One row of ``runs``: ``finished_at``/``exit_code`` are None when it never ended."""

    id: int
    started_at: float
    finished_at: float | None
    input_path: str
    mode: str
    exit_code: int | None


class RunState:
    """The SQLite state of the runs into one output folder (``<out>/.coupadl/state.db``)."""

    def __init__(self, out_dir: Path) -> None:
        self.out = Path(out_dir)
        self.dir = self.out / STATE_DIR_NAME
        self.path = self.dir / DB_NAME
        self._lock = threading.RLock()
        self._db = open_database(self.dir, self.path)

    # --- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> RunState:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, transaction(self._db, self.path) as db:
            yield db

    def _query(self, sql: str, params: Iterable[object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    # --- runs ---------------------------------------------------------------------

    def begin_run(self, input_path: str, mode: str) -> int:
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT INTO runs (started_at, input_path, mode) VALUES (?, ?, ?)",
                (time.time(), str(input_path), mode),
            )
            return int(cursor.lastrowid or 0)

    def last_run(self) -> RunRecord | None:
        """The most recent run into this folder, or None when none was recorded."""
        rows = self._query("SELECT * FROM runs ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        r = rows[0]
        return RunRecord(
            r["id"], r["started_at"], r["finished_at"], r["input_path"], r["mode"], r["exit_code"]
        )

    def end_run(self, run_id: int, exit_code: int) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, exit_code = ? WHERE id = ?",
                (time.time(), int(exit_code), run_id),
            )

    # --- POs ----------------------------------------------------------------------

    def mark_pending(self, pos: Iterable[str]) -> None:
        """Queue POs. Earlier results are kept for ``get`` but no longer count as done."""
        now = time.time()
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO pos (po_number, updated_at, state) VALUES (?, ?, 'pending') "
                "ON CONFLICT (po_number) DO UPDATE SET state = 'pending', "
                "updated_at = excluded.updated_at",
                ((po, now) for po in pos),
            )

    def mark_running(self, po: str, worker: str) -> None:
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO pos (po_number, worker, updated_at, state) "
                "VALUES (?, ?, ?, 'running') ON CONFLICT (po_number) DO UPDATE SET "
                "state = 'running', worker = excluded.worker, updated_at = excluded.updated_at",
                (po, worker, now),
            )

    def record_result(self, result: POResult) -> None:
        """Store one attempt's result and its files, atomically.

        AUTH_REQUIRED goes back to 'pending': the PO was never really looked at.
        """
        state: PoState = "pending" if result.status is Status.AUTH_REQUIRED else "finished"
        values = (
            result.po_number, result.status.value, result.error_code, result.message,
            result.supplier, result.requisition_id, result.url, result.attachments_found,
            self._stored_folder(result.folder), result.attempts,
            result.started_at, result.finished_at, result.worker, result.engine,
            result.engine_check, result.last_refreshed,
        )  # fmt: skip
        columns = ", ".join(_RESULT_FIELDS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in _RESULT_FIELDS[1:])
        with self._transaction() as db:
            db.execute(
                f"INSERT INTO pos ({columns}, updated_at, state) "
                f"VALUES ({', '.join('?' * len(values))}, ?, ?) "
                f"ON CONFLICT (po_number) DO UPDATE SET {updates}, "
                "updated_at = excluded.updated_at, state = excluded.state",
                (*values, time.time(), state),
            )
            db.execute("DELETE FROM files WHERE po_number = ?", (result.po_number,))
            db.executemany(
                "INSERT INTO files (po_number, position, name, size, sha256, source, url, added_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        result.po_number,
                        i,
                        f.name,
                        f.size,
                        f.sha256,
                        f.source.value,
                        f.url,
                        f.added_at,
                    )
                    for i, f in enumerate(result.files)
                ),
            )

    def _stored_folder(self, folder: Path | None) -> str | None:
        """Folders are stored relative to ``<out>``, so a moved or differently spelled
        output path (relative, absolute) still finds them."""
        if folder is None:
            return None
        try:
            return str(Path(os.path.abspath(folder)).relative_to(os.path.abspath(self.out)))
        except ValueError:
            return str(folder)

    def _files(self, po: str) -> list[FileResult]:
        rows = self._query(
            "SELECT name, size, sha256, source, url, added_at FROM files "
            "WHERE po_number = ? ORDER BY position",
            (po,),
        )
        return [
            FileResult(
                r["name"],
                r["size"],
                r["sha256"],
                AttachmentSource(r["source"]),
                r["url"],
                r["added_at"],
            )
            for r in rows
        ]

    def _to_result(self, row: sqlite3.Row) -> POResult:
        return POResult(
            po_number=row["po_number"],
            status=Status(row["status"]),
            error_code=row["error_code"],
            message=row["message"],
            supplier=row["supplier"],
            requisition_id=row["requisition_id"],
            url=row["url"],
            attachments_found=row["attachments_found"],
            files=self._files(row["po_number"]),
            folder=self.out / row["folder"] if row["folder"] is not None else None,
            started_at=row["started_at"],
            finished_at=row["finished_at"],
            attempts=row["attempts"],
            worker=row["worker"],
            engine=row["engine"],
            engine_check=row["engine_check"],
            last_refreshed=row["last_refreshed"],
        )

    def get(self, po: str) -> POResult | None:
        """The last recorded result of ``po``, or None when it has none yet."""
        with self._lock:
            rows = self._query(
                "SELECT * FROM pos WHERE po_number = ? AND status IS NOT NULL", (po,)
            )
            return self._to_result(rows[0]) if rows else None

    def results(self) -> list[POResult]:
        """Every recorded result, in the order the POs were first seen."""
        with self._lock:
            rows = self._query("SELECT * FROM pos WHERE status IS NOT NULL ORDER BY rowid")
            return [self._to_result(r) for r in rows]

    def done_pos(self) -> set[str]:
        """POs a re-run must not fetch again (finished with a done status)."""
        done = sorted(s.value for s in DONE_STATUSES)
        rows = self._query(
            "SELECT po_number FROM pos WHERE state = 'finished' "
            f"AND status IN ({', '.join('?' * len(done))})",
            done,
        )
        return {r["po_number"] for r in rows}

    def known_pos(self) -> set[str]:
        """Every PO a run into this folder has queued (finished or not)."""
        return {r["po_number"] for r in self._query("SELECT po_number FROM pos")}

    def in_flight(self) -> list[str]:
        """POs marked running and never finished: a crashed run leaves these behind."""
        rows = self._query("SELECT po_number FROM pos WHERE state = 'running' ORDER BY rowid")
        return [r["po_number"] for r in rows]

    def unfinished(self) -> list[str]:
        """POs queued or running and not finished: what a re-run would fetch first."""
        rows = self._query("SELECT po_number FROM pos WHERE state != 'finished' ORDER BY rowid")
        return [r["po_number"] for r in rows]

    # --- events -------------------------------------------------------------------

    def record_event(self, po: str, kind: str, detail: str = "") -> None:
        """Note a retry, a worker restart, ...; counted by :meth:`count_events`."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO events (ts, po_number, kind, detail) VALUES (?, ?, ?, ?)",
                (time.time(), po or "", kind, detail),
            )

    def count_events(self, kind: str, since: float | None = None) -> int:
        """Events of ``kind``, all of them or those at or after ``since`` (time.time())."""
        rows = self._query(
            "SELECT COUNT(*) FROM events WHERE kind = ? AND ts >= ?", (kind, since or 0.0)
        )
        return int(rows[0][0])
