"""Timing, written once: warm up, then interleaved rounds, and keep each call's minimum.

The benchmarks, the experiments, the demo and the checker all time with this
module, so every time the toolkit prints is measured the same way, and a
notebook exercise can time its own function exactly as they do:

* every call is made ``warmup`` times first, untimed (JAX traces and compiles
  on a first call; caches fill);
* then each round times every call once, one after the other, so a burst of
  load on a shared machine hits all of them alike;
* the minimum over rounds is kept: it discards the rounds the load spoiled.

JAX's results are asynchronous: every call is waited for
(``jax.block_until_ready``) before its clock stops.

Functions:
    :func:`best_times` several calls side by side (the fair comparison), seconds by name.
    :func:`best_time` one call.
    :func:`timed` the first call (compilation included) and the best warm call, apart.

Example (forward against reverse mode on your own function):
    >>> from diffcompare import forward, reverse, timing
    >>> import diffcompare.numpy as dnp, jax.numpy as jnp
    >>> f = lambda x: dnp.sum(dnp.tanh(x) ** 2)
    >>> x = jnp.linspace(-1.0, 1.0, 100)
    >>> seconds = timing.best_times({"forward": forward.grad(f), "reverse": reverse.grad(f)}, rounds=5, args=(x,))
    >>> seconds["forward"] / seconds["reverse"]    # about n passes against one: forward loses as n grows
    ...

Timings are a measurement of one machine at one moment: show them with the
machine they came from, never as a fixed fact.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping

import jax


def best_times(calls: Mapping[str, Callable], rounds: int = 5, warmup: int = 1, args: tuple = (),
               back_to_back: bool = False) -> dict[str, float]:
    """Seconds per call of each of ``calls``: the minimum over ``rounds`` interleaved rounds, after
    ``warmup`` untimed calls of each.

    Arguments:
        calls: name -> a function, each called as ``call(*args)``.
        rounds: timed rounds; each round calls every function once, in order.
        warmup: untimed calls of each function first (tracing, compilation, caches).
        args: the positional arguments of every call.
        back_to_back: time each call right after an untimed call of itself: the time of one call
            in a loop of them. Calls of well under a millisecond need it to be compared fairly:
            whichever call follows a different one (above all a long eager JAX call) pays tens of
            µs for the change, not for its own work.
    Returns:
        ``{name: seconds}``, the best time of each call.
    Example:
        >>> best_times({"f": f, "grad": reverse.grad(f)}, rounds=5, args=(x,))
        {'f': 1.2e-05, 'grad': 3.1e-05}
    """
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
    (the calls run one after the other: back to back).

    Example:
        >>> best_time(lambda: reverse.grad(f)(x))
        3.1e-05
    """
    return best_times({"call": call}, rounds=rounds, warmup=warmup, args=args)["call"]


@dataclasses.dataclass(frozen=True)
class Timed:
    """What :func:`timed` measured: the first call's result and time (compilation included),
    and the best of the later calls (the warm time a user pays per call)."""

    value: object
    first_s: float
    best_s: float


def timed(call: Callable[[], object], rounds: int = 3) -> Timed:
    """Time the first call of ``call`` (keeping its result), then the best of ``rounds`` more.

    Arguments:
        call: a function of no arguments.
        rounds: warm calls after the first (0: the first call's time is also the best).
    Returns:
        A :class:`Timed`: ``value`` (the first call's result), ``first_s`` (tracing and compilation
        included: roughly compile time plus one call) and ``best_s`` (the warm time per call).
    Example:
        >>> t = timed(lambda: jax.jit(jax.grad(f))(x))
        >>> t.first_s > t.best_s
        True
    """
    start = time.perf_counter()
    value = jax.block_until_ready(call())
    first = time.perf_counter() - start
    best = best_time(call, rounds=rounds, warmup=0) if rounds > 0 else first
    return Timed(value, first, best)
