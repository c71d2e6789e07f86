"""The attachment markup of a page: header attachment spans, comments and their file links.

File URLs are absolute on the request's host with the name percent-encoded as one
path segment, as on real Coupa pages (coupa-facts.md). ``scripted`` leaves the files
out of the markup (the header's list and each comment's list stay, empty) for a page
whose inline script puts them in (``pages/scripted.py``); the counts stay.
"""

from __future__ import annotations

from urllib.parse import quote

from coupadl.simulator.data.model import Attachments, Comment, SimFile
from coupadl.simulator.pages.layout import esc


def file_url(base: str, via: str, sim: SimFile) -> str:
    """``via`` is ``file`` (comments) or ``type`` (header spans)."""
    return f"{base}/attachment/attachment_file/{via}/{sim.file_id}/{quote(sim.name, safe='')}"


def header_items(files: tuple[SimFile, ...], base: str) -> str:
    """The header list's items: spans whose click starts the download."""
    return "".join(
        f'<li class="attachment" data-url="/attachments/{f.file_id}">'
        f'<span class="attachment-file" role="button" tabindex="0" '
        f'aria-label="{esc(f.name)} file attachment" title="{esc(f.name)}" '
        f'data-url="{esc(file_url(base, "type", f))}">{esc(f.name)}</span></li>'
        for f in files
    )


def header_list_selector(block: int) -> str:
    """A CSS selector of the header's list in the block ``header_attachments`` makes."""
    return f"div.attachments_{block + 1} > ul.attachments-list"


def header_attachments(
    files: tuple[SimFile, ...], base: str, block: int, *, scripted: bool = False
) -> str:
    """The header's attachments block: its file spans, or None."""
    if not files:
        items = '<li class="show none">None</li>'
    else:
        items = "" if scripted else header_items(files, base)
    return (
        f'<span class="group_label label_readonly" id="attachments_ul_{block}">Attachments</span>'
        f'<div class="attachments attachified attachments_{block + 1}">'
        f'<ul class="attachments-list">{items}</ul></div>'
    )


def comment_items(files: tuple[SimFile, ...], base: str) -> str:
    """A comment's file list items: links to the files."""
    return "".join(
        '<li class="attachment attachmentFile s-attachmentFile" aria-label="Attachments File">'
        f'<a href="{esc(file_url(base, "file", f))}" target="_blank" title="{esc(f.name)}" '
        f'rel="noreferrer noopener">{esc(f.name)}</a></li>'
        for f in files
    )


def comment_list_selector(number: int) -> str:
    """A CSS selector of comment ``number``'s file list."""
    return f"#{comment_id(number)} ul.attachments__list"


def _comment_attachments(items: str) -> str:
    return (
        '<div class="form_element commentAttachments"><div role="status">'
        f'<ul class="attachments__list s-attachmentList">{items}</ul></div></div>'
    )


def _comment(comment: Comment, base: str, number: int, scripted: bool) -> str:
    text = esc(comment.text)
    if comment.requisition_ref:
        ref = esc(comment.requisition_ref)
        text += f' <a href="/requisition_headers/{ref}">Requisition #{ref}</a>'
    files = ""
    if comment.files:
        files = _comment_attachments("" if scripted else comment_items(comment.files, base))
    return (
        f'<div class="comment" id="{comment_id(number)}">'
        f'<div class="comment_meta"><span class="comment_author">{esc(comment.author)}</span> '
        f'<span class="comment_date">{esc(comment.when)}</span></div>'
        f'<div class="comment_body">{text}</div>{files}</div>'
    )


def comment_id(number: int) -> str:
    """The element id of comment ``number`` (a section's first id plus its position)."""
    return f"comment_{number}"


def comments_section(
    attachments: Attachments, base: str, first_id: int, *, scripted: bool = False
) -> str:
    """The comments, their file links, and the "View Attachments (n)" button above them."""
    count = len(attachments.comment_files)
    comments = "\n".join(
        _comment(c, base, first_id + i, scripted) for i, c in enumerate(attachments.comments)
    )
    return (
        '<section id="comments" class="comments_section"><h3 class="section_title">Comments</h3>'
        '<button type="button" class="s-viewFileAttachment buttonAsLink">'
        f"<span>View Attachments ({count})</span></button>\n{comments}</section>"
    )
