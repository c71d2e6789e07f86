"""What every command of the CLI shares: the console, logging set-up, settings from
flags, the error-to-exit-code mapping, and the options several commands take."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from coupadl.errors import CoupadlError
from coupadl.settings import BrowserKind, Settings, load_settings
from coupadl.settings_oldtool import is_old_config, read_old_config
from coupadl.settings_sources import find_config_file

console = Console(stderr=True)
log = logging.getLogger("coupadl")

# Options shared by several commands. Each default is None: "not given", so the
# environment, the config file or the settings default decides (see load_settings).
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="Coupa tenant URL.")]
ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="TOML config file, or the old tool's .json (default ./coupadl.toml, else "
        "./myscript_config.json).",
    ),
]
Browser = Annotated[BrowserKind | None, typer.Option("--browser", help="chromium, chrome or edge.")]
BrowserBinary = Annotated[Path | None, typer.Option("--browser-binary", help="Browser executable.")]
DriverPath = Annotated[
    Path | None, typer.Option("--driver-path", help="chromedriver/msedgedriver.")
]
ProfileDir = Annotated[
    Path | None, typer.Option("--profile-dir", help="Signed-in base browser profile.")
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Show debug messages.")]
RateLimitRps = Annotated[
    float | None,
    typer.Option("--rate-limit-rps", help="Most requests per second to Coupa (0: no limit)."),
]
RateLimitBurst = Annotated[
    int | None, typer.Option("--rate-limit-burst", help="Requests allowed at once.")
]
ApiClientId = Annotated[
    str | None,
    typer.Option(
        "--api-client-id",
        help="OAuth 2.0 client id of the REST API (engine 'api'); its secret comes from "
        "COUPA_API_CLIENT_SECRET, the config file or 'coupadl login --api'.",
    ),
]
GridUrl = Annotated[
    str | None,
    typer.Option(
        "--grid-url",
        help="Selenium Grid 4 to run the browser workers on, e.g. http://grid:4444 (docs/grid.md).",
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Only warnings and errors.")]


def setup_logging(verbose: bool, quiet: bool) -> None:
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, markup=False)
        handler.setFormatter(logging.Formatter("%(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("coupadl").setLevel(level)


def settings_from(config: Path | None, **flags: Any) -> Settings:
    return load_settings(flags, config_file=config)


def run_input(
    positional: Path | None, csv: Path | None, config: Path | None, ctx: typer.Context | None
) -> Path:
    """The input file of ``coupadl run``: INPUT_FILE, else the old ``--csv FILE``, else the
    old config file's ``excel_path``. Raises a usage error (exit code 2) when none gives
    one, or INPUT_FILE and --csv name different files."""
    if positional is not None and csv is not None and positional.resolve() != csv.resolve():
        raise typer.BadParameter(
            f"{positional} and {csv} are different files: give one.",
            ctx=ctx,
            param_hint="'INPUT_FILE' and '--csv'",
        )
    given = positional or csv
    if given is not None:
        return given
    config_file = find_config_file(config)
    if config_file is not None and is_old_config(config_file):
        from_file = read_old_config(config_file).input_file
        if from_file is not None:
            log.debug("Input file %s from excel_path in %s", from_file, config_file)
            return from_file
    raise typer.BadParameter(
        "none given: pass a CSV or Excel file of PO numbers (or --csv FILE, or "
        "excel_path in myscript_config.json).",
        ctx=ctx,
        param_hint="'INPUT_FILE'",
    )


def fail(exc: CoupadlError) -> typer.Exit:
    console.print(f"[bold red]error[/] [{exc.code}] {exc.message}")
    return typer.Exit(int(exc.exit_code))
