"""Every PO the REST API lists for some filters (``coupadl find``): page after page of
50 with ``offset`` until an answer holds fewer, each record checked against the filters
sent (``coupa.api.query``), through the API runtime (token, rate limit, 429 gate).

What an answer means here: 429 waits (the shared gate) and asks again; a 5xx, a timeout
or a failed connection is retried after the usual backoff, ``max_retries`` times; a 403
is a client that may not read POs (:class:`ApiScopeError`); a 404 a tenant without this
API. Records that do not match the filters are dropped, and one warning names the
filters the tenant seems to ignore.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from coupadl.coupa.api import paths
from coupadl.coupa.api.paths import PER_PAGE, Resource
from coupadl.coupa.api.query import Filters, failed_filters, page_params
from coupadl.coupa.api.records import ApiPO, read_po
from coupadl.coupa.page import PageKind
from coupadl.engine.api.records import ApiRecords, RecordAnswer
from coupadl.engine.api.runtime import ApiRuntime
from coupadl.errors import (
    ApiPagingError,
    ApiScopeError,
    ConfigError,
    CoupadlError,
    NetworkError,
    PageTimeout,
    RateLimitedError,
)
from coupadl.execution.retry import backoff_delay

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PageRead:
    """Where the paging is, after each answer (for progress)."""

    pages: int  # answers read so far
    received: int  # records answered so far
    kept: int  # of those, the POs that match


@dataclass
class Listing:
    pos: list[ApiPO] = field(default_factory=list)
    pages: int = 0
    received: int = 0
    # filter parameter -> records answered that fail it (a tenant ignoring the filter)
    dropped: dict[str, int] = field(default_factory=dict)
    unnumbered: int = 0  # records without a po-number


Fetch = Callable[[dict[str, str]], Any]


def _no_progress(page: PageRead) -> None:
    """The default ``on_page``: no progress shown."""


def read_pages(
    fetch: Fetch, filters: Filters, on_page: Callable[[PageRead], None] = _no_progress
) -> Listing:
    """Every matching PO, once, in the API's order; ``fetch(params)`` is one answer."""
    listing = Listing()
    seen: set[str] = set()
    numbers: set[str] = set()
    while True:
        answer = fetch(page_params(filters, listing.received))
        if not isinstance(answer, list):
            raise NetworkError("the Coupa API answered the PO list with something not a list")
        fresh = 0
        for record in answer:
            key = _key(record)
            if key in seen:
                continue  # paging shifted under a PO made meanwhile: seen already
            seen.add(key)
            fresh += 1
            _keep(listing, record, filters, numbers)
        listing.pages += 1
        listing.received += len(answer)
        on_page(PageRead(listing.pages, listing.received, len(listing.pos)))
        if len(answer) < PER_PAGE:
            break
        if not fresh:
            raise ApiPagingError(
                f"the Coupa API answered offset {listing.received - len(answer)} with the "
                "same POs again: the tenant seems to ignore offset, so the list cannot be read "
                "to its end"
            )
    _warn_dropped(listing)
    return listing


def _key(record: object) -> str:
    if isinstance(record, Mapping):
        for name in ("id", "po-number"):
            if record.get(name) is not None:
                return f"{name} {record[name]}"
    return repr(record)


def _keep(listing: Listing, record: object, filters: Filters, numbers: set[str]) -> None:
    if not isinstance(record, Mapping):
        listing.unnumbered += 1
        return
    failed = failed_filters(record, filters)
    for name in failed:
        listing.dropped[name] = listing.dropped.get(name, 0) + 1
    po = read_po(record)
    if not po.number:
        listing.unnumbered += 1
    elif not failed and po.number not in numbers:
        numbers.add(po.number)
        listing.pos.append(po)


def _warn_dropped(listing: Listing) -> None:
    if listing.dropped:
        named = ", ".join(f"{name} ({n} PO(s))" for name, n in sorted(listing.dropped.items()))
        log.warning(
            "the Coupa API answered POs that do not match the filters sent, left out: the "
            "tenant seems to ignore (or read differently) the filter(s) %s", named
        )  # fmt: skip
    if listing.unnumbered:
        log.warning("the Coupa API answered %d record(s) without a po-number, left out",
                    listing.unnumbered)  # fmt: skip


def list_pos(
    runtime: ApiRuntime, filters: Filters, on_page: Callable[[PageRead], None] = _no_progress
) -> Listing:
    """Every PO matching ``filters`` that the runtime's client may read."""
    _check_scope(runtime)
    url = paths.list_url(runtime.base, Resource.PURCHASE_ORDERS)
    records = ApiRecords(runtime)

    def fetch(params: dict[str, str]) -> Any:
        return _get(records, url, params)

    return read_pages(fetch, filters, on_page)


def _check_scope(runtime: ApiRuntime) -> None:
    asked, granted = runtime.tokens.credentials.scopes.split(), runtime.tokens.granted()
    if paths.SCOPE_PO in asked and paths.SCOPE_PO not in granted:
        raise ApiScopeError(
            f"the OAuth client {runtime.tokens.client_id} was not granted {paths.SCOPE_PO} "
            f"(granted: {' '.join(sorted(granted)) or 'none'}): ask your Coupa "
            "administrator to add it"
        )


def _get(records: ApiRecords, url: str, params: dict[str, str]) -> Any:
    """One answer, retried as the module docstring says."""
    settings = records.runtime.settings
    attempt = 0
    while True:
        attempt += 1
        try:
            return records.get(url, params)
        except RateLimitedError:
            # The shared gate is closed for the wait: the next request waits there.
            if attempt > 2 * settings.max_retries:
                raise
            continue
        except (NetworkError, PageTimeout) as exc:
            problem: str = exc.message
            if attempt > settings.max_retries:
                raise
        except RecordAnswer as answer:
            if answer.page.kind is not PageKind.SERVER_ERROR:
                raise _refusal(records.runtime, answer.page.kind) from None
            problem = f"answered {answer.page.title}"
            if attempt > settings.max_retries:
                raise NetworkError(
                    f"the Coupa API {problem} on the PO list {attempt} times: try again later"
                ) from None
        wait = backoff_delay(attempt, settings.retry_backoff, settings.retry_backoff_max)
        log.warning("the PO list (offset %s): %s; again in %.1f s",
                    params.get("offset", "0"), problem, wait)  # fmt: skip
        time.sleep(wait)


def _refusal(runtime: ApiRuntime, kind: PageKind) -> CoupadlError:
    if kind is PageKind.ACCESS_DENIED:
        return ApiScopeError(
            f"the Coupa API lets the OAuth client {runtime.tokens.client_id} read no "
            "purchase orders (HTTP 403): ask your Coupa administrator for its access"
        )
    return ConfigError(
        f"the Coupa API at {runtime.base} has no purchase order list (HTTP 404): check --base-url"
    )
