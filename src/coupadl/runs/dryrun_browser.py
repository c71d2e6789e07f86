"""The dry run with the browser engine: one browser on a clone of the saved profile
reads each PO as a run would, and asks for the file sizes itself.

Sizes: Coupa's pages do not show them (coupa-facts.md). Each size is asked for with a
HEAD request made by the signed-in page itself (``fetch``, same origin only, so the
session cookies never leave the browser, and a HEAD answer has no body). A file whose
HEAD fails, is redirected, or has no Content-Length is listed with an unknown size.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from selenium.common.exceptions import WebDriverException

from coupadl.engine.browser.login import require_base_profile
from coupadl.engine.browser.processor import BrowserRecords
from coupadl.engine.browser.profile import clone_profile, ensure_not_locked, remove_clone
from coupadl.engine.browser.session import BrowserSession
from coupadl.errors import BrowserError
from coupadl.models import POTask
from coupadl.runs.dryrun_listing import PlannedPO, plan_po
from coupadl.settings import Settings

log = logging.getLogger(__name__)

HEAD_TIMEOUT = 10.0  # seconds for all of one page's HEAD requests together

# Runs in the page: HEAD every URL at once, answer each Content-Length or null.
_SIZES_JS = """
const [urls, timeoutMs, done] = arguments;
const ctl = new AbortController();
const timer = setTimeout(() => ctl.abort(), timeoutMs);
Promise.all(urls.map(async (url) => {
  try {
    const r = await fetch(url, {method: 'HEAD', credentials: 'same-origin',
                                cache: 'no-store', signal: ctl.signal});
    // A redirect may end on a sign-in page or another host: its length is not the file's.
    if (!r.ok || r.redirected) return null;
    const n = r.headers.get('content-length');
    return n === null || n === '' ? null : Number(n);
  } catch (e) { return null; }
})).then((sizes) => { clearTimeout(timer); done(sizes); },
         () => { clearTimeout(timer); done(urls.map(() => null)); });
"""


def list_in_browser(
    tasks: Sequence[POTask], settings: Settings, on_po: Callable[[PlannedPO], None]
) -> None:
    """Walk every task in one browser on a clone of the base profile."""
    base = settings.require_base_url()
    profile = require_base_profile(settings)
    ensure_not_locked(profile)
    clone = clone_profile(profile)
    session = BrowserSession(settings, clone)
    try:
        session.start()
        session.driver.set_script_timeout(HEAD_TIMEOUT + 5)
        records = BrowserRecords(session, base)

        def sizes(urls: list[str]) -> list[int | None]:
            return _sizes(session, urls, base)

        for task in tasks:
            try:
                with session.po_tab():
                    planned = plan_po(records, task, settings, sizes)
            except WebDriverException as exc:
                raise BrowserError(f"the browser failed during the dry run: {exc.msg}") from exc
            on_po(planned)
    finally:
        session.close()
        remove_clone(clone)


def _sizes(session: BrowserSession, urls: list[str], base: str) -> list[int | None]:
    """Content-Length of each URL on the tenant's own origin, asked by the page."""
    origin = urlsplit(base)[:2]
    asked = [u for u in urls if urlsplit(u)[:2] == origin]
    found: dict[str, int | None] = {}
    if asked:
        try:
            answer = session.driver.execute_async_script(_SIZES_JS, asked, HEAD_TIMEOUT * 1000)
        except WebDriverException as exc:
            log.warning("could not ask for file sizes (%s); listing them as unknown", exc.msg)
            answer = None
        if isinstance(answer, list) and len(answer) == len(asked):
            found = {
                u: int(n) if isinstance(n, int | float) else None
                for u, n in zip(asked, answer, strict=True)
            }
    return [found.get(u) for u in urls]
