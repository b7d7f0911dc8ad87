"""Timing shared by the benchmark commands: warm up, then the best of several runs."""

from __future__ import annotations

import time
from collections.abc import Callable

import jax


def best_time(fn: Callable[[], object], repeat: int = 5, warmup: int = 1) -> float:
    """Seconds of the fastest of ``repeat`` calls of ``fn`` (after ``warmup`` calls),
    waiting for JAX's asynchronous results."""
    for _ in range(warmup):
        jax.block_until_ready(fn())
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return best
