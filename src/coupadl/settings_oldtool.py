"""The config file of the tool coupadl replaces: ``myscript_config.json``, read with its
keys mapped to coupadl's settings (see docs/configuration.md, generated from
:data:`MAPPING` and :data:`IGNORED`).

Imports nothing of coupadl's settings model, so the settings sources and the CLI can
both use it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coupadl.errors import ConfigError

log = logging.getLogger(__name__)

OLD_CONFIG_NAME = "myscript_config.json"

# Old key -> (coupadl setting, what it becomes). ``excel_path`` is no setting: it is
# the input of ``coupadl run`` (below a positional INPUT_FILE or --csv).
MAPPING: dict[str, tuple[str, str]] = {
    "excel_path": (
        "INPUT_FILE",
        "the input of `coupadl run` when neither INPUT_FILE nor `--csv` gives one (`~` expanded)",
    ),
    "download_dir": ("out", "the output folder (`~` expanded)"),
    "max_workers": (
        "max_workers",
        "its number of parallel browsers becomes the most browser workers: `workers` "
        "stays `auto`, so coupadl starts as many as memory and CPUs allow, up to this "
        "number (set `workers` to force a count)",
    ),
    "headless": ("headless", "run the browser without a window"),
}

# Old keys with no meaning in coupadl, and why; named in the warning, never an error.
IGNORED: dict[str, str] = {
    "csv_path": "its download inventory; `results.csv` in the output folder replaces it",
    "num_windows": "coupadl sizes its browser workers itself (`workers`, `max_workers`)",
    "max_tabs_per_window": "one tab per browser worker, renewed every `fresh_tab_every` POs",
    "profile_mode": "workers start from the profile `coupadl login` saved "
    "(`profile_reuse_enabled`)",
}

_PATH_KEYS = ("excel_path", "download_dir")


@dataclass(frozen=True)
class OldConfig:
    """What an old config file says, in coupadl's terms."""

    settings: dict[str, Any] = field(default_factory=dict)
    input_file: Path | None = None
    ignored: tuple[str, ...] = ()


def is_old_config(path: Path) -> bool:
    """Whether ``path`` is the old tool's file: coupadl's own config is TOML, so any
    ``.json`` is the old tool's format."""
    return path.suffix.lower() == ".json"


def read_old_config(path: Path) -> OldConfig:
    """The settings and input ``path`` gives. Raises :class:`ConfigError` when it is no
    JSON object or a known key has a value of the wrong kind."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"Cannot read the old config file {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a JSON object of settings, not {type(raw).__name__}")
    paths = {key: _path_value(path, key, raw.get(key)) for key in _PATH_KEYS}
    settings: dict[str, Any] = {}
    if paths["download_dir"] is not None:
        settings["out"] = paths["download_dir"]
    for key in ("max_workers", "headless"):
        if raw.get(key) is not None:  # null in the old file: not given
            settings[key] = raw[key]
    ignored = tuple(key for key in raw if key not in MAPPING)
    return OldConfig(settings=settings, input_file=paths["excel_path"], ignored=ignored)


def warn_ignored(path: Path, ignored: tuple[str, ...]) -> None:
    """One warning line naming every key of ``path`` coupadl does not use."""
    if not ignored:
        return
    notes = ["no meaning in coupadl"]
    if "csv_path" in ignored:
        notes.append("results.csv in the output folder replaces csv_path")
    unknown = [key for key in ignored if key not in IGNORED]
    if unknown:
        notes.append(f"unknown keys: {', '.join(unknown)}")
    log.warning("%s: ignoring %s (%s)", path.name, ", ".join(ignored), "; ".join(notes))


def _path_value(path: Path, key: str, value: Any) -> Path | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{path}: {key} must be a path (a string), not {value!r}")
    return Path(value).expanduser()
