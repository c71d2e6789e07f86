"""Atomic file replacement: readers see the old file or the new one, never half of one.

The new content goes to a temporary file in the same folder (so ``os.replace`` is a
rename on one file system), is flushed to disk, then replaces the target. On Windows
the replace fails with ``PermissionError`` while another program (Excel) has the
target open; a few quick retries ride out short locks (antivirus scans, previews).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from pathlib import Path

REPLACE_ATTEMPTS = 3
_RETRY_DELAY = 0.1  # seconds, doubled after each failed attempt


_TOKEN_BYTES = 6
_TEMP_NAME = re.compile(rf"\..+\.[0-9a-f]{{{2 * _TOKEN_BYTES}}}\.tmp")


def _temp_path(path: Path) -> Path:
    # Hidden, unique and in the same folder; the ".tmp" suffix keeps Excel and file
    # indexers from treating a half-written file as the real thing.
    return path.with_name(f".{path.name}.{secrets.token_hex(_TOKEN_BYTES)}.tmp")


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is one of our temporary files: only a killed process leaves one."""
    return _TEMP_NAME.fullmatch(name) is not None


def _write_temp(temp: Path, data: bytes) -> None:
    # os.open with 0o666 lets the umask decide the final mode, as for a plain open();
    # O_EXCL guarantees we never write through a file someone else created.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _replace_with_retries(temp: Path, path: Path, attempts: int) -> None:
    delay = _RETRY_DELAY
    for attempt in range(1, attempts + 1):
        try:
            os.replace(temp, path)
            return
        except PermissionError:
            if attempt == attempts:
                raise
            time.sleep(delay)
            delay *= 2


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open folders this way.
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write_bytes(path: Path, data: bytes, *, attempts: int = REPLACE_ATTEMPTS) -> None:
    """Replace ``path`` with ``data`` atomically.

    Raises ``PermissionError`` when the target stayed locked for every attempt, or any
    other ``OSError`` from writing; the temporary file is removed in every case.
    """
    path = Path(path)
    temp = _temp_path(path)
    try:
        _write_temp(temp, data)
        _replace_with_retries(temp, path, max(1, attempts))
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_dir(path.parent)


def atomic_write_text(
    path: Path, text: str, encoding: str = "utf-8", *, attempts: int = REPLACE_ATTEMPTS
) -> None:
    """Replace ``path`` with ``text`` atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, text.encode(encoding), attempts=attempts)
