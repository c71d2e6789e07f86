"""Small helpers shared by test modules (importable: tests/ is on pythonpath)."""

from __future__ import annotations

from pathlib import Path


def write_input(path: Path, po_numbers: list[str], header: str = "PO_NUMBER") -> Path:
    path.write_text(
        header + "\n" + "\n".join(f"PO{n}" for n in po_numbers) + "\n", encoding="utf-8"
    )
    return path
