"""Checking the http engine's choice (``engine = auto``): some POs' pages are read by the
browser too, and the two readings compared.

Which POs (:func:`is_checked`): the first :data:`FIRST_CHECKS` the run starts, then every
``auto_check_every``-th (0: none). What is compared (:func:`compare`): the page's kind,
its requisition and its attachments as a set of (name, URL). The names are what the PO
folder gets, the URLs what is fetched: a file only the browser sees would be missing,
one whose link a script changes would be the wrong bytes, a requisition link only the
browser sees would skip the requisition's files. Not compared: the order (the set of
files fetched does not depend on it; only the suffixes of two same-named files might),
the source (header or comment changes a label, not a file) and the supplier (the folder,
shown in the results). URLs are compared whole: Coupa's attachment URLs are paths
(coupa-facts.md), the same in both readings.

After :data:`SWITCH_AFTER` POs disagreed, every later PO of the run goes to the browser
(:class:`CheckLedger`, one per run, shared by the handler threads).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from coupadl.coupa.page import PageInfo, PageKind
from coupadl.coupa.po_numbers import display_po
from coupadl.engine.hosts import redact

log = logging.getLogger(__name__)

FIRST_CHECKS = 3  # the run's first POs are always checked
SWITCH_AFTER = 2  # disagreeing POs after which the run goes to the browser
AGREED, DISAGREED = "agreed", "disagreed"  # POResult.engine_check ("" = not checked)
_MAX_NAMES = 10  # names a log line lists before "and N more"

Reading = frozenset[tuple[str, str]]


def is_checked(ordinal: int, every: int) -> bool:
    """Is the ``ordinal``-th PO of the run (1 = the first) also read by the browser?"""
    if every <= 0:
        return False
    return ordinal <= FIRST_CHECKS or ordinal % every == 0


def reading(page: PageInfo) -> Reading:
    """A page's attachments as compared: (name, URL) pairs."""
    return frozenset((a.name, a.url) for a in page.attachments)


@dataclass(frozen=True)
class Difference:
    """How the browser's reading of a page differs from plain HTTP's."""

    http_kind: PageKind
    browser_kind: PageKind
    only_http: Reading
    only_browser: Reading
    http_requisition: str = ""
    browser_requisition: str = ""

    def describe(self) -> str:
        """For the log: names only, URLs redacted (no query string)."""
        parts = []
        if self.http_kind is not self.browser_kind:
            parts.append(
                f"HTTP reads a {self.http_kind.value} page, the browser a "
                f"{self.browser_kind.value} page"
            )
        moved = {n for n, _ in self.only_http} & {n for n, _ in self.only_browser}
        for name in sorted(moved):
            http_urls = _urls(self.only_http, name)
            browser_urls = _urls(self.only_browser, name)
            parts.append(f"{name!r} at another URL (HTTP {http_urls}, browser {browser_urls})")
        sides = (("only in the browser", self.only_browser), ("only over HTTP", self.only_http))
        for label, side in sides:
            names = sorted(n for n, _ in side if n not in moved)
            if names:
                parts.append(f"{label}: {_listed(names)}")
        if self.http_requisition != self.browser_requisition:
            parts.append(
                f"requisition {self.http_requisition or 'none'} over HTTP, "
                f"{self.browser_requisition or 'none'} in the browser"
            )
        return "; ".join(parts)


def _urls(side: Reading, name: str) -> str:
    return ", ".join(sorted(redact(url) for n, url in side if n == name))


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    shown = ", ".join(repr(n) for n in names[:_MAX_NAMES])
    more = len(names) - _MAX_NAMES
    return f"{shown} and {more} more" if more > 0 else shown


def compare(http: PageInfo, browser: PageInfo) -> Difference | None:
    """How ``browser`` differs from ``http`` (the same URL read both ways), or None."""
    ours, theirs = reading(http), reading(browser)
    if (
        http.kind is browser.kind
        and ours == theirs
        and http.requisition_id == browser.requisition_id
    ):
        return None
    return Difference(
        http.kind,
        browser.kind,
        ours - theirs,
        theirs - ours,
        http.requisition_id,
        browser.requisition_id,
    )


class CheckLedger:
    """One run's checks: which POs are checked, which disagreed, whether the run has
    gone to the browser. Thread-safe (the http handlers of a run share it)."""

    def __init__(self, every: int) -> None:
        self.every = every
        self._lock = threading.Lock()
        # Every PO asked about, so a retry keeps its first answer (a few bytes per PO).
        self._chosen: dict[str, bool] = {}
        self._disagreed: dict[str, None] = {}  # an ordered set: the order found
        self._switched = False

    def choose(self, po: str) -> bool:
        """Is ``po`` checked? Its ordinal is the order POs were first asked about."""
        with self._lock:
            if po not in self._chosen:
                self._chosen[po] = is_checked(len(self._chosen) + 1, self.every)
            return self._chosen[po]

    @property
    def switched(self) -> bool:
        with self._lock:
            return self._switched

    def verdict_of(self, po: str) -> str:
        """DISAGREED for a PO that disagreed on an earlier attempt, else ""."""
        with self._lock:
            return DISAGREED if po in self._disagreed else ""

    def browser_reason(self, po: str) -> str | None:
        """Why ``po`` goes straight to the browser, or None: it disagreed before, or
        the run has switched."""
        with self._lock:
            if po in self._disagreed:
                return "the browser read its page otherwise than plain HTTP before"
            if self._switched:
                return f"the run went to the browser after {SWITCH_AFTER} POs disagreed"
        return None

    def disagreed(self, po: str, difference: Difference) -> None:
        """Note (and log) that ``po``'s readings differ; the :data:`SWITCH_AFTER`-th
        PO to disagree switches the run (logged once)."""
        with self._lock:
            self._disagreed[po] = None
            switch_now = not self._switched and len(self._disagreed) >= SWITCH_AFTER
            self._switched = self._switched or switch_now
            pos = ", ".join(display_po(p) for p in self._disagreed)
        log.warning(
            "%s: the browser reads its page otherwise than plain HTTP (%s); it goes to the browser",
            display_po(po),
            difference.describe(),
        )
        if switch_now:
            log.warning(
                "the browser and plain HTTP read the pages of %s differently: every later "
                "PO of this run goes to the browser",
                pos,
            )
