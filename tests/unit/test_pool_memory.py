"""The pool's memory monitor: trees from one process-table pass, PSS read only now and then."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import psutil
import pytest

from coupadl.execution.pool import monitor
from coupadl.execution.pool.monitor import MemoryMonitor
from coupadl.execution.pool.proctree import ProcessTable

SLEEPER = "import time; time.sleep(60)"


@pytest.fixture
def family() -> Iterator[tuple[int, int]]:
    """A real parent process with a child of its own: (parent pid, child pid)."""
    spawn_child = (
        f"import subprocess, sys, time; p = subprocess.Popen([sys.executable, '-c', {SLEEPER!r}]);"
        " print(p.pid, flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", spawn_child], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    yield parent.pid, child
    for pid in (child, parent.pid):
        try:
            psutil.Process(pid).kill()
        except psutil.NoSuchProcess:
            continue
    parent.wait()


def test_a_tree_holds_the_roots_and_their_descendants_once(family: tuple[int, int]) -> None:
    parent, child = family
    table = ProcessTable()

    tree = table.tree([parent, child, 2**22 + 12345])  # the last pid does not exist

    assert sorted(p.pid for p in tree) == sorted([parent, child])


class CountingMeasure:
    """Stands in for TreeMemory: an exact reading of 1,000 bytes per process, counted."""

    def __init__(self) -> None:
        self.exact_readings = 0

    def of_processes(self, procs: list[psutil.Process]) -> int:
        self.exact_readings += 1
        return 1000 * len(procs)


def test_pss_is_read_every_nth_sample_and_scaled_from_rss_between(
    family: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    parent, _child = family
    rss = {"bytes": 4000}
    monkeypatch.setattr(monitor, "rss_of", lambda procs: rss["bytes"])
    stored: list[dict[str, int]] = []
    memory = MemoryMonitor(lambda: {"worker-1": [parent]}, stored.append, exact_every=3)
    measure = CountingMeasure()
    memory.measure = measure  # type: ignore[assignment]

    assert memory.sample_once() == {"worker-1": 2000}  # exact: 2 processes; ratio 0.5
    rss["bytes"] = 6000
    assert memory.sample_once() == {"worker-1": 3000}  # estimated: 6000 x 0.5
    assert memory.sample_once() == {"worker-1": 3000}
    assert measure.exact_readings == 1
    assert memory.sample_once() == {"worker-1": 2000}  # the 3rd sample after: exact again
    assert measure.exact_readings == 2
    assert stored[-1] == {"worker-1": 2000}


def test_a_changed_tree_is_read_exactly_at_once(
    family: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restarted browser or a new tab's renderer changes the tree: the old ratio no
    longer applies, so the next sample reads PSS at once."""
    parent, child = family
    monkeypatch.setattr(monitor, "rss_of", lambda procs: 4000)
    roots = {"worker-1": [child]}
    memory = MemoryMonitor(lambda: roots, lambda usage: None, exact_every=100)
    measure = CountingMeasure()
    memory.measure = measure  # type: ignore[assignment]
    assert memory.sample_once() == {"worker-1": 1000}
    assert memory.sample_once() == {"worker-1": 1000}  # same tree: scaled, not read
    assert measure.exact_readings == 1

    roots["worker-1"] = [parent]  # now two processes
    usage = memory.sample_once()

    assert measure.exact_readings == 2
    assert usage == {"worker-1": 2000}
