"""Broken file responses and files served from another host, for hostile-server tests.

Knobs (``simulator/faults.py``), settable over ``/__sim__/control``:

* ``file_faults``: ``{"<file id>": "<fault>"}``, the file id as in the manifest's URLs:

  - ``empty``: 200 with a zero-byte body;
  - ``html``: 200 with an HTML error page under the file's own name and type;
  - ``short``: Content-Length and body cut to half the file: a transfer that looks
    complete but is truncated;
  - ``long``: Content-Length claims :data:`LONG_EXTRA` bytes more than the file, the
    whole file is sent, then the connection closes;
  - ``redirect``: 302 to the same file on ``redirect_host`` (a host the downloader has
    no reason to trust).

* ``file_host``: every file is answered with a 302 to a signed, cookie-less URL on this
  host name (same port), the way tenants that keep files on an S3-like store do.

Host names must be loopback names (``localhost``, ``*.localhost``, ``127.x.x.x``):
Chromium resolves ``*.localhost`` to this computer by itself, so tests reach the one
simulator under several host names without touching DNS or binding other addresses.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import time
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from coupadl.simulator.data import SimFile

FILE_FAULTS = ("empty", "html", "short", "long", "redirect")
LONG_EXTRA = 4096
SIGNED_PREFIX = "/files/signed"
SIGNED_TTL = 300.0
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")

ERROR_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Error</title></head><body>"
    b"<h1>Something went wrong</h1><p>The file could not be retrieved. Please try again "
    b"later.</p></body></html>\n"
)


def check_file_faults(value: Any) -> dict[str, str]:
    """A ``file_faults`` knob value: file ids (digits) mapped to known faults."""
    if not isinstance(value, dict):
        raise ValueError('file_faults must be an object like {"27350003": "html"}')
    checked: dict[str, str] = {}
    for key, fault in value.items():
        if not str(key).isdigit():
            raise ValueError(f"file_faults: {key!r} is not a file id")
        if fault not in FILE_FAULTS:
            raise ValueError(f"file_faults: {fault!r} is not one of {list(FILE_FAULTS)}")
        checked[str(key)] = fault
    return checked


def check_host(value: Any) -> str:
    """A loopback host name for ``file_host``/``redirect_host``."""
    host = str(value).strip().lower()
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or (
            host.endswith(".localhost") and _HOST.fullmatch(host) is not None
        )
    if not loopback:
        raise ValueError(f"{value!r} is not a loopback host name (localhost, *.localhost)")
    return host


# --- signed URLs -----------------------------------------------------------------------------


def _secret(seed: int) -> bytes:
    return hashlib.sha256(f"coupa-sim-files:{seed}".encode()).digest()


def _signature(seed: int, file_id: int, expires: int) -> str:
    message = f"{file_id}:{expires}".encode()
    return hmac.new(_secret(seed), message, hashlib.sha256).hexdigest()


def signed_url(request: Request, host: str, sim: SimFile, seed: int) -> str:
    """A cookie-less URL for ``sim`` on ``host`` (same scheme and port as ``request``)."""
    expires = int(time.time() + SIGNED_TTL)
    query = urlencode({"expires": expires, "sig": _signature(seed, sim.file_id, expires)})
    port = f":{request.url.port}" if request.url.port else ""
    name = quote(sim.name, safe="")
    return f"{request.url.scheme}://{host}{port}{SIGNED_PREFIX}/{sim.file_id}/{name}?{query}"


def signature_ok(request: Request, file_id: int, seed: int) -> bool:
    expires = request.query_params.get("expires", "")
    signature = request.query_params.get("sig", "")
    if not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(signature, _signature(seed, file_id, int(expires)))


# --- what a file request gets ----------------------------------------------------------------


def fault_of(knobs: Any, sim: SimFile) -> str | None:
    faults: dict[str, str] | None = knobs.file_faults
    return faults.get(str(sim.file_id)) if faults else None


def redirect_for(request: Request, sim: SimFile, knobs: Any, seed: int) -> Response | None:
    """The 302 a file request on the tenant gets instead of the file, or None."""
    if request.url.path.startswith(SIGNED_PREFIX):
        return None  # already on the file host
    if fault_of(knobs, sim) == "redirect":
        return RedirectResponse(signed_url(request, knobs.redirect_host, sim, seed), 302)
    if knobs.file_host:
        return RedirectResponse(signed_url(request, knobs.file_host, sim, seed), 302)
    return None


def broken_body(
    sim: SimFile, data: bytes, headers: list[tuple[bytes, bytes]], knobs: Any
) -> tuple[bytes, list[tuple[bytes, bytes]], int]:
    """``(body, headers, extra bytes the Content-Length claims)`` for a file's fault."""
    fault = fault_of(knobs, sim)
    if fault == "empty":
        return b"", headers, 0
    if fault == "html":
        typed = [(k, v) for k, v in headers if k != b"content-type"]
        return ERROR_PAGE, [(b"content-type", b"text/html; charset=utf-8"), *typed], 0
    if fault == "short":
        return data[: len(data) // 2], headers, 0
    if fault == "long":
        return data, headers, LONG_EXTRA
    return data, headers, 0
