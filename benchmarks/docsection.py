"""Each benchmark script owns one section of docs/benchmarks.md, between its markers,
so running one script never wipes the figures of another."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def markers(name: str, script: str) -> tuple[str, str]:
    return f"<!-- begin: {name} ({script}) -->", f"<!-- end: {name} -->"


def write_section(begin: str, end: str, section: str) -> None:
    """Replace the text between ``begin`` and ``end`` (markers included in ``section``),
    or append ``section`` when the document has no such markers yet."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    DOC.write_text(text, encoding="utf-8")
