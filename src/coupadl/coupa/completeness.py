"""Can a record page's attachment list be complete in its HTML, without a browser?

A browser sees a page after its scripts ran; a plain HTTP client sees the HTML as
served. Where a tenant's scripts fill the attachment lists, the HTML holds the empty
containers (or none), and reading it would call a PO with files "no attachments", a
final status never retried. :func:`missing_attachments` says when the HTML cannot be
trusted, going by what coupa-facts.md shows of the real page: the header block is
always there (an empty one holds a "None" item), and the "View Attachments (n)" button
counts the comment files.
"""

from __future__ import annotations

from coupadl.coupa.page import PageInfo, PageKind

_RECORDS = frozenset({PageKind.PO, PageKind.REQUISITION})


def missing_attachments(page: PageInfo) -> str | None:
    """Why ``page``'s attachments may not all be in its HTML, or None when they are
    (or the page is no PO or requisition, or was not read from HTML)."""
    blocks = page.blocks
    if page.kind not in _RECORDS or blocks is None:
        return None
    if blocks.header_lists == 0:
        return "the page has no header attachments block in its HTML"
    if blocks.unfilled_header_lists:
        return "a header attachments list is empty without Coupa's 'None' item"
    count = page.comment_attachment_count
    if count is not None and count > blocks.comment_links:
        return (
            f"the page says 'View Attachments ({count})' but its HTML links "
            f"{blocks.comment_links} comment file(s)"
        )
    return None
