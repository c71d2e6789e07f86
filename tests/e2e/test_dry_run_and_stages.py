"""``coupadl run --dry-run`` against the simulator (names and sizes as a run would save
them, nothing written), and the one-browser path reporting its stages to a RunProgress.
Real headless Chromium."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from coupadl.cli.app import app
from coupadl.errors import ExitCode
from coupadl.execution.progress import Phase, RunProgress
from coupadl.runs.batch import run_batch
from helpers import write_input

pytestmark = pytest.mark.browser

FILE_LINE = re.compile(r"^    (.+)  ([\d,]+ bytes|size unknown)  \((\w+)\)$")


def _kinds(manifest: dict[str, Any], *kinds: str) -> list[str]:
    return [next(po for po, t in manifest["pos"].items() if t["kind"] == k) for k in kinds]


def _tree(folder: Path) -> list[tuple[str, int, float]]:
    if not folder.exists():
        return []
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime) for p in folder.rglob("*")
    )


def _dry_run(sim: Any, settings: Any, input_path: Path, *extra: str) -> tuple[int, str]:
    args = [
        "run", str(input_path), "--dry-run", "--base-url", sim.base_url,
        "--out", str(settings.out), "--profile-dir", str(settings.profile_dir),
        "--browser-binary", str(settings.browser_binary),
        "--driver-path", str(settings.driver_path), "--sequential", *extra,
    ]  # fmt: skip
    root = logging.getLogger()
    handlers, level = root.handlers[:], logging.getLogger("coupadl").level
    try:
        result = CliRunner().invoke(app, args)
    finally:
        # The command points logging at CliRunner's streams, closed after the call.
        root.handlers[:] = handlers
        logging.getLogger("coupadl").setLevel(level)
    return result.exit_code, result.output


def _listing(output: str) -> dict[str, list[tuple[str, str, str]]]:
    """PO number -> [(name, size text, source)] from the dry run's output."""
    files: dict[str, list[tuple[str, str, str]]] = {}
    current = ""
    for line in output.splitlines():
        if head := re.match(r"^PO(\d+)  ", line):
            current = head.group(1)
            files[current] = []
        elif (match := FILE_LINE.match(line)) and current:
            name, size, source = match.groups()
            files[current].append((name, size, source))
    return files


def test_dry_run_lists_names_and_sizes_and_writes_nothing(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    pos = _kinds(
        manifest, "header", "requisition_only", "duplicates", "hostile", "none",
        "not_found", "denied",
    )  # fmt: skip
    settings = make_settings()
    input_path = write_input(tmp_path / "in.csv", pos)
    sim.reset_stats()

    code, output = _dry_run(sim, settings, input_path)

    assert code == ExitCode.OK, output
    listing = _listing(output)
    assert set(listing) == set(pos), output
    for po in pos:
        truth = manifest["pos"][po]
        expected = [(f["name"], f"{f['size']:,} bytes", f["source"]) for f in truth["files"]]
        assert listing[po] == expected, (po, output)
        line = next(line for line in output.splitlines() if line.startswith(f"PO{po}  "))
        if not truth["files"]:
            assert truth["status"] in line, line
    assert "7 PO(s) would be processed" in output
    assert "Nothing was downloaded or written." in output
    assert not settings.out.exists(), "the dry run wrote to the output folder"
    # HEAD requests ask for sizes; no attachment was fetched more than once (no GET
    # after the HEAD).
    assert all(n == 1 for n in sim.stats()["files"].values()), sim.stats()["files"]


def test_dry_run_after_a_run_skips_what_is_done_and_leaves_the_output_alone(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    done, left = _kinds(manifest, "header", "comment")
    settings = make_settings()
    run_batch(write_input(tmp_path / "first.csv", [done]), settings)
    before = _tree(settings.out)
    input_path = write_input(tmp_path / "in.csv", [done, left])

    code, output = _dry_run(sim, settings, input_path)
    only_failed_code, only_failed = _dry_run(sim, settings, input_path, "--only-failed")

    assert code == ExitCode.OK and only_failed_code == ExitCode.OK, output + only_failed
    assert set(_listing(output)) == {left}
    assert "1 PO(s) would be processed, 1 finished earlier" in output
    # --only-failed: the other PO was never queued by a run, so it is not "failed".
    assert _listing(only_failed) == {}
    assert "0 PO(s) would be processed" in only_failed
    assert _tree(settings.out) == before, "the dry run changed the output folder"


def test_sequential_run_reports_each_stage(sim: Any, make_settings: Any, tmp_path: Path) -> None:
    manifest = sim.manifest()
    pos = _kinds(manifest, "both", "requisition_only")

    class Stages(RunProgress):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[str, str, str]] = []

        def stage(self, worker_id: str, po_number: str, stage: str) -> None:
            self.seen.append((worker_id, po_number, stage))
            super().stage(worker_id, po_number, stage)

    monitor = Stages()
    outcome = run_batch(
        write_input(tmp_path / "in.csv", pos), make_settings(workers=1), monitor=monitor
    )

    assert outcome.mode == "sequential" and outcome.exit_code is ExitCode.OK
    for po in pos:
        stages = [stage for worker, number, stage in monitor.seen if number == po]
        assert {w for w, number, _ in monitor.seen if number == po} == {"seq"}
        assert stages[:2] == ["navigating", "finding"], stages
        assert "downloading 1 of" in " ".join(stages) and stages[-1] == "verifying", stages
    snapshot = monitor.snapshot()
    assert snapshot.phase is Phase.DONE
    assert (snapshot.total, snapshot.done, snapshot.by_status) == (2, 2, {"COMPLETED": 2})
