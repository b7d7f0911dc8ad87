"""Timing, written once: warm up, then interleaved rounds, and keep each call's minimum.

Used by the benchmarks, the experiments, the demo and the checker, so every time
the toolkit prints is measured the same way:

* every call is made ``warmup`` times first (compilation, caches), untimed;
* then each round times every call once, one after the other, so a burst of
  load on a shared machine hits all of them alike;
* the minimum over rounds is kept: it discards the rounds the load spoiled.

JAX's results are asynchronous: every call is waited for
(``jax.block_until_ready``) before its clock stops.

    >>> best_times({"f": f, "grad": g}, rounds=5, args=(x,))
    {'f': 1.2e-05, 'grad': 3.1e-05}
    >>> best_time(lambda: f(x))
    1.2e-05
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

import jax


def best_times(calls: Mapping[str, Callable], rounds: int = 5, warmup: int = 1, args: tuple = (),
               back_to_back: bool = False) -> dict[str, float]:
    """Seconds per call of each of ``calls`` (each called as ``call(*args)``): the minimum over
    ``rounds`` interleaved rounds, after ``warmup`` untimed calls of each.

    ``back_to_back=True`` times each call right after an untimed call of itself: the time of one call
    in a loop of them. Calls of well under a millisecond need it to be compared fairly: whichever call
    follows a different one (above all a long eager JAX call) pays tens of µs for the change, not for
    its own work."""
    for _ in range(warmup):
        for call in calls.values():
            jax.block_until_ready(call(*args))
    best = {name: float("inf") for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            if back_to_back:
                jax.block_until_ready(call(*args))
            start = time.perf_counter()
            jax.block_until_ready(call(*args))
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def best_time(call: Callable, rounds: int = 5, warmup: int = 1, args: tuple = ()) -> float:
    """Seconds of one ``call(*args)``: the fastest of ``rounds`` after ``warmup`` untimed calls
    (the calls run one after the other: back to back)."""
    return best_times({"call": call}, rounds=rounds, warmup=warmup, args=args)["call"]


@dataclasses.dataclass(frozen=True)
class Timed:
    """What :func:`timed` measured: the first call's result and time (compilation included),
    and the best of the later calls (the warm time a user pays per call)."""

    value: object
    first_s: float
    best_s: float


def timed(call: Callable[[], object], rounds: int = 3) -> Timed:
    """Time the first call of ``call`` (keeping its result), then the best of ``rounds`` more."""
    start = time.perf_counter()
    value = jax.block_until_ready(call())
    first = time.perf_counter() - start
    best = best_time(call, rounds=rounds, warmup=0) if rounds > 0 else first
    return Timed(value, first, best)
