"""Eager overhead: time per call and per recorded primitive of each method on small problems.

Students call the engines eagerly on small functions, where Python around the
arithmetic, not the arithmetic, sets the time. For the scalar course example
(d/dx exp(x)/x² at 1.5), an R³ → R⁴ map and tanh MLPs (depth 4, batch 64) of
width 16, 64, 256 and 1024, this prints the best eager time per derivative call of
forward mode, reverse mode, ``jax.grad``/``jax.jacfwd`` (eager, no jit) and
PyTorch autograd when ``torch`` is installed (optional), the ratios to both, the
time per recorded primitive, and (``--profile``) the share of each engine's time
spent inside JAX's dispatch rather than in diffcompare's own Python. Forward
mode's gradient is left out above :data:`FORWARD_MAX_INPUTS` inputs (one pass
per input: minutes per call). Each call is timed right after an untimed call of
itself, in interleaved rounds (``timing.best_times(back_to_back=True)``).

    diffcompare bench overhead [--quick] [--profile]
"""

from __future__ import annotations

import cProfile
import os
import pstats
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import forward, reverse
from .. import numpy as dnp
from ..reverse.memory import tape_stats
from ..timing import best_times


def _exp_over_square(x):
    return dnp.exp(x) / x**2


def _r3_to_r4(x):
    return dnp.stack([x[0] * x[1], dnp.sin(x[2]) + x[0], dnp.exp(x[1]) * x[2], x[0] ** 2 - x[1] * x[2]])


def _mlp_problem(width: int, depth: int = 4, batch: int = 64, seed: int = 0):
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
    for width in (16,) if quick else (16, 64, 256, 1024):
        loss, params, data = _mlp_problem(width)
        rows.append(dict(name=f"tanh MLP width {width}", f=loss, arg=params, kind="grad", mlp=data))
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
        "jax eager": (jax.grad if kind == "grad" else jax.jacfwd)(f),
    }
    if _inputs(problem) > FORWARD_MAX_INPUTS:
        del calls["forward"]
    out = {name: (lambda d=d: d(arg)) for name, d in calls.items()}
    torch_call = _torch_derivative(problem)
    if torch_call is not None:
        out["torch eager"] = torch_call
    return out


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


def measure(quick: bool, profile: bool, repeat: int) -> list[dict]:
    rows = []
    for problem in problems(quick):
        prims = _primitives(problem)
        calls = _derivatives(problem)
        # interleaved rounds (load hits every method alike), each call timed right after one of its own
        times = best_times(calls, rounds=repeat, back_to_back=True)
        for method, call in calls.items():
            seconds = times[method]
            row = dict(problem=problem["name"], method=method, ms=1e3 * seconds, primitives=prims,
                       us_per_primitive=1e6 * seconds / prims)
            if profile and method in ("forward", "reverse"):
                row["jax_share"] = dispatch_share(call, repeat=10 if quick else 30)
            rows.append(row)
    return rows


def notes(rows: list[dict], torch_installed: bool, profile: bool) -> list[str]:
    """One line for every column that is left out or holds a "—"."""
    out = []
    if not torch_installed:
        out.append("PyTorch is not installed, so there is no 'vs torch eager' column: "
                   "pip install 'diffcompare[compare]' adds it.")
    elif any(r["method"] == "jax eager" and r["problem"] not in {t["problem"] for t in rows
                                                                 if t["method"] == "torch eager"} for r in rows):
        out.append("'vs torch eager' is '—' where PyTorch has no like-for-like eager call (the R³ → R⁴ Jacobian).")
    if profile:
        out.append("'in JAX' (forward and reverse rows only): the share of the call's time spent inside JAX's "
                   "dispatch rather than in diffcompare's own Python (cProfile).")
    else:
        out.append("--profile adds an 'in JAX' column: the share of forward's and reverse's time spent inside JAX.")
    return out


def main(quick: bool = False, profile: bool = False) -> list[dict]:
    """Measure and print the table (``diffcompare bench overhead``); returns its rows."""
    jax.config.update("jax_enable_x64", True)
    rows = measure(quick, profile, repeat=5 if quick else 20)

    from rich.table import Table

    from .. import _output as output

    device = jax.devices()[0]
    torch_ms = {r["problem"]: r["ms"] for r in rows if r["method"] == "torch eager"}
    table = Table(title=f"eager time per derivative call on {device.platform}, float64 (best of repeats); "
                        "every row eager, none under jax.jit")
    columns = ["problem", "method", "ms / call", "primitives", "µs / primitive", "vs jax eager"]
    columns += ["vs torch eager"] if torch_ms else []
    columns += ["in JAX"] if profile else []
    for column in columns:
        table.add_column(column, justify="left" if column in ("problem", "method") else "right", no_wrap=True)
    reference = {r["problem"]: r["ms"] for r in rows if r["method"] == "jax eager"}
    for r in rows:
        cells = [r["problem"], r["method"], f"{r['ms']:.3f}", str(r["primitives"]), f"{r['us_per_primitive']:.1f}",
                 f"{r['ms'] / reference[r['problem']]:.2f}×"]
        if torch_ms:
            cells.append(f"{r['ms'] / torch_ms[r['problem']]:.2f}×" if r["problem"] in torch_ms else "—")
        if profile:
            cells.append(f"{100 * r['jax_share']:.0f}%" if "jax_share" in r else "—")
        table.add_row(*cells)
    console = output.console()
    console.print(table)
    for line in notes(rows, bool(torch_ms), profile):
        console.print(line)
    return rows
