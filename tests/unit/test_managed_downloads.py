"""The Grid's managed downloads as the fetcher sees them (engine/browser/managed.py),
over a scripted remote session: what the remote browser reports of each download over
CDP, and the node's folder. The real Grid is in tests/e2e/test_grid.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from coupadl.engine.browser.hostguard import DownloadSeen
from coupadl.engine.browser.managed import ManagedFetcher, node_file_name
from coupadl.engine.browser.remote import RemoteSession
from coupadl.errors import DownloadError, DownloadTimeout
from coupadl.models import Attachment, AttachmentSource
from coupadl.settings import Settings

ATTACHMENT = Attachment(
    url="https://acme.coupahost.com/attachment/attachment_file/file/7/Invoice.pdf",
    name="Invoice.pdf",
    source=AttachmentSource.COMMENT,
)


@dataclass
class ScriptedSession:
    """Each call of ``download_seen`` gives the next report of ``reports`` (the last one
    repeats); the node holds ``node`` (name -> bytes)."""

    reports: list[DownloadSeen | None]
    node: dict[str, bytes] = field(default_factory=dict)
    problem: str | None = None
    started: list[str] = field(default_factory=list)

    def set_download_dir(self, folder: Path) -> None:
        self.watched = folder

    def start_download(self, attachment: Attachment) -> str:
        self.started.append(attachment.url)
        return "anchor"

    def download_seen(self, key: Path) -> DownloadSeen | None:
        return self.reports.pop(0) if len(self.reports) > 1 else self.reports[0]

    def download_problem(self, folder: Path) -> str | None:
        return self.problem

    def node_files(self) -> list[str]:
        return list(self.node)

    def fetch_node_file(self, name: str, folder: Path) -> None:
        (folder / name).write_bytes(self.node[name])


class StepClock:
    """Each reading is one second later than the one before."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def fetcher(session: ScriptedSession, **settings: Any) -> ManagedFetcher:
    values = {"download_start_timeout": 5, "download_stall_timeout": 5, "download_timeout": 50}
    values.update(settings)
    return ManagedFetcher(cast(RemoteSession, session), Settings(**values), clock=StepClock())


def seen(state: str, received: int, path: str = "") -> DownloadSeen:
    return DownloadSeen(url="u", state=state, received=received, total=30, file_path=path, guid="g")


def test_a_complete_download_is_fetched_from_the_node_into_the_staging_folder(
    tmp_path: Path,
) -> None:
    session = ScriptedSession(
        [None, seen("inProgress", 10), seen("inProgress", 10), seen("inProgress", 20),
         seen("inProgress", 25), seen("completed", 30, "/tmp/uuid1/Invoice (1).pdf")],
        node={"Invoice (1).pdf": b"%PDF-1.4 data", "other.txt": b"x"},
    )  # fmt: skip
    growth: list[int] = []
    managed = fetcher(session)

    pending = managed.start(ATTACHMENT, "Invoice.pdf", tmp_path)
    path = managed.finish(pending, lambda: growth.append(1))

    assert session.started == [ATTACHMENT.url]
    assert path == tmp_path / "Invoice (1).pdf" and path.read_bytes() == b"%PDF-1.4 data"
    assert [p.name for p in tmp_path.iterdir()] == ["Invoice (1).pdf"]
    assert len(growth) == 2  # begun at 10 (start), then 10 -> 20 -> 25 -> complete


def test_a_download_that_never_begins_times_out(tmp_path: Path) -> None:
    with pytest.raises(DownloadTimeout, match="did not start within 5 s"):
        fetcher(ScriptedSession([None])).start(ATTACHMENT, "Invoice.pdf", tmp_path)


def test_a_download_whose_bytes_stop_growing_stalls(tmp_path: Path) -> None:
    managed = fetcher(ScriptedSession([seen("inProgress", 7)]))
    pending = managed.start(ATTACHMENT, "Invoice.pdf", tmp_path)
    with pytest.raises(DownloadTimeout, match="stalled at 7 bytes for 5 s"):
        managed.finish(pending, lambda: None)


def test_what_the_browser_says_went_wrong_fails_the_file_at_once(tmp_path: Path) -> None:
    session = ScriptedSession([seen("inProgress", 7)])
    managed = fetcher(session)
    pending = managed.start(ATTACHMENT, "Invoice.pdf", tmp_path)
    session.problem = "the server redirected the download to evil.example; refused"
    with pytest.raises(DownloadError, match=r"^Invoice\.pdf: the server redirected"):
        managed.finish(pending, lambda: None)


def test_a_file_the_grid_never_lists_is_a_failed_download(tmp_path: Path) -> None:
    managed = fetcher(ScriptedSession([seen("completed", 30, "/dl/Invoice.pdf")], node={}))
    pending = managed.start(ATTACHMENT, "Invoice.pdf", tmp_path)
    with pytest.raises(DownloadError, match=r"does not list the finished file 'Invoice\.pdf'"):
        managed.finish(pending, lambda: None)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/tmp/uuid42/Price list, 2023.pdf", "Price list, 2023.pdf"),
        (r"C:\Users\sel\AppData\Local\Temp\uuid42\Notes.txt", "Notes.txt"),
    ],
)
def test_the_node_file_name_comes_from_a_linux_or_a_windows_path(path: str, name: str) -> None:
    assert node_file_name(path) == name
