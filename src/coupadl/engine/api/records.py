"""Coupa's records through the REST API: :class:`ApiRecords` (a RecordSource).

The per-PO flow asks for a record by its web page's URL and gets a
:class:`~coupadl.coupa.page.PageInfo`, as from the other engines; here it is made from
JSON: the PO found by its number (the ``po-number`` filter, every answer checked), its
header attachments AND the attachments of each of its comments (the header list holds
only the former), the same for a requisition. What an answer means:

- 403 ``insufficient_scope``: :class:`ApiScopeError` naming the scope (a setup error);
- any other 403 on a PO or requisition: ACCESS_DENIED; a 404, or no PO with that
  number: NOT_FOUND;
- 429: RateLimitedError, the shared gate closed for Retry-After (the http engine's);
- 5xx: a SERVER_ERROR page (retried); timeouts: PageTimeout; a failed connection:
  NetworkError. 401 is handled in the runtime (a new token, then AuthRequiredError).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from coupadl.coupa.api import paths
from coupadl.coupa.api.paths import Resource
from coupadl.coupa.api.records import (
    comment_ids,
    listed_sizes,
    matching_pos,
    read_attachments,
    read_po,
)
from coupadl.coupa.page import PageInfo, PageKind
from coupadl.coupa.po_numbers import display_po
from coupadl.coupa.record import one_per_url
from coupadl.engine.api.runtime import ApiRuntime
from coupadl.engine.hosts import redact
from coupadl.engine.http.answers import network_error, retry_after
from coupadl.engine.http.records import rate_limited
from coupadl.errors import ApiScopeError, NetworkError, PageTimeout
from coupadl.models import Attachment, AttachmentSource

log = logging.getLogger(__name__)

_SOURCES = {
    Resource.PURCHASE_ORDERS: (AttachmentSource.HEADER, AttachmentSource.COMMENT),
    Resource.REQUISITIONS: (
        AttachmentSource.REQUISITION_HEADER,
        AttachmentSource.REQUISITION_COMMENT,
    ),
}


class RecordAnswer(Exception):
    """An answer that is a page's outcome (denied, not found, a server error)."""

    def __init__(self, page: PageInfo) -> None:
        super().__init__(page.kind.value)
        self.page = page


@dataclass
class ApiRecords:
    """:class:`coupadl.engine.interface.RecordSource` over the REST API. ``sizes`` keeps
    the file sizes the attachment lists named (for --dry-run)."""

    runtime: ApiRuntime
    sizes: dict[str, int] = field(default_factory=dict)

    def open_record(self, url: str) -> PageInfo:
        ref = paths.record_of(url)
        if ref is None:
            raise ValueError(f"not a PO or requisition page: {redact(url)}")
        try:
            if ref.resource is Resource.PURCHASE_ORDERS:
                return self._po(ref.key)
            return self._requisition(ref.key)
        except RecordAnswer as answer:
            return answer.page

    def _po(self, number: str) -> PageInfo:
        record = self._find_po(number)
        if record is None:
            message = f"the Coupa API has no PO {display_po(number)}"
            return PageInfo(PageKind.NOT_FOUND, title="not found", error_message=message)
        po = read_po(record)
        attachments = self._attachments(Resource.PURCHASE_ORDERS, po.record_id)
        return PageInfo(
            PageKind.PO, title=f"PO {number}", supplier=po.supplier,
            requisition_id=po.requisition_id, attachments=attachments,
        )  # fmt: skip

    def _find_po(self, number: str) -> Mapping[str, Any] | None:
        """The PO's record by its number (``paths.PO_FILTERS``, then its id)."""
        base = self.runtime.base
        for spelling in paths.PO_FILTERS:
            query = paths.po_query(number, spelling)
            found = self.get_list(paths.list_url(base, Resource.PURCHASE_ORDERS), query)
            records = matching_pos(found, number)
            if records or not found:
                return records[0] if records else None  # an empty answer: no such PO
            _warn_ignored(spelling, len(found))
        url = paths.record_url(base, Resource.PURCHASE_ORDERS, number)
        record = self.get(url, {"fields": paths.PO_FIELDS})  # 404: not found
        return record if isinstance(record, Mapping) and matching_pos([record], number) else None

    def _requisition(self, requisition_id: str) -> PageInfo:
        url = paths.record_url(self.runtime.base, Resource.REQUISITIONS, requisition_id)
        self.get(url)  # 403 denied, 404 not found
        attachments = self._attachments(Resource.REQUISITIONS, requisition_id)
        return PageInfo(
            PageKind.REQUISITION, title=f"Requisition {requisition_id}", attachments=attachments
        )

    def _attachments(self, resource: Resource, record_id: str) -> tuple[Attachment, ...]:
        base = self.runtime.base
        header_source, comment_source = _SOURCES[resource]
        header = self.get_list(paths.attachments_url(base, resource, record_id))
        kept, skipped = read_attachments(header, header_source)
        self.sizes.update(listed_sizes(header))
        for comment_id in comment_ids(self.get_list(paths.comments_url(base, resource, record_id))):
            files = self.get_list(paths.comment_attachments_url(base, comment_id))
            self.sizes.update(listed_sizes(files))
            more, also_skipped = read_attachments(files, comment_source)
            kept += more
            skipped += also_skipped
        if skipped:
            kinds = ", ".join(sorted(set(skipped)))
            log.warning("%s %s: %d attachment(s) of a type coupadl cannot save (%s)",
                        resource.value, record_id, len(skipped), kinds)  # fmt: skip
        return one_per_url(kept)

    def probe(self) -> PageInfo | None:
        """One small PO list read: None when it answered, else what it amounts to."""
        url = paths.list_url(self.runtime.base, Resource.PURCHASE_ORDERS)
        try:
            self.get(url, {"limit": "1", "fields": '["id"]'})
        except RecordAnswer as answer:
            return answer.page
        return None

    def get_list(
        self, url: str, params: Mapping[str, str] | None = None
    ) -> list[Mapping[str, Any]]:
        """The records of a list answer (an answer that is no list: none)."""
        answer = self.get(url, params)
        return [r for r in answer if isinstance(r, Mapping)] if isinstance(answer, list) else []

    def get(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        """The JSON at ``url``; a denied, missing or failing record raises RecordAnswer."""
        runtime = self.runtime
        full = str(httpx.URL(url, params=params)) if params else url
        try:
            response = runtime.send(full)
        except httpx.TimeoutException as exc:
            raise PageTimeout(
                f"{redact(url)} did not answer within {runtime.settings.page_timeout:.0f} s"
            ) from exc
        except httpx.TransportError as exc:
            raise network_error(exc, url) from exc
        status = response.status_code
        if status == 429:
            raise rate_limited(runtime, retry_after(response), url)
        if status >= 500:
            raise RecordAnswer(PageInfo(PageKind.SERVER_ERROR, title=f"HTTP {status}"))
        body = _json(response)
        if status == 403:
            raise _refused(body, url)
        if status == 404:
            message = f"the Coupa API knows no {_what(url)}"
            raise RecordAnswer(
                PageInfo(PageKind.NOT_FOUND, title="not found", error_message=message)
            )
        if status != 200 or body is None:
            raise NetworkError(f"{redact(url)}: the Coupa API answered HTTP {status} without JSON")
        return body


_ignored_warned: set[str] = set()


def _warn_ignored(spelling: str, count: int) -> None:
    # Once per process and spelling: every PO would say the same.
    if spelling not in _ignored_warned:
        _ignored_warned.add(spelling)
        log.warning(
            "the Coupa API seems to ignore the filter %s (it answered %d other PO(s)); "
            "trying the next way to find a PO by number", spelling, count,
        )  # fmt: skip


def _refused(body: Any, url: str) -> Exception:
    error = body.get("error") if isinstance(body, Mapping) else None
    if error == "insufficient_scope":
        scope = body.get("scope") or "a scope it needs"
        return ApiScopeError(f"the OAuth client lacks the scope {scope} (HTTP 403 on {_what(url)})")
    message = f"the Coupa API does not let this client read the {_what(url)}"
    return RecordAnswer(PageInfo(PageKind.ACCESS_DENIED, title="denied", error_message=message))


def _what(url: str) -> str:
    parts = [p for p in httpx.URL(url).path.split("/") if p]
    return " ".join(parts[1:3]).replace("_", " ") if len(parts) > 1 else "record"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
