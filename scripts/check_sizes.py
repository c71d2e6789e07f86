"""CI's size rule: no module in src/ over 400 lines, no function over 60 lines.

Typer command functions are exempt (their signatures list every flag).

    .venv/bin/python scripts/check_sizes.py      # exit 1 and one line per breach
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def _is_command(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A typer command: decorated with ``@app.command(...)`` or ``@x.callback()``."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(target, ast.Attribute) and target.attr in ("command", "callback"):
            return True
    return False


def _function_lines(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of the body (the signature and decorators do not count)."""
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and len(node.body) > 1:
        first = node.body[1]  # nor does the docstring
    end = node.end_lineno or first.lineno
    return end - first.lineno + 1


def measure(root: Path = SRC) -> dict[str, int]:
    """Every module and function over its limit, with its size."""
    found: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        lines = len(text.splitlines())
        if lines > MAX_MODULE_LINES:
            found[rel] = lines
        for node in ast.walk(ast.parse(text, filename=rel)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not _is_command(node):
                size = _function_lines(node)
                if size > MAX_FUNCTION_LINES:
                    found[f"{rel}:{node.name}"] = size
    return found


def breaches(found: dict[str, int]) -> list[str]:
    """One line per module or function over its limit."""
    problems = []
    for name, size in sorted(found.items()):
        limit = MAX_FUNCTION_LINES if ":" in name else MAX_MODULE_LINES
        problems.append(f"{name}: {size} lines, over the limit of {limit}")
    return problems


def main() -> int:
    problems = breaches(measure())
    for line in problems:
        sys.stderr.write(f"size: {line}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
