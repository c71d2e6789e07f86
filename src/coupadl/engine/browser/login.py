"""Sign in once and keep the signed-in browser profile: ``coupadl login``.

The base profile is what every run clones for its browsers. Sign-in is detected by
arriving on a Coupa page that is not a sign-in page, never by a fixed delay.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from selenium.common.exceptions import (
    NoSuchElementException,
    NoSuchWindowException,
    WebDriverException,
)
from selenium.webdriver.common.by import By

from coupadl.coupa.page import PageKind, parse_page
from coupadl.coupa.signin import EMAIL_SELECTOR, PASSWORD_SELECTOR, REFUSED_SELECTOR
from coupadl.coupa.urls import is_sign_in_url, same_tenant
from coupadl.engine.browser.profile import (
    clone_profile,
    ensure_not_locked,
    profile_in_use,
    remove_clone,
)
from coupadl.engine.browser.session import BrowserSession
from coupadl.engine.browser.startfail import NO_DISPLAY_HELP, has_display
from coupadl.errors import AuthRequiredError, BrowserError
from coupadl.settings import Settings

log = logging.getLogger(__name__)
_POLL_SECONDS = 0.5


@dataclass(frozen=True)
class LoginOutcome:
    profile_dir: Path
    signed_in: bool
    landed_url: str
    # The fresh session cookies, for browsers already running. Secret: never logged.
    cookies: list[dict[str, Any]] = field(default_factory=list, repr=False)


def _fill_native_form(session: BrowserSession, username: str, password: str) -> bool:
    """Fill Coupa's own sign-in form when the page shows it; False on an SSO page."""
    driver = session.driver
    try:
        email = driver.find_element(By.CSS_SELECTOR, EMAIL_SELECTOR)
        secret = driver.find_element(By.CSS_SELECTOR, PASSWORD_SELECTOR)
    except NoSuchElementException:
        log.warning("no native sign-in form on this page (SSO?): sign in in the browser window")
        return False
    email.clear()
    email.send_keys(username)
    secret.clear()
    secret.send_keys(password)
    secret.submit()
    return True


def _document_url(session: BrowserSession) -> str:
    """The shown document's URL: ``chrome-error://...`` for the browser's error page."""
    return str(session.driver.execute_script("return location.href") or "")


def _coupa_page_url(session: BrowserSession, base: str) -> str | None:
    """The URL of the page the browser shows when it is a tenant page past sign-in.

    ``None`` while it is a sign-in form, the identity provider (another host), a page
    still loading, or the browser's own error page: the document's ``location`` is read
    because after a network error ``current_url`` still names the tenant URL. Raises
    ``WebDriverException`` when the page changes under it or the browser is gone.
    """
    driver = session.driver
    url = _document_url(session)
    if not same_tenant(url, base) or is_sign_in_url(url, base):
        return None
    if driver.execute_script("return document.readyState") == "loading":
        return None
    # A tenant may show its sign-in form on any path: the URL alone is not enough.
    page = parse_page(driver.page_source, url, base)
    return None if page.kind is PageKind.SIGN_IN else url


def _window_closed(exc: WebDriverException) -> AuthRequiredError:
    return AuthRequiredError(
        f"The browser window was closed before sign-in finished ({exc.msg}). "
        "Run 'coupadl login' again and leave the window open until Coupa shows."
    )


def _unreachable(base: str, why: str) -> BrowserError:
    return BrowserError(
        f"The browser could not open {base} ({why}). Check --base-url, your VPN and "
        "proxy: 'coupadl doctor' tells which."
    )


def _open_tenant(session: BrowserSession, base: str) -> str:
    """Open the tenant's front door (SSO tenants redirect from there); the URL reached.

    A network error either raises (``net::ERR_...``) or shows the browser's error page
    under the tenant's URL, depending on the browser: both become a clear
    :class:`BrowserError` rather than a wait for a sign-in that cannot happen."""
    try:
        session.open(base + "/")
        if _document_url(session).startswith("chrome-error:"):
            raise _unreachable(base, "the browser shows its network error page")
        return session.driver.current_url
    except WebDriverException as exc:
        if not session.is_alive():
            raise _window_closed(exc) from exc
        first_line = (exc.msg or type(exc).__name__).splitlines()[0]
        raise _unreachable(base, first_line) from exc


def _refused(session: BrowserSession, base: str) -> str | None:
    """The form's message when Coupa refused the typed credentials, else None."""
    if not is_sign_in_url(session.driver.current_url, base):
        return None
    alerts = session.driver.find_elements(By.CSS_SELECTOR, REFUSED_SELECTOR)
    texts = [a.text.strip() for a in alerts if a.text.strip()]
    return texts[0] if texts else None


def _wait_until_signed_in(
    session: BrowserSession, base: str, timeout: float, *, form_filled: bool = False
) -> str:
    """Poll until the browser shows a tenant page past sign-in; never a fixed delay.

    After filling the native form with the configured credentials, a refusal ends the
    wait at once: nobody is there to type them again."""
    deadline = time.monotonic() + timeout
    where = ""
    while time.monotonic() < deadline:
        landed = None
        try:
            where = session.driver.current_url
            refusal = _refused(session, base) if form_filled else None
            if refusal:
                raise AuthRequiredError(
                    f"Coupa refused the configured username and password: {refusal} "
                    "Check COUPA_USERNAME / COUPA_PASSWORD (or sign in with 'coupadl login')."
                )
            landed = _coupa_page_url(session, base)
        except NoSuchWindowException as exc:
            # The person closed the tab we watched; follow another one if any is left.
            try:
                handles = session.driver.window_handles
            except WebDriverException:
                handles = []
            if not handles:
                raise _window_closed(exc) from exc
            log.info("the watched tab was closed; watching another one")
            session.driver.switch_to.window(handles[-1])
        except WebDriverException as exc:
            if not session.is_alive():
                raise _window_closed(exc) from exc
            # The page changed under us (a redirect of the SSO dance): look again.
            log.debug("page changed while reading it: %s", exc.msg)
        if landed is not None:
            return landed
        time.sleep(_POLL_SECONDS)
    host = urlsplit(where).hostname or where or "a blank page"
    raise AuthRequiredError(
        f"Sign-in did not finish within {timeout:.0f} s (the browser was still at {host}). "
        "Run 'coupadl login' again and finish signing in in the browser window, or allow "
        "more time with --timeout."
    )


def _wait_until_closed(profile: Path, timeout: float = 15.0) -> None:
    """Wait until no browser holds ``profile``: it has written its cookies to disk."""
    deadline = time.monotonic() + timeout
    while profile_in_use(profile):
        if time.monotonic() > deadline:
            log.warning("the browser still holds %s after closing; going on", profile)
            return
        time.sleep(0.1)


def _fit_to_display(settings: Settings) -> Settings:
    """A visible sign-in on a machine without a screen: headless when the configured
    username and password can be typed for the person; else stop before any browser."""
    if settings.headless or has_display():
        return settings
    if settings.username and settings.password:
        log.info(
            "no display (neither DISPLAY nor WAYLAND_DISPLAY is set): signing in headless "
            "with the configured username and password"
        )
        return settings.model_copy(update={"headless": True})
    raise BrowserError(
        "No display for the sign-in window: this machine has no screen (Linux with "
        "neither DISPLAY nor WAYLAND_DISPLAY set). Either sign in with 'coupadl login' on "
        "a computer with a screen and point profile_dir (--profile-dir) at a copy of "
        "that profile; or pass --headless if your single sign-on needs no typing; or pass "
        "--username and --password for Coupa's own sign-in form; or use the REST API "
        f"engine ('coupadl login --api', then runs with --engine api). See {NO_DISPLAY_HELP}."
    )


def sign_in(settings: Settings, *, timeout: float = 600.0) -> LoginOutcome:
    """Open the tenant on the base profile, sign in (form or SSO), then verify a clone.

    Sign-in is over when the browser shows a tenant page that is not a sign-in page,
    however long the person takes, up to ``timeout`` seconds. The browser is then
    closed (a clean exit writes the cookies to the profile) and a headless clone of the
    profile must reach Coupa without signing in. Without a display a visible sign-in
    goes headless with a username and password, and is refused (BrowserError) without.
    """
    base = settings.require_base_url()
    settings = _fit_to_display(settings)
    profile = settings.profile_dir
    profile.mkdir(parents=True, exist_ok=True, mode=0o700)
    ensure_not_locked(profile)
    with BrowserSession(settings, profile) as session:
        form_filled = False
        if is_sign_in_url(_open_tenant(session, base), base):
            if settings.username and settings.password:
                form_filled = _fill_native_form(session, settings.username, settings.password)
            elif settings.headless:
                # No window to type in: only an SSO that needs nobody (Windows
                # integrated sign-in, a remembered IdP session) can finish.
                log.warning(
                    "no browser window: waiting up to %.0f s for single sign-on to finish "
                    "without you; if your sign-in needs typing, run without --headless",
                    timeout,
                )
            else:
                log.info("sign in to Coupa in the browser window; waiting up to %.0f s", timeout)
        landed = _wait_until_signed_in(session, base, timeout, form_filled=form_filled)
        log.info("signed in: the browser reached %s", urlsplit(landed).path or "/")
        cookies = session.export_cookies()
    _wait_until_closed(profile)
    log.info("base profile saved in %s; checking a headless copy of it", profile)
    return LoginOutcome(
        profile_dir=profile,
        signed_in=check_signed_in(settings),
        landed_url=landed,
        cookies=cookies,
    )


def reauthenticator(settings: Settings, interactive: bool) -> Callable[[], list[dict[str, Any]]]:
    """What a run does when Coupa asks to sign in again mid-run.

    With a username and password (native form) it signs in again headless; on a
    terminal it opens a visible browser for the user's SSO; otherwise it cannot, and
    the returned function raises :class:`AuthRequiredError` (the run stops cleanly).
    """

    def sign_in_again() -> list[dict[str, Any]]:
        if settings.username and settings.password:
            log.warning("the Coupa session expired: signing in again with the configured user")
            again = settings.model_copy(update={"headless": True})
        elif interactive:
            log.warning("the Coupa session expired: sign in in the browser window that opens")
            again = settings.model_copy(update={"headless": False})
        else:
            raise AuthRequiredError(
                "The Coupa session expired. Run 'coupadl login', then re-run the same command."
            )
        return sign_in(again, timeout=600.0).cookies

    return sign_in_again


def require_base_profile(settings: Settings) -> Path:
    """The saved base profile; :class:`AuthRequiredError` when nobody has signed in yet."""
    profile = settings.profile_dir
    if not profile.is_dir():
        raise AuthRequiredError(
            f"No signed-in browser profile at {profile}. Run 'coupadl login --base-url "
            f"{settings.base_url}' first."
        )
    return profile


def check_signed_in(settings: Settings) -> bool:
    """Does a headless clone of the base profile reach Coupa without signing in?"""
    base = settings.require_base_url()
    if not settings.profile_dir.is_dir():
        return False
    ensure_not_locked(settings.profile_dir)
    clone = clone_profile(settings.profile_dir)
    try:
        headless = settings.model_copy(update={"headless": True})
        with BrowserSession(headless, clone) as session:
            _open_tenant(session, base)
            try:
                return _coupa_page_url(session, base) is not None
            except WebDriverException as exc:
                raise BrowserError(
                    f"The browser failed while checking the session: {exc.msg}"
                ) from exc
    finally:
        remove_clone(clone)
