"""``coupadl demo``: the whole product on the built-in simulator, in one command."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

from coupadl.engine.browser.login import sign_in
from coupadl.reports.outcome import RunOutcome
from coupadl.runs.batch import run_batch
from coupadl.settings import EngineKind, load_settings
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.server import SimulatorServer

log = logging.getLogger(__name__)


def write_sample_input(path: Path, po_numbers: list[str]) -> None:
    """A spreadsheet as users make them: mixed PO/PM prefixes and a note column."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["PO_NUMBER", "Note"])
        for i, number in enumerate(po_numbers):
            prefix = ("PO", "po", "PM", "")[i % 4]
            writer.writerow([f"{prefix}{number}", f"demo row {i + 1}"])


def run_demo(
    out: Path, *, n_pos: int = 20, workers: str = "2", engine: EngineKind | None = None
) -> tuple[RunOutcome, list[str]]:
    """Serve the simulator, sign in, run, and compare the result with its manifest."""
    out.mkdir(parents=True, exist_ok=True)
    with SimulatorServer(n_pos=n_pos, seed=1) as server:
        manifest = server.manifest()
        credentials = manifest["credentials"]
        settings = load_settings(
            {
                "base_url": server.base_url,
                "out": out / "downloads",
                "profile_dir": out / "profile",
                "username": credentials["email"],
                "password": credentials["password"],
                "workers": workers,
                "engine": engine,  # None: the environment's or the default
            }
        )
        log.info("simulator at %s; signing in", server.base_url)
        sign_in(settings, timeout=60)
        input_path = out / "demo-input.csv"
        write_sample_input(input_path, list(manifest["pos"]))
        outcome = run_batch(input_path, settings)
        problems = compare_with_manifest(settings.out, manifest)
    return outcome, problems
