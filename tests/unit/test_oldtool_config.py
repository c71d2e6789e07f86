"""The old tool's myscript_config.json: its keys mapped to coupadl's settings, where it
stands among the config files, and its input (excel_path, --csv) for ``coupadl run``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from coupadl.cli.app import app
from coupadl.errors import ConfigError
from coupadl.settings import load_settings

OLD_FILE = {
    "excel_path": "~/pos.xlsx",
    "csv_path": "inventory.csv",
    "download_dir": "~/coupa-files",
    "num_windows": 3,
    "max_tabs_per_window": 5,
    "max_workers": 3,
    "headless": False,
    "profile_mode": "clone",
}


def write_old(folder: Path, **changes: Any) -> Path:
    values = {**OLD_FILE, **changes}
    path = folder / "myscript_config.json"
    path.write_text(json.dumps({k: v for k, v in values.items() if v is not ...}))
    return path


def ignored_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "ignoring" in r.getMessage()]


def test_the_old_keys_map_to_coupadls_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = write_old(tmp_path)

    with caplog.at_level(logging.WARNING, logger="coupadl"):
        settings = load_settings(config_file=config)

    assert settings.out == tmp_path / "home" / "coupa-files"  # ~ expanded
    assert (settings.max_workers, settings.headless) == (3, False)
    assert settings.workers == "auto"  # the old number is an upper bound, not a count
    (line,) = ignored_warnings(caplog)
    for key in ("csv_path", "num_windows", "max_tabs_per_window", "profile_mode"):
        assert key in line
    assert "results.csv" in line and "unknown" not in line
    for key in ("excel_path", "download_dir", "max_workers", "headless"):
        assert key not in line


def test_unknown_keys_join_the_same_warning_and_are_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = tmp_path / "old.json"
    config.write_text(json.dumps({"headless": True, "num_windows": 2, "colour": "blue"}))

    with caplog.at_level(logging.WARNING, logger="coupadl"):
        settings = load_settings(config_file=config)

    assert settings.headless is True
    (line,) = ignored_warnings(caplog)
    assert "num_windows" in line and "unknown keys: colour" in line


def test_flags_and_environment_beat_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_old(tmp_path, download_dir=str(tmp_path / "old-out"))
    monkeypatch.setenv("COUPA_MAX_WORKERS", "2")

    settings = load_settings({"out": tmp_path / "flag-out"}, config_file=config)

    assert settings.out == tmp_path / "flag-out"
    assert settings.max_workers == 2
    assert settings.headless is False  # from the file: nothing above it says otherwise


def test_which_config_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings().max_workers == 4  # no file: the default

    write_old(tmp_path, max_workers=3)
    assert load_settings().max_workers == 3  # ./myscript_config.json

    (tmp_path / "coupadl.toml").write_text("max_workers = 5\n")
    assert load_settings().max_workers == 5  # ./coupadl.toml beats it

    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps({"max_workers": 6}))
    monkeypatch.setenv("COUPA_CONFIG", str(other))
    assert load_settings().max_workers == 6  # $COUPA_CONFIG beats both

    explicit = tmp_path / "mine.json"
    explicit.write_text(json.dumps({"max_workers": 7}))
    assert load_settings(config_file=explicit).max_workers == 7  # --config beats all


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{not json", "Cannot read the old config file"),
        ("[1, 2]", "expected a JSON object"),
        ('{"download_dir": 5}', "download_dir must be a path"),
        ('{"max_workers": 0}', "max_workers"),
    ],
)
def test_a_broken_old_file_is_a_config_error(tmp_path: Path, text: str, fragment: str) -> None:
    config = tmp_path / "myscript_config.json"
    config.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        load_settings(config_file=config)


def invoke_run(*args: str) -> Any:
    root = logging.getLogger()
    handlers = root.handlers[:]
    try:
        result = CliRunner().invoke(app, ["run", "--base-url", "http://127.0.0.1:9", *args])
    finally:
        root.handlers[:] = handlers  # the command pointed logging at CliRunner's streams
    assert "Traceback" not in result.output, result.output
    return result


def flat(output: str) -> str:
    """``output`` without the error box's borders and line breaks (rich wraps it)."""
    return " ".join(output.replace("│", " ").split())


def test_run_without_any_input_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke_run()
    assert result.exit_code == 2
    assert "'INPUT_FILE': none given" in flat(result.output)


def test_input_file_and_csv_naming_different_files_is_a_usage_error(tmp_path: Path) -> None:
    result = invoke_run("a.csv", "--csv", "b.csv")
    assert result.exit_code == 2
    assert "a.csv and b.csv are different files" in flat(result.output)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="excel_path"),
        pytest.param(["--csv", "from-csv.csv"], id="csv-beats-excel_path"),
        pytest.param(["from-csv.csv", "--csv", "from-csv.csv"], id="same-file-twice"),
    ],
)
def test_run_reads_the_input_the_old_way(tmp_path: Path, args: list[str]) -> None:
    # Neither file exists: the run's error names the file it was told to read.
    write_old(tmp_path, excel_path="from-excel.xlsx", download_dir=str(tmp_path / "out"))
    result = invoke_run(*args)
    wanted = "from-csv.csv" if args else "from-excel.xlsx"
    assert result.exit_code == 2, result.output
    assert wanted in flat(result.output)
    assert "none given" not in flat(result.output)
