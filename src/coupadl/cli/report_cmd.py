"""``coupadl report OUT``: the end-of-run summary again, from the run state, and a
fresh ``report.html``. A thin shell over :func:`coupadl.reports.from_state.report_from_state`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coupadl.cli.common import console, fail, setup_logging


def report(
    out: Annotated[Path, typer.Argument(help="Output folder of a run (its --out).")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug messages.")] = False,
) -> None:
    """Show the summary of the last run into OUT and write OUT/report.html again."""
    # Imported here: the command should start fast.
    from coupadl.cli.summary import print_outcome
    from coupadl.errors import CoupadlError
    from coupadl.reports.from_state import report_from_state

    setup_logging(verbose, False)
    try:
        report = report_from_state(out)
    except CoupadlError as exc:
        raise fail(exc) from None
    print_outcome(console, report.outcome)  # names report.html too
