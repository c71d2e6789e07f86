"""Is a fetched file what its name promises? Checked the same for every engine."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from coupadl.errors import DownloadError
from coupadl.files.filetypes import HEAD_BYTES, TAIL_BYTES, problem


@dataclass(frozen=True)
class VerifiedFile:
    path: Path
    size: int
    sha256: str


def verify_file(path: Path, expected_name: str) -> VerifiedFile:
    """Check a finished download and hash it.

    A zero-byte file, or bytes that are not what the name promises (an HTML error or
    sign-in page, another format, a file without its end marker because the transfer
    was cut short): see the table in :mod:`coupadl.files.filetypes`.
    """
    size = path.stat().st_size
    if size == 0:
        raise DownloadError(f"{expected_name}: the server sent an empty file")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
        digest.update(head)
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read(TAIL_BYTES)
    reason = problem(expected_name, head, tail)
    if reason is not None:
        raise DownloadError(f"{expected_name}: {reason}")
    return VerifiedFile(path=path, size=size, sha256=digest.hexdigest())
