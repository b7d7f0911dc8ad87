"""Benchmark of forward mode: JVP cost against the function, Jacobians against ``jax.jacfwd``.

    diffcompare bench forward            # default sizes
    diffcompare bench forward --quick    # small sizes (under a minute on 2 cores)

Everything is compiled with ``jax.jit`` (the dual numbers hold JAX tracers, so
XLA compiles the whole forward sweep). It prints, side by side:

* JVP time / f time for the engine and for ``jax.jvp`` (the bound to meet: 3×);
* the Jacobian of a tall map (n < m, forward mode's good case) and of an MLP
  layer stack, engine (vector mode) / ``jax.jacfwd`` (the bound: 1.2×).

Times are the minimum over interleaved rounds after a warm-up, on whatever
device JAX uses (the header says which).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .. import forward as fwd
from .. import numpy as dnp
from ..timing import best_times

JVP_BOUND, JACOBIAN_BOUND = 3.0, 1.2


def course_example(x):
    """The course's f(x) = sqrt(x² + exp(x²)) + cos(x² + exp(x²)), summed over a vector."""
    u = x**2 + dnp.exp(x**2)
    return dnp.sum(dnp.sqrt(u) + dnp.cos(u))


def make_mlp(n: int, width: int, m: int, depth: int, dtype, seed: int = 0):
    """A tanh MLP R^n -> R^m with ``depth`` hidden layers of ``width`` (parameters closed over)."""
    rng = np.random.default_rng(seed)
    sizes = [n] + [width] * depth + [m]
    layers = [
        (jnp.asarray(rng.normal(size=(a, b)) / np.sqrt(a), dtype), jnp.asarray(0.1 * rng.normal(size=b), dtype))
        for a, b in zip(sizes[:-1], sizes[1:])
    ]

    def mlp(x):
        for w, b in layers[:-1]:
            x = dnp.tanh(x @ w + b)
        w, b = layers[-1]
        return x @ w + b

    return mlp


def make_tall_map(n: int, m: int, dtype, seed: int = 1):
    """R^n -> R^m with n < m: a dense map followed by elementwise functions."""
    a = jnp.asarray(np.random.default_rng(seed).normal(size=(m, n)) / np.sqrt(n), dtype)

    def tall(x):
        z = a @ x
        return dnp.sin(z) * dnp.exp(-0.5 * z * z) + dnp.log1p(z * z)

    return tall


def jvp_rows(sizes, dtype, rounds, repeat):
    rows = []
    for name, f, n in [
        ("course example, elementwise", course_example, sizes["elementwise"]),
        ("MLP layer stack", make_mlp(sizes["mlp_n"], sizes["width"], sizes["mlp_m"], sizes["depth"], dtype), None),
        ("tall map", make_tall_map(sizes["tall_n"], sizes["tall_m"], dtype), None),
    ]:
        n = n or (sizes["mlp_n"] if name.startswith("MLP") else sizes["tall_n"])
        rng = np.random.default_rng(0)
        x = jnp.asarray(rng.normal(size=n), dtype)
        v = jnp.asarray(rng.normal(size=n), dtype)
        f_jit = jax.jit(f)
        ours = jax.jit(lambda x, v, f=f: fwd.jvp(f, (x,), (v,)))
        theirs = jax.jit(lambda x, v, f=f: jax.jvp(f, (x,), (v,)))
        calls = {
            "f": lambda f_jit=f_jit, x=x: f_jit(x),
            "ours": lambda ours=ours, x=x, v=v: ours(x, v),
            "jax": lambda theirs=theirs, x=x, v=v: theirs(x, v),
        }
        t = best_times(calls, rounds * repeat)
        rows.append((name, n, t["f"], t["ours"], t["jax"]))
    return rows


def jacobian_rows(sizes, dtype, rounds, repeat):
    rows = []
    for name, f, n, m in [
        ("tall map (n < m)", make_tall_map(sizes["tall_n"], sizes["tall_m"], dtype), sizes["tall_n"], sizes["tall_m"]),
        ("MLP layer stack", make_mlp(sizes["mlp_n"], sizes["width"], sizes["mlp_m"], sizes["depth"], dtype),
         sizes["mlp_n"], sizes["mlp_m"]),
    ]:
        x = jnp.asarray(np.random.default_rng(0).normal(size=n), dtype)
        ours, theirs = jax.jit(fwd.jacobian(f)), jax.jit(jax.jacfwd(f))
        err = float(jnp.max(jnp.abs(ours(x) - theirs(x))) / jnp.max(jnp.abs(theirs(x))))
        calls = {"ours": lambda ours=ours, x=x: ours(x), "jax": lambda theirs=theirs, x=x: theirs(x)}
        t = best_times(calls, rounds * repeat)
        rows.append((name, n, m, t["ours"], t["jax"], err))
    return rows


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def main(quick: bool = False, dtype: str = "float64", rounds: int | None = None) -> dict:
    """Measure and print both tables (``diffcompare bench forward``); returns their rows."""
    name = dtype
    if name == "float64":
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.dtype(name)
    if quick:
        sizes = dict(elementwise=10_000, mlp_n=32, width=128, mlp_m=16, depth=3, tall_n=16, tall_m=512)
    else:
        sizes = dict(elementwise=1_000_000, mlp_n=128, width=512, mlp_m=64, depth=4, tall_n=64, tall_m=4096)
    rounds = rounds or (3 if quick else 5)
    repeat = 5 if quick else 10

    from rich.table import Table

    from .. import _output as output

    console = output.console()
    device = jax.devices()[0]
    console.print(f"forward mode under jax.jit on {device.platform} ({device.device_kind}), {name}")

    jvps = jvp_rows(sizes, dtype, rounds, repeat)
    table = Table(title=f"JVP time / f time (bound {JVP_BOUND:g}x)")
    for col in ("function", "n", "f ms", "forward.jvp ms", "jax.jvp ms", "forward / f", "jax / f", "ok"):
        table.add_column(col, justify="left" if col == "function" else "right")
    for name, n, tf, to, tj in jvps:
        table.add_row(name, str(n), _ms(tf), _ms(to), _ms(tj), f"{to / tf:.2f}", f"{tj / tf:.2f}",
                      "yes" if to / tf <= JVP_BOUND else "NO")
    console.print(table)

    jacs = jacobian_rows(sizes, dtype, rounds, repeat)
    table = Table(title=f"Jacobian: forward.jacobian / jax.jacfwd (bound {JACOBIAN_BOUND:g}x)")
    for col in ("function", "n", "m", "forward.jacobian ms", "jax.jacfwd ms", "ratio", "rel. error", "ok"):
        table.add_column(col, justify="left" if col == "function" else "right")
    for name, n, m, to, tj, err in jacs:
        table.add_row(name, str(n), str(m), _ms(to), _ms(tj), f"{to / tj:.2f}", f"{err:.1e}",
                      "yes" if to / tj <= JACOBIAN_BOUND else "NO")
    console.print(table)
    return {"jvp": jvps, "jacobian": jacs, "device": device.platform}
