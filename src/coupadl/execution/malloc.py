"""Fewer glibc malloc arenas for a process that runs many threads.

glibc gives threads their own malloc arenas (up to eight per core) and returns little of
them to the system: with some fifty threads streaming files, a run's RSS grew by 60 %
between its first 1,000 POs and its 10,000th, and capping the arenas at two kept it
flat at no measurable CPU cost (docs/benchmarks.md, "The http engine over many POs").
``MALLOC_ARENA_MAX`` does the same but is read at process start, too early for a CLI
to set it, so the cap is set with ``mallopt`` before the threads start. A user's own
``MALLOC_ARENA_MAX`` wins; on other C libraries and systems nothing changes.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)

ARENAS = 2
_M_ARENA_MAX = -8  # from glibc's malloc.h


def cap_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Cap this process's malloc arenas at ``arenas``; True when the cap was set."""
    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        log.debug("no mallopt in this C library: malloc arenas left as they are")
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    if mallopt(_M_ARENA_MAX, arenas) != 1:
        log.debug("mallopt(M_ARENA_MAX) refused: malloc arenas left as they are")
        return False
    log.debug("malloc arenas capped at %d for the threads of this run", arenas)
    return True
