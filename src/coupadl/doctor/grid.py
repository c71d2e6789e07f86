"""Doctor checks of the Selenium Grid (``grid_url``): it answers as a Grid 4, offers a
Chromium-based browser, has free slots for the configured one, and managed downloads.

:func:`check_grid` reads the Grid's ``/status`` once, through the engine's own
:func:`~coupadl.engine.browser.grid.read_status` (the same reading a run's
:func:`~coupadl.engine.browser.grid.require_grid` makes); each verdict is a pure
function of the :class:`~coupadl.engine.browser.grid.GridStatus` it gave, so each can
be tested with plain data. Without ``grid_url`` there are no Grid rows.
"""

from __future__ import annotations

from collections.abc import Callable

from coupadl.doctor.result import Check, Level
from coupadl.engine.browser.grid import GridStatus, grid_browser_name, read_status
from coupadl.errors import GridError
from coupadl.settings import EngineKind, Settings

_NAMES = ("grid", "browsers", "slots", "managed")
_GUIDE = "docs/grid.md"
# The browserNames of the browsers coupadl can drive: it needs their DevTools (CDP).
_CHROMIUM_BASED = ("chrome", "MicrosoftEdge")
# What to pass for a Chromium-based browser the Grid offers instead of the configured one.
_BROWSER_FLAG = {"chrome": "--browser chromium", "MicrosoftEdge": "--browser edge"}


def grid_check(url: str, status: GridStatus) -> Check:
    """The Grid answered ``/status``: its version and nodes."""
    if status.version and not status.version.startswith("4."):
        return Check(
            "grid",
            Level.FAIL,
            f"{url} answers as Selenium Grid {status.version}, not Selenium Grid 4",
            f"point --grid-url at a Selenium Grid 4 hub or standalone server ({_GUIDE})",
        )
    name = f"Selenium Grid {status.version}" if status.version else "A Selenium Grid"
    if not status.nodes:
        return Check("grid", Level.OK, f"{name} at {url} answered; no node has registered")
    plural = "node" if status.nodes == 1 else "nodes"
    nodes = f"{status.nodes} {plural}"
    up = f"{nodes} up" if status.nodes_up == status.nodes else f"{nodes}, {status.nodes_up} up"
    return Check("grid", Level.OK, f"{name} at {url} answered: {up}")


def browsers_check(status: GridStatus) -> Check:
    """Some node offers a browser coupadl can drive (Chromium, Chrome or Edge)."""
    offered = ", ".join(status.browsers) or "none"
    ours = [b for b in status.browsers if b in _CHROMIUM_BASED]
    if ours:
        return Check(
            "browsers", Level.OK, f"offered: {offered} (Chromium-based: {', '.join(ours)})"
        )
    return Check(
        "browsers",
        Level.FAIL,
        f"offered: {offered}; no Chromium, Chrome or Edge",
        "coupadl drives Chromium, Chrome or Edge only (it needs their DevTools): add a node "
        f"with Chrome or Chromium (or Edge) and its driver ({_GUIDE})",
    )


def slots_check(name: str, status: GridStatus) -> Check:
    """Slots for the configured browser on nodes that are up, and how many are free."""
    if status.slots == 0:
        offered = ", ".join(status.browsers) or "none"
        others = [b for b in status.browsers if b in _BROWSER_FLAG and b != name]
        advice = f"start a node with {name} on the Grid ({_GUIDE})"
        if others:
            advice += f", or pass {_BROWSER_FLAG[others[0]]} (the Grid offers {others[0]})"
        if status.nodes and not status.nodes_up:
            advice = f"no node is up: start the Grid's nodes again ({_GUIDE})"
        return Check(
            "slots",
            Level.FAIL,
            f"no {name} slot on a node that is up (browsers offered: {offered})",
            advice,
        )
    counted = f"{status.free} of {status.slots} {name} slots free"
    if status.free == 0:
        return Check(
            "slots",
            Level.WARN,
            f"{counted}: a run's sessions would queue until other sessions end",
            "wait for the Grid's other sessions to end, or add nodes (or raise their "
            "--max-sessions)",
        )
    return Check("slots", Level.OK, counted)


def managed_check(name: str, status: GridStatus) -> Check:
    """Managed downloads (``se:downloadsEnabled``): the only way to the nodes' files."""
    if status.slots == 0:
        return Check("managed", Level.SKIP, f"not checked: no {name} slot")
    if status.managed_downloads:
        return Check("managed", Level.OK, f"managed downloads on for {name}")
    return Check(
        "managed",
        Level.FAIL,
        f"managed downloads off for {name}: coupadl could not fetch the files from the nodes",
        "start the Grid's nodes (or the standalone server) with "
        f"--enable-managed-downloads true ({_GUIDE})",
    )


def _not_checked(first: Check, why: str) -> list[Check]:
    return [first, *(Check(n, Level.SKIP, f"not checked: {why}") for n in _NAMES[1:])]


def check_grid(
    settings: Settings, read: Callable[[Settings], GridStatus] = read_status
) -> list[Check]:
    """The Grid rows (none without ``grid_url``); ``read`` asks the Grid for its status."""
    url = settings.grid_url
    if not url:
        return []
    engine = settings.engine
    if engine not in (EngineKind.AUTO, EngineKind.BROWSER):
        refused = Check(
            "grid",
            Level.FAIL,
            f"grid_url is set ({url}), and engine '{engine.value}' has no browser workers",
            "use --engine browser, or leave grid_url (--grid-url, COUPA_GRID_URL) unset",
        )
        return _not_checked(refused, f"engine '{engine.value}' uses no Grid")
    try:
        status = read(settings)
    except GridError as exc:
        advice = (
            "check --grid-url: the address of a Selenium Grid 4 hub or standalone server "
            f"(e.g. http://grid:4444), and that the Grid is running ({_GUIDE})"
        )
        return _not_checked(
            Check("grid", Level.FAIL, f"[{exc.code}] {exc.message}", advice), "grid failed"
        )
    name = grid_browser_name(settings.browser)
    first = grid_check(url, status)
    if first.level is Level.FAIL:
        return _not_checked(first, "grid failed")
    return [first, browsers_check(status), slots_check(name, status), managed_check(name, status)]
