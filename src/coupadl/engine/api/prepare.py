"""The REST API engine's once-per-run step: a token, and the scopes the run needs,
checked before any PO is marked.

Runs in the main process before any handler starts, with the signature of every
engine's prepare step. It keeps the process's runtime (and so its token) until the run
ends, so the handlers join it rather than fetching tokens of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coupadl.coupa.api import paths
from coupadl.coupa.page import PageKind
from coupadl.engine.api.records import ApiRecords
from coupadl.engine.api.runtime import ApiRuntime, acquire, release
from coupadl.errors import ApiScopeError
from coupadl.settings import RequisitionFallback, Settings

log = logging.getLogger(__name__)


@dataclass
class ApiPrepared:
    workdirs: list[Path | None]
    runtime: ApiRuntime | None = field(default=None, repr=False)
    session: None = None  # the token is the runtime's: nothing to hand to handlers

    def release(self) -> None:
        runtime, self.runtime = self.runtime, None
        if runtime is not None:
            release(runtime)


def needed_scopes(settings: Settings) -> list[str]:
    """The scopes a run reads with: POs, comments and files, requisitions when the
    requisition fallback may read one."""
    needed = [paths.SCOPE_PO, paths.SCOPE_COMMON]
    if settings.requisition_fallback is not RequisitionFallback.NEVER:
        needed.insert(1, paths.SCOPE_REQUISITION)
    return needed


def check_access(runtime: ApiRuntime, settings: Settings) -> None:
    """A token (AuthRequiredError when the client is refused), the scopes the run needs
    (ApiScopeError naming those missing), and one PO list read (the same for a scope
    the token names but the API refuses)."""
    granted = runtime.tokens.granted()
    missing = paths.missing_scopes(granted, needed_scopes(settings))
    if missing:
        raise ApiScopeError(
            f"the OAuth client {runtime.tokens.client_id} was not granted "
            f"{' '.join(missing)} (granted: {' '.join(sorted(granted)) or 'none'}): ask your "
            "Coupa administrator to add it, and list it in api_scopes"
        )
    page = ApiRecords(runtime).probe()
    if page is not None and page.kind is PageKind.ACCESS_DENIED:
        raise ApiScopeError(
            f"the Coupa API lets the OAuth client {runtime.tokens.client_id} read no "
            "purchase orders (HTTP 403): ask your Coupa administrator for its access"
        )
    if page is not None:  # a server error, say: the POs are retried as always
        log.warning("the Coupa API's first answer was %s; the run goes on", page.title)


def prepare_api(
    settings: Settings,
    base: Path | None,
    clone_parent: Path | None,
    count: int,
    export_session: Callable[[Path], Any],
) -> ApiPrepared:
    """No profile, no folders: a checked token for ``count`` handlers."""
    runtime = acquire(settings)
    try:
        check_access(runtime, settings)
    except BaseException:
        release(runtime)
        raise
    log.info("Coupa API ready for client %s", runtime.tokens.client_id)
    return ApiPrepared([None] * count, runtime)
