"""Reading a 100,000-row input spreadsheet: parse time and peak memory, CSV and Excel.

Writes a CSV and an XLSX of ``--rows`` rows (PO number, supplier, amount, date, note;
some repeated POs and some invalid cells, as real exports have), then measures each
in a fresh Python process, so one measurement's memory does not leak into the next:

* seconds for ``read_input`` and for ``plan_rows`` (best of ``--repeat`` runs);
* peak RSS growth of the process while reading (``ru_maxrss`` minus the RSS before);
* peak Python allocations (``tracemalloc``, measured in a separate run because
  tracing slows reading down).

    .venv/bin/python benchmarks/input_scale.py               # prints, updates docs/benchmarks.md
    .venv/bin/python benchmarks/input_scale.py --rows 20000 --no-write
    .venv/bin/python benchmarks/input_scale.py --openpyxl    # also times the old reader

Only its own section of docs/benchmarks.md (between the ``input-scale`` markers) is
replaced; the throughput figures around it are kept.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import psutil
from docsection import DOC, markers, write_section
from simrun import load_now

from coupadl.spreadsheet.table import InputTable

ROOT = Path(__file__).resolve().parents[1]
BEGIN, END = markers("input-scale", "benchmarks/input_scale.py")
HEADER = ["PO_NUMBER", "Supplier", "Amount", "Ordered", "Note"]


def rows(n: int, seed: int = 1) -> list[list[object]]:
    rng = random.Random(seed)
    start = date(2024, 1, 1)
    out: list[list[object]] = []
    for i in range(n):
        po: object = f"PO{16_000_000 + rng.randrange(n * 9 // 10)}"
        if i % 500 == 7:
            po = "n/a"  # an invalid cell now and then
        out.append(
            [
                po,
                f"Supplier {rng.randrange(3000)} AB-00{rng.randrange(10**8):08d}",
                round(rng.uniform(10, 90_000), 2),
                start + timedelta(days=rng.randrange(700)),
                rng.choice(["", "urgent", "partial delivery", "see comment"]),
            ]
        )
    return out


def write_csv(path: Path, data: list[list[object]]) -> None:
    lines = [";".join(HEADER)]
    lines += [";".join(str(c).replace(".", ",") if isinstance(c, float) else str(c)
                       for c in row) for row in data]  # fmt: skip
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_xlsx(path: Path, data: list[list[object]]) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("PO_Data")
    sheet.append(HEADER)
    for row in data:
        sheet.append(row)
    book.save(path)


def _rss_bytes() -> int:
    return int(psutil.Process().memory_info().rss)


def _max_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # Linux reports KiB


def read_with_openpyxl(path: Path) -> InputTable:
    """The XLSX reading before calamine (openpyxl, read-only, cached values), for the
    comparison row: the same table, built by the same code."""
    from openpyxl import load_workbook

    from coupadl.spreadsheet.table import build_table, is_blank

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        records = [list(r) for r in book["PO_Data"].iter_rows(values_only=True)]
    finally:
        book.close()
    first = next((i for i, r in enumerate(records) if not all(is_blank(v) for v in r)), 0)
    return build_table(path, "xlsx", records[first:], sheet_name="PO_Data")


def measure(path: Path, repeat: int, trace: bool, old: bool = False) -> dict[str, object]:
    """One file in this process: times (or, with ``trace``, traced peak allocations)."""
    from coupadl.spreadsheet.reader import plan_rows
    from coupadl.spreadsheet.reader import read_input as read_new

    read_input = read_with_openpyxl if old else read_new

    if trace:
        tracemalloc.start()
        table = read_input(path)
        plan = plan_rows(table)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"traced_peak_mb": peak / 2**20, "tasks": len(plan.tasks)}
    rss_before = _rss_bytes()
    read_s, plan_s = [], []
    for _ in range(repeat):
        begun = time.perf_counter()
        table = read_input(path)
        read_s.append(time.perf_counter() - begun)
        begun = time.perf_counter()
        plan = plan_rows(table)
        plan_s.append(time.perf_counter() - begun)
    return {
        "rows": len(table.rows),
        "tasks": len(plan.tasks),
        "invalid": len(plan.invalid),
        "read_s": min(read_s),
        "plan_s": min(plan_s),
        "rss_growth_mb": (_max_rss_bytes() - rss_before) / 2**20,
        "size_mb": path.stat().st_size / 2**20,
    }


def measure_in_child(path: Path, repeat: int, trace: bool, old: bool = False) -> dict[str, object]:
    command = [sys.executable, __file__, "--measure", str(path), "--repeat", str(repeat)]
    if trace:
        command.append("--trace")
    if old:
        command.append("--old")
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=900)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def render(
    results: dict[str, dict[str, object]], n: int, command: str, loads: tuple[str, str]
) -> str:
    lines = [
        BEGIN,
        "## Input scale",
        "",
        f"Written by `benchmarks/input_scale.py`. Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}. "
        f"Before the run: {loads[0]}; after it: {loads[1]}.",
        "",
        f"{n:,} rows (PO number, supplier, amount, date, note; repeated POs and one invalid "
        "cell in 500). Each file is read in a fresh process; times are the best of the runs.",
        "",
        "| file | size MB | rows | tasks | invalid rows | read_input s | plan_rows s "
        "| peak RSS growth MB | peak traced MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for kind, r in results.items():
        traced = f"{r['traced_peak_mb']:.0f}" if "traced_peak_mb" in r else "–"
        lines.append(
            f"| {kind} | {r['size_mb']:.1f} | {r['rows']:,} | {r['tasks']:,} | {r['invalid']:,} "
            f"| {r['read_s']:.2f} | {r['plan_s']:.2f} | {r['rss_growth_mb']:.0f} | {traced} |"
        )
    lines += [
        "",
        "XLSX is read with python-calamine; the openpyxl row (with `--openpyxl`: one run, "
        "no traced run) is the reading it replaced, on the same file in the same run.",
        "",
        "Peak RSS growth is the process's peak resident memory minus its size before "
        "reading (interpreter and imports excluded); peak traced is the most memory Python "
        "objects held at once (tracemalloc), measured in a separate run.",
        END,
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="Do not write docs/benchmarks.md")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--old", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--openpyxl", action="store_true", help="Also time the old openpyxl XLSX reading"
    )
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.repeat, args.trace, args.old)))
        return
    load_before = load_now()
    command = "python benchmarks/input_scale.py " + " ".join(sys.argv[1:])
    work = Path(tempfile.mkdtemp(prefix="coupadl-input-scale-"))
    data = rows(args.rows)
    files = {"CSV": work / "input.csv", "XLSX": work / "input.xlsx"}
    write_csv(files["CSV"], data)
    write_xlsx(files["XLSX"], data)
    results: dict[str, dict[str, object]] = {}
    for kind, path in files.items():
        results[kind] = measure_in_child(path, args.repeat, trace=False)
        results[kind].update(measure_in_child(path, 1, trace=True))
        print(kind, results[kind], flush=True)
    if args.openpyxl:
        results["XLSX (openpyxl, before)"] = measure_in_child(
            files["XLSX"], 1, trace=False, old=True
        )
        print("openpyxl", results["XLSX (openpyxl, before)"], flush=True)
    for path in files.values():
        path.unlink()
    work.rmdir()
    section = render(results, args.rows, command.strip(), (load_before, load_now()))
    print(section)
    if not args.no_write:
        write_section(BEGIN, END, section)
        print(f"written to {DOC}")


if __name__ == "__main__":
    main()
