"""``coupadl find``'s pure parts: the query of each page (coupa.api.query), the check
of each record against the filters sent, the paging over a fake tenant
(engine.api.listing.read_pages), and the file it writes read back by the run's reader.

The fakes apply (or ignore) the filters by hand-written rules of their own; the
expected numbers are written out, never computed with the code under test.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from coupadl.coupa.api import query
from coupadl.coupa.api.query import Filters, failed_filters, make_filters, page_params
from coupadl.coupa.api.records import ApiPO
from coupadl.engine.api.listing import read_pages
from coupadl.errors import ConfigError, CoupadlError
from coupadl.runs.find import COLUMNS, render
from coupadl.spreadsheet.reader import plan_rows, read_input
from coupadl.spreadsheet.table import RESULT_COLUMNS


def _po(number: int, *, name: str = "Acme AB", created: str = "2025-03-04T10:22:31-07:00",
        status: str = "issued") -> dict[str, Any]:  # fmt: skip
    return {"id": number, "po-number": str(number), "status": status, "created-at": created,
            "total": "10.00", "supplier": {"name": name, "number": "0042"}}  # fmt: skip


# --- the query --------------------------------------------------------------------------


def test_each_filter_becomes_coupas_parameter() -> None:
    filters = make_filters(
        supplier=" Acme AB ", supplier_contains="acme", created_after="2025-01-01",
        created_before="2026-01-01T00:00:00+02:00", status="issued",
    )  # fmt: skip
    assert query.filter_params(filters) == {
        "supplier[name]": "Acme AB",
        "supplier[name][contains]": "acme",
        "created-at[gt_or_eq]": "2025-01-01",
        "created-at[lt]": "2026-01-01T00:00:00+02:00",
        "status": "issued",
    }
    params = page_params(filters, 100)
    assert params["offset"] == "100"
    assert json.loads(params["fields"]) == [
        "id", "po-number", "status", "created-at", "total", {"supplier": ["name", "number"]}
    ]  # fmt: skip
    assert query.filter_params(make_filters(status="closed")) == {"status": "closed"}
    assert "supplier[name]" not in page_params(Filters(), 0)


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        ({"supplier": "  "}, "--supplier is empty"),
        ({"status": ""}, "--status is empty"),
        ({"created_after": "2025-13-01"}, "--created-after '2025-13-01' is not a date"),
        ({"created_before": "last year"}, "--created-before 'last year'"),
        ({"created_after": "2025-02-01", "created_before": "2025-02-01"}, "no PO can match"),
        ({"created_after": "2025-03-01", "created_before": "2025-02-01T12:00"}, "no PO can"),
    ],
)
def test_bad_flags_are_a_config_error_naming_the_flag(flags: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(")):
        make_filters(**flags)


# --- the record check -------------------------------------------------------------------


def test_a_record_matching_every_filter_fails_none() -> None:
    filters = make_filters(supplier="ACME ab", supplier_contains="ME A", status="ISSUED",
                           created_after="2025-03-04", created_before="2025-03-05")  # fmt: skip
    assert failed_filters(_po(1), filters) == []


@pytest.mark.parametrize(
    ("record", "failed"),
    [
        (_po(1, name="Acme ABC"), ["supplier[name]"]),
        (_po(1, name="Other Oy"), ["supplier[name]", "supplier[name][contains]"]),
        (_po(1, status="closed"), ["status"]),
        (_po(1, created="2024-12-31T23:59:59-07:00"), ["created-at[gt_or_eq]"]),
        (_po(1, created="2026-01-01T00:00:00-07:00"), ["created-at[lt]"]),
        ({**_po(1), "created-at": None}, ["created-at[gt_or_eq]", "created-at[lt]"]),
        ({**_po(1), "created-at": "soon"}, ["created-at[gt_or_eq]", "created-at[lt]"]),
        ({**_po(1), "supplier": None}, ["supplier[name]", "supplier[name][contains]"]),
    ],
)
def test_each_filter_a_record_does_not_meet_is_named(
    record: dict[str, Any], failed: list[str]
) -> None:
    filters = make_filters(supplier="Acme AB", supplier_contains="acme", status="issued",
                           created_after="2025-01-01", created_before="2026-01-01")  # fmt: skip
    assert failed_filters(record, filters) == failed


def test_a_date_is_the_tenants_day_and_a_time_with_offset_an_instant() -> None:
    # 23:30 on 31 Dec in the tenant's -07:00 is already 2025 in UTC: still 2024 for a date.
    late = _po(1, created="2024-12-31T23:30:00-07:00")
    assert failed_filters(late, make_filters(created_after="2025-01-01")) == [
        "created-at[gt_or_eq]"
    ]
    assert failed_filters(late, make_filters(created_before="2025-01-01")) == []
    utc = make_filters(created_after="2025-01-01T00:00:00+00:00")
    assert failed_filters(late, utc) == []  # 06:30 UTC on 1 Jan
    assert failed_filters(late, make_filters(created_after="2025-01-01T07:00:00Z")) == [
        "created-at[gt_or_eq]"
    ]
    # Without an offset a time is the tenant's wall clock, as the record's.
    assert failed_filters(late, make_filters(created_after="2024-12-31T23:30")) == []
    assert failed_filters(late, make_filters(created_before="2024-12-31T23:30")) == [
        "created-at[lt]"
    ]


def test_find_asks_for_the_po_scope_only() -> None:
    default = "core.purchase_order.read core.requisition.read core.common.read"
    assert query.find_scopes(default) == "core.purchase_order.read"
    assert query.find_scopes("tenant.po.read") == "tenant.po.read"


# --- the paging over a fake tenant ------------------------------------------------------


class FakeTenant:
    """A PO list: 50 per answer from ``offset``, applying the filters it knows."""

    def __init__(self, records: list[dict[str, Any]], knows: tuple[str, ...] = ("status",),
                 paged: bool = True) -> None:  # fmt: skip
        self.records, self.knows, self.paged = records, knows, paged
        self.asked: list[dict[str, str]] = []

    def __call__(self, params: dict[str, str]) -> Any:
        self.asked.append(params)
        kept = [
            r for r in self.records
            if "status" not in self.knows or "status" not in params
            or r["status"] == params["status"]
        ]  # fmt: skip
        start = int(params["offset"]) if self.paged else 0
        return kept[start : start + 50]


def test_pages_are_read_by_offset_until_one_holds_fewer_than_50() -> None:
    tenant = FakeTenant([_po(n) for n in range(1, 121)])
    seen: list[tuple[int, int, int]] = []
    listing = read_pages(tenant, make_filters(status="issued"),
                         lambda p: seen.append((p.pages, p.received, p.kept)))  # fmt: skip
    assert [p["offset"] for p in tenant.asked] == ["0", "50", "100"]
    assert all(p["status"] == "issued" for p in tenant.asked)
    assert [po.number for po in listing.pos] == [str(n) for n in range(1, 121)]
    assert seen == [(1, 50, 50), (2, 100, 100), (3, 120, 120)]
    assert listing.pos[0] == ApiPO("1", "1", "Acme AB-0042", "", "issued",
                                   "2025-03-04T10:22:31-07:00", "10.00")  # fmt: skip


def test_exactly_50_needs_one_more_empty_answer() -> None:
    tenant = FakeTenant([_po(n) for n in range(1, 51)])
    assert len(read_pages(tenant, Filters()).pos) == 50
    assert [p["offset"] for p in tenant.asked] == ["0", "50"]


def test_records_of_an_ignored_filter_are_dropped_with_one_warning_naming_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    records = [_po(n, status="closed" if n % 3 == 0 else "issued") for n in range(1, 61)]
    tenant = FakeTenant(records, knows=())  # answers every status
    with caplog.at_level(logging.WARNING):
        listing = read_pages(tenant, make_filters(status="issued"))
    assert [po.number for po in listing.pos] == [str(n) for n in range(1, 61) if n % 3]
    assert listing.dropped == {"status": 20}
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ignore" in warnings[0] and "status (20 PO(s))" in warnings[0]


def test_no_warning_when_the_tenant_applies_the_filters(caplog: pytest.LogCaptureFixture) -> None:
    records = [_po(n, status="closed" if n % 3 == 0 else "issued") for n in range(1, 61)]
    with caplog.at_level(logging.WARNING):
        listing = read_pages(FakeTenant(records), make_filters(status="issued"))
    assert len(listing.pos) == 40 and listing.dropped == {}
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_a_tenant_ignoring_offset_is_an_error_not_an_endless_loop() -> None:
    tenant = FakeTenant([_po(n) for n in range(1, 121)], paged=False)
    with pytest.raises(CoupadlError, match="ignore offset") as raised:
        read_pages(tenant, Filters())
    assert raised.value.code == "E_API_PAGING" and len(tenant.asked) == 2


def test_a_po_seen_on_an_earlier_page_is_listed_once() -> None:
    pages = [[_po(n) for n in range(1, 51)], [_po(n) for n in range(50, 60)]]  # 50 twice

    def shifted(params: dict[str, str]) -> Any:
        return pages[int(params["offset"]) // 50]

    listing = read_pages(shifted, Filters())
    assert [po.number for po in listing.pos] == [str(n) for n in range(1, 60)]


def test_records_without_a_number_or_not_objects_are_left_out() -> None:
    odd: list[Any] = [_po(1), {"id": 2, "status": "issued"}, "junk", _po(3)]
    listing = read_pages(lambda params: odd, Filters())
    assert [po.number for po in listing.pos] == ["1", "3"] and listing.unnumbered == 2


# --- the file a run reads ---------------------------------------------------------------


def test_the_columns_are_not_result_columns() -> None:
    assert COLUMNS[0] == "PO_NUMBER"
    assert not {c.casefold() for c in COLUMNS[1:]} & {c.casefold() for c in RESULT_COLUMNS}


def _found() -> list[ApiPO]:
    return [
        ApiPO("16928000", "16928000", "Acme AB-0042", "", "issued", "2025-01-02T03:04:05-07:00",
              "2828.71"),
        ApiPO("00017", "00017", "=HYPERLINK(1)-9", "", "closed", "2025-01-02T03:04:05-07:00",
              "-5.00"),
    ]  # fmt: skip


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_the_file_is_read_by_the_run_with_every_po_number_as_text(
    tmp_path: Path, suffix: str
) -> None:
    path = tmp_path / f"found{suffix}"
    path.write_bytes(render(_found(), suffix))
    table = read_input(path)
    assert table.columns == COLUMNS and table.po_column == "PO_NUMBER"
    plan = plan_rows(table)
    assert [t.po_number for t in plan.tasks] == ["16928000", "00017"] and not plan.invalid
    row: Mapping[str, object] = table.rows[1]
    assert row["COUPA_SUPPLIER"] == "'=HYPERLINK(1)-9"  # never a formula
    assert str(row["COUPA_TOTAL"]) in ("-5.00", "-5", "-5.0")
    assert row["COUPA_CREATED_AT"] == "2025-01-02T03:04:05-07:00"


def test_the_workbook_holds_po_numbers_as_text_cells(tmp_path: Path) -> None:
    path = tmp_path / "found.xlsx"
    path.write_bytes(render(_found(), ".xlsx"))
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    cells = [row[0] for row in sheet.iter_rows(min_row=2)]
    assert [c.value for c in cells] == ["16928000", "00017"]
    assert all(c.data_type == "s" for c in cells)
    assert sheet.cell(row=2, column=5).value == pytest.approx(2828.71)  # a number Excel sums
