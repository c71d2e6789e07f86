"""The inline scripts of a page that lists its attachments only through a script, and
of one that adds its last header file by script (:func:`extra_script`).

Pages that React renders get their attachment lists filled in the browser; the HTML
a client without a browser reads has none. Here the page keeps the lists, empty,
and the "View Attachments (n)" count, and this script puts in the very items the
plain page has (made by the same functions), as the parser reaches it: so when the
browser's DOMContentLoaded comes the DOM is the plain page's. The items travel as
base64, so no file URL is in the HTML's text at all, not even inside the script.
"""

from __future__ import annotations

import base64
import json

from coupadl.simulator.data.model import Attachments, SimFile
from coupadl.simulator.pages.attachments import (
    comment_items,
    comment_list_selector,
    header_items,
    header_list_selector,
)

# Decodes each [selector, base64 of UTF-8 HTML] and appends it to the element found.
_FILL = (
    "(function (parts) {"
    " parts.forEach(function (part) {"
    " var list = document.querySelector(part[0]);"
    " var bytes = Uint8Array.from(atob(part[1]), function (c) { return c.charCodeAt(0); });"
    " if (list) { list.insertAdjacentHTML('beforeend', new TextDecoder().decode(bytes)); }"
    " });"
    " })(%s);"
)


def _b64(html: str) -> str:
    return base64.b64encode(html.encode("utf-8")).decode("ascii")


def fill_script(attachments: Attachments, base: str, block: int, first_id: int) -> str:
    """The ``<script>`` that fills the lists ``header_attachments(..., block,
    scripted=True)`` and ``comments_section(..., first_id, scripted=True)`` left empty;
    "" when they hold no files."""
    parts: list[list[str]] = []
    if attachments.header:
        parts.append([header_list_selector(block), _b64(header_items(attachments.header, base))])
    for position, comment in enumerate(attachments.comments):
        if comment.files:
            selector = comment_list_selector(first_id + position)
            parts.append([selector, _b64(comment_items(comment.files, base))])
    if not parts:  # nothing to fill in
        return ""
    # Selectors and base64 hold no "<", so the JSON cannot end the script early.
    return f'<script id="attachment-fill">{_FILL % json.dumps(parts)}</script>'


# Takes the header list's "None" item out (the HTML's list shows one when it holds no
# file) and appends the decoded item: the DOM is then the plain page's.
_EXTRA = (
    "(function (selector, item) {"
    " var list = document.querySelector(selector);"
    " if (!list) { return; }"
    " var none = list.querySelector('li.none');"
    " if (none) { none.remove(); }"
    " var bytes = Uint8Array.from(atob(item), function (c) { return c.charCodeAt(0); });"
    " list.insertAdjacentHTML('beforeend', new TextDecoder().decode(bytes));"
    " })(%s, %s);"
)


def extra_script(last: SimFile, base: str, block: int) -> str:
    """The ``<script>`` that adds ``last`` to the header list of ``header_attachments(
    ..., block)`` made without it (its URL is not in the HTML's text, as base64)."""
    selector = json.dumps(header_list_selector(block))
    item = json.dumps(_b64(header_items((last,), base)))
    return f'<script id="attachment-extra">{_EXTRA % (selector, item)}</script>'
