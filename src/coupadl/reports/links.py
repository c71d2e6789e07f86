"""Relative links from ``report.html`` to the PO folders and files under it.

Percent-encoded relative URLs keep working when the output folder is moved or copied
as a whole, and no scheme (``javascript:``) can sneak in through a name.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

log = logging.getLogger(__name__)


def href(parts: Sequence[str]) -> str | None:
    """A relative URL for path ``parts`` under the report's folder, or None.

    Every character but ``A-Za-z0-9_.-~`` is percent-encoded (UTF-8), so spaces,
    ``#``, ``?``, ``%``, ``:`` (no scheme can sneak in) and non-ASCII names all work.
    Dot segments would still be read as ``..`` after decoding, so they are refused.
    """
    if not parts or any(p in ("", ".", "..") or "/" in p or "\\" in p for p in parts):
        return None
    return "/".join(quote(p, safe="") for p in parts)


def _clean(parts: Sequence[str]) -> tuple[str, ...] | None:
    return tuple(parts) if parts and not any(p in ("", ".", "..") for p in parts) else None


def folder_parts(folder: Path, out_dir: Path) -> tuple[str, ...] | None:
    """``folder`` relative to ``out_dir`` as path parts, or None when it is not inside.

    The run state keeps folders as the run spelled them (maybe relative to another
    working directory, maybe before the output folder was moved), so after the plain
    cases the longest tail of ``folder`` that exists under ``out_dir`` is taken.
    """
    # Lazily: resolving costs system calls, and 10,000 POs take the first way out.
    candidates = (
        lambda: (folder, out_dir),
        lambda: (Path(os.path.abspath(folder)), Path(os.path.abspath(out_dir))),
        lambda: (folder.resolve(), out_dir.resolve()),
    )
    for candidate in candidates:
        target, base = candidate()
        try:
            parts = _clean(target.relative_to(base).parts)
        except ValueError:
            continue
        if parts:
            return parts
    tail = [p for p in folder.parts if p not in (folder.anchor, "")]
    for i in range(len(tail)):
        parts = _clean(tail[i:])
        if parts and out_dir.joinpath(*parts).is_dir():
            return parts
    log.debug("PO folder %s is not inside %s; the report shows it without a link", folder, out_dir)
    return None


def anchor(po: str) -> str:
    """The id of a PO's row in the table (the failure groups link to it)."""
    return "po-" + quote(po, safe="")
