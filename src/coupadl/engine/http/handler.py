"""The http engine's handler (:class:`coupadl.execution.handler.Handler`): one PO at a
time with :func:`coupadl.engine.po.process_po` over plain HTTP.

Handlers are cheap: every one of a process shares the runtime (runtime.py: client,
politeness, cookies, download threads, fallback browser), so an executor may run many
in threads. A PO whose page only a browser can read goes to the fallback browser with
``engine = auto`` and fails with ``E_NEEDS_BROWSER`` with ``engine = http``. With
``engine = auto`` some POs' pages are read in the browser too (checking.py); a PO whose
readings differ goes to the browser, and after two such POs every later one does.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from coupadl.coupa.po_numbers import display_po
from coupadl.engine import po
from coupadl.engine.flow import no_progress
from coupadl.engine.http.checking import CheckLedger
from coupadl.engine.http.fetcher import HttpFetcher
from coupadl.engine.http.records import CheckedRecords, HttpRecords
from coupadl.engine.http.runtime import HttpRuntime, acquire, release
from coupadl.engine.http.session import HttpSession
from coupadl.engine.http.sessioncheck import session_ok
from coupadl.errors import BrowserError, NeedsBrowserError, NetworkError
from coupadl.execution.handler import ProgressFn
from coupadl.models import POResult, POTask
from coupadl.settings import EngineKind, Settings

log = logging.getLogger(__name__)

ENGINE = "http"


class HttpHandler:
    """One worker of the http engine. ``workdir`` is not used (no profile of its own);
    ``session`` is an :class:`HttpSession` or a plain cookie list."""

    def __init__(
        self,
        worker_id: str,
        settings: Settings,
        workdir: Path | None = None,
        session: HttpSession | list[dict[str, Any]] | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.settings = settings
        self._session = session
        self._runtime: HttpRuntime | None = None

    @property
    def runtime(self) -> HttpRuntime:
        if self._runtime is None:
            raise RuntimeError(f"{self.worker_id}: the http handler is not started")
        return self._runtime

    def start(self) -> None:
        if self._runtime is None:
            self._runtime = acquire(self.settings, self._session)

    def close(self) -> None:
        runtime, self._runtime = self._runtime, None
        if runtime is not None:
            release(runtime)

    def process(self, task: POTask, progress: ProgressFn = no_progress) -> POResult:
        started = time.time()
        checks = self.runtime.checks if self.settings.engine is EngineKind.AUTO else None
        reason = checks.browser_reason(task.po_number) if checks is not None else None
        if checks is not None and reason is not None:
            log.debug("%s goes to the browser: %s", display_po(task.po_number), reason)
            result = self._in_browser(task, progress)
            result.engine_check = checks.verdict_of(task.po_number)
        else:
            result = self._over_http(task, progress, checks)
        result.started_at = started
        result.worker = self.worker_id
        return result

    def _over_http(
        self, task: POTask, progress: ProgressFn, checks: CheckLedger | None
    ) -> POResult:
        runtime = self.runtime
        fetcher = HttpFetcher(runtime)
        records = HttpRecords(runtime)
        if checks is not None and checks.choose(task.po_number):
            records = CheckedRecords(runtime, task.po_number, progress)
        try:
            result = po.process_po(records, fetcher, task, self.settings, progress)
            result.engine = ENGINE
        except NeedsBrowserError as exc:
            fetcher.abandon()
            result = self._needs_browser(task, exc, progress)
        except NetworkError as exc:
            result = po.failed_result(task, self.settings, exc.code, exc.message, transient=True)
            result.engine = ENGINE
        finally:
            fetcher.abandon()  # an attempt that ended early leaves no download running
        if isinstance(records, CheckedRecords):
            result.engine_check = records.verdict
        return result

    def _needs_browser(
        self, task: POTask, exc: NeedsBrowserError, progress: ProgressFn
    ) -> POResult:
        po_name = display_po(task.po_number)
        if self.settings.engine is EngineKind.HTTP:
            message = (
                f"Its page can only be read in a browser ({exc.reason}); run with "
                "--engine auto or --engine browser."
            )
            log.warning("%s: %s", po_name, message)
            result = po.failed_result(task, self.settings, exc.code, message, transient=False)
            result.engine = ENGINE
            return result
        log.info("%s goes to the browser: %s", po_name, exc.reason)
        return self._in_browser(task, progress)

    def _in_browser(self, task: POTask, progress: ProgressFn) -> POResult:
        runtime = self.runtime
        try:
            result = runtime.fallback.process(task, runtime.cookies.export, progress)
        except BrowserError as error:
            detail = f"the browser for pages plain HTTP cannot read failed: {error.message}"
            result = po.failed_result(task, self.settings, error.code, detail, transient=True)
        result.engine = "browser"
        return result

    def child_pids(self) -> list[int]:
        return self._runtime.fallback.pids() if self._runtime is not None else []

    def export_session(self) -> HttpSession:
        """The shared cookies (as CDP shapes them) and the user agent."""
        runtime = self.runtime
        cookies = runtime.cookies.export()
        # Count only: cookie values are credentials and never go to a log.
        log.info("%s: exported %d session cookie(s)", self.worker_id, len(cookies))
        return HttpSession(cookies, runtime.user_agent)

    def import_session(self, session: HttpSession | list[dict[str, Any]]) -> None:
        """Every handler of the process takes ``session`` (a re-sign-in's cookie list,
        or another handler's export)."""
        self._session = session  # a restart of this handler starts with it
        if self._runtime is not None:
            self._runtime.import_session(session)

    def session_ok(self) -> bool:
        return session_ok(self.runtime)
