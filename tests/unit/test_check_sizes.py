"""The size rule CI applies (scripts/check_sizes.py), on small trees made here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_sizes", ROOT / "scripts/check_sizes.py")
assert _spec is not None and _spec.loader is not None
check_sizes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_sizes)


def _function(name: str, body_lines: int, decorator: str = "") -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(body_lines))
    return f'{decorator}def {name}() -> None:\n    """Doc."""\n{body}\n'


def test_long_module_and_function_are_named(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "big.py").write_text("x = 1\n" * 401)
    (pkg / "fine.py").write_text(_function("short", 60) + _function("long", 61))

    found = check_sizes.measure(tmp_path)

    assert found == {"pkg/big.py": 401, "pkg/fine.py:long": 61}
    assert check_sizes.breaches(found) == [
        "pkg/big.py: 401 lines, over the limit of 400",
        "pkg/fine.py:long: 61 lines, over the limit of 60",
    ]


def test_typer_commands_are_exempt(tmp_path: Path) -> None:
    (tmp_path / "cli.py").write_text(_function("run", 80, decorator="@app.command()\n"))

    assert check_sizes.measure(tmp_path) == {}


def test_the_source_tree_keeps_the_rule() -> None:
    assert check_sizes.breaches(check_sizes.measure()) == []
