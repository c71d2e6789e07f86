"""``coupadl run --dry-run`` against the simulator (names and sizes as a run would save
them, nothing written), with the browser engine and with the http engine, and the
one-browser path reporting its stages to a RunProgress. Real headless Chromium (the
http engine's dry run reads the session with it, then plain HTTP)."""

from __future__ import annotations

import dataclasses
import logging
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from coupadl.cli.app import app
from coupadl.errors import ExitCode
from coupadl.execution.progress import Phase, RunProgress
from coupadl.runs.batch import run_batch
from coupadl.runs.dryrun import dry_run
from coupadl.simulator.data.manifest import expected_attachments
from coupadl.simulator.faults import Knobs
from coupadl.simulator.transfer import FaultyBody
from helpers import write_input

pytestmark = pytest.mark.browser

FILE_LINE = re.compile(r"^    (.+)  ([\d,]+ bytes|size unknown)  \((\w+)\)$")


def _kinds(manifest: dict[str, Any], *kinds: str) -> list[str]:
    return [next(po for po, t in manifest["pos"].items() if t["kind"] == k) for k in kinds]


def _tree(folder: Path) -> list[tuple[str, int, float]]:
    if not folder.exists():
        return []
    return sorted(
        (str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime) for p in folder.rglob("*")
    )


def _dry_run(sim: Any, settings: Any, input_path: Path, *extra: str) -> tuple[int, str]:
    args = [
        "run", str(input_path), "--dry-run", "--base-url", sim.base_url,
        "--out", str(settings.out), "--profile-dir", str(settings.profile_dir),
        "--browser-binary", str(settings.browser_binary),
        "--driver-path", str(settings.driver_path), "--sequential", *extra,
    ]  # fmt: skip
    root = logging.getLogger()
    handlers, level = root.handlers[:], logging.getLogger("coupadl").level
    try:
        result = CliRunner().invoke(app, args)
    finally:
        # The command points logging at CliRunner's streams, closed after the call.
        root.handlers[:] = handlers
        logging.getLogger("coupadl").setLevel(level)
    return result.exit_code, result.output


def _listing(output: str) -> dict[str, list[tuple[str, str, str]]]:
    """PO number -> [(name, size text, source)] from the dry run's output."""
    files: dict[str, list[tuple[str, str, str]]] = {}
    current = ""
    for line in output.splitlines():
        if head := re.match(r"^PO(\d+)  ", line):
            current = head.group(1)
            files[current] = []
        elif (match := FILE_LINE.match(line)) and current:
            name, size, source = match.groups()
            files[current].append((name, size, source))
    return files


def test_dry_run_lists_names_and_sizes_and_writes_nothing(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    pos = _kinds(
        manifest, "header", "requisition_only", "duplicates", "hostile", "none",
        "not_found", "denied",
    )  # fmt: skip
    settings = make_settings()
    input_path = write_input(tmp_path / "in.csv", pos)
    sim.reset_stats()

    code, output = _dry_run(sim, settings, input_path)

    assert code == ExitCode.OK, output
    listing = _listing(output)
    assert set(listing) == set(pos), output
    for po in pos:
        truth = manifest["pos"][po]
        expected = [(f["name"], f"{f['size']:,} bytes", f["source"]) for f in truth["files"]]
        assert listing[po] == expected, (po, output)
        line = next(line for line in output.splitlines() if line.startswith(f"PO{po}  "))
        if not truth["files"]:
            assert truth["status"] in line, line
    assert "7 PO(s) would be processed" in output
    assert "Nothing was downloaded or written." in output
    assert not settings.out.exists(), "the dry run wrote to the output folder"
    # HEAD requests ask for sizes; no attachment was fetched more than once (no GET
    # after the HEAD).
    assert all(n == 1 for n in sim.stats()["files"].values()), sim.stats()["files"]


def test_dry_run_after_a_run_skips_what_is_done_and_leaves_the_output_alone(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    done, left = _kinds(manifest, "header", "comment")
    settings = make_settings()
    run_batch(write_input(tmp_path / "first.csv", [done]), settings)
    before = _tree(settings.out)
    input_path = write_input(tmp_path / "in.csv", [done, left])

    code, output = _dry_run(sim, settings, input_path)
    only_failed_code, only_failed = _dry_run(sim, settings, input_path, "--only-failed")

    assert code == ExitCode.OK and only_failed_code == ExitCode.OK, output + only_failed
    assert set(_listing(output)) == {left}
    assert "1 PO(s) would be processed, 1 finished earlier" in output
    # --only-failed: the other PO was never queued by a run, so it is not "failed".
    assert _listing(only_failed) == {}
    assert "0 PO(s) would be processed" in only_failed
    assert _tree(settings.out) == before, "the dry run changed the output folder"


def test_sequential_run_reports_each_stage(sim: Any, make_settings: Any, tmp_path: Path) -> None:
    manifest = sim.manifest()
    pos = _kinds(manifest, "both", "requisition_only")

    class Stages(RunProgress):
        def __init__(self) -> None:
            super().__init__()
            self.seen: list[tuple[str, str, str]] = []

        def stage(self, worker_id: str, po_number: str, stage: str) -> None:
            self.seen.append((worker_id, po_number, stage))
            super().stage(worker_id, po_number, stage)

    monitor = Stages()
    outcome = run_batch(
        write_input(tmp_path / "in.csv", pos), make_settings(workers=1), monitor=monitor
    )

    assert outcome.mode == "sequential" and outcome.exit_code is ExitCode.OK
    for po in pos:
        stages = [stage for worker, number, stage in monitor.seen if number == po]
        assert {w for w, number, _ in monitor.seen if number == po} == {"seq"}
        assert stages[:2] == ["navigating", "finding"], stages
        assert "downloading 1 of" in " ".join(stages) and stages[-1] == "verifying", stages
    snapshot = monitor.snapshot()
    assert snapshot.phase is Phase.DONE
    assert (snapshot.total, snapshot.done, snapshot.by_status) == (2, 2, {"COMPLETED": 2})


# --- the http engine ---------------------------------------------------------------------


@dataclasses.dataclass
class FileAnswers:
    """What the simulator's file responses sent: each request's method, the body bytes
    that went out (a HEAD answer sends the headers only), and how many requests a
    browser made (they carry Sec-Fetch-Mode, as the simulator's browser-only sessions
    tell a browser; httpx sends none)."""

    methods: Counter[str] = dataclasses.field(default_factory=Counter)
    body_bytes: int = 0
    from_browser: int = 0


@pytest.fixture
def file_answers(monkeypatch: pytest.MonkeyPatch) -> FileAnswers:
    """Watches every file the simulator serves, at its ASGI response (the server side):
    its stats count a HEAD and a GET alike, so they cannot tell a listing from a
    download. The simulator runs in this process, so its class can be watched."""
    seen = FileAnswers()
    serve = FaultyBody.__call__

    async def watched(self: FaultyBody, scope: Any, receive: Any, send: Any) -> None:
        seen.methods[scope.get("method", "")] += 1
        seen.from_browser += any(name == b"sec-fetch-mode" for name, _ in scope["headers"])

        async def counting_send(message: Any) -> None:
            if message["type"] == "http.response.body":
                seen.body_bytes += len(message.get("body", b""))
            await send(message)

        await serve(self, scope, receive, counting_send)

    monkeypatch.setattr(FaultyBody, "__call__", watched)
    return seen


@pytest.fixture
def default_knobs(sim: Any) -> Iterator[None]:
    """The simulator is shared: a test that turns a knob leaves it as it found it."""
    yield
    sim.control(**dataclasses.asdict(Knobs()))


def _expected_files(truth: dict[str, Any]) -> list[tuple[str, int, str]]:
    return [(f["name"], f["size"], f["source"]) for f in truth["files"]]


def test_http_dry_run_lists_every_po_as_the_manifest_and_fetches_no_file(
    sim: Any, make_settings: Any, tmp_path: Path, file_answers: FileAnswers
) -> None:
    manifest = sim.manifest()
    pos = list(manifest["pos"])
    settings = make_settings(engine="http")
    input_path = write_input(tmp_path / "in.csv", pos)
    sim.reset_stats()

    result = dry_run(input_path, settings)

    planned = {p.po_number: p for p in result.pos}
    assert list(planned) == pos
    for po, truth in manifest["pos"].items():
        got = planned[po]
        assert got.outcome == ("FILES" if truth["files"] else truth["status"]), (po, got)
        listed = [(f.name, f.size, f.source.value) for f in got.files]
        assert listed == _expected_files(truth), po
        if truth["files"]:
            assert got.supplier == truth["supplier"], po
    assert not settings.out.exists(), "the dry run wrote to the output folder"
    n_files = sum(len(truth["files"]) for truth in manifest["pos"].values())
    # Every listed file was asked for once, by HEAD: no body left the server.
    assert file_answers.methods == Counter({"HEAD": n_files}), file_answers
    assert file_answers.body_bytes == 0
    assert file_answers.from_browser == 0, "a browser asked, not plain HTTP"
    assert sum(sim.stats()["files"].values()) == n_files
    # Each PO's page once.
    assert sim.stats()["pos"] == dict.fromkeys(pos, 1)


def test_the_cli_dry_run_with_the_http_engine_prints_the_listing(
    sim: Any, make_settings: Any, tmp_path: Path, file_answers: FileAnswers
) -> None:
    manifest = sim.manifest()
    pos = _kinds(manifest, "header", "requisition_only", "duplicates", "none", "not_found")
    settings = make_settings()
    input_path = write_input(tmp_path / "in.csv", pos)

    code, output = _dry_run(sim, settings, input_path, "--engine", "http")

    assert code == ExitCode.OK, output
    listing = _listing(output)
    assert set(listing) == set(pos), output
    for po in pos:
        truth = manifest["pos"][po]
        expected = [
            (name, f"{size:,} bytes", source) for name, size, source in _expected_files(truth)
        ]
        assert listing[po] == expected, (po, output)
        line = next(line for line in output.splitlines() if line.startswith(f"PO{po}  "))
        if not truth["files"]:
            assert truth["status"] in line, line
    n_files = sum(len(manifest["pos"][po]["files"]) for po in pos)
    assert f"5 PO(s) would be processed; {n_files} file(s)" in output, output
    assert "Nothing was downloaded or written." in output
    assert not settings.out.exists(), "the dry run wrote to the output folder"
    # Plain HTTP asked, by HEAD (the browser engine's page would have asked too).
    assert file_answers.methods == Counter({"HEAD": n_files}), file_answers
    assert file_answers.from_browser == 0, file_answers


def test_pages_only_a_browser_reads_are_listed_as_such_and_no_browser_opens_them(
    sim: Any, make_settings: Any, tmp_path: Path, default_knobs: None, file_answers: FileAnswers
) -> None:
    sim.control(script_attachments_share=0.5)
    manifest = sim.manifest()
    truths = manifest["pos"]
    scripted = [po for po, truth in truths.items() if truth["script_attachments"]][:2]
    plain = [
        po for po, truth in truths.items() if truth["files"] and not truth["script_attachments"]
    ][:2]
    assert len(scripted) == 2 and len(plain) == 2, "the share picked too few POs: choose another"
    input_path = write_input(tmp_path / "in.csv", scripted + plain)
    settings = make_settings()

    code, output = _dry_run(sim, settings, input_path, "--engine", "http")
    auto = dry_run(input_path, make_settings(engine="auto"))

    assert code == ExitCode.OK, output
    for po in scripted:
        line = next(line for line in output.splitlines() if line.startswith(f"PO{po}  "))
        assert "NEEDS_BROWSER" in line and "E_NEEDS_BROWSER" in line, line
    assert "2 PO(s) only a browser can read, their files not listed" in output, output
    listing = _listing(output)
    for po in plain:
        expected = [(n, f"{s:,} bytes", src) for n, s, src in _expected_files(truths[po])]
        assert listing[po] == expected, (po, output)
    by_po = {p.po_number: p for p in auto.pos}
    for po in scripted:
        assert by_po[po].outcome == "NEEDS_BROWSER" and not by_po[po].files, by_po[po]
        assert "a run reads it in the browser" in by_po[po].note, by_po[po].note
    for po in plain:
        assert [(f.name, f.size, f.source.value) for f in by_po[po].files] == _expected_files(
            truths[po]
        )
    # Nothing of a scripted PO was fetched: only the plain POs' files, by HEAD, twice.
    n_plain = sum(len(truths[po]["files"]) for po in plain)
    assert file_answers.methods == Counter({"HEAD": 2 * n_plain}), file_answers
    assert not settings.out.exists()


def test_auto_dry_run_lists_in_the_browser_when_plain_http_is_refused(
    sim: Any,
    make_settings: Any,
    tmp_path: Path,
    default_knobs: None,
    caplog: pytest.LogCaptureFixture,
    file_answers: FileAnswers,
) -> None:
    # The tenant takes the session only from a browser: plain HTTP is sent to sign in.
    sim.control(browser_only_sessions=True)
    manifest = sim.manifest()
    pos = _kinds(manifest, "header", "requisition_only")
    settings = make_settings(engine="auto")

    with caplog.at_level("WARNING", logger="coupadl"):
        result = dry_run(write_input(tmp_path / "in.csv", pos), settings)

    for planned in result.pos:
        truth = manifest["pos"][planned.po_number]
        listed = [(f.name, f.size, f.source.value) for f in planned.files]
        assert (planned.outcome, listed) == ("FILES", _expected_files(truth)), planned
    assert [p.po_number for p in result.pos] == pos
    switched = [r.message for r in caplog.records if "goes on with the browser" in r.message]
    assert len(switched) == 1 and "plain HTTP" in switched[0], switched
    # The sizes were asked by the browser's page, by HEAD.
    n_files = sum(len(manifest["pos"][po]["files"]) for po in pos)
    assert file_answers.methods == Counter({"HEAD": n_files}), file_answers
    assert file_answers.from_browser == n_files, file_answers
    assert not settings.out.exists()


def test_a_redirected_file_is_listed_with_its_size_unknown_and_not_followed(
    sim: Any, make_settings: Any, tmp_path: Path, default_knobs: None, file_answers: FileAnswers
) -> None:
    manifest = sim.manifest()
    po = next(po for po, truth in manifest["pos"].items() if len(truth["files"]) >= 2)
    listed = expected_attachments(
        sim.dataset, sim.dataset.pos[po], manifest["requisition_fallback"]
    )
    moved = str(listed[0][1].file_id)
    # A 302 to the same file on another host name that resolves here (so a client that
    # followed it would reach the simulator again, and be counted).
    sim.control(file_faults={moved: "redirect"}, redirect_host="localhost")
    sim.reset_stats()

    result = dry_run(write_input(tmp_path / "in.csv", [po]), make_settings(engine="http"))

    expected = _expected_files(manifest["pos"][po])
    got = [(f.name, f.size, f.source.value) for f in result.pos[0].files]
    assert got == [(expected[0][0], None, expected[0][2]), *expected[1:]]
    # The 302 was asked once and not followed to the other host.
    assert sim.stats()["files"][moved] == 1
    assert file_answers.methods == Counter({"HEAD": len(expected) - 1}), file_answers
