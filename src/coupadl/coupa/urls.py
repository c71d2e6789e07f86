"""Tenant URLs, and the question the browser layer keeps asking: is this a sign-in page?

The base URL is configuration (``https://<company>.coupahost.com``), never a constant.
"""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, unquote, urlsplit

_WEB_SCHEMES = frozenset({"http", "https"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Tenant paths (relative to the base URL) where a person signs in or is sent to sign in:
# Coupa's native form lives under /sessions; the others are common login routes of SSO
# front doors and Rails apps, kept so a tenant variant is not mistaken for a PO page.
_LOGIN_PATHS = ("/sessions", "/login", "/signin", "/sign_in", "/users/sign_in", "/saml", "/sso")
# Under /sessions but not a page anyone signs in on: the session timer's JSON poll.
SESSION_CHECK_PATH = "/sessions/expiration_check"
_NOT_LOGIN_PATHS = frozenset({SESSION_CHECK_PATH})


# Where an attachment's id shows in its URL (coupa-facts.md): the web's file links
# (``/attachment/attachment_file/file/<id>/<name>``, ``.../type/<id>/...``), attachment
# records (``/attachments/<id>``, the API's ``/api/.../attachments/<id>``), and the
# ``coupa-id`` of the data URLs the API engine makes of links and notes.
_ATTACHMENT_PATH_IDS = (
    re.compile(r"/attachment_file/(?:file|type)/(\d+)(?:/|$)"),
    re.compile(r"/attachments/(\d+)(?:/|$)"),
)
_DATA_URL_ID = re.compile(r"data:[^,]*;coupa-id=([^;,]+)")


def _base(base_url: str) -> str:
    return base_url.strip().rstrip("/")


def po_id_for_number(po_number: str) -> str:
    """The ``order_headers`` id of a normalised PO number.

    On the tenants seen so far the id is the PO number; Coupa does not promise it, so
    this is the one place to change when a tenant differs.
    """
    return po_number


def po_url(base_url: str, po_id: str) -> str:
    """``{base}/order_headers/{id}``: the PO page."""
    return f"{_base(base_url)}/order_headers/{quote(str(po_id), safe='')}"


def requisition_url(base_url: str, req_id: str) -> str:
    """``{base}/requisition_headers/{id}``: the requisition page."""
    return f"{_base(base_url)}/requisition_headers/{quote(str(req_id), safe='')}"


def attachment_id(url: str) -> str | None:
    """The attachment's id in its URL, or None when the URL shows none. One file keeps
    its id while it is attached, so a refresh knows a file it has from one it has not."""
    if url.startswith("data:"):
        found = _DATA_URL_ID.match(url)
        return unquote(found.group(1)) if found else None
    path = urlsplit(url).path
    for pattern in _ATTACHMENT_PATH_IDS:
        if found := pattern.search(path):
            return found.group(1)
    return None


def session_check_url(base_url: str) -> str:
    """``{base}/sessions/expiration_check``: the JSON every Coupa page polls for its
    session (coupa-facts.md); far cheaper to load than a page."""
    return f"{_base(base_url)}{SESSION_CHECK_PATH}"


def _origin(parts: SplitResult) -> tuple[str, int | None]:
    """Host and port, with a scheme's default port as ``None`` so http/https match."""
    try:
        port = parts.port
    except ValueError:  # a malformed port is no port we could have been sent to
        port = None
    if port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        port = None
    return (parts.hostname or "").lower(), port


def _path_in_tenant(path: str, base_path: str) -> str | None:
    """``path`` relative to the base URL's path, or ``None`` when it lies outside it."""
    if not base_path:
        return path
    if path == base_path or path.startswith(base_path + "/"):
        return path[len(base_path) :]
    return None


def same_tenant(url: str, base_url: str) -> bool:
    """True when ``url`` is a page of the tenant at ``base_url``.

    A relative URL counts as the tenant's (the browser resolves it against the tenant);
    non-web URLs (``about:blank``, ``data:``, ``chrome-error://``) do not.
    """
    parts = urlsplit(url.strip())
    if not parts.scheme and not parts.netloc:
        return True
    if parts.scheme and parts.scheme.lower() not in _WEB_SCHEMES:
        return False
    base = urlsplit(_base(base_url))
    if _origin(parts) != _origin(base):
        return False
    return _path_in_tenant(parts.path, base.path) is not None


def is_sign_in_url(url: str, base_url: str) -> bool:
    """True when the browser at ``url`` is being asked to sign in.

    That is a tenant login path (``/sessions/new``, ``/sessions``, ``/login``, ...) or
    any web page on another host: an anonymous request to an SSO tenant is redirected
    to the identity provider (login.microsoftonline.com, Okta, ...). Browser-internal
    pages such as ``about:blank`` are not sign-in pages.
    """
    parts = urlsplit(url.strip())
    if parts.scheme and parts.scheme.lower() not in _WEB_SCHEMES:
        return False
    if not same_tenant(url, base_url):
        return True
    base_path = urlsplit(_base(base_url)).path
    relative = (_path_in_tenant(parts.path, base_path) or "").lower().rstrip("/")
    if relative in _NOT_LOGIN_PATHS:
        return False
    return any(relative == p or relative.startswith(p + "/") for p in _LOGIN_PATHS)
