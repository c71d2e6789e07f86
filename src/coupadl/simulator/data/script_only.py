"""Which PO pages list their attachments only through a script (``script_attachments_share``),
and which add their last header file by script (``script_extra_share``).

A script-only page has no attachment links in its HTML; an inline script puts them in
when a browser runs it (``pages/scripted.py``), as pages rendered by React do. A client
that reads the HTML without running scripts sees a PO without files. A script-extra
page lists all its header files but the last in its HTML (none: Coupa's "None" item)
and a script adds the last one: the HTML looks complete, and is not. Each choice is a
hash of the data set's seed, the PO number and the knob, so the same share picks the
same POs on every run, and a larger share picks a superset of a smaller one's.
"""

from __future__ import annotations

import hashlib

from coupadl.simulator.data.model import PurchaseOrder

_SCALE = float(2**64)


def _draw(seed: int, number: str, salt: str = "coupa-sim-script-attachments") -> float:
    """A fixed number in [0, 1) for this PO of this data set (and this knob)."""
    digest = hashlib.sha256(f"{salt}:{seed}:{number}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def script_only(seed: int, po: PurchaseOrder, share: float) -> bool:
    """Does ``po``'s page list its attachments only through a script? Only a page
    that shows the PO with files of its own can."""
    own = po.attachments.header or po.attachments.comment_files
    return bool(own) and po.visible and _draw(seed, po.number) < share


def script_extra(seed: int, po: PurchaseOrder, share: float, script_share: float = 0.0) -> bool:
    """Does ``po``'s page add its last header file by script (``share``)? Only a page
    that shows header files of its own, and not a script-only one (``script_share``)."""
    if not po.attachments.header or script_only(seed, po, script_share):
        return False
    return po.visible and _draw(seed, po.number, "coupa-sim-script-extra") < share
