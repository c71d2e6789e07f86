"""The pages of Coupa documents: the PO page, its print view, the requisition page, lists.

Shaped like the real pages in coupa-facts.md; PO and requisition pages are padded to
a real page's size by a :class:`~coupadl.simulator.pages.filler.Filler`.
"""

from __future__ import annotations

from coupadl.simulator.data.model import Dataset, PurchaseOrder, Requisition
from coupadl.simulator.pages.attachments import comments_section, header_attachments
from coupadl.simulator.pages.filler import Filler, target_size
from coupadl.simulator.pages.layout import PageContext, esc, layout
from coupadl.simulator.pages.scripted import extra_script, fill_script


def _field(label: str, value_html: str) -> str:
    return f'<div class="form_element"><label>{esc(label)}</label> {value_html}</div>'


def _lines_table(po: PurchaseOrder) -> str:
    rows = "".join(
        f"<tr><td>{n}</td><td>{esc(line.description)}</td><td>{line.quantity}</td>"
        f"<td>{line.unit_price:.2f} {esc(po.currency)}</td></tr>"
        for n, line in enumerate(po.lines, 1)
    )
    return (
        '<section id="lines"><h3 class="section_title">Lines</h3><table class="lines">'
        f"<tr><th>#</th><th>Item</th><th>Qty</th><th>Price</th></tr>{rows}</table></section>"
    )


def _po_total(po: PurchaseOrder) -> str:
    total = sum(line.quantity * line.unit_price for line in po.lines)
    return f"{total:,.2f} {po.currency}"


def render_po(
    po: PurchaseOrder,
    ctx: PageContext,
    filler: Filler,
    *,
    scripted: bool = False,
    extra: bool = False,
) -> str:
    """The PO page (``/order_headers/{id}``) of a visible PO; ``scripted``: its
    attachments only through an inline script, ``extra``: its last header file only
    through one (``pages/scripted.py``)."""
    block, first_comment = 2 * po.index + 1, 1000 * po.index + 1
    fill = fill_script(po.attachments, ctx.base, block, first_comment) if scripted else ""
    header = po.attachments.header
    if extra and header and not scripted:
        header, fill = header[:-1], extra_script(header[-1], ctx.base, block)
    if po.requisition_id:
        ref = esc(po.requisition_id)
        requisition = (
            f'<a id="order_header_requisition_header" aria-label="Requisition number {ref}" '
            f'href="/requisition_headers/{ref}">{ref}</a>'
        )
    else:
        requisition = '<span class="none">None</span>'
    notice = f'<div class="notice">{esc(po.notice)}</div>' if po.notice else ""
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
        + _field("Order Date", f"<span>{esc(po.order_date)}</span>")
        + _field("Status", "<span>Issued</span>")
        + _field("Requisition", requisition)
        + _field("Buyer", f"<span>{esc(po.buyer)}</span>")
        + _field("Total", f"<span>{esc(_po_total(po))}</span>")
        + header_attachments(header, ctx.base, block, scripted=scripted)
        + "</div>"
        '<section id="supplier"><h3 class="section_title">Supplier</h3>'
        f'<span title="{esc(po.supplier_title)}" class="supplier-name s-coupaSimpleTooltip"> '
        f"{esc(po.supplier)}</span></section>"
        + _lines_table(po)
        + comments_section(po.attachments, ctx.base, first_comment, scripted=scripted)
        + "</div>"
        + fill
    )
    page = layout(
        ctx,
        title=f"Purchase Order #PO{po.number}",
        body=body,
        controller="order_headers",
        action="show",
        data_id=po.number,
    )
    return filler.pad(page, target_size(po.index), po.index)


def render_requisition(req: Requisition, ctx: PageContext, filler: Filler) -> str:
    """The requisition page (``/requisition_headers/{id}``)."""
    body = (
        '<div id="page">'
        f'<h1 id="pageHeader"> Requisition #{esc(req.req_id)} </h1>'
        '<div class="page_buttons_right floatingSection" id="requisition_header_show_buttons">'
        '<button type="button" class="button">Actions</button></div>'
        '<div class="requisition_header_fields">'
        + _field("Title", f"<span>{esc(req.title)}</span>")
        + _field("Requested by", f"<span>{esc(req.requester)}</span>")
        + _field(
            "Order",
            f'<a href="/order_headers/{esc(req.po_number)}">PO{esc(req.po_number)}</a>',
        )
        + header_attachments(req.attachments.header, ctx.base, 1)
        + "</div>"
        + comments_section(req.attachments, ctx.base, 1)
        + "</div>"
    )
    page = layout(
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
        f'<tr><td><a href="/order_headers/{n}">PO{n}</a></td><td>{esc(po.supplier)}</td></tr>'
        for n, po in dataset.pos.items()
        if po.visible
    )
    body = (
        '<div id="page"><h1 id="pageHeader"> Purchase Orders </h1>'
        '<table class="data_table"><tr><th>PO Number</th><th>Supplier</th></tr>'
        f"{rows}</table></div>"
    )
    return layout(ctx, title="Purchase Orders", body=body, controller="order_headers",
                  action="index")  # fmt: skip


def render_requisition_list(dataset: Dataset, ctx: PageContext) -> str:
    rows = "".join(
        f'<tr><td><a href="/requisition_headers/{r}">{r}</a></td><td>{esc(req.title)}</td></tr>'
        for r, req in dataset.requisitions.items()
    )
    body = (
        '<div id="page"><h1 id="pageHeader"> Requisitions </h1>'
        f'<table class="data_table"><tr><th>Id</th><th>Title</th></tr>{rows}</table></div>'
    )
    return layout(ctx, title="Requisitions", body=body, controller="requisition_headers",
                  action="index")  # fmt: skip


def render_print_view(po: PurchaseOrder, ctx: PageContext) -> str:
    names = "".join(
        f"<li>{esc(f.name)}</li>" for f in (*po.attachments.header, *po.attachments.comment_files)
    )
    body = (
        f'<div id="page" class="print"><h1>Purchase Order #PO{po.number}</h1>'
        f"<p>Supplier: {esc(po.supplier)}</p><p>Total: {esc(_po_total(po))}</p>"
        f"{_lines_table(po)}<h3>Attachments</h3><ul>{names or '<li>None</li>'}</ul></div>"
    )
    return layout(ctx, title=f"Purchase Order #PO{po.number}", body=body,
                  controller="order_headers", action="print_view", data_id=po.number,
                  scripts=False)  # fmt: skip
