"""``grid_url`` as a setting, the engine it implies, and what a remote browser is asked
to start with (nothing that names a path on this computer)."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupadl.engine.browser.grid import remote_options
from coupadl.errors import ConfigError
from coupadl.runs.executors import grid_engine
from coupadl.settings import BrowserKind, EngineKind, load_settings


def test_the_grid_url_is_checked_and_tidied() -> None:
    assert load_settings({"grid_url": " http://grid:4444/ "}).grid_url == "http://grid:4444"
    assert load_settings({"grid_url": ""}).grid_url is None
    with pytest.raises(ConfigError, match=r"grid_url: .*must start with http"):
        load_settings({"grid_url": "grid:4444"})


@pytest.mark.parametrize("engine", [EngineKind.HTTP, EngineKind.API])
def test_a_grid_with_an_engine_that_has_no_browser_workers_is_a_config_error(
    engine: EngineKind,
) -> None:
    settings = load_settings({"grid_url": "http://127.0.0.1:9", "engine": engine})
    with pytest.raises(ConfigError, match="--engine browser"):
        grid_engine(settings)


def test_without_a_grid_the_engine_is_left_as_it_is() -> None:
    settings = load_settings({"engine": EngineKind.AUTO})
    assert grid_engine(settings) is settings


def test_a_remote_browser_gets_managed_downloads_and_no_local_path(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "grid_url": "http://grid:4444",
            "grid_browser_args": ["--no-sandbox"],
            "profile_dir": tmp_path / "profile",
            "browser_binary": tmp_path / "chromium",
        }
    )
    options = remote_options(settings)
    capabilities = options.to_capabilities()

    assert capabilities["se:downloadsEnabled"] is True
    assert capabilities["browserName"] == "chrome"
    chrome = capabilities["goog:chromeOptions"]
    assert "--no-sandbox" in chrome["args"] and "--headless=new" in chrome["args"]
    assert str(tmp_path) not in str(capabilities)  # no profile, binary or download folder
    assert "download.default_directory" not in chrome["prefs"]


def test_edge_on_a_grid_asks_for_its_own_slots() -> None:
    settings = load_settings({"grid_url": "http://grid:4444", "browser": BrowserKind.EDGE})
    assert remote_options(settings).to_capabilities()["browserName"] == "MicrosoftEdge"
