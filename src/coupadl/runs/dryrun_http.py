"""The dry run with the http engine (``engine = http`` or ``auto``): the signed-in
profile's session read as a run reads it, then each PO read over plain HTTP and each
file's size asked with a HEAD request (``engine.http.sizes``).

In ``auto``, the run's refusal check comes first: when Coupa takes the session in the
browser but not over plain HTTP, :class:`PlainHttpRefusedError` is raised before any PO
is read, and the caller lists with the browser instead. A PO whose page only a browser
can read is listed as such, with a note of what a run does with it; the dry run starts
no browser for it, so its files are not listed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from coupadl.engine.browser.login import require_base_profile
from coupadl.engine.http.prepare import refuse_if_browser_only
from coupadl.engine.http.records import HttpRecords
from coupadl.engine.http.runtime import HttpRuntime, acquire, release
from coupadl.engine.http.signin import read_session
from coupadl.engine.http.sizes import head_sizes
from coupadl.errors import NeedsBrowserError
from coupadl.models import POTask
from coupadl.runs.dryrun_listing import NEEDS_BROWSER, PlannedPO, plan_po
from coupadl.settings import EngineKind, Settings


def list_over_http(
    tasks: Sequence[POTask], settings: Settings, on_po: Callable[[PlannedPO], None]
) -> None:
    """Walk every task over plain HTTP. Raises PlainHttpRefusedError (``auto`` only)
    before the first PO when Coupa refuses the session over plain HTTP."""
    session = read_session(settings, require_base_profile(settings))
    if settings.engine is EngineKind.AUTO:
        refuse_if_browser_only(settings, session)
    runtime = acquire(settings, session)
    try:
        for task in tasks:
            on_po(_plan_po(runtime, task, settings))
    finally:
        release(runtime)


def _plan_po(runtime: HttpRuntime, task: POTask, settings: Settings) -> PlannedPO:
    def sizes(urls: list[str]) -> list[int | None]:
        return head_sizes(runtime, urls)

    try:
        return plan_po(HttpRecords(runtime), task, settings, sizes)
    except NeedsBrowserError as exc:
        return PlannedPO(task.po_number, NEEDS_BROWSER, note=browser_note(settings, exc.reason))


def browser_note(settings: Settings, reason: str) -> str:
    """What a run does with a PO only a browser can read, for the listing."""
    seen = f"only a browser can read its page ({reason})"
    if settings.engine is EngineKind.AUTO:
        return (
            f"{seen}: a run reads it in the browser; the dry run starts none, so its files "
            "are not listed"
        )
    return (
        f"{seen}: a run with --engine http fails it (E_NEEDS_BROWSER); with --engine auto "
        "or browser it is read in a browser. Its files are not listed"
    )
