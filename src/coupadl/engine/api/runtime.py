"""What every REST API handler of one process shares: the HTTP client, the politeness
(the same token bucket and 429 gate as the http engine's), the OAuth token, the
download threads. A :class:`~coupadl.engine.http.transport.Transport`, so the http
engine's fetcher downloads the files.

The bearer token goes to the tenant's host only: a file URL that redirects to a file
host (a signed URL) gets no credentials, as a browser's would not.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from coupadl import __version__
from coupadl.engine.api.secret import client_secret
from coupadl.engine.api.token import Credentials, TokenSource
from coupadl.engine.hosts import HostPolicy
from coupadl.engine.http.answers import host_of, retry_after
from coupadl.engine.http.client import build_client, download_threads
from coupadl.engine.http.politeness import Politeness
from coupadl.engine.http.traffic import COUNTERS
from coupadl.engine.shared import Shared, run_key
from coupadl.errors import AuthRequiredError, ConfigError
from coupadl.execution.ratelimit import pause_seconds
from coupadl.execution.retry import backoff_delay
from coupadl.settings import Settings

log = logging.getLogger(__name__)

ACCEPT_JSON = "application/json"
USER_AGENT = f"coupadl/{__version__} (Coupa REST API client)"


def credentials_of(settings: Settings) -> Credentials:
    """The OAuth client of ``settings``; :class:`ConfigError` naming what is missing."""
    client_id = (settings.api_client_id or "").strip()
    if not client_id:
        raise ConfigError(
            "engine 'api' needs an OAuth client: set api_client_id (COUPA_API_CLIENT_ID) "
            "and api_client_secret (COUPA_API_CLIENT_SECRET, or 'coupadl login --api')"
        )
    return Credentials(client_id, client_secret(settings, client_id), settings.api_scopes)


class ApiRuntime:
    """The shared parts; made and closed through :func:`acquire` and :func:`release`."""

    def __init__(self, settings: Settings) -> None:
        credentials = credentials_of(settings)  # first: nothing to close when it fails
        self.settings = settings
        self.key = run_key(settings)
        self.base = settings.require_base_url()
        self.policy = HostPolicy(self.base, settings.file_hosts)
        self.politeness = Politeness(settings.rate_limit_rps, settings.rate_limit_burst)
        self.client = build_client(settings, USER_AGENT)
        self.downloads = ThreadPoolExecutor(
            download_threads(settings), thread_name_prefix="coupadl-api-download"
        )
        self.tokens = TokenSource(self.base, credentials, self._post, self._again)

    def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        self.politeness.wait_turn()  # the token endpoint counts toward the limit too
        response = self.client.post(url, **kwargs)
        COUNTERS.answered(response.status_code)
        return response

    def _again(self, answer: httpx.Response, attempt: int) -> bool:
        """After a 429 or 5xx from the token endpoint: wait as for any request (the
        shared gate for a 429, the retry backoff for a 5xx) and ask again: at most
        ``max_retries`` times in all, or twice that when Coupa only asks to wait."""
        settings = self.settings
        limit = settings.max_retries * (2 if answer.status_code == 429 else 1)
        if attempt > limit:
            return False
        if answer.status_code == 429:
            wait = pause_seconds(
                retry_after(answer), settings.rate_limit_pause, settings.rate_limit_max_pause
            )
            self.politeness.gate.close_for(wait)  # the next _post waits its turn
            log.warning("the Coupa API's token endpoint answered 429: waiting %.0f s", wait)
        else:
            wait = backoff_delay(attempt, settings.retry_backoff, settings.retry_backoff_max)
            log.warning("the Coupa API's token endpoint answered HTTP %d: again in %.1f s",
                        answer.status_code, wait)  # fmt: skip
            time.sleep(wait)
        return True

    def send(
        self,
        url: str,
        *,
        stream: bool = False,
        timeout: httpx.Timeout | None = None,
        accept: str = ACCEPT_JSON,
    ) -> httpx.Response:
        """One GET of ``url`` with the bearer token (on the tenant's host). A 401 gets
        one new token and one more try; a second 401 is :class:`AuthRequiredError`."""
        on_tenant = host_of(url) == self.policy.tenant
        for _ in range(2):
            self.politeness.wait_turn()  # first: a token taken before a wait may expire in it
            token = self.tokens.bearer() if on_tenant else ""
            response = self._get(url, token, stream, timeout, accept)
            if response.status_code != 401 or not on_tenant:
                return response
            response.close()
            self.tokens.refused(token)
        raise AuthRequiredError(
            f"the Coupa API refused a fresh token of OAuth client {self.tokens.client_id} "
            "(HTTP 401 twice): the client may have been revoked or lost its access"
        )

    def _get(
        self, url: str, token: str, stream: bool, timeout: httpx.Timeout | None, accept: str
    ) -> httpx.Response:
        headers = {"Accept": accept}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = self.client.build_request(
            "GET", url, headers=headers, timeout=timeout or httpx.USE_CLIENT_DEFAULT
        )
        response = self.client.send(request, stream=stream)
        COUNTERS.answered(response.status_code)
        return response

    def close(self) -> None:
        self.politeness.stop()
        self.downloads.shutdown(wait=True, cancel_futures=True)
        self.client.close()


_runtimes: Shared[ApiRuntime] = Shared()


def acquire(settings: Settings) -> ApiRuntime:
    return _runtimes.acquire(run_key(settings), lambda: ApiRuntime(settings))


def release(runtime: ApiRuntime) -> None:
    _runtimes.release(runtime.key, runtime, ApiRuntime.close)
