"""The simulator's tenant-wide rate limit (knobs ``rate_limit_rps``, ``rate_limit_burst``).

Over real HTTP on 127.0.0.1 with httpx: the counts a client sees are checked against
what the bucket's rate and burst allow (with bounds wide enough for a loaded machine),
and against what ``/__sim__/stats`` reports. The bucket's arithmetic is checked alone
with a hand-driven clock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from coupadl.cli.app import app as cli_app
from coupadl.errors import ExitCode
from coupadl.simulator import SimulatorServer
from coupadl.simulator.ratelimit import WINDOW_SECONDS, RateWindow, TokenBucket

PO = "/order_headers/16928000"


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(n_pos=4, seed=3) as running:
        yield running


def _sign_in(server: SimulatorServer) -> httpx.Client:
    creds = server.manifest()["credentials"]
    client = httpx.Client(base_url=server.base_url, timeout=10)
    form = {"user[email]": creds["email"], "user[password]": creds["password"]}
    assert client.post("/sessions", data=form).status_code == 302
    return client


@pytest.fixture
def http(server: SimulatorServer) -> Iterator[httpx.Client]:
    """A signed-in client (before any limit is set); the limit is off again afterwards."""
    server.control(rate_limit_rps=0, rate_limit_burst=20)
    client = _sign_in(server)
    server.reset_stats()
    try:
        yield client
    finally:
        client.close()
    server.control(rate_limit_rps=0, rate_limit_burst=20, burst_429=0, retry_after=2)


def _file_path(server: SimulatorServer) -> str:
    sim = next(iter(server.dataset.files.values()))
    return f"/attachment/attachment_file/file/{sim.file_id}/x"


def _mixed_paths(server: SimulatorServer, n: int) -> list[str]:
    """Pages, a file, an asset and the sign-in form: the limit covers them all."""
    kinds = [PO, _file_path(server), "/favicon.ico", "/sessions/new", "/order_headers"]
    return [kinds[i % len(kinds)] for i in range(n)]


def test_burst_then_429_with_retry_after_and_stats_agree(
    server: SimulatorServer, http: httpx.Client
) -> None:
    server.control(rate_limit_rps=0.5, rate_limit_burst=5)
    started = time.time()
    answers = [http.get(path) for path in _mixed_paths(server, 20)]
    ended = time.time()
    codes = [r.status_code for r in answers]
    ok = [r for r in answers if r.status_code in (200, 204)]  # the favicon's is 204
    limited = [r for r in answers if r.status_code == 429]
    assert len(ok) + len(limited) == 20, codes
    # 5 at once, then one per 2 s: even a slow machine sends 20 requests in under 6 s.
    assert 5 <= len(ok) <= 8, codes
    assert 429 not in codes[:5], codes
    for response in limited:
        retry_after = response.headers["retry-after"]
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 2  # a token every 2 s
        assert "Too Many Requests" in response.text

    rate = server.stats()["rate"]
    assert rate["requests_total"] == 20 and rate["limited_total"] == len(limited)
    assert rate["errors_429_total"] == len(limited)
    seconds = rate["per_second"]
    assert sum(s["requests"] for s in seconds) == 20
    assert sum(s["limited"] for s in seconds) == len(limited)
    assert all(int(started) <= s["second"] <= int(ended) for s in seconds), seconds
    assert [s["second"] for s in seconds] == sorted({s["second"] for s in seconds})
    faults = server.timeline()["faults"]
    assert [f["fault"] for f in faults] == ["limited"] * len(limited)
    assert {f["group"] for f in faults} <= {"rate_limit"}
    assert server.stats()["errors_429"] == 0  # that counter stays the rate_429 knobs'


def test_waiting_retry_after_is_enough(server: SimulatorServer, http: httpx.Client) -> None:
    server.control(rate_limit_rps=1, rate_limit_burst=1)
    assert http.get(PO).status_code == 200
    refused = http.get(PO)
    assert refused.status_code == 429
    time.sleep(int(refused.headers["retry-after"]))  # no other client takes the token
    assert http.get(PO).status_code == 200
    # The same 429 page as the rate_429 knobs' with the same wait.
    server.control(rate_limit_rps=0, burst_429=1, retry_after=int(refused.headers["retry-after"]))
    from_knob = http.get(PO)
    assert from_knob.status_code == 429 and from_knob.text == refused.text
    assert from_knob.headers["retry-after"] == refused.headers["retry-after"]


def test_the_limit_is_one_bucket_for_all_sessions(server: SimulatorServer) -> None:
    server.control(rate_limit_rps=0, rate_limit_burst=20)
    first, second = _sign_in(server), _sign_in(server)
    try:
        # A token every 100 s: the test ends long before the bucket refills.
        server.control(rate_limit_rps=0.01, rate_limit_burst=4)
        codes = [c.get(PO).status_code for _ in range(4) for c in (first, second)]
    finally:
        first.close()
        second.close()
        server.control(rate_limit_rps=0)
    assert codes.count(200) == 4 and codes.count(429) == 4, codes


def test_the_control_api_and_other_hosts_are_not_limited(
    server: SimulatorServer, http: httpx.Client
) -> None:
    knobs = http.post("/__sim__/control", json={"rate_limit_rps": 0.01, "rate_limit_burst": 1})
    assert knobs.status_code == 200
    assert (knobs.json()["rate_limit_rps"], knobs.json()["rate_limit_burst"]) == (0.01, 1)
    assert http.get(PO).status_code == 200
    assert http.get(PO).status_code == 429
    for path in ("/__sim__/stats", "/__sim__/manifest", "/__sim__/health", "/__sim__/control"):
        assert [http.get(path).status_code for _ in range(3)] == [200] * 3, path
    # The IdP pages (SSO mode) and the signed file host stand for other hosts: their
    # own answers to these bad requests (400, 403), never a 429.
    assert [http.get("/idp/saml2").status_code for _ in range(3)] == [400] * 3
    assert [http.get("/files/signed/1/x.pdf").status_code for _ in range(3)] == [403] * 3
    assert server.stats()["rate"]["requests_total"] == 2


def test_bad_limits_are_refused(server: SimulatorServer, http: httpx.Client) -> None:
    for bad in ({"rate_limit_burst": 0}, {"rate_limit_burst": 2.5}, {"rate_limit_rps": -1},
                {"rate_limit_rps": "fast"}, {"rate_limit_burst": True}):  # fmt: skip
        answer = http.post("/__sim__/control", json=bad)
        assert answer.status_code == 400, bad
        with pytest.raises(ValueError):
            server.control(**bad)
    with pytest.raises(ValueError, match="rate_limit_burst"):
        SimulatorServer(n_pos=2, rate_limit_burst=0)


def test_off_means_off_and_knob_429s_count_apart(
    server: SimulatorServer, http: httpx.Client
) -> None:
    server.control(rate_limit_rps=0, burst_429=2)
    codes = [http.get(PO).status_code for _ in range(12)]
    assert codes == [429, 429] + [200] * 10
    rate = server.stats()["rate"]
    assert (rate["requests_total"], rate["limited_total"], rate["errors_429_total"]) == (12, 0, 2)


def test_limits_set_at_start_apply_from_the_first_request() -> None:
    with SimulatorServer(n_pos=2, seed=1, rate_limit_rps=0.01, rate_limit_burst=3) as sim:
        assert sim.control()["rate_limit_burst"] == 3
        with httpx.Client(base_url=sim.base_url, timeout=10) as client:
            codes = [client.get("/sessions/new").status_code for _ in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]


# --- the bucket and the window alone, on a hand-driven clock ------------------------------


class _Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_bucket_arithmetic() -> None:
    clock = _Clock()
    bucket = TokenBucket(clock)
    assert [bucket.take(2, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(2, 3) == pytest.approx(0.5)  # empty: a token in 1/2 s
    clock.now += 0.25
    assert bucket.take(2, 3) == pytest.approx(0.25)
    clock.now += 0.25
    assert bucket.take(2, 3) == 0.0
    clock.now += 100  # a long pause fills it up to the burst, no further
    assert [bucket.take(2, 3) for _ in range(4)][3] == pytest.approx(0.5)
    assert bucket.take(0, 3) == 0.0  # off
    assert [bucket.take(2, 3) for _ in range(3)] == [0.0, 0.0, 0.0]  # back on: full
    assert bucket.take(2, 3) > 0
    assert bucket.take(4, 3) == 0.0  # new limits: full again


def test_window_counts_per_second_and_stays_bounded() -> None:
    clock = _Clock(5000.0)
    window = RateWindow(clock)
    first = window.arrived()
    window.answered_429(first, limited=True)
    clock.now += 1.5
    window.answered_429(window.arrived(), limited=False)
    window.arrived()
    snap = window.snapshot()
    assert snap["per_second"] == [
        {"second": 5000, "requests": 1, "limited": 1, "errors_429": 1},
        {"second": 5001, "requests": 2, "limited": 0, "errors_429": 1},
    ]
    assert (snap["requests_total"], snap["limited_total"], snap["errors_429_total"]) == (3, 1, 2)
    for _ in range(1000):  # a long run: only the last WINDOW_SECONDS seconds are kept
        clock.now += 1
        window.arrived()
    snap = window.snapshot()
    assert len(snap["per_second"]) == WINDOW_SECONDS
    assert snap["per_second"][-1]["second"] == int(clock.now)
    assert snap["per_second"][0]["second"] == int(clock.now) - WINDOW_SECONDS + 1
    assert snap["requests_total"] == 1003
    window.answered_429(first, limited=True)  # its second has left the window: totals only
    assert window.snapshot()["limited_total"] == 2
    assert sum(s["limited"] for s in window.snapshot()["per_second"]) == 0
    clock.now += WINDOW_SECONDS - 1  # quiet since: only the last request's second is left
    assert [s["second"] for s in window.snapshot()["per_second"]] == [int(clock.now) - 119]
    clock.now += 1
    assert window.snapshot()["per_second"] == []
    window.reset()
    assert window.snapshot()["per_second"] == [] and window.snapshot()["requests_total"] == 0


# --- coupadl sim -------------------------------------------------------------------------


def test_sim_command_passes_the_new_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr("coupadl.simulator.server.serve", lambda **kw: seen.update(kw))
    args = ["sim", "--port", "0", "--rate-limit-rps", "2.5", "--rate-limit-burst", "7",
            "--script-attachments-share", "0.25"]  # fmt: skip
    result = CliRunner().invoke(cli_app, args)
    assert result.exit_code == 0, result.output
    assert (seen["rate_limit_rps"], seen["rate_limit_burst"]) == (2.5, 7)
    assert seen["script_attachments_share"] == 0.25
    assert seen["tls_cert"] is None and seen["tls_key"] is None
    bad = CliRunner().invoke(cli_app, ["sim", "--rate-limit-burst", "0"])
    assert bad.exit_code == int(ExitCode.USAGE) and "E_CONFIG" in bad.output
