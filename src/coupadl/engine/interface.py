"""What an engine does for one PO, and nothing else.

An engine reads Coupa's record pages (:class:`RecordSource`) and fetches attachment
URLs into staging folders (:class:`Fetcher`). Everything else about a PO (page
decisions, requisition fallback, names, the ``__WORK`` folder and its rename,
verification, ``.msg`` to PDF, the :class:`~coupadl.models.POResult`) is the per-PO flow
(:mod:`coupadl.engine.flow`, :mod:`coupadl.engine.po`), written once. What an executor
needs of a worker's engine (start, process, the session in and out, its OS processes,
close) is the handler protocol, :class:`coupadl.execution.handler.Handler`; the parts
an executor loads by path are named by :class:`coupadl.execution.handler.EngineSpec`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from coupadl.coupa.page import PageInfo
from coupadl.models import Attachment


class RecordSource(Protocol):
    def open_record(self, url: str) -> PageInfo:
        """Open a PO or requisition page and parse it. Raises AuthRequiredError (sent
        to sign in), RateLimitedError (429, with the wait) or PageTimeout."""


# A download under way, as its engine knows it (the browser: its staging folder).
PendingT = TypeVar("PendingT")


class Fetcher(Protocol[PendingT]):
    """Downloads in two steps, so an engine may run a PO's downloads side by side: every
    file is started, then each is waited for, in the order started. A DownloadError's
    message names the file; a DownloadTimeout's does not (the flow adds the name)."""

    def start(self, attachment: Attachment, name: str, staging: Path) -> PendingT:
        """Begin fetching ``attachment`` into the empty folder ``staging``. Raises
        DownloadError (refused: e.g. a link off the tenant's hosts, a dropped
        connection) or DownloadTimeout (nothing began in time)."""

    def finish(self, pending: PendingT, on_growth: Callable[[], None]) -> Path:
        """Wait for the download; return the one file that arrived in its staging
        folder. ``on_growth`` is called as bytes arrive (a long download is progress,
        not a hung worker). Raises DownloadError or DownloadTimeout."""
