"""``coupadl run --dry-run``: prints the listing of coupadl.runs.dryrun to standard output (so
it can be redirected to a file), one PO after another as they are read."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from coupadl.errors import ExitCode
from coupadl.runs.dryrun import FILES, NEEDS_BROWSER, DryRunResult, PlannedPO, dry_run
from coupadl.settings import Settings

UNKNOWN = "size unknown"


def format_size(size: int | None) -> str:
    return UNKNOWN if size is None else f"{size:,} bytes"


def print_po(console: Console, planned: PlannedPO) -> None:
    po = f"PO{planned.po_number}"
    if planned.outcome != FILES:
        note = f"  {escape(planned.note)}" if planned.note else ""
        console.print(f"[bold]{po}[/]  {planned.outcome}{note}")
        return
    known = [f.size for f in planned.files if f.size is not None]
    total = f", {sum(known):,} bytes" if known else ""
    if len(known) < len(planned.files):
        total += f" ({len(planned.files) - len(known)} {UNKNOWN})"
    console.print(f"[bold]{po}[/]  {escape(planned.supplier)}  {len(planned.files)} file(s){total}")
    for file in planned.files:
        console.print(
            f"    {escape(file.name)}  {format_size(file.size)}  ({file.source.value})",
            highlight=False,
        )
    if planned.note:
        console.print(f"    [yellow]{escape(planned.note)}[/]")


def print_summary(console: Console, result: DryRunResult) -> None:
    files = [f for po in result.pos for f in po.files]
    known = [f.size for f in files if f.size is not None]
    unknown = len(files) - len(known)
    size = f"{sum(known):,} bytes" + (f" plus {unknown} of unknown size" if unknown else "")
    extra = f", {result.skipped} finished earlier" if result.skipped else ""
    if result.invalid_rows:
        extra += f", {result.invalid_rows} invalid rows"
    browser_only = sum(1 for po in result.pos if po.outcome == NEEDS_BROWSER)
    if browser_only:
        size += f"; {browser_only} PO(s) only a browser can read, their files not listed"
    console.print(
        f"dry run: {len(result.pos)} PO(s) would be processed{extra}; "
        f"{len(files)} file(s), {size}. Nothing was downloaded or written.",
        highlight=False,
    )


def show_dry_run(input_path: Path, settings: Settings) -> int:
    """Run the dry run, print it; the exit code (errors raise as usual)."""
    out = Console(highlight=False, soft_wrap=True)
    result = dry_run(input_path, settings, on_po=lambda planned: print_po(out, planned))
    print_summary(out, result)
    return int(ExitCode.OK)
