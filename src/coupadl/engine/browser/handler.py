"""The browser engine's handler (:class:`coupadl.execution.handler.Handler`): one
long-lived browser that processes one PO after another with :func:`process_po`.

Its session is the browser's cookie list (CDP), so a signed-in worker's session can be
handed to a signed-out one without a second login.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import urllib3
from selenium.common.exceptions import WebDriverException

from coupadl.coupa.po_numbers import display_po
from coupadl.coupa.signin import session_poll_answer
from coupadl.coupa.urls import is_sign_in_url, session_check_url
from coupadl.engine.browser.processor import process_po
from coupadl.engine.browser.profile import clear_stale_locks
from coupadl.engine.browser.session import BrowserSession, Cookies
from coupadl.engine.flow import no_progress
from coupadl.errors import BrowserError, PageTimeout
from coupadl.execution.handler import ProgressFn
from coupadl.models import POResult, POTask
from coupadl.settings import Settings

log = logging.getLogger(__name__)


class BrowserHandler:
    """One long-lived browser that processes POs: the browser engine's worker.

    ``workdir`` is the browser profile; None gives a fresh, empty one (removed on
    close). ``session`` (cookies exported from a signed-in browser) is set after start.
    """

    def __init__(
        self,
        worker_id: str,
        settings: Settings,
        workdir: Path | None = None,
        session: Cookies | None = None,
    ) -> None:
        self.worker_id = worker_id
        self.settings = settings
        self._own_profile = workdir is None
        self.profile_dir = workdir or Path(tempfile.mkdtemp(prefix="coupadl-fresh-"))
        self._cookies = session
        self.session = BrowserSession(settings, self.profile_dir, guard_hosts=True)

    def start(self) -> None:
        # A killed browser leaves its SingletonLock in the clone: Chromium would refuse it.
        clear_stale_locks(self.profile_dir)
        self.session.start()
        if self._cookies:
            self.import_session(self._cookies)

    def process(self, task: POTask, progress: ProgressFn = no_progress) -> POResult:
        result = process_po(self.session, task, self.settings, progress)
        result.worker, result.engine = self.worker_id, "browser"
        # A crashed tab leaves a live browser that fails every PO: replace it too.
        if result.error_code == "E_BROWSER" and not self.session.is_usable():
            what = self.session.hung or "the browser died or its tabs crashed"
            raise BrowserError(f"{self.worker_id}: {what} while on {display_po(task.po_number)}")
        return result

    def close(self) -> None:
        self.session.close()
        if self._own_profile:
            shutil.rmtree(self.profile_dir, ignore_errors=True)

    def child_pids(self) -> list[int]:
        return self.session.pids()

    def export_session(self) -> Cookies:
        """Every cookie of the browser (CDP ``Network.getAllCookies``)."""
        cookies = self.session.export_cookies()
        # Count only: cookie values are credentials and never go to a log.
        log.info("%s: exported %d session cookie(s) over CDP", self.worker_id, len(cookies))
        return cookies

    def import_session(self, session: Cookies) -> None:
        """Set cookies another browser exported (CDP ``Network.setCookies``)."""
        self.session.import_cookies(session)
        log.info("%s: set %d session cookies over CDP", self.worker_id, len(session))

    def session_ok(self) -> bool:
        """Does Coupa take this browser as signed in?

        Asks the session poll first (a small JSON answer, no page to render); only
        when that answer is not one we know, opens the tenant's home page (logged)."""
        base = self.settings.require_base_url()
        try:
            with self.session.po_tab():
                landed = self.session.open(session_check_url(base))
                if is_sign_in_url(landed, base):
                    return False
                answer = session_poll_answer(*self.session.document_text())
                if answer is not None:
                    return answer
                log.info(
                    "%s: the session check at %s gave no answer coupadl knows; "
                    "opening the home page to see whether Coupa asks to sign in",
                    self.worker_id,
                    landed,
                )
                landed = self.session.open(base + "/")
        except (PageTimeout, WebDriverException, urllib3.exceptions.HTTPError) as exc:
            log.warning("%s: could not check the sign-in state: %s", self.worker_id, exc)
            return False
        return not is_sign_in_url(landed, base)
