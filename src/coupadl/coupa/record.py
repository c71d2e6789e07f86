"""What a PO or requisition page holds: supplier, requisition, attachments.

Pure functions over the parsed page; :func:`coupadl.coupa.page.parse_page` calls them
once it knows the page is a record. Header attachments come as ``span.attachment-file``
(a JavaScript button with ``data-url``) or as links, comment attachments as links
(``coupa-facts.md``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from bs4 import BeautifulSoup, Tag

from coupadl.coupa.markup import attr, classes
from coupadl.models import Attachment, AttachmentSource

_REQUISITION_HREF = re.compile(r"/requisition_headers/(\d+)(?:[/?#]|$)")
_REQUISITION_TEXT = re.compile(r"requisition\s*#\s*(\d+)", re.IGNORECASE)
_VIEW_ATTACHMENTS = re.compile(r"view attachments\s*\((\d+)\)", re.IGNORECASE)
_COUNT = re.compile(r"\((\d+)\)")

# Classes that mark the comment attachment lists (the "View Attachments" area).
_COMMENT_CLASSES = frozenset(
    {"commentAttachments", "attachmentFile", "s-attachmentFile", "attachments__list",
     "s-attachmentList"}
)  # fmt: skip
# Any attachment list; a link elsewhere on the page that mentions /attachment is not a file.
_LIST_CLASSES = _COMMENT_CLASSES | {"attachment", "attachments", "attachments-list"}
_ARIA_SUFFIX = " file attachment"


# --- supplier, requisition, count ----------------------------------------------------------


def supplier(soup: BeautifulSoup) -> str:
    """The supplier's name as the record shows it, or ``""``."""
    tag = soup.select_one("section#supplier span.supplier-name") or soup.select_one(
        "span.supplier-name"
    )
    return tag.get_text().strip() if tag else ""


def po_requisition_id(soup: BeautifulSoup) -> str:
    """The id of the requisition a PO page names, or ``""``."""
    link = soup.find("a", id="order_header_requisition_header")
    if isinstance(link, Tag):
        if match := _REQUISITION_HREF.search(attr(link, "href")):
            return match.group(1)
        if (text := link.get_text().strip()).isdecimal():
            return text
    # The nav menu's "/requisition_headers" has no id, so it never matches.
    for anchor in soup.find_all("a", href=_REQUISITION_HREF):
        if match := _REQUISITION_HREF.search(attr(anchor, "href")):
            return match.group(1)
    match = _REQUISITION_TEXT.search(soup.get_text(" "))  # e.g. a comment "Requisition #9561914"
    return match.group(1) if match else ""


def own_requisition_id(soup: BeautifulSoup, page_url: str) -> str:
    """A requisition page's own id: its ``data-id``, else the id in its URL."""
    html = soup.find("html")
    data_id = attr(html, "data-id") if isinstance(html, Tag) else ""
    if data_id.isdecimal():
        return data_id
    match = _REQUISITION_HREF.search(urlsplit(page_url).path)
    return match.group(1) if match else ""


def comment_count(soup: BeautifulSoup) -> int | None:
    """From the "View Attachments (n)" button above the comments; None when absent."""
    button = soup.select_one(".s-viewFileAttachment")
    if button is not None and (match := _COUNT.search(button.get_text(" "))):
        return int(match.group(1))
    match = _VIEW_ATTACHMENTS.search(soup.get_text(" "))
    return int(match.group(1)) if match else None


# --- attachment containers -------------------------------------------------------------------


@dataclass(frozen=True)
class AttachmentBlocks:
    """What a record's HTML holds of its attachment containers, as served (before any
    script runs): whether the lists a browser would show can be complete here
    (:func:`coupadl.coupa.completeness.missing_attachments` decides)."""

    header_lists: int = 0  # header attachment blocks (``div.attachments``)
    # Of those, blocks with no list item at all: an empty one shows Coupa's "None" item.
    unfilled_header_lists: int = 0
    comment_lists: int = 0  # comment attachment lists (``.commentAttachments``)
    # File links and buttons inside comment lists, repeats included: what the
    # "View Attachments (n)" count counts (the same file attached twice counts twice).
    comment_links: int = 0


def attachment_blocks(soup: BeautifulSoup) -> AttachmentBlocks:
    """Count the record's attachment containers and the comment files written in them."""
    headers = [
        block
        for block in soup.select("div.attachments")
        if not any(_COMMENT_CLASSES.intersection(classes(p)) for p in block.parents)
    ]
    comment_lists = soup.select(".commentAttachments")
    return AttachmentBlocks(
        header_lists=len(headers),
        unfilled_header_lists=sum(1 for block in headers if block.find("li") is None),
        comment_lists=len(comment_lists),
        comment_links=sum(1 for tag in _attachment_tags(soup) if _in_comments(tag)),
    )


# --- attachments ---------------------------------------------------------------------------


def attachments(
    soup: BeautifulSoup, page_url: str, header: AttachmentSource, comment: AttachmentSource
) -> tuple[Attachment, ...]:
    """Header files first, then comment files, each in document order; one per URL.

    ``header`` and ``comment`` are the sources the page's kind gives its files."""
    found: list[Attachment] = []
    for tag in _attachment_tags(soup):
        url, name = _span_file(tag) if tag.name == "span" else _link_file(tag)
        source = comment if _in_comments(tag) else header
        found.append(Attachment(name=name, url=urljoin(page_url, url), source=source))
    found.sort(key=lambda a: a.source is comment)  # stable: document order within a source
    return one_per_url(found)


def one_per_url(attachments: Iterable[Attachment]) -> tuple[Attachment, ...]:
    """The first of the attachments sharing a URL (one file attached in two places)."""
    unique: dict[str, Attachment] = {}
    for attachment in attachments:
        unique.setdefault(attachment.url, attachment)
    return tuple(unique.values())


def _attachment_tags(soup: BeautifulSoup) -> Iterator[Tag]:
    for tag in soup.find_all(["span", "a"]):
        is_button = tag.name == "span" and _is_file_button(tag) and bool(_span_url(tag))
        if is_button or (tag.name == "a" and _is_file_link(tag)):
            yield tag


def _is_file_button(tag: Tag) -> bool:
    return "attachment-file" in classes(tag) and attr(tag, "role") == "button"


def _is_file_link(tag: Tag) -> bool:
    if "/attachment" not in attr(tag, "href").lower():
        return False
    if not any(_LIST_CLASSES.intersection(classes(parent)) for parent in tag.parents):
        return False
    # A header item may carry both a file button and a link; the button is the file.
    item = tag.find_parent("li")
    return not (item and any(_is_file_button(s) for s in item.find_all("span")))


def _in_comments(tag: Tag) -> bool:
    return any(_COMMENT_CLASSES.intersection(classes(parent)) for parent in tag.parents)


def _span_url(tag: Tag) -> str:
    """The button's own data-url, else its list item's (``/attachments/<id>``)."""
    if url := attr(tag, "data-url"):
        return url
    item = tag.find_parent("li")
    return attr(item, "data-url") if item else ""


def _span_file(tag: Tag) -> tuple[str, str]:
    url = _span_url(tag)
    label = attr(tag, "aria-label")
    if label.lower().endswith(_ARIA_SUFFIX):
        label = label[: -len(_ARIA_SUFFIX)].strip()
    return url, attr(tag, "title") or label or _name_from_url(url)


def _link_file(tag: Tag) -> tuple[str, str]:
    url = attr(tag, "href")
    return url, attr(tag, "title") or tag.get_text().strip() or _name_from_url(url)


def _name_from_url(url: str) -> str:
    segment = urlsplit(url).path.rstrip("/").rpartition("/")[2]
    return unquote(segment).strip() or "attachment"
