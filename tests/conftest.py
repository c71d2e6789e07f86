"""Shared fixtures: the simulator, a signed-in base profile, settings for a run.

Browser tests need Debian's chromium and chromedriver. Without them they skip with
the reason, except under CI (COUPADL_REQUIRE_BROWSER=1), where skipping would hide
a broken set-up and they fail instead.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.pooltest import PoolFactory

pytest_plugins = ["skiprule"]  # in CI a skip fails the run unless allowed

os.environ.setdefault("SE_OFFLINE", "true")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _browser_missing() -> str:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    return (
        f"needs {' and '.join(missing)} (apt-get install chromium chromium-driver)"
        if missing
        else ""
    )


@pytest.fixture(autouse=True)
def _clean_coupa_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's own COUPA_* variables or coupadl.toml must not steer the tests."""
    for name in list(os.environ):
        if name.startswith("COUPA_") or name == "USE_PERSISTENT_POOL":
            monkeypatch.delenv(name)
    # Tests written for the browser engine get it (runs they start inherit this); the
    # http engine's tests, and the default's, ask for theirs.
    monkeypatch.setenv("COUPA_ENGINE", "browser")
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI points the root logger at the stderr it sees; under CliRunner that stream
    is closed when the command returns, and later tests' records would hit it."""
    root = logging.getLogger()
    coupadl_logger = logging.getLogger("coupadl")
    before, root_level, coupadl_level = root.handlers[:], root.level, coupadl_logger.level
    yield
    # pytest adds and removes its own capture handlers around each phase: leave those be.
    root.handlers[:] = [
        h for h in root.handlers if h in before or type(h).__module__.startswith("_pytest")
    ]
    root.setLevel(root_level)
    coupadl_logger.setLevel(coupadl_level)


@pytest.fixture(scope="session")
def browser_ready() -> None:
    reason = _browser_missing()
    if reason:
        if os.environ.get("COUPADL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required here but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def grid(browser_ready: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A real Selenium Grid 4 (standalone server, managed downloads on, 2 sessions) for
    the whole test session, stopped at its end (tests/gridkit.py)."""
    from gridkit import grid_missing, running_grid

    reason = grid_missing()
    if reason:
        pytest.skip(reason)
    with running_grid(tmp_path_factory.mktemp("grid")) as server:
        yield server


@pytest.fixture(scope="session")
def _shared_sim() -> Iterator[Any]:
    """The 20-PO simulator the whole session shares (its data never changes)."""
    from coupadl.simulator.server import SimulatorServer

    with SimulatorServer(n_pos=20, seed=7) as server:
        yield server


@pytest.fixture(scope="module")
def sim(_shared_sim: Any) -> Any:
    """The shared 20-PO simulator, on a free loopback port, with every knob at its
    default and fresh statistics for each test module. Modules that need other data
    define their own ``sim``; a test that expires sessions uses ``own_profile``."""
    import dataclasses

    from coupadl.simulator.faults import Knobs

    _shared_sim.control(**dataclasses.asdict(Knobs()))
    _shared_sim.reset_stats()
    return _shared_sim


@pytest.fixture
def calm_sim(sim: Any) -> Iterator[Any]:
    """``sim`` with every knob at its default and fresh counters for one test, and the
    knobs put back after it (the simulator is shared)."""
    import dataclasses

    from coupadl.simulator.faults import Knobs

    sim.control(**dataclasses.asdict(Knobs()))
    sim.reset_stats()
    yield sim
    sim.control(**dataclasses.asdict(Knobs()))


def _signed_in_profile(sim: Any, profile: Path) -> Path:
    from coupadl.engine.browser.login import sign_in
    from coupadl.settings import load_settings

    creds = sim.manifest()["credentials"]
    settings = load_settings(
        {
            "base_url": sim.base_url,
            "profile_dir": profile,
            "username": creds["email"],
            "password": creds["password"],
            "browser_binary": CHROMIUM,
            "driver_path": CHROMEDRIVER,
        }
    )
    outcome = sign_in(settings, timeout=30)
    assert outcome.signed_in
    return profile


@pytest.fixture(scope="session")
def _shared_base_profile(
    _shared_sim: Any, browser_ready: None, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return _signed_in_profile(_shared_sim, tmp_path_factory.mktemp("base-profile"))


@pytest.fixture(scope="module")
def base_profile(
    sim: Any, browser_ready: None, tmp_path_factory: pytest.TempPathFactory, request: Any
) -> Path:
    """A base browser profile signed in to ``sim`` through the real login flow: one for
    the session on the shared simulator, one per module on a module's own."""
    if sim is request.getfixturevalue("_shared_sim"):
        return Path(request.getfixturevalue("_shared_base_profile"))
    return _signed_in_profile(sim, tmp_path_factory.mktemp("base-profile"))


@pytest.fixture
def own_profile(sim: Any, base_profile: Path, tmp_path: Path) -> Iterator[Path]:
    """A signed-in profile for a test that expires sessions on ``sim``.

    Expiring is global on the simulator, so afterwards the shared base profile is
    signed in again: later tests of the module must not start signed out.
    """
    yield _signed_in_profile(sim, tmp_path / "own-profile")
    _signed_in_profile(sim, base_profile)


@pytest.fixture
def make_settings(sim: Any, base_profile: Path, tmp_path: Path) -> Callable[..., Any]:
    """Settings for a run against ``sim``; keyword arguments override."""
    from coupadl.settings import load_settings

    def make(**overrides: Any) -> Any:
        values: dict[str, Any] = {
            "base_url": sim.base_url,
            "out": tmp_path / "out",
            "profile_dir": base_profile,
            "browser_binary": CHROMIUM,
            "driver_path": CHROMEDRIVER,
            "workers": 1,
            "download_start_timeout": 10,
            "download_stall_timeout": 10,
            "page_timeout": 20,
            "retry_backoff": 0.2,
            "results_flush_seconds": 0,
        }
        values.update(overrides)
        return load_settings(values)

    return make


@pytest.fixture
def make_pool(tmp_path: Path) -> Iterator[PoolFactory]:
    """Pools of fake workers (tests/fakes/pooltest.py), all closed after the test."""
    factory = PoolFactory(tmp_path)
    yield factory
    factory.close_all()
