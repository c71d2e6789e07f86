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

console = Console(stderr=True)
log = logging.getLogger("coupadl")

# Options shared by several commands. Each default is None: "not given", so the
# environment, the config file or the settings default decides (see load_settings).
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="Coupa tenant URL.")]
ConfigFile = Annotated[
    Path | None, typer.Option("--config", help="TOML config file (default ./coupadl.toml).")
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
        help="Selenium Grid 4 to run the browser workers on, e.g. http://grid:4444 "
        "(docs/grid.md).",
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


def fail(exc: CoupadlError) -> typer.Exit:
    console.print(f"[bold red]error[/] [{exc.code}] {exc.message}")
    return typer.Exit(int(exc.exit_code))
