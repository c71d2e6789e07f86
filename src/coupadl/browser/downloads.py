"""Watch a browser download land in a folder, and verify the file.

Each attachment is downloaded into its own empty staging folder, so whatever
appears there belongs to that attachment alone: no guessing which of several
concurrent downloads a file is, and no dependence on the name the browser gives it
(a GUID, see ``BrowserSession.set_download_dir``). These functions only look at the
file system; they work for any browser that writes ``*.crdownload`` while downloading
(Chromium, Chrome, Edge).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coupadl.errors import DownloadError, DownloadTimeout

PARTIAL_SUFFIX = ".crdownload"
_POLL_SECONDS = 0.05
_HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<body")
# Extensions whose files are legitimately HTML or XML text.
_MARKUP_EXTENSIONS = {".htm", ".html", ".xml", ".svg", ".xhtml", ".txt", ".csv", ".eml"}


@dataclass(frozen=True)
class VerifiedFile:
    path: Path
    size: int
    sha256: str


def _entries(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if not p.name.startswith(".")]
    except FileNotFoundError:
        return []


def wait_for_start(
    folder: Path, timeout: float, clock: Callable[[], float] = time.monotonic
) -> None:
    """Return once anything appears in ``folder``; raise :class:`DownloadTimeout` if not."""
    deadline = clock() + timeout
    while not _entries(folder):
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
) -> Path:
    """Wait until ``folder`` holds exactly one finished file and no partial one.

    Fails when the download grows by nothing for ``stall_timeout`` seconds (a stalled
    or dropped connection) or runs longer than ``total_timeout``.
    """
    start = clock()
    last_size, last_change = -1, start
    while True:
        entries = _entries(folder)
        finished = _finished_file(entries)
        if finished is not None:
            return finished
        now = clock()
        size = _bytes_in(entries)
        if size != last_size:
            last_size, last_change = size, now
        if now - last_change >= stall_timeout:
            raise DownloadTimeout(f"the download stalled at {size} bytes for {stall_timeout:.0f} s")
        if now - start >= total_timeout:
            raise DownloadTimeout(f"the download took longer than {total_timeout:.0f} s")
        time.sleep(_POLL_SECONDS)


def looks_like_html(head: bytes) -> bool:
    """True when the bytes start like an HTML page (an error or sign-in page)."""
    return head.lstrip().lower().startswith(_HTML_STARTS)


def verify_file(path: Path, expected_name: str) -> VerifiedFile:
    """Check a finished download and hash it.

    A zero-byte file, or an HTML page where the name promises another type (the
    server answered with an error or sign-in page), is a failed download.
    """
    size = path.stat().st_size
    if size == 0:
        raise DownloadError(f"{expected_name}: the server sent an empty file")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(512)
        digest.update(head)
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    if looks_like_html(head) and Path(expected_name).suffix.lower() not in _MARKUP_EXTENSIONS:
        raise DownloadError(f"{expected_name}: the server sent a web page instead of the file")
    return VerifiedFile(path=path, size=size, sha256=digest.hexdigest())
