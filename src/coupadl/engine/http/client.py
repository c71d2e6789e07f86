"""The one ``httpx.Client`` of a process, shared by every http handler thread.

httpx's sync client is thread-safe and keeps a pool of keep-alive connections (HTTP/2
where the server offers it, through ``h2``), sized from ``max_concurrency``. TLS trusts
what the operating system trusts (``truststore``: a corporate TLS-inspection root in
the OS store works as in the browser) plus ``ca_bundle``; proxies come from the
environment as httpx reads them. Redirects are never followed by httpx: the engine
follows them hop by hop and checks every host (records.py, fetcher.py). Cookies are
not httpx's either (cookies.py).
"""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import httpx
import truststore

from coupadl.engine.http.cookies import refusing_jar
from coupadl.errors import ConfigError
from coupadl.settings import Settings

# The only place these loggers are set. httpx logs every request's URL at INFO and
# httpcore, h2 and hpack log connections and headers at DEBUG: signed file URLs carry
# their secret in the query and the headers carry the session cookie, and a --verbose
# run (or a library user's root logger at DEBUG) would write them to the log. Selenium's
# WebDriver client logs every command's payload and answer at DEBUG: the cookies this
# engine reads (Network.getAllCookies) and gives its fallback browser (setCookies).
for _name in ("httpx", "httpcore", "h2", "hpack", "selenium.webdriver.remote.remote_connection"):
    logging.getLogger(_name).setLevel(logging.WARNING)

# What a Chromium navigation accepts: the tenant answers the browser's page, not an API's.
ACCEPT_HTML = (
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
    "image/apng,*/*;q=0.8"
)
ACCEPT_ANY = "*/*"
# When the session brings no user agent (a re-sign-in gives cookies only) and no earlier
# one is known: a current desktop Chrome's.
FALLBACK_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
_MAX_DOWNLOAD_THREADS = 64


def browser_user_agent(user_agent: str) -> str:
    """The headless browser's user agent as a windowed browser sends it."""
    return user_agent.replace("HeadlessChrome", "Chrome").strip() or FALLBACK_USER_AGENT


def in_flight_cap(settings: Settings) -> int:
    """The most POs a process of this run has in flight at once."""
    if settings.concurrency == "auto":
        return settings.max_concurrency
    return max(1, int(settings.concurrency))


def download_threads(settings: Settings) -> int:
    """Threads of the shared download pool: a few files of each PO in flight."""
    return min(_MAX_DOWNLOAD_THREADS, max(4, 2 * in_flight_cap(settings)))


def tls_context(ca_bundle: Path | None) -> ssl.SSLContext:
    """The OS trust store, plus the certificate authorities in ``ca_bundle``."""
    context = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_bundle is not None:
        try:
            context.load_verify_locations(cafile=str(ca_bundle))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"ca_bundle {ca_bundle} cannot be read as PEM certificates: {exc}"
            ) from exc
    return context


def page_timeout(settings: Settings) -> httpx.Timeout:
    """Connect, read, write and pool waits of a page request."""
    return httpx.Timeout(settings.page_timeout)


def body_timeout(settings: Settings) -> httpx.Timeout:
    """A file request: the read timeout is the no-progress limit of its body."""
    wait = settings.page_timeout
    return httpx.Timeout(wait, read=settings.download_stall_timeout)


def build_client(settings: Settings, user_agent: str) -> httpx.Client:
    """The client every request of this process goes through."""
    connections = in_flight_cap(settings) + download_threads(settings)
    return httpx.Client(
        http2=True,
        verify=tls_context(settings.ca_bundle),
        trust_env=True,
        follow_redirects=False,
        cookies=refusing_jar(),
        timeout=page_timeout(settings),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
        headers={
            "User-Agent": browser_user_agent(user_agent),
            "Accept": ACCEPT_HTML,
        },
    )
