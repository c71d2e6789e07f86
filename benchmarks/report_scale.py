"""report.html at 10,000 POs: file size, the time to write it, and the time to interactive
in real headless Chromium (median of ``--rounds`` fresh loads).

The run is the one tests/e2e/test_report_html_browser.py checks (tests/reportdata.py:
a long tail of ~300 suppliers, mixed statuses, 0-5 files per PO, four workers over
two hours, a few refreshed files). Time to interactive counts from navigation start to
the report's first table page drawn (its ``coupadl-table-ready`` mark) plus a status
filter applied and painted.

    .venv/bin/python benchmarks/report_scale.py             # prints, updates docs/benchmarks.md
    .venv/bin/python benchmarks/report_scale.py --pos 2000 --no-write

Only its own section of docs/benchmarks.md (between the ``report-scale`` markers) is
replaced.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from docsection import DOC, markers, write_section
from simrun import chromium_version, load_now, machine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the generator the e2e test uses

from coupadl.reports.html_report import write_html_report  # noqa: E402
from reportdata import generate_run, headless_chromium, time_to_interactive  # noqa: E402

BEGIN, END = markers("report-scale", "benchmarks/report_scale.py")
TARGET_MS = 2000
HEADER = (
    "| POs | report.html MB | write s | first page drawn ms | status filter ms "
    "| time to interactive ms, each load | median | table rows in the DOM after the filter |\n"
    "| --- | --- | --- | --- | --- | --- | --- | --- |"
)


def measure(pos: int, rounds: int, work: Path) -> dict[str, object]:
    run = generate_run(work / "out", n=pos)
    begun = time.perf_counter()
    page = write_html_report(
        run.out, run.results, started_at=run.started_at, finished_at=run.finished_at,
        mode="pool", workers=4,
    )  # fmt: skip
    write_s = time.perf_counter() - begun
    driver = headless_chromium(work / "profile")
    try:
        loads = [time_to_interactive(driver, page.as_uri()) for _ in range(rounds)]
    finally:
        driver.quit()
    return {
        "pos": pos,
        "files": sum(len(r.files) for r in run.results),
        "suppliers": len({r.supplier for r in run.results}),
        "hours": (run.finished_at - run.started_at) / 3600,
        "size_mb": page.stat().st_size / 2**20,
        "write_s": write_s,
        "tti": [f["tti"] for f in loads],
        "ready": statistics.median(f["ready"] for f in loads),
        "filter": statistics.median(f["filter"] for f in loads),
        "rows": max(int(f["rows"]) for f in loads),
    }


def section(figures: dict[str, object], command: str, before: str) -> str:
    tti = list(figures["tti"])  # type: ignore[call-overload]
    median = statistics.median(tti)
    verdict = "met" if median < TARGET_MS else "missed"
    return f"""{BEGIN}
## report.html at scale

Written by `benchmarks/report_scale.py`, {date.today().isoformat()}. Command: `{command}`

Machine: {machine()}, {chromium_version()}. Before the run: {before}.

A generated run (tests/reportdata.py): {figures["pos"]:,} POs, {figures["files"]:,} files, \
{figures["suppliers"]} suppliers, four workers over {figures["hours"]:.1f} h. The report is opened \
from disk (file://) in headless Chromium, {len(tti)} fresh loads.

{HEADER}
| {figures["pos"]:,} | {figures["size_mb"]:.2f} | {figures["write_s"]:.2f} | \
{figures["ready"]:.0f} | {figures["filter"]:.0f} | {" / ".join(f"{t:.0f}" for t in tti)} | \
{median:.0f} | {figures["rows"]} |

Time to interactive is from navigation start to the first page of the PO table drawn (the \
report's `coupadl-table-ready` performance mark), plus a status filter applied and painted \
(a frame and a task after it); medians over the loads. Write s is `write_html_report` in \
Python. Target: under {TARGET_MS} ms ({verdict}); the file must stay under 6 MB. \
The table holds one page (100 rows) at a time whatever the run's size.
{END}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pos", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help=f"do not update {DOC.name}")
    args = parser.parse_args()
    before = load_now()
    with tempfile.TemporaryDirectory(prefix="report-scale-") as tmp:
        figures = measure(args.pos, args.rounds, Path(tmp))
    command = "python benchmarks/report_scale.py " + " ".join(sys.argv[1:])
    text = section(figures, command.strip(), before)
    print(text)
    if not args.no_write:
        write_section(BEGIN, END, text)
        print(f"updated {DOC}")


if __name__ == "__main__":
    main()
