"""The CI skip rule (tests/skiprule.py), in a real pytest run of a small test file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, reason: str, *, ci: bool) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n"
        "def test_runs():\n    pass\n\n"
        f"def test_skips():\n    pytest.skip({reason!r})\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "COUPADL_CI"}
    if ci:
        env["COUPADL_CI"] = "1"
    env["PYTHONPATH"] = str(TESTS)
    command = [sys.executable, "-m", "pytest", "-p", "skiprule", "-p", "no:cacheprovider",
               "-q", "-c", os.devnull, str(tmp_path / "test_sample.py")]  # fmt: skip
    return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)


def test_in_ci_an_unlisted_skip_fails_the_run_and_is_named(tmp_path: Path) -> None:
    run = _run(tmp_path, "needs a tool nobody installed", ci=True)
    assert run.returncode == pytest.ExitCode.TESTS_FAILED, run.stdout
    assert "skips not allowed in CI" in run.stdout
    assert "test_sample.py::test_skips: needs a tool nobody installed" in run.stdout


def test_in_ci_a_listed_skip_passes(tmp_path: Path) -> None:
    run = _run(tmp_path, "POSIX permission bits", ci=True)
    assert run.returncode == pytest.ExitCode.OK, run.stdout


def test_outside_ci_any_skip_passes(tmp_path: Path) -> None:
    run = _run(tmp_path, "needs a tool nobody installed", ci=False)
    assert run.returncode == pytest.ExitCode.OK, run.stdout
