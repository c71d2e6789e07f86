"""HTML of the simulated tenant, shaped like the real Coupa pages in coupa-facts.md.

Every name and attribute goes through :func:`html.escape`; file URLs are absolute on
the request's host with the name percent-encoded as one path segment. PO pages are
padded with hidden templates to the size of a real page (~100-170 KB).
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from coupadl.simulator.data import (
    Attachments,
    Comment,
    Dataset,
    PurchaseOrder,
    Requisition,
    SimFile,
)


def _e(text: object) -> str:
    return escape(str(text), quote=True)


# --- assets -------------------------------------------------------------------------------

APPLICATION_JS = """\
(function () {
  "use strict";
  // Header attachments are spans, not links: a click starts the download in place.
  function startDownload(url) {
    var link = document.createElement("a");
    link.href = url;
    link.setAttribute("download", "");
    link.style.display = "none";
    document.body.appendChild(link);
    link.click();
    document.body.removeChild(link);
  }
  function onActivate(event) {
    var target = event.target;
    var span = target && target.closest ?
      target.closest('span.attachment-file[role="button"]') : null;
    if (!span) { return; }
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") { return; }
    event.preventDefault();
    startDownload(span.getAttribute("data-url"));
  }
  document.addEventListener("click", onActivate);
  document.addEventListener("keydown", onActivate);

  // The session timer: an expired session sends the page to the sign-in form.
  function checkSession() {
    fetch("/sessions/expiration_check", {credentials: "same-origin",
                                         headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        if (answer && answer.expired_session_url) {
          window.location.href = answer.expired_session_url;
        }
      })
      .catch(function () {});
  }
  var meta = document.querySelector('meta[name="session-check-interval"]');
  var seconds = meta ? parseFloat(meta.getAttribute("content")) : 5;
  if (seconds > 0) { window.setInterval(checkSession, seconds * 1000); }

  // Analytics arrive after DOMContentLoaded and keep the page loading for a while.
  document.addEventListener("DOMContentLoaded", function () {
    var list = document.getElementById("late-scripts");
    var urls = list ? JSON.parse(list.textContent) : [];
    urls.forEach(function (url) {
      var script = document.createElement("script");
      script.src = url;
      script.async = true;
      document.head.appendChild(script);
    });
  });
})();
"""

APPLICATION_CSS = """\
body { font-family: Arial, sans-serif; margin: 0; padding-bottom: 80px; }
#main_nav ul { list-style: none; margin: 0; padding: 8px; background: #1d3b5a; }
#main_nav li { display: inline-block; margin-right: 16px; }
#main_nav a { color: #fff; }
#page { padding: 16px 24px; }
.notice { background: #fff8d6; padding: 8px; }
.flash_error { background: #fde2e2; color: #8a1f11; padding: 8px; }
span.attachment-file { color: #0a66c2; cursor: pointer; text-decoration: underline; }
/* The floating toolbar covers the bottom of the window, links under it included. */
.page_buttons_right.orderHeaderShowFloatingSection, .page_buttons_right.floatingSection {
  position: fixed; left: 0; right: 0; bottom: 0; height: 64px; z-index: 1000;
  background: #fff; border-top: 1px solid #ccc; text-align: right; padding: 12px 24px;
}
[hidden] { display: none; }
"""

STUB_JS = "/* chunk */ window.__coupaChunks = (window.__coupaChunks || 0) + 1;\n"
ANALYTICS_JS = "/* analytics */ window.__coupaAnalytics = (window.__coupaAnalytics || 0) + 1;\n"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


APPLICATION_JS_PATH = f"/assets/application-{_digest(APPLICATION_JS)}.js"
APPLICATION_CSS_PATH = f"/assets/application-{_digest(APPLICATION_CSS)}.css"
_VENDOR_JS = tuple(
    f"/assets/{name}-{_digest(name)}.js"
    for name in ("runtime", "vendor", "react", "react-dom", "i18n", "moment", "lodash",
                 "coupa-ui", "order_headers", "comments", "attachments", "approvals")
)  # fmt: skip
_LATE_SCRIPTS = 3
_INLINE_SCRIPTS = 34  # with the externals: about 50 script tags, as on a real page


# --- page chrome ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PageContext:
    """What every page needs from the request and the live knobs."""

    base: str  # scheme://host[:port], no trailing slash
    csrf_token: str = ""
    script_delay: float = 2.0
    check_interval: float = 5.0


def file_url(base: str, via: str, sim: SimFile) -> str:
    """``via`` is ``file`` (comments) or ``type`` (header spans)."""
    return f"{base}/attachment/attachment_file/{via}/{sim.file_id}/{quote(sim.name, safe='')}"


def _scripts(ctx: PageContext) -> str:
    late = [
        f"/assets/analytics-{n}.js?delay={ctx.script_delay:g}" for n in range(1, _LATE_SCRIPTS + 1)
    ]
    tags = [f'<script src="{APPLICATION_JS_PATH}" defer></script>']
    tags += [f'<script src="{path}" defer></script>' for path in _VENDOR_JS]
    tags.append(f'<script type="application/json" id="late-scripts">{json.dumps(late)}</script>')
    tags += [
        f"<script>window.CoupaFlags = window.CoupaFlags || {{}}; "
        f"window.CoupaFlags.flag{n} = {str(n % 3 == 0).lower()};</script>"
        for n in range(_INLINE_SCRIPTS)
    ]
    return "\n".join(tags)


_NAV = (
    '<div id="header"><nav id="main_nav" aria-label="Main"><ul>'
    '<li><a href="/">Home</a></li>'
    '<li><a href="/requisition_headers">Requests</a></li>'
    '<li><a href="/order_headers">Orders</a></li>'
    "</ul></nav></div>"
)


def _layout(
    ctx: PageContext,
    *,
    title: str,
    body: str,
    controller: str,
    action: str,
    data_id: str = "",
    lang: str = "en",
    scripts: bool = True,
) -> str:
    id_attr = f' data-id="{_e(data_id)}"' if data_id else ""
    head = [
        '<meta charset="utf-8">',
        f"<title>{_e(title)}</title>",
        '<meta name="csrf-param" content="authenticity_token">',
        f'<meta name="csrf-token" content="{_e(ctx.csrf_token)}">',
        f'<meta name="session-check-interval" content="{ctx.check_interval:g}">',
        f'<link rel="stylesheet" href="{APPLICATION_CSS_PATH}">',
    ]
    if scripts:
        head.append(_scripts(ctx))
    return (
        f'<!DOCTYPE html>\n<html data-controller="{_e(controller)}" data-action="{_e(action)}"'
        f'{id_attr} lang="{_e(lang)}">\n<head>\n' + "\n".join(head) + "\n</head>\n"
        f'<body class="{_e(controller)} {_e(action)}">\n{_NAV}\n{body}\n</body>\n</html>\n'
    )


# --- attachments ----------------------------------------------------------------------------


def _header_attachments(files: tuple[SimFile, ...], base: str, block: int) -> str:
    if not files:
        items = '<li class="show none">None</li>'
    else:
        items = "".join(
            f'<li class="attachment" data-url="/attachments/{f.file_id}">'
            f'<span class="attachment-file" role="button" tabindex="0" '
            f'aria-label="{_e(f.name)} file attachment" title="{_e(f.name)}" '
            f'data-url="{_e(file_url(base, "type", f))}">{_e(f.name)}</span></li>'
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
        f'<a href="{_e(file_url(base, "file", f))}" target="_blank" title="{_e(f.name)}" '
        f'rel="noreferrer noopener">{_e(f.name)}</a></li>'
        for f in files
    )
    return (
        '<div class="form_element commentAttachments"><div role="status">'
        f'<ul class="attachments__list s-attachmentList">{items}</ul></div></div>'
    )


def _comment(comment: Comment, base: str, number: int) -> str:
    text = _e(comment.text)
    if comment.requisition_ref:
        ref = _e(comment.requisition_ref)
        text += f' <a href="/requisition_headers/{ref}">Requisition #{ref}</a>'
    files = _comment_attachments(comment.files, base) if comment.files else ""
    return (
        f'<div class="comment" id="comment_{number}">'
        f'<div class="comment_meta"><span class="comment_author">{_e(comment.author)}</span> '
        f'<span class="comment_date">{_e(comment.when)}</span></div>'
        f'<div class="comment_body">{text}</div>{files}</div>'
    )


def _comments(attachments: Attachments, base: str, first_id: int) -> str:
    count = len(attachments.comment_files)
    comments = "\n".join(
        _comment(c, base, first_id + i) for i, c in enumerate(attachments.comments)
    )
    return (
        '<section id="comments" class="comments_section"><h3 class="section_title">Comments</h3>'
        '<button type="button" class="s-viewFileAttachment buttonAsLink">'
        f"<span>View Attachments ({count})</span></button>\n{comments}</section>"
    )


# --- filler ---------------------------------------------------------------------------------

_FILLER_WORDS = ("panel", "column", "widget", "layout", "amount", "label", "value", "field",
                 "region", "tooltip", "segment", "cell", "matrix", "toggle", "section")  # fmt: skip


class Filler:
    """Hidden template blocks that pad a page to a real page's size, built once per seed."""

    def __init__(self, seed: int, blocks: int = 96) -> None:
        rng = random.Random(f"coupa-sim-filler:{seed}")
        self.blocks = [self._block(rng, k) for k in range(blocks)]

    @staticmethod
    def _block(rng: random.Random, k: int) -> str:
        rows = "".join(
            f'<div class="tpl-row"><span class="tpl-{rng.choice(_FILLER_WORDS)}">'
            f"{' '.join(rng.choices(_FILLER_WORDS, k=6))}</span></div>"
            for _ in range(24)
        )
        return f'<script type="text/x-template" id="tpl-{k}">{rows}</script>\n'

    def pad(self, page: str, target: int, start: int) -> str:
        """``page`` with blocks inserted before ``</body>`` until it reaches ``target``."""
        parts, size, k = [], len(page.encode()), start
        while size < target:
            block = self.blocks[k % len(self.blocks)]
            parts.append(block)
            size += len(block)
            k += 1
        filler = '<div id="react-templates" hidden>\n' + "".join(parts) + "</div>\n"
        return page.replace("\n</body>", "\n" + filler + "</body>", 1)


def _target_size(index: int) -> int:
    return 100_000 + (index * 7919) % 70_000


# --- records --------------------------------------------------------------------------------


def _field(label: str, value_html: str) -> str:
    return f'<div class="form_element"><label>{_e(label)}</label> {value_html}</div>'


def _lines_table(po: PurchaseOrder) -> str:
    rows = "".join(
        f"<tr><td>{n}</td><td>{_e(line.description)}</td><td>{line.quantity}</td>"
        f"<td>{line.unit_price:.2f} {_e(po.currency)}</td></tr>"
        for n, line in enumerate(po.lines, 1)
    )
    return (
        '<section id="lines"><h3 class="section_title">Lines</h3><table class="lines">'
        f"<tr><th>#</th><th>Item</th><th>Qty</th><th>Price</th></tr>{rows}</table></section>"
    )


def _po_total(po: PurchaseOrder) -> str:
    total = sum(line.quantity * line.unit_price for line in po.lines)
    return f"{total:,.2f} {po.currency}"


def render_po(po: PurchaseOrder, ctx: PageContext, filler: Filler) -> str:
    """The PO page (``/order_headers/{id}``) of a visible PO."""
    if po.requisition_id:
        ref = _e(po.requisition_id)
        requisition = (
            f'<a id="order_header_requisition_header" aria-label="Requisition number {ref}" '
            f'href="/requisition_headers/{ref}">{ref}</a>'
        )
    else:
        requisition = '<span class="none">None</span>'
    notice = f'<div class="notice">{_e(po.notice)}</div>' if po.notice else ""
    toolbar = (
        '<div class="page_buttons_right orderHeaderShowFloatingSection" '
        'id="order_header_show_buttons">'
        f'<a class="button" href="/order_headers/print_view?id={po.number}&amp;version=1">'
        "Print</a> "
        '<button type="button" class="button">Add Comment</button> '
        '<button type="button" class="button">Actions</button></div>'
    )
    body = (
        f'{notice}<div id="page"><h1 id="pageHeader"> Purchase Order #PO{po.number} '
        '<span class="status">Issued</span></h1>'
        f"{toolbar}"
        '<div class="order_header_fields">'
        + _field("PO Number", f"<span>PO{po.number}</span>")
        + _field("Order Date", f"<span>{_e(po.order_date)}</span>")
        + _field("Status", "<span>Issued</span>")
        + _field("Requisition", requisition)
        + _field("Buyer", f"<span>{_e(po.buyer)}</span>")
        + _field("Total", f"<span>{_e(_po_total(po))}</span>")
        + _header_attachments(po.attachments.header, ctx.base, 2 * po.index + 1)
        + "</div>"
        '<section id="supplier"><h3 class="section_title">Supplier</h3>'
        f'<span title="{_e(po.supplier_title)}" class="supplier-name s-coupaSimpleTooltip"> '
        f"{_e(po.supplier)}</span></section>"
        + _lines_table(po)
        + _comments(po.attachments, ctx.base, 1000 * po.index + 1)
        + "</div>"
    )
    page = _layout(
        ctx,
        title=f"Purchase Order #PO{po.number}",
        body=body,
        controller="order_headers",
        action="show",
        data_id=po.number,
    )
    return filler.pad(page, _target_size(po.index), po.index)


def render_requisition(req: Requisition, ctx: PageContext, filler: Filler) -> str:
    """The requisition page (``/requisition_headers/{id}``)."""
    body = (
        '<div id="page">'
        f'<h1 id="pageHeader"> Requisition #{_e(req.req_id)} </h1>'
        '<div class="page_buttons_right floatingSection" id="requisition_header_show_buttons">'
        '<button type="button" class="button">Actions</button></div>'
        '<div class="requisition_header_fields">'
        + _field("Title", f"<span>{_e(req.title)}</span>")
        + _field("Requested by", f"<span>{_e(req.requester)}</span>")
        + _field(
            "Order",
            f'<a href="/order_headers/{_e(req.po_number)}">PO{_e(req.po_number)}</a>',
        )
        + _header_attachments(req.attachments.header, ctx.base, 1)
        + "</div>"
        + _comments(req.attachments, ctx.base, 1)
        + "</div>"
    )
    page = _layout(
        ctx,
        title=f"Requisition #{req.req_id}",
        body=body,
        controller="requisition_headers",
        action="show",
        data_id=req.req_id,
    )
    return filler.pad(page, 60_000, int(req.req_id))


def render_po_list(dataset: Dataset, ctx: PageContext) -> str:
    rows = "".join(
        f'<tr><td><a href="/order_headers/{n}">PO{n}</a></td><td>{_e(po.supplier)}</td></tr>'
        for n, po in dataset.pos.items()
        if po.visible
    )
    body = (
        '<div id="page"><h1 id="pageHeader"> Purchase Orders </h1>'
        '<table class="data_table"><tr><th>PO Number</th><th>Supplier</th></tr>'
        f"{rows}</table></div>"
    )
    return _layout(ctx, title="Purchase Orders", body=body, controller="order_headers",
                   action="index")  # fmt: skip


def render_requisition_list(dataset: Dataset, ctx: PageContext) -> str:
    rows = "".join(
        f'<tr><td><a href="/requisition_headers/{r}">{r}</a></td><td>{_e(req.title)}</td></tr>'
        for r, req in dataset.requisitions.items()
    )
    body = (
        '<div id="page"><h1 id="pageHeader"> Requisitions </h1>'
        f'<table class="data_table"><tr><th>Id</th><th>Title</th></tr>{rows}</table></div>'
    )
    return _layout(ctx, title="Requisitions", body=body, controller="requisition_headers",
                   action="index")  # fmt: skip


def render_print_view(po: PurchaseOrder, ctx: PageContext) -> str:
    names = "".join(
        f"<li>{_e(f.name)}</li>" for f in (*po.attachments.header, *po.attachments.comment_files)
    )
    body = (
        f'<div id="page" class="print"><h1>Purchase Order #PO{po.number}</h1>'
        f"<p>Supplier: {_e(po.supplier)}</p><p>Total: {_e(_po_total(po))}</p>"
        f"{_lines_table(po)}<h3>Attachments</h3><ul>{names or '<li>None</li>'}</ul></div>"
    )
    return _layout(ctx, title=f"Purchase Order #PO{po.number}", body=body,
                   controller="order_headers", action="print_view", data_id=po.number,
                   scripts=False)  # fmt: skip


# --- sign-in and errors ---------------------------------------------------------------------


def render_sign_in(ctx: PageContext, return_to: str, *, error: str = "", email: str = "") -> str:
    flash = f'<div class="flash_error" role="alert">{_e(error)}</div>' if error else ""
    body = (
        f'<div id="page" class="sign_in">{flash}<h1>Sign in to Coupa</h1>'
        '<form id="new_session" class="new_user" action="/sessions" accept-charset="UTF-8" '
        'method="post">'
        f'<input type="hidden" name="authenticity_token" value="{_e(ctx.csrf_token)}">'
        f'<input type="hidden" name="return_to" value="{_e(return_to)}">'
        '<label for="user_email">Email</label>'
        f'<input type="email" id="user_email" name="user[email]" autocomplete="username" '
        f'value="{_e(email)}">'
        '<label for="user_password">Password</label>'
        '<input type="password" id="user_password" name="user[password]" '
        'autocomplete="current-password">'
        '<button type="submit" id="sign_in_button" name="commit" class="button">Sign In</button>'
        "</form></div>"
    )
    return _layout(ctx, title="Coupa Sign In", body=body, controller="sessions", action="new",
                   scripts=False)  # fmt: skip


_NOT_FOUND_TEXT = {
    "en": ("Oops! We couldn't find what you wanted",
           "The page you were looking for doesn't exist. You may have mistyped the address "
           "or the page may have moved."),
    "pt": ("Desculpe, não encontramos o que você procurava",
           "A página que você procurava não existe. Verifique o endereço."),
}  # fmt: skip


def render_not_found(ctx: PageContext, lang: str = "en") -> str:
    heading, text = _NOT_FOUND_TEXT.get(lang, _NOT_FOUND_TEXT["en"])
    body = (
        f'<div id="page"><div id="error_explanation"><h1>{_e(heading)}</h1>'
        f"<p>{_e(text)}</p></div></div>"
    )
    return _layout(ctx, title="Coupa", body=body, controller="errors", action="not_found",
                   lang="pt-BR" if lang == "pt" else "en")  # fmt: skip


def render_denied(ctx: PageContext) -> str:
    body = (
        '<div class="flash_error" role="alert">You are not authorized to view this page. '
        "Access denied.</div>"
        '<div id="page"><h1 id="pageHeader"> Home </h1><p>Welcome back.</p></div>'
    )
    return _layout(ctx, title="Coupa", body=body, controller="user_home", action="index")


SERVER_ERROR_HTML = (
    "<!DOCTYPE html>\n<html><head><title>We're sorry, but something went wrong (500)</title>"
    '</head><body><div class="dialog"><h1>We\'re sorry, but something went wrong.</h1>'
    "</div></body></html>\n"
)


def render_too_many_requests(retry_after: int) -> str:
    """The 429 page. A browser cannot read the Retry-After header, so the page says the
    wait too (what real Coupa's 429 body says is not known: coupa-facts.md)."""
    return (
        "<!DOCTYPE html>\n<html><head><title>Too Many Requests (429)</title></head><body>"
        "<h1>Too Many Requests</h1><p>Retry later.</p>"
        f"<p>Please wait {retry_after} seconds before trying again.</p></body></html>\n"
    )
