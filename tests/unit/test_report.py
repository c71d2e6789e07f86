"""report.json content and atomic writing."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from coupadl.files.atomic import atomic_write_text
from coupadl.models import AttachmentSource, FileResult, POResult, Status
from coupadl.reports.json_report import write_report

START = 1_750_000_000.0


def results() -> list[POResult]:
    return [
        POResult(
            po_number="1",
            status=Status.COMPLETED,
            supplier="Acme AB",
            requisition_id="77",
            url="https://acme.coupahost.com/order_headers/1",
            attachments_found=2,
            files=[
                FileResult("Quote.pdf", 1000, "a" * 64, AttachmentSource.HEADER),
                FileResult("Spec.pdf", 500, "b" * 64, AttachmentSource.REQUISITION_COMMENT),
            ],
            folder=Path("out") / "Acme AB" / "PO1_COMPLETED",
            started_at=START,
            finished_at=START + 4,
            attempts=1,
            engine="http",
            engine_check="agreed",
        ),
        POResult(
            po_number="2",
            status=Status.FAILED,
            error_code="E_DOWNLOAD_FAILED",
            message="No attachment could be downloaded.",
            started_at=START + 1,
            finished_at=START + 3,
            attempts=3,
        ),
    ]


def test_report_content(tmp_path: Path) -> None:
    path = write_report(
        tmp_path, results(), started_at=START, finished_at=START + 30, mode="pool", workers=4,
        extra={"retries": 2, "input": Path("in.xlsx")},
    )  # fmt: skip
    assert path == tmp_path / "report.json"
    report = json.loads(path.read_text(encoding="utf-8"))

    assert (report["mode"], report["workers"], report["elapsed_seconds"]) == ("pool", 4, 30)
    assert datetime.fromisoformat(report["started_at"]).timestamp() == START
    assert datetime.fromisoformat(report["finished_at"]).timestamp() == START + 30
    assert datetime.fromisoformat(report["generated_at"]).tzinfo is not None
    totals = report["totals"]
    assert (totals["pos"], totals["files"], totals["bytes"]) == (2, 2, 1500)
    assert totals["by_status"]["COMPLETED"] == 1
    assert totals["by_status"]["FAILED"] == 1
    assert totals["by_status"]["TIMEOUT"] == 0
    assert set(totals["by_status"]) == {s.value for s in Status}
    assert report["timings"] == {"average_seconds_per_po": 3.0, "pos_per_minute": 4.0}
    assert (report["retries"], report["input"]) == (2, "in.xlsx")

    first, second = report["pos"]
    assert first == {
        "po_number": "1",
        "status": "COMPLETED",
        "error_code": "",
        "message": "",
        "supplier": "Acme AB",
        "requisition_id": "77",
        "url": "https://acme.coupahost.com/order_headers/1",
        "folder": str(Path("out/Acme AB/PO1_COMPLETED")),
        "attempts": 1,
        "engine": "http",
        "engine_check": "agreed",
        "duration_seconds": 4.0,
        "files": [
            {"name": "Quote.pdf", "size": 1000, "sha256": "a" * 64, "source": "header"},
            {"name": "Spec.pdf", "size": 500, "sha256": "b" * 64,
             "source": "requisition_comment"},
        ],
    }  # fmt: skip
    assert (second["folder"], second["error_code"], second["attempts"]) == (
        None,
        "E_DOWNLOAD_FAILED",
        3,
    )


def test_empty_run(tmp_path: Path) -> None:
    path = write_report(tmp_path, [], started_at=START, finished_at=START, mode="seq", workers=1)
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["totals"]["pos"] == 0
    assert report["timings"] == {"average_seconds_per_po": None, "pos_per_minute": None}
    assert report["pos"] == []


def test_extra_cannot_override_builtin_keys(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="totals"):
        write_report(
            tmp_path, [], started_at=START, finished_at=START, mode="seq", workers=1,
            extra={"totals": {}},
        )  # fmt: skip
    assert not (tmp_path / "report.json").exists()


def test_rewrite_is_atomic_and_tidy(tmp_path: Path) -> None:
    out = tmp_path / "new" / "out"  # created when missing
    for _ in range(2):
        write_report(out, results(), started_at=START, finished_at=START + 1, mode="p", workers=2)
    assert os.listdir(out) == ["report.json"]


def test_atomic_write_text_encoding(tmp_path: Path) -> None:
    target = tmp_path / "t.txt"
    atomic_write_text(target, "Café", encoding="cp1252")
    assert target.read_bytes() == b"Caf\xe9"
