"""Real Outlook ``.msg`` attachments: a supplier's e-mail with one file attached.

Every ``.msg`` the simulator serves is a genuine MS-OXMSG message in a compound file,
written by ``aspose-email-foss`` (a maintained pure-Python MSG writer), so a run
converts it as it would a file saved from Outlook. What is in it is plain data,
:class:`MessageSpec`, derived from the file's seed alone; the manifest publishes it so
a check can read the text back from the PDF a run makes and find the attached file.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.message import EmailMessage

from aspose.email_foss.msg import MapiMessage

from coupadl.simulator.data import SimFile

# Beyond Latin-1 but inside the DejaVu Sans the PDF embeds (no CJK there).
_GREETINGS = (
    "Grüße aus Zürich — the pallets leave on Friday.",
    "Καλημέρα: the revised quote is attached.",
    "Добрый день! Delivery is confirmed for week 12.",
    "Señora Núñez, the price stays at 1 250,00 €.",
)
_LINES = (
    "Please find the updated price list attached.",
    "The quantities follow the purchase order, line by line.",
    "Kindly confirm the delivery address before dispatch.",
    "Our terms are net 30 days from the invoice date.",
)


@dataclass(frozen=True)
class MessageSpec:
    """What one simulated e-mail says, and the one file attached to it."""

    subject: str
    sender: str
    to: str
    cc: str
    date: str  # RFC 5322
    body: str
    attachment_name: str  # a plain name: saved out of the message as it is

    def as_manifest(self) -> dict[str, str]:
        return {
            "subject": self.subject,
            "sender": self.sender,
            "to": self.to,
            "date": self.date,
            "body": self.body,
            "attachment_name": self.attachment_name,
        }


def message_spec(sim: SimFile) -> MessageSpec:
    """The e-mail inside ``sim`` (a ``.msg`` file): the same for the same file, always."""
    rng = random.Random(f"message:{sim.content_seed}")
    stem = sim.name[: -len(".msg")] if sim.name.lower().endswith(".msg") else sim.name
    body = "\n".join([rng.choice(_GREETINGS), *rng.sample(_LINES, 2), "", "Kind regards,", "Ana"])
    return MessageSpec(
        subject=f"{stem.replace('_', ':', 1)} ({rng.randint(100, 999)})",
        sender='"Supplier Sales" <sales@supplier.example>',
        to="buyer@example.com",
        cc="accounts.payable@example.com",
        date=f"Tue, 14 Jan 2025 10:{rng.randint(10, 59)}:00 +0000",
        body=body + "\n",
        attachment_name=f"Price list {rng.randint(1000, 9999)}.csv",
    )


def message_bytes(spec: MessageSpec, attachment: bytes) -> bytes:
    """The ``.msg`` file of ``spec`` with ``attachment`` as its one attached file."""
    email = EmailMessage()
    email["Subject"] = spec.subject
    email["From"] = spec.sender
    email["To"] = spec.to
    email["Cc"] = spec.cc
    email["Date"] = spec.date
    email.set_content(spec.body)
    email.add_attachment(attachment, maintype="text", subtype="csv", filename=spec.attachment_name)
    return bytes(MapiMessage.from_email_message(email).to_bytes())
