"""A browser worker's session on a Selenium Grid 4 (``grid_url``): no local process.

A :class:`RemoteSession` drives a remote WebDriver session as :class:`BrowserSession`
drives a local browser, with three differences. It has no profile: the signed-in
session's cookies are set over CDP, which the Grid proxies. Its host guard connects to
the Grid's DevTools proxy (``se:cdp``) instead of a local DevTools port. And it never
names a path on this computer to the browser: files are saved on the node, in the
session's managed-downloads folder, watched over CDP and fetched from the node by
:class:`coupadl.engine.browser.managed.ManagedFetcher`; the node's folder is emptied
after every PO, so files of two POs never mix.
"""

from __future__ import annotations

import logging
from pathlib import Path

import urllib3
from selenium.common.exceptions import WebDriverException

from coupadl.engine.browser.driver import bound_commands
from coupadl.engine.browser.grid import start_remote_driver
from coupadl.engine.browser.hostguard import DownloadSeen, HostGuard
from coupadl.engine.browser.session import BrowserSession
from coupadl.engine.hosts import HostPolicy
from coupadl.errors import BrowserError, DownloadError, GridError
from coupadl.settings import Settings

log = logging.getLogger(__name__)

# The Grid's DevTools proxy for a session (a WebSocket URL), in its capabilities.
_CDP_CAPABILITY = "se:cdp"


class RemoteSession(BrowserSession):
    """A remote browser on the Grid at ``settings.grid_url``, kept open across POs."""

    def __init__(self, settings: Settings) -> None:
        # No local profile (the browser's is on its node); downloads always guarded.
        super().__init__(settings, Path(), guard_hosts=True)

    def start(self) -> None:
        """Start a session on the Grid and watch its downloads through ``se:cdp``."""
        settings = self.settings
        self._driver = driver = start_remote_driver(settings)
        bound_commands(driver, self.command_timeout)
        driver.set_page_load_timeout(settings.page_timeout)
        self._keeper = driver.current_window_handle
        endpoint = str(driver.capabilities.get(_CDP_CAPABILITY) or "")
        if not endpoint:
            self.close()
            raise GridError(
                f"The Selenium Grid at {settings.grid_url} gives its sessions no DevTools "
                f"endpoint ({_CDP_CAPABILITY}): coupadl needs it to set the session's cookies "
                "and to watch downloads. Use a Chrome or Edge node of Selenium 4."
            )
        self._guard = HostGuard(self._allowed_hosts(), endpoint=endpoint)
        if not self._guard.start():
            self.close()
            raise BrowserError(f"could not connect to {endpoint} to watch the downloads")
        self.clear_downloads()
        log.debug("remote browser session %s started on %s", driver.session_id, settings.grid_url)

    def pids(self) -> list[int]:
        """None here: the browser runs on a Grid node (health comes from the session)."""
        return []

    # --- downloads ------------------------------------------------------------------
    def set_download_dir(self, folder: Path) -> None:
        """Watch the next download under ``folder``; the node decides where it saves it."""
        if not self._require_guard().watch_next_download(folder):
            raise DownloadError("the remote browser did not confirm it reports downloads")

    def download_seen(self, key: Path) -> DownloadSeen | None:
        """What the remote browser reported of the download watched under ``key``."""
        return self._require_guard().download(key)

    def node_files(self) -> list[str]:
        """The names in the session's managed-downloads folder on the node."""
        with self._watch_commands():
            return [str(name) for name in self.driver.get_downloadable_files()]

    def fetch_node_file(self, name: str, folder: Path) -> None:
        """Copy ``name`` from the node's folder into the local ``folder``."""
        with self._watch_commands():
            self.driver.download_file(name, str(folder))

    def clear_downloads(self) -> None:
        """Cancel downloads still running and empty the node's folder."""
        self._require_guard().cancel_unfinished()
        with self._watch_commands():
            self.driver.delete_downloadable_files()

    def after_po(self) -> None:
        """Empty the node's folder before the next PO; a failure is logged (the next
        PO's first command will show whether the session is still there)."""
        try:
            self.clear_downloads()
        except (WebDriverException, BrowserError, urllib3.exceptions.HTTPError) as exc:
            log.warning("could not empty the remote session's download folder: %s", exc)

    def _require_guard(self) -> HostGuard:
        if self._guard is None:
            raise BrowserError("the remote browser session is not started")
        return self._guard

    def _allowed_hosts(self) -> HostPolicy:
        if self._policy is None:
            raise BrowserError("a remote browser needs base_url: it only downloads from it")
        return self._policy
