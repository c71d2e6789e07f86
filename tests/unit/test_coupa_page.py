"""Parsing Coupa pages into PageInfo, from saved-page-like HTML fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupadl.coupa.page import PageInfo, PageKind, parse_page
from coupadl.coupa.signin import is_sign_in_document
from coupadl.models import Attachment, AttachmentSource

BASE = "https://acme.coupahost.com"
HTML = Path(__file__).parent / "html"
H, C = AttachmentSource.HEADER, AttachmentSource.COMMENT
FILE = f"{BASE}/attachment/attachment_file"


def _parse(name: str, url: str = f"{BASE}/order_headers/16928033") -> PageInfo:
    return parse_page((HTML / name).read_text(encoding="utf-8"), url, BASE)


def test_full_po_page() -> None:
    info = _parse("po_full.html")
    assert info.kind is PageKind.PO
    assert info.title == "Purchase Order #PO16928033"
    assert info.supplier == "Iver Sverige AB-0051468190"
    assert info.requisition_id == "9561914"
    assert info.comment_attachment_count == 4
    assert info.error_message == ""  # the div.notice is no error


def test_full_po_page_attachments_in_order_and_deduped() -> None:
    assert _parse("po_full.html").attachments == (
        Attachment("Quote_2025.pdf", f"{FILE}/type/501/Quote_2025.pdf", H),
        Attachment(
            "Terms (v2), signé.docx", f"{FILE}/type/502/Terms_%28v2%29%2C_sign%C3%A9.docx", H
        ),
        Attachment("Delivery plan.xlsx", f"{FILE}/type/503/Delivery%20plan.xlsx", H),
        Attachment("Order_confirmation.msg", f"{FILE}/file/9001/Order_confirmation.msg", C),
        # Same name as a header file but another URL: another file.
        Attachment("Quote_2025.pdf", f"{FILE}/file/9002/Quote_2025.pdf", C),
        Attachment("Prisöversikt (1).csv", f"{FILE}/file/9003/Pris%C3%B6versikt%20(1).csv", C),
    )


def test_empty_po_page() -> None:
    info = _parse("po_empty.html", f"{BASE}/order_headers/16928034")
    assert info.kind is PageKind.PO
    assert info.attachments == ()  # the "None" placeholder is no file
    assert info.supplier == "Kontorsvaror Norden AB-0051000001"
    # No header link: taken from the comment, not from the script or the nav menu.
    assert info.requisition_id == "7654321"
    assert info.comment_attachment_count is None


def test_header_attachments_rendered_as_links() -> None:
    info = _parse("po_header_links.html", f"{BASE}/order_headers/555")
    assert info.kind is PageKind.PO
    assert info.attachments == (Attachment("Spec sheet.pdf", f"{BASE}/attachments/77/download", H),)
    assert info.requisition_id == ""


def test_requisition_page() -> None:
    info = _parse("requisition.html", f"{BASE}/requisition_headers/9561914")
    assert info.kind is PageKind.REQUISITION
    assert info.requisition_id == "9561914"
    assert info.comment_attachment_count == 1
    assert info.attachments == (
        Attachment(
            "Budget approval.pdf",
            f"{FILE}/type/601/Budget_approval.pdf",
            AttachmentSource.REQUISITION_HEADER,
        ),
        Attachment(
            "Supplier_quote.pdf",
            f"{FILE}/file/9101/Supplier_quote.pdf",
            AttachmentSource.REQUISITION_COMMENT,
        ),
    )


@pytest.mark.parametrize(
    ("name", "kind", "message"),
    [
        ("not_found_en.html", PageKind.NOT_FOUND, "Oops! We couldn’t find what you wanted."),
        ("not_found_pt.html", PageKind.NOT_FOUND, "Desculpe, não encontramos o que você procurava"),
        ("rails_404.html", PageKind.NOT_FOUND, "The page you were looking for doesn't exist."),
        ("access_denied.html", PageKind.ACCESS_DENIED, "You are not authorized"),
    ],
)
def test_error_pages(name: str, kind: PageKind, message: str) -> None:
    info = _parse(name)
    assert info.kind is kind
    assert message in info.error_message
    assert info.attachments == ()


def test_sign_in_form_on_the_tenant() -> None:
    info = _parse("sign_in.html", f"{BASE}/sessions/new")
    assert info.kind is PageKind.SIGN_IN
    assert "session has expired" in info.error_message


def test_sign_in_form_served_at_a_po_url() -> None:
    assert _parse("sign_in.html").kind is PageKind.SIGN_IN


def test_identity_provider_page_on_another_host() -> None:
    info = _parse("okta.html", "https://acme.okta.com/app/coupa/exk1/sso/saml")
    assert info.kind is PageKind.SIGN_IN
    assert info.title == "Acme - Sign In"


def test_identity_provider_check_wins_over_po_markup() -> None:
    html = (HTML / "po_full.html").read_text(encoding="utf-8")
    assert parse_page(html, "https://login.microsoftonline.com/x", BASE).kind is PageKind.SIGN_IN


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<html><body><p>Loading…</p></body></html>",
        '<html data-controller="order_headers" data-action="index"><title>Orders</title></html>',
        '<html><body><div class="notice">Access denied? Not here.</div></body></html>',
        '<html><body><div class="notice">Not found</div><p>x</p></body></html>',
    ],
)
def test_unknown_pages(html: str) -> None:
    assert parse_page(html, f"{BASE}/order_headers/1", BASE).kind is PageKind.UNKNOWN


@pytest.mark.parametrize(
    ("html", "kind"),
    [
        ('<html data-controller="order_headers" data-action="show"></html>', PageKind.PO),
        ("<h1>Purchase Order #PO1</h1>", PageKind.PO),
        ('<html data-controller="requisition_headers"></html>', PageKind.REQUISITION),
        ("<title>Requisition #77</title>", PageKind.REQUISITION),
        ("<h1>Access Denied</h1>", PageKind.ACCESS_DENIED),
        ('<div class="flash_error">You are not authorised</div>', PageKind.ACCESS_DENIED),
        ("<h1>Not Found</h1>", PageKind.NOT_FOUND),
        ("Not Found", PageKind.NOT_FOUND),
        ("<html><body><pre>403 Forbidden</pre></body></html>", PageKind.ACCESS_DENIED),
        (
            '<div id="error_explanation">Oops! We could not find what you wanted</div>',
            PageKind.NOT_FOUND,
        ),
    ],
)
def test_kind_markers(html: str, kind: PageKind) -> None:
    assert parse_page(html, f"{BASE}/order_headers/1", BASE).kind is kind


@pytest.mark.parametrize(
    "html",
    [
        # Rails' own 500 page, as the simulator serves it
        "<html><head><title>We're sorry, but something went wrong (500)</title></head>"
        "<body><div class='dialog'><h1>We're sorry, but something went wrong.</h1></div>",
        # a proxy or load balancer in front of the tenant
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad "
        "Gateway</h1></center><hr><center>nginx</center></body></html>",
        "<html><head><title>Error 503</title></head><body><p>Back soon</p></body></html>",
        "<html><body><h1>Service Temporarily Unavailable</h1></body></html>",
        "<html><body><h2>Internal Server Error</h2></body></html>",
    ],
)
def test_server_error_pages(html: str) -> None:
    page = parse_page(html, f"{BASE}/order_headers/1", BASE)
    assert page.kind is PageKind.SERVER_ERROR
    assert page.error_message


@pytest.mark.parametrize(
    ("html", "kind"),
    [
        # a record numbered like a status code stays a record
        ("<h1>Purchase Order #503</h1>", PageKind.PO),
        ("<title>Requisition #500</title>", PageKind.REQUISITION),
        # a comment that mentions trouble is no error page
        (
            '<html data-controller="order_headers" data-action="show"><p>Something went '
            "wrong with the first invoice</p></html>",
            PageKind.PO,
        ),
        # a 404 page stays a 404, whatever its wording shares with a 500 page
        ("<title>404 Not Found</title><h1>Not Found</h1>", PageKind.NOT_FOUND),
    ],
)
def test_records_and_other_errors_are_no_server_error(html: str, kind: PageKind) -> None:
    assert parse_page(html, f"{BASE}/order_headers/1", BASE).kind is kind


def test_requisition_id_from_url_when_page_has_no_data_id() -> None:
    info = parse_page("<title>Requisition #</title>", f"{BASE}/requisition_headers/42", BASE)
    assert info.requisition_id == "42"


def test_requisition_link_without_href_id_uses_its_text() -> None:
    html = '<h1>Purchase Order #PO1</h1><a id="order_header_requisition_header">8080</a>'
    assert parse_page(html, f"{BASE}/order_headers/1", BASE).requisition_id == "8080"


def test_header_span_name_falls_back_to_aria_label_then_url() -> None:
    html = """<h1>Purchase Order #PO1</h1><ul class="attachments-list">
      <li class="attachment" data-url="/attachments/1"><span class="attachment-file"
        role="button" aria-label="a b.pdf file attachment"></span></li>
      <li class="attachment"><span class="attachment-file"
        role="button" data-url="/attachment/x/2/c%20d.pdf"></span></li>
      <li class="attachment"><span class="attachment-file" role="button"></span></li>
    </ul>"""
    attachments = parse_page(html, f"{BASE}/order_headers/1", BASE).attachments
    assert [(a.name, a.url) for a in attachments] == [
        ("a b.pdf", f"{BASE}/attachments/1"),  # the item's data-url when the span has none
        ("c d.pdf", f"{BASE}/attachment/x/2/c%20d.pdf"),
    ]


def test_item_with_button_and_link_is_one_file() -> None:
    html = """<h1>Purchase Order #PO1</h1><ul class="attachments-list"><li class="attachment">
      <span class="attachment-file" role="button" title="q.pdf" data-url="/attachment/f/1/q.pdf">
      </span><a href="/attachment/f/1/q.pdf?download=1">q.pdf</a></li></ul>"""
    attachments = parse_page(html, f"{BASE}/order_headers/1", BASE).attachments
    assert [a.name for a in attachments] == ["q.pdf"]


def test_comment_files_listed_before_the_header_in_the_dom_still_come_after() -> None:
    html = """<h1>Purchase Order #PO1</h1>
      <div class="commentAttachments"><a href="/attachment/file/2/c.pdf">c.pdf</a></div>
      <div class="attachments"><ul class="attachments-list"><li class="attachment">
      <a href="/attachment/file/1/h.pdf">h.pdf</a></li></ul></div>"""
    attachments = parse_page(html, f"{BASE}/order_headers/1", BASE).attachments
    assert [(a.name, a.source) for a in attachments] == [("h.pdf", H), ("c.pdf", C)]


def test_relative_urls_resolve_against_the_base_without_a_page_url() -> None:
    html = '<h1>Purchase Order #1</h1><li class="attachmentFile"><a href="/attachment/9">x</a></li>'
    assert parse_page(html, "", BASE).attachments[0].url == f"{BASE}/attachment/9"


def test_a_downloaded_sign_in_page_is_recognised() -> None:
    html = (HTML / "sign_in.html").read_bytes()
    assert is_sign_in_document(html)
    # A text attachment that merely mentions signing in is not the sign-in page.
    assert not is_sign_in_document(b"Please sign in to the supplier portal to confirm.\n")
    assert not is_sign_in_document((HTML / "po_full.html").read_bytes())
