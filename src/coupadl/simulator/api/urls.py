"""The REST API's URL map, added to the tenant's by ``simulator/app.py``."""

from __future__ import annotations

from starlette.routing import Route

from coupadl.simulator.api import control, routes
from coupadl.simulator.api.control import API_CONTROL
from coupadl.simulator.api.oauth import TOKEN_PATH, token

API_PREFIXES = ("/api/", TOKEN_PATH)  # paths whose errors are JSON, never a sign-in

_PO = "/api/purchase_orders/{doc_id}"
_REQ = "/api/requisitions/{doc_id}"

API_ROUTES = [
    Route(TOKEN_PATH, token, methods=["POST"]),
    Route("/api/purchase_orders", routes.po_list),
    Route(_PO, routes.po_record),
    Route(f"{_PO}/attachments", routes.po_attachments),
    Route(f"{_PO}/attachments/{{att_id}}", routes.po_attachment),
    Route(f"{_PO}/comments", routes.po_comments),
    Route("/api/requisitions", routes.requisition_list),
    Route(_REQ, routes.requisition_record),
    Route(f"{_REQ}/attachments", routes.requisition_attachments),
    Route(f"{_REQ}/attachments/{{att_id}}", routes.requisition_attachment),
    Route(f"{_REQ}/comments", routes.requisition_comments),
    Route("/api/comments/{comment_id}", routes.comment),
    Route("/api/comments/{comment_id}/attachments", routes.comment_files),
    Route("/api/attachments/{file_id:int}/file", routes.file_bytes),
    Route(API_CONTROL, control.status),
    Route(f"{API_CONTROL}/expire-tokens", control.expire_tokens, methods=["POST"]),
    Route(f"{API_CONTROL}/revoke", control.revoke, methods=["POST"]),
    Route(f"{API_CONTROL}/restore", control.restore, methods=["POST"]),
]
