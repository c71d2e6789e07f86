"""``coupadl doctor``: every check a run needs, in order, and the exit code they add up to.

The checks themselves live by subject: :mod:`~coupadl.doctor.environment` (Python,
browser, driver), :mod:`~coupadl.doctor.profile` (profile, session),
:mod:`~coupadl.doctor.output`, :mod:`~coupadl.doctor.network` (the tenant) and
:mod:`~coupadl.doctor.api` (the REST API route, when it is configured) and
:mod:`~coupadl.doctor.grid` (the Selenium Grid, when ``grid_url`` is set; the local
browser checks still run: a run reads the base profile here to export its cookies).
With engine 'api' no browser is needed, so the browser, driver, profile and session
are skipped.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from pathlib import Path

from coupadl.doctor.api import check_api
from coupadl.doctor.environment import check_browser, check_driver, check_python
from coupadl.doctor.grid import check_grid
from coupadl.doctor.locations import check_locations
from coupadl.doctor.network import DEFAULT_TENANT_TIMEOUT, check_tenant
from coupadl.doctor.output import DEFAULT_MIN_FREE_BYTES, check_output
from coupadl.doctor.profile import check_profile, check_session
from coupadl.doctor.result import Check, Level
from coupadl.settings import EngineKind, Settings

_NO_BROWSER = "not needed: engine 'api' reads Coupa's REST API, no browser"


class DoctorExit(enum.IntEnum):
    """Exit codes of ``coupadl doctor`` (docs/troubleshooting.md), apart from the values
    of :class:`coupadl.errors.ExitCode` so a script never mistakes one for the other."""

    OK = 0  # every check passed (or was skipped on request)
    WARNINGS = 10  # nothing failed, but something needs a look
    FAILED = 11  # at least one check failed: a run would not work


def exit_code(checks: Iterable[Check]) -> DoctorExit:
    levels = {check.level for check in checks}
    if Level.FAIL in levels:
        return DoctorExit.FAILED
    if Level.WARN in levels:
        return DoctorExit.WARNINGS
    return DoctorExit.OK


def run_doctor(
    settings: Settings,
    *,
    session: bool = True,
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES,
    tenant_timeout: float = DEFAULT_TENANT_TIMEOUT,
    config_file: Path | None = None,
) -> list[Check]:
    """Every check, in the order a run needs them; the Grid's (when configured) before
    the session check, which comes last, then the API route's (when configured).
    ``config_file`` is the --config given, for the row of paths found."""
    python = check_python()
    api = settings.engine is EngineKind.API
    paths = check_locations(settings, config_file, browser_needed=not api)
    output = check_output(settings.out, min_free_bytes)
    tenant = check_tenant(settings.base_url, tenant_timeout)
    if api:
        skip = [Check(n, Level.SKIP, _NO_BROWSER) for n in ("browser", "driver", "profile")]
        session_skip = Check("session", Level.SKIP, _NO_BROWSER)
        grid = check_grid(settings)  # a Grid with engine 'api' fails: a run refuses it
        return [python, paths, *skip, output, tenant, *grid, session_skip, *check_api(settings)]
    browser, browser_version = check_browser(settings)
    driver = check_driver(settings, browser_version)
    profile = check_profile(settings.profile_dir, settings.base_url)
    failed = [c.name for c in (browser, driver, profile, tenant) if c.level is Level.FAIL]
    names = ", ".join(failed[:-1]) + " and " + failed[-1] if len(failed) > 1 else "".join(failed)
    blocked = f"{names} failed" if failed else ""
    return [
        python,
        paths,
        browser,
        driver,
        profile,
        output,
        tenant,
        *check_grid(settings),
        check_session(settings, wanted=session, blocked_by=blocked),
        *check_api(settings),
    ]
