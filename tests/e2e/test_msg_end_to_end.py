"""Outlook messages end to end: real Chromium downloads the simulator's real ``.msg``
files, and the run leaves a PDF of each message and the file attached to it.

The oracle is what the simulator says is in each message (its manifest's ``message``),
read back here from the run's PDF with pypdf and from the saved file's bytes.
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from coupadl.runs.batch import run_batch
from coupadl.simulator.check import compare_with_manifest
from helpers import write_input

pytestmark = pytest.mark.browser


def _messages(manifest: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(PO, file entry) of every expected ``.msg`` whose PDF name is not a download."""
    found = []
    for number, truth in manifest["pos"].items():
        names = {f["name"].casefold() for f in truth["files"]}
        for f in truth["files"]:
            pdf = f["name"][: -len(".msg")] + ".pdf"
            if f.get("message") and pdf.casefold() not in names:
                found.append((number, f))
    return found


def _words(text: str) -> str:
    return " ".join(text.split())


def test_every_message_becomes_a_pdf_with_its_text_and_its_attachment(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    messages = _messages(manifest)
    assert len(messages) >= 2, "the 20-PO data set should hold a few .msg files"
    pos = sorted({number for number, _ in messages})
    settings = make_settings()

    outcome = run_batch(write_input(tmp_path / "in.csv", pos), settings)

    for number, entry in messages:
        folder = settings.out / manifest["pos"][number]["folder"]
        stem = entry["name"][: -len(".msg")]
        message = entry["message"]
        pdf = PdfReader(folder / f"{stem}.pdf")
        text = _words(" ".join(page.extract_text() for page in pdf.pages))
        assert _words(message["subject"]) in text
        assert _words(message["body"]) in text
        assert any(ord(ch) > 255 for ch in message["body"])  # the text is beyond Latin-1
        assert message["attachment_name"] in text  # the PDF lists the attachment
        attached = (folder / f"{stem} - {message['attachment_name']}").read_bytes()
        assert hashlib.sha256(attached).hexdigest() == message["attachment_sha256"]
    assert compare_with_manifest(settings.out, manifest, pos) == []
    with outcome.results_path.open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["PO_NUMBER"][2:]: row for row in csv.DictReader(handle)}
    for number in pos:
        # The files made from a message are not attachments of the PO: neither counted
        # nor listed.
        names = [f["name"] for f in manifest["pos"][number]["files"]]
        assert int(rows[number]["ATTACHMENTS_DOWNLOADED"]) == len(names)
        assert rows[number]["AttachmentName"] == "; ".join(names)


def test_without_conversion_the_messages_stay_as_they_are(
    sim: Any, make_settings: Any, tmp_path: Path
) -> None:
    manifest = sim.manifest()
    number, entry = _messages(manifest)[0]
    settings = make_settings(msg_to_pdf=False)

    run_batch(write_input(tmp_path / "in.csv", [number]), settings)

    folder = settings.out / manifest["pos"][number]["folder"]
    assert (folder / entry["name"]).is_file()
    assert not (folder / (entry["name"][: -len(".msg")] + ".pdf")).exists()
    assert compare_with_manifest(settings.out, manifest, [number], convert=False) == []
