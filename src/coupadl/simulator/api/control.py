"""The REST API's part of the control API: ``/__sim__/api/*`` (no sign-in, not counted).

``POST /__sim__/api/expire-tokens``: every token issued so far expires now;
``POST /__sim__/api/revoke``: every client's secret is wrong and every token unknown
(an administrator who revoked the OAuth client) until ``POST /__sim__/api/restore``;
``GET /__sim__/api``: ``{"revoked": true/false}``.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from coupadl.simulator.api.state import api_state
from coupadl.simulator.routes.control import CONTROL_PREFIX

log = logging.getLogger(__name__)

API_CONTROL = f"{CONTROL_PREFIX}/api"


async def status(request: Request) -> Response:
    return JSONResponse({"revoked": api_state(request).tokens.revoked})


async def expire_tokens(request: Request) -> Response:
    return JSONResponse({"expired": api_state(request).tokens.expire_all()})


async def revoke(request: Request) -> Response:
    api_state(request).tokens.revoke()
    log.info("simulator: API credentials revoked")
    return JSONResponse({"revoked": True})


async def restore(request: Request) -> Response:
    api_state(request).tokens.restore()
    log.info("simulator: API credentials restored")
    return JSONResponse({"revoked": False})
