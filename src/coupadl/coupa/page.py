"""Read a Coupa page's HTML into :class:`PageInfo`: what kind of page, and its files.

Pure function of (HTML, URL, tenant): the browser layer hands over ``page_source`` and
the current URL, and decides nothing about Coupa itself. This module tells the kinds
apart; what a PO or requisition page holds is read by :mod:`coupadl.coupa.record`.
Markup variants handled here are those in ``coupa-facts.md``: error text in
``div.flash_error``, ``div#error_explanation`` or an ``h1``, in English or Portuguese.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from bs4 import BeautifulSoup, Tag

from coupadl.coupa import record
from coupadl.coupa.markup import attr
from coupadl.coupa.signin import EMAIL_SELECTOR, PASSWORD_SELECTOR
from coupadl.coupa.urls import is_sign_in_url
from coupadl.models import Attachment, AttachmentSource


class PageKind(StrEnum):
    PO = "po"
    REQUISITION = "requisition"
    SIGN_IN = "sign_in"
    NOT_FOUND = "not_found"
    ACCESS_DENIED = "access_denied"
    RATE_LIMITED = "rate_limited"  # HTTP 429: too many requests, come back later
    SERVER_ERROR = "server_error"  # HTTP 5xx: Coupa (or a proxy before it) failed
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PageInfo:
    """What one Coupa page says. Attachments only for PO and requisition pages."""

    kind: PageKind
    title: str = ""
    supplier: str = ""
    requisition_id: str = ""
    attachments: tuple[Attachment, ...] = ()
    # From the "View Attachments (n)" button above the comments; None when absent.
    comment_attachment_count: int | None = None
    error_message: str = ""
    # RATE_LIMITED: the wait the page asks for, in seconds; None when it names none.
    retry_after: float | None = None
    # PO and requisition pages: their attachment containers as the HTML holds them
    # (coupa.completeness says whether the lists can be complete without a browser).
    blocks: record.AttachmentBlocks | None = None


# --- error texts ----------------------------------------------------------------------
# Compared after _fold(): case-folded, accents dropped, curly quotes straightened.
# Access denied is checked first: it is the more specific answer when both appear.
_ACCESS_DENIED_PHRASES = (
    "you are not authorized",
    "you are not authorised",
    "access denied",
    # Portuguese UI; the wording is a best guess, not seen on a saved page.
    "acesso negado",
    "voce nao tem permissao",
    "voce nao esta autorizado",
)
_NOT_FOUND_PHRASES = (
    "couldn't find what you wanted",
    "could not find what you wanted",
    "the page you were looking for doesn't exist",
    "the page you were looking for does not exist",
    "nao encontramos o que voce procurava",
)
# Bare status pages (a proxy or server default) whose whole text is just this.
_ACCESS_DENIED_EXACT = frozenset({"forbidden", "403 forbidden", "403"})
_NOT_FOUND_EXACT = frozenset({"not found", "404 not found", "404", "page not found"})

_ERROR_SELECTORS = ".flash_error, #error_explanation, h1"
# Any of these on a page means it has rendered far enough to be parsed: a PO or
# requisition (supplier, attachments block), an error, a sign-in form, or a plain-text
# answer (a bare "Retry later" or "Not Found", which the browser shows as one <pre>).
READY_SELECTORS = (
    f"section#supplier, .attachments, .commentAttachments, {_ERROR_SELECTORS}, {EMAIL_SELECTOR}, "
    "body > pre:only-child"
)

# --- rate limit (HTTP 429) ----------------------------------------------------------------
# A browser never sees the Retry-After header, only the page. Rails' rack-attack answers
# a plain "Retry later"; the simulator's page also says how long to wait.
_RATE_LIMIT_PHRASES = ("too many requests", "rate limit exceeded")
_RATE_LIMIT_EXACT = frozenset({"retry later", "retry later."})
_HTTP_429 = re.compile(r"^(?:error\s*)?429\b|\(429\)", re.IGNORECASE)  # in the title
_RETRY_AFTER_HEADER = re.compile(r"retry-after\s*:?\s*(\d+(?:\.\d+)?)")
_WAIT = re.compile(
    r"(?:wait|retry in|try again in|retry after|try again after)\s+(?:about\s+)?"
    r"(\d+(?:\.\d+)?)\s*(seconds?|secs?|s|minutes?|mins?)\b"
)

# --- server error (HTTP 5xx) ---------------------------------------------------------------
# Rails' own 500 page says "We're sorry, but something went wrong"; a proxy or load
# balancer in front answers "502 Bad Gateway", "503 Service Unavailable" and the like.
_SERVER_ERROR_PHRASES = (
    "something went wrong",
    "internal server error",
    "bad gateway",
    "service unavailable",
    "service temporarily unavailable",
    "gateway timeout",
)
_HTTP_5XX = re.compile(r"^(?:error\s*)?5\d\d\b|\(5\d\d\)", re.IGNORECASE)  # in the title

# --- page identity ----------------------------------------------------------------------
_PO_TITLE = re.compile(r"purchase order\s*#", re.IGNORECASE)
_REQUISITION_TITLE = re.compile(r"requisition\s*#", re.IGNORECASE)
# data-action values of a record's own page; "index" (the PO list, where Coupa may land
# after an error) is not a PO page.
_SHOW_ACTIONS = frozenset({"", "show"})


def parse_page(html: str, page_url: str, base_url: str) -> PageInfo:
    """Classify a Coupa page and read its supplier, requisition and attachments."""
    soup = BeautifulSoup(html, "html.parser")
    title = _title(soup)
    if _has_login_form(soup) or is_sign_in_url(page_url, base_url):
        return PageInfo(PageKind.SIGN_IN, title=title, error_message=_flash_text(soup))
    error = _error(soup)
    if error is not None:
        kind, message = error
        return PageInfo(kind, title=title, error_message=message)
    kind = _record_kind(soup, title)
    if kind is PageKind.UNKNOWN:
        # Only a page that is no record can be a 429: a PO may well be numbered 429.
        if _is_rate_limited(soup, title):
            text = _collapse(soup.get_text(" "))
            return PageInfo(
                PageKind.RATE_LIMITED, title, error_message=text, retry_after=_retry_after(text)
            )
        if _is_server_error(soup, title):
            return PageInfo(
                PageKind.SERVER_ERROR, title, error_message=_collapse(soup.get_text(" "))
            )
        return PageInfo(kind, title=title)
    return PageInfo(
        kind,
        title=title,
        supplier=record.supplier(soup),
        requisition_id=_requisition_id(soup, kind, page_url),
        attachments=record.attachments(
            soup, page_url or base_url.rstrip("/") + "/", *_sources(kind)
        ),
        comment_attachment_count=record.comment_count(soup),
        blocks=record.attachment_blocks(soup),
    )


def _requisition_id(soup: BeautifulSoup, kind: PageKind, page_url: str) -> str:
    """A PO's requisition; on a requisition page, its own id."""
    if kind is PageKind.REQUISITION:
        return record.own_requisition_id(soup, page_url)
    return record.po_requisition_id(soup)


def _sources(kind: PageKind) -> tuple[AttachmentSource, AttachmentSource]:
    """Where a record's header and comment files come from."""
    if kind is PageKind.REQUISITION:
        return AttachmentSource.REQUISITION_HEADER, AttachmentSource.REQUISITION_COMMENT
    return AttachmentSource.HEADER, AttachmentSource.COMMENT


# --- small text helpers -------------------------------------------------------------------


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _fold(text: str) -> str:
    """Text for phrase matching: no case, no accents, straight apostrophes, one space."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _collapse(plain.casefold())


def _title(soup: BeautifulSoup) -> str:
    for tag in (soup.title, soup.find("h1")):
        if isinstance(tag, Tag) and (text := _collapse(tag.get_text(" "))):
            return text
    return ""


# --- kind -------------------------------------------------------------------------------


def _has_login_form(soup: BeautifulSoup) -> bool:
    return (
        soup.select_one(EMAIL_SELECTOR) is not None
        and soup.select_one(PASSWORD_SELECTOR) is not None
    )


def _flash_text(soup: BeautifulSoup) -> str:
    tag = soup.select_one(".flash_error")
    return _collapse(tag.get_text(" ")) if tag else ""


def _error_kind(text: str, *, exact_only: bool = False) -> PageKind | None:
    folded = _fold(text)
    checks = (
        (PageKind.ACCESS_DENIED, _ACCESS_DENIED_EXACT, _ACCESS_DENIED_PHRASES),
        (PageKind.NOT_FOUND, _NOT_FOUND_EXACT, _NOT_FOUND_PHRASES),
    )
    for kind, exact, phrases in checks:
        if folded in exact or (not exact_only and any(p in folded for p in phrases)):
            return kind
    return None


def _error(soup: BeautifulSoup) -> tuple[PageKind, str] | None:
    """The error kind and its message, or None. ``div.notice`` is never looked at."""
    texts = [_collapse(tag.get_text(" ")) for tag in soup.select(_ERROR_SELECTORS)]
    for wanted in (PageKind.ACCESS_DENIED, PageKind.NOT_FOUND):
        for text in texts:
            if _error_kind(text) is wanted:
                return wanted, text
    # A bare server answer ("Not Found") reaches the browser as a <pre> of plain text.
    whole = _collapse(soup.get_text(" "))
    kind = _error_kind(whole, exact_only=True)
    return (kind, whole) if kind else None


def _headings_say(soup: BeautifulSoup, title: str, phrases: tuple[str, ...]) -> bool:
    """Whether the title or an h1/h2 contains one of ``phrases`` (folded)."""
    headings = [title] + [_collapse(h.get_text(" ")) for h in soup.find_all(["h1", "h2"])]
    return any(p in _fold(h) for h in headings for p in phrases)


def _is_rate_limited(soup: BeautifulSoup, title: str) -> bool:
    if _headings_say(soup, title, _RATE_LIMIT_PHRASES):
        return True
    if _HTTP_429.search(title):
        return True
    # A bare "Retry later" (plain text, shown in a <pre>) is rack-attack's 429.
    return _fold(soup.get_text(" ")) in _RATE_LIMIT_EXACT


def _is_server_error(soup: BeautifulSoup, title: str) -> bool:
    return bool(_HTTP_5XX.search(title)) or _headings_say(soup, title, _SERVER_ERROR_PHRASES)


def _retry_after(text: str) -> float | None:
    """Seconds a 429 page asks to wait ("Retry-After: 30", "wait 2 minutes"), or None."""
    folded = _fold(text)
    if match := _RETRY_AFTER_HEADER.search(folded):
        return float(match.group(1))
    if match := _WAIT.search(folded):
        amount, unit = float(match.group(1)), match.group(2)
        return amount * 60 if unit.startswith("min") else amount
    return None


def _controller(soup: BeautifulSoup) -> tuple[set[str], str]:
    html = soup.find("html")
    if not isinstance(html, Tag):
        return set(), ""
    return set(attr(html, "data-controller").split()), attr(html, "data-action")


def _record_kind(soup: BeautifulSoup, title: str) -> PageKind:
    controllers, action = _controller(soup)
    h1 = soup.find("h1")
    heading = title + " " + (_collapse(h1.get_text(" ")) if isinstance(h1, Tag) else "")
    on_show = action in _SHOW_ACTIONS
    if ("order_headers" in controllers and on_show) or _PO_TITLE.search(heading):
        return PageKind.PO
    if ("requisition_headers" in controllers and on_show) or _REQUISITION_TITLE.search(heading):
        return PageKind.REQUISITION
    return PageKind.UNKNOWN
