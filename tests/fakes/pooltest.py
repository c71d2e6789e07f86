"""Helpers for pool tests: settings, a pool factory that always cleans up, orphan checks."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from coupadl.engine.spec import BROWSER
from coupadl.execution.pool import EventKind, PersistentWorkerPool, PoolConfig, PoolEvent
from coupadl.settings import Settings
from fakes.handlers import browser_pids

# The fakes stand in for the browser engine's handler only: its prepare step (profile
# clones, or empty profiles and a seed's session) is the real one.
PREPARE = BROWSER.prepare_factory
FAILURE_CODE = BROWSER.failure_code


def fake(name: str = "FakeHandler") -> str:
    return f"fakes.handlers:{name}"


def fake_config(settings: Settings, handler: str = "FakeHandler", **config: Any) -> PoolConfig:
    """A PoolConfig whose workers run the fake ``handler``."""
    return PoolConfig(
        settings=settings,
        handler_factory=fake(handler),
        prepare_factory=PREPARE,
        failure_code=FAILURE_CODE,
        **config,
    )


def gone(pid: int) -> bool:
    """True when nothing runs under ``pid`` any more (a zombie waiting for init to reap
    it runs nothing)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


def live_children() -> list[psutil.Process]:
    """Pool workers and fake browsers among our descendants that still run."""
    result = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if proc.status() == psutil.STATUS_ZOMBIE:
                continue
            cmdline = " ".join(proc.cmdline())
        except psutil.NoSuchProcess:
            continue
        if "spawn_main" in cmdline or "time.sleep(600)" in cmdline:
            result.append(proc)
    return result


class PoolFactory:
    """Makes pools for one test and, at the end, aborts them and checks that no worker,
    fake browser or profile clone is left behind."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.clone_parent = tmp_path / "clones"
        self.pools: list[PersistentWorkerPool] = []
        self.events: list[PoolEvent] = []
        self.last_settings: Settings | None = None

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "out": self.tmp_path / "out",
            "workers": 2,
            "task_timeout": 5.0,
            "retry_backoff": 0.05,
            "retry_backoff_max": 0.2,
            "max_retries": 2,
            "max_restarts": 3,
            "memory_budget_mb": 8192,
            "shutdown_timeout": 5.0,
            "profile_cleanup_on_start": False,
        }
        values.update(overrides)
        return Settings(**values)

    def __call__(
        self,
        handler: str = "FakeHandler",
        *,
        start: bool = True,
        settings: Settings | None = None,
        config: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> PersistentWorkerPool:
        settings = settings if settings is not None else self.settings(**overrides)
        self.last_settings = settings
        cfg = fake_config(
            settings,
            handler,
            clone_parent=self.clone_parent,
            on_event=self.events.append,
            heartbeat_interval=0.5,
            **(config or {}),
        )
        pool = PersistentWorkerPool(cfg)
        self.pools.append(pool)
        if start:
            pool.start()
        return pool

    def kinds(self) -> list[str]:
        return [str(event.kind) for event in self.events]

    def wait_events(self, kind: EventKind, count: int = 1, timeout: float = 5.0) -> list[PoolEvent]:
        """Events of ``kind`` once at least ``count`` arrived (they come on another thread)."""

        def matching() -> list[PoolEvent]:
            return [event for event in list(self.events) if event.kind is kind]

        wait_until(lambda: len(matching()) >= count, timeout)
        return matching()

    def close_all(self) -> None:
        for pool in self.pools:
            pool.shutdown(graceful=False)
        if self.last_settings is not None:
            leftovers = [pid for pid in browser_pids(self.last_settings) if not gone(pid)]
            assert not leftovers, f"fake browsers left running: {leftovers}"
        assert wait_until(lambda: not live_children(), 5), f"left running: {live_children()}"
        if self.clone_parent.exists():
            assert list(self.clone_parent.iterdir()) == [], "profile clones left behind"
