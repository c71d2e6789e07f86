"""Docs that are generated from code must match the code."""

from __future__ import annotations

from pathlib import Path

from coupadl.cli.configdoc import render

ROOT = Path(__file__).resolve().parents[2]


def test_configuration_doc_matches_the_settings_model() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == render(), (
        "docs/configuration.md is stale: run "
        "'.venv/bin/python -m coupadl.cli.configdoc > docs/configuration.md'"
    )


def test_readme_starts_with_the_two_commands_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = "./scripts/setup.sh && .venv/bin/python -m pytest"
    assert test_command in readme.split("## ")[0]
    assert "./scripts/setup.sh && .venv/bin/coupadl demo" in readme.split("## ")[0]
    assert test_command in ci
