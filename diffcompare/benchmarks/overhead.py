"""Eager overhead: time per call and per recorded primitive of each method on small problems.

Students call the engines eagerly on small functions, where Python around the
arithmetic, not the arithmetic, sets the time. For the scalar course example
(d/dx exp(x)/x² at 1.5), an R³ → R⁴ map and tanh MLPs of depth 4 (width = batch
= 16, 64, 256; width 1024 at batch 64), this prints the best eager time per
derivative call of forward mode and reverse mode (staged: one compiled program
per recording structure, :mod:`diffcompare.staging`; and op by op,
``staged=False``), beside the peers measured in the same run: eager
``jax.grad``/``jax.jacfwd`` (no jit), HIPS autograd and PyTorch eager where they
are installed (``pip install diffcompare[compare]``), with the ratios to each.
It also prints the time per recorded primitive, the first two calls of a
staged derivative (the first traces and compiles, nothing cached), and
(``--profile``) the share of each engine's time spent inside JAX's dispatch
rather than in diffcompare's own Python. Forward mode's gradient is left out
above :data:`FORWARD_MAX_INPUTS` inputs (one pass per input: minutes per call).
Each call is timed right after an untimed call of itself, in interleaved rounds
(``timing.best_times(back_to_back=True)``), half of them in reverse order.

    diffcompare bench overhead [--quick] [--profile]
"""

from __future__ import annotations

import cProfile
import os
import pstats
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import forward, reverse, staging
from .. import numpy as dnp
from ..reverse.memory import tape_stats
from ..timing import best_times


def _exp_over_square(x):
    return dnp.exp(x) / x**2


def _r3_to_r4(x):
    return dnp.stack([x[0] * x[1], dnp.sin(x[2]) + x[0], dnp.exp(x[1]) * x[2], x[0] ** 2 - x[1] * x[2]])


def _mlp_problem(width: int, depth: int = 4, batch: int | None = None, seed: int = 0):
    batch = width if batch is None else batch
    rng = np.random.default_rng(seed)
    params = [(jnp.asarray(rng.normal(size=(width, width)) / np.sqrt(width)), jnp.asarray(np.zeros(width)))
              for _ in range(depth)]
    x = jnp.asarray(rng.normal(size=(batch, width)))

    def loss(params):
        h = x
        for w, b in params:
            h = dnp.tanh(h @ w + b)
        return dnp.sum(h**2)

    return loss, params, (x, [(np.asarray(w), np.asarray(b)) for w, b in params])


def problems(quick: bool) -> list[dict]:
    """name, the function, its argument, how to differentiate it (grad or jacobian)."""
    rows = [
        dict(name="exp(x)/x² at 1.5", f=_exp_over_square, arg=jnp.asarray(1.5), kind="grad"),
        dict(name="R³ → R⁴ map", f=_r3_to_r4, arg=jnp.asarray([0.3, -1.2, 0.7]), kind="jacobian"),
    ]
    for width, batch in ((16, 16),) if quick else ((16, 16), (64, 64), (256, 256), (1024, 64)):
        loss, params, data = _mlp_problem(width, batch=batch)
        rows.append(dict(name=f"tanh MLP width {width}, batch {batch}", f=loss, arg=params, kind="grad", mlp=data))
    return rows


#: forward mode pushes one tangent per input: above this many inputs its gradient is left out (minutes per call)
FORWARD_MAX_INPUTS = 2048


def _inputs(problem: dict) -> int:
    return sum(int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(problem["arg"]))


def _derivatives(problem: dict) -> dict[str, Callable[[], object]]:
    f, arg, kind = problem["f"], problem["arg"], problem["kind"]
    calls = {
        "forward": (forward.grad if kind == "grad" else forward.jacobian)(f),
        "reverse": (reverse.grad if kind == "grad" else reverse.jacobian)(f),
    }
    if kind == "grad":  # the teaching path: every primitive one JAX dispatch
        calls["forward op by op"] = forward.grad(f, staged=False)
        calls["reverse op by op"] = reverse.grad(f, staged=False)
    calls["jax eager"] = (jax.grad if kind == "grad" else jax.jacfwd)(f)
    if _inputs(problem) > FORWARD_MAX_INPUTS:
        calls = {name: d for name, d in calls.items() if not name.startswith("forward")}
    out = {name: (lambda d=d: d(arg)) for name, d in calls.items()}
    for name, peer in (("autograd", _autograd_derivative), ("torch eager", _torch_derivative)):
        call = peer(problem)
        if call is not None:
            out[name] = call
    return out


def _autograd_derivative(problem: dict):
    """HIPS autograd (a tape over plain NumPy: the closest peer of a hand-written engine), or None."""
    try:
        import autograd
        import autograd.numpy as anp
    except ImportError:
        return None
    if problem["name"].startswith("exp"):
        g = autograd.grad(lambda x: anp.exp(x) / x**2)
        return lambda: g(1.5)
    if problem["name"].startswith("R³"):
        jac = autograd.jacobian(lambda x: anp.stack([x[0] * x[1], anp.sin(x[2]) + x[0], anp.exp(x[1]) * x[2],
                                                     x[0] ** 2 - x[1] * x[2]]))
        x = np.asarray(problem["arg"])
        return lambda: jac(x)
    if "mlp" not in problem:
        return None  # no like-for-like call
    x_np, params_np = problem["mlp"]
    x = np.asarray(x_np)

    def loss(params):
        h = x
        for w, b in params:
            h = anp.tanh(anp.dot(h, w) + b)
        return anp.sum(h**2)

    g = autograd.grad(loss)
    return lambda: g(params_np)


def _torch_derivative(problem: dict):
    try:
        import torch
    except ImportError:
        return None
    torch.set_default_dtype(torch.float64)
    if problem["name"].startswith("exp"):
        def call():
            x = torch.tensor(1.5, requires_grad=True)
            (torch.exp(x) / x**2).backward()
            return x.grad
        return call
    if "mlp" not in problem:
        return None  # the R³ → R⁴ Jacobian: no like-for-like eager call
    x_np, params_np = problem["mlp"]
    x = torch.tensor(np.asarray(x_np))
    params = [(torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)) for w, b in params_np]

    def call():
        h = x
        for w, b in params:
            h = torch.tanh(h @ w + b)
        grads = torch.autograd.grad((h**2).sum(), [t for pair in params for t in pair])
        return grads[0]

    return call


def _primitives(problem: dict) -> int:
    """Primitives ``f`` applies (the nodes of its reverse-mode tape)."""
    return max(1, tape_stats(problem["f"], problem["arg"]).nodes)


#: our one-line calls into JAX's compiled functions: cProfile charges the C++ dispatch (and the arithmetic) of a
#: jitted function to its Python caller, so their own time is JAX's
_DISPATCH_POINTS = {("_core.py", "bind"), ("primitives.py", "impl"), ("primitives.py", "_power")}


def dispatch_share(call: Callable[[], object], repeat: int = 50) -> float:
    """Fraction of a call's profiled time spent in JAX (and jaxlib) itself: its functions, and the
    C++ time of jitted functions charged to the one-line calls into them (``_DISPATCH_POINTS``)."""
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(repeat):
        call()
    profile.disable()
    stats = pstats.Stats(profile).stats
    total = sum(tt for (_, _, tt, _, _) in stats.values())
    in_jax = sum(tt for (file, _, fn), (_, _, tt, _, _) in stats.items()
                 if f"{os.sep}jax{os.sep}" in file or f"{os.sep}jaxlib{os.sep}" in file
                 or (os.path.basename(file), fn) in _DISPATCH_POINTS)
    return in_jax / total if total else 0.0


def first_calls(make: Callable[[], Callable[[], object]]) -> tuple[float, float]:
    """Seconds of the first two calls of a freshly made staged derivative, nothing cached: the first
    traces and compiles its program (after :data:`staging.COMPILE_AFTER` op-by-op calls: the second
    then compiles), the second runs it."""
    staging.clear()
    call = make()
    times = []
    for _ in range(2):
        start = time.perf_counter()
        jax.block_until_ready(call())
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def measure(quick: bool, profile: bool, repeat: int) -> list[dict]:
    rows = []
    for problem in problems(quick):
        prims = _primitives(problem)
        calls = _derivatives(problem)
        firsts = {method: first_calls(lambda m=method, p=problem: _derivatives(p)[m])
                  for method in ("forward", "reverse") if method in calls}
        # interleaved rounds (load hits every method alike), each call timed right after one of its own; half the
        # rounds in reverse order: a call that follows a very different one (PyTorch after JAX) pays for the switch
        # even after its own untimed call, so each method keeps its time in the better of its two neighbourhoods
        forth = best_times(calls, rounds=max(1, repeat // 2), back_to_back=True)
        back = best_times(dict(reversed(calls.items())), rounds=max(1, repeat - repeat // 2), back_to_back=True)
        times = {method: min(forth[method], back[method]) for method in calls}
        for method, call in calls.items():
            seconds = times[method]
            row = dict(problem=problem["name"], method=method, ms=1e3 * seconds, primitives=prims,
                       us_per_primitive=1e6 * seconds / prims)
            if method in firsts:
                row["first_ms"], row["second_ms"] = (1e3 * t for t in firsts[method])
            if profile and method in ("forward", "reverse"):
                row["jax_share"] = dispatch_share(call, repeat=10 if quick else 30)
            rows.append(row)
    return rows


#: the peers each row is compared with, and their column headings
PEERS = {"jax eager": "vs jax eager", "autograd": "vs autograd", "torch eager": "vs torch eager"}


def notes(rows: list[dict], profile: bool) -> list[str]:
    """One line for every column that is left out or holds a "—"."""
    present = {r["method"] for r in rows}
    out = []
    if "autograd" not in present or "torch eager" not in present:
        missing = [name for name, method in (("HIPS autograd", "autograd"), ("PyTorch", "torch eager"))
                   if method not in present]
        out.append(f"{' and '.join(missing)} not installed, so its column is left out: "
                   "pip install 'diffcompare[compare]' adds it.")
    out.append("'—' in a peer's column: that peer has no like-for-like call for the problem (e.g. the R³ → R⁴ "
               "Jacobian); '1st call' is trace + compile of a staged derivative, '2nd call' the first cached one.")
    if profile:
        out.append("'in JAX' (forward and reverse rows only): the share of the call's time spent inside JAX's "
                   "dispatch rather than in diffcompare's own Python (cProfile).")
    else:
        out.append("--profile adds an 'in JAX' column: the share of forward's and reverse's time spent inside JAX.")
    return out


def table(rows: list[dict], profile: bool = False):
    """The measurements as a ``rich`` table: one row per problem and method, ratios to each peer measured."""
    from rich.table import Table

    device = jax.devices()[0]
    table = Table(title=f"eager time per derivative call on {device.platform}, float64 (best of repeats); "
                        "every row eager, none under jax.jit")
    present = {r["method"] for r in rows}
    peers = {peer: heading for peer, heading in PEERS.items() if peer in present}
    columns = ("problem", "method", "ms / call", "primitives", "µs / primitive", *peers.values(),
               "1st call ms", "2nd call ms", *(("in JAX",) if profile else ()))
    for column in columns:
        table.add_column(column, justify="left" if column in ("problem", "method") else "right", no_wrap=True)
    peer_ms = {peer: {r["problem"]: r["ms"] for r in rows if r["method"] == peer} for peer in peers}
    for r in rows:
        ratios = [f"{r['ms'] / ms[r['problem']]:.2f}×" if r["problem"] in ms else "—" for ms in peer_ms.values()]
        firsts = [f"{r[k]:.1f}" if k in r else "—" for k in ("first_ms", "second_ms")]
        share = [f"{100 * r['jax_share']:.0f}%" if "jax_share" in r else "—"] if profile else []
        table.add_row(r["problem"], r["method"], f"{r['ms']:.3f}", str(r["primitives"]),
                      f"{r['us_per_primitive']:.1f}", *ratios, *firsts, *share)
    return table


def main(quick: bool = False, profile: bool = False) -> list[dict]:
    """Measure and print the table (``diffcompare bench overhead``); returns its rows."""
    jax.config.update("jax_enable_x64", True)
    rows = measure(quick, profile, repeat=5 if quick else 20)

    from .. import _output as output

    console = output.console()
    console.print(table(rows, profile))
    for line in notes(rows, profile):
        console.print(line)
    return rows
