"""report.html on plain data: escaping, the embedded table data, links, failure groups,
per-minute buckets, the per-supplier summary, the refresh section; and the state-only
report behind ``coupadl report OUT``."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
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
from coupadl.reports.html_data import supplier_summary
from coupadl.reports.html_report import (
    MAX_POINTS,
    build_html,
    folder_parts,
    href,
    minute_buckets,
    write_html_report,
)
from coupadl.reports.html_text import embed_json, marked, visible
from coupadl.state.store import RunState

START = 1_750_000_000.0
HOSTILE_SUPPLIER = '<script>alert("x")</script> \u202eAB "Quoted" & Co'
BREAKOUT = "</script><script>alert(1)</script>"
SPACED = "Müller & Söhne GmbH"
ODD_FILE = "Offert #1 (rev 2) 100%?.pdf"
HOSTILE_FILE = '<img src=x onerror="alert(1)">\u202etxt.pdf\x07'


class _Page(HTMLParser):
    """What a browser would build: tags, attributes, text, and each script's content."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self.scripts.append((dict(attrs), ""))

    def handle_data(self, data: str) -> None:
        if self.tags and self.tags[-1][0] == "script" and self.scripts[-1][1] == "":
            self.scripts[-1] = (self.scripts[-1][0], data)
        else:
            self.text.append(data)


def parse(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    parser.close()
    return parser


def table(page: str) -> dict[str, Any]:
    """The PO table's data, as the page's script reads it (JSON.parse of the element)."""
    (content,) = [text for attrs, text in parse(page).scripts if attrs.get("id") == "report-data"]
    return dict(json.loads(content))


def rows_by_po(page: str) -> dict[str, list[Any]]:
    return {row[0]: row for row in table(page)["rows"]}


def file_result(name: str, size: int = 2048, added_at: float = 0.0) -> FileResult:
    return FileResult(name, size, "a" * 64, AttachmentSource.HEADER, added_at=added_at)


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
            files=[file_result(HOSTILE_FILE)],
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


def page_for(out: Path, results: list[POResult] | None = None, **changes: object) -> str:
    kwargs: dict[str, object] = {
        "out_dir": out, "started_at": START, "finished_at": START + 45,
        "mode": "sequential", "workers": 1, "pending": ["8"],
    }  # fmt: skip
    kwargs.update(changes)
    return build_html(sample(out) if results is None else results, **kwargs)  # type: ignore[arg-type]


# --- escaping -----------------------------------------------------------------------------


def test_hostile_names_are_text_not_markup(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    parsed = parse(page)

    tags = [tag for tag, _ in parsed.tags]
    assert tags.count("script") == 2  # the data and the code, none from a name
    assert "img" not in tags and "b" not in tags
    assert not [a for _, attrs in parsed.tags for a in attrs if a.startswith("on")]
    text = "".join(parsed.text)
    assert '<script>alert("x")</script>' in text  # shown as the text it is (per supplier)
    assert "<b>happened</b>" in text
    # Bidi overrides and controls never reach the page raw: they are shown as codes.
    assert "\u202e" not in page and "\x07" not in page
    assert '<span class="ctl">U+202E</span>' in page
    assert "<bdi>" in page
    # In the table data they are JSON escapes, and come back as they were.
    assert rows_by_po(page)["2"][4][0][0] == HOSTILE_FILE
    assert table(page)["suppliers"][rows_by_po(page)["2"][2]] == HOSTILE_SUPPLIER


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    parsed = parse(page)

    assert not {"link", "img", "iframe", "object", "embed"} & {t for t, _ in parsed.tags}
    assert not [a for _, attrs in parsed.tags for a in attrs if a in ("src", "srcset")]
    urls = re.findall(r"https?://[^\"' )]+", page)
    assert set(urls) == {"http://www.w3.org/2000/svg"}  # the SVG namespace, never fetched
    csp = next(a["content"] for t, a in parsed.tags if a.get("http-equiv"))
    assert csp is not None and "default-src 'none'" in csp
    # The one script that runs is allowed by its hash, so no other inline script could run.
    (code,) = [text for attrs, text in parsed.scripts if "type" not in attrs]
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    (data,) = [attrs for attrs, _ in parsed.scripts if attrs.get("type")]
    assert data["type"] == "application/json"


def test_embedded_json_cannot_break_out() -> None:
    value = {"s": [BREAKOUT, "a & b > c", "line\u2028sep\u2029", "<!-- x", "\u202e\ud800"]}
    embedded = str(embed_json(value))
    assert not set("<>&\u2028\u2029\u202e") & set(embedded)
    assert "</script" not in embedded.lower()
    assert json.loads(embedded) == value
    assert embedded.encode("utf-8")  # a lone surrogate would not encode


def test_supplier_named_like_a_closing_script_tag(tmp_path: Path) -> None:
    results = [POResult("1", Status.COMPLETED, supplier=BREAKOUT, finished_at=START + 1)]
    page = page_for(tmp_path, results)
    parsed = parse(page)
    assert [t for t, _ in parsed.tags].count("script") == 2
    assert page.count("</script>") == 2  # only the page's own closing tags
    assert table(page)["suppliers"] == [BREAKOUT]  # the data parses whole
    assert BREAKOUT in "".join(parsed.text)  # as text in the summary and the filter


def test_hidden_characters_are_shown_as_codes() -> None:
    assert visible("a\u202eb\u200b\x00") == "aU+202EbU+200BU+0000"
    assert str(marked("<x>\u2066")) == '&lt;x&gt;<span class="ctl">U+2066</span>'
    assert visible("tab\tnew\nline Ünïcode") == "tab\tnew\nline Ünïcode"  # kept


def test_the_script_marks_the_same_characters(tmp_path: Path) -> None:
    pattern = table(page_for(tmp_path))["hidden"]
    # The page's script builds a RegExp from it: the same class, in JS escapes.
    assert re.fullmatch(r"\[[\\xu0-9a-f-]+\]", pattern)
    assert re.compile(pattern).findall("a\u202eb\x07c\ufeff") == ["\u202e", "\x07", "\ufeff"]


# --- links --------------------------------------------------------------------------------


def _resolve(out: Path, link: str) -> Path:
    url = urljoin((out / "report.html").as_uri(), link)
    assert urlparse(url).scheme == "file"
    return Path(url2pathname(urlparse(url).path))


def _table_links(page: str) -> tuple[list[str], list[str]]:
    """The links the page's script draws: ``folder/`` per PO, ``folder/file`` per file."""
    folders, files = [], []
    for row in table(page)["rows"]:
        if row[3]:
            folders.append(row[3] + "/")
            files += [row[3] + "/" + f[1] for f in row[4] if f[1] is not None]
    return folders, files


def test_links_are_relative_percent_encoded_and_resolve(tmp_path: Path) -> None:
    folder = tmp_path / SPACED / "PO1_COMPLETED"
    folder.mkdir(parents=True)
    for name in (ODD_FILE, "見積書_7.pdf"):
        (folder / name).write_bytes(b"x")
    page = page_for(tmp_path)
    folders, files = _table_links(page)

    expected = "M%C3%BCller%20%26%20S%C3%B6hne%20GmbH/PO1_COMPLETED/"
    assert expected in folders
    assert expected + "Offert%20%231%20%28rev%202%29%20100%25%3F.pdf" in files
    for link in files + folders:
        assert not urlparse(link).scheme and not link.startswith("/")
        assert re.fullmatch(r"[A-Za-z0-9_.~%/-]+", link), link
    for link in files[:2]:
        assert _resolve(tmp_path, link).is_file()
    assert _resolve(tmp_path, expected).is_dir()
    # In the page itself, the only links are to sections and to PO rows.
    anchors = [a["href"] for t, a in parse(page).tags if t == "a"]
    assert anchors and all(h and h.startswith("#") for h in anchors)


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
    (row,) = table(page)["rows"]
    assert row[3] == "" and row[4][0][:2] == ["a.pdf", None]  # shown, not linked


# --- totals and failure groups ------------------------------------------------------------


def _section(page: str, code: str) -> str:
    match = re.search(rf'<section class="failure" id="fail-{code}">(.*?)</section>', page, re.S)
    assert match, code
    return match.group(1)


def test_totals_and_failures_grouped_by_code_with_actions(tmp_path: Path) -> None:
    page = page_for(tmp_path)

    totals = re.search(r'<table class="totals">(.*?)</table>', page, re.S)
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
    assert list(rows_by_po(page)) == list("1234567")  # every PO in the table, in order


def test_every_po_error_code_has_its_own_action() -> None:
    codes = {code for code, _ in STATUS_CODES.values() if code}
    assert codes <= set(SUGGESTED_ACTIONS)
    assert suggested_action("E_NEVER_SEEN") == DEFAULT_ACTION


# --- per-minute buckets and the charts ---------------------------------------------------


def _timed(po: str, start: float, end: float, worker: str, *sizes: int) -> POResult:
    files = [file_result(f"{po}-{i}.pdf", n) for i, n in enumerate(sizes)]
    return POResult(po, Status.COMPLETED, files=files, started_at=start, finished_at=end,
                    worker=worker)  # fmt: skip


def test_minute_buckets_count_pos_bytes_and_concurrency() -> None:
    results = [
        _timed("1", START + 0, START + 30, "w1", 1000),  # in flight 30 s of minute 0
        _timed("2", START + 10, START + 70, "w2", 2**20, 2**20),  # 50 s + 10 s
        _timed("3", START + 90, START + 150, "w1"),  # 30 s of minute 1, 30 s of minute 2
        _timed("0", START - 500, START - 400, "w9", 5),  # an earlier run's: left out
    ]
    # A refresh added a file to the earlier PO during minute 2: its bytes count there.
    results[3].files.append(file_result("late.pdf", 3 * 2**20, added_at=START + 130))
    b = minute_buckets(results, START, START + 170)

    assert b.width == 60 and len(b.pos) == 3
    assert b.pos == (1, 1, 1)
    assert b.bytes == (1000, 2 * 2**20, 3 * 2**20)
    assert b.mb_per_minute[1] == 2.0 and b.pos_per_minute == [1.0, 1.0, 1.0]
    assert b.in_flight == pytest.approx((80 / 60, 40 / 60, 30 / 60))
    assert b.workers == (2, 2, 1)


def test_minute_buckets_on_long_and_empty_runs() -> None:
    assert len(minute_buckets([], START, START + 3 * 3600).pos) == 180  # a minute each
    week = minute_buckets([], START, START + 7 * 86400)
    assert len(week.pos) <= MAX_POINTS and week.width % 60 == 0  # whole minutes, wider
    one = minute_buckets([_timed("1", START, START, "w")], START, START)
    assert one.pos == (1,) and one.width == 60  # never an empty chart


def test_charts_have_one_point_per_minute(tmp_path: Path) -> None:
    page = page_for(tmp_path, finished_at=START + 150)
    svgs = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(svgs) == 3  # POs, MB, concurrency
    for svg in svgs:
        for points in re.findall(r'<polyline class="line [^"]+" points="([^"]+)"', svg):
            assert len(points.split()) == 3  # 150 s in one-minute buckets
    circles = re.findall(r'<circle class="pt l1" cx="[\d.]+" cy="([\d.]+)"', svgs[0])
    assert len(circles) == 3 and len(set(circles)) > 1  # up and down with the finishes


# --- per supplier -------------------------------------------------------------------------


def test_supplier_summary_counts_problems() -> None:
    lines = {line.name: line for line in supplier_summary(sample(Path("/out")))}
    assert (lines[SPACED].pos, lines[SPACED].files, lines[SPACED].bytes) == (1, 2, 2058)
    assert lines[SPACED].problems == 0
    assert (lines[HOSTILE_SUPPLIER].pos, lines[HOSTILE_SUPPLIER].problems) == (1, 1)  # PARTIAL
    assert (lines[""].pos, lines[""].problems) == (4, 4)  # no supplier: 4 failed POs
    assert lines["Plain AB"].problems == 0  # NO_ATTACHMENTS is no problem
    assert next(iter(lines)) == ""  # the most problems first


def test_supplier_summary_in_the_page(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    body = re.search(r'<table class="suppliers sortable">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body
    rows = [re.findall(r'data-v="([^"]*)"', row) for row in re.findall(r"<tr .*?</tr>", body[1])]
    by_name = {cells[0]: cells[1:] for cells in rows}
    assert by_name["Müller &amp; Söhne GmbH"] == ["1", "2", "2058", "0"]
    assert by_name["Plain AB"] == ["1", "0", "0", "0"]
    assert "0.0" in body[1]  # MB, one decimal
    # Each line names its supplier's index in the table data (the filter uses it).
    suppliers = table(page)["suppliers"]
    index = re.search(r'data-supplier="(\d+)"><td data-v="Plain AB"', body[1])
    assert index and suppliers[int(index[1])] == "Plain AB"


# --- new in this refresh ------------------------------------------------------------------


def _refreshed_sample(out: Path) -> list[POResult]:
    results = sample(out)
    now, before = START + 20, START - 86400
    results[0].files.append(file_result("new in run.pdf", 3000, added_at=now))
    results[0].last_refreshed = now
    results[6].files.append(file_result("older refresh.pdf", 5, added_at=before))
    results[6].last_refreshed = before
    return results


def test_refresh_section_lists_this_runs_new_files(tmp_path: Path) -> None:
    page = page_for(tmp_path, _refreshed_sample(tmp_path))
    section = re.search(r'<h2 id="refresh">.*?(?=<h2 )', page, re.S)
    assert section
    rows = re.findall(r'<tr class="refreshed" id="new-po-(\w+)">(.*?)</tr>', section[0], re.S)
    assert [po for po, _ in rows] == ["1"]  # not PO 7: its refresh was before this run
    assert "new%20in%20run.pdf" in rows[0][1] and "2.9 KB" in rows[0][1]
    assert "older refresh" not in section[0] and ODD_FILE not in section[0]
    link = re.search(r'<a href="([^"]+new%20in%20run.pdf)"', rows[0][1])
    assert (
        link and link[1] == "M%C3%BCller%20%26%20S%C3%B6hne%20GmbH/PO1_COMPLETED/new%20in%20run.pdf"
    )
    assert "1 file(s) in 1 PO(s)" in section[0]
    # The table marks the new file too, and only that one.
    files = rows_by_po(page)["1"][4]
    assert [f[0] for f in files if f[3]] == ["new in run.pdf"]
    assert not [f for f in rows_by_po(page)["7"][4] if f[3]]


def test_refresh_section_says_none_without_new_files(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    section = re.search(r'<h2 id="refresh">.*?(?=<h2 )', page, re.S)
    assert section and "None" in section[0] and "<table" not in section[0]


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
