"""Which executor and engine process a run's POs, and what they came to.

The browser engine runs in this process with one browser (the inline executor) or in
the worker pool; the http engine (and ``auto``, http with the browser where HTTP
cannot) and the REST API engine run many POs at once on threads (the threaded
executor). Each executor records every finished PO through the run's :class:`Recorder`.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from coupadl.coupa.po_numbers import dedupe
from coupadl.coupa.status import error_for
from coupadl.coupa.urls import po_id_for_number, po_url
from coupadl.engine.browser.grid import require_grid
from coupadl.engine.browser.login import reauthenticator, require_base_profile
from coupadl.engine.http.checking import AGREED, DISAGREED
from coupadl.engine.http.traffic import COUNTERS
from coupadl.engine.spec import API, BROWSER, GRID, HTTP
from coupadl.errors import (
    AuthRequiredError,
    BrowserError,
    ConfigError,
    GridError,
    PlainHttpRefusedError,
)
from coupadl.execution.concurrency import LimitChange, limit_for
from coupadl.execution.handler import EngineSpec
from coupadl.execution.inline import InlineState, run_inline
from coupadl.execution.progress import RunProgress
from coupadl.execution.threaded import run_threaded
from coupadl.execution.traffic import TrafficMeter
from coupadl.models import POResult, POTask, Status
from coupadl.settings import EngineKind, Settings

log = logging.getLogger(__name__)

Reauth = Callable[[], list[dict[str, Any]]]


class Recorder(Protocol):
    """What the executors need of the run's recorder (``coupadl.runs.batch``)."""

    @property
    def state(self) -> InlineState: ...
    @property
    def monitor(self) -> RunProgress | None: ...
    @property
    def recorded(self) -> set[str]: ...

    def record(self, result: POResult) -> None: ...


@dataclass
class Processed:
    """What the processing part of a run came to."""

    pending: list[str] = field(default_factory=list)
    auth_stopped: bool = False
    pool_startup_seconds: float | None = None
    concurrency: list[LimitChange] = field(default_factory=list)  # the http engine's
    # Set when the run changed engine on its way (auto, plain HTTP refused).
    mode: str | None = None
    workers: int | None = None


def _run_sequential(
    tasks: Sequence[POTask], settings: Settings, recorder: Recorder, reauth: Reauth
) -> Processed:
    """One worker in this process (the inline executor), with the browser engine."""
    run = run_inline(
        tasks,
        settings,
        recorder.record,
        recorder.state,
        require_base_profile(settings),
        browser_engine(settings),
        reauth=reauth,
        progress=recorder.monitor,
    )
    return Processed(run.pending, run.auth_stopped)


def _run_pooled(
    tasks: Sequence[POTask],
    settings: Settings,
    workers: int,
    recorder: Recorder,
    reauth: Reauth,
    interactive: bool,
) -> Processed:
    """The worker pool; one browser instead (with a warning) if the pool cannot start."""
    from coupadl.execution.pool.run import run_pooled

    try:
        run = run_pooled(
            tasks,
            settings,
            workers,
            recorder.record,
            recorder.state,
            require_base_profile(settings),
            engine=browser_engine(settings),
            reauth=reauth,
            interactive=interactive,
            progress=recorder.monitor,
        )
    except GridError:
        raise  # one browser on the same Grid would be refused as well
    except BrowserError as exc:
        left = [t for t in tasks if t.po_number not in recorder.recorded]
        log.warning(
            "the worker pool failed (%s); going on with one browser for %d POs",
            exc.message,
            len(left),
        )
        return _run_sequential(left, settings, recorder, reauth)
    if run.auth_stopped:
        # As in the sequential path: the PO that met the sign-in page says so.
        for po in dedupe(run.auth_pos):
            recorder.record(_auth_required(po, settings))
    return Processed(run.pending, run.auth_stopped, run.startup_seconds)


def _auth_required(po: str, settings: Settings) -> POResult:
    code, message = error_for(Status.AUTH_REQUIRED)
    now = time.time()
    url = po_url(settings.require_base_url(), po_id_for_number(po))
    return POResult(
        po, Status.AUTH_REQUIRED, code, message, url=url, started_at=now, finished_at=now
    )


def browser_engine(settings: Settings) -> EngineSpec:
    """The browser engine: its workers local browsers, or remote sessions on a Grid."""
    return GRID if settings.grid_url else BROWSER


def resolve_workers(settings: Settings, n_tasks: int) -> int:
    """How many browsers this run uses; 1 means the sequential path."""
    if n_tasks <= 1 or not settings.enable_parallel or not settings.use_persistent_pool:
        return 1
    if settings.workers == "auto" and settings.grid_url:
        return grid_workers(settings, n_tasks)
    if settings.workers == "auto":
        from coupadl.execution.pool.monitor import auto_worker_count_now

        return max(1, min(auto_worker_count_now(settings.max_workers), n_tasks))
    return max(1, min(int(settings.workers), n_tasks))


def grid_engine(settings: Settings) -> Settings:
    """With ``grid_url``, the browser engine runs the POs, its workers on the Grid; a
    Grid that cannot run them (:func:`require_grid`) stops the run before any PO."""
    if not settings.grid_url:
        return settings
    if settings.engine not in (EngineKind.AUTO, EngineKind.BROWSER):
        raise ConfigError(
            f"grid_url runs browser workers on a Selenium Grid, and engine "
            f"'{settings.engine.value}' has none: use --engine browser, or leave grid_url unset."
        )
    require_grid(settings)
    if settings.engine is EngineKind.AUTO:
        log.info("grid_url is set: the browser engine runs the POs on the Selenium Grid")
        return settings.model_copy(update={"engine": EngineKind.BROWSER})
    return settings


def grid_workers(settings: Settings, n_tasks: int) -> int:
    """``workers auto`` on a Grid: its free slots for the browser, at most
    ``max_workers`` (at least one: more sessions wait in the Grid's queue)."""
    status = require_grid(settings)
    workers = max(1, min(status.free, settings.max_workers, n_tasks))
    log.info(
        "workers auto on the Selenium Grid: %d (%d of its %d slot(s) free, max_workers %d)",
        workers, status.free, status.slots, settings.max_workers,
    )  # fmt: skip
    return workers


def process_tasks(
    tasks: Sequence[POTask],
    settings: Settings,
    workers: int,
    recorder: Recorder,
    interactive: bool,
) -> Processed:
    if not tasks:
        return Processed()
    if settings.engine is EngineKind.API:
        return _run_threaded(tasks, settings, recorder, partial(_no_sign_in, settings), API)
    reauth = reauthenticator(settings, interactive)
    if settings.engine is not EngineKind.BROWSER:
        try:
            return _run_http(tasks, settings, recorder, reauth)
        except PlainHttpRefusedError as exc:
            # Only in auto (prepare_http checks): nothing was processed yet.
            log.warning("%s: the run goes on with the browser engine", exc.message)
            settings = settings.model_copy(update={"engine": EngineKind.BROWSER})
            mode, workers = run_mode(settings, len(tasks))
            processed = process_tasks(tasks, settings, workers, recorder, interactive)
            processed.mode, processed.workers = mode, workers
            return processed
    if workers == 1:
        return _run_sequential(tasks, settings, recorder, reauth)
    return _run_pooled(tasks, settings, workers, recorder, reauth, interactive)


def _no_sign_in(settings: Settings) -> list[dict[str, Any]]:
    """The REST API engine's answer to a refused token: nothing a browser could fix."""
    raise AuthRequiredError(
        f"The Coupa API refused the OAuth client {settings.api_client_id}: check "
        "api_client_id and api_client_secret with 'coupadl doctor', then re-run the same "
        "command."
    )


def _run_http(
    tasks: Sequence[POTask], settings: Settings, recorder: Recorder, reauth: Reauth
) -> Processed:
    """The http engine, on the signed-in profile's session."""
    return _run_threaded(tasks, settings, recorder, reauth, HTTP, require_base_profile(settings))


def _run_threaded(
    tasks: Sequence[POTask],
    settings: Settings,
    recorder: Recorder,
    reauth: Reauth,
    engine: EngineSpec,
    base: Path | None = None,
) -> Processed:
    """Many POs at once on threads (the threaded executor)."""
    # A 429 halves the POs in flight only when no client-side rate limit sets the pace.
    limit = limit_for(
        settings.concurrency, settings.max_concurrency, halve_on_429=not settings.rate_limit_rps
    )
    if recorder.monitor is not None:
        meter = TrafficMeter(COUNTERS.totals, settings.rate_limit_rps, lambda: limit.value)
        recorder.monitor.watch_traffic(meter)
    run = run_threaded(
        tasks,
        settings,
        recorder.record,
        recorder.state,
        base,
        engine,
        reauth=reauth,
        progress=recorder.monitor,
        limit=limit,
    )
    return Processed(run.pending, run.auth_stopped, concurrency=run.concurrency)


def concurrency_cap(settings: Settings, n_tasks: int) -> int:
    """The most POs the http engine has in flight in this run (the executor's rule:
    its limit's cap, at most one per task)."""
    cap = limit_for(settings.concurrency, settings.max_concurrency).cap
    return max(1, min(cap, n_tasks))


def run_mode(settings: Settings, n_tasks: int) -> tuple[str, int]:
    """How this run processes its POs ("sequential", "pool", "http" or "api") and with
    how many workers (browsers; for http and api, the most POs in flight)."""
    if settings.engine is EngineKind.API:
        return "api", concurrency_cap(settings, n_tasks)
    if settings.engine is not EngineKind.BROWSER:
        return "http", concurrency_cap(settings, n_tasks)
    workers = resolve_workers(settings, n_tasks)
    return ("sequential" if workers == 1 else "pool"), workers


def engine_figures(results: Sequence[POResult], processed: Processed) -> dict[str, Any]:
    """What report.json says of the engines: POs per engine, those the http engine
    handed to the browser, the POs ``auto`` also read in the browser to check plain
    HTTP's reading (and those whose readings differed), and the http engine's
    concurrency over time."""
    engines = Counter(r.engine for r in results if r.engine)
    checks = Counter(r.engine_check for r in results if r.engine_check)
    return {
        "engines": dict(engines),
        "fell_back_to_browser": engines.get("browser", 0) if engines.get("http") else 0,
        "engine_checks": checks[AGREED] + checks[DISAGREED],
        "engine_disagreements": checks[DISAGREED],
        "concurrency": [asdict(change) for change in processed.concurrency],
    }
