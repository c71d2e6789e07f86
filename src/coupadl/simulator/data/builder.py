"""The data set's counters: file ids, the rotation of file types, file sizes and names.

One :class:`Builder` per data set; every file is made through it, so ids and types
follow the order in which the POs are planned.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from coupadl.simulator.data.model import FILE_TYPES, SimFile
from coupadl.simulator.data.saved_names import plain_saved_name
from coupadl.simulator.data.words import TEMPLATES

FIRST_FILE_ID = 27350000
SMALL_SIZE = (1024, 60 * 1024)
LARGE_SIZE = (2 * 1024 * 1024, 4 * 1024 * 1024)


def _ext(name: str) -> str:
    return name.strip(". ").rsplit(".", 1)[-1].lower()


def fill(template: str, rng: random.Random, po: str) -> str:
    """A file name from a template of :data:`~coupadl.simulator.data.words.TEMPLATES`."""
    return template.format(
        n=rng.randint(1000, 99999), po=po, year=rng.randint(2019, 2025), r=rng.randint(1, 9)
    )


def _small_size(rng: random.Random) -> int:
    """Log-uniform over :data:`SMALL_SIZE`: most files are a few KB."""
    low, high = SMALL_SIZE
    return int(low * (high / low) ** rng.random())


class Builder:
    """Builds a data set; owns the counters that make ids and file types rotate."""

    def __init__(self, seed: int, *, large_files: bool = True) -> None:
        self.seed = seed
        self.large_files = large_files
        self.next_file_id = FIRST_FILE_ID
        self.type_pos = seed % len(FILE_TYPES)
        self.files: dict[int, SimFile] = {}
        self.large_pending = False

    def rng(self, *parts: object) -> random.Random:
        # String seeds hash with SHA-512: stable across runs and PYTHONHASHSEED.
        return random.Random(":".join(str(p) for p in (self.seed, *parts)))

    def next_type(self, exclude: frozenset[str] = frozenset()) -> str:
        while True:
            ftype = FILE_TYPES[self.type_pos % len(FILE_TYPES)]
            self.type_pos += 1
            if ftype not in exclude:
                return ftype

    def new_file(
        self, rng: random.Random, name: str, ftype: str | None = None, saved_name: str = ""
    ) -> SimFile:
        """A new file named ``name`` on the page, saved as ``saved_name`` (by default
        the plain rule's name, which refuses hostile names)."""
        file_id = self.next_file_id
        self.next_file_id += 1
        if self.large_pending:
            self.large_pending = False
            size = rng.randint(*LARGE_SIZE)
            if not self.large_files:  # drawn all the same, so that later names stay put
                size = _small_size(self.rng("small", file_id))
        else:
            size = _small_size(rng)
        digest = hashlib.sha256(f"{self.seed}:{file_id}".encode()).digest()
        sim = SimFile(
            file_id=file_id,
            name=name,
            ftype=ftype or _ext(name),
            size_hint=size,
            content_seed=int.from_bytes(digest[:8], "big"),
            saved_name=saved_name or plain_saved_name(name),
        )
        self.files[file_id] = sim
        return sim

    def regular(
        self, rng: random.Random, po: str, exclude: frozenset[str] = frozenset()
    ) -> SimFile:
        ftype = self.next_type(exclude)
        template = rng.choice(TEMPLATES[ftype])
        return self.new_file(rng, fill(template, rng, po), ftype)

    def regulars(self, rng: random.Random, po: str, count: int, **kw: Any) -> list[SimFile]:
        return [self.regular(rng, po, **kw) for _ in range(count)]
