"""report.html on plain data: escaping, links, failure groups, the chart; and the
state-only report behind ``coupadl report OUT``."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse
from urllib.request import url2pathname

import pytest

from coupadl.errors import (
    DEFAULT_ACTION,
    STATUS_CODES,
    SUGGESTED_ACTIONS,
    ExitCode,
    NoRunStateError,
    suggested_action,
)
from coupadl.models import AttachmentSource, FileResult, POResult, Status
from coupadl.reports.from_state import report_from_state
from coupadl.reports.html_report import (
    MAX_POINTS,
    build_html,
    folder_parts,
    href,
    throughput,
    write_html_report,
)
from coupadl.state.store import RunState

START = 1_750_000_000.0
HOSTILE_SUPPLIER = '<script>alert("x")</script> \u202eAB "Quoted" & Co'
SPACED = "Müller & Söhne GmbH"
ODD_FILE = "Offert #1 (rev 2) 100%?.pdf"


class _Page(HTMLParser):
    """What a browser would build: tags, attributes, text by element id."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def file_result(name: str, size: int = 2048) -> FileResult:
    return FileResult(name, size, "a" * 64, AttachmentSource.HEADER)


def sample(out: Path) -> list[POResult]:
    return [
        POResult(
            "1", Status.COMPLETED, supplier=SPACED, attachments_found=2,
            files=[file_result(ODD_FILE), file_result("見積書_7.pdf", 10)],
            folder=out / SPACED / "PO1_COMPLETED", finished_at=START + 5, worker="seq",
        ),
        POResult(
            "2", Status.PARTIAL, "E_PARTIAL", "Some attachments could not be downloaded.",
            supplier=HOSTILE_SUPPLIER, attachments_found=3,
            files=[file_result('<img src=x onerror="alert(1)">\u202etxt.pdf\x07')],
            folder=out / "hostile" / "PO2_PARTIAL", finished_at=START + 12, worker="seq",
        ),
        POResult("3", Status.PO_NOT_FOUND, "E_PO_NOT_FOUND", "Coupa says no.",
                 finished_at=START + 14),
        POResult("4", Status.PO_NOT_FOUND, "E_PO_NOT_FOUND", "Coupa says no.",
                 finished_at=START + 31),
        POResult("5", Status.ACCESS_DENIED, "E_ACCESS_DENIED", "Not yours.",
                 finished_at=START + 40),
        POResult("6", Status.FAILED, "E_WEIRD", "Something odd <b>happened</b>.",
                 finished_at=START + 41),
        POResult("7", Status.NO_ATTACHMENTS, supplier="Plain AB", finished_at=START - 3600),
    ]  # fmt: skip


def page_for(out: Path, **changes: object) -> str:
    kwargs: dict[str, object] = {
        "out_dir": out, "started_at": START, "finished_at": START + 45,
        "mode": "sequential", "workers": 1, "pending": ["8"],
    }  # fmt: skip
    kwargs.update(changes)
    return build_html(sample(out), **kwargs)  # type: ignore[arg-type]


# --- escaping -----------------------------------------------------------------------------


def test_hostile_names_are_text_not_markup(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    parsed = parse(page)

    tags = {tag for tag, _ in parsed.tags}
    assert "script" not in tags and "img" not in tags and "b" not in tags
    assert not [a for _, attrs in parsed.tags for a in attrs if a.startswith("on")]
    text = "".join(parsed.text)
    assert '<script>alert("x")</script>' in text  # shown as the text it is
    assert '<img src=x onerror="alert(1)">' in text
    assert "<b>happened</b>" in text
    # Bidi overrides and controls never reach the page raw: they are shown as codes.
    assert "\u202e" not in page and "\x07" not in page
    assert page.count('<span class="ctl">U+202E</span>') == 2
    assert '<span class="ctl">U+0007</span>' in page
    assert "<bdi>" in page


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    parsed = parse(page)

    assert not {"script", "link", "img", "iframe", "object"} & {t for t, _ in parsed.tags}
    assert not [a for _, attrs in parsed.tags for a in attrs if a in ("src", "srcset")]
    urls = re.findall(r"https?://[^\"' )]+", page)
    assert urls == ["http://www.w3.org/2000/svg"]  # the SVG namespace, never fetched
    csp = next(a["content"] for t, a in parsed.tags if a.get("http-equiv"))
    assert csp is not None and "default-src 'none'" in csp


# --- links --------------------------------------------------------------------------------


def _resolve(out: Path, link: str) -> Path:
    url = urljoin((out / "report.html").as_uri(), link)
    assert urlparse(url).scheme == "file"
    return Path(url2pathname(urlparse(url).path))


def test_links_are_relative_percent_encoded_and_resolve(tmp_path: Path) -> None:
    folder = tmp_path / SPACED / "PO1_COMPLETED"
    folder.mkdir(parents=True)
    for name in (ODD_FILE, "見積書_7.pdf"):
        (folder / name).write_bytes(b"x")
    page = page_for(tmp_path)
    links = [a["href"] for t, a in parse(page).tags if t == "a" and a.get("href")]
    files = [h for h in links if h and not h.startswith("#") and not h.endswith("/")]
    folders = [h for h in links if h and h.endswith("/")]

    expected = "M%C3%BCller%20%26%20S%C3%B6hne%20GmbH/PO1_COMPLETED/"
    assert expected in folders
    assert expected + "Offert%20%231%20%28rev%202%29%20100%25%3F.pdf" in files
    for link in files + folders:
        assert not urlparse(link).scheme and not link.startswith("/")
        assert re.fullmatch(r"[A-Za-z0-9_.~%/-]+", link), link
    for link in files[:2]:
        assert _resolve(tmp_path, link).is_file()
    assert _resolve(tmp_path, expected).is_dir()


def test_href_refuses_dot_segments_and_encodes_schemes() -> None:
    assert href(("a b", "c")) == "a%20b/c"
    assert href(("javascript:alert(1)",)) == "javascript%3Aalert%281%29"
    assert href(("..", "x")) is None and href(("a", ".")) is None and href(()) is None
    assert unquote(href(("Счёт 1.pdf",)) or "") == "Счёт 1.pdf"


def test_folder_parts_across_spellings_and_moves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    out = tmp_path / "moved"
    (out / "Acme AB" / "PO1_COMPLETED").mkdir(parents=True)
    # A run recorded its folders under another place; the tail that exists is used.
    old = Path("/elsewhere/out/Acme AB/PO1_COMPLETED")
    assert folder_parts(old, out) == ("Acme AB", "PO1_COMPLETED")
    monkeypatch.chdir(tmp_path)
    assert folder_parts(Path("moved/Acme AB/PO1_COMPLETED"), out) == ("Acme AB", "PO1_COMPLETED")
    assert folder_parts(Path("/nowhere/PO9_COMPLETED"), out) is None


def test_folder_outside_out_shows_without_link(tmp_path: Path) -> None:
    result = POResult(
        "9", Status.COMPLETED, supplier="X", attachments_found=1, files=[file_result("a.pdf")],
        folder=Path("/nowhere/PO9_COMPLETED"), finished_at=START + 1,
    )  # fmt: skip
    page = build_html(
        [result], out_dir=tmp_path, started_at=START, finished_at=START + 2, mode="m", workers=1
    )
    assert not [a for t, a in parse(page).tags if t == "a" and "a.pdf" in (a.get("href") or "")]
    assert "a.pdf" in page


# --- totals and failure groups ------------------------------------------------------------


def _section(page: str, code: str) -> str:
    match = re.search(rf'<section class="failure" id="fail-{code}">(.*?)</section>', page)
    assert match, code
    return match.group(1)


def test_totals_and_failures_grouped_by_code_with_actions(tmp_path: Path) -> None:
    page = page_for(tmp_path)

    totals = re.search(r'<table class="totals">(.*?)</table>', page)
    assert totals
    cells = re.findall(r"<td[^>]*>(.*?)</td>", totals.group(1))
    pairs = {re.sub(r"<[^>]+>", "", a): b for a, b in zip(cells[::2], cells[1::2], strict=True)}
    assert pairs["PO_NOT_FOUND"] == "2" and pairs["COMPLETED"] == "1"
    assert pairs["left pending"] == "1" and pairs["POs"] == "7"
    assert "NO_ATTACHMENTS" in pairs and "TIMEOUT" not in pairs

    codes = re.findall(r'<section class="failure" id="fail-([^"]+)">', page)
    assert codes == ["E_PO_NOT_FOUND", "E_ACCESS_DENIED", "E_PARTIAL", "E_WEIRD"]  # biggest first
    not_found = _section(page, "E_PO_NOT_FOUND")
    assert "2 PO(s)" in not_found
    assert STATUS_CODES[Status.PO_NOT_FOUND][1] in not_found
    assert suggested_action("E_PO_NOT_FOUND") in not_found.replace("&#x27;", "'")
    assert re.findall(r'href="#po-(\d+)"', not_found) == ["3", "4"]
    weird = _section(page, "E_WEIRD")
    assert DEFAULT_ACTION in weird and "&lt;b&gt;happened&lt;/b&gt;" in weird
    for po in "1234567":
        assert f'id="po-{po}"' in page


def test_every_po_error_code_has_its_own_action() -> None:
    codes = {code for code, _ in STATUS_CODES.values() if code}
    assert codes <= set(SUGGESTED_ACTIONS)
    assert suggested_action("E_NEVER_SEEN") == DEFAULT_ACTION


# --- chart --------------------------------------------------------------------------------


def test_throughput_buckets_and_interval_choice() -> None:
    finishes = [START + 5, START + 12, START + 14, START + 31, START - 60]
    series = throughput(finishes, START, START + 45)
    assert series.width == 10 and series.counts == (1, 2, 0, 1, 0)  # the earlier one left out
    assert series.per_minute[1] == 12.0
    long_run = throughput([], START, START + 3 * 3600)
    assert (long_run.width, len(long_run.counts)) == (120, 90)
    assert len(throughput([], START, START + 40 * 86400).counts) <= MAX_POINTS
    assert throughput([START], START, START).counts == (1,)  # never an empty chart


def test_chart_has_one_point_per_interval(tmp_path: Path) -> None:
    page = page_for(tmp_path, finished_at=START + 150)
    svg = re.search(r"<svg .*?</svg>", page, re.S)
    assert svg
    circles = re.findall(r'<circle class="pt" cx="[\d.]+" cy="([\d.]+)"', svg.group(0))
    polyline = re.search(r'<polyline class="line" points="([^"]+)"', svg.group(0))
    assert polyline
    assert len(circles) == len(polyline.group(1).split()) == 15  # 150 s in 10 s intervals
    assert len(set(circles)) > 1  # the line goes up and down with the finishes


# --- writing, and the report from the state alone -----------------------------------------


def test_write_html_report(tmp_path: Path) -> None:
    path = write_html_report(
        tmp_path, sample(tmp_path), started_at=START, finished_at=START + 45, mode="pool",
        workers=2,
    )  # fmt: skip
    assert path == tmp_path / "report.html"
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temp file left


def test_report_from_state_summarises_the_last_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with RunState(out) as state:
        earlier = state.begin_run("in.xlsx", "sequential")
        state.record_result(POResult("7", Status.COMPLETED, finished_at=1.0, worker="seq"))
        state.end_run(earlier, 3)
        run = state.begin_run("in.xlsx", "pool")
        state.mark_pending(["1", "2", "3", "9"])
        started = state.last_run().started_at  # type: ignore[union-attr]
        for po, status, worker in [("1", Status.COMPLETED, "worker-1"),
                                   ("2", Status.FAILED, "worker-2"),
                                   ("3", Status.COMPLETED, "worker-1")]:  # fmt: skip
            state.record_result(POResult(po, status, finished_at=started + 1, worker=worker))
        state.end_run(run, int(ExitCode.INCOMPLETE))

    report = report_from_state(out)

    outcome = report.outcome
    assert outcome.by_status == {"COMPLETED": 2, "FAILED": 1}
    assert (outcome.processed, outcome.skipped, outcome.pending) == (3, 1, ["9"])
    assert (outcome.mode, outcome.workers, outcome.exit_code) == ("pool", 2, ExitCode.INCOMPLETE)
    assert outcome.results_path == out / "results.xlsx"
    assert report.html_path == out / "report.html" and report.html_path.is_file()


def test_run_killed_before_its_end_reads_as_interrupted(tmp_path: Path) -> None:
    with RunState(tmp_path) as state:
        state.begin_run("in.csv", "sequential")
        state.mark_pending(["1"])
    outcome = report_from_state(tmp_path).outcome
    assert outcome.exit_code is ExitCode.INTERRUPTED
    assert outcome.pending == ["1"] and outcome.results_path == tmp_path / "results.csv"


def test_no_run_state_is_a_usage_error_and_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(NoRunStateError) as info:
        report_from_state(tmp_path)
    assert info.value.exit_code is ExitCode.USAGE
    assert "no run state" in info.value.message
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(NoRunStateError, match="does not exist"):
        report_from_state(tmp_path / "missing")
    assert not (tmp_path / "missing").exists()
