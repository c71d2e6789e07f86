"""The simulated tenant's data: POs, requisitions, files, and the expected outcome.

The public names of the package, from its modules: :mod:`.model` (the records),
:mod:`.generate` (``build_dataset``, a pure function of ``(n_pos, seed)``) and
:mod:`.manifest` (what a run should produce).
"""

from coupadl.simulator.data.builder import FIRST_FILE_ID, LARGE_SIZE, SMALL_SIZE
from coupadl.simulator.data.generate import (
    FIRST_PO_NUMBER,
    FIRST_REQUISITION_ID,
    KIND_ROTATION,
    LARGE_FILE_EVERY,
    LARGE_FILE_OFFSET,
    SUPPLIER_COUNT,
    build_dataset,
)
from coupadl.simulator.data.manifest import (
    DEFAULT_FALLBACK,
    FALLBACKS,
    build_manifest,
    expected_attachments,
    expected_status,
    fallback_applies,
)
from coupadl.simulator.data.model import (
    ERROR_KINDS,
    FILE_TYPES,
    Attachments,
    Comment,
    Dataset,
    Kind,
    OrderLine,
    PurchaseOrder,
    Requisition,
    SimFile,
)

__all__ = [
    "DEFAULT_FALLBACK",
    "ERROR_KINDS",
    "FALLBACKS",
    "FILE_TYPES",
    "FIRST_FILE_ID",
    "FIRST_PO_NUMBER",
    "FIRST_REQUISITION_ID",
    "KIND_ROTATION",
    "LARGE_FILE_EVERY",
    "LARGE_FILE_OFFSET",
    "LARGE_SIZE",
    "SMALL_SIZE",
    "SUPPLIER_COUNT",
    "Attachments",
    "Comment",
    "Dataset",
    "Kind",
    "OrderLine",
    "PurchaseOrder",
    "Requisition",
    "SimFile",
    "build_dataset",
    "build_manifest",
    "expected_attachments",
    "expected_status",
    "fallback_applies",
]
