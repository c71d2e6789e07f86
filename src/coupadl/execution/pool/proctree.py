"""Process trees: find, kill, check. psutil only, the same on Linux, macOS and Windows."""

from __future__ import annotations

import contextlib
import logging
import time

import psutil

logger = logging.getLogger(__name__)


def collect_tree(pids: list[int]) -> list[psutil.Process]:
    """The processes ``pids`` and all their descendants that still exist (no duplicates).

    Descendants must be listed before anything is killed: once a parent dies its children
    are re-parented and can no longer be found through it."""
    seen: dict[int, psutil.Process] = {}
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            family = [proc, *proc.children(recursive=True)]
        except psutil.Error:
            continue
        for member in family:
            seen.setdefault(member.pid, member)
    return list(seen.values())


class ProcessTable:
    """Every process and its children, from one pass over the process table: finding
    several trees this way costs one pass, not one per root pid (the memory monitor's
    way). Unlike :func:`collect_tree` it does not check that a child started after its
    parent, so a reused pid could be counted: fine for measuring, not for killing."""

    def __init__(self) -> None:
        self.by_pid: dict[int, psutil.Process] = {}
        self.children: dict[int, list[int]] = {}
        for proc in psutil.process_iter(["ppid"]):
            self.by_pid[proc.pid] = proc
            ppid = proc.info.get("ppid")
            if ppid is not None:
                self.children.setdefault(ppid, []).append(proc.pid)

    def tree(self, root_pids: list[int]) -> list[psutil.Process]:
        """``root_pids`` that exist and all their descendants, no duplicates."""
        found: dict[int, psutil.Process] = {}
        stack = list(root_pids)
        while stack:
            pid = stack.pop()
            if pid in found or pid not in self.by_pid:
                continue
            found[pid] = self.by_pid[pid]
            stack.extend(self.children.get(pid, ()))
        return list(found.values())


def kill_tree(pids: list[int], timeout: float = 3.0) -> list[int]:
    """Kill ``pids`` and their descendants; return the pids still alive after ``timeout``."""
    procs = collect_tree(pids)
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            try:
                proc.kill()
            except psutil.AccessDenied:
                logger.warning("not allowed to kill process %d", proc.pid)
    # Not psutil.wait_procs: a killed process that is not our child stays a zombie until
    # its new parent (init, or whatever PID 1 is in a container) reaps it, which can take
    # seconds. A zombie runs nothing and holds no profile lock, so it counts as gone.
    deadline = time.monotonic() + timeout
    alive = [p for p in procs if is_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        alive = [p for p in alive if is_alive(p)]
    survivors = [p.pid for p in alive]
    if survivors:
        logger.warning("processes still alive after kill: %s", survivors)
    return survivors


def is_alive(proc: psutil.Process) -> bool:
    """True for a running process; False when gone, a zombie, or the pid was reused.

    ``psutil.Process.is_running`` compares the start time, so a reused pid reads as gone."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def watch(pids: list[int]) -> list[psutil.Process]:
    """psutil handles for ``pids`` that exist now (they remember the start time)."""
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.Error:
            logger.debug("process %d already gone", pid)
    return procs
