"""The simulated REST API's pure parts: filters, ``fields=``, paging, OAuth tokens.

Plain records made here by hand, and a hand-driven clock for token lifetimes.
"""

from __future__ import annotations

import json

import pytest

from coupadl.simulator.api.query import (
    MAX_LIMIT,
    Filter,
    QueryError,
    matches,
    page,
    parse_filter,
    select,
)
from coupadl.simulator.api.tokens import ApiTokens, GrantError

PO_SCOPES = ("core.purchase_order.read", "core.requisition.read", "core.common.read")


def _record(n: int, **over: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": n,
        "po-number": str(n),
        "status": "issued",
        "created-at": f"2025-0{n % 9 + 1}-10T12:00:00-07:00",
        "supplier": {"id": 7, "name": "Acme AB", "number": "0000000042"},
        "requisition-header": None,
        "total": "100.50",
        "order-lines": [{"id": 1, "description": "Bolts", "price": "1.00"}],
    }
    record.update(over)
    return record


def test_parse_filter_reads_paths_operators_and_underscores() -> None:
    assert parse_filter("po-number", "1") == Filter(("po-number",), "", "1")
    assert parse_filter("po_number", "1") == Filter(("po-number",), "", "1")
    assert parse_filter("supplier[name]", "A") == Filter(("supplier", "name"), "", "A")
    assert parse_filter("created-at[gt_or_eq]", "x") == Filter(("created-at",), "gt_or_eq", "x")
    assert parse_filter("supplier[name][contains]", "a").op == "contains"  # type: ignore[union-attr]
    assert parse_filter("offset", "50") is None and parse_filter("fields", "[]") is None
    assert parse_filter("a[", "x") is None


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("po-number", "5", True),
        ("po-number", "6", False),
        ("supplier[name]", "Acme AB", True),
        ("supplier[name]", "acme ab", False),  # equality is exact
        ("supplier[name][contains]", "acme", True),
        ("created-at[gt_or_eq]", "2025-06-10T12:00:00-07:00", True),
        ("created-at[gt]", "2025-06-10T12:00:00-07:00", False),
        ("created-at[lt]", "2025-06-10T19:00:01+00:00", True),  # compared as instants
        ("created-at[lt]", "2025-06-10T19:00:00Z", False),
        ("created-at[lt_or_eq]", "2025-06-10T12:00:00", True),  # no offset: tenant time
        ("created-at[gt]", "2025-06-10", True),  # a date is its midnight
        ("total[gt]", "100.4", True),
        ("total", "100.5", True),  # decimals compared as numbers
        ("status[in]", "closed,issued", True),
        ("status[not_eq]", "issued", False),
        ("requisition-header[id]", "1", False),  # a null object matches nothing
        ("no-such-attribute", "x", True),  # unknown: ignored
        ("supplier[no-such]", "x", True),
    ],
)
def test_filters_on_one_record(key: str, value: str, expected: bool) -> None:
    wanted = parse_filter(key, value)
    assert wanted is not None
    assert matches(_record(5), [wanted]) is expected


def test_a_bad_date_is_refused() -> None:
    wanted = parse_filter("created-at[gt]", "yesterday")
    assert wanted is not None
    with pytest.raises(QueryError):
        matches(_record(5), [wanted])


def test_select_keeps_what_fields_name_nested_and_in_lists() -> None:
    fields = json.loads('["id", "po_number", {"supplier": ["name"]}, {"order-lines": ["id"]}, "x"]')
    assert select(_record(5), fields) == {
        "id": 5,
        "po-number": "5",
        "supplier": {"name": "Acme AB"},
        "order-lines": [{"id": 1}],
    }


def test_page_filters_then_pages_at_most_fifty() -> None:
    records = [_record(n, status="closed" if n % 3 == 0 else "issued") for n in range(130)]
    closed = [r["id"] for r in records if r["status"] == "closed"]
    got = page(records, [("status", "closed"), ("offset", "10"), ("limit", "500")])
    assert [r["id"] for r in got] == closed[10 : 10 + MAX_LIMIT]
    assert len(page(records, [])) == MAX_LIMIT
    assert [r["id"] for r in page(records, [("offset", "120")])] == list(range(120, 130))
    assert page(records, [("fields", '["id"]'), ("limit", "2")]) == [{"id": 0}, {"id": 1}]
    for bad in (("offset", "-1"), ("limit", "x"), ("fields", "{no json"), ("fields", '{"a": 1}')):
        with pytest.raises(QueryError):
            page(records, [bad])


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _tokens(clock: _Clock) -> ApiTokens:
    limited = ("core.purchase_order.read", "core.common.read")
    return ApiTokens({"full": ("s1", PO_SCOPES), "limited": ("s2", limited)}, clock)


def test_grant_scopes_are_those_asked_that_the_client_may_have() -> None:
    tokens = _tokens(_Clock())
    assert tokens.grant("full", "s1", "", 60).scopes == PO_SCOPES
    asked = "core.requisition.read core.purchase_order.read unknown.scope"
    assert tokens.grant("full", "s1", asked, 60).scopes == PO_SCOPES[:2]
    assert "core.requisition.read" not in tokens.grant("limited", "s2", asked, 60).scopes
    with pytest.raises(GrantError) as refused:
        tokens.grant("limited", "s2", "core.requisition.read", 60)
    assert refused.value.code == "invalid_scope"
    for client, secret in (("full", "s2"), ("nobody", "s1"), ("full", "")):
        with pytest.raises(GrantError) as refused:
            tokens.grant(client, secret, "", 60)
        assert refused.value.code == "invalid_client"


def test_tokens_expire_at_their_ttl_and_on_demand() -> None:
    clock = _Clock()
    tokens = _tokens(clock)
    grant = tokens.grant("full", "s1", "", 60)
    assert grant.expires_in == 60
    check = tokens.check(grant.token)
    assert check.problem == "" and check.client_id == "full" and check.scopes == set(PO_SCOPES)
    clock.now += 59.9
    assert tokens.check(grant.token).problem == ""
    clock.now += 0.1
    assert tokens.check(grant.token).problem == "expired"
    fresh = tokens.grant("full", "s1", "", 60).token
    assert tokens.expire_all() == 1
    assert tokens.check(fresh).problem == "expired"
    assert tokens.check(None).problem == "missing" and tokens.check("x").problem == "invalid"
    assert tokens.grant("full", "s1", "", 0).token  # a zero lifetime: dead on arrival
    assert tokens.check(tokens.grant("full", "s1", "", 0).token).problem == "expired"


def test_revoked_clients_get_no_token_and_their_tokens_die() -> None:
    tokens = _tokens(_Clock())
    live = tokens.grant("full", "s1", "", 60).token
    tokens.revoke()
    assert tokens.check(live).problem == "invalid"
    with pytest.raises(GrantError):
        tokens.grant("full", "s1", "", 60)
    tokens.restore()
    assert tokens.check(live).problem == "invalid"  # revoked tokens stay dead
    assert tokens.check(tokens.grant("full", "s1", "", 60).token).problem == ""
