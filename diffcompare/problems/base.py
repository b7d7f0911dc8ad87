"""What a problem of the zoo is: a function family, its inputs and its metadata."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .._core import ArrayValue, EngineValue, Trace, bind, concrete
from ..primitives import PRIMITIVES

KINK_PRIMITIVES = frozenset({"abs", "relu", "maximum", "minimum", "max", "min"})


@dataclasses.dataclass(frozen=True)
class Instance:
    """One problem at one size and one input: everything a method needs.

    Attributes:
        problem: the :class:`Problem` it came from.
        fun: the function, written with ``dnp``; data are closed over.
        args: the input, a tuple of positional arguments (arrays or pytrees).
        argnums: the arguments to differentiate (a tuple, as for ``jax.grad``).
        derivative: closed form ``derivative(*args)``: the gradient (scalar
            output) or the Jacobian (vector output), laid out as ``jax.grad`` /
            ``jax.jacobian(fun, argnums)`` would; None where there is none.
        size: the size parameter used.
    """

    problem: Problem
    fun: Callable
    args: tuple
    argnums: tuple[int, ...]
    derivative: Callable | None
    size: int | None

    @property
    def input_dim(self) -> int:
        return sum(int(np.size(leaf)) for i in self.argnums for leaf in jax.tree_util.tree_leaves(self.args[i]))

    @property
    def output_dim(self) -> int:
        return sum(int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(self.fun(*self.args)))

    @property
    def scalar_output(self) -> bool:
        out = jax.tree_util.tree_leaves(self.fun(*self.args))
        return len(out) == 1 and jnp.shape(out[0]) == ()

    def value(self):
        return self.fun(*self.args)


@dataclasses.dataclass(frozen=True)
class Problem:
    """A family of functions, one per size.

    Attributes:
        name: key in ``PROBLEMS``.
        title: the formula in one line.
        build: ``build(size, rng, dtype)`` -> ``(fun, args, derivative)``;
            ``rng`` is None for the course's own input.
        default_size: the size used when none is given (None: no size).
        sizes: sizes an experiment sweeps (small to large).
        has_kinks: uses relu/abs/max/min (random inputs stay away from kinks).
        data_dependent: value-dependent Python control flow (symbolic tracing refuses it).
        source: where it is in the course material (file and example).
        tags: free labels ("course", "network", "vector", ...).
    """

    name: str
    title: str
    build: Callable = dataclasses.field(repr=False)
    default_size: int | None = None
    sizes: tuple[int, ...] = ()
    has_kinks: bool = False
    data_dependent: bool = False
    source: str = ""
    tags: tuple[str, ...] = ()

    def make(self, size: int | None = None, seed: int | None = None, dtype: Any = "float64") -> Instance:
        """An instance at ``size`` (default: ``default_size``).

        ``seed=None`` gives the course's own input where the course has one
        (x = 1.5 for exp(x)/x²), otherwise the input of seed 0; an int gives a
        random input from that seed (data such as network weights' targets are
        always drawn from the seed, so the same call gives the same instance).
        """
        size = self.default_size if size is None else int(size)
        rng = None if seed is None else np.random.default_rng(seed)
        fun, args, derivative = self.build(size, rng, np.dtype(dtype))
        args = jax.tree_util.tree_map(lambda a: jnp.asarray(a, dtype=dtype), tuple(args))
        return Instance(self, fun, args, tuple(range(len(args))), derivative, size)

    def primitives(self, size: int | None = None) -> frozenset[str]:
        """The primitives the function uses, recorded by running it once."""
        inst = self.make(size=size if size is not None else (min(self.sizes) if self.sizes else None))
        return primitives_used(inst.fun, *inst.args)


class _RecordingTrace(Trace):
    """A tiny engine that computes with JAX and writes down every primitive it sees."""

    engine = "recorder"

    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def process(self, prim, operands, params):
        self.seen.add(prim.name)
        lowered = jax.tree_util.tree_map(
            lambda v: v.value if self.owns(v) else v, operands, is_leaf=lambda v: isinstance(v, EngineValue)
        )
        # bind, not impl: operands of an older trace go on down to their own engine
        return _Recorded(self, bind(prim, *lowered, **params))

    def concrete(self, value):
        return value.value


class _Recorded(ArrayValue):
    __slots__ = ()


def primitives_used(fun: Callable, *args) -> frozenset[str]:
    """The primitives of ``diffcompare.numpy`` that ``fun(*args)`` applies."""
    trace = _RecordingTrace()
    wrapped = jax.tree_util.tree_map(lambda a: _Recorded(trace, jnp.asarray(a)), args)
    out = fun(*wrapped)
    jax.tree_util.tree_map(concrete, out)
    assert set(trace.seen) <= set(PRIMITIVES)
    return frozenset(trace.seen)
