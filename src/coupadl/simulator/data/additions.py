"""Files added to a PO after the data set was built: what a supplier or buyer does
between two monthly runs, and what ``coupadl run --refresh`` must then find.

The new file arrives in a comment of its own at the end of the PO's page (where most
files live in practice), with the next free file id. Its name must be plain and not
yet taken in the PO, so that its saved name is the name itself and the manifest stays
the truth without a reviewed table.
"""

from __future__ import annotations

import dataclasses
import hashlib

from coupadl.simulator.data.manifest import expected_attachments
from coupadl.simulator.data.model import FILE_TYPES, Comment, Dataset, SimFile
from coupadl.simulator.data.saved_names import name_key, plain_saved_name

ADDED_BY = "Sam Supplier"
ADDED_TEXT = "Attached the delivery note, as requested."


def add_attachment(dataset: Dataset, po_number: str, name: str, size: int = 4096) -> SimFile:
    """Attach a new file named ``name`` to the PO; the data set changes in place and
    the new :class:`SimFile` is returned. Raises ValueError for a PO the user cannot
    see, a name that is not plain, is taken in the PO or has no known type, or a size
    out of range."""
    po = dataset.po(po_number)
    if po is None or not po.visible:
        raise ValueError(f"PO {po_number!r} is not a PO the user can see")
    if not 1 <= size <= 50 * 1024 * 1024:
        raise ValueError("size must be 1 byte to 50 MB")
    ftype = name.rsplit(".", 1)[-1].lower()
    if ftype not in FILE_TYPES:
        raise ValueError(f"name the file with one of the extensions {', '.join(FILE_TYPES)}")
    saved = plain_saved_name(name)  # raises for a hostile name
    taken = {name_key(sim.saved_name) for _, sim in expected_attachments(dataset, po)}
    if name_key(saved) in taken:
        raise ValueError(f"PO {po_number} already has a file named {saved!r}")
    file_id = max(dataset.files, default=0) + 1
    digest = hashlib.sha256(f"{dataset.seed}:{file_id}:added".encode()).digest()
    sim = SimFile(
        file_id=file_id,
        name=name,
        ftype=ftype,
        size_hint=size,
        content_seed=int.from_bytes(digest[:8], "big"),
        saved_name=saved,
    )
    comment = Comment(ADDED_BY, "12/01/25 9:30 AM", ADDED_TEXT, (sim,))
    comments = (*po.attachments.comments, comment)
    attachments = dataclasses.replace(po.attachments, comments=comments)
    dataset.files[file_id] = sim
    dataset.pos[po_number] = dataclasses.replace(po, attachments=attachments)
    return sim
