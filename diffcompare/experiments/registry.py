"""The experiments by name, in the order they run (cheap and fundamental first).

A name maps to a module path, imported only when asked for, so ``diffcompare
list`` and the report do not import every experiment's dependencies up front.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import unknown_name

#: name -> module path, in the order they run
REGISTRY = {
    "fd_step": "diffcompare.experiments.fd_step",
    "accuracy": "diffcompare.experiments.accuracy",
    "cost_vs_n": "diffcompare.experiments.cost_vs_n",
    "jacobian_shape": "diffcompare.experiments.jacobian_shape",
    "jacobian_accumulation": "diffcompare.experiments.jacobian_accumulation",
    "cheap_gradient": "diffcompare.experiments.cheap_gradient",
    "memory": "diffcompare.experiments.memory",
    "swell": "diffcompare.experiments.swell",
    "precision": "diffcompare.experiments.precision",
    "matrix_calculus": "diffcompare.experiments.matrix_calculus",
}


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str) -> ModuleType:
    """The experiment module called ``name`` (hyphens read as underscores: ``fd-step`` is ``fd_step``);
    the error suggests the closest names and lists them all."""
    key = name.replace("-", "_")
    if key not in REGISTRY:
        raise unknown_name("experiment", name, REGISTRY)
    return importlib.import_module(REGISTRY[key])
