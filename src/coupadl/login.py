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

from selenium.common.exceptions import NoSuchElementException, WebDriverException
from selenium.webdriver.common.by import By

from coupadl.browser.profile import clone_profile, ensure_not_locked, remove_clone
from coupadl.browser.session import BrowserSession
from coupadl.coupa.signin import EMAIL_SELECTOR, PASSWORD_SELECTOR
from coupadl.coupa.urls import is_sign_in_url
from coupadl.errors import AuthRequiredError
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


def _wait_until_signed_in(session: BrowserSession, base: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            url = session.driver.current_url
        except WebDriverException as exc:
            raise AuthRequiredError(
                f"the browser window was closed before sign-in: {exc.msg}"
            ) from exc
        if url.startswith(base) and not is_sign_in_url(url, base):
            return url
        time.sleep(_POLL_SECONDS)
    raise AuthRequiredError(f"not signed in after {timeout:.0f} s; run 'coupadl login' again")


def sign_in(settings: Settings, *, timeout: float = 600.0) -> LoginOutcome:
    """Open the tenant on the base profile, sign in (form or SSO), then verify a clone."""
    base = settings.require_base_url()
    profile = settings.profile_dir
    profile.mkdir(parents=True, exist_ok=True, mode=0o700)
    ensure_not_locked(profile)
    with BrowserSession(settings, profile) as session:
        session.open(base + "/")
        if is_sign_in_url(session.driver.current_url, base):
            if settings.username and settings.password:
                _fill_native_form(session, settings.username, settings.password)
            elif settings.headless:
                raise AuthRequiredError(
                    "Sign-in needs a visible browser, or --username and --password "
                    "for a native Coupa form."
                )
        landed = _wait_until_signed_in(session, base, timeout)
        cookies = session.export_cookies()
    log.info("signed in; base profile saved in %s", profile)
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
            landed = session.open(base + "/")
    finally:
        remove_clone(clone)
    return not is_sign_in_url(landed, base)
