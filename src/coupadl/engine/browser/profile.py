"""Browser profiles: the signed-in base profile, private clones of it, lock detection.

Each pool worker runs its browser on its own copy ("clone") of the base profile that
``coupadl login`` signed in, because Chromium refuses a user-data-dir that another
browser holds. A clone leaves out what is useless or harmful to copy: lock files (a
copied ``SingletonLock`` makes the new browser think the profile is in use), caches and
crash dumps (big and rebuilt on demand). It keeps ``Local State`` (on Windows it holds
the key that decrypts the cookies) and the cookie databases.

Every clone carries a small marker file with the pid and start time of the process that
made it, so a later run can tell clones left behind by a crashed run (owner gone) from
clones a running run still uses (owner alive), and so :func:`remove_clone` never deletes
a directory coupadl did not create.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from coupadl.errors import BrowserError, ProfileLockedError

logger = logging.getLogger(__name__)

CLONE_PREFIX = "coupadl-clone-"
FRESH_PREFIX = "coupadl-fresh-"
MARKER_NAME = ".coupadl-clone.json"

# File names never copied, at any depth. Chromium's process-singleton files and lock
# files of its databases belong to the browser that made them; copying them makes the
# clone look "in use". LevelDB recreates its LOCK file when it opens the database.
_LOCK_NAMES = frozenset({"singletonlock", "singletonsocket", "singletoncookie", "lockfile", "lock"})

# Directory names never copied, at any depth: caches and crash dumps, rebuilt on demand.
_SKIP_DIR_NAMES = frozenset(
    {
        "cache",
        "code cache",
        "gpucache",
        "shadercache",
        "grshadercache",
        "graphitedawncache",
        "dawncache",
        "dawngraphitecache",
        "dawnwebgpucache",
        "crashpad",
        "crash reports",
        "browsermetrics",
        "component_crx_cache",
        "extensions_crx_cache",
        "optimization_guide_model_store",
    }
)
# Relative paths (lower-case, '/'-separated, ending a path) never copied.
_SKIP_DIR_SUFFIXES = ("service worker/cachestorage", "service worker/scriptcache")


def default_clone_parent() -> Path:
    """Where clones go unless told otherwise: the system temp dir."""
    return Path(tempfile.gettempdir())


def _skip_name(rel_dir: str, name: str, is_dir: bool) -> bool:
    lower = name.lower()
    if is_dir:
        if lower in _SKIP_DIR_NAMES:
            return True
        rel = f"{rel_dir}/{lower}" if rel_dir else lower
        return rel.endswith(_SKIP_DIR_SUFFIXES)
    return lower in _LOCK_NAMES or lower.startswith("singleton") or lower == MARKER_NAME


def _write_marker(clone: Path) -> None:
    me = psutil.Process()
    marker = {
        "pid": me.pid,
        "create_time": me.create_time(),
        "host": socket.gethostname(),
        "created": time.time(),
    }
    (clone / MARKER_NAME).write_text(json.dumps(marker), encoding="utf-8")


def read_marker(clone: Path) -> dict[str, Any] | None:
    """The owner marker of a clone, or None when it is missing or unreadable."""
    try:
        data = json.loads((clone / MARKER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_clone(path: Path) -> bool:
    """True when ``path`` is a directory coupadl made (it carries the owner marker)."""
    return read_marker(path) is not None


def _make_private_dir(parent: Path | None, prefix: str) -> Path:
    parent = parent if parent is not None else default_clone_parent()
    parent.mkdir(parents=True, exist_ok=True)
    # mkdtemp picks a unique name atomically and creates it 0700: concurrent clones from
    # several processes or threads never share a directory.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(path, stat.S_IRWXU)
    _write_marker(path)
    return path


def _copy_profile_tree(base: Path, dest: Path) -> tuple[int, int]:
    """Copy ``base`` into ``dest`` leaving out locks, caches and crash dumps.

    Returns (files copied, files that could not be copied)."""
    copied = failed = 0
    for root, dirs, files in os.walk(base):
        root_path = Path(root)
        rel_dir = root_path.relative_to(base).as_posix()
        rel_dir = "" if rel_dir == "." else rel_dir.lower()
        # Prune skipped directories in place so os.walk does not descend into them.
        dirs[:] = [d for d in dirs if not _skip_name(rel_dir, d, is_dir=True)]
        target_root = dest / root_path.relative_to(base)
        target_root.mkdir(parents=True, exist_ok=True)
        for name in files:
            if _skip_name(rel_dir, name, is_dir=False):
                continue
            source = root_path / name
            if source.is_symlink():
                # Profiles hold no symlinks worth copying (SingletonLock is one); a link
                # could also point outside the profile.
                continue
            try:
                shutil.copy2(source, target_root / name)
                copied += 1
            except FileNotFoundError:
                # A browser that runs on the base removed it between listing and copying.
                logger.debug("profile file vanished while cloning: %s", source)
            except OSError as exc:
                # A file the running browser holds exclusively (Windows). The clone works
                # without it; missing cookies are handled by the cookie import.
                failed += 1
                logger.warning("could not copy profile file %s: %s", source, exc)
    return copied, failed


def clone_profile(base: Path, parent: Path | None = None, prefix: str = CLONE_PREFIX) -> Path:
    """Copy the base profile into a new private temp directory and return it.

    The clone lives under ``parent`` (default: the system temp dir) in a unique 0700
    directory named ``<prefix>XXXX``; it is the caller's to use and to remove with
    :func:`remove_clone`. Safe to call concurrently."""
    if not base.is_dir():
        raise BrowserError(
            f"The browser profile {base} does not exist; run 'coupadl login' to create it."
        )
    clone = _make_private_dir(parent, prefix)
    try:
        copied, failed = _copy_profile_tree(base, clone)
    except BaseException:
        remove_clone(clone)
        raise
    logger.debug("cloned profile %s to %s (%d files, %d not copied)", base, clone, copied, failed)
    return clone


def new_empty_profile(parent: Path | None = None, prefix: str = FRESH_PREFIX) -> Path:
    """A new empty private profile directory, owned (and later removed) like a clone."""
    return _make_private_dir(parent, prefix)


def _on_rm_error(func: Callable[..., Any], path: str, exc: BaseException) -> None:
    # A read-only file (Windows) cannot be deleted until it is made writable.
    if isinstance(exc, PermissionError):
        with contextlib.suppress(OSError):
            os.chmod(path, stat.S_IWRITE | stat.S_IREAD)
            func(path)
            return
    if not isinstance(exc, FileNotFoundError):
        raise exc


def remove_clone(path: Path) -> bool:
    """Delete a clone made by :func:`clone_profile` / :func:`new_empty_profile`.

    Refuses (returns False, logs a warning) for a directory without the owner marker, so a
    wrong path can never delete a real profile. Retries briefly, because Windows keeps
    files of a browser that just exited locked for a moment."""
    if not path.exists():
        return True
    if not is_clone(path):
        logger.warning("not removing %s: it is not a coupadl profile clone", path)
        return False
    last_error: OSError | None = None
    for attempt in range(5):
        try:
            if sys.version_info >= (3, 12):
                shutil.rmtree(path, onexc=_on_rm_error)
            else:
                shutil.rmtree(path, onerror=lambda f, p, ei: _on_rm_error(f, p, ei[1]))
            return True
        except OSError as exc:
            last_error = exc
            time.sleep(0.2 * (attempt + 1))
    logger.warning("could not remove profile clone %s: %s", path, last_error)
    return False


def _owner_alive(marker: dict[str, Any]) -> bool:
    if marker.get("host") not in (None, socket.gethostname()):
        # A clone on a shared disk made by another machine: we cannot tell; keep it.
        return True
    pid = marker.get("pid")
    if not isinstance(pid, int):
        return False
    try:
        proc = psutil.Process(pid)
        alive = proc.status() != psutil.STATUS_ZOMBIE
        created = marker.get("create_time")
        # A live pid with another start time is a different process that reused the pid.
        same = not isinstance(created, int | float) or abs(proc.create_time() - created) < 1.0
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # someone else's process: it exists
    return alive and same


def sweep_stale_clones(parent: Path | None = None, prefixes: tuple[str, ...] | None = None) -> int:
    """Remove clones whose owner process is gone (left by a crashed run); return how many.

    Clones a browser still holds (an orphaned browser of that crashed run) are kept and
    logged."""
    parent = parent if parent is not None else default_clone_parent()
    prefixes = prefixes or (CLONE_PREFIX, FRESH_PREFIX)
    removed = 0
    try:
        entries = list(parent.iterdir())
    except OSError as exc:
        logger.debug("cannot list %s for stale clones: %s", parent, exc)
        return 0
    for entry in entries:
        if not entry.name.startswith(prefixes) or not entry.is_dir():
            continue
        marker = read_marker(entry)
        if marker is None or _owner_alive(marker):
            continue
        if profile_in_use(entry):
            logger.warning(
                "stale profile clone %s is still used by a browser left running; not removed",
                entry,
            )
            continue
        if remove_clone(entry):
            removed += 1
    if removed:
        logger.info("removed %d profile clone(s) left behind by an earlier run", removed)
    return removed


def _singleton_owner(path: Path) -> tuple[str, int] | None:
    """The (host, pid) Chromium's SingletonLock symlink names, or None."""
    try:
        target = os.readlink(path / "SingletonLock")
    except OSError:
        return None
    host, sep, pid_text = target.rpartition("-")
    if not sep or not pid_text.isdigit():
        return None
    return host, int(pid_text)


def _pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def _windows_lockfile_held(path: Path) -> bool:
    lock = path / "lockfile"
    if not lock.exists():
        return False
    try:
        # The running browser opens it without sharing: opening it fails while it runs.
        with open(lock, "a"):
            return False
    except PermissionError:
        return True
    except OSError as exc:
        logger.debug("cannot open %s: %s", lock, exc)
        return False


def profile_in_use(path: Path) -> bool:
    """True when a running browser holds the profile directory ``path``."""
    if os.name == "nt":
        return _windows_lockfile_held(path)
    owner = _singleton_owner(path)
    if owner is None:
        return False
    host, pid = owner
    if host != socket.gethostname():
        # Chromium itself refuses a profile locked by another computer; so do we.
        return True
    return _pid_alive(pid)


def ensure_not_locked(path: Path) -> None:
    """Raise :class:`ProfileLockedError` when a running browser holds the profile."""
    if not profile_in_use(path):
        return
    owner = _singleton_owner(path)
    who = f" (process {owner[1]} on {owner[0]})" if owner else ""
    raise ProfileLockedError(
        f"The browser profile {path} is in use by a running browser{who}. "
        "Close Edge/Chrome that uses this profile, or run 'coupadl login' again."
    )


def clear_stale_locks(path: Path) -> None:
    """Remove Chromium's singleton files from a profile no live browser holds.

    Used before restarting a worker on its clone after its browser was killed."""
    if profile_in_use(path):
        return
    for name in ("SingletonLock", "SingletonSocket", "SingletonCookie"):
        with contextlib.suppress(FileNotFoundError):
            (path / name).unlink()
