"""What every http handler of one process shares: the client, the politeness (token
bucket and 429 gate), the session's cookies, the download threads, the fallback
browser and the run's checks against it (checking.py).

Several handlers run in threads of one process (the threaded executor), each made by
the factory with the same settings; the first to start creates the runtime, the others
join it, and the last to close closes it (reference counted). A new session imported
on any handler is the session of all of them.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from coupadl.engine.hosts import HostPolicy
from coupadl.engine.http.checking import CheckLedger
from coupadl.engine.http.client import (
    ACCEPT_HTML,
    FALLBACK_USER_AGENT,
    build_client,
    download_threads,
)
from coupadl.engine.http.cookies import CookieStore
from coupadl.engine.http.fallback import FallbackBrowser
from coupadl.engine.http.politeness import Politeness
from coupadl.engine.http.session import HttpSession, as_http_session
from coupadl.engine.http.traffic import COUNTERS
from coupadl.engine.shared import Shared, run_key
from coupadl.settings import Settings

log = logging.getLogger(__name__)


class HttpRuntime:
    """The shared parts; made and closed through :func:`acquire` and :func:`release`."""

    def __init__(self, settings: Settings, session: HttpSession, user_agent: str) -> None:
        self.settings = settings
        self.key = run_key(settings)
        self.base = settings.require_base_url()
        self.policy = HostPolicy(self.base, settings.file_hosts)
        self.user_agent = user_agent
        self.cookies = CookieStore(session.cookies)
        self.politeness = Politeness(settings.rate_limit_rps, settings.rate_limit_burst)
        self.client = build_client(settings, user_agent)
        self.downloads = ThreadPoolExecutor(
            download_threads(settings), thread_name_prefix="coupadl-download"
        )
        self.fallback = FallbackBrowser(settings)
        self.checks = CheckLedger(settings.auto_check_every)  # used with engine = auto

    def send(
        self,
        url: str,
        *,
        stream: bool = False,
        timeout: httpx.Timeout | None = None,
        accept: str = ACCEPT_HTML,
    ) -> httpx.Response:
        """One GET of ``url`` once the politeness lets it go, with the cookies a browser
        would send there; cookies the answer sets are kept. No redirect is followed.
        Raises httpx's errors: the caller says what they mean for it."""
        self.politeness.wait_turn()
        headers = {"Accept": accept}
        if cookie := self.cookies.header_for(url):
            headers["Cookie"] = cookie
        request = self.client.build_request(
            "GET", url, headers=headers, timeout=timeout or httpx.USE_CLIENT_DEFAULT
        )
        response = self.client.send(request, stream=stream)
        COUNTERS.answered(response.status_code)
        self.cookies.store(url, response.headers.get_list("set-cookie"))
        return response

    def import_session(self, data: Any) -> None:
        """Every handler's cookies from now on: a new sign-in's."""
        session = as_http_session(data)
        self.cookies.replace(session.cookies)
        self.fallback.import_cookies(session.cookies)
        # Counts only: cookie values are credentials.
        log.info("the http engine took a new session (%d cookie(s))", len(session.cookies))

    def close(self) -> None:
        self.politeness.stop()  # wakes requests waiting for their turn
        self.downloads.shutdown(wait=True, cancel_futures=True)
        self.fallback.close()
        self.client.close()


_runtimes: Shared[HttpRuntime] = Shared()
_last_user_agent = ""  # a session given as a plain cookie list has none


def acquire(settings: Settings, session: Any) -> HttpRuntime:
    """The process's runtime for ``settings`` (made with ``session`` when none is
    running; a running one keeps its own cookies, which may be newer)."""
    return _runtimes.acquire(run_key(settings), lambda: _new_runtime(settings, session))


def _new_runtime(settings: Settings, session: Any) -> HttpRuntime:
    global _last_user_agent
    data = as_http_session(session)
    agent = data.user_agent or _last_user_agent
    if not agent:
        log.info("no user agent known from the browser; sending a desktop Chrome's")
        agent = FALLBACK_USER_AGENT
    _last_user_agent = agent
    runtime = HttpRuntime(settings, data, agent)
    log.info(
        "http engine ready: %d session cookie(s), %d for %s",
        len(runtime.cookies),
        runtime.cookies.count_for(runtime.policy.tenant),
        runtime.policy.tenant,
    )
    return runtime


def release(runtime: HttpRuntime) -> None:
    """One handler less; the last one closes the runtime."""
    _runtimes.release(runtime.key, runtime, HttpRuntime.close)
