"""What an HTTP answer or failure means, the same for pages and files: redirect targets,
the wait a 429 names, and transport failures as coupadl's typed errors.

Messages name hosts and paths (``hosts.redact``), never a query: signed file URLs
carry their secret there.
"""

from __future__ import annotations

import ssl
import time
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from coupadl.engine.hosts import redact
from coupadl.errors import NetworkError

MAX_HOPS = 10  # redirects followed for one request, as a browser stops a loop
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def redirect_target(response: httpx.Response, url: str) -> str | None:
    """Where a redirect answer to ``url`` points (absolute), or None: no redirect."""
    location = response.headers.get("location")
    if response.status_code not in REDIRECTS or not location:
        return None
    return urljoin(url, location.strip())


def retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the ``Retry-After`` header asks for (a number or an HTTP date), or None."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def host_of(url: str) -> str:
    return urlsplit(url).hostname or url[:60]


def _untrusted_certificate(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # the cause chain: httpx -> httpcore -> ssl
        if seen is None:
            return False
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def network_error(exc: httpx.TransportError, url: str) -> NetworkError:
    """A connection that failed (refused, reset, proxy, TLS) as a NetworkError."""
    host = host_of(url)
    if _untrusted_certificate(exc):
        return NetworkError(
            f"the TLS certificate of {host} is not trusted ({exc}). Behind a TLS-inspecting "
            "proxy, set ca_bundle (COUPA_CA_BUNDLE) to a PEM file of its root certificate."
        )
    what = type(exc).__name__
    return NetworkError(f"the connection to {host} failed ({what}: {exc}) on {redact(url)}")
