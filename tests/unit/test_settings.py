"""Settings precedence: flags > COUPA_* environment > config file > defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from coupadl.errors import ConfigError
from coupadl.settings import EngineKind, RequisitionFallback, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COUPA_ENGINE")  # the tests' own default (conftest.py)
    settings = load_settings()
    assert settings.engine is EngineKind.AUTO
    assert (settings.concurrency, settings.rate_limit_rps, settings.rate_limit_burst) == (
        "auto", 20.0, 20
    )  # fmt: skip
    assert settings.base_url is None
    assert settings.workers == "auto"
    assert settings.requisition_fallback is RequisitionFallback.NO_PDF
    assert settings.headless is True


def test_precedence_flag_over_env_over_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('base_url = "https://file.example"\npage_timeout = 11\nlimit = 5\n')
    assert load_settings(config_file=config).base_url == "https://file.example"

    monkeypatch.setenv("COUPA_BASE_URL", "https://env.example/")
    monkeypatch.setenv("COUPA_PAGE_TIMEOUT", "22")
    settings = load_settings({"page_timeout": 33, "limit": None}, config_file=config)
    assert settings.base_url == "https://env.example"  # env beats file; trailing / dropped
    assert settings.page_timeout == 33  # flag beats env
    assert settings.limit == 5  # a flag left as None does not hide the file


def test_config_file_found_through_env_and_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "coupadl.toml").write_text("max_retries = 7\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().max_retries == 7
    other = tmp_path / "other.toml"
    other.write_text("max_retries = 1\n")
    monkeypatch.setenv("COUPA_CONFIG", str(other))
    assert load_settings().max_retries == 1


def test_legacy_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USE_PERSISTENT_POOL", "false")
    monkeypatch.setenv("COUPA_MAX_WORKERS", "3")
    monkeypatch.setenv("COUPA_ENABLE_PARALLEL", "0")
    settings = load_settings()
    assert settings.use_persistent_pool is False
    assert settings.max_workers == 3
    assert settings.enable_parallel is False


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"base_url": "acme.coupahost.com"}, "base_url"),
        ({"workers": "many"}, "workers"),
        ({"workers": 0}, "workers"),
        ({"page_timeout": -1}, "page_timeout"),
    ],
)
def test_invalid_values_are_config_errors(values: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_settings(values)


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(config_file=tmp_path / "nope.toml")


def test_require_base_url_explains() -> None:
    with pytest.raises(ConfigError, match="--base-url"):
        load_settings().require_base_url()
