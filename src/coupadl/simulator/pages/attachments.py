"""The attachment markup of a page: header attachment spans, comments and their file links.

File URLs are absolute on the request's host with the name percent-encoded as one
path segment, as on real Coupa pages (coupa-facts.md).
"""

from __future__ import annotations

from urllib.parse import quote

from coupadl.simulator.data.model import Attachments, Comment, SimFile
from coupadl.simulator.pages.layout import esc


def file_url(base: str, via: str, sim: SimFile) -> str:
    """``via`` is ``file`` (comments) or ``type`` (header spans)."""
    return f"{base}/attachment/attachment_file/{via}/{sim.file_id}/{quote(sim.name, safe='')}"


def header_attachments(files: tuple[SimFile, ...], base: str, block: int) -> str:
    """The header's attachments block: spans whose click starts the download, or None."""
    if not files:
        items = '<li class="show none">None</li>'
    else:
        items = "".join(
            f'<li class="attachment" data-url="/attachments/{f.file_id}">'
            f'<span class="attachment-file" role="button" tabindex="0" '
            f'aria-label="{esc(f.name)} file attachment" title="{esc(f.name)}" '
            f'data-url="{esc(file_url(base, "type", f))}">{esc(f.name)}</span></li>'
            for f in files
        )
    return (
        f'<span class="group_label label_readonly" id="attachments_ul_{block}">Attachments</span>'
        f'<div class="attachments attachified attachments_{block + 1}">'
        f'<ul class="attachments-list">{items}</ul></div>'
    )


def _comment_attachments(files: tuple[SimFile, ...], base: str) -> str:
    items = "".join(
        '<li class="attachment attachmentFile s-attachmentFile" aria-label="Attachments File">'
        f'<a href="{esc(file_url(base, "file", f))}" target="_blank" title="{esc(f.name)}" '
        f'rel="noreferrer noopener">{esc(f.name)}</a></li>'
        for f in files
    )
    return (
        '<div class="form_element commentAttachments"><div role="status">'
        f'<ul class="attachments__list s-attachmentList">{items}</ul></div></div>'
    )


def _comment(comment: Comment, base: str, number: int) -> str:
    text = esc(comment.text)
    if comment.requisition_ref:
        ref = esc(comment.requisition_ref)
        text += f' <a href="/requisition_headers/{ref}">Requisition #{ref}</a>'
    files = _comment_attachments(comment.files, base) if comment.files else ""
    return (
        f'<div class="comment" id="comment_{number}">'
        f'<div class="comment_meta"><span class="comment_author">{esc(comment.author)}</span> '
        f'<span class="comment_date">{esc(comment.when)}</span></div>'
        f'<div class="comment_body">{text}</div>{files}</div>'
    )


def comments_section(attachments: Attachments, base: str, first_id: int) -> str:
    """The comments, their file links, and the "View Attachments (n)" button above them."""
    count = len(attachments.comment_files)
    comments = "\n".join(
        _comment(c, base, first_id + i) for i, c in enumerate(attachments.comments)
    )
    return (
        '<section id="comments" class="comments_section"><h3 class="section_title">Comments</h3>'
        '<button type="button" class="s-viewFileAttachment buttonAsLink">'
        f"<span>View Attachments ({count})</span></button>\n{comments}</section>"
    )
