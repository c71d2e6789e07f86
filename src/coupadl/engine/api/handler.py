"""The REST API engine's handler (:class:`coupadl.execution.handler.Handler`): one PO at
a time with :func:`coupadl.engine.po.process_po`, its records read from the API
(records.py) and its files fetched with the bearer token (fetcher.py).

Handlers are cheap and share the process's runtime (client, politeness, token,
download threads), so the threaded executor runs many. There is no browser and no
session to hand around: the OAuth token is the runtime's, renewed there.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from coupadl.engine import po
from coupadl.engine.api.fetcher import ApiFetcher
from coupadl.engine.api.records import ApiRecords
from coupadl.engine.api.runtime import ApiRuntime, acquire, release
from coupadl.engine.flow import no_progress
from coupadl.errors import ApiScopeError, NetworkError
from coupadl.execution.handler import ProgressFn
from coupadl.models import POResult, POTask
from coupadl.settings import Settings

log = logging.getLogger(__name__)

ENGINE = "api"


class ApiHandler:
    """One worker of the REST API engine; ``workdir`` and ``session`` are not used."""

    def __init__(
        self,
        worker_id: str,
        settings: Settings,
        workdir: Path | None = None,
        session: Any = None,
    ) -> None:
        self.worker_id = worker_id
        self.settings = settings
        self._runtime: ApiRuntime | None = None

    @property
    def runtime(self) -> ApiRuntime:
        if self._runtime is None:
            raise RuntimeError(f"{self.worker_id}: the api handler is not started")
        return self._runtime

    def start(self) -> None:
        if self._runtime is None:
            self._runtime = acquire(self.settings)

    def close(self) -> None:
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            release(runtime)

    def process(self, task: POTask, progress: ProgressFn = no_progress) -> POResult:
        started = time.time()
        fetcher = ApiFetcher(self.runtime)
        try:
            result = po.process_po(ApiRecords(self.runtime), fetcher, task, self.settings, progress)
        except NetworkError as exc:
            result = po.failed_result(task, self.settings, exc.code, exc.message, transient=True)
        except ApiScopeError as exc:
            # A scope taken away mid-run: retrying will not help, re-running after the
            # administrator's fix will.
            log.warning("PO %s: %s", task.po_number, exc.message)
            result = po.failed_result(task, self.settings, exc.code, exc.message, transient=False)
        finally:
            fetcher.abandon()
        result.engine = ENGINE
        result.started_at = started
        result.worker = self.worker_id
        return result

    def child_pids(self) -> list[int]:
        return []

    def export_session(self) -> None:
        """Nothing to hand over: every handler of the process shares the token."""

    def import_session(self, session: Any) -> None:
        """A new token comes from the token endpoint, never from another handler."""

    def session_ok(self) -> bool:
        return bool(self.runtime.tokens.bearer())
