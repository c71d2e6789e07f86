"""What a --refresh run already has of a finished PO, so that only new files are fetched.

A refresh reads the PO's pages again. Each listed attachment is matched against the
files earlier runs saved (:class:`KnownFiles`): by its URL, then by the attachment's id
in its URL (a file keeps its id while it is attached), and only where an id is missing
on either side by its saved name and, where the listing says, its size. Unmatched
attachments are new: they are named against every name the PO's folder already holds
and fetched into a work folder; :func:`coupadl.files.folders.join_folder` moves them in.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from coupadl.coupa.urls import attachment_id
from coupadl.files.names import name_key, sanitize_name
from coupadl.models import Attachment, Earlier, FileResult

log = logging.getLogger(__name__)


class KnownFiles:
    """The files a PO has from earlier runs; each one matches one listed attachment."""

    def __init__(self, files: Iterable[FileResult]) -> None:
        self._unmatched = list(files)
        self.matched = 0

    def match(self, attachment: Attachment) -> FileResult | None:
        """The earlier file ``attachment`` is, or None when it is new (and to fetch)."""
        found = self._find(attachment)
        if found is not None:
            self._unmatched.remove(found)
            self.matched += 1
        return found

    def _find(self, attachment: Attachment) -> FileResult | None:
        for known in self._unmatched:
            if known.url and known.url == attachment.url:
                return known
        wanted = attachment_id(attachment.url)
        if wanted is not None:
            for known in self._unmatched:
                if attachment_id(known.url) == wanted:
                    return known
        # By name only where an id cannot tell: two files with one name and two ids
        # are two files (a new invoice uploaded under last month's name).
        key = name_key(sanitize_name(attachment.name))
        for known in self._unmatched:
            if wanted is not None and attachment_id(known.url) is not None:
                continue
            same_size = attachment.size is None or attachment.size == known.size
            if name_key(known.name) == key and same_size:
                return known
        return None


def taken_names(earlier: Earlier) -> set[str]:
    """Name keys a new file must not take: the earlier files' and whatever else the
    PO's folder holds (a PDF made from a ``.msg``, a file the user put there)."""
    taken = {name_key(f.name) for f in earlier.files}
    folder = earlier.folder
    if folder is not None:
        try:
            taken.update(name_key(p.name) for p in Path(folder).iterdir())
        except OSError as exc:  # gone or unreadable: the recorded names still count
            log.warning("cannot list the earlier folder %s: %s", folder, exc)
    return taken
