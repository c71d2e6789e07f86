"""Render the live dashboard of a real run to docs/img/dashboard.svg (for the README).

A short run against the built-in simulator (real headless Chromium, 2 workers, slow
pages and a few HTTP 500s so retries show up among the events); once some POs are done
and both workers are busy, the frame the terminal would show is saved as SVG with rich's
``Console.save_svg``. Then the run finishes and everything is removed.

    .venv/bin/python scripts/dashboard_screenshot.py [--out docs/img/dashboard.svg]
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console

from coupadl.cli.dashboard import SystemSampler, render_dashboard
from coupadl.cli.demo import write_sample_input
from coupadl.engine.browser.login import sign_in
from coupadl.execution.progress import RunProgress, RunSnapshot
from coupadl.runs.batch import run_batch
from coupadl.settings import load_settings
from coupadl.simulator.server import SimulatorServer

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 100
say = Console(stderr=True)


def worth_a_picture(snap: RunSnapshot) -> bool:
    busy = [w for w in snap.workers if w.po_number is not None and w.stage]
    retried = any(e.kind == "retry_scheduled" for e in snap.events)
    return snap.done >= 4 and len(busy) >= 2 and retried


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "dashboard.svg")
    args = parser.parse_args()
    os.environ.setdefault("SE_OFFLINE", "true")
    with tempfile.TemporaryDirectory(prefix="coupadl-screenshot-") as scratch:
        work = Path(scratch)
        with SimulatorServer(n_pos=16, seed=3, page_latency=0.8, error_rate_500=0.08) as sim:
            creds = sim.manifest()["credentials"]
            settings = load_settings(
                {
                    "base_url": sim.base_url,
                    "out": work / "downloads",
                    "profile_dir": work / "profile",
                    "username": creds["email"],
                    "password": creds["password"],
                    "workers": 2,
                    "retry_backoff": 1.0,
                }
            )
            say.print(f"simulator at {sim.base_url}; signing in")
            sign_in(settings, timeout=60)
            input_path = work / "pos.csv"
            write_sample_input(input_path, list(sim.manifest()["pos"]))
            monitor = RunProgress()
            run = threading.Thread(
                target=run_batch, args=(input_path, settings), kwargs={"monitor": monitor}
            )
            run.start()
            sampler = SystemSampler()
            picture: RunSnapshot | None = None
            while run.is_alive():
                snap = monitor.snapshot()
                if worth_a_picture(snap):
                    picture = snap
                    break
                time.sleep(0.1)
            if picture is None:
                raise SystemExit("the run ended before a frame worth a picture")
            console = Console(record=True, width=WIDTH, force_terminal=True, file=io.StringIO())
            console.print(render_dashboard(picture, sampler.sample(picture), WIDTH))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            console.save_svg(str(args.out), title="coupadl run pos.csv --workers 2")
            say.print(f"saved {args.out}; letting the run finish")
            run.join()


if __name__ == "__main__":
    main()
