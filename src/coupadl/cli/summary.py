"""The end-of-run summary a person reads."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from coupadl.errors import ExitCode
from coupadl.reports.html_report import REPORT_HTML_NAME
from coupadl.reports.outcome import RunOutcome, workers_phrase

_ADVICE = {
    ExitCode.OK: "[green]Done.[/]",
    ExitCode.INCOMPLETE: (
        "[yellow]Some POs did not complete.[/] Re-run the same command to retry them."
    ),
    ExitCode.AUTH_REQUIRED: (
        "[red]The Coupa session expired.[/] Run 'coupadl login', then re-run "
        "the same command: finished POs are not fetched again."
    ),
    ExitCode.INTERRUPTED: "[yellow]Interrupted.[/] Re-run the same command to resume.",
}


def print_outcome(console: Console, outcome: RunOutcome) -> None:
    table = Table(title=f"coupadl: {outcome.processed} POs processed in {outcome.elapsed:.1f} s")
    table.add_column("status")
    table.add_column("POs", justify="right")
    for status, count in sorted(outcome.by_status.items()):
        table.add_row(status, str(count))
    if outcome.skipped:
        table.add_row("finished earlier", str(outcome.skipped))
    if outcome.pending:
        table.add_row("left pending", str(len(outcome.pending)))
    if outcome.invalid_rows:
        table.add_row("invalid PO numbers", str(outcome.invalid_rows))
    console.print(table)
    console.print(f"mode: {outcome.mode} ({workers_phrase(outcome.mode, outcome.workers)})")
    console.print(f"files:   {outcome.out}")
    console.print(f"results: {outcome.results_path}")
    console.print(f"report:  {outcome.report_path}")
    page = outcome.report_path.with_name(REPORT_HTML_NAME)
    if page.is_file():
        console.print(f"         {page}")
    console.print(_ADVICE.get(outcome.exit_code, ""))
