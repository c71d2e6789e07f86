"""One long-lived browser session: navigate, read pages, download into a chosen folder.

A :class:`BrowserSession` wraps one Selenium driver on one profile directory. It
knows how to drive a browser, not what a Coupa page means: parsing lives in
:mod:`coupadl.coupa.page` and the order of work in :mod:`coupadl.engine.browser.processor`.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import urllib3
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.wait import WebDriverWait

from coupadl.engine.browser.driver import (
    bound_commands,
    command_timeout,
    start_driver,
    stop_page_loading,
)
from coupadl.engine.browser.hostguard import HostGuard, debugger_address
from coupadl.engine.hosts import HostPolicy
from coupadl.errors import BrowserError, DownloadError, PageTimeout
from coupadl.models import Attachment, AttachmentSource
from coupadl.settings import Settings

log = logging.getLogger(__name__)

# Clicks the real element for header items (a span whose JS handler starts the download);
# for links, a temporary <a download> so a target=_blank link opens no tab and an error
# response cannot navigate the page away.
_START_DOWNLOAD_JS = """
const [url, useElement] = arguments;
if (useElement) {
  for (const el of document.querySelectorAll('[data-url]')) {
    if (el.getAttribute('role') === 'button' && el.dataset.url &&
        new URL(el.dataset.url, location.href).href === url) { el.click(); return 'clicked'; }
  }
}
const a = document.createElement('a');
a.href = url; a.download = ''; a.rel = 'noopener'; a.style.display = 'none';
document.body.appendChild(a); a.click(); a.remove();
return 'anchor';
"""

# A JSON (or text) answer shows as a document holding one <pre> (plus, in recent
# Chromium, an empty formatter <div>): its text is the answer.
_DOCUMENT_TEXT_JS = """
const pre = document.querySelector('body > pre');
const text = pre ? pre.textContent : (document.body ? document.body.innerText : '');
return [document.contentType || '', text || ''];
"""

_HEADER_SOURCES = {AttachmentSource.HEADER, AttachmentSource.REQUISITION_HEADER}
# Seconds past page_timeout before a navigation chromedriver has not ended is stopped
# (chromedriver's own timeout answers within a few hundredths of a second).
_STOP_GRACE = 2.0


# The browser engine's session: every cookie of the browser, as CDP gives them.
Cookies = list[dict[str, Any]]


class BrowserSession:
    """A browser on one profile, kept open across many POs."""

    def __init__(self, settings: Settings, profile_dir: Path, *, guard_hosts: bool = False) -> None:
        self.settings = settings
        self.profile_dir = profile_dir
        # Worker browsers only: downloads may not leave the tenant's hosts (hostguard.py).
        self._policy = (
            HostPolicy(settings.base_url, settings.file_hosts)
            if guard_hosts and settings.base_url
            else None
        )
        self._guard: HostGuard | None = None
        self._driver: WebDriver | None = None
        self._keeper: str | None = None
        self._work_tab: str | None = None
        self._tab_uses = 0
        self._devtools: str | None = None  # the browser's DevTools host:port
        self.command_timeout = command_timeout(settings)
        # Why the driver is no longer asked anything (a command it never answered), or None.
        self.hung: str | None = None

    # --- life cycle -----------------------------------------------------------------
    def start(self) -> None:
        """Start the browser. The first tab stays open as a keeper between POs."""
        default_dir = Path(tempfile.gettempdir())
        self._driver = start_driver(self.settings, self.profile_dir, default_dir)
        bound_commands(self._driver, self.command_timeout)
        self._driver.set_page_load_timeout(self.settings.page_timeout)
        self._keeper = self._driver.current_window_handle
        self._devtools = debugger_address(dict(self._driver.capabilities))
        if self._devtools is None:
            log.warning(
                "the browser names no DevTools address: redirects are not checked, and a "
                "page stuck loading ends only with the %.0f s command timeout",
                self.command_timeout,
            )
        elif self._policy is not None:
            self._guard = HostGuard(self._policy, self._devtools)
            self._guard.start()
        log.debug("browser started on %s (pids %s)", self.profile_dir, self.pids())

    def close(self) -> None:
        """Quit the browser; kill what is left of it if quitting fails."""
        if self._driver is None:
            return
        pids = self.pids()
        if self._guard is not None:
            self._guard.close()
            self._guard = None
        if self.hung is not None:
            # Its driver would answer quit no sooner than the command it is stuck on.
            log.warning("not asking the hung driver to quit; killing the browser's processes")
        else:
            try:
                self._driver.quit()
            except WebDriverException as exc:
                log.warning("browser did not quit cleanly (%s); killing its processes", exc.msg)
            except urllib3.exceptions.HTTPError as exc:
                log.warning("browser did not answer quit (%s); killing its processes", exc)
        self._driver = None
        for pid in pids:
            try:
                psutil.Process(pid).kill()
            except psutil.NoSuchProcess:
                continue

    def __enter__(self) -> BrowserSession:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def driver(self) -> WebDriver:
        if self._driver is None:
            raise BrowserError("the browser session is not started")
        return self._driver

    def pids(self) -> list[int]:
        """The driver's pid and every browser process under it."""
        if self._driver is None:
            return []
        process = getattr(getattr(self._driver, "service", None), "process", None)
        if process is None:
            return []
        try:
            root = psutil.Process(process.pid)
            return [root.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def is_alive(self) -> bool:
        if self.hung is not None:
            return False
        try:
            with self._watch_commands():
                _ = self.driver.window_handles
        except (WebDriverException, BrowserError, urllib3.exceptions.HTTPError):
            return False
        return True

    def is_usable(self) -> bool:
        """True when the keeper tab still runs a script (and is now the current tab).

        A browser whose renderers crashed (killed, or out of memory) is alive but answers
        every command with "tab crashed": only a new browser helps then. So does one
        whose driver left a command unanswered (:attr:`hung`): it is not asked again.
        """
        if self.hung is not None:
            log.warning("the browser is given up: %s", self.hung)
            return False
        try:
            with self._watch_commands():
                self.driver.switch_to.window(self._keeper or "")
                self.driver.execute_script("return 1")
        except (WebDriverException, BrowserError, urllib3.exceptions.HTTPError) as exc:
            log.warning("the browser no longer runs scripts: %s", exc)
            return False
        return True

    @contextmanager
    def _watch_commands(self) -> Iterator[None]:
        """Give the browser up when its driver leaves a command unanswered for
        ``command_timeout`` s: it is still busy with that command and would hold every
        later one (quit included) as long."""
        try:
            yield
        except urllib3.exceptions.TimeoutError as exc:
            if self.hung is None:
                self.hung = (
                    f"the browser did not answer a WebDriver command within "
                    f"{self.command_timeout:.0f} s"
                )
                log.warning("%s (%s): giving this browser up", self.hung, exc)
            raise

    # --- pages ----------------------------------------------------------------------
    @contextmanager
    def po_tab(self) -> Iterator[None]:
        """The work tab for one PO, beside the keeper tab.

        A tab serves ``fresh_tab_every`` POs before a fresh one replaces it (frees page
        memory without paying a renderer start per PO), and is replaced at once after
        an error, so a broken page never carries over to the next PO.
        """
        if self.hung is not None:
            raise BrowserError(self.hung)
        driver = self.driver
        with self._watch_commands():
            if self._work_tab is None:
                driver.switch_to.new_window("tab")
                self._work_tab, self._tab_uses = driver.current_window_handle, 0
            else:
                driver.switch_to.window(self._work_tab)
        self._tab_uses += 1
        finished = False
        try:
            with self._watch_commands():
                yield
            finished = True
        finally:
            worn_out = self._tab_uses >= self.settings.fresh_tab_every
            if self.hung is None:
                self._close_tabs(keep_work=finished and not worn_out)
            else:
                self._work_tab = None  # the browser is closed, not its tabs

    def after_po(self) -> None:
        """A PO is done with the browser: nothing to do here (a remote session's is)."""

    def _close_tabs(self, keep_work: bool) -> None:
        """Close every tab but the keeper (and the work tab, if kept): popups included."""
        driver = self.driver
        try:
            with self._watch_commands():
                for handle in driver.window_handles:
                    if handle == self._keeper or (keep_work and handle == self._work_tab):
                        continue
                    driver.switch_to.window(handle)
                    driver.close()
                driver.switch_to.window((self._work_tab if keep_work else self._keeper) or "")
        except WebDriverException as exc:
            log.warning("could not close a tab: %s", exc.msg)
        if not keep_work:
            self._work_tab = None

    def open(self, url: str) -> str:
        """Navigate and wait until the DOM is parsed; return the URL we ended on."""
        if self._guard is not None:
            self._guard.disarm()  # a navigation may pass an SSO host; downloads may not
        with self._stop_if_stuck():
            try:
                self.driver.get(url)
            except TimeoutException as exc:
                raise PageTimeout(
                    f"the page did not load within {self.settings.page_timeout:.0f} s"
                ) from exc
        return self.driver.current_url

    @contextmanager
    def _stop_if_stuck(self) -> Iterator[None]:
        """Stop the tab loading (over DevTools) when chromedriver has not ended the
        navigation soon after ``page_timeout``.

        It does not always end it. When the page before fires its load event (its late
        scripts done) while the navigation waits for the server, chromedriver asks the
        tab for its state, Chromium holds that question until the navigation commits,
        and chromedriver waits for the answer past its own timeout: as long as the
        server takes (measured: 600 s), every later command waiting behind it. Stopped,
        the navigation ends at once as a page timeout and the tab is usable again.
        """
        address = self._devtools
        if address is None:
            yield
            return
        target = self.driver.current_window_handle
        timer = threading.Timer(
            self.settings.page_timeout + _STOP_GRACE, self._stop_stuck_load, (address, target)
        )
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()
            timer.join()  # a stop under way must not reach the next navigation

    def _stop_stuck_load(self, address: str, target: str) -> None:
        log.warning(
            "chromedriver did not end a page load at page_timeout (%.0f s); stopping it "
            "over DevTools",
            self.settings.page_timeout,
        )
        if not stop_page_loading(address, target):
            log.warning(
                "the page load goes on: the %.0f s command timeout ends it, and the browser "
                "is then replaced",
                self.command_timeout,
            )

    def wait_for(self, css: str, timeout: float) -> bool:
        """Wait until ``css`` matches something; False (logged) when it never does."""
        try:
            WebDriverWait(self.driver, timeout, poll_frequency=0.05).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, css)
            )
        except TimeoutException:
            log.warning(
                "page %s never showed %r; reading it as it is", self.driver.current_url, css
            )
            return False
        return True

    def page_source(self) -> str:
        return self.driver.page_source

    def document_text(self) -> tuple[str, str]:
        """The current document's content type and text: for a JSON or text answer."""
        content_type, text = self.driver.execute_script(_DOCUMENT_TEXT_JS)
        return str(content_type), str(text)

    # --- downloads ------------------------------------------------------------------
    def set_download_dir(self, folder: Path) -> None:
        """Send the next downloads to ``folder`` (CDP; works headless, per run time).

        Files are saved under a GUID (``allowAndName``), not the server's file name: a
        long name (250 bytes plus ``.crdownload`` is over the 255-byte limit) would make
        the download fail before it starts. The caller names the file afterwards.
        With the host guard, its connection sets it, with progress events for it.
        """
        if self._guard is not None and self._guard.active and self._guard.set_download_dir(folder):
            return
        self.cdp(
            "Browser.setDownloadBehavior",
            {"behavior": "allowAndName", "downloadPath": str(folder), "eventsEnabled": False},
        )

    def start_download(self, attachment: Attachment) -> str:
        """Start downloading one attachment listed on the current page.

        Raises :class:`DownloadError` when its link leads off the allowed hosts."""
        if self._policy is not None:
            if not self._policy.allows(attachment.url):
                raise DownloadError(
                    f"not downloaded: the link points to {self._policy.refusal(attachment.url)}"
                )
            if self._guard is not None:
                self._guard.arm()
        use_element = attachment.source in _HEADER_SOURCES
        return str(self.driver.execute_script(_START_DOWNLOAD_JS, attachment.url, use_element))

    def download_problem(self, folder: Path) -> str | None:
        """Why the download into ``folder`` failed in the browser (a refused redirect, a
        dropped connection), or None: not known to have failed."""
        return self._guard.problem(folder) if self._guard is not None else None

    # --- cookies --------------------------------------------------------------------
    def export_cookies(self) -> Cookies:
        """Every cookie of the browser (CDP), e.g. to sign in another session."""
        with self._watch_commands():
            return list(self.cdp("Network.getAllCookies", {}).get("cookies", []))

    def import_cookies(self, cookies: Cookies) -> None:
        """Set cookies exported from another session (CDP ``Network.setCookies``)."""
        allowed = {"name", "value", "domain", "path", "secure", "httpOnly", "sameSite", "expires"}
        clean = [{k: v for k, v in c.items() if k in allowed} for c in cookies]
        for cookie in clean:
            if cookie.get("expires", 0) <= 0:
                cookie.pop("expires", None)  # a session cookie: CDP rejects -1
        with self._watch_commands():
            self.cdp("Network.setCookies", {"cookies": clean})

    def cdp(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """One CDP command through the driver (a Grid passes it on to its node's)."""
        answer = self.driver.execute("executeCdpCommand", {"cmd": method, "params": params})
        return dict(answer.get("value") or {})


def begin_download(session: BrowserSession, attachment: Attachment, name: str, key: Path) -> None:
    """Watch the next download under ``key`` and start it (a refused link: DownloadError)."""
    session.set_download_dir(key)
    try:
        session.start_download(attachment)
    except DownloadError as exc:  # the link leads off the tenant's and file hosts
        raise DownloadError(f"{name}: {exc.message}") from exc
