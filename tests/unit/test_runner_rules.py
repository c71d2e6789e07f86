"""Run-level decisions that need no browser: exit codes, retry delays, the output lock."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from coupadl.errors import ExitCode, OutputError
from coupadl.reports.outcome import exit_code_for
from coupadl.runs.batch import output_lock
from coupadl.runs.executors import resolve_workers
from coupadl.settings import load_settings


def test_exit_codes() -> None:
    assert exit_code_for(Counter({"COMPLETED": 3, "PO_NOT_FOUND": 1}), [], False) is ExitCode.OK
    assert exit_code_for(Counter({"COMPLETED": 3, "PARTIAL": 1}), [], False) is ExitCode.INCOMPLETE
    assert exit_code_for(Counter({"COMPLETED": 3}), ["1"], False) is ExitCode.INCOMPLETE
    assert exit_code_for(Counter({"AUTH_REQUIRED": 1}), ["1"], True) is ExitCode.AUTH_REQUIRED


def test_second_run_on_the_same_output_is_refused(tmp_path: Path) -> None:
    with (
        output_lock(tmp_path),
        pytest.raises(OutputError, match="Another coupadl run"),
        output_lock(tmp_path),
    ):
        pass
    with output_lock(tmp_path):  # released after the first run ends
        pass


def test_resolve_workers() -> None:
    assert resolve_workers(load_settings({"workers": 4}), 1) == 1
    assert resolve_workers(load_settings({"workers": 4}), 2) == 2
    assert resolve_workers(load_settings({"workers": 4, "enable_parallel": False}), 9) == 1
    assert resolve_workers(load_settings({"workers": 3, "use_persistent_pool": False}), 9) == 1
    assert resolve_workers(load_settings({"workers": 3}), 9) == 3
