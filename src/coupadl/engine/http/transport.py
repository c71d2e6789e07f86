"""What the HTTP download and page code needs of an engine's shared runtime.

Two runtimes have it: the http engine's (the browser's cookies, runtime.py) and the
REST API engine's (a bearer token, ``engine/api/runtime.py``). The fetcher (fetcher.py)
and the 429 handling (records.py) are written against this protocol, once.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import httpx

from coupadl.engine.hosts import HostPolicy
from coupadl.engine.http.politeness import Politeness
from coupadl.settings import Settings


class Transport(Protocol):
    settings: Settings
    base: str
    policy: HostPolicy
    politeness: Politeness
    downloads: ThreadPoolExecutor

    def send(
        self,
        url: str,
        *,
        stream: bool = False,
        timeout: httpx.Timeout | None = None,
        accept: str = ...,
    ) -> httpx.Response:
        """One GET of ``url`` once the politeness lets it go, with the credentials the
        engine sends there. No redirect is followed."""
