"""The http engine's session, read from the signed-in base profile by a browser that
then closes.

A headless browser starts on a clone of the base profile (the one ``coupadl login``
saved), gives its cookies over CDP (``Network.getAllCookies``: encrypted "v20" cookies work, session
cookies included) and its user agent, and quits; the clone is removed. The cookies
stay in memory: this engine never writes them anywhere, and logs counts only.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from selenium.common.exceptions import WebDriverException

from coupadl.engine.browser.profile import clone_profile, ensure_not_locked, remove_clone
from coupadl.engine.browser.session import BrowserSession
from coupadl.engine.http.client import browser_user_agent
from coupadl.engine.http.cookies import CookieStore
from coupadl.engine.http.session import HttpSession
from coupadl.errors import BrowserError
from coupadl.settings import Settings

log = logging.getLogger(__name__)


def read_session(settings: Settings, base: Path, clone_parent: Path | None = None) -> HttpSession:
    """Cookies and user agent of a headless browser on a clone of ``base``."""
    if not base.is_dir():
        raise BrowserError(f"The browser profile {base} does not exist; run 'coupadl login' first.")
    # A profile its browser holds gives a clone without the newest cookies.
    ensure_not_locked(base)
    clone = clone_profile(base, clone_parent)
    try:
        headless = settings.model_copy(update={"headless": True})
        with BrowserSession(headless, clone) as browser:
            cookies = browser.export_cookies()
            agent = str(browser.driver.execute_script("return navigator.userAgent") or "")
    except WebDriverException as exc:
        raise BrowserError(f"The browser failed while reading the session: {exc.msg}") from exc
    finally:
        remove_clone(clone)
    tenant = urlsplit(settings.require_base_url()).hostname or ""
    # Counts only: cookie values are credentials.
    log.info(
        "read %d cookie(s) from the signed-in profile (%d for %s) and the browser's user "
        "agent; the browser is closed",
        len(cookies),
        CookieStore(cookies).count_for(tenant),
        tenant,
    )
    return HttpSession(cookies, browser_user_agent(agent))
