"""Attachment downloads over plain HTTP: :class:`HttpFetcher` (a Fetcher).

:meth:`HttpFetcher.start` checks the link's host and hands the download to the
process's download threads, so a PO's files arrive side by side; :meth:`finish` waits
for one, calling ``on_growth`` while bytes arrive. A download is a streamed GET through
the shared politeness, its redirects followed hop by hop to allowed hosts only (the
tenant's and ``file_hosts``), its body written to ``staging/<name>`` with a no-progress
limit (``download_stall_timeout``) and a whole-file limit (``download_timeout``),
checked against Content-Length, flushed and fsynced. The flow then verifies and moves
it (engine/po.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from coupadl.coupa.urls import is_sign_in_url, same_tenant
from coupadl.engine.hosts import redact
from coupadl.engine.http.answers import MAX_HOPS, host_of, redirect_target, retry_after
from coupadl.engine.http.client import ACCEPT_ANY, body_timeout
from coupadl.engine.http.traffic import COUNTERS
from coupadl.engine.http.transport import Transport
from coupadl.errors import AuthRequiredError, DownloadError, DownloadTimeout
from coupadl.execution.ratelimit import pause_seconds
from coupadl.models import Attachment

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # how often finish() looks at the byte counter


@dataclass
class Transfer:
    """One download under way (the pending handle of :class:`HttpFetcher`)."""

    name: str
    target: Path
    cancel: threading.Event = field(default_factory=threading.Event)
    received: int = 0  # bytes of the body so far (written by the download thread only)
    future: Future[Path] | None = None


class HttpFetcher:
    """The Fetcher of one PO attempt; :meth:`abandon` stops what it left running."""

    def __init__(self, runtime: Transport) -> None:
        self.runtime = runtime
        self._transfers: list[Transfer] = []

    def start(self, attachment: Attachment, name: str, staging: Path) -> Transfer:
        url, policy = attachment.url, self.runtime.policy
        if not policy.allows(url):
            raise DownloadError(f"{name}: not downloaded: the link points to {policy.refusal(url)}")
        scheme = urlsplit(url).scheme.lower()
        if scheme not in ("http", "https"):
            raise DownloadError(f"{name}: a {scheme}: link cannot be fetched without a browser")
        transfer = Transfer(name, staging / name)
        transfer.future = self.runtime.downloads.submit(download, self.runtime, url, transfer)
        self._transfers.append(transfer)
        return transfer

    def finish(self, pending: Transfer, on_growth: Callable[[], None]) -> Path:
        assert pending.future is not None
        seen = 0
        while True:
            try:
                return pending.future.result(timeout=POLL_SECONDS)
            except TimeoutError:
                if pending.received > seen:
                    seen = pending.received
                    on_growth()

    def abandon(self) -> None:
        """Stop the downloads still running (a PO that ended early) and wait for them,
        so nothing writes into its folder afterwards."""
        running = [t for t in self._transfers if t.future is not None and not t.future.done()]
        self._transfers = []
        if not running:
            return
        for transfer in running:
            transfer.cancel.set()
        limit = self.runtime.settings.download_stall_timeout + 5
        _, left = wait([t.future for t in running if t.future is not None], timeout=limit)
        if left:
            log.warning("%d abandoned download(s) still running after %.0f s", len(left), limit)


def download(runtime: Transport, url: str, transfer: Transfer) -> Path:
    """Fetch ``url`` (its redirects checked hop by hop) into ``transfer.target``."""
    settings = runtime.settings
    deadline = time.monotonic() + settings.download_timeout
    name = transfer.name
    for _ in range(MAX_HOPS):
        try:
            response = runtime.send(
                url, stream=True, timeout=body_timeout(settings), accept=ACCEPT_ANY
            )
        except httpx.TimeoutException as exc:
            raise DownloadTimeout(
                f"the server did not answer within {settings.page_timeout:.0f} s"
            ) from exc
        except httpx.TransportError as exc:
            raise DownloadError(f"{name}: the connection to {host_of(url)} failed ({exc})") from exc
        try:
            target = redirect_target(response, url)
            if target is None:
                _check_status(runtime, response, url, name)
                _write_body(runtime, response, transfer, deadline)
                return transfer.target
            _check_hop(runtime, url, target, name)
            url = target
        finally:
            response.close()
    raise DownloadError(f"{name}: more than {MAX_HOPS} redirects")


def _check_hop(runtime: Transport, url: str, target: str, name: str) -> None:
    """A redirect of a download may go to Coupa's sign-in (the session expired: sign in
    again) or to an allowed host; anything else is refused."""
    if same_tenant(target, runtime.base) and is_sign_in_url(target, runtime.base):
        raise AuthRequiredError(f"{name}: the download was sent to Coupa's sign-in page")
    if not runtime.policy.allows(target):
        log.warning("refused a redirect of the download %s to %s", redact(url), redact(target))
        raise DownloadError(
            f"{name}: the server redirected the download to {host_of(target)}; refused: "
            f"{runtime.policy.refusal(target)}"
        )


def _check_status(runtime: Transport, response: httpx.Response, url: str, name: str) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    on_tenant = host_of(url) == runtime.policy.tenant
    if status == 401 and on_tenant:
        raise AuthRequiredError(f"{name}: Coupa answered HTTP 401: not signed in")
    if status == 429:
        settings = runtime.settings
        asked = retry_after(response)
        wait_s = pause_seconds(asked, settings.rate_limit_pause, settings.rate_limit_max_pause)
        if runtime.politeness.gate.close_for(wait_s):
            log.warning("HTTP 429 on a download: every request waits %.0f s", wait_s)
        raise DownloadError(
            f"{name}: the server answered 429 Too Many Requests (every request waits "
            f"{wait_s:.0f} s)"
        )
    hint = "; a signed file URL may have expired" if status == 403 and not on_tenant else ""
    raise DownloadError(f"{name}: the server answered HTTP {status}{hint}")


def _write_body(
    runtime: Transport, response: httpx.Response, transfer: Transfer, deadline: float
) -> None:
    settings, name = runtime.settings, transfer.name
    announced = _content_length(response)
    with transfer.target.open("wb") as out:
        try:
            for chunk in response.iter_bytes():  # as it arrives: progress is seen
                if transfer.cancel.is_set():
                    raise DownloadError(f"{name}: abandoned: the PO ended before it")
                out.write(chunk)
                COUNTERS.received(len(chunk))
                transfer.received = response.num_bytes_downloaded
                if time.monotonic() > deadline:
                    raise DownloadTimeout(
                        f"the download took longer than {settings.download_timeout:.0f} s"
                    )
        except httpx.TimeoutException as exc:
            raise DownloadTimeout(
                f"no data for {settings.download_stall_timeout:.0f} s after "
                f"{response.num_bytes_downloaded:,} bytes"
            ) from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise _cut(name, response.num_bytes_downloaded, announced, exc) from exc
        out.flush()
        os.fsync(out.fileno())
    if announced is not None and response.num_bytes_downloaded < announced:
        raise _cut(name, response.num_bytes_downloaded, announced, None)


def _content_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "")
    return int(value) if value.strip().isdigit() else None


def _cut(name: str, received: int, announced: int | None, exc: Exception | None) -> DownloadError:
    if announced is not None:
        return DownloadError(
            f"{name}: the connection closed after {received:,} of the {announced:,} bytes "
            "the server announced"
        )
    why = f" ({type(exc).__name__})" if exc is not None else ""
    return DownloadError(f"{name}: the connection closed after {received:,} bytes{why}")
