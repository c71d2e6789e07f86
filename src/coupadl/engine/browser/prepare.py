"""The browser engine's once-per-run step for the pool: a profile for every worker.

Runs in the main process before any worker starts. With profile reuse (the default)
each worker gets its own clone of the signed-in base profile; with it off, each gets
an empty profile plus the session cookies of one browser started on a clone (the pool
starts that browser: ``export_session``). The pool loads this by its path
(``PoolConfig.prepare_factory``) and knows nothing of profiles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from coupadl.engine.browser.profile import (
    clone_profile,
    ensure_not_locked,
    new_empty_profile,
    remove_clone,
    sweep_stale_clones,
)
from coupadl.engine.browser.session import Cookies
from coupadl.errors import BrowserError
from coupadl.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """One work folder per worker, here a browser profile (None: the handler makes its
    own), and the session every worker starts with (None: the profile has it)."""

    workdirs: list[Path | None]
    session: Cookies | None = field(default=None, repr=False)

    def release(self) -> None:
        """Remove the profiles made for the run (a second call finds nothing left)."""
        for path in self.workdirs:
            if path is not None:
                remove_clone(path)


def prepare_profiles(
    settings: Settings,
    base: Path | None,
    clone_parent: Path | None,
    count: int,
    export_session: Callable[[Path], Cookies | None],
) -> Prepared:
    """Profiles for ``count`` workers from the signed-in ``base`` profile;
    ``export_session(profile)`` gives the session of a browser started on ``profile``."""
    if settings.profile_cleanup_on_start:
        sweep_stale_clones(clone_parent)
    if base is not None:
        if not base.is_dir():
            raise BrowserError(
                f"The browser profile {base} does not exist; run 'coupadl login' first."
            )
        # Copying a profile while its browser runs gives a clone without the newest
        # cookies (and Chromium refuses to share it): insist it is closed.
        ensure_not_locked(base)
    if settings.profile_reuse_enabled:
        if base is None:
            return Prepared([None] * count)  # each handler makes its own
        # Concurrent cloning is safe (each clone is a fresh unique directory).
        with ThreadPoolExecutor(max_workers=min(4, count)) as executor:
            clones = list(executor.map(lambda _: clone_profile(base, clone_parent), range(count)))
        log.info("cloned the base profile %s for %d worker(s)", base, count)
        return Prepared(list(clones))
    cookies = None
    if base is not None:
        seed = clone_profile(base, clone_parent)
        try:
            cookies = export_session(seed)
        finally:
            remove_clone(seed)
    empty = [new_empty_profile(clone_parent) for _ in range(count)]
    log.info(
        "profile reuse is off: %d worker(s) start on empty profiles%s",
        count,
        " with the base profile's session cookies" if cookies else "",
    )
    return Prepared(list(empty), cookies)
