"""Which PO pages list their attachments only through a script (``script_attachments_share``).

Such a page has no attachment links in its HTML; an inline script puts them in when
a browser runs it (``pages/scripted.py``), as pages rendered by React do. A client
that reads the HTML without running scripts sees a PO without files. The choice is a
hash of the data set's seed and the PO number, so the same share picks the same POs
on every run, and a larger share picks a superset of a smaller one's.
"""

from __future__ import annotations

import hashlib

from coupadl.simulator.data.model import PurchaseOrder

_SCALE = float(2**64)


def _draw(seed: int, number: str) -> float:
    """A fixed number in [0, 1) for this PO of this data set."""
    digest = hashlib.sha256(f"coupa-sim-script-attachments:{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def script_only(seed: int, po: PurchaseOrder, share: float) -> bool:
    """Does ``po``'s page list its attachments only through a script? Only a page
    that shows the PO with files of its own can."""
    own = po.attachments.header or po.attachments.comment_files
    return bool(own) and po.visible and _draw(seed, po.number) < share
