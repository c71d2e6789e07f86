"""``coupadl doctor``: check the set-up a run needs, one plain result per check.

Each check returns a :class:`Check` (name, ok/warn/fail/skip, what was found, what to
do about a problem); nothing here prints. The slow part, starting a headless browser on
a clone of the base profile to see whether it is still signed in, can be left out.
The things a check talks to (subprocesses, the disk, HTTP, the browser) are
parameters, so each decision can be tested with fakes.
"""

from __future__ import annotations

import enum
import http.client
import ipaddress
import logging
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit, urlunsplit

from coupadl import __version__
from coupadl.coupa.urls import is_sign_in_url, same_tenant
from coupadl.engine.browser.driver import find_browser, find_driver
from coupadl.engine.browser.profile import ensure_not_locked
from coupadl.errors import BrowserError, CoupadlError, ProfileLockedError
from coupadl.settings import Settings

log = logging.getLogger(__name__)

MIN_PYTHON = (3, 11)
DEFAULT_MIN_FREE_BYTES = 1024**3  # below this much free space the output check warns
DEFAULT_TENANT_TIMEOUT = 10.0  # seconds for the tenant's HTTP answer
_VERSION_TIMEOUT = 20.0  # seconds for `<program> --version`
_VERSION = re.compile(r"\b(\d+)\.(\d+)\.(\d+)(?:\.(\d+))?\b")


class Level(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


class DoctorExit(enum.IntEnum):
    """Exit codes of ``coupadl doctor`` (docs/troubleshooting.md), apart from the values
    of :class:`coupadl.errors.ExitCode` so a script never mistakes one for the other."""

    OK = 0  # every check passed (or was skipped on request)
    WARNINGS = 10  # nothing failed, but something needs a look
    FAILED = 11  # at least one check failed: a run would not work


@dataclass(frozen=True)
class Check:
    name: str
    level: Level
    detail: str
    advice: str = ""


def exit_code(checks: Iterable[Check]) -> DoctorExit:
    levels = {check.level for check in checks}
    if Level.FAIL in levels:
        return DoctorExit.FAILED
    if Level.WARN in levels:
        return DoctorExit.WARNINGS
    return DoctorExit.OK


# --- python ------------------------------------------------------------------------------


def check_python(version: tuple[int, ...] | None = None) -> Check:
    found = tuple(version if version is not None else sys.version_info[:3])
    text = ".".join(str(part) for part in found)
    if found[:2] >= MIN_PYTHON:
        return Check("python", Level.OK, f"Python {text}")
    need = ".".join(str(part) for part in MIN_PYTHON)
    return Check(
        "python",
        Level.FAIL,
        f"Python {text}; coupadl needs {need} or newer",
        f"install Python {need}+ and set coupadl up again (scripts/setup.sh)",
    )


# --- browser and driver -----------------------------------------------------------------

VersionOf = Callable[[Path, bool], str | None]


def _windows_install_version(binary: Path) -> str | None:
    """Chrome/Edge on Windows keep their files in a folder named after the version,
    next to the executable; running ``chrome.exe --version`` would open a window."""
    versions = [
        entry.name
        for entry in binary.parent.iterdir()
        if entry.is_dir() and _VERSION.fullmatch(entry.name)
    ]
    return max(versions, key=lambda v: tuple(int(p) for p in v.split("."))) if versions else None


def program_version(path: Path, is_browser: bool = False) -> str | None:
    """The version a browser or driver reports, or None when it cannot tell."""
    if is_browser and os.name == "nt":
        try:
            return _windows_install_version(path)
        except OSError as exc:
            log.debug("cannot list %s: %s", path.parent, exc)
            return None
    try:
        done = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.debug("%s --version failed: %s", path, exc)
        return None
    # stdout first: Debian's chromium wrapper prints shell noise on stderr.
    match = _VERSION.search(done.stdout) or _VERSION.search(done.stderr)
    return match.group(0) if match else None


def major(version: str | None) -> int | None:
    match = _VERSION.search(version or "")
    return int(match.group(1)) if match else None


def check_browser(
    settings: Settings, version_of: VersionOf = program_version
) -> tuple[Check, str | None]:
    """The browser executable and its version (returned for the driver check)."""
    name = settings.browser.value
    try:
        path = find_browser(settings)
    except BrowserError as exc:
        return (
            Check(
                "browser",
                Level.FAIL,
                exc.message,
                f"install {name} (Debian: apt-get install chromium chromium-driver), or "
                "point --browser-binary / COUPA_BROWSER_BINARY at it",
            ),
            None,
        )
    version = version_of(path, True)
    if version is None:
        return (
            Check(
                "browser",
                Level.WARN,
                f"{name} at {path}, but its version could not be read",
                f"check that '{path} --version' works; the driver check cannot compare versions",
            ),
            None,
        )
    return Check("browser", Level.OK, f"{name} {version} at {path}"), version


def check_driver(
    settings: Settings, browser_version: str | None, version_of: VersionOf = program_version
) -> Check:
    """The driver executable, its version, and whether its major version fits the browser."""
    try:
        path = find_driver(settings)
    except BrowserError as exc:
        return Check(
            "driver",
            Level.FAIL,
            exc.message,
            _driver_advice(settings, major(browser_version)),
        )
    version = version_of(path, False)
    if version is None:
        return Check(
            "driver",
            Level.FAIL,
            f"{path} does not run or does not say its version",
            f"check that '{path} --version' works (right file, executable, this OS and "
            f"CPU); {_driver_advice(settings, major(browser_version))}",
        )
    found = f"{path.name} {version} at {path}"
    wanted, have = major(browser_version), major(version)
    if wanted is None:
        return Check(
            "driver",
            Level.WARN,
            f"{found}; the browser's version is unknown, so the match is not checked",
            "make sure the driver's major version is the browser's",
        )
    if have != wanted:
        return Check(
            "driver",
            Level.FAIL,
            f"{found} does not match {settings.browser.value} {browser_version} "
            f"(major {have} vs {wanted})",
            _driver_advice(settings, wanted),
        )
    return Check("driver", Level.OK, f"{found}, matches the browser (major {wanted})")


def _driver_advice(settings: Settings, wanted: int | None) -> str:
    version = f" {wanted}" if wanted is not None else ""
    if settings.browser.value == "edge":
        where = f"msedgedriver{version} from Microsoft's Edge WebDriver page"
    elif settings.browser.value == "chrome":
        where = f"chromedriver{version} from Chrome for Testing"
    else:
        where = "chromium-driver with apt (the same version as chromium)"
    return f"install {where} and pass --driver-path (coupadl never downloads drivers)"


# --- profile and session ------------------------------------------------------------------


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


# --- output -----------------------------------------------------------------------------


def _existing_ancestor(path: Path) -> Path:
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def _probe_write(folder: Path) -> str:
    """'' when a file can be created (and is removed) in ``folder``, else the error."""
    try:
        with tempfile.TemporaryFile(dir=folder, prefix=".coupadl-doctor-"):
            return ""
    except OSError as exc:
        return exc.strerror or str(exc)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


def check_output(
    out: Path,
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
    disk_usage: Callable[[Path], tuple[int, int, int]] = shutil.disk_usage,
    probe_write: Callable[[Path], str] = _probe_write,
) -> Check:
    """The output folder: writable (or can be created), with room for the files."""
    advice_other = "choose another folder with --out, or fix its permissions"
    if out.exists() and not out.is_dir():
        return Check("output", Level.FAIL, f"{out} exists and is not a folder", advice_other)
    if out.is_dir():
        where, problem = out, probe_write(out)
        what = f"{out} (writable"
    else:
        where = _existing_ancestor(out)
        ok = os.access(where, os.W_OK | os.X_OK)
        problem = "" if ok else f"cannot create folders in {where}"
        what = f"{out} (will be created"
    if problem:
        return Check("output", Level.FAIL, f"cannot write in {where}: {problem}", advice_other)
    try:
        free = disk_usage(where)[2]
    except OSError as exc:
        return Check(
            "output",
            Level.WARN,
            f"{what}; free space unknown: {exc}",
            "check the disk has room for every attachment",
        )
    if free < min_free_bytes:
        return Check(
            "output",
            Level.WARN,
            f"{what}; only {_size(free)} free, under {_size(min_free_bytes)})",
            "free some space or choose --out on another disk: every attachment is kept",
        )
    return Check("output", Level.OK, f"{what}, {_size(free)} free)")


# --- tenant -----------------------------------------------------------------------------


class HttpAnswer(NamedTuple):
    status: int | None  # None: no HTTP answer at all
    location: str = ""  # the redirect target of a 3xx
    error: str = ""  # why there was no answer
    tls: bool = False  # the error was a TLS certificate problem


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # report the redirect instead of following it


def fetch(url: str, timeout: float, proxy: str | None = None) -> HttpAnswer:
    """GET ``url`` once, through ``proxy`` or directly; redirects are not followed."""
    scheme = urlsplit(url).scheme
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({scheme: proxy} if proxy else {}), _NoRedirect
    )
    request = urllib.request.Request(
        url, headers={"User-Agent": f"coupadl/{__version__} (doctor)"}, method="GET"
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            return HttpAnswer(response.status, response.headers.get("Location", ""))
    except HTTPError as exc:  # 3xx (not followed), 4xx and 5xx
        return HttpAnswer(exc.code, exc.headers.get("Location", "") if exc.headers else "")
    except URLError as exc:
        tls = isinstance(exc.reason, ssl.SSLError)
        return HttpAnswer(None, error=str(exc.reason), tls=tls)
    except (TimeoutError, http.client.HTTPException, OSError) as exc:
        return HttpAnswer(None, error=str(exc) or type(exc).__name__)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    netloc = f"{user}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _route(url: str) -> tuple[str | None, str]:
    """(the proxy to use or None, how the tenant is reached, in words) for ``url``.

    From the proxy variables (or the system settings Python reads on Windows/macOS);
    this computer's own addresses are reached directly, as browsers do."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy:
        return None, "direct, no proxy set"
    if _is_loopback(host):
        return None, f"direct: {host} is this computer"
    if urllib.request.proxy_bypass(host):
        return None, f"direct: {host} is in NO_PROXY"
    wanted = {f"{parts.scheme}_proxy", "all_proxy"}
    source = ", ".join(sorted(n for n in os.environ if n.lower() in wanted)) or "system settings"
    return proxy, f"via proxy {_redact(proxy)} ({source})"


def proxy_route(url: str) -> tuple[str | None, str]:
    """(proxy URL with any password hidden, or None; how the tenant is reached)."""
    proxy, route = _route(url)
    return (_redact(proxy) if proxy else None), route


def check_tenant(
    base_url: str | None,
    timeout: float = DEFAULT_TENANT_TIMEOUT,
    get: Callable[[str, float, str | None], HttpAnswer] = fetch,
) -> Check:
    """Does the tenant answer over HTTP? Reports status, redirect and proxy."""
    if not base_url:
        return Check(
            "tenant",
            Level.FAIL,
            "no Coupa URL set",
            "pass --base-url https://<company>.coupahost.com or set COUPA_BASE_URL",
        )
    proxy, route = _route(base_url)
    host = urlsplit(base_url).hostname or base_url
    answer = get(base_url + "/", timeout, proxy)
    if answer.status is None:
        if answer.tls:
            advice = (
                "a corporate proxy that inspects TLS uses its own certificate: point "
                "SSL_CERT_FILE at your company's CA bundle for this check"
            )
        elif proxy:
            advice = (
                f"check the proxy {_redact(proxy)} and its variables, or add {host} to NO_PROXY "
                "if it is reached directly"
            )
        else:
            advice = (
                "check the URL and your VPN; behind a corporate proxy set HTTPS_PROXY "
                "(and NO_PROXY)"
            )
        return Check(
            "tenant", Level.FAIL, f"{host} did not answer: {answer.error} ({route})", advice
        )
    status = answer.status
    if status == 407:
        return Check(
            "tenant",
            Level.FAIL,
            f"the proxy wants a password (HTTP 407, {route})",
            "put the proxy's user and password in HTTPS_PROXY (http://user:pass@host:port)",
        )
    if 300 <= status < 400:
        redirect = _describe_redirect(answer.location, base_url)
        return Check("tenant", Level.OK, f"{host} answered {status}, {redirect} ({route})")
    if status < 300:
        return Check("tenant", Level.OK, f"{host} answered {status} ({route})")
    if status == 404:
        advice = "check --base-url: it is the tenant's address, https://<company>.coupahost.com"
    elif status in (429,) or status >= 500:
        advice = "Coupa or a proxy is busy or down: try again later"
    else:
        advice = "check --base-url and the proxy: something refused the request"
    return Check("tenant", Level.WARN, f"{host} answered HTTP {status} ({route})", advice)


def _describe_redirect(location: str, base_url: str) -> str:
    if not location:
        return "a redirect without a target"
    target = urlsplit(location)
    if not same_tenant(location, base_url):
        return f"to {target.hostname} (single sign-on)"
    if is_sign_in_url(location, base_url):
        return "to its sign-in form"
    return f"to {target.path or '/'}"


# --- everything ---------------------------------------------------------------------------


def run_doctor(
    settings: Settings,
    *,
    session: bool = True,
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
    tenant_timeout: float = DEFAULT_TENANT_TIMEOUT,
) -> list[Check]:
    """Every check, in the order a run needs them; the session check comes last."""
    python = check_python()
    browser, browser_version = check_browser(settings)
    driver = check_driver(settings, browser_version)
    profile = check_profile(settings.profile_dir, settings.base_url)
    output = check_output(settings.out, min_free_bytes)
    tenant = check_tenant(settings.base_url, tenant_timeout)
    failed = [c.name for c in (browser, driver, profile, tenant) if c.level is Level.FAIL]
    names = ", ".join(failed[:-1]) + " and " + failed[-1] if len(failed) > 1 else "".join(failed)
    blocked = f"{names} failed" if failed else ""
    return [
        python,
        browser,
        driver,
        profile,
        output,
        tenant,
        check_session(settings, wanted=session, blocked_by=blocked),
    ]
