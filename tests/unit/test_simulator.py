"""The simulator's data, pages, files, sign-in, knobs and manifest (in process, no browser)."""

from __future__ import annotations

import hashlib
import io
import time
import warnings
import zipfile
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from bs4 import BeautifulSoup, Tag

from coupadl.files.names import name_key, sanitize_name
from coupadl.simulator import KNOB_NAMES, Kind, build_dataset, create_app
from coupadl.simulator.data import FILE_TYPES, Dataset, PurchaseOrder, SimFile
from coupadl.simulator.files import OLE2_MAGIC, FileStore, file_bytes

with warnings.catch_warnings():  # starlette asks for httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "http://sim.test"
EMAIL, PASSWORD = "buyer@example.com", "coupa-sim"
MAGIC = {
    "pdf": b"%PDF-1.",
    "png": b"\x89PNG\r\n\x1a\n",
    "jpg": b"\xff\xd8\xff",
    "docx": b"PK\x03\x04",
    "xlsx": b"PK\x03\x04",
    "zip": b"PK\x03\x04",
    "msg": OLE2_MAGIC,
    "xls": OLE2_MAGIC,
    "eml": b"From: ",
    "csv": b"line;",
    "xml": b"<?xml",
}


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return build_dataset(20, 1)


@pytest.fixture
def client(dataset: Dataset) -> Iterator[TestClient]:
    """A signed-in client on a fresh app (fresh knobs, sessions and stats)."""
    with TestClient(create_app(dataset), base_url=BASE) as test_client:
        sign_in(test_client)
        yield test_client


@pytest.fixture
def anonymous(dataset: Dataset) -> Iterator[TestClient]:
    with TestClient(create_app(dataset), base_url=BASE) as test_client:
        yield test_client


def sign_in(client: TestClient, password: str = PASSWORD, return_to: str = "/") -> Any:
    form = {"user[email]": EMAIL, "user[password]": password, "return_to": return_to}
    return client.post("/sessions", data=form, follow_redirects=False)


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def pos_of(dataset: Dataset, kind: Kind) -> list[PurchaseOrder]:
    return [po for po in dataset.pos.values() if po.kind is kind]


def manifest(client: TestClient, fallback: str | None = None) -> dict[str, Any]:
    query = f"?fallback={fallback}" if fallback else ""
    response = client.get(f"/__sim__/manifest{query}")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def _state_manifest(n: int, seed: int) -> dict[str, Any]:
    return create_app(build_dataset(n, seed)).state.sim.manifest(BASE)  # type: ignore[no-any-return]


# --- data set -----------------------------------------------------------------------------


def test_same_seed_same_manifest_and_different_seed_differs() -> None:
    first, again, other = _state_manifest(20, 5), _state_manifest(20, 5), _state_manifest(20, 6)
    assert first == again
    assert first != other
    assert list(first["pos"]) == list(other["pos"])  # PO numbers are stable, contents vary
    bigger = _state_manifest(40, 5)
    assert {n: bigger["pos"][n] for n in first["pos"]} == first["pos"]  # a prefix of it


def test_small_files_drops_only_the_large_files() -> None:
    """``--small-files``: the same POs, names and ids; only the 2-4 MB files shrink."""
    full, small = build_dataset(60, 4), build_dataset(60, 4, large_files=False)
    large = {i for i, f in full.files.items() if f.size_hint > 1024 * 1024}
    assert len(large) >= 5  # about one PO in ten
    assert max(f.size_hint for f in small.files.values()) <= 60 * 1024
    assert [(f.file_id, f.name, f.saved_name) for f in small.files.values()] == [
        (f.file_id, f.name, f.saved_name) for f in full.files.values()
    ]
    same = {i: f.size_hint for i, f in full.files.items() if i not in large}
    assert {i: small.files[i].size_hint for i in same} == same


@pytest.mark.parametrize("seed", [0, 1, 2, 99])
def test_twenty_pos_hold_every_kind_type_and_special_supplier(seed: int) -> None:
    data = build_dataset(20, seed)
    assert {po.kind for po in data.pos.values()} == set(Kind)
    assert {f.ftype for f in data.files.values()} >= set(FILE_TYPES)
    suppliers = {po.supplier for po in data.pos.values()}
    assert any(s.startswith('ACME/Nordic: "Parts"-') for s in suppliers)
    assert any(s.startswith("Müller & Söhne GmbH-") for s in suppliers)
    names = {f.name for f in data.files.values()}
    assert {"../../evil.pdf", "..\\win.txt", "CON.pdf", "a:b?c*.pdf", "notes.txt. "} <= names
    assert any("\u202e" in n for n in names) and any("\x07" in n for n in names)
    assert any(len(n) >= 200 for n in names)
    assert any(not n.isascii() for n in names)


def test_numbers_ids_and_suppliers_look_like_coupa(dataset: Dataset) -> None:
    for number, po in dataset.pos.items():
        assert len(number) == 8 and number.isdigit()
        if po.visible:
            name, _, vendor = po.supplier.rpartition("-")
            assert name and len(vendor) == 10 and vendor.isdigit()
        else:
            assert po.supplier == "" and po.requisition_id is None
    assert dataset.requisitions
    assert all(len(r) == 7 and r.isdigit() for r in dataset.requisitions)


def test_sizes_small_mostly_with_a_few_large(dataset: Dataset) -> None:
    sizes = [f.size_hint for f in dataset.files.values()]
    large = [s for s in sizes if s >= 2 * 1024 * 1024]
    assert 1 <= len(large) <= 3
    assert all(2 * 1024 * 1024 <= s <= 4 * 1024 * 1024 for s in large)
    assert all(1024 <= s <= 60 * 1024 for s in sizes if s not in large)
    assert sum(sizes) < 15 * 1024 * 1024


@pytest.mark.parametrize("ftype", FILE_TYPES)
def test_file_bytes_have_magic_and_are_deterministic(dataset: Dataset, ftype: str) -> None:
    sim = next(f for f in dataset.files.values() if f.ftype == ftype)
    data = file_bytes(sim)
    assert data == file_bytes(sim)
    assert data.startswith(MAGIC.get(ftype, b""))
    floor = 16 * 1024 if ftype == "msg" else 1024  # a message's fixed part is some 13 KB
    assert 0.5 * sim.size_hint <= len(data) <= 1.5 * sim.size_hint + floor
    if ftype in ("docx", "xlsx", "zip"):
        assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    if ftype == "pdf":
        assert data.rstrip().endswith(b"%%EOF")
    other = SimFile(sim.file_id, sim.name, ftype, sim.size_hint, sim.content_seed + 1)
    assert file_bytes(other) != data


def test_msg_files_are_real_outlook_messages(dataset: Dataset, tmp_path: Path) -> None:
    """Read back by extract-msg (not by the writer), every part agrees with what the
    manifest says is in the message: the check of a run's PDFs trusts that."""
    extract_msg = pytest.importorskip("extract_msg")
    store = FileStore()
    messages = [f for f in dataset.files.values() if f.ftype == "msg"]
    assert len(messages) >= 2
    for sim in messages:
        said = store.message(sim)
        assert said is not None
        path = tmp_path / f"{sim.file_id}.msg"
        path.write_bytes(file_bytes(sim))
        with extract_msg.openMsg(str(path)) as msg:
            assert msg.subject == said["subject"]
            assert msg.body.replace("\r\n", "\n") == said["body"]
            assert "sales@supplier.example" in said["sender"]
            assert msg.to == f"{said['to']} <{said['to']}>"
            assert msg.date == parsedate_to_datetime(said["date"])
            assert any(ord(ch) > 255 for ch in msg.body)  # beyond Latin-1
            (attached,) = msg.attachments
            assert attached.longFilename == said["attachment_name"]
            assert len(attached.data) == said["attachment_size"]
            assert hashlib.sha256(attached.data).hexdigest() == said["attachment_sha256"]
    assert store.message(next(f for f in dataset.files.values() if f.ftype == "pdf")) is None


def test_xlsx_opens_in_openpyxl(dataset: Dataset) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    sim = next(f for f in dataset.files.values() if f.ftype == "xlsx")
    workbook = openpyxl.load_workbook(io.BytesIO(file_bytes(sim)))
    assert workbook.active["A1"].value == sim.name


# --- sign-in ------------------------------------------------------------------------------


def test_anonymous_requests_go_to_sign_in(anonymous: TestClient, dataset: Dataset) -> None:
    sim = next(iter(dataset.files.values()))
    for path in (
        "/",
        "/order_headers",
        "/order_headers/16928000?x=1",
        "/requisition_headers/9561000",
        f"/attachment/attachment_file/file/{sim.file_id}/x.pdf",
        "/no/such/page",
    ):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 302, path
        location = urlsplit(response.headers["location"])
        assert location.path == "/sessions/new"
        assert parse_qs(location.query)["return_to"] == [path]
    for public in ("/__sim__/stats", "/sessions/new", "/sessions/expiration_check"):
        assert anonymous.get(public, follow_redirects=False).status_code == 200


def test_sign_in_form_shape(anonymous: TestClient) -> None:
    page = soup(anonymous.get("/sessions/new?return_to=/order_headers/16928000").text)
    form = page.select_one("form#new_session")
    assert form is not None and form["action"] == "/sessions" and form["method"] == "post"
    assert page.select_one("input#user_email")["name"] == "user[email]"  # type: ignore[index]
    assert page.select_one("input#user_password")["name"] == "user[password]"  # type: ignore[index]
    assert page.select_one("button#sign_in_button[type=submit]") is not None
    assert page.select_one("input[name=return_to]")["value"] == "/order_headers/16928000"  # type: ignore[index]
    assert page.select_one("div.flash_error") is None


def test_sign_in_sets_a_persistent_http_only_cookie(anonymous: TestClient) -> None:
    wrong = sign_in(anonymous, password="nope")
    assert wrong.status_code == 200 and "set-cookie" not in wrong.headers
    assert soup(wrong.text).select_one("div.flash_error") is not None
    assert soup(wrong.text).select_one("#user_email")["value"] == EMAIL  # type: ignore[index]
    right = sign_in(anonymous, return_to="/order_headers/16928000")
    assert right.status_code == 302
    assert right.headers["location"] == "/order_headers/16928000"
    cookie = right.headers["set-cookie"]
    assert cookie.startswith("_coupa_session=")
    assert "HttpOnly" in cookie and "Path=/" in cookie and "Max-Age=7200" in cookie
    assert anonymous.get("/order_headers/16928000").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/sessions/new"])
def test_return_to_stays_on_the_tenant(anonymous: TestClient, target: str) -> None:
    assert sign_in(anonymous, return_to=target).headers["location"] == "/"


def test_home_redirects_to_po_list_when_signed_in(client: TestClient) -> None:
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 302 and response.headers["location"] == "/order_headers"
    listing = soup(client.get("/order_headers").text)
    assert listing.find("html")["data-action"] == "index"  # type: ignore[index]
    assert listing.select_one('a[href="/order_headers/16928000"]') is not None


def test_expiry_by_ttl(client: TestClient) -> None:
    check = client.get("/sessions/expiration_check").json()
    assert check["expired"] is False and 7100 < check["expires_in"] <= 7200
    client.post("/__sim__/control", json={"session_ttl": 0.05})
    time.sleep(0.1)
    response = client.get("/order_headers/16928000", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"].startswith("/sessions/new?")
    assert client.get("/sessions/expiration_check").json() == {
        "expired_session_url": "/sessions/new"
    }


def test_expiry_by_request_count(client: TestClient) -> None:
    client.post("/__sim__/control", json={"session_max_requests": 2})
    sign_in(client)
    assert client.get("/order_headers/16928000").status_code == 200
    assert client.get("/order_headers/16928001").status_code == 200
    assert client.get("/order_headers/16928002", follow_redirects=False).status_code == 302
    client.post("/__sim__/control", json={"session_max_requests": None})
    # Once expired a session stays expired; signing in again gives a new one.
    assert client.get("/order_headers/16928002", follow_redirects=False).status_code == 302
    sign_in(client)
    assert client.get("/order_headers/16928002").status_code == 200


def test_expire_sessions_endpoint(client: TestClient) -> None:
    assert client.post("/__sim__/expire-sessions").status_code == 200
    assert client.get("/order_headers/16928000", follow_redirects=False).status_code == 302
    assert "expired_session_url" in client.get("/sessions/expiration_check").json()
    sign_in(client)
    assert client.get("/order_headers/16928000").status_code == 200


def test_session_survives_a_restart_with_the_same_seed(client: TestClient) -> None:
    token = client.cookies["_coupa_session"]
    for seed, works in ((1, True), (2, False)):
        with TestClient(create_app(build_dataset(20, seed)), base_url=BASE) as restarted:
            restarted.cookies.set("_coupa_session", token)
            status = restarted.get("/order_headers/16928000", follow_redirects=False).status_code
            assert (status == 200) is works


# --- pages --------------------------------------------------------------------------------


def _attr(tag: Tag | None, name: str) -> str:
    assert tag is not None
    value = tag.get(name)
    return " ".join(value) if isinstance(value, list) else str(value)


def _check_header_block(page: BeautifulSoup, files: tuple[SimFile, ...]) -> None:
    label = page.select_one('span.group_label.label_readonly[id^="attachments_ul_"]')
    assert label is not None and label.get_text() == "Attachments"
    block = page.select_one("div.attachments.attachified > ul.attachments-list")
    assert block is not None
    if not files:
        assert [str(li) for li in block.find_all("li")] == ['<li class="show none">None</li>']
        return
    items = block.select("li.attachment")
    assert len(items) == len(files)
    for li, sim in zip(items, files, strict=True):
        assert li["data-url"] == f"/attachments/{sim.file_id}"
        span = li.select_one('span.attachment-file[role="button"]')
        assert span is not None and span["title"] == sim.name
        assert span["aria-label"] == f"{sim.name} file attachment"
        url = _attr(span, "data-url")
        assert url.startswith(f"{BASE}/attachment/attachment_file/type/{sim.file_id}/")
        assert unquote(url.rsplit("/", 1)[1]) == sim.name
        assert span.find_parent("a") is None and span.find("a") is None


def _check_comments(page: BeautifulSoup, po_files: tuple[SimFile, ...]) -> None:
    links = page.select(
        "div.form_element.commentAttachments > div[role=status] > "
        "ul.attachments__list.s-attachmentList > "
        'li.attachment.attachmentFile.s-attachmentFile[aria-label="Attachments File"] > a'
    )
    assert len(links) == len(po_files)
    for link, sim in zip(links, po_files, strict=True):
        href = _attr(link, "href")
        assert href.startswith(f"{BASE}/attachment/attachment_file/file/{sim.file_id}/")
        assert unquote(href.rsplit("/", 1)[1]) == sim.name
        assert link["target"] == "_blank" and link["title"] == sim.name
        assert _attr(link, "rel") == "noreferrer noopener"
        assert link.get_text() == sim.name
    button = page.select_one("button.s-viewFileAttachment.buttonAsLink > span")
    assert button is not None and button.get_text() == f"View Attachments ({len(po_files)})"


def test_po_pages_match_the_facts(client: TestClient, dataset: Dataset) -> None:
    for number, po in dataset.pos.items():
        if not po.visible:
            continue
        response = client.get(f"/order_headers/{number}")
        assert response.status_code == 200
        assert 100_000 <= len(response.content) <= 175_000
        page = soup(response.text)
        html = page.find("html")
        assert _attr(html, "data-controller") == "order_headers"
        assert _attr(html, "data-action") == "show" and _attr(html, "data-id") == number
        assert page.title is not None and page.title.get_text() == f"Purchase Order #PO{number}"
        header = page.select_one("h1#pageHeader")
        assert header is not None and header.get_text().startswith(f" Purchase Order #PO{number}")
        assert page.select_one('meta[name="csrf-param"][content="authenticity_token"]')
        assert page.select_one('meta[name="csrf-token"]')
        scripts = page.find_all("script")
        assert len(scripts) >= 40
        assert any(_attr(s, "src").startswith("/assets/application-") for s in scripts)
        supplier = page.select_one("section#supplier span.supplier-name.s-coupaSimpleTooltip")
        assert supplier is not None and supplier.get_text() == f" {po.supplier}"
        assert supplier.get("title")
        assert page.select_one('a[href="/requisition_headers"]') is not None
        link = page.select_one("a#order_header_requisition_header")
        if po.requisition_id:
            assert link is not None and link["href"] == f"/requisition_headers/{po.requisition_id}"
            assert link["aria-label"] == f"Requisition number {po.requisition_id}"
            assert f"Requisition #{po.requisition_id}" in page.get_text()
        else:
            assert link is None
        toolbar = page.select_one(
            "div.page_buttons_right.orderHeaderShowFloatingSection#order_header_show_buttons"
        )
        assert toolbar is not None
        assert bool(page.select_one("div.notice")) == bool(po.notice)
        _check_header_block(page, po.attachments.header)
        _check_comments(page, po.attachments.comment_files)


def test_hostile_names_are_escaped(client: TestClient, dataset: Dataset) -> None:
    po = pos_of(dataset, Kind.HOSTILE)[0]
    text = client.get(f"/order_headers/{po.number}").text
    assert "<img src=x" not in text and "&lt;img src=x" in text
    titles = [a["title"] for a in soup(text).select("li.s-attachmentFile a")]
    assert '<img src=x onerror="alert(1)">.txt' in titles and "bell\x07ring.txt" in titles


def test_page_script_downloads_polls_and_loads_late(client: TestClient) -> None:
    page = soup(client.get("/order_headers/16928000").text)
    app_src = next(
        _attr(s, "src")
        for s in page.find_all("script")
        if _attr(s, "src").startswith("/assets/application-")
    )
    script = client.get(app_src)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    for needle in ('span.attachment-file[role="button"]', "download", "expiration_check",
                   "expired_session_url", "DOMContentLoaded"):  # fmt: skip
        assert needle in script.text
    late = page.select_one("script#late-scripts")
    assert late is not None and "/assets/analytics-1.js?delay=2" in late.get_text()
    assert client.get("/assets/analytics-1.js").status_code == 200


def test_requisition_page(client: TestClient, dataset: Dataset) -> None:
    req = next(r for r in dataset.requisitions.values() if r.attachments.comment_files)
    page = soup(client.get(f"/requisition_headers/{req.req_id}").text)
    html = page.find("html")
    assert _attr(html, "data-controller") == "requisition_headers"
    assert _attr(html, "data-id") == req.req_id
    assert page.title is not None and page.title.get_text() == f"Requisition #{req.req_id}"
    _check_header_block(page, req.attachments.header)
    _check_comments(page, req.attachments.comment_files)
    assert client.get("/requisition_headers/1234567").status_code == 404


def test_error_pages(client: TestClient, dataset: Dataset) -> None:
    not_found = pos_of(dataset, Kind.NOT_FOUND)
    texts = []
    for po in not_found:
        response = client.get(f"/order_headers/{po.number}")
        assert response.status_code == 404
        box = soup(response.text).select_one("div#error_explanation h1")
        assert box is not None
        texts.append(box.get_text())
    assert "Oops! We couldn't find what you wanted" in texts
    portuguese = client.get("/order_headers/99999999", headers={"Accept-Language": "pt-BR,pt"})
    assert "Desculpe, não encontramos o que você procurava" in portuguese.text
    assert all(p.lang == "pt" for p in pos_of(build_dataset(40, 1), Kind.NOT_FOUND)[1::2])
    unknown = client.get("/order_headers/99999999")
    assert unknown.status_code == 404 and "Oops!" in unknown.text
    denied = client.get(f"/order_headers/{pos_of(dataset, Kind.DENIED)[0].number}")
    assert denied.status_code == 403
    flash = soup(denied.text).select_one("div.flash_error")
    assert flash is not None and "You are not authorized" in flash.get_text()
    assert "Access denied" in flash.get_text()
    assert client.get("/no/such/page").status_code == 404
    assert client.get("/sessions", follow_redirects=False).headers["location"] == "/sessions/new"


def test_print_view(client: TestClient, dataset: Dataset) -> None:
    po = pos_of(dataset, Kind.BOTH)[0]
    response = client.get(f"/order_headers/print_view?id={po.number}&version=1")
    assert response.status_code == 200 and f"PO{po.number}" in response.text
    assert client.get("/order_headers/print_view?id=1&version=1").status_code == 404


# --- files --------------------------------------------------------------------------------


def test_file_download_headers_and_bytes(client: TestClient, dataset: Dataset) -> None:
    truth = manifest(client, "never")
    po = pos_of(dataset, Kind.UNICODE)[0]
    for entry, sim in zip(
        truth["pos"][po.number]["files"],
        (*po.attachments.header, *po.attachments.comment_files),
        strict=True,
    ):
        via = "type" if entry["source"] == "header" else "file"
        response = client.get(f"/attachment/attachment_file/{via}/{sim.file_id}/ignored")
        assert response.status_code == 200
        assert len(response.content) == entry["size"] == int(response.headers["content-length"])
        assert hashlib.sha256(response.content).hexdigest() == entry["sha256"]
        disposition = response.headers["content-disposition"]
        assert disposition.startswith('attachment; filename="')
        assert disposition.split("filename=", 1)[1].split(";")[0].isascii()
        encoded = disposition.split("filename*=UTF-8''", 1)[1]
        assert unquote(encoded) == sim.name
    assert client.get("/attachment/attachment_file/file/1/x.pdf").status_code == 404


def test_content_types(client: TestClient, dataset: Dataset) -> None:
    expected = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg",
                "zip": "application/zip", "eml": "message/rfc822", "csv": "text/csv"}  # fmt: skip
    for ftype, content_type in expected.items():
        sim = next(f for f in dataset.files.values() if f.ftype == ftype and f.size_hint < 99999)
        response = client.get(f"/attachment/attachment_file/file/{sim.file_id}/x")
        assert response.headers["content-type"].startswith(content_type)


def test_attachment_record_redirects_to_the_file(client: TestClient, dataset: Dataset) -> None:
    sim = pos_of(dataset, Kind.HEADER)[0].attachments.header[0]
    response = client.get(f"/attachments/{sim.file_id}", follow_redirects=False)
    assert response.status_code == 302
    assert response.headers["location"].startswith(
        f"/attachment/attachment_file/type/{sim.file_id}/"
    )


# --- knobs, stats, manifest ------------------------------------------------------------------


def test_control_reads_validates_and_updates(client: TestClient) -> None:
    knobs = client.get("/__sim__/control").json()
    assert set(knobs) == set(KNOB_NAMES)
    assert knobs["session_ttl"] == 7200 and knobs["session_max_requests"] is None
    updated = client.post("/__sim__/control", json={"page_latency": 0.01, "file_bandwidth": 5000})
    assert updated.json()["file_bandwidth"] == 5000
    for bad in ({"nope": 1}, {"error_rate_500": 2}, {"page_latency": -1}, {"session_ttl": None}):
        assert client.post("/__sim__/control", json=bad).status_code == 400
    assert client.post("/__sim__/control", content=b"not json").status_code == 400
    assert client.get("/__sim__/control").json()["page_latency"] == 0.01


def test_error_rate_500_and_rate_429(client: TestClient, dataset: Dataset) -> None:
    sim = next(iter(dataset.files.values()))
    file_path = f"/attachment/attachment_file/file/{sim.file_id}/x"
    client.post("/__sim__/control", json={"error_rate_500": 1.0})
    assert client.get("/order_headers/16928000").status_code == 500
    assert client.get(file_path).status_code == 500
    client.post("/__sim__/control", json={"error_rate_500": 0, "rate_429": 1, "retry_after": 7})
    limited = client.get("/order_headers/16928000")
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"
    assert client.get(file_path).status_code == 429
    client.post("/__sim__/control", json={"rate_429": 0})
    assert client.get(file_path).status_code == 200
    stats = client.get("/__sim__/stats").json()
    assert stats["errors_500"] == 2 and stats["errors_429"] == 2


def test_page_latency_delays_pages(client: TestClient) -> None:
    client.post("/__sim__/control", json={"page_latency": 0.2})
    started = time.monotonic()
    client.get("/order_headers/16928000")
    assert time.monotonic() - started >= 0.2  # a lower bound only: never flaky


def test_stats_count_and_reset(client: TestClient, dataset: Dataset) -> None:
    client.post("/__sim__/stats/reset")
    sim = next(iter(dataset.files.values()))
    client.get("/order_headers/16928000")
    client.get("/order_headers/16928000")
    client.get("/requisition_headers/9561000")
    client.get(f"/attachment/attachment_file/file/{sim.file_id}/x")
    stats = client.get("/__sim__/stats").json()
    assert stats["pos"] == {"16928000": 2}
    assert stats["requisitions"] == {"9561000": 1}
    assert stats["files"] == {str(sim.file_id): 1}
    assert stats["total"] == 4 and stats["pages"] == 3
    client.post("/__sim__/stats/reset")
    assert client.get("/__sim__/stats").json()["pos"] == {}


def test_manifest_shape_and_statuses(client: TestClient, dataset: Dataset) -> None:
    truth = manifest(client)
    assert truth["base_url"] == BASE and truth["requisition_fallback"] == "no_pdf"
    creds = truth["credentials"]
    assert {k: creds[k] for k in ("email", "password")} == {"email": EMAIL, "password": PASSWORD}
    assert {"api_client_id", "api_client_secret", "api_limited_client_id"} <= set(creds)
    assert list(truth["pos"]) == list(dataset.pos)
    statuses = {"not_found": "PO_NOT_FOUND", "denied": "ACCESS_DENIED", "none": "NO_ATTACHMENTS"}
    for number, entry in truth["pos"].items():
        po = dataset.pos[number]
        assert entry["kind"] == po.kind.value
        assert entry["supplier"] == po.supplier and entry["requisition"] == po.requisition_id
        expected = statuses.get(entry["kind"], "COMPLETED")
        assert entry["status"] == (expected if entry["files"] or expected != "COMPLETED"
                                   else "NO_ATTACHMENTS")  # fmt: skip
        keys = [name_key(f["name"]) for f in entry["files"]]
        assert len(keys) == len(set(keys))
        for f in entry["files"]:
            assert f["name"].startswith(sanitize_name(f["original_name"]).rsplit(".", 1)[0][:50])
            assert f["source"] in ("header", "comment", "requisition_header", "requisition_comment")
    hostile = truth["pos"][pos_of(dataset, Kind.HOSTILE)[0].number]["files"]
    assert [f["name"] for f in hostile][:2] == [".._.._evil.pdf", "_CON.pdf"]
    duplicates = truth["pos"][pos_of(dataset, Kind.DUPLICATES)[0].number]["files"]
    stem = duplicates[0]["name"].rsplit(".", 1)[0]
    assert [f["name"] for f in duplicates[:4]] == [
        f"{stem}.PDF",
        f"{stem} (1).pdf",
        f"{stem} (2).pdf",
        f"{stem} (1) (1).pdf",
    ]


def test_manifest_fallback_modes(client: TestClient, dataset: Dataset) -> None:
    by_mode = {
        mode: manifest(client, mode)["pos"] for mode in ("never", "no_attachments", "no_pdf")
    }
    req_only = pos_of(dataset, Kind.REQUISITION_ONLY)[0].number
    assert by_mode["never"][req_only]["status"] == "NO_ATTACHMENTS"
    for mode in ("no_attachments", "no_pdf"):
        files = by_mode[mode][req_only]["files"]
        assert files and {f["source"] for f in files} <= {
            "requisition_header",
            "requisition_comment",
        }
    no_pdf = pos_of(dataset, Kind.NO_PDF)[0]
    assert (
        by_mode["no_attachments"][no_pdf.number]["files"]
        == by_mode["never"][no_pdf.number]["files"]
    )
    files = by_mode["no_pdf"][no_pdf.number]["files"]
    sources = [f["source"] for f in files]
    assert "requisition_header" in sources
    assert any(f["original_name"].endswith(".pdf") for f in files)
    shas = [f["sha256"] for f in files]
    assert len(shas) == len(set(shas))  # the file the requisition repeats is listed once
    assert client.get("/__sim__/manifest?fallback=sometimes").status_code == 400


@pytest.mark.parametrize("fallback", ["never", "no_pdf"])
def test_page_parser_reads_what_the_manifest_expects(
    client: TestClient, dataset: Dataset, fallback: str
) -> None:
    """coupadl's page parser, applying the contract's fallback rule, finds the manifest's files."""
    page_module = pytest.importorskip("coupadl.coupa.page")
    truth = manifest(client, fallback)["pos"]

    def parse(path: str) -> Any:
        return page_module.parse_page(client.get(path).text, BASE + path, BASE)

    for number, po in dataset.pos.items():
        info = parse(f"/order_headers/{number}")
        expected_kind = {Kind.NOT_FOUND: "not_found", Kind.DENIED: "access_denied"}.get(
            po.kind, "po"
        )
        assert info.kind == expected_kind, number
        if not po.visible:
            continue
        assert info.supplier == truth[number]["supplier"]
        assert (info.requisition_id or None) == po.requisition_id
        found = list(info.attachments)
        no_pdf = not any(a.name.lower().endswith(".pdf") for a in found)
        if info.requisition_id and fallback == "no_pdf" and no_pdf:
            found += parse(f"/requisition_headers/{info.requisition_id}").attachments
        unique: dict[str, Any] = {}
        for attachment in found:  # the same URL is the same file
            unique.setdefault(attachment.url, attachment)
        assert [(a.name.strip(), a.source.value) for a in unique.values()] == [
            (f["original_name"].strip(), f["source"]) for f in truth[number]["files"]
        ], number
