"""The control API (``/__sim__/*``): knobs, session expiry, counters, the manifest, health,
and files added to a PO after the start (``add-attachment``).

No sign-in and not counted in ``total``: it is the test's and the demo's window into
the simulator, the same calls ``SimulatorServer`` makes in process.
"""

from __future__ import annotations

import json
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from coupadl.simulator.sim_state import state_of

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/__sim__"


async def control(request: Request) -> Response:
    faults = state_of(request).faults
    if request.method == "GET":
        return JSONResponse(faults.snapshot())
    try:
        changes = json.loads(await request.body() or b"{}")
        if not isinstance(changes, dict):
            raise ValueError("send a JSON object of knob names and values")
        knobs = faults.update(changes)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return JSONResponse({"error": str(exc)}, 400)
    log.info("simulator knobs changed: %s", changes)
    return JSONResponse(knobs)


async def expire_sessions(request: Request) -> Response:
    state_of(request).sessions.expire_all()
    return JSONResponse({"expired": True})


async def stats(request: Request) -> Response:
    return JSONResponse(state_of(request).stats.snapshot())


async def timeline(request: Request) -> Response:
    return JSONResponse(state_of(request).stats.timeline())


async def reset_stats(request: Request) -> Response:
    state_of(request).stats.reset()
    return JSONResponse({"reset": True})


async def manifest(request: Request) -> Response:
    state = state_of(request)
    fallback = request.query_params.get("fallback")
    base = str(request.base_url).rstrip("/")
    try:
        data = await run_in_threadpool(state.manifest, base, fallback)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, 400)
    return JSONResponse(data)


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True, "pos": len(state_of(request).dataset.pos)})


async def add_attachment(request: Request) -> Response:
    """``{"po": "<number>", "name": "<file name>", "size": <bytes, optional>}``: the PO
    gets a new comment with that file; the page, the API and the manifest show it."""
    try:
        body = json.loads(await request.body() or b"{}")
        if not isinstance(body, dict) or not {"po", "name"} <= body.keys():
            raise ValueError('send {"po": "<number>", "name": "<file name>"}')
        size = int(body.get("size", 4096))
        sim = state_of(request).add_attachment(str(body["po"]), str(body["name"]), size)
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        return JSONResponse({"error": str(exc)}, 400)
    log.info("simulator: PO %s got the file %s (id %d)", body["po"], sim.name, sim.file_id)
    return JSONResponse({"file_id": sim.file_id, "name": sim.name, "saved_name": sim.saved_name})
