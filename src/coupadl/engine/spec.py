"""The engines, named to the executors by their parts' ``"module:callable"`` paths
(:class:`coupadl.execution.handler.EngineSpec`).

The executors (``coupadl.execution``) import no engine. The run (``coupadl.runs``) picks
one of these and hands it over; each worker imports its handler itself (in its own
process for the pool), so nothing unpicklable crosses a process boundary.
"""

from __future__ import annotations

from coupadl.execution.handler import EngineSpec

BROWSER = EngineSpec(
    name="browser",
    handler_factory="coupadl.engine.browser.handler:BrowserHandler",
    prepare_factory="coupadl.engine.browser.prepare:prepare_profiles",
    failure_code="E_BROWSER",
)
HTTP = EngineSpec(
    name="http",
    handler_factory="coupadl.engine.http.handler:HttpHandler",
    prepare_factory="coupadl.engine.http.prepare:prepare_http",
    failure_code="E_NETWORK",
)
API = EngineSpec(
    name="api",
    handler_factory="coupadl.engine.api.handler:ApiHandler",
    prepare_factory="coupadl.engine.api.prepare:prepare_api",
    failure_code="E_NETWORK",
)
# The browser engine with its workers as remote sessions on a Selenium Grid (grid_url).
GRID = EngineSpec(
    name="browser",
    handler_factory="coupadl.engine.browser.grid_worker:GridHandler",
    prepare_factory="coupadl.engine.browser.grid_worker:prepare_grid",
    failure_code="E_BROWSER",
)
