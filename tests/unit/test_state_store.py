"""SQLite run state: round trips, re-run semantics, crash leftovers, permissions."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from coupadl.errors import OutputError
from coupadl.models import AttachmentSource, FileResult, POResult, Status
from coupadl.state.database import SCHEMA_VERSION
from coupadl.state.store import STATE_DIR_NAME, RunState

# The output folder as a user types it (relative); the autouse fixture runs each test
# in its own tmp_path.
OUT = Path("out")


def result(po: str, status: Status = Status.COMPLETED, **changes: object) -> POResult:
    fields: dict[str, object] = {
        "po_number": po,
        "status": status,
        "error_code": "",
        "message": "ok",
        "supplier": "Acme AB",
        "requisition_id": "9561914",
        "url": f"https://acme.coupahost.com/order_headers/{po}",
        "attachments_found": 2,
        "files": [
            FileResult("b.pdf", 2, "b" * 64, AttachmentSource.HEADER, "https://x/b"),
            FileResult("a.pdf", 1, "a" * 64, AttachmentSource.REQUISITION_COMMENT),
        ],
        "folder": OUT / "Acme AB" / f"PO{po}_COMPLETED",
        "started_at": 100.0,
        "finished_at": 103.5,
        "attempts": 2,
        "worker": "w1",
        "engine": "http",
        "engine_check": "agreed",
    }
    fields.update(changes)
    return POResult(**fields)  # type: ignore[arg-type]


@pytest.fixture
def state(tmp_path: Path):  # type: ignore[no-untyped-def]
    with RunState(OUT) as store:
        yield store


def test_record_get_round_trip(state: RunState) -> None:
    original = result("1")
    state.record_result(original)
    assert state.get("1") == original
    assert state.get("2") is None


def test_record_replaces_files(state: RunState) -> None:
    state.record_result(result("1", Status.PARTIAL))
    state.record_result(result("1", files=[], folder=None, attachments_found=0))
    again = state.get("1")
    assert again is not None
    assert (again.files, again.folder, again.status) == ([], None, Status.COMPLETED)


def test_done_pos(state: RunState) -> None:
    for po, status in [
        ("1", Status.COMPLETED),
        ("2", Status.NO_ATTACHMENTS),
        ("3", Status.PO_NOT_FOUND),
        ("4", Status.ACCESS_DENIED),
        ("5", Status.PARTIAL),
        ("6", Status.FAILED),
        ("7", Status.TIMEOUT),
        ("8", Status.AUTH_REQUIRED),
    ]:
        state.record_result(result(po, status))
    assert state.done_pos() == {"1", "2", "3", "4"}
    state.mark_pending(["1"])  # queued again on purpose: no longer done
    assert state.done_pos() == {"2", "3", "4"}
    assert state.get("1") is not None  # the earlier result is still there


def test_auth_required_goes_back_to_pending(state: RunState) -> None:
    state.mark_pending(["1"])
    state.mark_running("1", "w1")
    state.record_result(result("1", Status.AUTH_REQUIRED, files=[]))
    assert state.in_flight() == []
    assert "1" not in state.done_pos()
    row = state._query("SELECT state FROM pos WHERE po_number = '1'")[0]
    assert row["state"] == "pending"


def test_in_flight_survives_a_crash(tmp_path: Path) -> None:
    store = RunState(OUT)
    store.mark_pending(["1", "2", "3"])
    store.mark_running("2", "w1")
    store.mark_running("3", "w2")
    store.record_result(result("3"))
    store.close()  # the process dies here; "2" never finished
    with RunState(OUT) as again:
        assert again.in_flight() == ["2"]
        assert again.get("2") is None
        assert again.done_pos() == {"3"}


def test_results_in_first_seen_order(state: RunState) -> None:
    state.mark_pending(["3", "1", "2"])
    state.record_result(result("2"))
    state.record_result(result("3"))
    assert [r.po_number for r in state.results()] == ["3", "2"]


def test_runs_and_events(state: RunState) -> None:
    run = state.begin_run("input.xlsx", "pool")
    state.record_event("1", "retry", "timeout")
    state.record_event("1", "retry")
    state.record_event("", "worker_restart", "w2 crashed")
    state.end_run(run, 3)
    assert state.count_events("retry") == 2
    assert state.count_events("worker_restart") == 1
    assert state.count_events("nothing") == 0
    row = state._query("SELECT * FROM runs WHERE id = ?", (run,))[0]
    assert (row["input_path"], row["mode"], row["exit_code"]) == ("input.xlsx", "pool", 3)
    assert row["finished_at"] >= row["started_at"]
    assert state.begin_run("input.xlsx", "sequential") == run + 1


def test_reopen_persists_and_uses_wal(tmp_path: Path) -> None:
    with RunState(OUT) as store:
        store.record_result(result("1"))
        store.record_event("1", "retry")
    with RunState(OUT) as store:
        assert store.get("1") == result("1")
        assert store.count_events("retry") == 1
        assert store._query("PRAGMA journal_mode")[0][0] == "wal"
        assert store._query("PRAGMA user_version")[0][0] == SCHEMA_VERSION


def test_committed_when_the_call_returns(tmp_path: Path) -> None:
    with RunState(OUT) as store:
        store.record_result(result("1"))
        # Another connection (another process, after a crash) sees it already.
        other = sqlite3.connect(store.path)
        try:
            count = other.execute("SELECT COUNT(*) FROM files WHERE po_number = '1'").fetchone()
        finally:
            other.close()
    assert count == (2,)


def test_threads_can_write(state: RunState) -> None:
    def work(start: int) -> None:
        for n in range(start, start + 20):
            state.mark_running(str(n), f"w{start}")
            state.record_result(result(str(n)))

    threads = [threading.Thread(target=work, args=(i * 100,)) for i in range(1, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(state.done_pos()) == 60


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_private_permissions(tmp_path: Path) -> None:
    old_umask = os.umask(0o022)
    try:
        with RunState(OUT) as store:
            store.record_result(result("1"))
            assert stat.S_IMODE(store.dir.stat().st_mode) == 0o700
            assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_existing_loose_permissions_are_tightened(tmp_path: Path) -> None:
    folder = tmp_path / STATE_DIR_NAME
    folder.mkdir(mode=0o755)
    (folder / "state.db").touch(mode=0o644)
    with RunState(OUT) as store:
        assert stat.S_IMODE(store.dir.stat().st_mode) == 0o700
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_newer_schema_refused(tmp_path: Path) -> None:
    with RunState(OUT) as store:
        path = store.path
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(OutputError, match="newer coupadl"):
        RunState(OUT)


# The pos table as coupadl 0.1 (schema 1) wrote it, spelled out here: the test must
# not take the old schema from the code it checks.
_SCHEMA_1_POS = """CREATE TABLE pos (
    po_number TEXT PRIMARY KEY, status TEXT, error_code TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '', supplier TEXT NOT NULL DEFAULT '',
    requisition_id TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '',
    attachments_found INTEGER NOT NULL DEFAULT 0, folder TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, started_at REAL NOT NULL DEFAULT 0,
    finished_at REAL NOT NULL DEFAULT 0, worker TEXT NOT NULL DEFAULT '',
    updated_at REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'finished')))"""


def test_a_state_from_schema_1_is_migrated_and_keeps_its_pos(tmp_path: Path) -> None:
    folder = OUT / STATE_DIR_NAME
    folder.mkdir(parents=True)
    db = sqlite3.connect(folder / "state.db")
    for statement in (
        _SCHEMA_1_POS,
        "CREATE TABLE files (po_number TEXT NOT NULL, position INTEGER NOT NULL, "
        "name TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, "
        "source TEXT NOT NULL, url TEXT NOT NULL DEFAULT '', PRIMARY KEY (po_number, position))",
        "CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started_at REAL NOT NULL, "
        "finished_at REAL, input_path TEXT NOT NULL, mode TEXT NOT NULL, exit_code INTEGER)",
        "CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, "
        "po_number TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '')",
        "INSERT INTO pos (po_number, status, worker, updated_at, state) "
        "VALUES ('11', 'COMPLETED', 'w2', 1.0, 'finished')",
        "PRAGMA user_version=1",
    ):
        db.execute(statement)
    db.commit()
    db.close()
    with RunState(OUT) as store:
        old = store.get("11")
        assert old is not None and (old.status, old.worker, old.engine, old.engine_check) == (
            Status.COMPLETED, "w2", "", ""
        )  # fmt: skip
        assert store.done_pos() == {"11"}
        store.record_result(result("12"))
        assert store.get("12") == result("12")
        assert store._query("PRAGMA user_version")[0][0] == SCHEMA_VERSION


def test_damaged_database(tmp_path: Path) -> None:
    folder = tmp_path / OUT / STATE_DIR_NAME
    folder.mkdir(parents=True)
    (folder / "state.db").write_bytes(b"garbage" * 1000)
    with pytest.raises(OutputError, match="damaged"):
        RunState(OUT)


def test_folders_are_found_whichever_way_the_output_path_is_spelled(tmp_path: Path) -> None:
    with RunState(OUT) as store:
        store.record_result(result("1"))
    with RunState(tmp_path / "out") as store:
        found = store.get("1")
    assert found is not None and found.folder == tmp_path / "out" / "Acme AB" / "PO1_COMPLETED"
