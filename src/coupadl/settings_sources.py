"""Where :func:`coupadl.settings.load_settings` reads settings from: the config file it
finds, and the sources in their order (flags, environment, that file). The file is
coupadl's TOML, or the old tool's ``myscript_config.json`` (coupadl.settings_oldtool)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    TomlConfigSettingsSource,
)

from coupadl.errors import ConfigError
from coupadl.settings_oldtool import OLD_CONFIG_NAME, is_old_config, read_old_config, warn_ignored

CONFIG_ENV_VAR = "COUPA_CONFIG"
DEFAULT_CONFIG_NAME = "coupadl.toml"

S = TypeVar("S", bound=BaseSettings)


def settings_class(settings: type[S], config_file: Path | None) -> type[S]:
    """A subclass of ``settings`` that also reads ``config_file`` (below the environment)."""
    old_settings: dict[str, Any] | None = None
    if config_file is not None and is_old_config(config_file):
        old = read_old_config(config_file)
        warn_ignored(config_file, old.ignored)
        old_settings = old.settings

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
            if old_settings is not None:
                sources.append(InitSettingsSource(settings_cls, init_kwargs=old_settings))
            elif config_file is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=config_file))
            return tuple(sources)

    return _FileSettings


def find_config_file(explicit: Path | None) -> Path | None:
    """The config file to read: ``--config``, else ``$COUPA_CONFIG``, else ./coupadl.toml,
    else the old tool's ./myscript_config.json."""
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
    for name in (DEFAULT_CONFIG_NAME, OLD_CONFIG_NAME):
        local = Path(name)
        if local.is_file():
            return local
    return None
