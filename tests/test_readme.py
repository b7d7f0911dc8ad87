"""The README's examples run as written: every ```python block, in order, in one namespace (as a reader
pastes them into one session), with its output checked where the README says what it prints."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks(text: str) -> list[str]:
    """The ```python blocks, indented ones (inside a list item) dedented."""
    blocks = []
    for match in re.finditer(r"^( *)```python\n(.*?)^\1```", text, flags=re.S | re.M):
        indent = len(match.group(1))
        blocks.append("\n".join(line[indent:] for line in match.group(2).splitlines()))
    return blocks


def test_the_readme_has_python_blocks_and_they_are_found_indented_too():
    blocks = python_blocks(README.read_text())
    assert len(blocks) >= 4
    assert any("report = diffcompare.check" in b for b in blocks)  # the one indented in a list item
    assert python_blocks("  ```python\n  x = 1\n  ```\n") == ["x = 1"]


@pytest.mark.slow
def test_every_python_block_of_the_readme_runs():
    namespace: dict = {"__name__": "readme"}
    printed = []
    for number, block in enumerate(python_blocks(README.read_text()), 1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            for statement in ast.parse(block).body:
                name = f"README.md python block {number}, line {statement.lineno}"
                if isinstance(statement, ast.Expr):  # what a reader sees echoed in a REPL
                    value = eval(compile(ast.Expression(statement.value), name, "eval"), namespace)
                    # a line that builds a derivative must evaluate it: fd.grad(f, ...) alone echoes a function
                    assert value is None or not callable(value), f"{name} shows {value!r}, not a value"
                else:
                    exec(compile(ast.Module([statement], []), name, "exec"), namespace)
        printed.append(out.getvalue())
    # what the first block promises: every method's derivative of exp(x)/x² at 1.5
    first = printed[0].splitlines()
    assert [line.split()[0] for line in first] == ["finite_diff", "symbolic", "forward", "reverse", "jax"]
    assert all(abs(float(line.split()[1]) + 0.6639539363) < 1e-6 for line in first)
    assert "grads" in namespace and set(namespace["grads"]) == {"finite_diff", "symbolic", "forward", "reverse", "jax"}
