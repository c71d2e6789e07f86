"""docs/troubleshooting.md must follow the code: every error code, only real commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import typer.main

from coupadl.cli.app import app
from coupadl.doctor.checks import DoctorExit
from coupadl.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "troubleshooting.md"
SRC = ROOT / "src" / "coupadl"
_CODE_LITERAL = re.compile(r"[\"'](E_[A-Z0-9_]+)[\"']")
_CODE_WORD = re.compile(r"\bE_[A-Z][A-Z0-9_]*\b")  # also codes named in docstrings
_TABLE_CODE = re.compile(r"^\|\s*`(E_[A-Z0-9_]+)`\s*\|", re.MULTILINE)
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"`(coupadl(?: [^`]*)?)`")


def _codes_in(path: Path) -> set[str]:
    return set(_CODE_LITERAL.findall(path.read_text(encoding="utf-8")))


def _documented_codes() -> set[str]:
    return set(_TABLE_CODE.findall(DOC.read_text(encoding="utf-8")))


def test_every_code_in_errors_py_is_documented() -> None:
    codes = set(_CODE_WORD.findall((SRC / "errors.py").read_text(encoding="utf-8")))
    missing = sorted(codes - _documented_codes())
    assert not missing, (
        f"add {missing} to the 'Error codes' table of docs/troubleshooting.md "
        "(| `E_...` | meaning | what to do |)"
    )


def test_codes_of_the_other_error_modules_are_documented() -> None:
    modules = [p for p in SRC.rglob("errors.py") if p != SRC / "errors.py"]
    codes = set().union(*(_codes_in(p) for p in modules))
    missing = sorted(codes - _documented_codes())
    assert not missing, f"add {missing} to the 'Error codes' table of docs/troubleshooting.md"


def test_no_documented_code_is_gone_from_the_code() -> None:
    in_source = set().union(*(_codes_in(p) for p in SRC.rglob("*.py")))
    stale = sorted(_documented_codes() - in_source)
    assert not stale, f"docs/troubleshooting.md documents codes nothing raises: {stale}"


def test_every_exit_code_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    rows = set(re.findall(r"^\|\s*(\d+)\s*\|", text, re.MULTILINE))
    missing = sorted(int(c) for c in ExitCode if str(int(c)) not in rows)
    assert not missing, f"add exit codes {missing} to the 'Exit codes' table"
    doctor_codes = [str(int(c)) for c in DoctorExit]
    assert all(f"**{c}**" in text for c in doctor_codes), "document coupadl doctor's codes"


def _commands_in_doc() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    commands = []
    for block in _FENCE.findall(text):
        commands += [
            line.removeprefix("$ ").strip()
            for line in block.splitlines()
            if line.removeprefix("$ ").startswith("coupadl")
        ]
    commands += _INLINE.findall(_FENCE.sub("", text))
    return commands


def _options(command: Any) -> set[str]:
    names = {"--help"}
    for param in command.params:
        names.update(param.opts + param.secondary_opts)
    return names


def test_commands_shown_in_the_doc_exist_with_their_flags() -> None:
    group: Any = typer.main.get_command(app)  # typer's own (vendored) click group
    commands = _commands_in_doc()
    assert len(commands) >= 10, commands  # the extraction itself works
    for line in commands:
        words = shlex.split(line, comments=True)
        if len(words) < 2:
            continue
        target = group
        rest = words[1:]
        if not rest[0].startswith("-"):
            assert rest[0] in group.commands, f"no command 'coupadl {rest[0]}': {line}"
            target, rest = group.commands[rest[0]], rest[1:]
        known = _options(target)
        for word in rest:
            if word.startswith("-"):
                flag = word.split("=", 1)[0]
                assert flag in known, f"'{flag}' is not an option of '{line}'"
