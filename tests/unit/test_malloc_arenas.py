"""The malloc arena cap: set on glibc Linux, left to the user when they chose one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from coupadl.execution.malloc import cap_malloc_arenas

# A child process, so that the cap does not stay on the test run's own process.
_CHILD = "from coupadl.execution.malloc import cap_malloc_arenas; print(cap_malloc_arenas())"


def _child(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_the_cap_is_set_on_glibc_and_a_users_setting_wins() -> None:

    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _child(env) == "True"
    assert _child({**env, "MALLOC_ARENA_MAX": "8"}) == "False"


def test_other_systems_are_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cap_malloc_arenas() is False
