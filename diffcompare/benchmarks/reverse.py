"""Benchmark of the reverse engine on MLPs: its gradient against its forward pass and against JAX.

    diffcompare bench reverse                 # widths 256 1024 4096, depth 4, batch = width
    diffcompare bench reverse --quick      # widths 64 256 1024 (a couple of minutes on 2 cores)

For each width it prints, side by side:

* eager gradient / eager forward (the course's "4-5 forward passes" bound);
* ``jax.jit`` of the engine's gradient / ``jax.jit(jax.grad)`` (the tape is
  built at trace time, so XLA compiles the same backward pass);
* eager engine gradient / eager ``jax.grad``;
* the tape's saved bytes with and without checkpointing every layer, and the
  time checkpointing costs.

Times are the minimum over interleaved rounds after a warm-up, on whatever device JAX
uses (the table says which).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .. import reverse as rev
from ..problems.models import layer, make_mlp, mlp_loss
from ..reverse.memory import tape_stats
from ..timing import best_times


def checkpointed_loss(params, x, y):
    return mlp_loss(params, x, y, segment=rev.checkpoint(layer))


def measure(width: int, depth: int = 4, dtype=jnp.float32, rounds: int = 5) -> dict:
    params, x, y = make_mlp(width, depth, dtype=dtype)
    engine_grad = rev.grad(mlp_loss)
    jax_grad = jax.grad(mlp_loss)
    fns = {
        "forward_s": mlp_loss,
        "engine_s": engine_grad,
        "jax_eager_s": jax_grad,
        "engine_jit_s": jax.jit(engine_grad),
        "jax_jit_s": jax.jit(jax_grad),
        "engine_op_s": rev.grad(mlp_loss, staged=False),  # op by op, as a checkpointed gradient runs
        "ckpt_s": rev.grad(checkpointed_loss),
    }
    row = {"width": width, "depth": depth, "batch": width}
    row.update(best_times(fns, rounds, args=(params, x, y)))
    plain = tape_stats(lambda p: mlp_loss(p, x, y), params)
    ckpt = tape_stats(lambda p: checkpointed_loss(p, x, y), params)
    row.update(nodes=plain.nodes, bytes=plain.bytes, ckpt_nodes=ckpt.nodes, ckpt_bytes=ckpt.bytes)
    return row


def main(widths: list[int] | None = None, depth: int = 4, quick: bool = False, dtype: str = "float32",
         rounds: int | None = None) -> list[dict]:
    """Measure and print one line per width (``diffcompare bench reverse``); returns the rows."""
    if dtype == "float64":
        jax.config.update("jax_enable_x64", True)
    widths = widths or ([64, 256, 1024] if quick else [256, 1024, 4096])
    rounds = rounds or (5 if quick else 7)
    device = jax.devices()[0]
    print(f"reverse-mode benchmark: ReLU MLP, depth {depth}, batch = width, {dtype}, "
          f"device {device.platform} ({device.device_kind}), jax {jax.__version__}")
    header = (f"{'width':>6} {'fwd ms':>9} {'grad/fwd':>9} {'jit: eng/jax':>13} {'eager: eng/jax':>15} "
              f"{'jax grad/fwd':>13} {'nodes':>6} {'saved MiB':>10} {'ckpt MiB':>9} {'ckpt time':>10}")
    print(header)
    rows = []
    for w in widths:
        r = measure(w, depth, jnp.dtype(dtype), rounds)
        rows.append(r)
        print(f"{w:>6} {1e3 * r['forward_s']:>9.2f} {r['engine_s'] / r['forward_s']:>9.2f} "
              f"{r['engine_jit_s'] / r['jax_jit_s']:>13.3f} {r['engine_s'] / r['jax_eager_s']:>15.3f} "
              f"{r['jax_eager_s'] / r['forward_s']:>13.2f} {r['nodes']:>6} {r['bytes'] / 2**20:>10.2f} "
              f"{r['ckpt_bytes'] / 2**20:>9.2f} {r['ckpt_s'] / r['engine_op_s']:>9.2f}x", flush=True)
    print("grad/fwd: eager engine gradient over eager forward pass; jit: jax.jit(reverse.grad) over "
          "jax.jit(jax.grad); eager: engine over un-jitted jax.grad; ckpt: every hidden layer checkpointed "
          "(saved bytes of the tape, and gradient time relative to no checkpointing, both op by op: a staged "
          "gradient runs as one compiled program, a checkpointed one op by op)")
    return rows
