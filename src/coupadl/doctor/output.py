"""Doctor check of the output folder: writable (or can be created), with room to spare."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from coupadl.doctor.result import Check, Level

DEFAULT_MIN_FREE_BYTES = 1024**3  # below this much free space the output check warns


def _existing_ancestor(path: Path) -> Path:
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _probe_write(folder: Path) -> str:
    """'' when a file can be created (and is removed) in ``folder``, else the error."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".coupadl-doctor-"):
            return ""
    except OSError as exc:
        return exc.strerror or str(exc)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def check_output(
    out: Path,
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
    disk_usage: Callable[[Path], tuple[int, int, int]] = shutil.disk_usage,
    probe_write: Callable[[Path], str] = _probe_write,
) -> Check:
    """The output folder: writable (or can be created), with room for the files."""
    advice_other = "choose another folder with --out, or fix its permissions"
    if out.exists() and not out.is_dir():
        return Check("output", Level.FAIL, f"{out} exists and is not a folder", advice_other)
    if out.is_dir():
        where, problem = out, probe_write(out)
        what = f"{out} (writable"
    else:
        where = _existing_ancestor(out)
        ok = os.access(where, os.W_OK | os.X_OK)
        problem = "" if ok else f"cannot create folders in {where}"
        what = f"{out} (will be created"
    if problem:
        return Check("output", Level.FAIL, f"cannot write in {where}: {problem}", advice_other)
    try:
        free = disk_usage(where)[2]
    except OSError as exc:
        return Check(
            "output",
            Level.WARN,
            f"{what}; free space unknown: {exc}",
            "check the disk has room for every attachment",
        )
    if free < min_free_bytes:
        return Check(
            "output",
            Level.WARN,
            f"{what}; only {_size(free)} free, under {_size(min_free_bytes)})",
            "free some space or choose --out on another disk: every attachment is kept",
        )
    return Check("output", Level.OK, f"{what}, {_size(free)} free)")
