"""Where :func:`coupadl.settings.load_settings` reads settings from: the config file it
finds, and the sources in their order (flags, environment, that file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, TomlConfigSettingsSource

from coupadl.errors import ConfigError

CONFIG_ENV_VAR = "COUPA_CONFIG"
DEFAULT_CONFIG_NAME = "coupadl.toml"

S = TypeVar("S", bound=BaseSettings)


def settings_class(settings: type[S], config_file: Path | None) -> type[S]:
    """A subclass of ``settings`` that also reads ``config_file`` (below the environment)."""

    class _FileSettings(settings):  # type: ignore[valid-type,misc]
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if config_file is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
            return tuple(sources)

    return _FileSettings


def find_config_file(explicit: Path | None) -> Path | None:
    """The config file to read: ``--config``, else ``$COUPA_CONFIG``, else ./coupadl.toml."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"Config file not found: {explicit}")
        return explicit
    from_env = os.environ.get(CONFIG_ENV_VAR)
    if from_env:
        path = Path(from_env)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV_VAR} names a file that does not exist: {path}")
        return path
    local = Path(DEFAULT_CONFIG_NAME)
    return local if local.is_file() else None
