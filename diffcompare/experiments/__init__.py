"""The experiments: named sweeps that turn the course's claims into numbers and plots.

    diffcompare list                      # one line each
    diffcompare run --quick               # all of them, in a few minutes, into results/
    diffcompare run fd_step accuracy      # some of them

Each experiment is a module of this package with ``NAME``, ``TITLE``,
``SUMMARY``, ``points(cfg)``, ``measure(point, cfg)``, ``plot(rows, cfg,
outdir)`` and ``headline(rows, cfg)``; :mod:`.runner` runs them the same way
(resume, atomic files, ``meta.json``), :mod:`.plotting` gives every figure the
same look, :mod:`.report` writes ``results/README.md``. They live inside the
package (not in a top-level ``experiments/`` folder) so that an installed
``diffcompare`` command finds them.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ..errors import InvalidOptionError
from .runner import Config, check_config, run_all, run_experiment

#: name -> module path, in the order they run (cheap and fundamental first)
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
}


def names() -> list[str]:
    return list(REGISTRY)


def get(name: str) -> ModuleType:
    """The experiment module called ``name``; the error lists the names there are."""
    if name not in REGISTRY:
        raise InvalidOptionError(f"unknown experiment {name!r}; choose from {', '.join(REGISTRY)}")
    return importlib.import_module(REGISTRY[name])


__all__ = ["REGISTRY", "Config", "check_config", "get", "names", "run_all", "run_experiment"]
