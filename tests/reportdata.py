"""A generated 10,000-PO run for report.html at scale: the e2e test and
benchmarks/report_scale.py both use it (the benchmark puts tests/ on sys.path).

Plain data only, independent of the report code: suppliers follow a long tail (a few
with a thousand POs, most with a handful), statuses are mixed, 0-5 files per PO, four
workers over about two hours (one starts late), and a few files a refresh added:
most during this run, some during an earlier one (those are not new in this run).
Also the headless Chromium both drive, and the time-to-interactive measurement.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coupadl.models import AttachmentSource, FileResult, POResult, Status

START = 1_760_000_000.0
SPAN = 2 * 3600.0
HOSTILE_SUPPLIER = "</script><script>alert(1)</script>"
UNICODE_SUPPLIER = "Müller & Söhne 株式会社"
SEARCH_WORD = "invoice"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

_STATUSES = [  # (status, weight, error code)
    (Status.COMPLETED, 70, ""), (Status.NO_ATTACHMENTS, 10, ""),
    (Status.PARTIAL, 5, "E_PARTIAL"), (Status.FAILED, 5, "E_DOWNLOAD_FAILED"),
    (Status.PO_NOT_FOUND, 4, "E_PO_NOT_FOUND"), (Status.ACCESS_DENIED, 2, "E_ACCESS_DENIED"),
    (Status.TIMEOUT, 2, "E_TIMEOUT"), (Status.AUTH_REQUIRED, 2, "E_AUTH_REQUIRED"),
]  # fmt: skip
_KINDS = ["invoice", "quote", "delivery note", "contract", "offer", "Rechnung", "見積書"]
_HOSTILE_FILE = '<img src=x onerror="alert(1)">.pdf'


@dataclass
class GeneratedRun:
    out: Path
    results: list[POResult]
    started_at: float
    finished_at: float
    suppliers: list[str]


def _suppliers(rng: random.Random, n: int = 300) -> list[str]:
    forms = ["AB", "GmbH", "Ltd", "S.A.", "Oy", "Inc."]
    names = [f"Supplier {i:03d} {rng.choice(forms)}" for i in range(n - 2)]
    # The special names are big enough to have POs of several statuses.
    return [names[0], UNICODE_SUPPLIER, *names[1:5], HOSTILE_SUPPLIER, *names[5:]]


def _files(rng: random.Random, po: str, status: Status) -> list[FileResult]:
    if status not in (Status.COMPLETED, Status.PARTIAL):
        return []
    files = []
    for k in range(rng.randint(1 if status is Status.PARTIAL else 0, 5)):
        name = f"{rng.choice(_KINDS)}_{po}_{k}.pdf" if rng.random() > 0.002 else _HOSTILE_FILE
        size = int(rng.lognormvariate(12, 1.5)) + 1  # a few hundred KB, some tens of MB
        files.append(FileResult(name, size, f"{k:064x}", AttachmentSource.HEADER))
    return files


def _refresh(rng: random.Random, results: list[POResult], finished_at: float) -> None:
    """Files added by a refresh: 20 POs during this run, 5 during an earlier one."""
    completed = [r for r in results if r.status is Status.COMPLETED]
    for i, r in enumerate(rng.sample(completed, 25)):
        stamp = rng.uniform(START, finished_at) if i < 20 else START - 86_400.0
        added = [
            FileResult(f"added {k} {r.po_number}.pdf", rng.randint(1_000, 900_000), "b" * 64,
                       AttachmentSource.COMMENT, added_at=stamp)
            for k in range(rng.randint(1, 2))
        ]  # fmt: skip
        r.files.extend(added)
        r.attachments_found += len(added)
        r.last_refreshed = stamp


def _timings(rng: random.Random, results: list[POResult]) -> float:
    """Four workers, each one PO after another; worker-4 starts 10 minutes late."""
    clocks = {"worker-1": START, "worker-2": START, "worker-3": START, "worker-4": START + 600}
    for r in results:
        worker = min(clocks, key=clocks.__getitem__)
        r.worker, r.started_at = worker, clocks[worker] + rng.uniform(0.0, 0.2)
        r.finished_at = r.started_at + rng.uniform(0.5, 5.2)
        clocks[worker] = r.finished_at
    return max(clocks.values()) + 1.0


def generate_run(out: Path, n: int = 10_000, seed: int = 11) -> GeneratedRun:
    rng = random.Random(seed)
    suppliers = _suppliers(rng)
    weights = [1 / (rank + 1) for rank in range(len(suppliers))]  # a long tail
    numbers = rng.sample(range(16_000_000, 16_000_000 + n * 5), n)
    results = []
    for number in numbers:
        po = str(number)
        status, _, code = rng.choices(_STATUSES, weights=[w for _, w, _ in _STATUSES])[0]
        supplier = rng.choices(suppliers, weights=weights)[0]
        files = _files(rng, po, status)
        folder = out / (re.sub(r"[^\w.-]+", "_", supplier).strip("_") or "x") / f"PO{po}_{status}"
        results.append(POResult(
            po, status, code, f"Generated {status.value.lower()} outcome." if code else "",
            supplier=supplier, attachments_found=len(files) + (status is Status.PARTIAL),
            files=files, folder=folder,
        ))  # fmt: skip
    finished_at = _timings(rng, results)
    _refresh(rng, results, finished_at)
    return GeneratedRun(out, results, START, finished_at, suppliers)


# --- the browser ------------------------------------------------------------------------


def headless_chromium(profile: Path) -> Any:
    """Debian's Chromium through its chromedriver (Selenium Manager never runs)."""
    from selenium import webdriver

    os.environ["SE_OFFLINE"] = "true"
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--disable-gpu", f"--user-data-dir={profile}",
                "--no-first-run", "--disable-background-networking", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,900"):  # fmt: skip
        options.add_argument(arg)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium's sandbox refuses to run as root
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))


# In the page: the report's "first page drawn" mark, then a status filter applied and
# painted (a frame, then a task after it). Milliseconds from navigation start.
_MEASURE = """
const done = arguments[arguments.length - 1];
const ready = performance.getEntriesByName("coupadl-table-ready")[0].startTime;
const t0 = performance.now();
const select = document.getElementById("f-status");
select.value = arguments[0];
select.dispatchEvent(new Event("change"));
requestAnimationFrame(() => setTimeout(() => done({
  ready: ready, filter: performance.now() - t0,
  rows: document.querySelectorAll("#rows tr").length,
  loaded: performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd,
}), 0));
"""


def time_to_interactive(driver: Any, url: str, status: str = "FAILED") -> dict[str, float]:
    """Load ``url`` afresh and time it: ``tti`` = first page drawn + a filter applied."""
    driver.get("about:blank")
    driver.get(url)
    figures = dict(driver.execute_async_script(_MEASURE, status))
    figures["tti"] = figures["ready"] + figures["filter"]
    return figures
