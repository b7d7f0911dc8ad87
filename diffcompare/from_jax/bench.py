"""What interpreting the jaxpr costs: from_jax's reverse-mode gradient against the same MLP in dnp and in JAX.

    diffcompare bench from-jax                      # widths 256 1024, depth 4, batch = width, float32
    diffcompare bench from-jax --widths 64      # quick

For each width it prints, side by side (the MLP of ``diffcompare.problems.models``, as in ``diffcompare bench reverse``,
written once with ``jax.numpy`` and ``jax.nn.relu``):

* eager: ``reverse.grad(from_jax(f))`` / ``reverse.grad`` of the same function in ``dnp`` (target ≤ 1.3);
* jit: ``jax.jit(reverse.grad(from_jax(f)))`` / ``jax.jit(jax.grad(f))`` (target ≤ 1.10);
* the same for the dnp function under jit, for scale.

Times are minima over interleaved rounds after a warm-up (``diffcompare.timing.best_times``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import reverse as rev
from ..problems.models import make_mlp, mlp_loss
from ..timing import best_times
from ._wrapper import from_jax


def jax_mlp_loss(params, x, y):
    """The reverse benchmark's ReLU MLP and mean squared error, in plain JAX."""
    h = x
    for p in params[:-1]:
        h = jax.nn.relu(h @ p["W"] + p["b"])
    out = h @ params[-1]["W"] + params[-1]["b"]
    return jnp.mean((out - y) ** 2)


def measure(width: int, depth: int = 4, dtype=jnp.float32, rounds: int = 5) -> dict:
    params, x, y = make_mlp(width, depth, dtype=dtype)
    traced = from_jax(jax_mlp_loss)
    fns = {
        "from_jax_eager_s": rev.grad(traced),
        "dnp_eager_s": rev.grad(mlp_loss),
        "from_jax_jit_s": jax.jit(rev.grad(traced)),
        "dnp_jit_s": jax.jit(rev.grad(mlp_loss)),
        "jax_jit_s": jax.jit(jax.grad(jax_mlp_loss)),
    }
    row = {"width": width, "depth": depth, "batch": width}
    row.update(best_times(fns, rounds=rounds, args=(params, x, y)))
    row["eager_ratio"] = row["from_jax_eager_s"] / row["dnp_eager_s"]
    row["jit_ratio"] = row["from_jax_jit_s"] / row["jax_jit_s"]
    row["dnp_jit_ratio"] = row["dnp_jit_s"] / row["jax_jit_s"]
    return row


def main(widths=(256, 1024), depth: int = 4, dtype: str = "float32", rounds: int = 7) -> list[dict]:
    """Measure and print one line per width (``diffcompare bench from-jax``); returns the rows."""
    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    device = jax.devices()[0]
    print(f"from_jax overhead: ReLU MLP, depth {depth}, batch = width, {dtype}, "
          f"device {device.platform} ({device.device_kind}), jax {jax.__version__}")
    print(f"{'width':>6} {'eager ms':>9} {'eager: from_jax/dnp':>20} {'jit: from_jax/jax':>18} {'jit: dnp/jax':>13}")
    rows = []
    for width in widths:
        r = measure(width, depth, jnp.dtype(dtype), rounds)
        rows.append(r)
        print(f"{width:>6} {1e3 * r['from_jax_eager_s']:>9.2f} {r['eager_ratio']:>20.3f} {r['jit_ratio']:>18.3f} "
              f"{r['dnp_jit_ratio']:>13.3f}", flush=True)
    print("eager: reverse.grad(from_jax(f)) over reverse.grad of the dnp MLP (target <= 1.3); jit: "
          "jax.jit(reverse.grad(from_jax(f))) over jax.jit(jax.grad(f)) (target <= 1.10)")
    return rows

