"""``diffcompare.numpy``: the one function language every method understands.

Write a function once with ``import diffcompare.numpy as dnp`` and Python
operators; it then runs

* on floats, NumPy and JAX arrays and JAX tracers: there ``dnp`` simply is
  ``jax.numpy``, so ``jax.grad``, ``jax.jit`` and ``jax.vmap`` work on it;
* on each engine's own values (dual numbers, tape nodes, expressions): ``dnp``
  hands the operation to the engine, which applies its rule.

The differentiable operations are the primitives of
:mod:`diffcompare.primitives` plus composites written here from them (a
comment on each says how). Comparisons and the other non-differentiable helpers
act on concrete values and have derivative 0, as in JAX.

The package's files are its parts, bottom to top:

* ``_normalise``: shapes, axes, indices and broadcasting checked and put in the
  form the engines expect; the ``composite`` and non-differentiable decorators;
* ``_bound``: the primitives bound to the innermost engine (``bind``);
* ``_shapes`` and ``_composites``: composites built from the primitives
  (shape and indexing; arithmetic, statistics and linear algebra);
* ``_creation``: arrays made from shapes and numbers;
* ``_nondifferentiable``: comparisons and the other helpers with derivative 0;
* ``_methods``: Python's operators and the NumPy-style methods of every engine
  value, installed on :class:`~diffcompare._core.EngineValue` on import.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from .. import _foreign
from .._core import bind, concrete  # noqa: F401 - reachable as dnp.bind, dnp.concrete
from ..errors import InvalidOptionError, ShapeMismatchError, UnsupportedOperationError  # noqa: F401
from ..primitives import PRIMITIVES as _P

# every primitive bound in ``_bound`` is part of dnp, so a new elementwise primitive (the README's
# recipe) needs no line here; the list above is what a reader and a linter see
from . import _bound as _bound_part
from ._bound import (  # noqa: F401
    abs,
    absolute,
    acos,
    acosh,
    add,
    amax,
    amin,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    asin,
    asinh,
    astype,
    atan,
    atan2,
    atanh,
    broadcast_to,
    cbrt,
    concatenate,
    conj,
    conjugate,
    cos,
    cosh,
    cumsum,
    divide,
    einsum,
    erf,
    erfc,
    erfinv,
    exp,
    exp2,
    expm1,
    getitem,
    imag,
    index_add,
    log,
    log1p,
    logaddexp,
    logaddexp2,
    logistic,
    logsumexp,
    matmul,
    max,
    maximum,
    min,
    minimum,
    multiply,
    negative,
    pow,
    power,
    prod,
    real,
    relu,
    reshape,
    rsqrt,
    sigmoid,
    sin,
    sinc,
    sinh,
    softmax,
    sqrt,
    stack,
    stop_gradient,
    subtract,
    sum,
    tan,
    tanh,
    transpose,
    true_divide,
    where,
)
from ._composites import (  # noqa: F401
    angle,
    clip,
    cross,
    deg2rad,
    degrees,
    diff,
    dot,
    fabs,
    fmax,
    fmin,
    inner,
    kron,
    linalg,
    log2,
    log10,
    log_softmax,
    mean,
    mod,
    nan_to_num,
    outer,
    rad2deg,
    radians,
    reciprocal,
    remainder,
    select,
    square,
    std,
    tensordot,
    trace,
    var,
    vdot,
)
from ._creation import (  # noqa: F401
    CREATION,
    arange,
    array,
    asarray,
    eye,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    tri,
    zeros,
    zeros_like,
)
from ._methods import install as _install
from ._nondifferentiable import (  # noqa: F401
    all,
    any,
    argmax,
    argmin,
    argsort,
    ceil,
    equal,
    floor,
    floor_divide,
    greater,
    greater_equal,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    logical_and,
    logical_not,
    logical_or,
    not_equal,
    round,
    sign,
    trunc,
)
from ._normalise import (  # noqa: F401
    COMPOSITES,
    NONDIFFERENTIABLE,
    _broadcast,
    composite,
    dtype_of,
    is_symbolic_condition,
    ndim,
    shape,
    size,
)
from ._shapes import (  # noqa: F401
    append,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    diag,
    diagonal,
    expand_dims,
    flip,
    fliplr,
    flipud,
    hstack,
    index_max,
    index_min,
    index_multiply,
    index_set,
    moveaxis,
    pad,
    partition,
    ravel,
    repeat,
    roll,
    rollaxis,
    rot90,
    sort,
    split,
    squeeze,
    swapaxes,
    take,
    take_along_axis,
    tile,
    tril,
    triu,
    vstack,
)

globals().update({name: getattr(_bound_part, name) for name in _P
                  if name not in globals() and hasattr(_bound_part, name)})

pi = math.pi
e = math.e
inf = math.inf
nan = math.nan
float32 = jnp.float32
float64 = jnp.float64
complex64 = jnp.complex64
complex128 = jnp.complex128


def supported() -> dict[str, list[str]]:
    """What ``dnp`` offers, by kind: primitives, composites, non-differentiable helpers, creation."""
    return {
        "primitives": list(_P),
        "composites": sorted(COMPOSITES),
        "nondifferentiable": sorted(NONDIFFERENTIABLE),
        "creation": list(CREATION),
    }


_install()  # every engine value gets its operators and methods from here
_foreign.offer(name for name, value in list(globals().items()) if callable(value) and not name.startswith("_"))
