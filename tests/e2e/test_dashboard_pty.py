"""What a person sees while ``coupadl run`` works, checked in a real pseudo-terminal:
the command runs under pexpect with a fixed window size, its output goes through pyte (a
terminal emulator) and the tests read the emulated screen. Then the same run without a
terminal: plain lines, and the JSON event log. Real headless Chromium, real simulator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pexpect
import psutil
import pyte
import pytest

from coupadl.errors import ExitCode
from coupadl.observability.jsonlog import COMMON_KEYS, EVENT_KEYS
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.server import SimulatorServer
from helpers import default_sigint, write_input

pytestmark = [
    pytest.mark.browser,
    pytest.mark.timeout(300),
    pytest.mark.skipif(os.name == "nt", reason="needs a POSIX pseudo-terminal (pexpect.spawn)"),
]

ROWS, COLS = 60, 120
STAGES = r"(dispatched|navigating|finding|downloading \d+ of \d+|requisition|verifying)"
WORKER_ROW = re.compile(rf"worker-\d\s+PO\d+\s+{STAGES}")
STATUSES = "COMPLETED|NO_ATTACHMENTS|PO_NOT_FOUND|ACCESS_DENIED|PARTIAL|FAILED|TIMEOUT"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """Eight POs, each page taking a while, so the run lasts a few seconds."""
    with SimulatorServer(n_pos=8, seed=5, page_latency=0.7) as server:
        yield server


@pytest.fixture
def slow_knobs(sim: SimulatorServer) -> Iterator[Callable[..., None]]:
    """Change knobs for one test (also through ``sim.control``); put them back afterwards."""
    before = dict(sim.control())

    def change(**knobs: Any) -> None:
        sim.control(**knobs)

    yield change
    sim.control(**{k: before[k] for k in ("page_latency", "file_bandwidth")})


def command(sim: SimulatorServer, settings: Any, input_path: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "coupadl", "run", str(input_path),
        "--base-url", sim.base_url, "--out", str(settings.out), "--workers", "2",
        "--profile-dir", str(settings.profile_dir),
        "--browser-binary", str(settings.browser_binary),
        "--driver-path", str(settings.driver_path), *extra,
    ]  # fmt: skip


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(TERM="xterm-256color", PYTHONUNBUFFERED="1")
    env.pop("NO_COLOR", None)
    return env


class Terminal:
    """A command in a pty of ROWS x COLS, its output fed to an emulated screen."""

    def __init__(self, argv: list[str], cwd: Path, **env: str) -> None:
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(
            argv[0], argv[1:], cwd=str(cwd), env={**child_env(), **env},
            dimensions=(ROWS, COLS), preexec_fn=default_sigint,
        )  # fmt: skip
        self.screens: list[str] = []  # every screen seen, for the assertions' messages
        self.raw = b""
        self.echo_after: bool | None = None

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def pump(self, seconds: float = 0.2) -> bool:
        """Read what the command printed for up to ``seconds``; False at its end."""
        try:
            data = self.child.read_nonblocking(65536, timeout=seconds)
        except pexpect.TIMEOUT:
            return True
        except pexpect.EOF:
            return False
        self.raw += data
        self.stream.feed(data)
        self.screens.append(self.text())
        return True

    def wait_for(
        self, predicate: Callable[[str], bool], timeout: float = 120, what: str = ""
    ) -> str:
        """The screen once ``predicate`` holds (it may look at more than the screen:
        the terminal is read meanwhile, so the command never blocks on its output)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = self.pump()
            if predicate(self.text()):
                return self.text()
            if not alive:
                break
        raise AssertionError(f"never seen: {what or 'the expected screen'}:\n{self.text()}")

    def finish(self, timeout: float = 120) -> int:
        deadline = time.monotonic() + timeout
        while self.pump() and time.monotonic() < deadline:
            pass
        # The dashboard turns key echo off while it shows; it must turn it back on.
        self.echo_after = self.child.getecho()
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)


def requested_since(sim: SimulatorServer, since: float) -> list[str]:
    """POs whose page the simulator was asked for at ``since`` (time.time()) or later."""
    requests = sim.timeline()["requests"]
    return [r["id"] for r in requests if r["group"] == "pos" and r["t"] >= since]


def hold_next_po(sim: SimulatorServer, term: Terminal, latency: float) -> str:
    """Make every PO page from now on take ``latency`` s; the first PO asked for after
    that. The server logs a request before it reads the knob, so that PO's page is
    surely still loading ``latency`` s after its request, whatever the machine's speed."""
    sim.control(page_latency=latency)
    changed = time.time()
    term.wait_for(lambda _: bool(requested_since(sim, changed)), what="a PO page asked for")
    return requested_since(sim, changed)[0]


def progress_count(text: str) -> int | None:
    found = re.search(r"(\d+)/8 POs", text)
    return int(found.group(1)) if found else None


def test_dashboard_shows_progress_worker_stages_and_counts(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    settings = make_settings(workers=2)
    input_path = write_input(tmp_path / "in.csv", list(manifest["pos"]))
    term = Terminal(command(sim, settings, input_path), tmp_path)

    # Mid-run, on one screen: the bar's "n/8", a worker row naming its stage, counts.
    mid = term.wait_for(
        lambda t: (
            (progress_count(t) or 0) >= 1
            and bool(WORKER_ROW.search(t))
            and bool(re.search(rf"({STATUSES}) \d+", t))
        )
    )
    assert (progress_count(mid) or 0) < 8, mid
    assert "pending" in mid and "CPU" in mid and "of RAM in use" in mid
    code = term.finish()
    final = term.text()

    assert code == ExitCode.OK, final
    assert term.echo_after, "the terminal was left without echo"
    assert compare_with_manifest(settings.out, manifest) == []
    assert progress_count(final) == 8, final
    # Each PO's log line printed above the live area, whole, on a line of its own: the
    # redraws never cut through a log line.
    lines = final.splitlines()
    for po, truth in manifest["pos"].items():
        own = [line for line in lines if f"PO{po} {truth['status']}" in line]
        assert len(own) == 1, (po, final)
        assert re.search(rf"PO{po} {truth['status']}( \[E_\w+\])? \(\d+/\d+ files\)", own[0])
    # Only one dashboard on the screen at the end (the live area was redrawn in place).
    assert final.count("coupadl run: pool") == 1, final


def test_ctrl_c_once_finishes_twice_aborts_then_a_rerun_loses_nothing(
    sim: SimulatorServer,
    make_settings: Any,
    tmp_path: Path,
    slow_knobs: Callable[..., None],
) -> None:
    manifest = sim.manifest()
    settings = make_settings(workers=2)
    input_path = write_input(tmp_path / "in.csv", list(manifest["pos"]))
    # Page and shutdown limits above the held page's time: only the second Ctrl+C ends it.
    limits = {"COUPA_PAGE_TIMEOUT": "280", "COUPA_SHUTDOWN_TIMEOUT": "280"}
    term = Terminal(command(sim, settings, input_path), tmp_path, **limits)
    term.wait_for(lambda t: (progress_count(t) or 0) >= 1 and bool(WORKER_ROW.search(t)))
    # A PO whose page the server holds for minutes: in flight for both Ctrl+C presses.
    held = hold_next_po(sim, term, latency=150.0)
    term.wait_for(lambda t: bool(re.search(rf"PO{held}\s+navigating", t)), what=f"PO{held}")

    term.child.sendintr()  # Ctrl+C, as typed: the whole foreground process group gets it
    finishing = term.wait_for(lambda t: "finishing current POs" in t, timeout=120)
    assert term.child.isalive(), finishing
    family = [p.pid for p in psutil.Process(term.child.pid).children(recursive=True)]
    term.child.sendintr()
    aborting = term.wait_for(lambda t: "aborting" in t, timeout=120)
    code = term.finish(timeout=120)

    assert code == ExitCode.INTERRUPTED, term.text()
    assert "finishing current POs" in finishing and "aborting" in aborting
    assert "Interrupted. Re-run the same command to resume." in term.text()
    # The typed ^C echoes did not push the redraws off by a line (no stale borders).
    assert term.text().count("coupadl run: pool") == 1, term.text()
    # Every worker, driver and browser of the run is gone with it.
    deadline = time.monotonic() + 120
    while (left := [pid for pid in family if psutil.pid_exists(pid) and not _zombie(pid)]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert left == [], "processes of the interrupted run are still running"

    # Re-run with Coupa at its normal speed: everything ends up there, nothing twice.
    slow_knobs(page_latency=0.0, file_bandwidth=0)
    finished_before = _finished(settings.out)
    assert held not in finished_before, "the second Ctrl+C did not cut the PO in flight"
    sim.reset_stats()
    outcome = run_batch(input_path, settings)

    assert outcome.exit_code is ExitCode.OK
    assert compare_with_manifest(settings.out, manifest) == []
    assert outcome.skipped == len(finished_before)
    assert not set(sim.stats()["pos"]) & finished_before, "finished POs were fetched again"


def test_sequential_ctrl_c_once_finishes_the_po_in_flight(
    sim: SimulatorServer,
    make_settings: Any,
    tmp_path: Path,
    slow_knobs: Callable[..., None],
) -> None:
    manifest = sim.manifest()
    settings = make_settings()
    input_path = write_input(tmp_path / "in.csv", list(manifest["pos"]))
    argv = [a for a in command(sim, settings, input_path) if a not in ("--workers", "2")]
    started = time.time()
    term = Terminal([*argv, "--sequential"], tmp_path)
    term.wait_for(lambda t: (progress_count(t) or 0) >= 1 and "coupadl run: sequential" in t)
    # Every PO page from here on is slow, so a PO is on its page when the Ctrl+C lands:
    # the held one, or (if that one finished first) the next, equally slow.
    held = hold_next_po(sim, term, latency=5.0)

    term.child.sendintr()  # once only
    term.wait_for(lambda t: "finishing current POs" in t, timeout=120)
    code = term.finish(timeout=120)

    assert code == ExitCode.INTERRUPTED, term.text()
    # The PO in flight was finished (its browser did not die with the Ctrl+C), and
    # nothing after it was started: every PO the server was asked for is finished.
    finished = _finished(settings.out)
    assert held in finished, term.text()
    assert set(requested_since(sim, started)) == finished, term.text()
    assert len(finished) == progress_count(term.text()), term.text()
    assert len(finished) < len(manifest["pos"]), term.text()


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _finished(out: Path) -> set[str]:
    from coupadl.state.store import RunState

    with RunState(out) as state:
        return state.done_pos()


def run_piped(
    sim: SimulatorServer, settings: Any, input_path: Path, *extra: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """The command with its output going to pipes, as under CI or a scheduled task."""
    return subprocess.run(
        command(sim, settings, input_path, *extra),
        capture_output=True,
        text=True,
        timeout=240,
        env={**child_env(), **env},
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_without_a_terminal_one_line_per_po_and_summary_lines(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    settings = make_settings(workers=2)
    input_path = write_input(tmp_path / "in.csv", list(manifest["pos"]))

    done = run_piped(sim, settings, input_path, COUPA_STATUS_INTERVAL="0.5")

    assert done.returncode == ExitCode.OK, done.stderr
    log = done.stderr
    assert "\x1b" not in log, "terminal control codes in piped output"
    po_lines = re.findall(rf"^.* INFO PO(\d+) ({STATUSES})\b.*$", log, re.MULTILINE)
    assert sorted(po for po, _ in po_lines) == sorted(manifest["pos"]), log
    assert {po: status for po, status in po_lines} == {
        po: truth["status"] for po, truth in manifest["pos"].items()
    }
    summaries = re.findall(r"progress: (\d+)/8 POs done .* POs/min, ETA [\d:?]+", log)
    assert summaries, log
    assert summaries[-1] == "8"  # the line at the end


def test_json_log_has_one_parsable_line_per_result_and_event_without_secrets(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    creds = manifest["credentials"]
    settings = make_settings(workers=2)
    input_path = write_input(tmp_path / "in.csv", list(manifest["pos"]))
    log_path = tmp_path / "logs" / "run.jsonl"

    done = run_piped(
        sim, settings, input_path, "--log-format", "json", "--log-file", str(log_path),
        COUPA_USERNAME=creds["email"], COUPA_PASSWORD=creds["password"],
    )  # fmt: skip

    assert done.returncode == ExitCode.OK, done.stderr
    text = log_path.read_text(encoding="utf-8")
    events = [json.loads(line) for line in text.splitlines()]  # every line parses
    for event in events:
        assert set(event) == set(COMMON_KEYS) | set(EVENT_KEYS[event["event"]]), event
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    results = {e["po"]: e for e in events if e["event"] == "po_result"}
    assert {po: e["status"] for po, e in results.items()} == {
        po: truth["status"] for po, truth in manifest["pos"].items()
    }
    assert len(results) == kinds.count("po_result")  # one line per PO
    for po, truth in manifest["pos"].items():
        assert sorted(f["name"] for f in results[po]["files"]) == sorted(
            f["name"] for f in truth["files"]
        )
    pool_events = [e for e in events if e["event"] == "pool_event"]
    assert any(e["kind"] == "worker_started" for e in pool_events)
    assert events[-1]["exit_code"] == 0 and events[-1]["done"] == 8
    # No secret: not the password, not any session cookie the simulator handed out.
    assert creds["password"] not in text
    nonces = list(sim.state.sessions._requests)
    assert nonces and not [n for n in nonces if n in text]
