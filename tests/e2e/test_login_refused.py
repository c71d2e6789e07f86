"""Wrong configured credentials end sign-in at once with a clear message, instead of
waiting the whole sign-in timeout for a person who is not there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import CHROMEDRIVER, CHROMIUM
from coupadl.engine.browser.login import sign_in
from coupadl.errors import AuthRequiredError
from coupadl.settings import load_settings

pytestmark = pytest.mark.browser


def test_a_refused_password_stops_sign_in_with_the_forms_message(
    browser_ready: None, sim: Any, tmp_path: Path
) -> None:
    email = sim.manifest()["credentials"]["email"]
    settings = load_settings(
        {
            "base_url": sim.base_url, "profile_dir": tmp_path / "profile",
            "username": email, "password": "not-the-password",
            "browser_binary": CHROMIUM, "driver_path": CHROMEDRIVER,
        }
    )  # fmt: skip

    with pytest.raises(AuthRequiredError) as caught:
        sign_in(settings, timeout=600)

    assert "refused the configured username and password" in caught.value.message
    assert "Invalid" in caught.value.message  # the form's own words
    assert "not-the-password" not in caught.value.message
