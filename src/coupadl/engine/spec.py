"""An engine as the executors see it: its parts by ``"module:callable"`` path.

The executors (``coupadl.execution``) import no engine. The run (``coupadl.runs``) picks
an :class:`EngineSpec` and hands its paths over; each worker imports its handler itself
(in its own process for the pool), so nothing unpicklable crosses a process boundary.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineSpec:
    name: str
    # (worker_id, settings, workdir, session) -> Handler (coupadl.execution.handler)
    handler_factory: str
    # Once per run, in the main process: a work folder per worker and maybe a shared
    # session (the browser engine: profile clones, or empty profiles plus cookies).
    prepare_factory: str
    # The error code of a PO whose worker died before it returned a result.
    failure_code: str


BROWSER = EngineSpec(
    name="browser",
    handler_factory="coupadl.engine.browser.handler:BrowserHandler",
    prepare_factory="coupadl.engine.browser.prepare:prepare_profiles",
    failure_code="E_BROWSER",
)
