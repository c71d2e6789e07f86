"""kill -9 of the whole run at seeded kill points, then a resume: the output must be
exactly what the simulator's manifest says, every time.

Each kill point starts a real ``coupadl run`` (alternately pooled and sequential), waits
until a drawn number of POs has finished plus a drawn fraction of a second, and SIGKILLs
the main process only: workers and browsers must notice on their own, and the next run
(in the other mode) must repair what the kill left (work folders, partial files, POs in
flight, the results file and report) and fetch no PO the killed run had finished.

Kill point ``n`` is drawn from ``random.Random(f"{SEED}:{n}")`` alone, so it is the same
on every run and on every machine; its test id is ``kill-<n>`` and a failure names it
with the command that runs it again. CI runs the first ``CI_KILL_POINTS``; the next
``SOAK_KILL_POINTS`` are marked ``soak`` (``scripts/soak.sh``). The http engine's kill
points (``http-kill-<n>``, from ``random.Random(f"{SEED}:http:{n}")``) kill a run that
fetches one PO at a time over HTTP (pages slowed to 0.5 s, or it ends too soon) and
resume with two at a time; the REST API engine's (``api-kill-<n>``, from
``random.Random(f"{SEED}:api:{n}")``) do the same through the simulator's API, its
resume checked against the manifest with the API-only items.
"""

from __future__ import annotations

import csv
import logging
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from coupadl.errors import ExitCode
from coupadl.execution.pool.reaper import processes_of
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.server import SimulatorServer
from helpers import wait_for, write_input

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
log = logging.getLogger(__name__)

SEED = 20261122
N_POS = 6
CI_KILL_POINTS = 8
SOAK_KILL_POINTS = 50
CI_HTTP_KILL_POINTS = 3
SOAK_HTTP_KILL_POINTS = 10
CI_API_KILL_POINTS = 2
SOAK_API_KILL_POINTS = 6
_CI_POINTS = {"browser": CI_KILL_POINTS, "http": CI_HTTP_KILL_POINTS, "api": CI_API_KILL_POINTS}
HTTP_PAGE_LATENCY = 0.5
THIS = "tests/e2e/test_crash_consistency.py"


@dataclass(frozen=True)
class KillPoint:
    """Where one case kills the run, and how it runs before and after."""

    index: int
    after_finished: int  # POs finished (state DB or the run's output) before the kill...
    delay: float  # ...plus this many seconds
    killed_workers: int  # browsers, or for the http engine POs in flight
    resume_workers: int
    engine: str = "browser"

    @classmethod
    def draw(cls, index: int, engine: str = "browser") -> KillPoint:
        rng = random.Random(cls.seed_of(index, engine))
        # At most N_POS - 2 finished: two POs are still to do when the wait starts.
        after, delay = rng.randrange(0, N_POS - 1), round(rng.uniform(0.0, 0.5), 3)
        workers = (1, 2) if engine != "browser" or index % 2 else (2, 1)
        return cls(index, after, delay, *workers, engine)

    @staticmethod
    def seed_of(index: int, engine: str) -> str:
        return f"{SEED}:{index}" if engine == "browser" else f"{SEED}:{engine}:{index}"

    @property
    def id(self) -> str:
        return f"{'' if self.engine == 'browser' else self.engine + '-'}kill-{self.index}"

    @property
    def soak(self) -> bool:
        return self.index >= _CI_POINTS[self.engine]

    def args(self, workers: int) -> list[str]:
        """The run's engine flags with ``workers`` browsers or POs in flight."""
        if self.engine == "browser":
            return ["--engine", "browser", "--workers", str(workers)]
        return ["--engine", self.engine, "--concurrency", str(workers)]

    def settings(self, make_settings: Any, out: Path, sim: SimulatorServer) -> Any:
        """The resumed run's settings."""
        if self.engine == "browser":
            return make_settings(out=out, workers=self.resume_workers)
        extra = _api_client(sim) if self.engine == "api" else {}
        return make_settings(out=out, engine=self.engine, concurrency=self.resume_workers,
                             **extra)  # fmt: skip

    def __str__(self) -> str:
        again = f'.venv/bin/python -m pytest "{THIS}::{_TEST}[{self.id}]"'
        seed = self.seed_of(self.index, self.engine)
        return (
            f"kill point {self.id} (seed {seed}): kill -9 after "
            f"{self.after_finished} finished POs + {self.delay} s, killed run "
            f"{self.killed_workers} worker(s), resumed with {self.resume_workers} "
            f"({self.engine} engine); run it again: {again}{' -m soak' if self.soak else ''}"
        )


def _api_client(sim: SimulatorServer) -> dict[str, str]:
    credentials = sim.manifest()["credentials"]
    return {
        "api_client_id": credentials["api_client_id"],
        "api_client_secret": credentials["api_client_secret"],
    }


_TEST = "test_kill_minus_nine_at_a_seeded_point_then_resume"
KILL_POINTS = (
    [KillPoint.draw(n) for n in range(CI_KILL_POINTS + SOAK_KILL_POINTS)]
    + [KillPoint.draw(n, "http") for n in range(CI_HTTP_KILL_POINTS + SOAK_HTTP_KILL_POINTS)]
    + [KillPoint.draw(n, "api") for n in range(CI_API_KILL_POINTS + SOAK_API_KILL_POINTS)]
)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=N_POS, seed=23) as server:
        yield server


def _finished(out: Path) -> set[str]:
    """The POs the run state records as finished (read-only: no recovery by the test)."""
    try:
        with sqlite3.connect(f"file:{out / '.coupadl' / 'state.db'}?mode=ro", uri=True) as db:
            return {
                row[0] for row in db.execute("SELECT po_number FROM pos WHERE state='finished'")
            }
    except sqlite3.OperationalError:
        return set()  # no database or no tables yet


def lock_held(out: Path) -> bool:
    """Whether any process holds ``<out>/.coupadl/run.lock`` (Linux: /proc/locks)."""
    try:
        st = (out / ".coupadl" / "run.lock").stat()
    except FileNotFoundError:
        return False
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    locks = Path("/proc/locks").read_text(encoding="ascii").split()
    return wanted in locks


# The line the run logs for each PO it has recorded as finished (runs/batch.py), once
# the state DB has committed it.
_FINISHED_LINE = re.compile(r"\bPO(\d+) [A-Z_]+(?: \[E_[A-Z_]+\])? \(\d+/\d+ files\)")


def _announced(log_path: Path) -> set[str]:
    """The POs a run's output said were finished: a witness besides the state DB, so a
    finished PO the DB lost (a commit that never was) is still known to be finished."""
    return set(_FINISHED_LINE.findall(log_path.read_text(encoding="utf-8", errors="replace")))


def _start_run(
    input_path: Path, settings: Any, engine_args: list[str], log_path: Path | None = None
) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    if settings.api_client_id:  # the secret through the environment, as a user would
        env["COUPA_API_CLIENT_ID"] = settings.api_client_id
        env["COUPA_API_CLIENT_SECRET"] = settings.api_client_secret.get_secret_value()
    command = [
        sys.executable, "-m", "coupadl", "run", str(input_path),
        "--base-url", settings.base_url, "--out", str(settings.out),
        *engine_args, "--profile-dir", str(settings.profile_dir),
        "--browser-binary", str(settings.browser_binary),
        "--driver-path", str(settings.driver_path),
    ]  # fmt: skip
    if log_path is None:
        return subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
        )
    with log_path.open("wb") as output:
        return subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)


def _kill_at(point: KillPoint, process: subprocess.Popen[bytes], out: Path, log_path: Path) -> None:
    """SIGKILL the main process at ``point``, then wait until nothing of the run is left:
    the main process reaped, every process it started gone (the reaper's job), the
    output lock free. Waits on those events, never on time."""

    def finished() -> int:
        return len(_finished(out) | _announced(log_path))

    wait_for(
        lambda: process.poll() is not None or finished() >= point.after_finished,
        f"{point}: {point.after_finished} POs finished",
    )
    time.sleep(point.delay)  # the drawn moment after that event: part of the kill point
    assert process.poll() is None, f"{point}: the run ended (exit {process.returncode}) first"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    wait_for(lambda: not processes_of(out), f"{point}: the reaper ends the run's processes", 15)
    wait_for(lambda: not lock_held(out), f"{point}: the output lock released", 15)


def _results_rows(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize(
    "point",
    [pytest.param(p, id=p.id, marks=[pytest.mark.soak] * p.soak) for p in KILL_POINTS],
)
def test_kill_minus_nine_at_a_seeded_point_then_resume(
    point: KillPoint,
    sim: SimulatorServer,
    make_settings: Any,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    manifest = sim.manifest()
    pos = sorted(manifest["pos"])
    input_path = write_input(tmp_path / "in.csv", pos)
    # Spaces and non-ASCII in the output path, on purpose.
    out = tmp_path / f"Bons de commande é {point.index}"
    settings = point.settings(make_settings, out, sim)
    started = time.monotonic()
    killed_log = tmp_path / "killed-run.log"
    if point.engine != "browser":
        sim.control(page_latency=HTTP_PAGE_LATENCY)
    try:
        killed = _start_run(input_path, settings, point.args(point.killed_workers), killed_log)
        _kill_at(point, killed, out, killed_log)
    finally:
        sim.control(page_latency=0.0)
    done_before = _finished(out) | _announced(killed_log)
    sim.reset_stats()

    outcome = run_batch(input_path, settings)

    assert outcome.exit_code is ExitCode.OK, f"{point}: {outcome}"
    api = point.engine == "api"
    assert compare_with_manifest(out, manifest, api_extras=api) == [], str(point)
    refetched = done_before & _fetched_pos(sim.stats())
    assert not refetched, f"{point}: POs finished before the kill were fetched again"
    rows = _results_rows(out)
    assert sorted(r["PO_NUMBER"].removeprefix("PO") for r in rows) == pos, str(point)
    statuses = {r["PO_NUMBER"].removeprefix("PO"): r["STATUS"] for r in rows}
    assert statuses == {po: manifest["pos"][po]["status"] for po in pos}, str(point)
    assert processes_of(out) == [], f"{point}: processes outlived the run"
    log.warning("crash consistency: %s survived (%d finished before)", point, len(done_before))
    # Figures for scripts/soak.sh (they land in pytest's JUnit XML).
    record_property("finished_before_kill", len(done_before))
    record_property("case_seconds", round(time.monotonic() - started, 1))


def _fetched_pos(stats: dict[str, Any]) -> set[str]:
    """The POs whose page (web) or attachment list (REST API) was asked for."""
    api = {key.split("/")[1] for key in stats["api"] if key.startswith("purchase_orders/")}
    return set(stats["pos"]) | api


def _snapshot(out: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of every file outside the work folders (Chromium may still write
    into a work folder while the run's main process is stopped)."""
    return {
        str(path.relative_to(out)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in out.rglob("*")
        if path.is_file() and not any(part.endswith("__WORK") for part in path.parts)
    }


def _meet_a_stopped_first_run(first: subprocess.Popen[bytes], out: Path) -> None:
    """SIGSTOP ``first`` once it holds the output lock with a PO finished. Stopped, it
    cannot finish or let go of the lock while a second run tries: no race, however fast
    either one is."""
    wait_for(
        lambda: first.poll() is not None or bool(_finished(out) and lock_held(out)),
        "the first run holding the output lock with a PO finished",
    )
    first.send_signal(signal.SIGSTOP)
    assert first.poll() is None, "the first run ended before the second could meet it"
    assert lock_held(out), "the first run let go of the lock before it was stopped"


def test_a_second_run_on_the_same_output_refuses_and_never_interleaves(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    input_path = write_input(tmp_path / "in.csv", sorted(manifest["pos"]))
    settings = make_settings(out=tmp_path / "out")
    first = _start_run(input_path, settings, ["--engine", "browser", "--workers", "1"])
    try:
        _meet_a_stopped_first_run(first, settings.out)
        before = _snapshot(settings.out)

        second = subprocess.run(
            [sys.executable, "-m", "coupadl", "run", str(input_path), "--out", str(settings.out),
             "--base-url", settings.base_url, "--profile-dir", str(settings.profile_dir)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

        assert _snapshot(settings.out) == before, "the second run changed the output"
    except BaseException:
        first.kill()
        raise
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == ExitCode.USAGE, second.stderr
    assert "Another coupadl run is using" in second.stderr + second.stdout
    assert "Traceback" not in second.stderr
    assert first.wait(timeout=300) == ExitCode.OK
    assert compare_with_manifest(settings.out, manifest) == []
