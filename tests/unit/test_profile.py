"""Profile clones, stale-clone sweeping and lock detection."""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from coupadl.engine.browser.profile import (
    MARKER_NAME,
    clear_stale_locks,
    clone_profile,
    ensure_not_locked,
    is_clone,
    new_empty_profile,
    profile_in_use,
    remove_clone,
    sweep_stale_clones,
)
from coupadl.errors import BrowserError, ProfileLockedError

posix_only = pytest.mark.skipif(os.name == "nt", reason="SingletonLock symlinks are POSIX")


def make_base(root: Path) -> Path:
    """A small Chromium-like user-data-dir."""
    base = root / "base"
    files = {
        "Local State": "{}",
        "Default/Cookies": "cookies-db",
        "Default/Network/Cookies": "cookies-db",
        "Default/Preferences": "{}",
        "Default/Local Storage/leveldb/000003.log": "ls",
        "Default/Local Storage/leveldb/LOCK": "",
        "Default/Cache/Cache_Data/data_0": "x" * 100,
        "Default/Code Cache/js/index": "x",
        "Default/Service Worker/CacheStorage/abc/index": "x",
        "Default/Service Worker/Database/000001.log": "sw",
        "Default/GPUCache/data_1": "x",
        "GrShaderCache/data_0": "x",
        "ShaderCache/data_0": "x",
        "Crashpad/reports/r.dmp": "x",
        "lockfile": "",
    }
    for rel, text in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if os.name != "nt":
        os.symlink(f"{socket.gethostname()}-{os.getpid()}", base / "SingletonLock")
        os.symlink("/tmp/nonexistent-socket", base / "SingletonSocket")
    return base


def rel_files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir()}


def test_clone_keeps_session_and_skips_locks_caches_and_crash_dumps(tmp_path: Path) -> None:
    base = make_base(tmp_path)
    clone = clone_profile(base, tmp_path / "clones")

    files = rel_files(clone)
    assert {
        "Local State",
        "Default/Cookies",
        "Default/Network/Cookies",
        "Default/Preferences",
        "Default/Local Storage/leveldb/000003.log",
        "Default/Service Worker/Database/000001.log",
        MARKER_NAME,
    } == files
    assert not (clone / "SingletonLock").is_symlink()
    assert clone.name.startswith("coupadl-clone-")
    assert (base / "Default" / "Cache" / "Cache_Data" / "data_0").exists()  # base untouched


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
def test_clone_is_private(tmp_path: Path) -> None:
    clone = clone_profile(make_base(tmp_path), tmp_path)
    assert stat.S_IMODE(clone.stat().st_mode) == 0o700


def test_concurrent_clones_are_separate(tmp_path: Path) -> None:
    base = make_base(tmp_path)
    with ThreadPoolExecutor(max_workers=4) as pool:
        clones = list(pool.map(lambda _: clone_profile(base, tmp_path / "clones"), range(8)))
    assert len(set(clones)) == 8
    assert all((c / "Default" / "Cookies").read_text() == "cookies-db" for c in clones)


def test_missing_base_profile_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BrowserError, match="coupadl login"):
        clone_profile(tmp_path / "nope", tmp_path)


def test_remove_clone_refuses_directories_it_did_not_make(tmp_path: Path) -> None:
    real = make_base(tmp_path)
    assert remove_clone(real) is False
    assert (real / "Default" / "Cookies").exists()
    clone = clone_profile(real, tmp_path / "clones")
    assert is_clone(clone)
    assert remove_clone(clone) is True
    assert not clone.exists()


def test_sweep_removes_only_clones_of_dead_owners(tmp_path: Path) -> None:
    parent = tmp_path / "clones"
    mine = new_empty_profile(parent)
    dead = clone_profile(make_base(tmp_path), parent)
    # A process that has exited owned this one.
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    marker = json.loads((dead / MARKER_NAME).read_text())
    marker.update(pid=child.pid)
    (dead / MARKER_NAME).write_text(json.dumps(marker))
    # A live pid with another start time: the pid was reused, the owner is gone.
    reused = new_empty_profile(parent)
    marker = json.loads((reused / MARKER_NAME).read_text())
    marker.update(create_time=marker["create_time"] - 1000)
    (reused / MARKER_NAME).write_text(json.dumps(marker))
    # Not ours at all.
    stranger = parent / "coupadl-clone-stranger"
    stranger.mkdir()

    assert sweep_stale_clones(parent) == 2

    assert mine.exists()
    assert stranger.exists()
    assert not dead.exists()
    assert not reused.exists()


@posix_only
def test_profile_in_use_follows_singleton_lock(tmp_path: Path) -> None:
    profile = tmp_path / "p"
    profile.mkdir()
    assert not profile_in_use(profile)

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        os.symlink(f"{socket.gethostname()}-{sleeper.pid}", profile / "SingletonLock")
        assert profile_in_use(profile)
        with pytest.raises(ProfileLockedError, match=r"(?i)close Edge/Chrome") as info:
            ensure_not_locked(profile)
        assert "coupadl login" in str(info.value)
        assert info.value.code == "E_PROFILE_LOCKED"
    finally:
        sleeper.kill()
        sleeper.wait()
    # Its browser is gone: a stale lock does not count, and can be cleared.
    assert not profile_in_use(profile)
    ensure_not_locked(profile)
    clear_stale_locks(profile)
    assert not (profile / "SingletonLock").is_symlink()


@posix_only
def test_lock_from_another_host_counts_as_in_use(tmp_path: Path) -> None:
    os.symlink("some-other-host-12345", tmp_path / "SingletonLock")
    assert profile_in_use(tmp_path)
