"""What one ``coupadl doctor`` check found: a :class:`Check` with its :class:`Level`.

A check returns its result and prints nothing; what it talks to (subprocesses, the
disk, HTTP, the browser) comes in as parameters, so each decision can be tested with
fakes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """One check's verdict: what was found, and what to do about a problem."""

    name: str
    level: Level
    detail: str
    advice: str = ""
