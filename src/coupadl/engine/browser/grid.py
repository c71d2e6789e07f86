"""Selenium Grid 4: what a Grid offers, read from its ``/status``, and its remote sessions.

With ``grid_url`` set, every browser worker is a remote WebDriver session on the Grid
(:func:`start_remote_driver`) instead of a local chromedriver. Remote browsers cannot
see this computer's disk: they start on an empty profile, get the signed-in session's
cookies over CDP (which the Grid proxies), and download through the Grid's managed
downloads (``se:downloadsEnabled``, see :mod:`coupadl.engine.browser.managed`). A Grid
whose nodes do not offer managed downloads is refused before any PO
(:func:`require_grid`): the files could not be fetched from its nodes.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import httpx
import urllib3
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chromium.options import ChromiumOptions
from selenium.webdriver.chromium.remote_connection import ChromiumRemoteConnection
from selenium.webdriver.remote.webdriver import WebDriver

from coupadl.errors import BrowserError, GridError
from coupadl.settings import BrowserKind, Settings

log = logging.getLogger(__name__)

# The browserName a Grid stereotype carries for each browser coupadl can drive.
_GRID_NAMES = {
    BrowserKind.CHROMIUM: "chrome",
    BrowserKind.CHROME: "chrome",
    BrowserKind.EDGE: "MicrosoftEdge",
}
_MANAGED_DOWNLOADS = "se:downloadsEnabled"
_STATUS_TIMEOUT = 10.0


def grid_browser_name(kind: BrowserKind) -> str:
    """The W3C ``browserName`` of ``kind`` on a Grid (Chromium runs in Chrome's slots)."""
    return _GRID_NAMES[kind]


@dataclass(frozen=True)
class GridStatus:
    """What a Grid's ``/status`` says, for one browser."""

    ready: bool
    version: str  # the first node's, or "" when it names none
    browsers: tuple[str, ...]  # every browserName its nodes offer
    # Sessions of this browser the Grid can run at once on nodes that are UP: on slots
    # with managed downloads where there are any.
    slots: int
    free: int  # of those, not running a session now
    managed_downloads: bool  # some slot of this browser has se:downloadsEnabled
    nodes: int = 0  # nodes registered, whatever their availability
    nodes_up: int = 0  # of those, UP


def parse_status(payload: dict[str, Any], browser_name: str) -> GridStatus:
    """Read a Grid 4 ``/status`` answer. A node runs at most ``maxSessions`` sessions,
    whatever the number of its slots (a standalone server lists one slot per browser
    and session). What is not shaped as a Grid 4 answer counts as nothing offered."""
    value = _dict(payload.get("value")) if isinstance(payload, dict) else {}
    nodes = [n for n in _list(value.get("nodes")) if isinstance(n, dict)]
    browsers: set[str] = set()
    up = 0
    every, managed = [0, 0], [0, 0]  # (slots, free): all of the browser's; managed only
    for node in nodes:
        node_slots = [s for s in _list(node.get("slots")) if isinstance(s, dict)]
        for slot in node_slots:
            browsers.add(str(_stereotype(slot).get("browserName") or ""))
        if node.get("availability") != "UP":
            continue
        up += 1
        ours = [s for s in node_slots if _stereotype(s).get("browserName") == browser_name]
        busy = sum(1 for s in node_slots if s.get("session"))
        most = _max_sessions(node) or len(ours)
        for tally, usable in (
            (every, ours),
            (managed, [s for s in ours if _stereotype(s).get(_MANAGED_DOWNLOADS)]),
        ):
            tally[0] += min(len(usable), most)
            idle = sum(1 for s in usable if not s.get("session"))
            tally[1] += max(0, min(idle, most - busy))
    # coupadl asks for managed downloads, so only such slots take its sessions; with none
    # anywhere, the browser's slots are counted (and require_grid says what is missing).
    slots, free = managed if managed[0] else every
    version = str(nodes[0].get("version") or "").split(" ")[0] if nodes else ""
    return GridStatus(
        ready=bool(value.get("ready")),
        version=version,
        browsers=tuple(sorted(b for b in browsers if b)),
        slots=slots,
        free=free,
        managed_downloads=managed[0] > 0,
        nodes=len(nodes),
        nodes_up=up,
    )


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _stereotype(slot: dict[str, Any]) -> dict[str, Any]:
    return _dict(slot.get("stereotype"))


def _max_sessions(node: dict[str, Any]) -> int:
    """The node's ``maxSessions``, or 0 when it names no number."""
    most = node.get("maxSessions")
    return most if isinstance(most, int) and not isinstance(most, bool) and most > 0 else 0


def read_status(settings: Settings) -> GridStatus:
    """Ask the Grid at ``grid_url`` for its status. Raises :class:`GridError` when it
    does not answer as a Selenium Grid 4 does."""
    url = require_grid_url(settings)
    try:
        answer = httpx.get(f"{url}/status", timeout=_STATUS_TIMEOUT)
        answer.raise_for_status()
        payload = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise GridError(f"The Selenium Grid at {url} did not answer /status: {exc}") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("value"), dict):
        raise GridError(f"{url}/status is not a Selenium Grid 4 status answer")
    return parse_status(payload, grid_browser_name(settings.browser))


def require_grid_url(settings: Settings) -> str:
    if not settings.grid_url:
        raise GridError("No Selenium Grid: pass --grid-url or set COUPA_GRID_URL.")
    return settings.grid_url


def require_grid(settings: Settings) -> GridStatus:
    """The Grid's status, when it can run this run's browsers: it has slots for the
    browser and offers managed downloads. Raises :class:`GridError` (exit code 5)."""
    status = read_status(settings)
    name = grid_browser_name(settings.browser)
    if status.slots == 0:
        offered = ", ".join(status.browsers) or "none"
        raise GridError(
            f"The Selenium Grid at {settings.grid_url} has no {name} slot on a node that is "
            f"up (browsers offered: {offered})."
        )
    if not status.managed_downloads:
        raise GridError(
            f"The Selenium Grid at {settings.grid_url} does not offer managed downloads for "
            f"{name}: coupadl could not fetch the files from its nodes. Start the nodes "
            "with --enable-managed-downloads true (see docs/grid.md)."
        )
    return status


def remote_options(settings: Settings) -> ChromiumOptions:
    """Options of a remote browser: an empty profile on the node, managed downloads,
    and nothing that names a path on this computer."""
    options: ChromiumOptions = (
        webdriver.EdgeOptions()
        if settings.browser is BrowserKind.EDGE
        else webdriver.ChromeOptions()
    )
    options.page_load_strategy = "eager"
    options.enable_downloads = True  # se:downloadsEnabled: the node keeps each session's files
    for arg in ("--no-first-run", "--no-default-browser-check", "--window-size=1024,768"):
        options.add_argument(arg)
    if settings.headless:
        options.add_argument("--headless=new")
        options.add_argument("--start-fullscreen")  # as for local browsers (driver.py)
    for arg in settings.grid_browser_args:
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {
            "download.prompt_for_download": False,
            "profile.default_content_setting_values.automatic_downloads": 1,
            "plugins.always_open_pdf_externally": True,
        },
    )
    return options


def start_remote_driver(settings: Settings) -> WebDriver:
    """A new session on the Grid. Raises :class:`BrowserError` with advice."""
    os.environ["SE_OFFLINE"] = "true"
    url = require_grid_url(settings)
    vendor = "ms" if settings.browser is BrowserKind.EDGE else "goog"
    # The vendor's connection knows the CDP command ("goog/cdp/execute"), which the Grid
    # passes on to the node's driver.
    connection = ChromiumRemoteConnection(
        url, vendor_prefix=vendor, browser_name=grid_browser_name(settings.browser)
    )
    try:
        return webdriver.Remote(command_executor=connection, options=remote_options(settings))
    except WebDriverException as exc:
        text = str(exc.msg or exc).strip()
        raise BrowserError(
            f"The Selenium Grid at {url} did not start a {settings.browser.value} session: "
            f"{text[:500]}"
        ) from exc
    except urllib3.exceptions.HTTPError as exc:
        # A request in the Grid's queue is answered only once a slot is free.
        raise BrowserError(
            f"The Selenium Grid at {url} did not start a {settings.browser.value} session "
            f"({exc}): are all its slots busy? 'coupadl doctor --grid-url {url}' shows them."
        ) from exc
