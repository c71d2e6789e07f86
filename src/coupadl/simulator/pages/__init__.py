"""HTML of the simulated tenant, shaped like the real Coupa pages in coupa-facts.md.

The public names of the package, from its modules: :mod:`.documents` (PO, print view,
requisition, lists), :mod:`.sign_in`, :mod:`.errors`, the shared frame (:mod:`.layout`,
:mod:`.attachments`, :mod:`.filler`) and the static :mod:`.assets`.
"""

from coupadl.simulator.pages.assets import (
    ANALYTICS_JS,
    APPLICATION_CSS,
    APPLICATION_CSS_PATH,
    APPLICATION_JS,
    APPLICATION_JS_PATH,
    STUB_JS,
)
from coupadl.simulator.pages.attachments import file_url
from coupadl.simulator.pages.documents import (
    render_po,
    render_po_list,
    render_print_view,
    render_requisition,
    render_requisition_list,
)
from coupadl.simulator.pages.errors import (
    SERVER_ERROR_HTML,
    render_denied,
    render_not_found,
    render_too_many_requests,
)
from coupadl.simulator.pages.filler import Filler
from coupadl.simulator.pages.layout import PageContext
from coupadl.simulator.pages.sign_in import render_sign_in

__all__ = [
    "ANALYTICS_JS",
    "APPLICATION_CSS",
    "APPLICATION_CSS_PATH",
    "APPLICATION_JS",
    "APPLICATION_JS_PATH",
    "SERVER_ERROR_HTML",
    "STUB_JS",
    "Filler",
    "PageContext",
    "file_url",
    "render_denied",
    "render_not_found",
    "render_po",
    "render_po_list",
    "render_print_view",
    "render_requisition",
    "render_requisition_list",
    "render_sign_in",
    "render_too_many_requests",
]
