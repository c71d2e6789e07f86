"""A real headless worker browser: its window is full screen and pages still read right."""

from __future__ import annotations

from typing import Any

import pytest

from coupadl.engine.browser.processor import process_po
from coupadl.engine.browser.session import BrowserSession
from coupadl.models import POTask, Status

pytestmark = pytest.mark.browser


def test_the_headless_window_is_full_screen_and_a_po_downloads_whole(
    sim: Any, make_settings: Any
) -> None:
    settings = make_settings()
    truth = next(
        (number, entry)
        for number, entry in sim.manifest()["pos"].items()
        if entry["status"] == "COMPLETED" and len(entry["files"]) >= 2
    )
    po, entry = truth

    with BrowserSession(settings, settings.profile_dir, guard_hosts=True) as session:
        window = session.driver.execute_cdp_cmd("Browser.getWindowForTarget", {})
        result = process_po(session, POTask(po_number=po), settings)

    assert window["bounds"]["windowState"] == "fullscreen"
    assert result.status is Status.COMPLETED
    assert result.folder is not None
    got = {(f.name, f.sha256) for f in result.files}
    assert got == {(f["name"], f["sha256"]) for f in entry["files"]}
    assert sorted(p.name for p in result.folder.iterdir()) == sorted(n for n, _ in got)
