"""Handlers of the REST API: records, attachments, comments and file bytes.

``id == number``: a PO's API id is its PO number, a requisition's its id. The data
set's DENIED POs answer 403 on every PO path (and to a list filtered on their number);
its NOT_FOUND POs are unknown (404, left out of lists). Filters, ``fields=`` and paging
work on every list (:mod:`.query`); ``fields=`` on single records too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from coupadl.simulator.api.catalog import PO, REQUISITION, Catalog, CommentRef, Document
from coupadl.simulator.api.guard import api_endpoint, error
from coupadl.simulator.api.query import QueryError, page, parse_filter, shape
from coupadl.simulator.api.records import (
    comment_attachments,
    comment_record,
    document_record,
    header_attachments,
)
from coupadl.simulator.api.state import api_state
from coupadl.simulator.data.model import SimFile
from coupadl.simulator.routes.files import serve_file
from coupadl.simulator.sim_state import state_of
from coupadl.simulator.transfer import FaultyBody

_NAMES = {PO: "purchase order", REQUISITION: "requisition"}
_NUMBER_KEYS = {PO: (("po-number",), ("id",)), REQUISITION: (("id",),)}


def _params(request: Request) -> list[tuple[str, str]]:
    return request.query_params.multi_items()


def _answer(build: Callable[[], Any]) -> Response:
    try:
        return JSONResponse(build())
    except QueryError as exc:
        return error(400, "invalid_request", str(exc))


def _denied(kind: str, key: str, catalog: Catalog) -> Response | None:
    if kind == PO and key.isdigit() and int(key) in catalog.denied:
        return error(403, "forbidden", "you may not read this purchase order")
    return None


def _document(request: Request, kind: str) -> Document | Response:
    """The path's PO or requisition, or the 403/404 answer."""
    catalog = api_state(request).catalog
    key = request.path_params["doc_id"]
    if (refused := _denied(kind, key, catalog)) is not None:
        return refused
    document = catalog.document(kind, key)
    if document is None:
        return error(404, "not_found", f"no {_NAMES[kind]} {key}")
    return document


def _sizes(request: Request) -> Callable[[SimFile], int]:
    store = state_of(request).store
    return lambda sim: store.digest(sim)[0]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _list(kind: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        catalog, params = api_state(request).catalog, _params(request)
        for key, value in params:  # a list asked for a denied PO by number is refused
            wanted = parse_filter(key, value)
            by_number = wanted and not wanted.op and wanted.path in _NUMBER_KEYS[kind]
            if by_number and (refused := _denied(kind, value, catalog)) is not None:
                return refused
        return _answer(lambda: page(catalog.records(kind, document_record), params))

    handler.__name__ = f"{kind}_list"
    return api_endpoint()(handler)


def _record(kind: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        found = _document(request, kind)
        if isinstance(found, Response):
            return found
        return _answer(lambda: shape(document_record(found), _params(request)))

    handler.__name__ = f"{kind}_record"
    return api_endpoint()(handler)


def _attachments(kind: str, *, one: bool) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        found = _document(request, kind)
        if isinstance(found, Response):
            return found
        seed = api_state(request).catalog.seed
        items = await run_in_threadpool(
            header_attachments, found, _base(request), seed, _sizes(request)
        )
        if not one:
            return _answer(lambda: page(items, _params(request)))
        att_id = request.path_params["att_id"]
        item = next((i for i in items if str(i["id"]) == att_id), None)
        if item is None:
            return error(404, "not_found", f"no attachment {att_id} on this {_NAMES[kind]}")
        return _answer(lambda: shape(item, _params(request)))

    handler.__name__ = f"{kind}_attachment" + ("" if one else "s")
    return api_endpoint()(handler)


def _comments(kind: str) -> Callable[[Request], Any]:
    async def handler(request: Request) -> Response:
        found = _document(request, kind)
        if isinstance(found, Response):
            return found
        comments = api_state(request).catalog.comments
        records = [comment_record(comments[cid]) for cid in found.comment_ids]
        return _answer(lambda: page(records, _params(request)))

    handler.__name__ = f"{kind}_comments"
    return api_endpoint()(handler)


def _comment(request: Request) -> CommentRef | Response:
    key = request.path_params["comment_id"]
    ref = api_state(request).catalog.comments.get(int(key)) if key.isdigit() else None
    return ref if ref is not None else error(404, "not_found", f"no comment {key}")


@api_endpoint()
async def comment(request: Request) -> Response:
    found = _comment(request)
    if isinstance(found, Response):
        return found
    return _answer(lambda: shape(comment_record(found), _params(request)))


@api_endpoint()
async def comment_files(request: Request) -> Response:
    found = _comment(request)
    if isinstance(found, Response):
        return found
    seed = api_state(request).catalog.seed
    items = await run_in_threadpool(
        comment_attachments, found, _base(request), seed, _sizes(request)
    )
    return _answer(lambda: page(items, _params(request)))


@api_endpoint(files=True)
async def file_bytes(request: Request) -> Response | FaultyBody:
    """A ``file-url``: the same bytes, headers and file knobs as the web's file URL."""
    file_id = request.path_params["file_id"]
    if file_id not in state_of(request).dataset.files:
        return error(404, "not_found", f"no attachment file {file_id}")
    return await serve_file(request)


po_list, po_record = _list(PO), _record(PO)
po_attachments, po_attachment = _attachments(PO, one=False), _attachments(PO, one=True)
po_comments = _comments(PO)
requisition_list, requisition_record = _list(REQUISITION), _record(REQUISITION)
requisition_attachments = _attachments(REQUISITION, one=False)
requisition_attachment = _attachments(REQUISITION, one=True)
requisition_comments = _comments(REQUISITION)
