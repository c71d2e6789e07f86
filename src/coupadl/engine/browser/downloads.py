"""Watch a browser download land in a folder (the file is then checked by
:func:`coupadl.files.verify.verify_file`).

Each attachment is downloaded into its own empty staging folder, so whatever
appears there belongs to that attachment alone: no guessing which of several
concurrent downloads a file is, and no dependence on the name the browser gives it
(a GUID, see ``BrowserSession.set_download_dir``). These functions only look at the
file system; they work for any browser that writes ``*.crdownload`` while downloading
(Chromium, Chrome, Edge).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from coupadl.errors import DownloadError, DownloadTimeout

PARTIAL_SUFFIX = ".crdownload"
_POLL_SECONDS = 0.05


def _entries(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if not p.name.startswith(".")]
    except FileNotFoundError:
        return []


def wait_for_start(
    folder: Path,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    *,
    abort: Callable[[], str | None] | None = None,
) -> None:
    """Return once anything appears in ``folder``; raise :class:`DownloadTimeout` if not.

    ``abort`` is asked while waiting; a reason it returns (the browser refused the
    download, say) ends the wait at once with a :class:`DownloadError`.
    """
    deadline = clock() + timeout
    while not _entries(folder):
        reason = abort() if abort is not None else None
        if reason is not None:
            raise DownloadError(reason)
        if clock() >= deadline:
            raise DownloadTimeout(f"the download did not start within {timeout:.0f} s")
        time.sleep(_POLL_SECONDS)


def _finished_file(entries: list[Path]) -> Path | None:
    partial = [p for p in entries if p.name.endswith(PARTIAL_SUFFIX)]
    done = [p for p in entries if not p.name.endswith(PARTIAL_SUFFIX) and p.is_file()]
    if len(done) == 1 and not partial:
        return done[0]
    return None


def _bytes_in(entries: list[Path]) -> int:
    total = 0
    for entry in entries:
        try:
            total += entry.stat().st_size
        except FileNotFoundError:
            continue  # renamed from .crdownload between listing and stat
    return total


def wait_for_complete(
    folder: Path,
    *,
    stall_timeout: float,
    total_timeout: float,
    clock: Callable[[], float] = time.monotonic,
    abort: Callable[[], str | None] | None = None,
    on_growth: Callable[[], None] | None = None,
) -> Path:
    """Wait until ``folder`` holds exactly one finished file and no partial one.

    Fails when the download grows by nothing for ``stall_timeout`` seconds (a stalled
    or dropped connection) or runs longer than ``total_timeout``, or at once with a
    :class:`DownloadError` when ``abort`` gives a reason (the browser gave up on it).
    ``on_growth`` is called each time the download has grown.
    """
    start = clock()
    last_size, last_change = -1, start
    while True:
        entries = _entries(folder)
        finished = _finished_file(entries)
        if finished is not None:
            return finished
        reason = abort() if abort is not None else None
        if reason is not None:
            raise DownloadError(reason)
        now = clock()
        size = _bytes_in(entries)
        if size != last_size:
            if on_growth is not None and last_size >= 0:
                on_growth()
            last_size, last_change = size, now
        if now - last_change >= stall_timeout:
            raise DownloadTimeout(f"the download stalled at {size} bytes for {stall_timeout:.0f} s")
        if now - start >= total_timeout:
            raise DownloadTimeout(f"the download took longer than {total_timeout:.0f} s")
        time.sleep(_POLL_SECONDS)
