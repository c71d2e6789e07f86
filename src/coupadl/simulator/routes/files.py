"""Handlers of attachment downloads: the tenant's file URLs and the signed file host.

The bytes go out through :class:`~coupadl.simulator.transfer.FaultyBody`, which honours
the bandwidth, stall and drop knobs; ``simulator/broken.py`` decides the broken answers
and the redirects to another host.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from coupadl.simulator import broken
from coupadl.simulator.files import content_disposition, content_type
from coupadl.simulator.pages.attachments import file_url
from coupadl.simulator.routes.common import not_found
from coupadl.simulator.routes.faults import injected_fault
from coupadl.simulator.routes.gate import signed_in
from coupadl.simulator.sim_state import state_of
from coupadl.simulator.transfer import FaultyBody


@signed_in(page=False)
async def attachment_file(request: Request) -> Response | FaultyBody:
    return await serve_file(request)


async def signed_file(request: Request) -> Response | FaultyBody:
    """A file on the file host (simulator/broken.py): a signed URL, no session cookie."""
    state = state_of(request)
    if not broken.signature_ok(request, request.path_params["file_id"], state.dataset.seed):
        return Response("Forbidden", 403, media_type="text/plain")
    return await serve_file(request)


async def serve_file(request: Request) -> Response | FaultyBody:
    """The file of the path's ``file_id``, with every file knob; the web's file URLs and
    the REST API's ``file-url`` (``simulator/api/routes.py``) both answer through it."""
    state = state_of(request)
    file_id = request.path_params["file_id"]
    state.stats.hit("files", str(file_id))
    if (fault := injected_fault(request, "files", str(file_id))) is not None:
        return fault
    sim = state.dataset.files.get(file_id)
    if sim is None:
        return not_found(request)
    if moved := broken.redirect_for(request, sim, state.faults.knobs, state.dataset.seed):
        return moved
    data = await run_in_threadpool(state.store.content, sim)
    knobs = state.faults.knobs
    stall_after, drop_after = state.faults.file_cut(len(data))
    if stall_after is not None or drop_after is not None:
        state.stats.fault("stall" if stall_after is not None else "drop", "files", str(file_id))
    headers = [
        (b"content-type", content_type(sim.ftype).encode()),
        (b"content-disposition", content_disposition(sim.name).encode()),
        (b"cache-control", b"private, no-store"),
        (b"x-content-type-options", b"nosniff"),
    ]
    data, headers, claim_extra = broken.broken_body(sim, data, headers, knobs)
    return FaultyBody(
        data,
        headers,
        bandwidth=knobs.file_bandwidth,
        stall_after=stall_after,
        stall_seconds=knobs.stall_seconds,
        drop_after=drop_after,
        claim_extra=claim_extra,
    )


@signed_in(page=False)
async def attachment_record(request: Request) -> Response:
    """``/attachments/<id>`` (an ``li``'s data-url): on to the file itself."""
    sim = state_of(request).dataset.files.get(request.path_params["file_id"])
    if sim is None:
        return not_found(request)
    return RedirectResponse(file_url("", "type", sim), 302)
