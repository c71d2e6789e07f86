"""What a crashed run leaves behind, and how the next run deals with it: work folders,
finished POs whose files went missing, and processes tagged with the run's output."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from coupadl.execution.pool.reaper import OUT_ENV, kill_leftovers, processes_of, tagged_run
from coupadl.models import AttachmentSource, FileResult, POResult, Status
from coupadl.state.repair import find_work_folders, missing_files, repair_output
from coupadl.state.store import STATE_DIR_NAME, RunState

SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


def _finished(out: Path, po: str, files: dict[str, bytes]) -> POResult:
    folder = out / "Acme" / f"PO{po}_COMPLETED"
    folder.mkdir(parents=True)
    recorded = []
    for name, data in files.items():
        (folder / name).write_bytes(data)
        recorded.append(FileResult(name, len(data), "0" * 64, AttachmentSource.HEADER))
    return POResult(po, Status.COMPLETED, supplier="Acme", files=recorded, folder=folder)


def test_work_folders_are_found_at_any_depth_but_not_inside_the_state(tmp_path: Path) -> None:
    for relative in ("Acme/PO1__WORK/.incoming/0", "a/b/PO2__WORK", f"{STATE_DIR_NAME}/PO3__WORK"):
        (tmp_path / relative).mkdir(parents=True)
    (tmp_path / "Acme" / "PO4_COMPLETED").mkdir()
    assert find_work_folders(tmp_path) == [tmp_path / "Acme/PO1__WORK", tmp_path / "a/b/PO2__WORK"]


def test_missing_or_resized_files_are_reported(tmp_path: Path) -> None:
    result = _finished(tmp_path, "1", {"a.pdf": b"%PDF-1", "b.txt": b"hello"})
    assert missing_files(result) == []
    (result.folder / "a.pdf").unlink()  # type: ignore[operator]
    (result.folder / "b.txt").write_bytes(b"hi")  # type: ignore[operator]
    assert missing_files(result) == ["a.pdf", "b.txt"]
    assert missing_files(POResult("2", Status.NO_ATTACHMENTS)) == []


def test_repair_discards_work_folders_and_reopens_pos_missing_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with RunState(out) as state:
        intact = _finished(out, "1", {"a.pdf": b"%PDF-1"})
        damaged = _finished(out, "2", {"b.pdf": b"%PDF-2"})
        state.record_result(intact)
        state.record_result(damaged)
        state.record_result(POResult("3", Status.PO_NOT_FOUND))
        (damaged.folder / "b.pdf").unlink()  # type: ignore[operator]
        (out / "Acme" / "PO4__WORK" / ".incoming" / "0").mkdir(parents=True)
        (out / "Acme" / "PO4__WORK" / "half.pdf.crdownload").write_bytes(b"%PD")

        repair = repair_output(out, state)

        assert repair.reopened == ["2"]
        assert repair.work_folders_removed == [out / "Acme" / "PO4__WORK"]
        assert not (out / "Acme" / "PO4__WORK").exists()
        (out / "Lonely" / "PO5__WORK").mkdir(parents=True)
        repair_output(out, state)
        assert not (out / "Lonely").exists(), "a supplier folder left empty is removed"
        assert state.done_pos() == {"1", "3"}
        assert (out / "Acme" / "PO1_COMPLETED" / "a.pdf").exists()


# Rewrites results.csv atomically and is SIGKILLed just before the rename, as a run
# killed in the middle of updating its results file would be.
KILLED_WRITE = """
import os, signal, sys
from pathlib import Path
from coupadl.files.atomic import atomic_write_text
os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
atomic_write_text(Path(sys.argv[1]), "PO_NUMBER,STATUS\\n1,COMPLETED\\n2,COMPLETED\\n")
"""


def test_repair_removes_what_a_killed_atomic_write_left(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with RunState(out) as state:
        results = out / "results.csv"
        results.write_text("PO_NUMBER,STATUS\n1,COMPLETED\n", encoding="utf-8")
        killed = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(results)], check=False)
        assert killed.returncode == -signal.SIGKILL
        [left] = [p for p in out.iterdir() if p.name.startswith(".results.csv.")]
        # The user's own files, and files inside PO folders, are not ours to remove.
        (out / "notes.tmp").write_text("mine", encoding="utf-8")
        (out / "Acme" / "PO1_COMPLETED").mkdir(parents=True)
        (out / "Acme" / "PO1_COMPLETED" / ".quote.pdf.0123456789ab.tmp").write_bytes(b"x")

        repair = repair_output(out, state)

        assert repair.temp_files_removed == [left]
        assert not left.exists()
        assert results.read_text(encoding="utf-8") == "PO_NUMBER,STATUS\n1,COMPLETED\n"
        assert (out / "notes.tmp").exists()
        assert (out / "Acme" / "PO1_COMPLETED" / ".quote.pdf.0123456789ab.tmp").exists()


def _wait_gone(proc: psutil.Process, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_processes_started_in_a_tagged_run_end_with_it(tmp_path: Path) -> None:
    with tagged_run(tmp_path):
        child = subprocess.Popen(SLEEPER)
        assert [p.pid for p in processes_of(tmp_path)] == [child.pid]
    assert child.wait(timeout=15) == -signal.SIGKILL
    assert OUT_ENV not in os.environ


def test_the_reaper_kills_the_run_when_the_main_process_is_killed(tmp_path: Path) -> None:
    # A stand-in for the main process: it tags a run, starts a "browser", and dies by
    # SIGKILL without any clean-up of its own.
    script = (
        "import os, signal, subprocess, sys\n"
        "from pathlib import Path\n"
        "from coupadl.execution.pool.reaper import tagged_run\n"
        f"with tagged_run(Path({str(tmp_path)!r})):\n"
        f"    child = subprocess.Popen({SLEEPER!r})\n"
        "    print(child.pid, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    main = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert main.returncode == -signal.SIGKILL
    browser = psutil.Process(int(main.stdout.split()[0]))
    assert _wait_gone(browser), "the reaper did not kill the orphaned child"


def test_the_next_run_kills_leftovers_tagged_with_its_output(tmp_path: Path) -> None:
    mine = subprocess.Popen(SLEEPER, env={**os.environ, OUT_ENV: str(tmp_path.resolve())})
    other = subprocess.Popen(SLEEPER, env={**os.environ, OUT_ENV: str(tmp_path / "elsewhere")})
    try:
        assert kill_leftovers(tmp_path) == [mine.pid]
        assert mine.wait(timeout=15) == -signal.SIGKILL
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
