"""File sizes without the files: a HEAD request per attachment URL (``--dry-run``).

Each HEAD goes like every request of the engine: through the shared politeness (token
bucket and 429 gate), with the cookies a browser would send to that host (cookies.py),
on the shared client, side by side on the download threads. Only URLs the host policy
allows are asked (a link to any other host would get nothing a run would fetch). A
redirect is not followed (it may end on a sign-in page or another host: its length
is not the file's), so a redirect, a non-2xx answer, a failure or an answer without
Content-Length gives None: size unknown.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import Future
from urllib.parse import urlsplit

import httpx

from coupadl.engine.hosts import redact
from coupadl.engine.http.answers import retry_after
from coupadl.engine.http.client import ACCEPT_ANY, page_timeout
from coupadl.engine.http.runtime import HttpRuntime
from coupadl.execution.ratelimit import pause_seconds

log = logging.getLogger(__name__)


def head_sizes(runtime: HttpRuntime, urls: Sequence[str]) -> list[int | None]:
    """The Content-Length of each URL (None where unknown), in the order given."""
    asks: list[Future[int | None] | None] = [
        runtime.downloads.submit(head_size, runtime, url) if _askable(runtime, url) else None
        for url in urls
    ]
    return [None if ask is None else ask.result() for ask in asks]


def _askable(runtime: HttpRuntime, url: str) -> bool:
    scheme = urlsplit(url).scheme.lower()
    return scheme in ("http", "https") and runtime.policy.allows(url)


def head_size(runtime: HttpRuntime, url: str) -> int | None:
    """One HEAD of ``url``: its Content-Length, or None (logged) when it does not tell."""
    runtime.politeness.wait_turn()
    headers = {"Accept": ACCEPT_ANY}
    if cookie := runtime.cookies.header_for(url):
        headers["Cookie"] = cookie
    request = runtime.client.build_request(
        "HEAD", url, headers=headers, timeout=page_timeout(runtime.settings)
    )
    try:
        response = runtime.client.send(request)
    except httpx.HTTPError as exc:
        log.warning("no size for %s: %s", redact(url), type(exc).__name__)
        return None
    runtime.cookies.store(url, response.headers.get_list("set-cookie"))
    status = response.status_code
    if status == 429:
        _close_gate(runtime, response)
    if not 200 <= status < 300:
        log.info("no size for %s: HTTP %d", redact(url), status)
        return None
    length = response.headers.get("content-length", "").strip()
    if not length.isdigit():
        log.info("no size for %s: no Content-Length", redact(url))
        return None
    return int(length)


def _close_gate(runtime: HttpRuntime, response: httpx.Response) -> None:
    """A 429 on a HEAD holds every request of the process, as one on a page does."""
    settings = runtime.settings
    wait = pause_seconds(
        retry_after(response), settings.rate_limit_pause, settings.rate_limit_max_pause
    )
    if runtime.politeness.gate.close_for(wait):
        log.warning("HTTP 429 on a size request: every request waits %.0f s", wait)
