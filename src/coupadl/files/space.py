"""Is the output folder still writable? Disk full and read-only output stop a run.

When the disk is full or the folder turns read-only, every further PO would fail the
same way; the run stops with a clear error instead, and the PO being written stays
pending. A failed browser download does not say why, so after one the folder is
probed with a real write (:func:`probe_writable`).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from coupadl.errors import OutputError, OutputUnavailableError

DISK_FULL = "E_DISK_FULL"
OUTPUT_READ_ONLY = "E_OUTPUT_READ_ONLY"
# Error codes that stop the run: nothing the next PO does can succeed.
STOP_CODES = frozenset({DISK_FULL, OUTPUT_READ_ONLY})

_DISK_FULL_ERRNOS = {errno.ENOSPC, errno.EDQUOT} | (
    {errno.EFBIG} if hasattr(errno, "EFBIG") else set()
)
_READ_ONLY_ERRNOS = {errno.EROFS, errno.EACCES, errno.EPERM}
# Enough for a probe to meet a full disk, small enough to cost nothing.
_PROBE_BYTES = 256 * 1024
PROBE_NAME = ".coupadl-write-probe"


def stop_code(exc: OSError) -> str | None:
    """The run-stopping error code for ``exc``, or None for a one-off error."""
    if exc.errno in _DISK_FULL_ERRNOS:
        return DISK_FULL
    if exc.errno in _READ_ONLY_ERRNOS:
        return OUTPUT_READ_ONLY
    return None


def probe_writable(folder: Path) -> None:
    """Write and remove a small file in ``folder``; raises the OSError a full or
    read-only file system gives."""
    probe = folder / PROBE_NAME
    try:
        with probe.open("wb") as handle:
            handle.write(b"\0" * _PROBE_BYTES)
            handle.flush()
            os.fsync(handle.fileno())
    finally:
        probe.unlink(missing_ok=True)


def output_error(exc: OSError, what: str) -> OutputError:
    """The typed error for a failed write to the output: run-stopping (exit 6) when the
    disk is full or read-only, else a plain :class:`OutputError`."""
    code = stop_code(exc)
    if code is None:
        return OutputError(f"{what}: {exc}")
    remedy = "Free some space" if code == DISK_FULL else "Make the folder writable"
    return OutputUnavailableError(
        f"{what}: {exc}. {remedy}, then run the same command again; nothing was lost.",
        code=code,
    )
