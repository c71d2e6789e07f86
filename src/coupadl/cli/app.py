"""The ``coupadl`` command: parses flags into settings, calls the library, maps errors
to exit codes. No business logic lives here."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from coupadl import __version__
from coupadl.cli.common import (
    ApiClientId,
    BaseUrl,
    Browser,
    BrowserBinary,
    ConfigFile,
    DriverPath,
    GridUrl,
    ProfileDir,
    Quiet,
    RateLimitBurst,
    RateLimitRps,
    Verbose,
    console,
    fail,
    run_input,
    settings_from,
    setup_logging,
)
from coupadl.cli.doctor_cmd import doctor
from coupadl.cli.find_cmd import find
from coupadl.cli.report_cmd import report
from coupadl.cli.sim_cmd import sim
from coupadl.errors import CoupadlError, ExitCode
from coupadl.execution.interrupts import terminate_as_interrupt
from coupadl.settings import EngineKind, LogFormat, RequisitionFallback

app = typer.Typer(
    name="coupadl",
    help="Download the attachments of Coupa purchase orders in bulk.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"coupadl {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Download the attachments of Coupa purchase orders in bulk."""


@app.command()
def run(
    ctx: typer.Context,
    input_file: Annotated[
        Path | None,
        typer.Argument(
            metavar="INPUT_FILE",
            help="CSV or Excel file with a PO_NUMBER column (default: excel_path of the "
            "old tool's myscript_config.json).",
        ),
    ] = None,
    base_url: BaseUrl = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
    engine: Annotated[
        EngineKind | None,
        typer.Option("--engine", help="http, browser, api or auto (docs/configuration.md)."),
    ] = None,
    api_client_id: ApiClientId = None,
    concurrency: Annotated[
        str | None,
        typer.Option("--concurrency", help="POs in flight with the http engine, or 'auto'."),
    ] = None,
    rate_limit_rps: RateLimitRps = None,
    rate_limit_burst: RateLimitBurst = None,
    auto_check_every: Annotated[
        int | None,
        typer.Option(
            "--auto-check-every",
            help="Engine auto: also read the first 3 POs and 1 in N in a browser (0: never).",
        ),
    ] = None,
    ca_bundle: Annotated[
        Path | None, typer.Option("--ca-bundle", help="Extra trusted CAs (PEM), http engine.")
    ] = None,
    workers: Annotated[
        str | None, typer.Option("--workers", "-w", help="Number of browsers, or 'auto'.")
    ] = None,
    grid_url: GridUrl = None,
    sequential: Annotated[
        bool, typer.Option("--sequential", help="One browser, one PO after another.")
    ] = False,
    parallel: Annotated[
        bool, typer.Option("--parallel", hidden=True, help="Older name: allow parallel workers.")
    ] = False,
    use_pool: Annotated[
        bool, typer.Option("--use-pool", hidden=True, help="Older name: use the worker pool.")
    ] = False,
    csv: Annotated[
        Path | None, typer.Option("--csv", hidden=True, help="Older name of INPUT_FILE.")
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Process at most N POs.")] = None,
    only_failed: Annotated[
        bool,
        typer.Option(
            "--only-failed",
            help="Only POs an earlier run into --out did not finish as done (FAILED, "
            "PARTIAL, TIMEOUT, AUTH_REQUIRED, left pending).",
        ),
    ] = False,
    refresh: Annotated[
        bool,
        typer.Option(
            "--refresh",
            help="Read the POs earlier runs into --out finished again and fetch only the "
            "files they do not have yet (NEW_FILES, LAST_REFRESHED in the results).",
        ),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Sign in and list what would be downloaded per PO (names, sizes where the "
            "tenant tells); download and write nothing.",
        ),
    ] = False,
    log_file: Annotated[
        Path | None, typer.Option("--log-file", help="Also write the log to this file.")
    ] = None,
    log_format: Annotated[
        LogFormat | None,
        typer.Option("--log-format", help="Format of --log-file: text or json (events)."),
    ] = None,
    requisition_fallback: Annotated[
        RequisitionFallback | None,
        typer.Option("--requisition-fallback", help="never, no_attachments or no_pdf."),
    ] = None,
    msg_to_pdf: Annotated[
        bool | None,
        typer.Option(
            "--msg-to-pdf/--no-msg-to-pdf",
            help="Make a PDF beside every Outlook .msg file (on by default).",
        ),
    ] = None,
    overwrite_pdf: Annotated[
        bool,
        typer.Option("--overwrite", help="Replace an existing PDF of the same name as a .msg."),
    ] = False,
    browser: Browser = None,
    browser_binary: BrowserBinary = None,
    driver_path: DriverPath = None,
    profile_dir: ProfileDir = None,
    headless: Annotated[
        bool | None, typer.Option("--headless/--no-headless", help="Hide the browser window.")
    ] = None,
    config: ConfigFile = None,
    verbose: Verbose = False,
    quiet: Quiet = False,
) -> None:
    """Download every attachment of every PO in INPUT_FILE; re-run to resume."""
    from coupadl.runs.batch import run_batch

    setup_logging(verbose, quiet)
    terminate_as_interrupt()
    try:
        input_file = run_input(input_file, csv, config, ctx)
        settings = settings_from(
            config,
            base_url=base_url,
            out=out,
            engine=engine,
            api_client_id=api_client_id,
            concurrency=concurrency,
            rate_limit_rps=rate_limit_rps,
            rate_limit_burst=rate_limit_burst,
            auto_check_every=auto_check_every,
            ca_bundle=ca_bundle,
            workers=1 if sequential else workers,
            grid_url=grid_url,
            enable_parallel=True if parallel else None,
            use_persistent_pool=True if use_pool else None,
            limit=limit,
            only_failed=True if only_failed else None,
            refresh=True if refresh else None,
            log_file=log_file,
            log_format=log_format,
            requisition_fallback=requisition_fallback,
            msg_to_pdf=msg_to_pdf,
            overwrite_pdf=True if overwrite_pdf else None,
            browser=browser,
            browser_binary=browser_binary,
            driver_path=driver_path,
            profile_dir=profile_dir,
            headless=headless,
        )
        if dry_run:
            from coupadl.cli.dryrun_cmd import show_dry_run

            raise typer.Exit(show_dry_run(input_file, settings))
        from coupadl.cli.runview import run_view

        with run_view(console, settings, input_file, quiet=quiet) as monitor:
            outcome = run_batch(
                input_file, settings, interactive=sys.stdin.isatty(), monitor=monitor
            )
    except CoupadlError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted.[/] Re-run the same command to resume.")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    from coupadl.cli.summary import print_outcome

    print_outcome(console, outcome)
    raise typer.Exit(int(outcome.exit_code))


@app.command()
def login(
    base_url: BaseUrl = None,
    api: Annotated[
        bool,
        typer.Option(
            "--api",
            help="No browser: check an OAuth client's secret (hidden prompt, or "
            "COUPA_API_CLIENT_SECRET) and keep it in the OS credential store.",
        ),
    ] = False,
    api_client_id: ApiClientId = None,
    username: Annotated[
        str | None, typer.Option("--username", help="E-mail for a native Coupa sign-in form.")
    ] = None,
    password: Annotated[
        str | None, typer.Option("--password", help="Password for a native Coupa sign-in form.")
    ] = None,
    headless: Annotated[
        bool,
        typer.Option(
            "--headless",
            help="No window: for --username/--password, or an SSO that needs no typing.",
        ),
    ] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Only tell whether the saved session still works.")
    ] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for sign-in.")] = 600,
    browser: Browser = None,
    browser_binary: BrowserBinary = None,
    driver_path: DriverPath = None,
    profile_dir: ProfileDir = None,
    config: ConfigFile = None,
    verbose: Verbose = False,
) -> None:
    """Sign in to Coupa in a browser window and keep the signed-in profile for runs
    (--api: store the REST API client's secret instead). Without a display (a Linux
    server) --username/--password sign in headless; SSO needs another way (see
    docs/troubleshooting.md, 'No display')."""
    from coupadl.engine.browser.login import check_signed_in, sign_in

    setup_logging(verbose, False)
    if api:
        from coupadl.cli.login_api import login_api

        login_api(config, base_url=base_url, api_client_id=api_client_id)
        return
    try:
        settings = settings_from(
            config,
            base_url=base_url,
            username=username,
            password=password,
            headless=headless,
            browser=browser,
            browser_binary=browser_binary,
            driver_path=driver_path,
            profile_dir=profile_dir,
        )
        if check:
            ok = check_signed_in(settings)
            console.print("signed in" if ok else "[red]not signed in[/]: run 'coupadl login'")
            raise typer.Exit(int(ExitCode.OK if ok else ExitCode.AUTH_REQUIRED))
        outcome = sign_in(settings, timeout=timeout)
    except CoupadlError as exc:
        raise fail(exc) from None
    if not outcome.signed_in:
        console.print(
            "[red]Signed in, but a headless copy of the profile is signed out[/] "
            "(see 'Expired session' in docs/troubleshooting.md)."
        )
        raise typer.Exit(int(ExitCode.AUTH_REQUIRED))
    console.print(
        f"[green]Signed in.[/] Profile saved in {outcome.profile_dir}; "
        "a headless copy of it is signed in too."
    )


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Demo output folder.")] = Path(
        "coupadl-demo"
    ),
    pos: Annotated[int, typer.Option("--pos", help="POs in the demo data set.")] = 20,
    engine: Annotated[
        EngineKind | None, typer.Option("--engine", help="http, browser or auto (default).")
    ] = None,
    workers: Annotated[
        str, typer.Option("--workers", "-w", help="Browsers (--engine browser), or 'auto'.")
    ] = "2",
    verbose: Verbose = False,
) -> None:
    """Start the simulator, sign in, run a sample spreadsheet, check and show the result."""
    from coupadl.cli.demo import run_demo
    from coupadl.cli.summary import print_outcome

    setup_logging(verbose, False)
    terminate_as_interrupt()  # a SIGTERM stops the demo like Ctrl+C: simulator and browsers go
    try:
        outcome, problems = run_demo(out, n_pos=pos, workers=workers, engine=engine)
    except CoupadlError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted.[/] Run 'coupadl demo' again to start over.")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    print_outcome(console, outcome)
    if problems:
        for problem in problems:
            console.print(f"[red]mismatch:[/] {problem}")
        raise typer.Exit(int(ExitCode.INCOMPLETE))
    console.print(
        "[green]Every file matches the simulator's manifest (name, size, sha256), "
        "and every .msg has its PDF and attachment.[/]"
    )
    raise typer.Exit(int(outcome.exit_code))


app.command()(sim)  # coupadl sim (coupadl.cli.sim_cmd)
app.command()(report)  # coupadl report OUT (coupadl.cli.report_cmd)
app.command()(doctor)  # coupadl doctor (coupadl.cli.doctor_cmd)
app.command()(find)  # coupadl find (coupadl.cli.find_cmd)


def main() -> None:
    app()
