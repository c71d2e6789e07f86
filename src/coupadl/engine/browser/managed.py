"""Downloads of a remote browser on a Selenium Grid, through its managed downloads.

The remote browser saves each file in its session's folder on the node; the Grid lists
that folder (``GET /session/{id}/se/files``) and hands a file over on request. Which
file belongs to which attachment comes from the browser itself: the host guard watches
each download under its own key over CDP (``Browser.downloadWillBegin`` and
``downloadProgress``: bytes so far, state, and the path it was saved to once complete),
so a PO's downloads still run side by side and a stalled one is seen by its bytes. A
complete file is copied from the node into the attachment's local staging folder, where
the flow verifies it as any other; the node's folder is emptied after each PO
(:meth:`RemoteSession.after_po`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath

from coupadl.engine.browser.remote import RemoteSession
from coupadl.engine.browser.session import begin_download
from coupadl.errors import DownloadError, DownloadTimeout
from coupadl.models import Attachment
from coupadl.settings import Settings

_POLL_SECONDS = 0.05
# How long a file the browser reported complete may take to show in the Grid's listing.
_LISTING_GRACE = 10.0


@dataclass(frozen=True)
class _Managed:
    name: str
    staging: Path


@dataclass
class ManagedFetcher:
    """:class:`coupadl.engine.interface.Fetcher` over a :class:`RemoteSession`."""

    session: RemoteSession
    settings: Settings
    clock: Callable[[], float] = time.monotonic

    def start(self, attachment: Attachment, name: str, staging: Path) -> _Managed:
        begin_download(self.session, attachment, name, staging)
        timeout = self.settings.download_start_timeout
        deadline = self.clock() + timeout
        while True:
            self._raise_problem(name, staging)
            seen = self.session.download_seen(staging)
            if seen is not None and seen.guid:
                return _Managed(name, staging)
            if self.clock() >= deadline:
                raise DownloadTimeout(f"the download did not start within {timeout:.0f} s")
            time.sleep(_POLL_SECONDS)

    def finish(self, pending: _Managed, on_growth: Callable[[], None]) -> Path:
        node_name = self._wait_complete(pending, on_growth)
        self._wait_listed(node_name)
        self.session.fetch_node_file(node_name, pending.staging)
        arrived = [p for p in pending.staging.iterdir() if p.is_file()]
        if len(arrived) != 1:
            raise DownloadError(f"{pending.name}: the Grid sent {len(arrived)} files for one")
        return arrived[0]

    def _wait_complete(self, pending: _Managed, on_growth: Callable[[], None]) -> str:
        """The node's name of the file, once the browser says it is complete."""
        settings = self.settings
        start = self.clock()
        last_bytes, last_change = -1, start
        while True:
            self._raise_problem(pending.name, pending.staging)
            seen = self.session.download_seen(pending.staging)
            if seen is not None and seen.state == "completed" and seen.file_path:
                return node_file_name(seen.file_path)
            now = self.clock()
            received = seen.received if seen is not None else 0
            if received != last_bytes:
                if last_bytes >= 0:
                    on_growth()
                last_bytes, last_change = received, now
            if now - last_change >= settings.download_stall_timeout:
                raise DownloadTimeout(
                    f"the download stalled at {received} bytes for "
                    f"{settings.download_stall_timeout:.0f} s"
                )
            if now - start >= settings.download_timeout:
                raise DownloadTimeout(
                    f"the download took longer than {settings.download_timeout:.0f} s"
                )
            time.sleep(_POLL_SECONDS)

    def _wait_listed(self, node_name: str) -> None:
        deadline = self.clock() + _LISTING_GRACE
        while node_name not in self.session.node_files():
            if self.clock() >= deadline:
                raise DownloadError(f"the Grid does not list the finished file {node_name!r}")
            time.sleep(_POLL_SECONDS * 4)

    def _raise_problem(self, name: str, staging: Path) -> None:
        reason = self.session.download_problem(staging)
        if reason:
            raise DownloadError(f"{name}: {reason}")


def node_file_name(path: str) -> str:
    """The file name in a path the node reported (a Windows node's too)."""
    pure = PureWindowsPath(path) if "\\" in path else PurePosixPath(path)
    return pure.name
