"""Outlook .msg → PDF: real fixtures read back with pypdf, hostile input, the pipeline hook.

The .msg fixtures live in ``shared/fixtures/msg`` beside the checkout (never copied
into the repo); tests that need them skip when it is absent. The PDF tests need the
DejaVu font that scripts/setup.sh installs (fonts-dejavu-core).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import olefile
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from coupadl.errors import ConfigError
from coupadl.files.convert.bodytext import html_to_text, rtf_to_text
from coupadl.files.convert.errors import FontMissingError, InvalidMessageError
from coupadl.files.convert.message import EmailContent, EmbeddedItem, _body, _date, read_msg
from coupadl.files.convert.msg_pdf import (
    Outcome,
    convert_folder,
    convert_msg,
    convert_po_folder,
)
from coupadl.files.convert.names import embedded_name, is_derived_name, pdf_name_for
from coupadl.files.convert.pdf import FONT_CANDIDATES, find_font, render_pdf
from coupadl.files.folders import finalize, prepare_work_dir
from coupadl.models import POTask, Status
from coupadl.settings import load_settings
from coupadl.simulator.check import compare_with_manifest
from coupadl.simulator.data import SimFile
from coupadl.simulator.files import file_bytes

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
MSG_DIR = SHARED / "fixtures" / "msg"
HTML = Path(__file__).parent / "html"


# --- fixtures -------------------------------------------------------------------------


@pytest.fixture
def msg_dir() -> Path:
    if not (MSG_DIR / "unicode.msg").is_file() or not (MSG_DIR / "strangeDate.msg").is_file():
        pytest.skip(f"needs the shared .msg fixtures in {MSG_DIR} (shared/ beside the checkout)")
    return MSG_DIR


@pytest.fixture(autouse=True)
def _font() -> None:
    try:
        find_font()
    except FontMissingError as exc:
        if os.environ.get("CI") == "true" or os.environ.get("COUPADL_REQUIRE_BROWSER") == "1":
            pytest.fail(f"the PDF font must be installed here: {exc.message}")
        pytest.skip(f"needs a Unicode font (scripts/setup.sh installs fonts-dejavu-core): {exc}")


def _copy(msg_dir: Path, name: str, folder: Path, as_name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(msg_dir / name, folder / (as_name or name)))


def _text(pdf: Path | bytes) -> str:
    """All text of a PDF, whitespace collapsed (line wrapping must not matter)."""
    reader = PdfReader(pdf if isinstance(pdf, Path) else io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _ole_stream(msg: Path, stream: str) -> bytes:
    with olefile.OleFileIO(str(msg)) as ole:
        return ole.openstream(stream).read()


def _ole2_noise(seed: int = 42) -> bytes:
    """An OLE2 compound file that is no message: the simulator's ``.xls`` bytes."""
    return file_bytes(SimFile(1, "RE_ Quote 1.msg", "xls", 20_000, seed))


# Same number of UTF-16 units as the text they replace, so the patched file stays valid.
BODY_OLD, BODY_NEW = "MS Outlook MSG Extractor", "Grüße Łódź Привет Ωμέγα€"
SUBJECT_OLD, SUBJECT_NEW = "Test for TIF files", "Тест for TIF files"


def _non_latin1_copy(msg_dir: Path, dest: Path) -> Path:
    """unicode.msg with non-Latin-1 text patched into its (UTF-16) subject and body."""
    data = (msg_dir / "unicode.msg").read_bytes()
    for old, new in ((BODY_OLD, BODY_NEW), (SUBJECT_OLD, SUBJECT_NEW)):
        before, after = old.encode("utf-16-le"), new.encode("utf-16-le")
        assert len(before) == len(after) and before in data
        data = data.replace(before, after)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return dest


# --- real fixtures ----------------------------------------------------------------------


def test_unicode_msg_gives_pdf_with_headers_body_and_saved_attachments(
    msg_dir: Path, tmp_path: Path
) -> None:
    msg = _copy(msg_dir, "unicode.msg", tmp_path / "po")
    original = _sha(msg)

    done = convert_msg(msg)

    assert done.outcome is Outcome.CONVERTED
    assert done.pdf == tmp_path / "po" / "unicode.pdf"
    text = _text(done.pdf)
    for expected in (
        "From: Brian Zhou <brizhou@gmail.com>",
        "To: brianzhou@me.com",
        "Cc: Brian Zhou <brizhou@gmail.com>",
        "Date: 2013-11-18 08:26:24 +00:00",
        "Subject: Test for TIF files",
        "This is a test email to experiment with the MS Outlook MSG Extractor",
        "Kind regards",
        "Brian Zhou",
        "import OleFileIO.tif (947 KB), saved as unicode - import OleFileIO.tif",
        "raised value error.tif (1009 KB), saved as unicode - raised value error.tif",
    ):
        assert expected in text
    # The embedded files are saved beside it, byte for byte as the .msg stores them.
    assert [p.name for p in done.embedded] == [
        "unicode - import OleFileIO.tif",
        "unicode - raised value error.tif",
    ]
    for index, path in enumerate(done.embedded):
        stored = _ole_stream(msg, f"__attach_version1.0_#{index:08X}/__substg1.0_37010102")
        assert path.read_bytes() == stored
        assert path.parent == msg.parent
    assert _sha(msg) == original, "the .msg itself must be kept as it was"
    assert sorted(p.name for p in msg.parent.iterdir()) == [
        "unicode - import OleFileIO.tif",
        "unicode - raised value error.tif",
        "unicode.msg",
        "unicode.pdf",
    ]


def test_non_latin1_subject_and_body_come_out_as_written(msg_dir: Path, tmp_path: Path) -> None:
    msg = _non_latin1_copy(msg_dir, tmp_path / "po" / "Письмо.msg")

    done = convert_msg(msg)

    text = _text(done.pdf)
    assert f"Subject: {SUBJECT_NEW}" in text
    assert f"experiment with the {BODY_NEW}" in text
    assert {"Ł", "ź", "П", "Ω", "€"} <= set(text)  # none of them is in Latin-1
    # A TrueType font is embedded (a core font could only show Latin-1).
    page = PdfReader(done.pdf).pages[0]
    fonts = [f.get_object() for f in page["/Resources"]["/Font"].values()]
    assert fonts and all(f["/Subtype"] == "/Type0" for f in fonts)
    assert all("DejaVu" in f["/BaseFont"] for f in fonts)
    assert done.embedded[0].name == "Письмо - import OleFileIO.tif"


def test_strange_date_msg_without_sender_or_sent_date(msg_dir: Path, tmp_path: Path) -> None:
    msg = _copy(msg_dir, "strangeDate.msg", tmp_path / "po")

    done = convert_msg(msg)

    assert done.outcome is Outcome.CONVERTED
    assert done.embedded == ()
    text = _text(done.pdf)
    assert "Subject: MSG Test File" in text
    assert "To: time2talk@online-convert.com <time2talk@online-convert.com>" in text
    assert "From: -" in text  # no sender in the message: said so, no crash
    assert "2016-02-23 14:57:50 +00:00 (created; the message has no sent date)" in text
    assert "Attachments: none" in text or "Attachments:none" in text
    assert "John Doe is sometimes used to refer to a typical male" in text
    assert sorted(p.name for p in msg.parent.iterdir()) == ["strangeDate.msg", "strangeDate.pdf"]


# --- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [_ole2_noise(), b"not an OLE2 file at all", b""], ids=["ole2-noise", "text", "empty"]
)
def test_invalid_msg_is_logged_once_and_recorded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, data: bytes
) -> None:
    folder = tmp_path / "PO1__WORK"
    folder.mkdir()
    msg = folder / "RE_ Quote 1.msg"
    msg.write_bytes(data)
    with pytest.raises(InvalidMessageError) as raised:
        convert_msg(msg)
    assert raised.value.code == "E_MSG_INVALID"

    caplog.clear()
    with caplog.at_level(logging.WARNING):
        done = convert_folder(folder)

    [item] = done.items
    assert item.outcome is Outcome.INVALID and item.code == "E_MSG_INVALID" and item.pdf is None
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "RE_ Quote 1.msg" in warnings[0].getMessage()
    assert [p.name for p in folder.iterdir()] == ["RE_ Quote 1.msg"]
    assert msg.read_bytes() == data
    assert done.summary() == (
        "PDF from .msg: 'RE_ Quote 1.msg' not converted (not a valid Outlook message)."
    )


def test_existing_pdf_is_kept_unless_overwrite_and_downloads_never(
    msg_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "po"
    msg = _copy(msg_dir, "unicode.msg", folder)
    existing = folder / "unicode.pdf"
    existing.write_bytes(b"%PDF-1.4 the supplier's own print\n")

    kept = convert_folder(folder)
    assert [i.outcome for i in kept.items] == [Outcome.KEPT]
    assert existing.read_bytes() == b"%PDF-1.4 the supplier's own print\n"
    assert sorted(p.name for p in folder.iterdir()) == ["unicode.msg", "unicode.pdf"]
    assert kept.summary() == "PDF from .msg: kept the existing PDF of 'unicode.msg'."

    # A PDF downloaded from Coupa is never replaced, even with overwrite.
    guarded = convert_folder(folder, overwrite=True, protected=["UNICODE.pdf"])
    assert [i.outcome for i in guarded.items] == [Outcome.KEPT]
    assert existing.read_bytes() == b"%PDF-1.4 the supplier's own print\n"

    replaced = convert_folder(folder, overwrite=True)
    assert [i.outcome for i in replaced.items] == [Outcome.CONVERTED]
    assert "Subject: Test for TIF files" in _text(existing)
    assert msg.is_file()
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def _content(*attachments: EmbeddedItem, subject: str = "hello") -> EmailContent:
    return EmailContent(
        subject=subject, sender="a@example.com", body="body", attachments=attachments
    )


HOSTILE = [
    "../../evil.exe",
    "..\\..\\windows\\win.ini",
    "/etc/passwd",
    "C:\\boot.ini",
    "..",
    "",
    "CON.txt",
    "a\x00b\u202egpj.exe",
    "x" * 400 + ".pdf",
    "same.pdf",
    "SAME.pdf",
]


def test_hostile_embedded_names_stay_in_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "out" / "PO1__WORK"
    folder.mkdir(parents=True)
    msg = folder / "mail.msg"
    msg.write_bytes(b"stands in for a message")
    items = [EmbeddedItem(name, f"data {i}".encode()) for i, name in enumerate(HOSTILE)]
    monkeypatch.setattr("coupadl.files.convert.msg_pdf.read_msg", lambda path: _content(*items))

    done = convert_msg(msg)

    assert len(done.embedded) == len(HOSTILE)
    outside = {p for p in tmp_path.rglob("*") if folder not in p.parents and p != folder}
    assert outside == {tmp_path / "out"}, "nothing may be written outside the PO folder"
    for item, path in zip(items, done.embedded, strict=True):
        assert path.parent == folder
        assert path.read_bytes() == item.data
        assert path.name.startswith("mail - ")
        assert path.name not in (".", "..") and not {"/", "\\", "\x00"} & set(path.name)
        assert len(path.name) <= 120
        assert is_derived_name(path.name, msg.name)
    names = [p.name for p in done.embedded]
    assert names[:8] == [
        "mail - .._.._evil.exe",  # one harmless name: separators are gone
        "mail - .._.._windows_win.ini",
        "mail - _etc_passwd",
        "mail - C__boot.ini",
        "mail - attachment",
        "mail - attachment (1)",
        "mail - _CON.txt",
        "mail - a_bgpj.exe",  # NUL replaced, the right-to-left override dropped
    ]
    assert names[8].endswith("xxx.pdf") and len(names[8]) == 120
    assert names[-2:] == ["mail - same.pdf", "mail - SAME (1).pdf"]


def test_an_embedded_file_never_takes_another_message_s_pdf_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "po"
    folder.mkdir()
    (folder / "b.msg").write_bytes(b"outer")
    (folder / "b - c.msg").write_bytes(b"other")
    contents = {
        "b.msg": _content(EmbeddedItem("c.pdf", b"%PDF embedded"), subject="outer mail"),
        "b - c.msg": _content(subject="the other mail"),
    }
    monkeypatch.setattr("coupadl.files.convert.msg_pdf.read_msg", lambda path: contents[path.name])

    done = convert_folder(folder)

    assert [i.outcome for i in done.items] == [Outcome.CONVERTED, Outcome.CONVERTED]
    assert (folder / "b - c (1).pdf").read_bytes() == b"%PDF embedded"
    assert "the other mail" in _text(folder / "b - c.pdf")
    assert "outer mail" in _text(folder / "b.pdf")


def test_embedded_email_is_saved_as_msg_and_converted_too(
    msg_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "po"
    folder.mkdir()
    (folder / "outer.msg").write_bytes(b"outer")
    inner = (msg_dir / "strangeDate.msg").read_bytes()
    real_read = read_msg

    def fake_read(path: Path) -> EmailContent:
        if path.name == "outer.msg":
            return _content(EmbeddedItem("FW_ test.msg", inner, is_message=True))
        return real_read(path)

    monkeypatch.setattr("coupadl.files.convert.msg_pdf.read_msg", fake_read)

    done = convert_folder(folder)

    assert [i.msg.name for i in done.items] == ["outer.msg", "outer - FW_ test.msg"]
    assert [i.outcome for i in done.items] == [Outcome.CONVERTED, Outcome.CONVERTED]
    assert "MSG Test File" in _text(folder / "outer - FW_ test.pdf")
    assert "FW_ test.msg (e-mail, 31 KB), saved as outer - FW_ test.msg" in _text(
        folder / "outer.pdf"
    )
    assert all(is_derived_name(p.name, "outer.msg") for p in done.made)


def test_missing_font_is_a_typed_error_and_a_logged_failure(
    msg_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(FontMissingError) as raised:
        find_font([(tmp_path / "none.ttf", tmp_path / "none-bold.ttf")])
    assert raised.value.code == "E_PDF_FONT"
    assert "apt-get install fonts-dejavu-core" in raised.value.message

    def no_font() -> Any:
        raise raised.value

    monkeypatch.setattr("coupadl.files.convert.msg_pdf.default_font", no_font)
    msg = _copy(msg_dir, "unicode.msg", tmp_path / "po")
    with caplog.at_level(logging.WARNING):
        done = convert_folder(msg.parent)

    [item] = done.items
    assert item.outcome is Outcome.FAILED and item.code == "E_PDF_FONT"
    [warning] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "unicode.msg: no PDF made" in warning and "fonts-dejavu-core" in warning
    assert [p.name for p in msg.parent.iterdir()] == ["unicode.msg"]


def test_font_candidates_start_with_debian_dejavu() -> None:
    regular, _ = FONT_CANDIDATES[0]
    assert regular == Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    assert find_font().regular == regular  # what scripts/setup.sh installs


def _dated(props: dict[str, Any], header: dict[str, str] | None = None) -> Any:
    return SimpleNamespace(getPropertyVal=props.get, header=header or {})


PARIS = timezone(timedelta(hours=2))


@pytest.mark.parametrize(
    ("msg", "shown"),
    [
        (
            _dated({"00390040": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)}),
            "2024-05-06 07:08:09 +00:00",
        ),
        # Outlook's "no date" (4501) is skipped for the header's own Date.
        (
            _dated(
                {"00390040": datetime(4501, 1, 1, tzinfo=UTC)},
                {"Date": "Mon, 18 Nov 2013 10:26:24 +0200"},
            ),
            "2013-11-18 10:26:24 +02:00",
        ),
        (_dated({}, {"Date": "sometime last week"}), "sometime last week"),
        (
            _dated({"0E060040": datetime(2020, 1, 2, 3, 4, 5, tzinfo=PARIS)}),
            "2020-01-02 03:04:05 +02:00",
        ),
        (
            _dated({"00390040": b"\x00\x01 not a date", "0E060040": datetime(2021, 1, 1)}),
            "2021-01-01 00:00:00",
        ),
        (
            _dated({"30070040": datetime(1601, 1, 1, tzinfo=UTC)}),
            "",
        ),
    ],
    ids=["sent", "null-sent-date", "unparsable-header", "delivered", "bytes-date", "nothing"],
)
def test_odd_dates(msg: Any, shown: str, tmp_path: Path) -> None:
    assert _date(msg, tmp_path / "x.msg") == shown


def test_a_date_property_that_raises_is_skipped(tmp_path: Path) -> None:
    def broken(prop_id: str) -> Any:
        raise ValueError(f"bad {prop_id}")

    assert _date(SimpleNamespace(getPropertyVal=broken, header=None), tmp_path / "x.msg") == ""


# --- bodies -------------------------------------------------------------------------------


def test_html_body_to_text() -> None:
    html = (
        "<html><head><title>t</title><style>p {color: red}</style></head><body>"
        "<p>Dear   supplier,</p><p>price:&nbsp;12&nbsp;&euro; &mdash; Łódź<br>next line</p>"
        "<script>alert('x')</script><table><tr><td>qty</td><td>5</td></tr></table>"
        "<div>Привет</div></body></html>"
    )
    text = html_to_text(html.encode("utf-8"))
    assert text == "Dear supplier,\n\nprice: 12 € — Łódź\nnext line\n\nqty  5\n\nПривет"
    assert "alert" not in text and "color: red" not in text


def test_rtf_body_to_text() -> None:
    rtf = (
        rb"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0\fswiss Arial;}}"
        rb"{\colortbl;\red0\green0\blue0;}{\*\generator Riched20 10.0;}"
        rb"\pard\f0\fs20 Caf\'e9 \b bold\b0\par"
        rb"\uc1\u1055?\u1088?\u1080?\u1074?\u1077?\u1090? \u8364? 5\par"
        rb"{\*\htmltag84 <b>}tab\tab end\line \u-10179?\u-8704? emoji}"
    )
    assert rtf_to_text(rtf) == "Café bold\nПривет € 5\ntab    end\n😀 emoji"


class _FakeMsg(SimpleNamespace):
    """The body attributes of an extract-msg message, some missing or failing."""


def _broken() -> bytes:
    raise ValueError("malformed")


def test_body_falls_back_from_text_to_html_to_rtf(tmp_path: Path) -> None:
    source = tmp_path / "x.msg"
    html_only = _FakeMsg(body=None, htmlBody=b"<p>Hello <b>HTML</b> \xc5\x81\xc3\xb3d\xc5\xba</p>")
    assert _body(html_only, source) == ("Hello HTML Łódź", "html")

    class RtfOnly:
        body = None
        rtfBody = rb"{\rtf1\ansi Only \u1056?TF\par}"

        @property
        def htmlBody(self) -> bytes:
            return _broken()

    assert _body(RtfOnly(), source) == ("Only РTF", "rtf")
    assert _body(_FakeMsg(), source) == ("", "")


def test_html_only_and_rtf_only_bodies_of_a_real_outlook_message(
    msg_dir: Path, tmp_path: Path
) -> None:
    import compressed_rtf
    import extract_msg

    path = msg_dir / "strangeDate.msg"
    with olefile.OleFileIO(str(path)) as ole:
        rtf = compressed_rtf.decompress(ole.openstream("__substg1.0_10090102").read())
    with extract_msg.openMsg(str(path)) as real:
        html = real.htmlBody  # Word's HTML, de-encapsulated from the RTF
    source = tmp_path / "x.msg"

    html_text, html_source = _body(_FakeMsg(body=None, htmlBody=html), source)
    rtf_text, rtf_source = _body(_FakeMsg(body=None, htmlBody=None, rtfBody=rtf), source)

    assert (html_source, rtf_source) == ("html", "rtf")
    for text in (html_text, rtf_text):
        assert text.startswith("MSG test file\n")
        assert "Purpose: Provide example of this file type" in text
        assert "John Doe is sometimes used to refer to a typical male" in text
        assert "<" not in text.split("Example content")[0] and "mso-" not in text
        assert "\\" not in text and "{" not in text


def test_html_only_message_renders_its_text(tmp_path: Path) -> None:
    text = html_to_text("<div>Ωμέγα<br/>second</div>")
    pdf = render_pdf(
        EmailContent(subject="HTML only", body=text, body_source="html"), [], find_font()
    )
    assert "Ωμέγα second" in _text(pdf)
    assert "Date: (not in the message)" in _text(pdf)


def test_pdfs_made_one_after_another_each_carry_their_own_glyphs() -> None:
    """Every PDF starts from one parsed font (done once per process); a PDF written
    earlier must not shrink the font the next one draws from."""
    font = find_font()
    texts = ["Latin only, plain ASCII", "Ωμέγα και Письмо", "Ünïcödé — “quotes”", "Zürich 12"]
    for text in texts + texts:
        assert text in _text(render_pdf(EmailContent(subject="s", body=text), [], font))


def test_pdfs_made_in_threads_at_once_are_each_complete() -> None:
    from concurrent.futures import ThreadPoolExecutor

    font = find_font()
    bodies = [f"Сообщение {i} Ωμέγα {'x' * i}".strip() for i in range(12)]

    def one(body: str) -> str:
        return _text(render_pdf(EmailContent(subject="t", body=body), [], font))

    with ThreadPoolExecutor(4) as pool:
        for body, text in zip(bodies, pool.map(one, bodies), strict=True):
            assert body in text


# --- naming rule --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "msg_name",
    ["Quote.msg", "RE_ Quote 3.MSG", "Заказ № 5.msg", "報告" * 70 + ".msg", "a" * 116 + ".msg"],
)
def test_derived_names_follow_the_rule(msg_name: str) -> None:
    assert is_derived_name(pdf_name_for(msg_name), msg_name)
    for attachment in ("drawing.pdf", "x" * 300 + ".dwg", "../up.txt", "😀.png"):
        name = embedded_name(msg_name, attachment)
        assert is_derived_name(name, msg_name), name
        assert len(name.encode("utf-8")) <= 255
    assert not is_derived_name("Quote_other.pdf", "Quote.msg")
    assert pdf_name_for("RE_ Quote 3.MSG") == "RE_ Quote 3.pdf"


# --- the PO pipeline ----------------------------------------------------------------------


def _manifest(folder: Path, po: str, supplier: str, names: list[str]) -> dict[str, Any]:
    files = [
        {"name": n, "size": (folder / n).stat().st_size, "sha256": _sha(folder / n)} for n in names
    ]
    return {"pos": {po: {"status": "COMPLETED", "supplier": supplier, "files": files}}}


def _write_report(out: Path, po: str) -> None:
    (out / "report.json").write_text(
        json.dumps({"pos": [{"po_number": po, "status": "COMPLETED"}]}), encoding="utf-8"
    )


def test_hook_converts_in_the_work_folder_and_the_check_accepts_derived_files(
    msg_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    work = prepare_work_dir(out / "Acme AB", "123")
    _copy(msg_dir, "unicode.msg", work, "RE_ Quote.msg")
    (work / "RE_ Quote.pdf").write_bytes(b"%PDF-1.4 downloaded from Coupa\n")
    (work / "FW_ Delivery.msg").write_bytes(_ole2_noise())
    downloaded = ["RE_ Quote.msg", "RE_ Quote.pdf", "FW_ Delivery.msg"]

    _copy(msg_dir, "unicode.msg", work, "Confirmation.msg")
    downloaded.append("Confirmation.msg")

    # overwrite: still, the PDF downloaded from Coupa is kept (and that .msg left alone).
    note = convert_po_folder(work, downloaded, overwrite=True)
    final = finalize(work, "123", Status.COMPLETED)

    assert final == out / "Acme AB" / "PO123_COMPLETED"
    assert sorted(p.name for p in final.iterdir()) == [
        "Confirmation - import OleFileIO.tif",
        "Confirmation - raised value error.tif",
        "Confirmation.msg",
        "Confirmation.pdf",
        "FW_ Delivery.msg",
        "RE_ Quote.msg",
        "RE_ Quote.pdf",
    ]
    assert (final / "RE_ Quote.pdf").read_bytes() == b"%PDF-1.4 downloaded from Coupa\n"
    assert "Subject: Test for TIF files" in _text(final / "Confirmation.pdf")
    assert note == (
        "PDF from .msg: 1 .msg converted to PDF, 2 embedded file(s) saved; "
        "kept the existing PDF of 'RE_ Quote.msg'; "
        "'FW_ Delivery.msg' not converted (not a valid Outlook message)."
    )
    manifest = _manifest(final, "123", "Acme AB", downloaded)
    _write_report(out, "123")
    assert compare_with_manifest(out, manifest) == []
    (final / "notes.txt").write_text("stray")
    assert compare_with_manifest(out, manifest) == [
        "PO123: unexpected file 'notes.txt'",
        "stray file Acme AB/PO123_COMPLETED/notes.txt",
    ]


class _FakeSession:
    """Just enough of BrowserSession for process_po: one PO page, instant downloads."""

    def __init__(self, settings: Any, msg_bytes: bytes) -> None:
        self.settings = settings
        self.msg_bytes = msg_bytes
        self.download_dir: Path | None = None

    @contextmanager
    def po_tab(self) -> Iterator[None]:
        yield

    def after_po(self) -> None:
        return

    def open(self, url: str) -> str:
        return url

    def wait_for(self, css: str, timeout: float) -> bool:
        return True

    def page_source(self) -> str:
        return (HTML / "po_full.html").read_text(encoding="utf-8")

    def set_download_dir(self, folder: Path) -> None:
        self.download_dir = folder

    def start_download(self, attachment: Any) -> str:
        assert self.download_dir is not None
        name = attachment.url.rsplit("/", 1)[-1]
        ftype = name.rsplit(".", 1)[-1].lower()
        # Real-looking content: the download checks that a .pdf starts like a PDF, etc.
        data = (
            self.msg_bytes
            if ftype == "msg"
            else file_bytes(SimFile(1, name, ftype, 3000, len(attachment.url)))
        )
        (self.download_dir / name).write_bytes(data)
        return attachment.url

    def refused_download(self) -> str | None:
        return None

    def download_problem(self, folder: Path) -> str | None:
        return None  # this fake's downloads never fail


@pytest.mark.parametrize("msg_to_pdf", [True, False])
def test_process_po_converts_before_the_folder_gets_its_final_name(
    msg_dir: Path, tmp_path: Path, msg_to_pdf: bool
) -> None:
    from coupadl.engine.browser.processor import process_po

    settings = load_settings(
        {
            "base_url": "https://acme.coupahost.com",
            "out": tmp_path / "out",
            "msg_to_pdf": msg_to_pdf,
        }
    )
    session = _FakeSession(settings, (msg_dir / "unicode.msg").read_bytes())
    seen: list[str] = []

    result = process_po(session, POTask("16928033"), settings, seen.append)  # type: ignore[arg-type]

    assert result.status is Status.COMPLETED, result.message
    assert result.folder is not None and result.folder.name == "PO16928033_COMPLETED"
    downloaded = sorted(f.name for f in result.files)
    assert len(downloaded) == 6 and "Order_confirmation.msg" in downloaded
    on_disk = sorted(p.name for p in result.folder.iterdir())
    derived = sorted(set(on_disk) - set(downloaded))
    if msg_to_pdf:
        assert derived == [
            "Order_confirmation - import OleFileIO.tif",
            "Order_confirmation - raised value error.tif",
            "Order_confirmation.pdf",
        ]
        assert "Subject: Test for TIF files" in _text(result.folder / "Order_confirmation.pdf")
        assert result.message.endswith(
            "PDF from .msg: 1 .msg converted to PDF, 2 embedded file(s) saved."
        )
        assert "converting Order_confirmation.msg to PDF" in seen
        assert seen.index("converting Order_confirmation.msg to PDF") < seen.index("verifying")
    else:
        assert derived == []
        assert "PDF from .msg" not in result.message
    assert not list(result.folder.parent.glob("*__WORK"))


def test_cli_flags_reach_the_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from coupadl.cli.app import app

    seen: list[Any] = []

    def fake_run_batch(input_path: Path, settings: Any, **kwargs: Any) -> Any:
        seen.append(settings)
        raise ConfigError("stop here")

    monkeypatch.setattr("coupadl.runs.batch.run_batch", fake_run_batch)
    base = ["run", str(tmp_path / "in.csv"), "--base-url", "https://acme.coupahost.com"]
    runner = CliRunner()
    runner.invoke(app, base)
    runner.invoke(app, [*base, "--no-msg-to-pdf", "--overwrite"])
    assert [(s.msg_to_pdf, s.overwrite_pdf) for s in seen] == [(True, False), (False, True)]
