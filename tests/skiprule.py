"""In CI a skipped test fails the run, unless its reason is on the allow-list.

A skip hides what it skips: outside CI that is a fair answer to a missing tool, in CI it
would let a broken set-up pass. ``COUPADL_CI=1`` (set by ``.ci/run``) turns every skip
whose reason matches no line of ``tests/skip-allowlist.txt`` into a failed session.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ALLOWLIST = Path(__file__).with_name("skip-allowlist.txt")
_unexpected: list[tuple[str, str]] = []


def allowed_reasons(path: Path = ALLOWLIST) -> list[str]:
    """The allow-list's reasons: one per line, blank lines and ``#`` comments aside."""
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def skip_reason(report: pytest.TestReport) -> str:
    """The reason pytest gives for a skip (its long representation's message)."""
    if isinstance(report.longrepr, tuple):
        return str(report.longrepr[2]).removeprefix("Skipped: ")
    return str(report.longrepr)


def unexpected_skip(reason: str, allowed: list[str]) -> bool:
    return not any(entry in reason for entry in allowed)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if os.environ.get("COUPADL_CI") != "1" or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = skip_reason(report)
    if unexpected_skip(reason, allowed_reasons()):
        _unexpected.append((report.nodeid, reason))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _unexpected:
        terminalreporter.section("skips not allowed in CI (tests/skip-allowlist.txt)")
        for nodeid, reason in _unexpected:
            terminalreporter.line(f"{nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _unexpected and exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
