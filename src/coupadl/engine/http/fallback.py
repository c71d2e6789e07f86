"""The browser that reads the POs plain HTTP cannot (``engine = auto``).

One per process, shared by its http handlers: started on the first PO that needs it
(an empty profile plus the http engine's current cookies, so no second sign-in), kept
for later ones, one PO at a time, closed with the runtime. A browser that breaks is
closed and the next PO that needs one starts a new one. It also reads the pages the
http engine checks (checking.py) the way the browser engine does (:meth:`read`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from coupadl.coupa.page import PageInfo
from coupadl.engine.browser.handler import BrowserHandler
from coupadl.engine.browser.processor import open_record
from coupadl.engine.hosts import redact
from coupadl.engine.http.cookies import CookieList
from coupadl.errors import AuthRequiredError, BrowserError, PageTimeout, RateLimitedError
from coupadl.execution.handler import ProgressFn
from coupadl.models import POResult, POTask
from coupadl.settings import Settings

log = logging.getLogger(__name__)

WORKER_ID = "browser-fallback"


class FallbackBrowser:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()  # one PO at a time; guards _handler
        self._handler: BrowserHandler | None = None
        self.processed = 0
        self.read_pages = 0

    def process(
        self, task: POTask, cookies: Callable[[], CookieList], progress: ProgressFn
    ) -> POResult:
        """Process ``task`` in the browser (started now with ``cookies()`` if need be).
        Raises what BrowserHandler raises (BrowserError: it could not start, or died)."""
        with self._lock:
            handler = self._handler or self._start(cookies())
            try:
                result = handler.process(task, progress)
            except Exception:
                self._close_locked()
                raise
            self.processed += 1
            return result

    def read(self, url: str, cookies: Callable[[], CookieList]) -> PageInfo:
        """Open the record page ``url`` in the browser (started now with ``cookies()``
        if need be) and parse it as the browser engine does, scripts run. Raises
        AuthRequiredError, PageTimeout or RateLimitedError as that page read does, and
        BrowserError when the browser cannot start or broke (it is closed then)."""
        with self._lock:
            try:
                handler = self._handler or self._start(cookies())
                session = handler.session
                with session.po_tab():
                    page = open_record(session, url, self.settings.require_base_url())
            except (AuthRequiredError, PageTimeout, RateLimitedError):
                raise  # the page's answer: the browser itself is fine
            except Exception as exc:
                self._close_locked()
                name = exc.message if isinstance(exc, BrowserError) else type(exc).__name__
                raise BrowserError(f"the browser could not read {redact(url)}: {name}") from exc
            self.read_pages += 1
            return page

    def _start(self, cookies: CookieList) -> BrowserHandler:
        handler = BrowserHandler(WORKER_ID, self.settings, None, cookies)
        try:
            handler.start()
        except Exception:
            handler.close()
            raise
        log.info("started a browser for the POs plain HTTP cannot read")
        self._handler = handler
        return handler

    def import_cookies(self, cookies: CookieList) -> None:
        """A new session: the running browser takes it too."""
        with self._lock:
            if self._handler is not None:
                self._handler.import_session(cookies)

    def pids(self) -> list[int]:
        handler = self._handler  # no lock: a PO in the browser must not hold this up
        return handler.child_pids() if handler is not None else []

    def close(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        handler, self._handler = self._handler, None
        if handler is None:
            return
        try:
            handler.close()
        except Exception as exc:  # noqa: BLE001 - a dead browser may fail to close
            log.warning("closing the fallback browser failed: %s", exc)
