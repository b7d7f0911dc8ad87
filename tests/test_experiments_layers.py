"""The experiments' layers: no import circle, and experiments use the library, never the benchmarks.

The import graph is read from the source (every ``import`` statement, at module
level or inside a function), so a late import cannot hide a circle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import diffcompare

ROOT = Path(diffcompare.__file__).resolve().parent
#: the packages these tests hold to the rule (the engines' own layers are tested with the engines)
MINE = ("diffcompare.experiments", "diffcompare.benchmarks", "diffcompare.problems", "diffcompare.apps",
        "diffcompare.timing")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The longest known module that ``name`` is or lies inside."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    modules = set(files)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                found = _resolve(target, modules)
                if found and found != module:
                    graph[module].add(found)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index, low, on_stack, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        out.append(component)
    return out


def _mine(module: str) -> bool:
    return any(module == p or module.startswith(p + ".") for p in MINE)


def test_the_graph_reader_sees_a_known_arrow():
    assert "diffcompare.experiments.files" in import_graph()["diffcompare.experiments.runner"]


def test_no_import_circle_through_experiments_benchmarks_problems_or_timing():
    circles = [sorted(c) for c in _cycles(import_graph()) if any(_mine(m) for m in c)]
    assert circles == []


def test_the_library_never_imports_the_benchmarks():
    graph = import_graph()
    arrows = [(a, b) for a, targets in graph.items() for b in targets
              if b.startswith("diffcompare.benchmarks") and not a.startswith("diffcompare.benchmarks")
              and a != "diffcompare.cli" and not a.startswith("diffcompare.cli.")]
    assert arrows == []
