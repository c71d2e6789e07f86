"""Handlers of Coupa's document pages: home, PO and requisition lists, PO pages, print views.

A PO the user may not see answers as Coupa does: a 403 access-denied page, or the
not-found page in the PO's language.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from coupadl.simulator.data.model import Kind
from coupadl.simulator.data.script_only import script_extra, script_only
from coupadl.simulator.pages.documents import (
    render_po,
    render_po_list,
    render_print_view,
    render_requisition,
    render_requisition_list,
)
from coupadl.simulator.pages.errors import render_denied
from coupadl.simulator.routes.common import not_found, page_context
from coupadl.simulator.routes.faults import injected_fault, think
from coupadl.simulator.routes.gate import session_ok, signed_in, to_sign_in
from coupadl.simulator.sim_state import state_of


async def home(request: Request) -> Response:
    if not session_ok(request, count=True):
        return to_sign_in(request)
    return RedirectResponse("/order_headers", 302)


@signed_in(page=True)
async def po_list(request: Request) -> Response:
    return HTMLResponse(render_po_list(state_of(request).dataset, page_context(request)))


@signed_in(page=True)
async def requisition_list(request: Request) -> Response:
    state = state_of(request)
    return HTMLResponse(render_requisition_list(state.dataset, page_context(request)))


@signed_in(page=True)
async def po_page(request: Request) -> Response:
    state = state_of(request)
    number = request.path_params["po_id"]
    state.stats.hit("pos", number)
    if (fault := injected_fault(request, "pos", number)) is not None:
        return fault
    await think(request)
    po = state.dataset.po(number)
    if po is None:
        return not_found(request)
    if po.kind is Kind.DENIED:
        return HTMLResponse(render_denied(page_context(request)), 403)
    if po.kind is Kind.NOT_FOUND:
        return not_found(request, po.lang)
    assert state.filler is not None
    knobs, seed = state.faults.knobs, state.dataset.seed
    scripted = script_only(seed, po, knobs.script_attachments_share)
    extra = script_extra(seed, po, knobs.script_extra_share, knobs.script_attachments_share)
    html = render_po(po, page_context(request), state.filler, scripted=scripted, extra=extra)
    return HTMLResponse(html)


@signed_in(page=True)
async def print_view(request: Request) -> Response:
    state = state_of(request)
    po_id = request.query_params.get("id", "")
    if (fault := injected_fault(request, "print_view", po_id)) is not None:
        return fault
    po = state.dataset.po(po_id)
    if po is None or po.kind is Kind.NOT_FOUND:
        return not_found(request)
    if po.kind is Kind.DENIED:
        return HTMLResponse(render_denied(page_context(request)), 403)
    return HTMLResponse(render_print_view(po, page_context(request)))


@signed_in(page=True)
async def requisition_page(request: Request) -> Response:
    state = state_of(request)
    req_id = request.path_params["req_id"]
    state.stats.hit("requisitions", req_id)
    if (fault := injected_fault(request, "requisitions", req_id)) is not None:
        return fault
    await think(request)
    requisition = state.dataset.requisitions.get(req_id)
    if requisition is None:
        return not_found(request)
    assert state.filler is not None
    return HTMLResponse(render_requisition(requisition, page_context(request), state.filler))
