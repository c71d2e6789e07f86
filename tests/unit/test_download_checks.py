"""What a downloaded file must look like (files/filetypes.py), and which hosts may serve
one (engine/browser/hostguard.py): the table and the policy, without a browser."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from coupadl.engine.browser.downloads import wait_for_complete, wait_for_start
from coupadl.engine.browser.hostguard import debugger_address
from coupadl.engine.hosts import HostPolicy, redact
from coupadl.errors import DownloadError
from coupadl.files.filetypes import OLE2, TYPES, describe, problem
from coupadl.files.verify import verify_file
from coupadl.simulator.data import FILE_TYPES, build_dataset
from coupadl.simulator.files import file_bytes

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
# The simulator's types whose format ends with a marker, so a cut copy is detectable:
# PDF (%%EOF), PNG (IEND) and the ZIP-based ones (end of central directory).
HAVE_END_MARKERS = {"pdf", "png", "docx", "xlsx", "zip"}
ERROR_PAGE = b"<!DOCTYPE html><html><head><title>Error</title></head><body>500</body></html>"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "hello")
    return buffer.getvalue()


# --- every real file passes -----------------------------------------------------------------


def test_every_simulator_file_type_passes_and_its_truncation_is_caught_where_possible(
    tmp_path: Path,
) -> None:
    dataset = build_dataset(40, 5)
    seen, cut = set(), set()
    for sim in dataset.files.values():
        data = file_bytes(sim)
        name = f"f.{sim.ftype}"
        assert verify_file(write(tmp_path, name, data), name).size == len(data)
        seen.add(sim.ftype)
        if sim.ftype in HAVE_END_MARKERS:
            with pytest.raises(DownloadError, match="cut short"):
                verify_file(write(tmp_path, name, data[: len(data) // 2]), name)
            cut.add(sim.ftype)
    assert seen == set(FILE_TYPES)
    assert cut == HAVE_END_MARKERS  # each of them was cut once


@pytest.mark.skipif(not (SHARED / "fixtures" / "msg").is_dir(), reason=f"needs {SHARED}/fixtures")
def test_real_outlook_messages_pass(tmp_path: Path) -> None:
    found = sorted((SHARED / "fixtures" / "msg").glob("*.msg"))
    # The fixtures this test is about must be there: an empty folder proves nothing.
    assert {"unicode.msg", "strangeDate.msg"} <= {path.name for path in found}, found
    for path in found:
        assert verify_file(path, path.name).size == path.stat().st_size > 0
        # Cut short they are still OLE2 (no end marker to check), but a web page is not.
        with pytest.raises(DownloadError, match="expected an Outlook"):
            verify_file(write(tmp_path, path.name, ERROR_PAGE), path.name)


# --- what the server sent instead --------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("q.pdf", b"", "the server sent an empty file"),
        ("q.pdf", ERROR_PAGE, "expected a PDF, but the server sent a web page"),
        ("q.pdf", b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n", "the PDF is cut short"),
        (
            "q.PDF",
            b"<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>",
            "but the server sent an XML document",
        ),
        (
            "photo.png",
            b"\xff\xd8\xff\xe0" + b"\0" * 64,
            "expected a PNG image, but the server sent a JPEG image",
        ),
        ("photo.jpg", ERROR_PAGE, "expected a JPEG image"),
        ("offer.docx", ERROR_PAGE, "expected a Word document"),
        ("offer.docx", zip_bytes()[:30], "the Word document is cut short"),
        ("sheet.xlsx", b"\x00" * 100, "unknown content (first bytes 00 00"),
        ("mail.msg", ERROR_PAGE, "expected an Outlook/Office 97 file"),
        ("archive.zip", b"", "empty"),
        ("data.bin", ERROR_PAGE, "the server sent a web page instead of the file"),
        ("noextension", b"  <html><body>Sign in</body></html>", "a web page"),
    ],
)
def test_wrong_content_is_a_clear_per_file_error(
    tmp_path: Path, name: str, data: bytes, message: str
) -> None:
    with pytest.raises(DownloadError) as info:
        verify_file(write(tmp_path, "download", data), name)
    assert info.value.message.startswith(f"{name}: ")
    assert message in info.value.message


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("page.html", ERROR_PAGE),  # markup where the name promises markup
        ("notes.txt", ERROR_PAGE),
        ("order.xml", b"<?xml version='1.0'?><Order/>"),
        ("legacy.xls", zip_bytes()),  # an .xlsx saved under the old extension
        ("letter.doc", b"{\\rtf1\\ansi hello}"),  # Word's RTF under .doc
        ("letter.doc", OLE2 + b"\0" * 504),
        ("scan.pdf", b"\x00junk before the header %PDF-1.4\n%%EOF\n"),  # within 1024 bytes
        ("scan.pdf", b"%PDF-1.4\n%%EOF\n" + b"\0" * 200),  # bytes after %%EOF are allowed
        ("photo.JPEG", b"\xff\xd8\xff\xe1" + b"\0" * 64),  # no end check: phones append data
        ("data.bin", b"\x00\x01\x02"),  # unknown types are not judged
    ],
)
def test_legitimate_files_pass(tmp_path: Path, name: str, data: bytes) -> None:
    assert verify_file(write(tmp_path, "download", data), name).size == len(data)


def test_describe_names_what_came() -> None:
    assert describe(ERROR_PAGE).startswith("a web page")
    assert describe(b"%PDF-1.4") == "a PDF"
    assert describe(b"PK\x03\x04") == "a ZIP archive"


def test_the_table_is_the_one_place() -> None:
    for ext, ftype in TYPES.items():
        assert ext.startswith(".") and ext == ext.lower()
        assert ftype.starts and all(isinstance(s, bytes) for s in ftype.starts)
    assert problem("x.pdf", b"%PDF-1.4", b"%%EOF") is None


# --- waits stop at once when the browser says the download failed -----------------------------


def test_waits_stop_when_the_browser_reports_a_problem(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="refused"):
        wait_for_start(tmp_path, 30, abort=lambda: "q.pdf: redirect refused")
    (tmp_path / "x.crdownload").write_bytes(b"%PDF")
    with pytest.raises(DownloadError, match="connection closed"):
        wait_for_complete(
            tmp_path, stall_timeout=30, total_timeout=60, abort=lambda: "connection closed"
        )


# --- which hosts may serve a download ----------------------------------------------------------


def test_host_policy_allows_the_tenant_and_configured_file_hosts_only() -> None:
    policy = HostPolicy("https://acme.coupahost.com", ["files.acme.com", "*.s3.amazonaws.com"])
    allowed = [
        "https://acme.coupahost.com/attachment/attachment_file/file/1/a.pdf",
        "https://ACME.coupahost.com:8443/x",  # host names are case-insensitive; any port
        "https://files.acme.com/signed/1?sig=abc",
        "https://bucket.s3.amazonaws.com/key",
        "https://bucket.eu.s3.amazonaws.com/key",
        "blob:https://acme.coupahost.com/1234",  # made by the page itself
        "data:application/pdf;base64,JVBERi0=",
    ]
    refused = [
        "https://evil.example/a.pdf",
        "https://acme.coupahost.com.evil.example/a.pdf",  # suffix tricks
        "https://evilacme.coupahost.com/a.pdf",
        "https://s3.amazonaws.com/bucket/key",  # the pattern needs a subdomain
        "https://amazonaws.com.evil/x",
        "https://files.acme.com@evil.example/a.pdf",  # userinfo is not the host
        "file:///etc/passwd",
        "ftp://acme.coupahost.com/a.pdf",
        "javascript:alert(1)",
    ]
    assert [u for u in allowed if not policy.allows(u)] == []
    assert [u for u in refused if policy.allows(u)] == []
    message = policy.refusal("https://evil.example/a.pdf")
    assert "evil.example is not the tenant's host (acme.coupahost.com)" in message
    assert "files.acme.com, *.s3.amazonaws.com" in message


def test_redact_drops_query_credentials_and_fragment() -> None:
    url = "https://user:secret@files.acme.com:8443/k/a.pdf?X-Amz-Signature=abc#frag"
    assert redact(url) == "https://files.acme.com:8443/k/a.pdf"


def test_debugger_address_for_chrome_and_edge() -> None:
    assert debugger_address({"goog:chromeOptions": {"debuggerAddress": "localhost:1"}}) == (
        "localhost:1"
    )
    assert debugger_address({"ms:edgeOptions": {"debuggerAddress": "localhost:2"}}) == (
        "localhost:2"
    )
    assert debugger_address({}) is None
