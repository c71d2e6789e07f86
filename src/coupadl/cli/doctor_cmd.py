"""``coupadl doctor``: print one line per check of :mod:`coupadl.doctor.checks`, exit 0/10/11."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coupadl.cli.common import (
    ApiClientId,
    GridUrl,
    console,
    fail,
    settings_from,
    setup_logging,
)
from coupadl.settings import BrowserKind, EngineKind

_TAGS = {
    "ok": "[green]ok  [/]",
    "warn": "[yellow]warn[/]",
    "fail": "[bold red]fail[/]",
    "skip": "[dim]skip[/]",
}


def doctor(
    base_url: Annotated[str | None, typer.Option("--base-url", help="Coupa tenant URL.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
    browser: Annotated[
        BrowserKind | None, typer.Option("--browser", help="chromium, chrome or edge.")
    ] = None,
    browser_binary: Annotated[
        Path | None, typer.Option("--browser-binary", help="Browser executable.")
    ] = None,
    driver_path: Annotated[
        Path | None, typer.Option("--driver-path", help="chromedriver/msedgedriver.")
    ] = None,
    profile_dir: Annotated[
        Path | None, typer.Option("--profile-dir", help="Signed-in base browser profile.")
    ] = None,
    engine: Annotated[
        EngineKind | None,
        typer.Option("--engine", help="The engine runs use: 'api' needs no browser."),
    ] = None,
    api_client_id: ApiClientId = None,
    grid_url: GridUrl = None,
    session_check: Annotated[
        bool,
        typer.Option(
            "--session-check/--no-session-check",
            help="Start a headless browser to see whether the saved session still works.",
        ),
    ] = True,
    min_free_mb: Annotated[
        int, typer.Option("--min-free-mb", min=0, help="Warn when the output disk has less.")
    ] = 1024,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML config file (default ./coupadl.toml).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug messages.")] = False,
) -> None:
    """Check Python, browser and driver, profile, session, output folder and tenant,
    the REST API client (token, scopes, a PO list read) when one is configured, and the
    Selenium Grid (reachable, slots, managed downloads) with --grid-url.

    Exit code 0: all ok; 10: warnings only; 11: a check failed (docs/troubleshooting.md).
    """
    # Imported here: the command should start fast.
    from rich.markup import escape

    from coupadl.doctor.checks import exit_code, run_doctor
    from coupadl.doctor.result import Level
    from coupadl.errors import CoupadlError

    setup_logging(verbose, not verbose)
    try:
        settings = settings_from(
            config,
            base_url=base_url,
            out=out,
            browser=browser,
            browser_binary=browser_binary,
            driver_path=driver_path,
            profile_dir=profile_dir,
            engine=engine,
            api_client_id=api_client_id,
            grid_url=grid_url,
        )
    except CoupadlError as exc:
        raise fail(exc) from None
    checks = run_doctor(
        settings,
        session=session_check,
        min_free_bytes=min_free_mb * 1024**2,
        config_file=config,
    )
    for check in checks:
        line = f"{_TAGS[check.level.value]} {check.name:<8} {escape(check.detail)}"
        if check.advice and check.level in (Level.WARN, Level.FAIL):
            line += f" [bold]->[/] {escape(check.advice)}"
        console.print(line, soft_wrap=True, highlight=False)
    code = exit_code(checks)
    problems = sum(c.level in (Level.WARN, Level.FAIL) for c in checks)
    if problems:
        console.print(f"{problems} problem(s) found.", highlight=False)
    else:
        console.print("[green]Everything coupadl needs is in place.[/]")
    raise typer.Exit(int(code))
