"""coupadl: download the attachments of Coupa purchase orders in bulk."""

from coupadl.models import Attachment, AttachmentSource, FileResult, POResult, POTask, Status

__version__ = "0.1.0"

__all__ = [
    "Attachment",
    "AttachmentSource",
    "FileResult",
    "POResult",
    "POTask",
    "Status",
    "__version__",
]
