"""The layers of ``diffcompare/``: no import circle anywhere, and each layer imports only those below it.

The import graph is read from the source: every ``import`` statement, at module
level or inside a function. A late (function-level) import is an arrow like any
other: it cannot hide a circle, and it may only point to a lower layer. The
layers are read from README's "Architecture: the layers" list, so the list a
reader sees is the one the code is held to.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import diffcompare

ROOT = Path(diffcompare.__file__).resolve().parent
README = ROOT.parent / "README.md"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(name: str, modules: set[str]) -> str | None:
    """The longest known module that ``name`` is or lies inside."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_arrows() -> dict[tuple[str, str], bool]:
    """(importer, imported) -> whether some import of it sits at module level (False: only inside functions)."""
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    modules = set(files)
    arrows: dict[tuple[str, str], bool] = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        tree = ast.parse(path.read_text())
        top_level = {id(node) for node in tree.body}
        top_level |= {id(n) for node in tree.body if isinstance(node, (ast.If, ast.Try)) for n in ast.walk(node)}
        for node in ast.walk(tree):
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
                    arrows[module, found] = arrows.get((module, found), False) or id(node) in top_level
    return arrows


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {_module_name(p): set() for p in ROOT.rglob("*.py")}
    for a, b in import_arrows():
        graph[a].add(b)
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


def unit(module: str) -> str:
    """The part of the package a module belongs to: its top-level module or sub-package (``diffcompare``
    itself for the package's ``__init__``)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def readme_layers() -> list[list[str]]:
    """The units of each layer, bottom to top, from README's numbered list (the names before the dash)."""
    text = README.read_text()
    section = text[text.index("### Architecture: the layers"):]
    section = section[: section.index("\n**")]
    layers = []
    for number, head in re.findall(r"^(\d+)\. (.*?)(?: — |$)", section, flags=re.M):
        assert int(number) == len(layers) + 1, f"README's layer {number} is out of order"
        layers.append(re.findall(r"`([\w.]+)`", head))
    return layers


def layer_violations(arrows, layers: list[list[str]]) -> list[str]:
    """Every arrow between units that does not point to a lower layer (siblings in one layer included)."""
    level = {name: i for i, names in enumerate(layers) for name in names}
    out = []
    for (a, b), at_module_level in sorted(arrows.items()):
        ua, ub = unit(a), unit(b)
        if ua != ub and not level[ub] < level[ua]:
            where = "" if at_module_level else " (inside a function)"
            out.append(f"{a} (layer {level[ua] + 1}) imports {b} (layer {level[ub] + 1}){where}")
    return out


def test_the_graph_reader_sees_module_level_and_late_imports():
    arrows = import_arrows()
    assert arrows["diffcompare.experiments.runner", "diffcompare.experiments.files"] is True
    assert arrows["diffcompare.cli", "diffcompare.checker"] is False  # imported inside a command function


def test_no_import_circle_anywhere_in_the_package():
    assert [sorted(c) for c in _cycles(import_graph())] == []


def test_readme_lists_every_part_of_the_package_once():
    listed = [name for layer in readme_layers() for name in layer]
    units = {unit(m) for m in import_graph()}
    assert sorted(listed) == sorted(units), (set(listed) ^ units, [n for n in listed if listed.count(n) > 1])


def test_each_layer_imports_only_the_layers_below_it():
    assert layer_violations(import_arrows(), readme_layers()) == []


def test_the_layer_check_catches_an_arrow_up_or_sideways():
    layers = [["errors"], ["_core", "_foreign"], ["numpy"]]
    arrows = {("diffcompare._core", "diffcompare.numpy"): False,
              ("diffcompare._core", "diffcompare._foreign"): True,
              ("diffcompare.numpy._bound", "diffcompare._core"): True,
              ("diffcompare.numpy", "diffcompare.numpy._bound"): True}
    assert layer_violations(arrows, layers) == [
        "diffcompare._core (layer 2) imports diffcompare._foreign (layer 2)",
        "diffcompare._core (layer 2) imports diffcompare.numpy (layer 3) (inside a function)",
    ]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_the_core_sits_below_the_function_language_with_no_late_import():
    arrows = import_arrows()
    core = [b for (a, b) in arrows if a == "diffcompare._core"]
    assert sorted(core) == ["diffcompare.errors", "diffcompare.primitives"]
    assert all(unit(b) in ("errors", "primitives", "_core") for (a, b) in arrows if a == "diffcompare._foreign")


def test_the_library_never_imports_the_benchmarks():
    graph = import_graph()
    arrows = [(a, b) for a, targets in graph.items() for b in targets
              if b.startswith("diffcompare.benchmarks") and not a.startswith("diffcompare.benchmarks")
              and a != "diffcompare.cli" and not a.startswith("diffcompare.cli.")]
    assert arrows == []
