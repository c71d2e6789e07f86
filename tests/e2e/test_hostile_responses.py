"""A hostile or broken server, end to end against the simulator with both engines: real
Chromium, and plain HTTP two POs at a time (after a headless sign-in).

Wrong Content-Length (shorter and longer than the body), a zero-byte file, an HTML
error page served under a PDF's name, a file redirected to another host: each affected
PO ends PARTIAL (or FAILED when nothing is left) with a clear error naming the file,
nothing bogus is kept in its folder, and every other PO matches the manifest.

Host names: the simulator listens on 127.0.0.1 only; Chromium resolves ``*.localhost``
to this computer by itself, so ``files.localhost`` and ``elsewhere.localhost`` reach
the same simulator as "other hosts" without DNS or other addresses. Python's resolver
does not (no DNS here), so the http engine's file host is ``localhost``: another host
name than the tenant's ``127.0.0.1``, on the same simulator.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from coupadl.errors import ExitCode
from coupadl.runs.batch import run_batch
from coupadl.simulator import broken as sim_broken
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.data import SimFile, expected_attachments
from coupadl.simulator.server import SimulatorServer
from helpers import write_input

pytestmark = pytest.mark.browser

BINARY = ("pdf", "docx", "xlsx", "png", "zip", "jpg", "msg", "xls")
# A body cut short under a matching Content-Length can only be told from the bytes for
# formats with an end marker (files/filetypes.py); .msg, .xls, .jpg, text cannot.
WITH_END_MARKER = ("pdf", "png", "zip", "docx", "xlsx")
TYPES_FOR = {"short": WITH_END_MARKER, "html": BINARY}
# What each fault must say in the PO's ERROR_MESSAGE, after the file's name.
EXPECTED_ERROR = {
    "empty": "the server sent an empty file",
    "html": "but the server sent a web page",
    "short": "is cut short: its end marker is missing",
    "long": "the connection closed after",
    "redirect": "refused: elsewhere.localhost is not the tenant's host",
}
ENGINES = {"browser": {}, "http": {"engine": "http", "concurrency": 2}}
# The file host each engine can reach under another name than the tenant's (see above).
FILE_HOST = {"browser": "files.localhost", "http": "localhost"}


@pytest.fixture(params=list(ENGINES))
def engine(request: pytest.FixtureRequest) -> str:
    """Each run with both engines: a browser, and plain HTTP two POs at a time."""
    return str(request.param)


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    """More POs than the shared simulator, so every fault gets its own PO."""
    with SimulatorServer(n_pos=60, seed=7) as server:
        yield server


@pytest.fixture(autouse=True)
def _healthy_server_afterwards(sim: SimulatorServer) -> Iterator[None]:
    yield
    sim.control(file_faults=None, file_host=None)


def _results(path: Path) -> dict[str, dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return {row["PO_NUMBER"][2:]: row for row in csv.DictReader(handle)}


def _files(sim: SimulatorServer, po: str, fallback: str = "no_pdf") -> list[SimFile]:
    """The PO's files in manifest order."""
    return [f for _, f in expected_attachments(sim.dataset, sim.dataset.pos[po], fallback)]


def _candidates(sim: SimulatorServer, manifest: dict[str, Any]) -> list[str]:
    """POs that complete normally with at least two distinct files."""
    return [
        po
        for po, truth in manifest["pos"].items()
        # Not the kinds with repeated names or URLs: one file id is one file there.
        if truth["kind"] in ("both", "header", "comment")
        and truth["status"] == "COMPLETED"
        and len(_files(sim, po)) >= 2
    ]


def _pick(sim: SimulatorServer, candidates: list[str], types: tuple[str, ...]) -> tuple[str, int]:
    """A PO (taken off ``candidates``) and the index of one of its files of ``types``."""
    for po in candidates:
        index = next((i for i, f in enumerate(_files(sim, po)) if f.ftype in types), None)
        if index is not None:
            candidates.remove(po)
            return po, index
    raise AssertionError(f"no PO left with a {'/'.join(types)} file")


def _expect_without(manifest: dict[str, Any], po: str, index: set[int]) -> None:
    """Change ``manifest`` in place: ``po`` loses the files at ``index``."""
    truth = manifest["pos"][po]
    truth["files"] = [f for i, f in enumerate(truth["files"]) if i not in index]
    truth["status"] = "PARTIAL" if truth["files"] else "FAILED"


def test_broken_file_responses_fail_only_their_file(
    sim: SimulatorServer, make_settings: Any, tmp_path: Path, engine: str
) -> None:
    manifest = sim.manifest()
    candidates = _candidates(sim, manifest)
    expected = copy.deepcopy(manifest)
    knob: dict[str, str] = {}
    broken: dict[str, tuple[str, str]] = {}  # po -> (fault, expected file name)
    for fault in EXPECTED_ERROR:
        po, index = _pick(sim, candidates, TYPES_FOR.get(fault, BINARY))
        knob[str(_files(sim, po)[index].file_id)] = fault
        broken[po] = (fault, manifest["pos"][po]["files"][index]["name"])
        _expect_without(expected, po, {index})
    # One PO loses every file: FAILED, and no folder at all.
    all_broken = candidates.pop(0)
    healthy = [po for po, t in manifest["pos"].items() if t["kind"] in ("both", "none")]
    healthy = [po for po in healthy if po not in broken and po != all_broken][:2]
    for f in _files(sim, all_broken):
        knob[str(f.file_id)] = "empty"
    _expect_without(expected, all_broken, set(range(len(_files(sim, all_broken)))))
    sim.control(file_faults=knob)
    sim.reset_stats()  # the module's simulator served the other engine's run before
    pos = [*broken, all_broken, *healthy]
    settings = make_settings(max_retries=0, **ENGINES[engine])

    outcome = run_batch(write_input(tmp_path / "in.csv", pos), settings)

    assert outcome.exit_code is ExitCode.INCOMPLETE
    # Folders and files: every expected file with its sha256, no stray or bogus file,
    # no staging leftovers, exactly one folder per PO with files.
    rows = _results(outcome.results_path)
    errors = {po: row["ERROR_MESSAGE"] for po, row in rows.items()}
    assert compare_with_manifest(settings.out, expected, pos) == [], errors
    assert not list(settings.out.rglob("*__WORK")) and not list(settings.out.rglob(".incoming"))
    for po, (fault, name) in broken.items():
        row = rows[po]
        assert row["STATUS"] == "PARTIAL", (fault, row)
        errors = [e for e in row["ERROR_MESSAGE"].split(". ") if e.startswith(f"{name}: ")]
        assert len(errors) == 1 and EXPECTED_ERROR[fault] in errors[0], (fault, row)
        assert name not in row["AttachmentName"].split("; ")
        assert int(row["ATTACHMENTS_DOWNLOADED"]) == int(row["ATTACHMENTS_FOUND"]) - 1
    assert rows[all_broken]["STATUS"] == "FAILED"
    assert rows[all_broken]["DOWNLOAD_FOLDER"] == ""
    assert not list(settings.out.rglob(f"PO{all_broken}_*"))
    for po in healthy:
        assert rows[po]["STATUS"] == manifest["pos"][po]["status"]
    # The redirect was refused by the engine: the other host never got the request.
    redirected = next(fid for fid, fault in knob.items() if fault == "redirect")
    requests = [r for r in sim.timeline()["requests"] if r["group"] == "files"]
    assert sum(r["id"] == redirected for r in requests) == 1  # the tenant's 302 only
    report = json.loads(outcome.report_path.read_text(encoding="utf-8"))
    assert {p["po_number"]: p["status"] for p in report["pos"]}[all_broken] == "FAILED"
    assert {p["engine"] for p in report["pos"]} == {engine}


def _record_file_host_cookies(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Cookie header of every request the simulator's file host gets (the simulator
    runs in this process: its signature check is wrapped, nothing else changes)."""
    seen: list[str] = []
    check = sim_broken.signature_ok

    def recording(request: Any, file_id: int, seed: int) -> bool:
        seen.append(request.headers.get("cookie", ""))
        return check(request, file_id, seed)

    monkeypatch.setattr(sim_broken, "signature_ok", recording)
    return seen


def test_files_served_from_the_configured_file_host(
    sim: SimulatorServer,
    make_settings: Any,
    tmp_path: Path,
    engine: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A tenant whose files live on another host (S3-like signed URLs): allowed when it
    is in file_hosts, and sent none of the tenant's cookies; refused (and said so) when
    it is not."""
    manifest = sim.manifest()
    pos = _candidates(sim, manifest)[:2]
    host = FILE_HOST[engine]
    sim.control(file_host=host)
    cookies = _record_file_host_cookies(monkeypatch)

    allowed = make_settings(out=tmp_path / "allowed", file_hosts=[host], **ENGINES[engine])
    outcome = run_batch(write_input(tmp_path / "in.csv", pos), allowed)

    assert outcome.exit_code is ExitCode.OK
    assert compare_with_manifest(allowed.out, manifest, pos) == []
    # Every file came from the file host, which never saw a cookie of the tenant's.
    assert len(cookies) >= sum(len(manifest["pos"][po]["files"]) for po in pos)
    sent = sum(1 for header in cookies if header)  # a count: the values are session secrets
    assert sent == 0, f"{sent} request(s) to the file host carried a Cookie header"

    refused = make_settings(out=tmp_path / "refused", max_retries=0, **ENGINES[engine])
    outcome = run_batch(write_input(tmp_path / "in.csv", pos), refused)

    assert outcome.exit_code is ExitCode.INCOMPLETE
    rows = _results(outcome.results_path)
    for po in pos:
        assert rows[po]["STATUS"] == "FAILED"
        assert f"refused: {host} is not the tenant's host" in rows[po]["ERROR_MESSAGE"]
        # The signed URL's secret never reaches the results.
        assert "sig=" not in rows[po]["ERROR_MESSAGE"]
    assert not [p for p in refused.out.rglob("*") if p.is_file() and ".coupadl" not in p.parts
                and p.name not in ("results.csv", "report.json", "report.html")]  # fmt: skip


# Browser only: it checks the browser's download host guard (engine/browser/hostguard.py);
# the http engine's equivalent, pages on another host meaning sign-in, is the next test.
def test_page_navigations_may_still_reach_an_sso_identity_provider(
    sim: SimulatorServer,
    make_settings: Any,
    own_profile: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The guard only holds downloads to the allowed hosts: when the session expires on
    an SSO tenant, the PO page's redirect to the identity provider (another host) goes
    through, so the run sees "sign in again" rather than a refused request."""
    from coupadl.engine.browser.handler import BrowserHandler
    from coupadl.models import POTask, Status

    manifest = sim.manifest()
    first, second = _candidates(sim, manifest)[:2]
    handler = BrowserHandler("guarded", make_settings(profile_dir=own_profile), own_profile)
    handler.start()
    try:
        # Downloads arm the guard...
        assert handler.process(POTask(first)).status is Status.COMPLETED
        assert handler.session._guard is not None and handler.session._guard.active
        # ...then the session expires on an SSO tenant: the next page goes to the IdP.
        sim.control(sso_after=60)
        sim.expire_sessions()
        with caplog.at_level(logging.WARNING, logger="coupadl.engine.browser.hostguard"):
            result = handler.process(POTask(second))
    finally:
        handler.close()
        sim.control(sso_after=None)
    assert result.status is Status.AUTH_REQUIRED, result
    assert not [r for r in caplog.records if "refused" in r.getMessage()]


def test_over_http_a_page_sent_to_an_sso_identity_provider_is_sign_in_not_refused(
    sim: SimulatorServer,
    make_settings: Any,
    own_profile: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The http engine refuses downloads from other hosts; when the session expires on an
    SSO tenant, a PO page's redirect to the identity provider is "sign in again": not a
    refused request, and the identity provider is never asked by plain HTTP."""
    from coupadl.engine.http.handler import HttpHandler
    from coupadl.engine.http.prepare import prepare_http
    from coupadl.models import POTask, Status

    manifest = sim.manifest()
    first, second = _candidates(sim, manifest)[:2]
    settings = make_settings(profile_dir=own_profile, **ENGINES["http"])
    session = prepare_http(settings, own_profile, None, 1, lambda _: None).session
    handler = HttpHandler("plain", settings, None, session)
    handler.start()
    idp_pages = sim.app.state.sso.record.idp_pages
    try:
        assert handler.process(POTask(first)).status is Status.COMPLETED
        sim.control(sso_after=60)
        sim.expire_sessions()
        with caplog.at_level(logging.WARNING, logger="coupadl.engine.http"):
            result = handler.process(POTask(second))
    finally:
        handler.close()
        sim.control(sso_after=None)
    assert result.status is Status.AUTH_REQUIRED, result
    assert "localhost" in result.message  # the identity provider's host, named
    assert sim.app.state.sso.record.idp_pages == idp_pages
    assert not [r for r in caplog.records if "refused" in r.getMessage()]
    assert not list(settings.out.rglob(f"PO{second}*"))
