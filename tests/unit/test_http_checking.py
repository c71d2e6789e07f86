"""Checking the http engine's choice (engine/http/checking.py and CheckedRecords in
records.py): which POs the browser reads too, how its reading is compared with plain
HTTP's, what a run does after disagreements. Pure functions and fakes; the real thing
(headless Chromium against the simulator) is tests/e2e/test_http_checks.py."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from coupadl.coupa.page import PageInfo, PageKind, parse_page
from coupadl.engine.hosts import HostPolicy
from coupadl.engine.http.checking import (
    CheckLedger,
    compare,
    is_checked,
)
from coupadl.engine.http.politeness import Politeness
from coupadl.engine.http.records import CheckedRecords
from coupadl.errors import AuthRequiredError, BrowserError, NeedsBrowserError
from coupadl.models import Attachment, AttachmentSource
from coupadl.settings import load_settings

BASE = "https://acme.coupahost.com"
HTML = Path(__file__).parent / "html"
PO_URL = f"{BASE}/order_headers/123"
HEADER, COMMENT = AttachmentSource.HEADER, AttachmentSource.COMMENT


def _file(name: str, number: int, source: AttachmentSource = HEADER) -> Attachment:
    return Attachment(name, f"{BASE}/attachment/attachment_file/type/{number}/{name}", source)


def _po(*files: Attachment, kind: PageKind = PageKind.PO, requisition: str = "") -> PageInfo:
    return PageInfo(kind, title="PO", requisition_id=requisition, attachments=files)


# --- which POs are checked -------------------------------------------------------------


def test_the_first_three_then_one_in_n() -> None:
    assert [k for k in range(1, 121) if is_checked(k, 50)] == [1, 2, 3, 50, 100]
    assert [k for k in range(1, 21) if is_checked(k, 5)] == [1, 2, 3, 5, 10, 15, 20]
    assert all(is_checked(k, 1) for k in range(1, 30))


def test_zero_turns_checking_off_even_for_the_first_pos() -> None:
    assert not any(is_checked(k, 0) for k in range(1, 200))


def test_a_po_keeps_its_answer_and_the_order_is_first_asked() -> None:
    ledger = CheckLedger(every=5)
    answers = [ledger.choose(po) for po in ("a", "b", "c", "d", "a", "e", "f", "g", "h", "d")]
    # a b c: the first three; d is 4th, e 5th; a and d asked again keep their answers.
    assert answers == [True, True, True, False, True, True, False, False, False, False]


# --- what is compared ----------------------------------------------------------------


def test_the_same_files_in_another_order_or_source_agree() -> None:
    one, two = _file("a.pdf", 1), _file("b.msg", 2)
    assert compare(_po(one, two), _po(two, one)) is None
    as_comment = dataclasses.replace(two, source=COMMENT)
    assert compare(_po(one, two), _po(one, as_comment)) is None


def test_a_file_only_the_browser_sees_disagrees() -> None:
    one, two = _file("a.pdf", 1), _file("b.msg", 2)
    difference = compare(_po(one), _po(one, two))
    assert difference is not None
    assert difference.only_browser == {(two.name, two.url)} and not difference.only_http
    assert difference.describe() == "only in the browser: 'b.msg'"


def test_the_same_name_at_another_url_disagrees_and_the_log_shows_no_query() -> None:
    http = Attachment(
        "a.pdf", f"{BASE}/attachment/attachment_file/type/1/a.pdf?sig=SECRET1", HEADER
    )
    browser = dataclasses.replace(
        http, url=f"{BASE}/attachment/attachment_file/type/9/a.pdf?sig=S2"
    )
    difference = compare(_po(http), _po(browser))
    assert difference is not None
    text = difference.describe()
    assert "'a.pdf' at another URL" in text and "/type/1/a.pdf" in text and "/type/9/" in text
    assert "SECRET1" not in text and "sig=" not in text


def test_page_kind_and_requisition_are_compared_too() -> None:
    empty_po = _po()
    assert compare(empty_po, _po(kind=PageKind.NOT_FOUND)) is not None
    assert compare(_po(requisition="77"), _po(requisition="")) is not None
    assert compare(_po(kind=PageKind.NOT_FOUND), _po(kind=PageKind.NOT_FOUND)) is None
    text = compare(_po(requisition=""), _po(requisition="77"))
    assert text is not None and "requisition none over HTTP, 77 in the browser" in text.describe()


def test_a_long_difference_is_cut_in_the_log() -> None:
    many = [_file(f"f{i:02}.pdf", i) for i in range(25)]
    difference = compare(_po(), _po(*many))
    assert difference is not None
    assert difference.describe().endswith("'f09.pdf' and 15 more")


# --- the run's ledger ----------------------------------------------------------------


def _difference() -> Any:
    return compare(_po(), _po(_file("x.pdf", 1)))


def test_two_pos_that_disagree_switch_the_run_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ledger = CheckLedger(every=50)
    with caplog.at_level(logging.WARNING, logger="coupadl"):
        ledger.disagreed("101", _difference())
        assert not ledger.switched
        assert ledger.browser_reason("101") is not None  # its retries go to the browser
        assert ledger.browser_reason("102") is None
        ledger.disagreed("101", _difference())  # the same PO again: still one
        assert not ledger.switched
        ledger.disagreed("102", _difference())
        assert ledger.switched
        ledger.disagreed("103", _difference())
    assert ledger.browser_reason("999") is not None
    assert (ledger.verdict_of("102"), ledger.verdict_of("999")) == ("disagreed", "")
    per_po = [r.getMessage() for r in caplog.records if "it goes to the browser" in r.getMessage()]
    assert len(per_po) == 4 and "PO101" in per_po[0] and "'x.pdf'" in per_po[0]
    switches = [r.getMessage() for r in caplog.records if "every later PO" in r.getMessage()]
    assert len(switches) == 1 and "PO101, PO102" in switches[0]


# --- CheckedRecords over a fake runtime ------------------------------------------------


class _Fallback:
    def __init__(self, answer: PageInfo | Exception) -> None:
        self.answer, self.urls = answer, []

    def read(self, url: str, cookies: Any) -> PageInfo:
        self.urls.append(url)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


class _Cookies:
    def export(self) -> list[dict[str, Any]]:
        return []


class _Runtime:
    """What CheckedRecords uses of HttpRuntime; ``send`` answers from saved pages."""

    def __init__(self, tmp_path: Path, fallback: _Fallback, pages: dict[str, str]) -> None:
        self.settings = load_settings({"base_url": BASE, "out": tmp_path / "out"})
        self.base = BASE
        self.policy = HostPolicy(BASE)
        self.politeness = Politeness(0, 1)
        self.cookies = _Cookies()
        self.checks = CheckLedger(every=1)
        self.fallback = fallback
        self.pages = pages

    def send(self, url: str, **_: Any) -> httpx.Response:
        status, name = (500, "") if url not in self.pages else (200, self.pages[url])
        text = (HTML / name).read_text(encoding="utf-8") if name else "Internal error"
        return httpx.Response(status, text=text, request=httpx.Request("GET", url))


REQ_URL = f"{BASE}/requisition_headers/9561914"
PAGES = {PO_URL: "po_full.html", REQ_URL: "requisition.html"}


def _saved(name: str, url: str = PO_URL) -> PageInfo:
    return parse_page((HTML / name).read_text(encoding="utf-8"), url, BASE)


def _records(tmp_path: Path, answer: PageInfo | Exception, pages: Any = None) -> Any:
    runtime = _Runtime(tmp_path, _Fallback(answer), PAGES if pages is None else pages)
    return CheckedRecords(runtime, "123"), runtime  # type: ignore[arg-type]


def test_readings_that_agree_go_on_over_http_and_only_the_po_page_is_compared(
    tmp_path: Path,
) -> None:
    records, runtime = _records(tmp_path, _saved("po_full.html"))
    page = records.open_record(PO_URL)
    assert page.kind is PageKind.PO and records.verdict == "agreed"
    records.open_record(REQ_URL)  # the requisition: not read in the browser
    assert runtime.fallback.urls == [PO_URL]


def test_a_reading_that_differs_sends_the_po_to_the_browser(tmp_path: Path) -> None:
    browser = _saved("po_full.html")
    browser = dataclasses.replace(browser, attachments=(*browser.attachments, _file("z.pdf", 7)))
    records, runtime = _records(tmp_path, browser)
    with pytest.raises(NeedsBrowserError, match="otherwise than plain HTTP"):
        records.open_record(PO_URL)
    assert records.verdict == "disagreed" and runtime.checks.verdict_of("123") == "disagreed"


def test_an_agreeing_po_goes_to_the_browser_once_the_run_has_switched(tmp_path: Path) -> None:
    records, runtime = _records(tmp_path, _saved("po_full.html"))
    for po in ("1", "2"):
        runtime.checks.disagreed(po, _difference())
    with pytest.raises(NeedsBrowserError, match="went to the browser"):
        records.open_record(PO_URL)
    assert records.verdict == "agreed"  # it was checked, and agreed


@pytest.mark.parametrize(
    "error", [BrowserError("chromium did not start"), AuthRequiredError("sent to sign in")]
)
def test_a_check_that_cannot_be_made_leaves_the_po_over_http_unchecked(
    tmp_path: Path, error: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    records, _ = _records(tmp_path, error)
    with caplog.at_level(logging.WARNING, logger="coupadl"):
        assert records.open_record(PO_URL).kind is PageKind.PO
    assert records.verdict == ""
    assert any("unchecked" in r.getMessage() for r in caplog.records)


def test_a_server_error_is_not_compared(tmp_path: Path) -> None:
    records, runtime = _records(tmp_path, _saved("po_full.html"), pages={})
    assert records.open_record(PO_URL).kind is PageKind.SERVER_ERROR
    assert runtime.fallback.urls == [] and records.verdict == ""
