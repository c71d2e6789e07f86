"""The dashboard, the plain progress line and the JSON event log, from plain data: what a
person (or a log shipper) would read, rendered on a recording console of fixed width."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from rich.console import Console

from coupadl.cli.dashboard import SystemLoad, render_dashboard
from coupadl.cli.plainlog import format_duration, summary_line
from coupadl.execution.progress import Phase, RunEvent, RunProgress, RunSnapshot, WorkerRow
from coupadl.execution.traffic import Traffic
from coupadl.models import AttachmentSource, FileResult, POResult, Status
from coupadl.observability.jsonlog import COMMON_KEYS, EVENT_KEYS, REDACTED, JsonRunLog, redact

LOAD = SystemLoad(cpu_percent=37.0, memory_percent=61.0, run_memory_mb=812.0)


def snapshot(**changes: object) -> RunSnapshot:
    values: dict[str, object] = {
        "phase": Phase.RUNNING,
        "mode": "pool",
        "workers_target": 2,
        "total": 8,
        "skipped": 0,
        "by_status": {"COMPLETED": 2, "NO_ATTACHMENTS": 1},
        "workers": (
            WorkerRow("worker-1", "busy", "16928033", "downloading 2 of 3", 12.0, 14.0),
            WorkerRow("worker-2", "busy", "16928040", "navigating", 0.4, 0.4),
        ),
        "events": (),
        "elapsed": 95.0,
        "rate_per_minute": 2.5,
        "memory_mb": 812.0,
    }
    values.update(changes)
    return RunSnapshot(**values)  # type: ignore[arg-type]


def screen(snap: RunSnapshot, width: int = 100) -> str:
    console = Console(record=True, width=width, color_system=None)
    console.print(render_dashboard(snap, LOAD))
    return console.export_text()


def test_running_dashboard_shows_progress_workers_counts_and_load() -> None:
    text = screen(snapshot())
    assert "coupadl run: pool, 2 browser(s)" in text
    assert re.search(r"3/8 POs\s+38%\s+2\.5 POs/min\s+ETA 2:00\s+1:35 elapsed", text)
    assert re.search(r"worker-1\s+PO16928033\s+downloading 2 of 3 \(0:12\)\s+0:14", text)
    assert re.search(r"worker-2\s+PO16928040\s+navigating\s+0:00", text)
    assert re.search(r"COMPLETED 2\s+NO_ATTACHMENTS 1\s+pending 5", text)
    assert "CPU 37%" in text and "812 MB for this run" in text and "61% of RAM" in text
    assert "no restarts, retries or pauses" in text
    assert "Ctrl+C" not in text


def test_idle_and_restarting_workers_say_so_in_words() -> None:
    workers = (WorkerRow("worker-1", "idle"), WorkerRow("worker-2", "backoff"))
    text = screen(snapshot(workers=workers))
    assert re.search(r"worker-1\s+-\s+idle", text)
    assert re.search(r"worker-2\s+-\s+restarting", text)


def test_every_state_of_a_worker_without_a_po_has_words() -> None:
    from coupadl.cli.dashboard import IDLE_WORDS
    from coupadl.execution.status import WorkerState

    assert {state.value for state in WorkerState} - {"busy"} <= set(IDLE_WORDS)
    workers = (
        WorkerRow("worker-1", WorkerState.WAITING_SESSION.value),
        WorkerRow("worker-2", WorkerState.EXPORTING_SESSION.value),
    )
    text = screen(snapshot(workers=workers))
    assert re.search(r"worker-1\s+-\s+waiting for a session", text)
    assert re.search(r"worker-2\s+-\s+sharing its session", text)


def test_notable_events_are_listed_newest_last_and_first_starts_are_not() -> None:
    events = (
        RunEvent("worker_started", "worker-1 ready (pid 1)", data={"first_start": True}),
        RunEvent("retry_scheduled", "PO 111 attempt 1 ended TIMEOUT; retry in 2.0 s"),
        RunEvent("worker_restarted", "worker-2 lost its browser; restart 1 in 2.0 s"),
        RunEvent("paused_for_auth", "Coupa asked to sign in while processing PO 222"),
    )
    text = screen(snapshot(events=events))
    assert "worker-1 ready" not in text
    lines = [line for line in text.splitlines() if re.search(r"\d\d:\d\d:\d\d", line)]
    assert ["retry in 2.0 s" in lines[0], "restart 1" in lines[1], "sign in" in lines[2]] == [
        True,
        True,
        True,
    ]


def test_ctrl_c_banners() -> None:
    assert "finishing current POs... (press Ctrl+C again to abort)" in screen(
        snapshot(phase=Phase.FINISHING)
    )
    assert "aborting" in screen(snapshot(phase=Phase.ABORTING))
    assert "Coupa asks to sign in again" in screen(snapshot(paused_for_auth=True))


def test_narrow_terminal_keeps_the_counts_and_cuts_long_stages() -> None:
    long_stage = "downloading 1 of 2 " + "x" * 200
    workers = (WorkerRow("worker-1", "busy", "16928033", long_stage, 1.0, 2.0),)
    text = screen(snapshot(workers=workers), width=60)
    assert all(len(line) <= 60 for line in text.splitlines())
    assert "3/8" in text and "worker-1" in text


def test_done_run_with_nothing_to_do() -> None:
    text = screen(snapshot(phase=Phase.DONE, total=0, by_status={}, workers=(), skipped=5))
    assert "0/0 POs" in text and "finished earlier 5" in text and "done" in text


def test_plain_summary_line() -> None:
    line = summary_line(snapshot(skipped=4, phase=Phase.FINISHING))
    assert line == (
        "progress: 3/8 POs done (COMPLETED 2, NO_ATTACHMENTS 1), 5 left, 2.5 POs/min, "
        "ETA 2:00, elapsed 1:35, 4 finished earlier, finishing"
    )
    assert format_duration(3723) == "1:02:03" and format_duration(None) == "?"


def test_redaction_masks_secret_keys_and_scrubs_the_password() -> None:
    value = {
        "message": "signing in as buyer@example.com with hunter2-pass",
        "data": {"cookies": 3, "session_cookie": "abc123", "auth_token": ["t"], "n": 1},
        "nested": [{"Password": "x"}],
    }
    assert redact(value, ["hunter2-pass"]) == {
        "message": f"signing in as buyer@example.com with {REDACTED}",
        "data": {"cookies": 3, "session_cookie": REDACTED, "auth_token": REDACTED, "n": 1},
        "nested": [{"Password": REDACTED}],
    }


def test_json_log_lines_parse_and_have_stable_keys(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "run.jsonl"
    progress = RunProgress()
    json_log = JsonRunLog(
        path, progress, input_path=Path("in.csv"), out=tmp_path, secrets=["s3cret-pw"]
    )
    logger = logging.getLogger("coupadl.test_jsonlog")
    logging.getLogger().addHandler(json_log.handler)
    try:
        progress.run_started(total=2, skipped=0, mode="pool", workers=2)
        files = [FileResult("Quote.pdf", 12, "ab" * 32, AttachmentSource.HEADER)]
        progress.po_finished(
            POResult("1", Status.COMPLETED, files=files, attachments_found=1, worker="worker-1")
        )
        progress.event(RunEvent("cookies_shared", "shared", data={"cookies": 2}))
        logger.warning("password s3cret-pw leaked into a message")
        logger.info("info records stay out of the JSON log")
        progress.run_finished(0)
    finally:
        logging.getLogger().removeHandler(json_log.handler)
        json_log.close()

    lines = path.read_text(encoding="utf-8").splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event"] for e in events] == [
        "run_started", "po_result", "pool_event", "log", "run_finished"
    ]  # fmt: skip
    for event in events:
        assert set(event) == set(COMMON_KEYS) | set(EVENT_KEYS[event["event"]])
        assert event["run_id"] == json_log.run_id
    assert events[1]["files"] == [
        {"name": "Quote.pdf", "size": 12, "sha256": "ab" * 32, "source": "header"}
    ]
    assert (events[1]["done"], events[1]["total"], events[1]["level"]) == (1, 2, "info")
    assert events[2]["data"] == {"cookies": 2}
    assert "s3cret-pw" not in path.read_text(encoding="utf-8")
    assert events[4]["exit_code"] == 0 and events[4]["phase"] == "done"


def test_json_log_needs_a_file(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from coupadl.cli.app import app

    root = logging.getLogger()
    handlers = root.handlers[:]
    try:
        result = CliRunner().invoke(
            app,
            ["run", str(tmp_path / "in.csv"), "--base-url", "http://127.0.0.1:9",
             "--log-format", "json"],
        )  # fmt: skip
    finally:
        root.handlers[:] = handlers  # the command pointed logging at CliRunner's streams
    assert result.exit_code == 2
    assert "--log-format json writes to a file: add --log-file PATH" in result.output


def test_http_dashboard_shows_the_pos_in_flight_and_the_traffic_against_the_limit() -> None:
    traffic = Traffic(
        requests_per_second=18.4, limit_rps=20.0, responses_429=3,
        bytes_per_second=3.5 * 1024 * 1024, in_flight_limit=8,
    )  # fmt: skip
    rows = (
        WorkerRow("h1", "busy", "16928033", "downloading 1 of 2", 0.5, 0.9),
        WorkerRow("h2", "idle"),  # a thread with no PO: not a row over HTTP
        WorkerRow("h3", "busy", "16928041", "navigating", 2.0, 2.0),
    )
    text = screen(snapshot(mode="http", workers_target=16, workers=rows, traffic=traffic))
    assert "coupadl run: http, up to 16 PO(s) at once over HTTP" in text
    assert re.search(r"in flight\s+PO\s+stage", text)
    # The PO in flight longest first; idle threads are not shown.
    assert text.index("PO16928041") < text.index("PO16928033")
    assert "h2" not in text
    assert re.search(r"requests 18\.4/s \(limit 20\)\s+429s 3\s+files 3\.5 MB/s", text)
    assert "in flight at most 8" in text


def test_a_browser_run_shows_no_traffic_line() -> None:
    assert "requests " not in screen(snapshot())
