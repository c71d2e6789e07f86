"""The http engine's once-per-run step: the session every handler starts with.

Runs in the main process before any handler starts, with the signature of every
engine's prepare step (``engine.browser.prepare.prepare_profiles``). The handlers need
no folder of their own; their session is read once from the signed-in base profile
(signin.py) and lives in memory only, so there is nothing to release.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coupadl.engine.browser.login import check_signed_in
from coupadl.engine.browser.profile import sweep_stale_clones
from coupadl.engine.http.runtime import acquire, release
from coupadl.engine.http.session import HttpSession
from coupadl.engine.http.sessioncheck import session_ok
from coupadl.engine.http.signin import read_session
from coupadl.errors import AuthRequiredError, PlainHttpRefusedError
from coupadl.settings import EngineKind, Settings

log = logging.getLogger(__name__)


@dataclass
class HttpPrepared:
    """``engine.browser.prepare.Prepared``'s shape (its ``session`` is typed as the
    browser's cookie list): no work folder per handler, and the shared session."""

    workdirs: list[Path | None]
    session: HttpSession | None = field(default=None, repr=False)

    def release(self) -> None:
        """Nothing on disk to remove: the session was never written anywhere."""


def prepare_http(
    settings: Settings,
    base: Path | None,
    clone_parent: Path | None,
    count: int,
    export_session: Callable[[Path], Any],
) -> HttpPrepared:
    """The session of the signed-in ``base`` profile for ``count`` handlers.
    ``export_session`` (a handler's session on a folder) is not needed: the http
    engine reads the profile's session itself."""
    if base is None:
        raise AuthRequiredError(
            "The http engine needs a signed-in browser profile: run 'coupadl login' first."
        )
    if settings.profile_cleanup_on_start:
        sweep_stale_clones(clone_parent)
    session = read_session(settings, base, clone_parent)
    if settings.engine is EngineKind.AUTO:
        refuse_if_browser_only(settings, session)
    return HttpPrepared([None] * count, session)


def refuse_if_browser_only(settings: Settings, session: HttpSession) -> None:
    """Raise :class:`PlainHttpRefusedError` when Coupa refuses the session over plain
    HTTP while a browser on the same profile is signed in. When the browser is signed
    out too, the session simply expired: the run asks for a sign-in as always."""
    runtime = acquire(settings, session)
    try:
        if session_ok(runtime):
            return
    finally:
        release(runtime)
    if not check_signed_in(settings):
        log.info("the saved session is signed out in the browser too: not a plain-HTTP refusal")
        return
    raise PlainHttpRefusedError(
        "Coupa takes the saved session in the browser but not over plain HTTP (a session "
        "bound to the browser, or a bot wall)"
    )
