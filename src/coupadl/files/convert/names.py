"""Names of the files made from an Outlook ``.msg``: the rule the converter writes by
(the simulator states it again on its own, in ``coupadl.simulator.derived_names``).

For a message ``<stem>.msg`` in a PO folder:

- its PDF is ``<stem>.pdf``;
- each attachment embedded in it is saved as ``<prefix> - <attachment name>`` (made
  safe, and ``(n)``-numbered when taken), where ``<prefix>`` is ``<stem>`` cut to
  :data:`PREFIX_LENGTH` characters, so the attachment's own name survives the length
  limit. An embedded e-mail is saved as such a ``.msg`` and converted in turn, so its
  files carry the same prefix.

A file matching the rule for a ``.msg`` downloaded from Coupa is *derived*: it is not
an attachment of the PO and is not counted in the results.
"""

from __future__ import annotations

from coupadl.files.names import name_key, sanitize_name

MSG_SUFFIX = ".msg"
PDF_SUFFIX = ".pdf"
PREFIX_LENGTH = 60  # characters
PREFIX_BYTES = 120  # UTF-8 bytes, so the 255-byte name limit never cuts into the prefix
SEPARATOR = " - "


def is_msg_name(name: str) -> bool:
    return name.lower().endswith(MSG_SUFFIX) and len(name) > len(MSG_SUFFIX)


def _stem(msg_name: str) -> str:
    return msg_name[: -len(MSG_SUFFIX)] if is_msg_name(msg_name) else msg_name


def pdf_name_for(msg_name: str) -> str:
    """``Quote.msg`` → ``Quote.pdf`` (same length, so still a safe name)."""
    return sanitize_name(_stem(msg_name) + PDF_SUFFIX)


def embedded_prefix(msg_name: str) -> str:
    """What every file saved out of ``msg_name`` starts with, separator included."""
    stem = sanitize_name(_stem(msg_name))[:PREFIX_LENGTH]
    while len(stem.encode("utf-8")) > PREFIX_BYTES:
        stem = stem[:-1]
    return (stem.rstrip(" .") or "_") + SEPARATOR


def embedded_name(msg_name: str, attachment_name: str) -> str:
    """The safe name (before de-duplication) of an attachment saved out of ``msg_name``."""
    inner = sanitize_name(attachment_name, fallback="attachment")
    return sanitize_name(embedded_prefix(msg_name) + inner)


def is_derived_name(name: str, msg_name: str) -> bool:
    """True when ``name`` is the PDF of ``msg_name`` or a file saved out of it."""
    key = name_key(name)
    return key == name_key(pdf_name_for(msg_name)) or key.startswith(
        name_key(embedded_prefix(msg_name))
    )
