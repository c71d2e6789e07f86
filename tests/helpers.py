"""Small helpers shared by test modules (importable: tests/ is on pythonpath)."""

from __future__ import annotations

import re
import signal
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from coupadl.execution.pool import reaper


def write_input(path: Path, po_numbers: list[str], header: str = "PO_NUMBER") -> Path:
    path.write_text(
        header + "\n" + "\n".join(f"PO{n}" for n in po_numbers) + "\n", encoding="utf-8"
    )
    return path


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    """Poll ``condition`` until it holds; fail (AssertionError naming ``what``) when
    ``timeout`` passes first. For waits on events, instead of sleeps."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not seen within {timeout:g} s: {what}")
        time.sleep(0.02)


def default_sigint() -> None:
    """``preexec_fn`` for a child that must see Ctrl+C as in a person's terminal. A test
    run started in the background (``cmd &`` from a script, as CI may do) has SIGINT
    ignored, and a child inherits that: coupadl then rightly leaves Ctrl+C alone."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


# Set in the test process, so every process a run starts (workers, drivers, browsers)
# inherits it: leftovers of THIS test are found even after they were re-parented, and
# other people's browsers on a shared machine are never mistaken for ours.
PROCESS_TAG_ENV = "COUPADL_TEST_PROCESS_TAG"


def tagged_processes(tag: str) -> list[psutil.Process]:
    """Live processes (this one excepted) whose environment carries ``tag``."""
    return reaper.tagged_processes(PROCESS_TAG_ENV, tag)


def leftover_processes(tag: str, timeout: float = 10.0) -> list[str]:
    """``tagged_processes`` still alive after ``timeout``, described for a failure message."""
    deadline = time.monotonic() + timeout
    while (left := tagged_processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    described = []
    for proc in left:
        try:
            described.append(f"{proc.pid} {proc.name()} ({proc.status()})")
        except psutil.Error:
            continue
    return described


def cache_formula_values(path: Path, values: dict[str, str]) -> None:
    """Give formula cells the value Excel would have cached when saving the file.

    openpyxl writes formulas with an empty ``<v/>``; Excel writes the last result there.
    """
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    xml = parts["xl/worksheets/sheet1.xml"].decode()
    for ref, value in values.items():
        xml, n = re.subn(
            rf'<c r="{ref}"><f>(.*?)</f>(?:<v\s*/>|<v></v>)</c>',
            lambda m, v=value, r=ref: f'<c r="{r}" t="str"><f>{m.group(1)}</f><v>{v}</v></c>',
            xml,
        )
        assert n == 1, ref
    parts["xl/worksheets/sheet1.xml"] = xml.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)


class ManualClock:
    """A clock that moves only when a test sets ``now``: for time arithmetic without
    waiting."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def record_session_tokens(server: Any) -> list[str]:
    """Make ``server`` (a SimulatorServer) keep every session token it hands out, for a
    secrets check; returns the list it fills (also ``server.issued``)."""
    sessions = server.state.sessions
    issue = sessions.issue
    issued: list[str] = []

    def recording_issue() -> str:
        token = issue()
        issued.append(token)
        return str(token)

    sessions.issue = recording_issue
    server.issued = issued
    return issued


def record_api_tokens(server: Any) -> list[str]:
    """Make ``server`` (a SimulatorServer) keep every REST API token it grants, for a
    secrets check; returns the list it fills (also ``server.api_issued``)."""
    tokens = server.app.state.api.tokens
    grant = tokens.grant
    issued: list[str] = []

    def recording_grant(*args: Any, **kwargs: Any) -> Any:
        answer = grant(*args, **kwargs)
        issued.append(answer.token)
        return answer

    tokens.grant = recording_grant
    server.api_issued = issued
    return issued
