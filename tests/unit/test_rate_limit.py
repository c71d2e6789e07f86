"""HTTP 429: reading the page, deciding the pause, and the pool-wide "not before" gate.

The pool test runs real worker processes with fake handlers (tests/fakes): a PO named
``limited-*`` meets a 429 asking for RATE_LIMIT_WAIT seconds on its first attempt.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from coupadl.coupa.page import PageKind, parse_page
from coupadl.coupa.status import final_status
from coupadl.execution.pool import EventKind
from coupadl.execution.ratelimit import RateLimitGate, pause_seconds
from coupadl.models import POTask, Status
from coupadl.simulator.pages import SERVER_ERROR_HTML, render_too_many_requests
from coupadl.state.store import RunState
from fakes.handlers import RATE_LIMIT_WAIT
from fakes.pooltest import PoolFactory

BASE = "https://acme.coupahost.com"
PO_URL = BASE + "/order_headers/16928033"


# --- what a 429 page says ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "wait"),
    [
        (render_too_many_requests(7), 7.0),
        # Rails rack-attack's default answer: plain text, which the browser wraps in a <pre>.
        ("<html><head></head><body><pre>Retry later\n</pre></body></html>", None),
        ("<html><title>429 Too Many Requests</title><body>Retry-After: 30</body></html>", 30.0),
        ("<html><body><h1>Rate limit exceeded</h1><p>Try again in 2 minutes.</p></body></html>",
         120.0),
        ("<html><title>Error 429</title><body><p>Please wait 1.5 seconds.</p></body></html>", 1.5),
    ],
)  # fmt: skip
def test_a_429_page_is_rate_limited_with_its_wait(html: str, wait: float | None) -> None:
    page = parse_page(html, PO_URL, BASE)
    assert page.kind is PageKind.RATE_LIMITED
    assert page.retry_after == wait
    assert page.attachments == ()


def test_pages_that_are_not_a_429() -> None:
    assert parse_page(SERVER_ERROR_HTML, PO_URL, BASE).kind is PageKind.SERVER_ERROR
    # A PO may be numbered 429; its page is a PO page.
    po = (
        '<html data-controller="order_headers" data-action="show"><head>'
        "<title>Purchase Order #429</title></head><body><h1>Purchase Order #429</h1>"
        '<section id="supplier"><span class="supplier-name"> ACME-1</span></section></body></html>'
    )
    assert parse_page(po, BASE + "/order_headers/429", BASE).kind is PageKind.PO
    # A PO whose comments talk about "too many requests" is still a PO.
    chatty = po.replace("</body>", "<h2>Too many requests from the supplier</h2></body>")
    assert parse_page(chatty, BASE + "/order_headers/429", BASE).kind is PageKind.PO


def test_pause_seconds() -> None:
    assert pause_seconds(7, default=30, cap=600) == 7
    assert pause_seconds(None, default=30, cap=600) == 30  # the page named no wait
    assert pause_seconds(86400, default=30, cap=600) == 600  # no day-long stall
    assert pause_seconds(-5, default=30, cap=600) == 0


# --- the gate ------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_gate_opens_after_the_pause_and_never_shortens_it() -> None:
    clock = Clock()
    gate = RateLimitGate(clock)
    assert gate.is_open() and gate.remaining() == 0

    assert gate.close_for(5) is True  # a pause begins
    assert not gate.is_open() and gate.remaining() == 5
    clock.now += 2
    assert gate.close_for(1) is False  # already paused: not a new pause...
    assert gate.remaining() == 3  # ...and a shorter wait does not cut it short
    assert gate.close_for(10) is False
    assert gate.remaining() == 10  # a longer one extends it
    clock.now += 10
    assert gate.is_open()
    assert gate.close_for(2) is True  # the next 429 after the pause is a new pause


def test_a_requisition_page_that_could_not_be_read_is_never_complete() -> None:
    assert final_status(2, 2, False, unread_pages=True) is Status.PARTIAL
    assert final_status(0, 0, False, unread_pages=True) is Status.FAILED
    assert final_status(1, 0, True, unread_pages=True) is Status.TIMEOUT
    assert final_status(2, 2, False) is Status.COMPLETED


def test_events_are_counted_per_run(tmp_path: Path) -> None:
    with RunState(tmp_path) as state:
        state.record_event("1", "rate_limited")  # an earlier run's
        earlier = time.time()
        while time.time() == earlier:
            pass  # the clock moves on: the next event is strictly later
        since = time.time()
        state.record_event("2", "rate_limited")
        assert state.count_events("rate_limited") == 2
        assert state.count_events("rate_limited", since=since) == 1


# --- the pool: one 429 pauses every worker ---------------------------------------------------


def test_a_429_holds_every_worker_until_the_wait_is_over(make_pool: PoolFactory) -> None:
    pool = make_pool(workers=2)
    limited = pool.submit_task(POTask("limited-1"))
    others = [pool.submit_task(POTask(str(100000 + i))) for i in range(40)]

    results = [handle.wait_for_completion(30) for handle in [limited, *others]]

    assert all(r.status in (Status.COMPLETED, Status.NO_ATTACHMENTS) for r in results)
    [event] = make_pool.wait_events(EventKind.RATE_LIMITED)
    assert event.po_number == "limited-1" and event.data["seconds"] == RATE_LIMIT_WAIT
    until = event.data["until"]
    assert event.time < until
    # The PO that met the 429 ran again only after the wait...
    assert results[0].attempts == 2 and results[0].started_at >= until
    # ...and so did every other PO the pool handed out after it learnt of the 429. At
    # most one (the other worker's, dispatched before) may have started in between.
    started_inside = [r for r in results[1:] if event.time <= r.started_at < until]
    assert len(started_inside) <= 1, started_inside
    assert any(r.started_at >= until for r in results[1:]), "the pool went on afterwards"
    batch = pool.batch_result()
    assert batch.rate_limit_pauses == 1
