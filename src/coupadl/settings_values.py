"""What some settings can take, and the defaults that need a computation; named here
so :mod:`coupadl.settings` stays the list of settings itself."""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from pathlib import Path

import platformdirs


def is_loopback_host(host: str | None) -> bool:
    """True for this computer: localhost, ``*.localhost``, 127.0.0.0/8, ::1."""
    host = (host or "").strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_profile_dir() -> Path:
    """Where ``coupadl login`` keeps the signed-in base browser profile."""
    return Path(platformdirs.user_data_dir("coupadl", appauthor=False)) / "base-profile"


class BrowserKind(StrEnum):
    CHROMIUM = "chromium"
    CHROME = "chrome"
    EDGE = "edge"


class RequisitionFallback(StrEnum):
    """When to add the requisition's attachments to a PO's folder."""

    NEVER = "never"
    NO_ATTACHMENTS = "no_attachments"  # only when the PO itself has none
    NO_PDF = "no_pdf"  # when the PO has no PDF among its files (includes none at all)


class EngineKind(StrEnum):
    """How a run reads Coupa's pages and downloads the files."""

    AUTO = "auto"  # plain HTTP with the signed-in session; the browser where HTTP cannot
    HTTP = "http"  # plain HTTP only (the browser signs in and is closed)
    BROWSER = "browser"  # a browser renders every PO
    API = "api"  # Coupa's REST API with an OAuth client: no browser at all


class LogFormat(StrEnum):
    """How ``log_file`` is written."""

    TEXT = "text"  # the same lines as the console without a terminal
    JSON = "json"  # one JSON object per line: PO results, pool events, warnings
