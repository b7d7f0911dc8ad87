"""The problems themselves (filled in below)."""

from __future__ import annotations

import jax.numpy as jnp

from .. import numpy as dnp
from .base import Problem

PROBLEMS: dict[str, Problem] = {}


def _register(problem: Problem) -> Problem:
    PROBLEMS[problem.name] = problem
    return problem


def exp_over_square(x):
    return dnp.exp(x) / x**2


def _build_exp_over_square(size, rng, dtype):
    x = 1.5 if rng is None else rng.uniform(0.5, 3.0)
    return exp_over_square, (x,), lambda x: jnp.exp(x) * (x - 2) / x**3


_register(Problem("exp_over_square", "exp(x) / x²", _build_exp_over_square, source="003: exp(x)/x²", tags=("course",)))
