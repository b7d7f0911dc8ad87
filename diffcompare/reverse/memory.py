"""Memory made visible: what the tape holds, and checkpointing to hold less.

Reverse mode keeps every intermediate value of the forward pass until the
backward sweep has used it: O(number of operations) memory. :func:`tape_stats`
counts the nodes and the bytes of values a tape holds. :func:`checkpoint`
trades time for memory (Griewank's checkpointing, ``jax.checkpoint``): a
checkpointed segment is recorded as ONE node that keeps only its inputs and
its output; on the backward sweep the segment is run again on a fresh tape and
swept there, so its intermediates live only while that segment is swept.
"""

from __future__ import annotations

import dataclasses
import functools

import jax

from .._core import top_trace
from .tape import Node, ReverseTrace, backward, nbytes


@dataclasses.dataclass(frozen=True)
class TapeStats:
    """What a tape holds.

    Attributes:
        nodes: recorded operations (input leaves not counted).
        bytes: bytes of the values those nodes keep for the backward sweep.
        inputs: input leaves; by_op: node count per operation name.
    """

    nodes: int
    bytes: int
    inputs: int
    by_op: dict

    def __str__(self) -> str:
        return f"{self.nodes} nodes, {_readable_bytes(self.bytes)} kept for the backward sweep"


def _readable_bytes(n: int) -> str:
    """``n`` bytes in the unit that shows it (never "0.00 MiB" for a small tape)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} bytes"


def stats(trace: ReverseTrace) -> TapeStats:
    """The statistics of a recorded tape."""
    inner = [n for n in trace.tape if n.op != "input"]
    by_op: dict[str, int] = {}
    for n in inner:
        by_op[n.op] = by_op.get(n.op, 0) + 1
    return TapeStats(len(inner), sum(nbytes(n.value) for n in inner), len(trace.tape) - len(inner), by_op)


def tape_stats(f, *args) -> TapeStats:
    """Record ``f(*args)`` (every argument an input) and report what the tape holds.

    Example:
        >>> tape_stats(lambda x: dnp.sum(dnp.exp(x) * x), jnp.ones(1000))
        TapeStats(nodes=3, bytes=16008, ...)
    """
    trace = ReverseTrace()
    f(*jax.tree_util.tree_map(trace.input, args))
    return stats(trace)


def checkpoint(fn):
    """Wrap ``fn`` (arrays or pytrees in, one array out) so the tape keeps only its inputs and output.

    Outside the reverse engine (plain arrays, JAX tracers, other engines) the
    wrapped function is simply ``fn``. On the tape it is one node
    ``checkpoint(fn)``; its pullback recomputes ``fn`` on a fresh tape and
    sweeps it, so the gradients are those without checkpointing, at the price
    of one more forward pass of the segment.
    """

    @functools.wraps(fn)
    def wrapped(*args):
        leaves, treedef = jax.tree_util.tree_flatten(args)
        trace = top_trace(leaves)  # dicts too: a layer's parameters
        if getattr(trace, "staging", False):  # a staged recording cannot hold a checkpoint node: op by op
            trace.fail("checkpoint")
        if not isinstance(trace, ReverseTrace):
            return fn(*args)
        values = [trace.lower(x) for x in leaves]
        out = fn(*jax.tree_util.tree_unflatten(treedef, values))  # not recorded on this tape

        def pullback(g):
            inner = ReverseTrace()
            inputs = [inner.input(v) if trace.owns(x) else v for x, v in zip(leaves, values)]
            result = fn(*jax.tree_util.tree_unflatten(treedef, inputs))
            adjoints = backward(inner, [result], [g])
            return [adjoints.get(id(n)) if isinstance(n, Node) else None for n in inputs]

        return Node(trace, out, leaves, f"checkpoint({getattr(fn, '__name__', 'fn')})", pullback=pullback)

    return wrapped
