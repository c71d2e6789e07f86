"""Doctor checks of the signed-in base profile: is it there, free, and still signed in?

The session check is the slow one: it starts a headless browser on a clone of the
profile, so it can be left out (``--no-session-check``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from coupadl.doctor.result import Check, Level
from coupadl.engine.browser.profile import ensure_not_locked
from coupadl.errors import CoupadlError, ProfileLockedError
from coupadl.settings import Settings


def check_profile(profile: Path, base_url: str | None = None) -> Check:
    """The base profile: present, not held by a running browser, not empty."""
    login = "coupadl login" + (f" --base-url {base_url}" if base_url else "")
    if not profile.exists():
        return Check(
            "profile",
            Level.FAIL,
            f"no signed-in browser profile at {profile}",
            f"run '{login}' (or pass --profile-dir if it is elsewhere)",
        )
    if not profile.is_dir():
        return Check(
            "profile",
            Level.FAIL,
            f"{profile} is not a folder",
            "pass --profile-dir with the folder 'coupadl login' wrote",
        )
    try:
        ensure_not_locked(profile)
    except ProfileLockedError as exc:
        return Check(
            "profile",
            Level.FAIL,
            exc.message,
            "close the browser (or the coupadl login/run) that uses this profile; "
            "a run clones it, so your own Edge/Chrome profile is never this one",
        )
    if not (profile / "Local State").is_file():
        return Check(
            "profile",
            Level.WARN,
            f"{profile} holds no browser profile yet",
            f"run '{login}'",
        )
    return Check("profile", Level.OK, str(profile))


def check_session(
    settings: Settings,
    *,
    wanted: bool = True,
    blocked_by: str = "",
    signed_in: Callable[[Settings], bool] | None = None,
) -> Check:
    """Is a headless clone of the base profile still signed in (a browser start)?"""
    if not wanted:
        return Check("session", Level.SKIP, "not checked (--no-session-check)")
    if blocked_by:
        return Check("session", Level.SKIP, f"not checked: {blocked_by}")
    if signed_in is None:
        from coupadl.engine.browser.login import check_signed_in

        signed_in = check_signed_in
    login = f"coupadl login --base-url {settings.base_url}"
    try:
        ok = signed_in(settings)
    except ProfileLockedError as exc:
        return Check("session", Level.FAIL, exc.message, "close the browser that uses it")
    except CoupadlError as exc:
        return Check(
            "session",
            Level.FAIL,
            f"[{exc.code}] {exc.message}",
            "fix the browser or driver problem above, then run 'coupadl doctor' again",
        )
    if not ok:
        return Check(
            "session",
            Level.FAIL,
            "a headless copy of the profile is signed out (the Coupa session expired)",
            f"run '{login}', then re-run",
        )
    return Check("session", Level.OK, "a headless copy of the profile is signed in to Coupa")
