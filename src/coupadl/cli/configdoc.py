"""Render docs/configuration.md from the settings model and the CLI's flags.

``python -m coupadl.cli.configdoc > docs/configuration.md`` regenerates it; a test
fails when the committed file drifts from the code.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path

import typer.main
from pydantic import AliasChoices
from pydantic.fields import FieldInfo

from coupadl.settings import ENV_PREFIX, Settings
from coupadl.settings_oldtool import IGNORED, MAPPING, OLD_CONFIG_NAME

_HEADER = """# Configuration

Generated from `coupadl.settings.Settings` by `python -m coupadl.cli.configdoc`;
do not edit by hand.

Precedence, highest first: command-line flag, environment variable, config file
(`--config FILE`, else `$COUPA_CONFIG`, else `./coupadl.toml`, else the old tool's
`./myscript_config.json`; TOML, keys as in the first column, or the old tool's JSON:
see the end of this page), default.

| setting (TOML key) | flag | environment | default | meaning |
| --- | --- | --- | --- | --- |
"""


def _flags() -> dict[str, str]:
    """Setting name -> flags, from every command of the CLI."""
    from coupadl.cli.app import app

    group = typer.main.get_command(app)
    found: dict[str, list[str]] = {}
    for command in getattr(group, "commands", {}).values():
        for param in command.params:
            if param.name and not getattr(param, "hidden", False):
                opts = [o for o in [*param.opts, *param.secondary_opts] if o.startswith("--")]
                for opt in opts:
                    if opt not in found.setdefault(param.name, []):
                        found[param.name].append(opt)
    return {name: ", ".join(f"`{o}`" for o in opts) for name, opts in found.items()}


def _env_names(name: str, field: FieldInfo) -> str:
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        names = [c for c in alias.choices if isinstance(c, str) and c.isupper()]
        return ", ".join(f"`{n}`" for n in names)
    return f"`{ENV_PREFIX}{name.upper()}`"


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        return "per user (see meaning)"
    value = field.default
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        return "(none)"
    if isinstance(value, Path):
        value = value.as_posix()
    return f"`{value}`"


def render() -> str:
    flags = _flags()
    rows = []
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        rows.append(
            f"| `{name}` | {flags.get(name, '')} | {_env_names(name, field)} | "
            f"{_default(field)} | {description} |"
        )
    return _HEADER + "\n".join(rows) + "\n" + _old_tool_section()


def _old_tool_section() -> str:
    """How the keys of the old tool's JSON config map to coupadl's."""
    lines = [
        "",
        f"## The old tool's `{OLD_CONFIG_NAME}`",
        "",
        "A `.json` config file (`--config`, `$COUPA_CONFIG`, or `./myscript_config.json`",
        "when neither names a file and there is no `./coupadl.toml`) is read as the config",
        "of the tool coupadl replaces; its paths are relative to the working directory, as",
        "that tool took them. INPUT_FILE or `--csv` beats its `excel_path`. Its",
        "command line works too: `coupadl run --csv FILE --use-pool`. Keys with no meaning",
        "here, and unknown keys, are named in one warning line and otherwise ignored.",
        "",
        "| old key | coupadl | meaning |",
        "| --- | --- | --- |",
    ]
    for key, (target, meaning) in MAPPING.items():
        name = target if target.isupper() else f"`{target}`"
        lines.append(f"| `{key}` | {name} | {meaning} |")
    for key, why in IGNORED.items():
        lines.append(f"| `{key}` | (ignored, warned) | {why} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
