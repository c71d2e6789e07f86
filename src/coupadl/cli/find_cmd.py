"""``coupadl find``: PO numbers from the REST API's filters, written as a spreadsheet for
``coupadl run``. A thin shell over :func:`coupadl.runs.find.find_pos`; progress is a
status line on a terminal, a log line per page otherwise."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from coupadl.cli.common import (
    ApiClientId,
    BaseUrl,
    ConfigFile,
    Quiet,
    RateLimitBurst,
    RateLimitRps,
    Verbose,
    console,
    fail,
    settings_from,
    setup_logging,
)

if TYPE_CHECKING:
    from coupadl.engine.api.listing import PageRead

log = logging.getLogger("coupadl.cli.find")


def _line(page: PageRead) -> str:
    return f"PO list: page {page.pages}, {page.received} read, {page.kept} match"


@contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[PageRead], None]]:
    if quiet:
        yield lambda page: None
    elif console.is_terminal:
        with console.status("Reading the PO list from the Coupa API...") as status:
            yield lambda page: status.update(_line(page))
    else:
        yield lambda page: log.info("%s", _line(page))


def find(
    out_file: Annotated[
        Path, typer.Option("--out", "-o", help="The spreadsheet to write: .xlsx or .csv.")
    ],
    base_url: BaseUrl = None,
    supplier: Annotated[
        str | None, typer.Option("--supplier", help="The supplier's name, exactly as in Coupa.")
    ] = None,
    supplier_contains: Annotated[
        str | None,
        typer.Option("--supplier-contains", help="Part of the supplier's name (any case)."),
    ] = None,
    created_after: Annotated[
        str | None,
        typer.Option(
            "--created-after",
            help="POs created on or after this date (YYYY-MM-DD, tenant time) or time.",
        ),
    ] = None,
    created_before: Annotated[
        str | None,
        typer.Option("--created-before", help="POs created before this date or time."),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="Coupa's PO status: issued, closed, soft_closed, ..."),
    ] = None,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace the --out file if it exists.")
    ] = False,
    api_client_id: ApiClientId = None,
    rate_limit_rps: RateLimitRps = None,
    rate_limit_burst: RateLimitBurst = None,
    config: ConfigFile = None,
    verbose: Verbose = False,
    quiet: Quiet = False,
) -> None:
    """Write the POs the Coupa API lists for these filters to a spreadsheet for 'run'.

    Exit code 0 also when no PO matches (then no file is written); 4 when the API
    refuses the OAuth client; 2 for a bad flag or an --out file that exists.
    """
    # Imported here: the command should start fast.
    from coupadl.coupa.api.query import make_filters
    from coupadl.errors import CoupadlError, ExitCode
    from coupadl.runs.find import find_pos

    setup_logging(verbose, quiet)
    try:
        settings = settings_from(
            config,
            base_url=base_url,
            api_client_id=api_client_id,
            rate_limit_rps=rate_limit_rps,
            rate_limit_burst=rate_limit_burst,
        )
        filters = make_filters(
            supplier=supplier,
            supplier_contains=supplier_contains,
            created_after=created_after,
            created_before=created_before,
            status=status,
        )
        with _progress(quiet) as on_page:
            outcome = find_pos(settings, filters, out_file, overwrite=overwrite, on_page=on_page)
    except CoupadlError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        console.print("[yellow]Interrupted.[/] Nothing was written.")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    from rich.markup import escape

    if outcome.out_path is None:
        console.print(
            f"No PO matches these filters ({outcome.received} read): no file written.",
            highlight=False,
        )
    else:
        console.print(
            f"[green]{len(outcome.pos)} PO(s)[/] written to {escape(str(outcome.out_path))}; next: "
            f"coupadl run {escape(str(outcome.out_path))} ...",
            highlight=False,
        )
    raise typer.Exit(int(ExitCode.OK))
