"""The output disk fills up or turns read-only in the middle of a run: the run stops
with a clear error (exit code 6), no PO is marked done without its files, and the same
command finishes the job once the disk is fixed.

A small tmpfs is the output disk; mounting needs root (CI runs as root), else skip.
The disk changes from inside ``on_result``, after the second PO is recorded, so the
moment is the same on a fast or a slow machine.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from coupadl.errors import ExitCode, OutputUnavailableError
from coupadl.models import POResult
from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from coupadl.state.store import RunState
from helpers import write_input

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def _mount(args: list[str]) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MB tmpfs mounted at a path with a space and non-ASCII characters."""
    point = tmp_path / "sortie commandes é"
    point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs as the output disk needs root")
    try:
        _mount(["-t", "tmpfs", "-o", "size=64m", "tmpfs", str(point)])
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    try:
        yield point
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _mount(["-o", "remount,rw", str(point)])
        subprocess.run(["umount", "-l", str(point)], check=False)


def _after(count: int, action: Callable[[], None]) -> Callable[[POResult], None]:
    seen: list[POResult] = []

    def on_result(result: POResult) -> None:
        seen.append(result)
        if len(seen) == count:
            action()

    return on_result


def _fill(point: Path) -> None:
    """Leave the disk with (almost) no free block."""
    with (point / "filler.bin").open("wb", buffering=0) as handle:
        chunk = b"\0" * (1 << 20)
        with contextlib.suppress(OSError):
            while True:
                handle.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                handle.write(b"\0" * 4096)


def _done_pos_have_their_files(out: Path, manifest: dict[str, Any]) -> list[str]:
    problems = []
    with RunState(out) as state:
        for po in state.done_pos():
            for expected in manifest["pos"][po]["files"]:
                result = state.get(po)
                assert result is not None and result.folder is not None
                path = result.folder / expected["name"]
                if not path.is_file():
                    problems.append(f"PO{po}: {expected['name']} missing")
                elif hashlib.sha256(path.read_bytes()).hexdigest() != expected["sha256"]:
                    problems.append(f"PO{po}: {expected['name']} differs")
    return problems


def _pos_with_files(manifest: dict[str, Any]) -> list[str]:
    return sorted(po for po, truth in manifest["pos"].items() if truth["files"])


@pytest.mark.parametrize("workers", [1, 2])
def test_disk_full_mid_run_stops_cleanly_then_resumes(
    sim: Any, make_settings: Any, disk: Path, tmp_path: Path, workers: int
) -> None:
    manifest = sim.manifest()
    pos = _pos_with_files(manifest)[:8]
    input_path = write_input(tmp_path / "in.csv", pos)
    out = disk / "out"
    settings = make_settings(out=out, workers=workers, download_stall_timeout=5)

    with pytest.raises(OutputUnavailableError) as raised:
        run_batch(input_path, settings, on_result=_after(2, lambda: _fill(disk)))

    assert raised.value.code == "E_DISK_FULL"
    assert raised.value.exit_code is ExitCode.OUTPUT_UNAVAILABLE
    assert "still pending" in raised.value.message
    (disk / "filler.bin").unlink()
    assert _done_pos_have_their_files(out, manifest) == []
    with RunState(out) as state:
        assert len(state.done_pos()) < len(pos), "the run went on as if the disk were fine"

    outcome = run_batch(input_path, settings)

    assert outcome.exit_code is ExitCode.OK
    assert compare_with_manifest(out, manifest, pos) == []


def test_read_only_output_gives_a_clear_error_and_loses_nothing(
    sim: Any, make_settings: Any, disk: Path, tmp_path: Path
) -> None:
    # Read-only between two runs: Linux refuses to remount a disk read-only while files
    # on it are open for writing, as the run state is during a run. Mid-run, the same
    # errno (EROFS) takes the path the disk-full test above goes through.
    manifest = sim.manifest()
    pos = _pos_with_files(manifest)[:5]
    input_path = write_input(tmp_path / "in.csv", pos)
    out = disk / "out"
    run_batch(input_path, make_settings(out=out, workers=1, limit=2))
    before = sorted(str(p) for p in out.rglob("*"))
    _mount(["-o", "remount,ro", str(disk)])

    with pytest.raises(OutputUnavailableError) as raised:
        run_batch(input_path, make_settings(out=out, workers=1))

    assert raised.value.code == "E_OUTPUT_READ_ONLY"
    assert raised.value.exit_code is ExitCode.OUTPUT_UNAVAILABLE
    assert "writable" in raised.value.message
    _mount(["-o", "remount,rw", str(disk)])
    assert sorted(str(p) for p in out.rglob("*")) == before
    assert _done_pos_have_their_files(out, manifest) == []

    outcome = run_batch(input_path, make_settings(out=out, workers=1))

    assert outcome.exit_code is ExitCode.OK
    assert outcome.skipped == 2
    assert compare_with_manifest(out, manifest, pos) == []
