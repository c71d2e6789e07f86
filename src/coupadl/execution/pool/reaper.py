"""No process outlives its run, even when the main process is killed with SIGKILL.

Every process a run starts (pool workers, chromedriver, the browsers) inherits two
environment variables: the output folder and a run id. That tags them without any
bookkeeping, whoever their parent is after a crash. Two safety nets use the tags:

- a small reaper process, started with each run, waits for the run's pipe to close; when
  the main process dies, the pipe closes and the reaper kills every process of that run;
- the next run on the same output folder kills anything still tagged with that folder
  before it touches a file (it holds the output lock, so such a process is a leftover).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil

from coupadl.execution.pool.proctree import kill_tree

logger = logging.getLogger(__name__)

OUT_ENV = "COUPADL_RUN_OUT"
RUN_ENV = "COUPADL_RUN_ID"


def tagged_processes(variable: str, value: str) -> list[psutil.Process]:
    """Processes (not this one) whose environment has ``variable=value``."""
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        try:
            if proc.status() != psutil.STATUS_ZOMBIE and proc.environ().get(variable) == value:
                found.append(proc)
        except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess, OSError):
            continue  # another user's process, or gone: not ours to judge
    return found


def _kill(variable: str, value: str) -> list[int]:
    procs = tagged_processes(variable, value)
    if procs:
        kill_tree([p.pid for p in procs])
    return [p.pid for p in procs]


def processes_of(out: Path) -> list[psutil.Process]:
    """The live processes started by any run on ``out`` (this process excluded)."""
    return tagged_processes(OUT_ENV, str(Path(out).resolve()))


def kill_leftovers(out: Path) -> list[int]:
    """Kill the processes an earlier, crashed run on ``out`` left behind; their pids."""
    killed = _kill(OUT_ENV, str(Path(out).resolve()))
    if killed:
        logger.warning(
            "killed %d process(es) left running by an earlier run on %s: %s",
            len(killed), out, killed,
        )  # fmt: skip
    return killed


@contextlib.contextmanager
def tagged_run(out: Path) -> Iterator[str]:
    """Tag the processes started inside the block with ``out`` and a fresh run id, and
    keep a reaper watching them; yields the run id."""
    run_id = uuid.uuid4().hex
    tags = {OUT_ENV: str(Path(out).resolve()), RUN_ENV: run_id}
    _start_untagged_helpers()
    saved = {name: os.environ.get(name) for name in tags}
    os.environ.update(tags)
    reaper = _start_reaper(run_id)
    try:
        yield run_id
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        _stop_reaper(reaper)


def _start_untagged_helpers() -> None:
    """Start multiprocessing's resource tracker now, untagged: it outlives the run (it
    serves the whole Python process), so the reaper must not see it as the run's."""
    if sys.platform != "win32":  # Windows has no resource tracker
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()


def _start_reaper(run_id: str) -> subprocess.Popen[bytes] | None:
    env = {k: v for k, v in os.environ.items() if k not in (OUT_ENV, RUN_ENV)}
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "coupadl.execution.pool.reaper", run_id],
            stdin=subprocess.PIPE,
            env=env,
        )
    except OSError as exc:
        logger.warning("no reaper for this run (%s); the next run cleans up instead", exc)
        return None


def _stop_reaper(reaper: subprocess.Popen[bytes] | None) -> None:
    """Close the pipe and wait, so the reaper is done before the output lock is released."""
    if reaper is None:
        return
    if reaper.stdin is not None:
        reaper.stdin.close()
    try:
        reaper.wait(timeout=30)
    except subprocess.TimeoutExpired:
        logger.warning("the reaper did not finish; killing it")
        reaper.kill()


def main(run_id: str) -> int:
    """Block until the run's pipe closes, then kill whatever of the run is left."""
    # Ctrl+C, a closed terminal (SIGHUP) or a SIGTERM to the process group reach the
    # reaper too; it must outlive the run to clean up after it, and it exits by itself
    # once the run's pipe closes.
    for name in ("SIGINT", "SIGHUP", "SIGTERM"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    with contextlib.suppress(OSError):
        while sys.stdin.buffer.read(4096):
            pass
    _kill(RUN_ENV, run_id)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
