"""End to end, the old tool's way of running: its myscript_config.json in the working
directory and its command line (``--csv FILE --use-pool``), real headless Chromium
against the simulator. The oracle is the simulator's manifest, file by file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import faultkit
from conftest import CHROMEDRIVER, CHROMIUM
from coupadl.simulator.check import compare_with_manifest
from helpers import leftover_processes, write_input

pytestmark = [pytest.mark.usefixtures("calm_sim"), pytest.mark.browser, pytest.mark.timeout(240)]
tag = faultkit.tag

IGNORED_KEYS = ("csv_path", "num_windows", "max_tabs_per_window", "profile_mode")


def test_the_old_config_and_command_line_run_the_pool(
    sim: Any, base_profile: Path, tmp_path: Path, tag: str
) -> None:
    pos = list(sim.manifest()["pos"])[:4]
    out = tmp_path / "old-tool-downloads"
    write_input(tmp_path / "in.csv", pos)
    old_config = {
        "excel_path": "not-this-one.xlsx",  # the command line's --csv comes first
        "csv_path": "inventory.csv",
        "download_dir": str(out),
        "num_windows": 2,
        "max_tabs_per_window": 3,
        "max_workers": 2,
        "headless": True,
        "profile_mode": "clone",
    }
    (tmp_path / "myscript_config.json").write_text(json.dumps(old_config), encoding="utf-8")
    command = [
        sys.executable, "-m", "coupadl", "run", "--csv", "in.csv", "--use-pool",
        "--engine", "browser", "--base-url", sim.base_url, "--profile-dir", str(base_profile),
        "--browser-binary", CHROMIUM, "--driver-path", CHROMEDRIVER,
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=200, check=False
    )

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    manifest = sim.manifest()
    manifest["pos"] = {po: manifest["pos"][po] for po in pos}
    assert compare_with_manifest(out, manifest) == []
    assert not (tmp_path / "coupadl-out").exists()  # the default output folder is unused
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert 1 <= report["workers"] <= old_config["max_workers"]
    warnings = [line for line in done.stderr.splitlines() if "ignoring" in line]
    assert len(warnings) == 1, done.stderr[-3000:]
    assert all(key in warnings[0] for key in IGNORED_KEYS), warnings[0]
    assert not leftover_processes(tag)
