"""The live terminal dashboard of ``coupadl run``.

:func:`render_dashboard` turns plain data (a :class:`RunSnapshot` and a
:class:`SystemLoad`) into a rich renderable, so it is tested without a run.
:class:`Dashboard` shows it in a ``rich.live.Live`` on the CLI's console: log lines printed
to that console (the RichHandler) appear above the live area, never through it, and the
area is redrawn a few times a second, not at every event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType

import psutil
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from coupadl.cli.plainlog import format_duration
from coupadl.execution.progress import Phase, RunEvent, RunProgress, RunSnapshot, WorkerRow
from coupadl.reports.outcome import workers_phrase

log = logging.getLogger(__name__)

REFRESH_PER_SECOND = 4
# Columns left free right of the live area. The terminal echoes a typed Ctrl+C as "^C"
# where the cursor is, at the end of the area's last line: were that line full width,
# the echo would wrap to a new line, and every later redraw would start one line too
# low, leaving a stale top border behind each time.
RIGHT_MARGIN = 3
EVENTS_SHOWN = 4
MEMORY_EVERY = 2.0  # seconds between two measurements of the run's process tree
MB = 1024 * 1024

STATUS_STYLES = {
    "COMPLETED": "green",
    "NO_ATTACHMENTS": "cyan",
    "PO_NOT_FOUND": "yellow",
    "ACCESS_DENIED": "yellow",
    "PARTIAL": "red",
    "FAILED": "bold red",
    "TIMEOUT": "red",
    "AUTH_REQUIRED": "magenta",
}
# What a worker without a PO is doing, in words.
IDLE_WORDS = {
    "starting": "starting browser",
    "waiting_session": "waiting for a session",
    "idle": "idle",
    "exporting_session": "sharing its session",
    "backoff": "restarting",
    "stopping": "stopping",
    "retired": "retired (memory)",
    "stopped": "stopped",
    "failed": "given up",
}
BANNERS = {
    Phase.STARTING: ("starting...", "dim"),
    Phase.FINISHING: (
        "Ctrl+C: finishing current POs... (press Ctrl+C again to abort)",
        "bold yellow",
    ),
    Phase.ABORTING: ("Ctrl+C again: aborting, closing every browser...", "bold red"),
    Phase.DONE: ("done", "green"),
    Phase.INTERRUPTED: ("interrupted: re-run the same command to resume", "bold yellow"),
}


@dataclass(frozen=True)
class SystemLoad:
    cpu_percent: float  # the whole machine
    memory_percent: float  # of the machine's RAM in use
    run_memory_mb: float | None  # this run's processes (browsers included), when known


class SystemSampler:
    """CPU and memory for the dashboard (psutil). The run's own memory is measured at
    most every ``MEMORY_EVERY`` seconds: a redraw must stay cheap."""

    def __init__(self) -> None:
        psutil.cpu_percent(interval=None)  # the first reading only starts the count
        self._run_mb: float | None = None
        self._measured = 0.0

    def sample(self, snapshot: RunSnapshot) -> SystemLoad:
        run_mb = snapshot.memory_mb  # the pool measures its browsers itself
        if run_mb is None:
            now = time.monotonic()
            if now - self._measured >= MEMORY_EVERY:
                self._measured = now
                self._run_mb = _tree_bytes(psutil.Process()) / MB
            run_mb = self._run_mb
        return SystemLoad(
            cpu_percent=psutil.cpu_percent(interval=None),
            memory_percent=psutil.virtual_memory().percent,
            run_memory_mb=run_mb,
        )


def _tree_bytes(root: psutil.Process) -> int:
    """Memory of ``root`` and its descendants (the browser): PSS where the platform has
    it (Chromium's processes share much; RSS would count that once per process), else
    RSS. Processes that vanish or refuse count as nothing."""
    total = 0
    try:
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return 0
    for proc in procs:
        try:
            info = proc.memory_full_info()
            total += int(getattr(info, "pss", info.rss))
        except psutil.AccessDenied:
            try:
                total += int(proc.memory_info().rss)
            except psutil.Error:
                continue
        except psutil.Error:
            continue
    return total


def _header(snapshot: RunSnapshot) -> Table:
    total = max(snapshot.total, 1)
    done = min(snapshot.done, total)
    percent = 100.0 * snapshot.done / snapshot.total if snapshot.total else 100.0
    eta = snapshot.eta_seconds if snapshot.remaining else 0.0
    grid = Table.grid(padding=(0, 1))
    grid.add_column(ratio=1)
    grid.add_column(no_wrap=True)
    figures = Text.assemble(
        (f"{snapshot.done}/{snapshot.total}", "bold"),
        f" POs  {percent:3.0f}%  ",
        f"{snapshot.rate_per_minute:.1f} POs/min  ",
        f"ETA {format_duration(eta)}  ",
        (f"{format_duration(snapshot.elapsed)} elapsed", "dim"),
    )
    grid.add_row(ProgressBar(total=total, completed=done), figures)
    return grid


def _stage_cell(row: WorkerRow) -> Text:
    if row.po_number is None:
        return Text(IDLE_WORDS.get(row.state, row.state), style="dim")
    stage = row.stage or "dispatched"
    text = Text(stage)
    if row.stage_seconds >= 10:  # a stage that lasts is worth seeing
        text.append(f" ({format_duration(row.stage_seconds)})", style="dim")
    return text


def _workers(snapshot: RunSnapshot) -> Table:
    # The stage takes what the other columns leave, and is cut first on a narrow terminal.
    table = Table(box=None, padding=(0, 2, 0, 0), show_edge=False, expand=True)
    # Over HTTP the workers are cheap threads: what matters is the POs in flight.
    in_flight = snapshot.mode in ("http", "api")
    table.add_column("in flight" if in_flight else "worker", no_wrap=True, style="bold")
    table.add_column("PO", no_wrap=True)
    table.add_column("stage", no_wrap=True, overflow="ellipsis", ratio=1)
    table.add_column("elapsed", justify="right", no_wrap=True)
    rows = [r for r in snapshot.workers if r.po_number is not None or not in_flight]
    for row in sorted(rows, key=lambda r: -r.po_seconds) if in_flight else rows:
        busy = row.po_number is not None
        table.add_row(
            row.worker_id,
            f"PO{row.po_number}" if busy else "-",
            _stage_cell(row),
            format_duration(row.po_seconds) if busy else "",
        )
    if not rows:
        over = snapshot.phase in (Phase.DONE, Phase.INTERRUPTED)
        words = "browsers closed" if over else "no browser yet"
        if in_flight:
            words = "none" if over else "none yet"
        table.add_row("-", "-", Text(words, style="dim"), "")
    return table


def _traffic(snapshot: RunSnapshot) -> Text | None:
    """The http engine's requests against the limit, 429s and bytes per second."""
    traffic = snapshot.traffic
    if traffic is None:
        return None
    limit = f" (limit {traffic.limit_rps:g})" if traffic.limit_rps else " (no limit)"
    text = Text.assemble(
        ("requests ", "dim"), f"{traffic.requests_per_second:.1f}/s{limit}",
        ("   429s ", "dim"), (f"{traffic.responses_429}", "bold"),
        ("   files ", "dim"), f"{traffic.bytes_per_second / MB:.1f} MB/s",
    )  # fmt: skip
    if traffic.in_flight_limit is not None:
        text.append("   in flight at most ", style="dim")
        text.append(f"{traffic.in_flight_limit}")
    return text


def _counts(snapshot: RunSnapshot) -> Text:
    text = Text()
    for status, count in sorted(snapshot.by_status.items()):
        if count:
            text.append(f"{status} ", style=STATUS_STYLES.get(status, ""))
            text.append(f"{count}   ", style="bold")
    text.append("pending ", style="dim")
    text.append(f"{snapshot.remaining}", style="bold")
    if snapshot.skipped:
        text.append("   finished earlier ", style="dim")
        text.append(f"{snapshot.skipped}", style="bold")
    return text


def _load(load: SystemLoad) -> Text:
    text = Text.assemble(("CPU ", "dim"), f"{load.cpu_percent:.0f}%", ("   memory ", "dim"))
    if load.run_memory_mb is not None:
        text.append(f"{load.run_memory_mb:,.0f} MB for this run, ")
    text.append(f"{load.memory_percent:.0f}% of RAM in use")
    return text


def notable(events: tuple[RunEvent, ...]) -> list[RunEvent]:
    """Events worth a line: every one but a worker's first start."""
    return [
        e for e in events if not (e.kind == "worker_started" and e.data.get("first_start", False))
    ]


def _events(snapshot: RunSnapshot) -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True, style="dim")
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    shown = notable(snapshot.events)[-EVENTS_SHOWN:]
    for event in shown:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
        table.add_row(stamp, event.message)
    if not shown:
        table.add_row("", Text("no restarts, retries or pauses", style="dim"))
    return table


def _banner(snapshot: RunSnapshot) -> Text | None:
    if snapshot.paused_for_auth and snapshot.phase is Phase.RUNNING:
        return Text("Paused: Coupa asks to sign in again...", style="bold magenta")
    if snapshot.phase is Phase.RUNNING:
        return None
    words, style = BANNERS[snapshot.phase]
    return Text(words, style=style)


def render_dashboard(
    snapshot: RunSnapshot, load: SystemLoad, width: int | None = None
) -> RenderableType:
    """The whole dashboard for one moment of a run, ``width`` columns wide (default: the
    console's)."""
    mode = snapshot.mode or "planning"
    target = snapshot.workers_target
    browsers = f", {workers_phrase(mode, target)}" if target else ""
    parts: list[RenderableType] = [
        _header(snapshot),
        Text(""),
        _workers(snapshot),
        Text(""),
        _counts(snapshot),
        *([traffic] if (traffic := _traffic(snapshot)) is not None else []),
        _load(load),
        Text(""),
        Text("recent events", style="dim underline"),
        _events(snapshot),
    ]
    banner = _banner(snapshot)
    if banner is not None:
        parts[:0] = [banner, Text("")]
    return Panel(
        Group(*parts),
        title=f"coupadl run: {mode}{browsers}",
        title_align="left",
        border_style="blue",
        width=width,
    )


@contextmanager
def quiet_interrupt_keys(console: Console) -> Iterator[None]:
    """While the live area shows (POSIX terminals): keys typed (a Ctrl+C's "^C", an
    Enter) are not echoed into it (ECHO), and Ctrl+C does not make the terminal drop
    output it has not shown yet (NOFLSH: without it, Linux throws away what is queued,
    maybe half a redraw). Either would leave the redraws a line off, with a stale border
    above each. The modes are put back afterwards."""
    try:
        import termios
    except ImportError:  # Windows: its console does neither
        yield
        return
    try:
        fd = console.file.fileno()
        before = termios.tcgetattr(fd)
    except (AttributeError, OSError, ValueError, termios.error) as exc:
        log.debug("terminal modes left as they are: %s", exc)
        yield
        return
    changed = list(before)
    changed[3] = (changed[3] | termios.NOFLSH) & ~(termios.ECHO | termios.ECHOCTL)
    try:
        termios.tcsetattr(fd, termios.TCSANOW, changed)
    except termios.error as exc:
        log.debug("terminal modes left as they are: %s", exc)
    try:
        yield
    finally:
        try:
            termios.tcsetattr(fd, termios.TCSANOW, before)
        except termios.error as exc:
            log.debug("could not restore the terminal modes: %s", exc)


class Dashboard:
    """Shows ``monitor`` live on ``console`` while the block runs.

    A thread of its own builds each frame, then hands it to Live. Live's lock is held
    while a log line prints above the area; building a frame takes the pool's lock
    (its status); and the pool logs while holding its lock. Were frames built under
    Live's lock (``get_renderable``), those two threads could wait on each other for
    ever."""

    def __init__(self, console: Console, monitor: RunProgress) -> None:
        self.console = console
        self.monitor = monitor
        self.sampler = SystemSampler()
        self._failed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.live = Live(console=console, auto_refresh=False, transient=False)
        self._modes = quiet_interrupt_keys(console)

    def frame(self) -> RenderableType:
        """The dashboard now. It must not raise: the display would die with the thread."""
        try:
            snapshot = self.monitor.snapshot()
            width = max(20, self.console.width - RIGHT_MARGIN)
            return render_dashboard(snapshot, self.sampler.sample(snapshot), width)
        except Exception:
            if not self._failed:
                self._failed = True
                log.warning("the dashboard could not be drawn", exc_info=True)
            return Text("(no dashboard: see the warning above; the run goes on)")

    def _loop(self) -> None:
        while not self._stop.wait(1.0 / REFRESH_PER_SECOND):
            self.live.update(self.frame(), refresh=True)

    def __enter__(self) -> Dashboard:
        self._modes.__enter__()
        self.live.start()
        self.live.update(self.frame(), refresh=True)
        self._thread = threading.Thread(target=self._loop, name="coupadl-dashboard", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        # The last frame stays on screen (final counts, an interrupt's banner).
        self.live.update(self.frame(), refresh=True)
        self.live.stop()
        self._modes.__exit__(None, None, None)
