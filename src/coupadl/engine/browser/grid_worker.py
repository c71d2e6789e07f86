"""The browser engine on a Selenium Grid: its handler and its once-per-run step.

Each worker is a remote session (:class:`RemoteSession`) that starts signed out on an
empty profile and takes the signed-in session's cookies over CDP: the run reads them
once, from a headless browser on a clone of the local base profile
(:func:`prepare_grid`), as the pool's cookie fan-out does with profile reuse off. A new
sign-in mid-run fans fresh cookies out the same way. There is nothing local to watch:
the pool asks an idle worker's session whether it still answers
(:class:`coupadl.execution.handler.RemoteHandler`), and a PO whose session was lost
mid-way fails as a browser error and is retried on a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from coupadl.engine.browser.grid import require_grid
from coupadl.engine.browser.handler import BrowserHandler
from coupadl.engine.browser.prepare import Prepared
from coupadl.engine.browser.profile import clone_profile, ensure_not_locked, remove_clone
from coupadl.engine.browser.remote import RemoteSession
from coupadl.engine.browser.session import BrowserSession, Cookies
from coupadl.errors import AuthRequiredError
from coupadl.settings import Settings

log = logging.getLogger(__name__)


class GridHandler(BrowserHandler):
    """A browser worker that is a remote session on ``settings.grid_url``.

    ``workdir`` is not used (a remote browser has no local profile); ``session`` is the
    cookie list every worker starts with."""

    def __init__(
        self,
        worker_id: str,
        settings: Settings,
        workdir: Path | None = None,
        session: Cookies | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.settings = settings
        self._cookies = session
        self.session = RemoteSession(settings)

    def start(self) -> None:
        self.session.start()
        if self._cookies:
            self.import_session(self._cookies)

    def close(self) -> None:
        self.session.close()

    def alive(self) -> bool:
        """Does the Grid still hold this worker's session (one cheap command)?"""
        return self.session.is_alive()


def prepare_grid(
    settings: Settings,
    base: Path | None,
    clone_parent: Path | None,
    count: int,
    export_session: Callable[[Path], Cookies | None],
) -> Prepared:
    """Check the Grid (slots, managed downloads: :class:`GridError` otherwise), then read
    the base profile's cookies for ``count`` remote workers. ``export_session`` (a
    handler on a local folder) is not used: a local headless browser reads them here."""
    status = require_grid(settings)
    log.info(
        "Selenium Grid %s at %s: %d of %d %s slot(s) free, managed downloads on",
        status.version or "(version not given)",
        settings.grid_url,
        status.free,
        status.slots,
        settings.browser.value,
    )
    if base is None:
        raise AuthRequiredError("A Grid run needs the signed-in base profile; run 'coupadl login'.")
    ensure_not_locked(base)
    seed = clone_profile(base, clone_parent)
    try:
        with BrowserSession(settings.model_copy(update={"headless": True}), seed) as browser:
            cookies = browser.export_cookies()
    finally:
        remove_clone(seed)
    # Count only: cookie values are credentials and never go to a log.
    log.info(
        "read %d session cookie(s) from the base profile for the Grid's browsers", len(cookies)
    )
    return Prepared([None] * count, cookies)
