"""The experiments: named sweeps that turn the course's claims into numbers and plots.

    diffcompare list                      # one line each
    diffcompare run --quick               # all of them, in a few minutes, into results/
    diffcompare run fd_step accuracy      # some of them

Each experiment is a module of this package with ``NAME``, ``TITLE``,
``SUMMARY``, ``points(cfg)``, ``measure(point, cfg)``, ``plot(rows, cfg,
outdir)`` and ``headline(rows, cfg)``, and optionally ``table(rows)`` (a
Markdown table for ``results/README.md``); :mod:`.registry` names them,
:mod:`.runner` runs them the same way (resume, ``meta.json``), :mod:`.files`
writes every file atomically, :mod:`.plotting` gives every figure the same
look, :mod:`.report` writes ``results/README.md``. The layers, bottom to top:
``files`` and ``registry``; ``plotting``; the experiments and ``report``;
``runner``; this package. Experiments use only the library (models from
:mod:`diffcompare.problems`, timing from :mod:`diffcompare.timing`), never
the benchmarks. They live inside the
package (not in a top-level ``experiments/`` folder) so that an installed
``diffcompare`` command finds them.
"""

from __future__ import annotations

from .registry import REGISTRY, get, names
from .runner import Config, check_config, run_all, run_experiment

__all__ = ["REGISTRY", "Config", "check_config", "get", "names", "run_all", "run_experiment"]
