"""memory: what reverse mode's tape holds as the network gets deeper, and what checkpointing saves.

Reverse mode keeps every intermediate value of the forward pass until the
backward sweep has used it, so the tape grows linearly with depth.
Checkpointing (``diffcompare.reverse.checkpoint``, Griewank's method, as
``jax.checkpoint``) records a segment as one node holding only its inputs and
output and recomputes it during the backward sweep: the tape shrinks, the
peak adds one segment's recomputed tape, and the gradient costs one more
forward pass of each segment. Two policies: every hidden layer its own
segment, and √depth segments of √depth layers.

Bytes are counted exactly from the tape (``reverse.tape_stats``); the peak is
the tape plus the largest segment's tape during its recomputation. Times are
the eager engine's gradient, minimum over interleaved rounds.
"""

from __future__ import annotations

import math

from ..methods import METHODS
from ..problems.models import head_loss, layer, make_mlp, mlp_loss
from ..timing import best_times
from . import plotting
from ._common import attempt

NAME = "memory"
TITLE = "Reverse-mode memory against depth, with and without checkpointing"
SUMMARY = "tape bytes of reverse mode against depth, with and without checkpointing, and checkpointing's time cost"
POLICIES = ("reverse", "reverse (checkpoint every layer)", "reverse (checkpoint √depth segments)")


def points(cfg):
    depths = cfg.pick((2, 4), (2, 4, 8, 16, 32), (2, 4, 8, 16, 32, 64, 128))
    return [{"depth": d, "width": cfg.pick(16, 64, 128)} for d in depths]


def _segments(depth: int, policy: str) -> int:
    hidden = depth - 1
    if policy.endswith("every layer)"):
        return 1
    return max(1, math.ceil(math.sqrt(hidden)))


def _loss(policy: str, depth: int):
    """The loss with the hidden layers grouped into checkpointed segments of ``size`` layers."""
    if policy == "reverse" or depth < 2:
        return mlp_loss, None
    rev = METHODS["reverse"]
    size = _segments(depth, policy)

    def segment(ps, h):
        for p in ps:
            h = layer(p, h)
        return h

    checked = rev.checkpoint(segment)

    def loss(params, x, y):
        h = x
        hidden = params[:-1]
        for i in range(0, len(hidden), size):
            h = checked(hidden[i:i + size], h)
        return head_loss(params[-1], h, y)

    return loss, (segment, size)


def measure(point, cfg):
    rev = METHODS["reverse"]
    depth, width = point["depth"], point["width"]
    params, x, y = make_mlp(width, depth, dtype=cfg.dtype, seed=cfg.seed)
    rows, grads = [], {}
    for policy in POLICIES:
        loss, seg = _loss(policy, depth)

        def stats(loss=loss, seg=seg):
            tape = rev.tape_stats(lambda p: loss(p, x, y), params)
            extra = 0
            if seg is not None:
                segment, size = seg
                extra = rev.tape_stats(lambda ps, h: segment(ps, h), params[:size], x).bytes
            return tape, extra

        value, status, message = attempt(stats)
        row = {"policy": policy, "status": status, "message": message}
        if status == "ok":
            tape, extra = value
            row.update(nodes=tape.nodes, tape_bytes=tape.bytes, peak_bytes=tape.bytes + extra)
            grads[policy] = rev.grad(loss, staged=False)  # the tape measured above, swept op by op
        rows.append(row)
    times, status, message = attempt(lambda: best_times(grads, cfg.pick(2, 5, 7), args=(params, x, y)))
    base = times.get("reverse") if status == "ok" else None
    for row in rows:
        t = times.get(row["policy"]) if status == "ok" else None
        row["t_grad_s"] = t
        row["time_overhead"] = t / base if (t and base) else None
        if status != "ok" and row["status"] == "ok":
            row.update(status=status, message=message)
    return rows


def plot(rows, cfg, outdir):
    with plotting.style():
        fig, (ax1, ax2) = plotting.plt.subplots(1, 2, figsize=(11, 4.3))
        for policy in POLICIES:
            sel = sorted((r for r in rows if r["policy"] == policy and r.get("tape_bytes") is not None),
                         key=lambda r: r["depth"])
            if not sel:
                continue
            d = [r["depth"] for r in sel]
            plotting.line(ax1, d, [r["tape_bytes"] / 2**10 for r in sel], f"{policy}: tape", style_label=policy)
            if policy != "reverse":
                ax1.plot(d, [r["peak_bytes"] / 2**10 for r in sel], color=plotting.color_of(policy), ls=":",
                         marker=plotting.marker_of(policy), mfc="none", label=f"{policy}: peak")
            timed = [r for r in sel if r.get("time_overhead") is not None]
            plotting.line(ax2, [r["depth"] for r in timed], [r["time_overhead"] for r in timed], policy)
        width = rows[0]["width"] if rows else ""
        plotting.log2_axis(ax1)
        plotting.log2_axis(ax2)
        ax1.set(yscale="log", xlabel="depth (layers)", ylabel="memory held by the tape (KiB)",
                title=f"Tape size, ReLU MLP of width {width}, batch {width}")
        ax2.axhline(1, color="k", lw=0.6)
        ax2.set(xlabel="depth (layers)", ylabel="gradient time / without checkpointing",
                title="Checkpointing's time overhead (eager engine)")
        ax1.legend(fontsize=7.5)
        ax2.legend(fontsize=7.5)
        return plotting.save(fig, outdir, "memory")


def headline(rows, cfg):
    out = []
    deepest = max((r["depth"] for r in rows), default=None)
    by = {r["policy"]: r for r in rows if r["depth"] == deepest and r.get("tape_bytes") is not None}
    base = by.get("reverse")
    if base:
        sel = sorted((r for r in rows if r["policy"] == "reverse" and r.get("tape_bytes")), key=lambda r: r["depth"])
        growth = (sel[-1]["tape_bytes"] / sel[0]["tape_bytes"]) / (sel[-1]["depth"] / sel[0]["depth"])
        out.append(f"without checkpointing the tape grows linearly with depth ({growth:.2f} × the depth ratio); "
                   f"{base['tape_bytes'] / 2**20:.2f} MiB at depth {deepest}")
        for policy in POLICIES[1:]:
            r = by.get(policy)
            if r:
                overhead = f"{r['time_overhead']:.2f}×" if r.get("time_overhead") else "n/a"
                out.append(f"{policy} at depth {deepest}: tape {r['tape_bytes'] / base['tape_bytes']:.0%} and peak "
                           f"{r['peak_bytes'] / base['tape_bytes']:.0%} of the plain tape; gradient time {overhead}")
    return out
