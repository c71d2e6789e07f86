"""Whether a record page's attachments can be complete in its HTML (coupa/completeness.py),
on hand-written HTML and on the simulator's pages (plain, and filled by a script only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupadl.coupa.completeness import missing_attachments
from coupadl.coupa.page import PageKind, parse_page
from coupadl.coupa.record import AttachmentBlocks
from coupadl.simulator.data import build_dataset
from coupadl.simulator.pages.documents import render_po
from coupadl.simulator.pages.filler import Filler
from coupadl.simulator.pages.layout import PageContext

BASE = "https://acme.coupahost.com"
URL = f"{BASE}/order_headers/77"
HTML = Path(__file__).parent / "html"
FILE = f"{BASE}/attachment/attachment_file"

_HEAD = '<html data-controller="order_headers" data-action="show"><head><title>Purchase Order #PO77</title></head><body>'  # noqa: E501
_NONE_HEADER = (
    '<div class="attachments attachified attachments_2">'
    '<ul class="attachments-list"><li class="show none">None</li></ul></div>'
)
_EMPTY_HEADER = (
    '<div class="attachments attachified attachments_2"><ul class="attachments-list"></ul></div>'
)


def _header_with(*names: str) -> str:
    items = "".join(
        f'<li class="attachment"><span class="attachment-file" role="button" title="{n}" '
        f'data-url="{FILE}/type/{i}/{n}"></span></li>'
        for i, n in enumerate(names)
    )
    return f'<div class="attachments attachified"><ul class="attachments-list">{items}</ul></div>'


def _comments(count: int | None, *links: str) -> str:
    button = ""
    if count is not None:
        button = f'<button class="s-viewFileAttachment"><span>View Attachments ({count})</span>'
        button += "</button>"
    items = "".join(
        f'<li class="attachment attachmentFile"><a href="{FILE}/file/{u}" title="{u}">{u}</a></li>'
        for u in links
    )
    return (
        f'<section id="comments">{button}<div class="comment"><div class="form_element '
        f'commentAttachments"><ul class="attachments__list">{items}</ul></div></div></section>'
    )


def _page(*parts: str) -> str:
    return _HEAD + "".join(parts) + "</body></html>"


def _reason(html: str) -> str | None:
    return missing_attachments(parse_page(html, URL, BASE))


def test_a_page_with_every_file_in_its_html_is_complete() -> None:
    assert _reason(_page(_header_with("a.pdf"), _comments(2, "1/x.msg", "2/y.csv"))) is None


def test_an_empty_header_block_with_coupas_none_and_no_comments_is_complete() -> None:
    assert _reason(_page(_NONE_HEADER)) is None
    assert _reason(_page(_NONE_HEADER, _comments(0))) is None


def test_the_same_file_attached_twice_counts_twice() -> None:
    # Two comments link the same file: the count says 2, one file is downloaded.
    html = _page(_NONE_HEADER, _comments(2, "1/x.msg", "1/x.msg"))
    page = parse_page(html, URL, BASE)
    assert len(page.attachments) == 1
    assert page.blocks == AttachmentBlocks(1, 0, 1, 2)
    assert missing_attachments(page) is None


def test_a_count_above_the_links_found_means_a_script_fills_them() -> None:
    reason = _reason(_page(_NONE_HEADER, _comments(3, "1/x.msg")))
    assert reason is not None and "View Attachments (3)" in reason and "1 comment" in reason


def test_comment_links_outside_the_lists_do_not_count() -> None:
    stray = f'<p>see <a href="{FILE}/file/1/x.msg">here</a></p>'
    assert _reason(_page(_NONE_HEADER, stray, _comments(1))) is not None


def test_a_page_without_header_block_cannot_be_trusted() -> None:
    reason = _reason(_page(_comments(1, "1/x.msg")))
    assert reason is not None and "no header attachments block" in reason


def test_an_attachments_block_inside_the_comments_is_no_header_block() -> None:
    inner = (
        '<div class="commentAttachments"><div class="attachments"><ul class="attachments-list">'
        '<li class="show none">None</li></ul></div></div>'
    )
    page = parse_page(_page(inner), URL, BASE)
    assert page.blocks is not None and page.blocks.header_lists == 0
    assert missing_attachments(page) is not None


def test_a_header_list_without_any_item_is_filled_by_a_script() -> None:
    reason = _reason(_page(_EMPTY_HEADER, _comments(0)))
    assert reason is not None and "'None'" in reason


def test_pages_that_are_no_record_are_not_judged() -> None:
    for name in ("sign_in.html", "not_found_en.html", "access_denied.html", "okta.html"):
        page = parse_page((HTML / name).read_text(encoding="utf-8"), URL, BASE)
        assert page.kind not in (PageKind.PO, PageKind.REQUISITION)
        assert page.blocks is None
        assert missing_attachments(page) is None


@pytest.mark.parametrize("name", ["po_full.html", "po_empty.html", "requisition.html"])
def test_the_saved_page_fixtures_are_complete(name: str) -> None:
    page = parse_page((HTML / name).read_text(encoding="utf-8"), URL, BASE)
    assert missing_attachments(page) is None


def test_the_full_fixtures_blocks() -> None:
    page = parse_page((HTML / "po_full.html").read_text(encoding="utf-8"), URL, BASE)
    # Two comment lists, four links in them (one file twice); the inline "here" link
    # is not in a list.
    assert page.blocks == AttachmentBlocks(1, 0, 2, 4)


def test_the_simulators_script_only_pages_are_caught_and_its_plain_pages_pass() -> None:
    dataset = build_dataset(40, 3)
    ctx, filler = PageContext(BASE), Filler(3)
    judged = 0
    for po in dataset.pos.values():
        own = po.attachments.header or po.attachments.comment_files
        if not po.visible or not own:
            continue
        plain = parse_page(render_po(po, ctx, filler), URL, BASE)
        scripted = parse_page(render_po(po, ctx, filler, scripted=True), URL, BASE)
        assert missing_attachments(plain) is None, po.number
        assert scripted.attachments == ()  # no file in the HTML at all
        assert missing_attachments(scripted) is not None, po.number
        judged += 1
    assert judged >= 20
