"""The REST API's JSON read into plain values, and the OAuth token's life: no server."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from coupadl.coupa.api import paths
from coupadl.coupa.api.records import (
    data_of,
    listed_sizes,
    matching_pos,
    read_attachment,
    read_attachments,
    read_po,
    supplier_text,
)
from coupadl.engine.api.token import Credentials, TokenSource
from coupadl.errors import ApiScopeError, AuthRequiredError
from coupadl.models import AttachmentSource
from coupadl.settings import load_settings
from helpers import ManualClock

HEADER = AttachmentSource.HEADER


def test_a_po_record_reads_as_the_web_page_names_its_supplier() -> None:
    record = {
        "id": 4711, "po-number": "16928000", "status": "issued",
        "supplier": {"name": "Iver Sverige AB", "number": "0051468190"},
        "requisition-header": {"id": 5500012},
    }  # fmt: skip
    po = read_po(record)
    assert (po.record_id, po.number, po.requisition_id) == ("4711", "16928000", "5500012")
    assert po.supplier == "Iver Sverige AB-0051468190"  # as on the PO page (coupa-facts)
    assert read_po({"po-number": "1", "requisition-header": None}).requisition_id == ""
    assert supplier_text({"name": "Acme", "number": None}) == "Acme"
    assert supplier_text(None) == ""


def test_only_records_of_the_number_asked_for_count() -> None:
    answer = [{"po-number": "16928001"}, {"po-number": 16928000}, {"po-number": "169280000"}]
    assert matching_pos(answer, "16928000") == [{"po-number": 16928000}]


def test_the_three_attachment_types() -> None:
    file_record = {"id": 7, "type": "AttachmentFile", "file-url": "https://t/api/a/7/file",
                   "file-file-name": "Quote.pdf", "file-file-size": 1234}  # fmt: skip
    link = {"id": 8, "type": "AttachmentUrl", "url": "https://supplier.example/quotes/Q-1"}
    note = {"id": 9, "type": "AttachmentText", "text": "Agreed by phone: 5 % off, €"}
    got = read_attachment(file_record, HEADER)
    assert got is not None and (got.name, got.url) == ("Quote.pdf", "https://t/api/a/7/file")
    assert got.size == 1234  # what a refresh matches a file without an id by
    shortcut = read_attachment(link, HEADER)
    assert shortcut is not None and shortcut.name == "supplier.example - quotes - Q-1.url"
    assert data_of(shortcut.url) == (
        b"[InternetShortcut]\r\nURL=https://supplier.example/quotes/Q-1\r\n"
    )
    text = read_attachment(note, HEADER)
    assert text is not None and text.name.startswith("Note 9 - Agreed by phone")
    assert text.name.endswith(".txt")
    assert data_of(text.url) == "Agreed by phone: 5 % off, €".encode()
    kept, skipped = read_attachments(
        [file_record, {"id": 10, "type": "AttachmentFile"}, {"id": 11, "type": "Odd"}], HEADER
    )
    assert [a.name for a in kept] == ["Quote.pdf"] and skipped == ["AttachmentFile", "Odd"]
    assert listed_sizes([file_record, link]) == {"https://t/api/a/7/file": 1234}
    assert data_of("https://t/x") is None
    twin = read_attachment({**note, "id": 12}, HEADER)  # the same text, another item
    assert twin is not None and twin.url != text.url and data_of(twin.url) == data_of(text.url)


def test_web_record_urls_map_onto_api_records() -> None:
    po = paths.record_of("https://acme.coupahost.com/order_headers/16928000")
    req = paths.record_of("https://acme.coupahost.com/requisition_headers/55%2F1")
    assert po == paths.RecordRef(paths.Resource.PURCHASE_ORDERS, "16928000")
    assert req == paths.RecordRef(paths.Resource.REQUISITIONS, "55/1")
    assert paths.record_of("https://acme.coupahost.com/invoices/1") is None
    assert load_settings({}).api_scopes == " ".join(paths.NEEDED_SCOPES)


class _TokenEndpoint:
    """Answers the token POSTs from a script of (status, body) pairs."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.forms: list[dict[str, str]] = []

    def __call__(self, url: str, **kwargs: Any) -> httpx.Response:
        self.forms.append(kwargs["data"])
        status, body = self.answers.pop(0)
        return httpx.Response(status, json=body, request=httpx.Request("POST", url))


def _source(endpoint: _TokenEndpoint, clock: ManualClock, **kw: Any) -> TokenSource:
    credentials = Credentials("client-1", "s3cret-value", "a.read b.read")
    return TokenSource("https://t.example", credentials, endpoint, clock=clock, **kw)


def test_a_token_is_kept_renewed_before_it_expires_and_replaced_after_a_401() -> None:
    clock = ManualClock(100.0)
    endpoint = _TokenEndpoint(
        (200, {"access_token": "t1", "expires_in": 3600, "scope": "a.read b.read"}),
        (200, {"access_token": "t2", "expires_in": 3600}),
        (200, {"access_token": "t3", "expires_in": 3600}),
    )
    tokens = _source(endpoint, clock)
    assert tokens.bearer() == "t1" and tokens.bearer() == "t1"
    clock.now += 3600 - 400  # more than a tenth of its life left: kept
    assert tokens.bearer() == "t1"
    clock.now += 100  # less than 360 s (a tenth) left: renewed
    assert tokens.bearer() == "t2"
    tokens.refused("t1")  # an old token's 401: the current one stays
    assert tokens.bearer() == "t2"
    tokens.refused("t2")
    assert tokens.bearer() == "t3"
    assert tokens.granted() == frozenset({"a.read", "b.read"})  # none named: as asked
    form = {"grant_type": "client_credentials", "client_id": "client-1",
            "client_secret": "s3cret-value", "scope": "a.read b.read"}  # fmt: skip
    assert endpoint.forms[0] == form
    assert "t3" not in repr(tokens._token)


def test_a_refused_client_or_scope_is_a_typed_error_naming_the_client_not_the_secret() -> None:
    clock = ManualClock()
    refused = _source(_TokenEndpoint((401, {"error": "invalid_client"})), clock)
    with pytest.raises(AuthRequiredError, match="client-1") as caught:
        refused.bearer()
    assert "s3cret-value" not in str(caught.value)
    no_scope = _source(_TokenEndpoint((400, {"error": "invalid_scope"})), clock)
    with pytest.raises(ApiScopeError, match=r"a\.read b\.read"):
        no_scope.bearer()


def test_a_busy_token_endpoint_is_asked_again_as_the_runtime_says() -> None:
    asked: list[tuple[int, int]] = []

    def again(answer: httpx.Response, attempt: int) -> bool:
        asked.append((answer.status_code, attempt))
        return attempt < 3

    endpoint = _TokenEndpoint((503, {}), (429, {}), (200, {"access_token": "t1", "expires_in": 60}))
    assert _source(endpoint, ManualClock(), retry=again).bearer() == "t1"
    assert asked == [(503, 1), (429, 2)]


class _Tenant:
    """A fake API that ignores the PO filters it is told to (a fake runtime's send)."""

    def __init__(self, ignores: set[str]) -> None:
        self.base = "https://t.example"
        self.settings = load_settings({"base_url": self.base})
        self.ignores = ignores
        self.pos = {n: {"id": int(n), "po-number": n, "supplier": {"name": "S", "number": "1"}}
                    for n in ("100", "101", "102")}  # fmt: skip
        self.asked: list[str] = []

    def send(self, url: str, **_: Any) -> httpx.Response:
        request = httpx.Request("GET", url)
        self.asked.append(
            request.url.path + ("?" + request.url.query.decode() if "?" in url else "")
        )
        path, params = request.url.path, request.url.params
        if path == "/api/purchase_orders":
            spelling = next((k for k in ("po-number", "po_number") if k in params), "")
            if spelling and spelling not in self.ignores:
                body: Any = [p for n, p in self.pos.items() if n == params[spelling]]
            else:
                body = list(self.pos.values())[:2]  # the filter ignored: the first page
        elif path.startswith("/api/purchase_orders/") and path.count("/") == 3:
            number = path.rsplit("/", 1)[1]
            if number not in self.pos:
                return httpx.Response(404, json={"error": "not_found"}, request=request)
            body = self.pos[number]
        else:
            body = []  # no attachments, no comments
        return httpx.Response(200, json=body, request=request)


@pytest.mark.parametrize(
    ("ignores", "lookups"),
    [(set(), 1), ({"po-number"}, 2), ({"po-number", "po_number"}, 3)],
)
def test_a_po_is_found_by_number_even_where_a_filter_is_ignored(
    ignores: set[str], lookups: int
) -> None:
    from coupadl.coupa.page import PageKind
    from coupadl.engine.api.records import ApiRecords

    tenant = _Tenant(ignores)
    records = ApiRecords(tenant)  # type: ignore[arg-type]
    page = records.open_record("https://t.example/order_headers/102")
    assert page.kind is PageKind.PO and page.supplier == "S-1"
    assert (
        len([a for a in tenant.asked if "attachments" not in a and "comments" not in a]) == lookups
    )
    assert records.open_record("https://t.example/order_headers/999").kind is PageKind.NOT_FOUND
