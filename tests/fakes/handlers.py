"""Fake handlers for pool tests.

They implement ``coupadl.execution.handler.Handler`` as the browser engine's
``BrowserHandler`` does, as far as the pool can see: a real child process stands in for
the browser (so orphan and kill tests are real), the session is a cookie list, results
are driven by the PO number, and every state that must survive a worker's death ("only
the first time") lives in files under ``settings.out / "fake-state"``.

PO numbers:
  ``hang-*``   first attempt hangs (sleeps for an hour), later attempts complete
  ``crash-*``  first attempt kills the worker process (os._exit), later ones complete
  ``auth-*``   first attempt returns AUTH_REQUIRED, later ones complete
  ``raise-*``  first attempt raises, later ones complete
  ``fail-*``   every attempt is a transient FAILED
  ``limited-*`` first attempt meets HTTP 429 asking for RATE_LIMIT_WAIT s, later complete
  ``slow-*``   takes ~1.5 s, with progress calls, then completes
  digits ending in 1: NO_ATTACHMENTS (deterministic)
  digits ending in 9: first attempt transient FAILED, later ones complete
  anything else completes after FAKE_DELAY
A handler that is not signed in returns AUTH_REQUIRED for every PO.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coupadl.errors import BrowserError
from coupadl.models import POResult, POTask, Status
from coupadl.settings import Settings

FAKE_DELAY = 0.03
RATE_LIMIT_WAIT = 1.0
SIGNED_OUT_FILE = "fake-signed-out"  # in the base profile: worker ids that start signed out
# The fake session: a cookie list with this cookie is signed in.
SESSION_COOKIE = {"name": "session", "value": "s3cret-value", "domain": "coupa.test", "path": "/"}


def state_dir(settings: Settings) -> Path:
    path = Path(settings.out) / "fake-state"
    path.mkdir(parents=True, exist_ok=True)
    return path


def first_time(settings: Settings, key: str) -> bool:
    """True exactly once per key across all processes (atomic create)."""
    try:
        fd = os.open(state_dir(settings) / key, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def browser_pids(settings: Settings) -> list[int]:
    """Every fake browser pid any handler ever started under these settings."""
    path = state_dir(settings) / "browser-pids"
    if not path.exists():
        return []
    return [int(line) for line in path.read_text().split()]


class FakeHandler:
    def __init__(
        self,
        worker_id: str,
        settings: Settings,
        workdir: Path | None,
        session: list[dict[str, Any]] | None,
    ) -> None:
        self.worker_id = worker_id
        self.settings = settings
        self.workdir = workdir
        self.session = session
        self.browser: subprocess.Popen[bytes] | None = None

    # -- life ----------------------------------------------------------------------------
    def start(self) -> None:
        # A separate session, like a real browser: only the recorded pid can find it
        # once the worker process is gone.
        self.browser = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)"],
            start_new_session=True,
        )
        with open(state_dir(self.settings) / "browser-pids", "a") as fh:
            fh.write(f"{self.browser.pid}\n")

    def close(self) -> None:
        if self.browser is not None:
            self.browser.kill()
            self.browser.wait(5)
            self.browser = None

    def child_pids(self) -> list[int]:
        return [self.browser.pid] if self.browser is not None else []

    def session_ok(self) -> bool:
        if self.session and any(c.get("name") == "session" for c in self.session):
            return True
        if self.workdir is None:
            return True
        marker = self.workdir / SIGNED_OUT_FILE
        if marker.exists() and self.worker_id in marker.read_text().split():
            return False
        return (self.workdir / "Default" / "Cookies").exists()

    def export_session(self) -> list[dict[str, Any]]:
        return [dict(SESSION_COOKIE)]

    def import_session(self, session: list[dict[str, Any]]) -> None:
        self.session = session

    # -- work ----------------------------------------------------------------------------
    def process(self, task: POTask, progress: Callable[[str], None]) -> POResult:
        started = time.time()
        po = task.po_number
        progress("navigating")
        if not self.session_ok():
            return self._result(task, Status.AUTH_REQUIRED, started)
        if po.startswith("hang-") and first_time(self.settings, f"hang-{po}"):
            time.sleep(3600)
        if po.startswith("crash-") and first_time(self.settings, f"crash-{po}"):
            os._exit(7)
        if po.startswith("auth-") and first_time(self.settings, f"auth-{po}"):
            return self._result(task, Status.AUTH_REQUIRED, started)
        if po.startswith("raise-") and first_time(self.settings, f"raise-{po}"):
            raise RuntimeError("fake handler blew up")
        if po.startswith("fail-"):
            return self._result(task, Status.FAILED, started, transient=True)
        if po.startswith("limited-") and first_time(self.settings, f"limited-{po}"):
            result = self._result(task, Status.FAILED, started, transient=True)
            result.error_code, result.retry_after = "E_RATE_LIMITED", RATE_LIMIT_WAIT
            return result
        if po.startswith("slow-"):
            for step in range(1, 4):
                time.sleep(0.5)
                progress(f"downloading {step}/3")
            return self._result(task, Status.COMPLETED, started)
        time.sleep(FAKE_DELAY)
        progress("downloading 1/1")
        if po.isdigit() and po.endswith("1"):
            return self._result(task, Status.NO_ATTACHMENTS, started)
        if po.isdigit() and po.endswith("9") and first_time(self.settings, f"flaky-{po}"):
            return self._result(task, Status.FAILED, started, transient=True)
        return self._result(task, Status.COMPLETED, started)

    def _result(
        self, task: POTask, status: Status, started: float, transient: bool = False
    ) -> POResult:
        return POResult(
            po_number=task.po_number,
            status=status,
            error_code="" if status is Status.COMPLETED else f"E_{status.value}",
            message=f"fake {status.value} (attempt {task.attempt})",
            started_at=started,
            finished_at=time.time(),
            transient=transient,
        )


class FailingStartHandler(FakeHandler):
    """A browser that never starts."""

    def start(self) -> None:
        raise BrowserError("fake browser binary not found")


class FlakyStartHandler(FakeHandler):
    """Each worker's first start fails; the next one works."""

    def start(self) -> None:
        if first_time(self.settings, f"start-{self.worker_id}"):
            raise BrowserError("fake browser crashed on start")
        super().start()


class OneWorkerStartsHandler(FakeHandler):
    """Only worker-1 can start its browser."""

    def start(self) -> None:
        if self.worker_id != "worker-1":
            raise BrowserError(f"fake browser of {self.worker_id} cannot start")
        super().start()


# In fake-state: once it exists, every RemoteGoneHandler's far end is gone, once.
REMOTE_GONE_FILE = "remote-gone"


class RemoteGoneHandler(FakeHandler):
    """A remote handler (``coupadl.execution.handler.RemoteHandler``): ``alive()`` says
    False once per worker after the test writes ``REMOTE_GONE_FILE``, as a Grid that
    lost the worker's session would. Each start is counted in ``starts-<worker>``."""

    def start(self) -> None:
        super().start()
        with open(state_dir(self.settings) / f"starts-{self.worker_id}", "a") as fh:
            fh.write(f"{os.getpid()}\n")

    def alive(self) -> bool:
        gone = (state_dir(self.settings) / REMOTE_GONE_FILE).exists()
        return not (gone and first_time(self.settings, f"lost-{self.worker_id}"))
