"""What every method shares: argnums, pytrees, input checks, Jacobian layout.

A method implements its idea on flat vectors; these helpers give it JAX's
calling conventions (``argnums``, keyword arguments passed through to ``f``,
pytree inputs and outputs, the nested layout of ``jax.jacobian``) and the
library's errors for bad input. A method's wrapper is written once::

    @_api.differentiating(f, argnums, "forward.jacobian")
    def wrapped(call):            # call.diff: the differentiated argument(s); call.fun(diff) = f(...)
        ...
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _foreign
from . import numpy as dnp
from ._core import ArrayImpl, EngineValue, Scope, check_alive, new_level, top_trace
from .errors import (
    ForeignFunctionError,
    InvalidInputError,
    InvalidOptionError,
    InvalidOutputError,
    NonScalarOutputError,
    PrecisionWarning,
    ShapeMismatchError,
)


def normalize_argnums(argnums, nargs: int, fname: str) -> tuple[tuple[int, ...], bool]:
    """``argnums`` as a tuple of indices, and whether the caller gave a tuple."""
    is_tuple = isinstance(argnums, (tuple, list))
    items = tuple(argnums) if is_tuple else (argnums,)
    if is_tuple and not items:
        raise InvalidOptionError(f"{fname}: argnums is empty; name at least one argument to differentiate")
    out = []
    for a in items:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise InvalidOptionError(f"{fname}: argnums must be an int or a tuple of ints, got {argnums!r}")
        if not -nargs <= a < nargs:
            raise InvalidOptionError(
                f"{fname}: argnums={argnums!r} but the function was called with {nargs} positional "
                f"argument(s); pass an index below {nargs}"
            )
        out.append(int(a) % nargs)
    if len(set(out)) != len(out):
        raise InvalidOptionError(
            f"{fname}: argnums={argnums!r} names the same argument twice; list each argument to "
            "differentiate once"
        )
    return tuple(out), is_tuple


@dataclasses.dataclass(frozen=True)
class Selection:
    """The arguments being differentiated, and how to put them back."""

    argnums: tuple[int, ...]
    is_tuple: bool

    def pick(self, args: Sequence) -> Any:
        if self.is_tuple:
            return tuple(args[i] for i in self.argnums)
        return args[self.argnums[0]]

    def rebuild(self, args: Sequence, diff) -> tuple:
        args = list(args)
        parts = diff if self.is_tuple else (diff,)
        for i, value in zip(self.argnums, parts):
            args[i] = value
        return tuple(args)

    @property
    def jax_argnums(self):
        """``argnums`` as the caller gave it (an int or a tuple), for JAX's own transformations."""
        return self.argnums if self.is_tuple else self.argnums[0]


def select(args: Sequence, argnums, fname: str) -> Selection:
    nums, is_tuple = normalize_argnums(argnums, len(args), fname)
    return Selection(nums, is_tuple)


@dataclasses.dataclass(frozen=True)
class Call:
    """One call of a method's wrapped function.

    Attributes:
        f: the user's function; args, kwargs: what the call passed (keywords go to ``f`` as they are,
        never differentiated, as in ``jax.grad``); sel: which arguments are differentiated;
        name: the method's function name for messages.
    """

    f: Callable
    args: tuple
    kwargs: dict
    sel: Selection
    name: str

    @property
    def diff(self):
        """The differentiated argument(s): one pytree, a tuple of them when ``argnums`` is a tuple."""
        return self.sel.pick(self.args)

    def fun(self, diff):
        """``f`` as a function of the differentiated argument(s) alone."""
        return self.f(*self.sel.rebuild(self.args, diff), **self.kwargs)


def prepare(f: Callable, args: tuple, kwargs: dict, argnums, name: str, allow_complex: bool = False) -> Call:
    """Select the differentiated arguments and check them: the preamble of every method's wrapper."""
    sel = select(args, argnums, name)
    check_differentiable(sel.pick(args), name, allow_complex=allow_complex)
    return Call(f, tuple(args), dict(kwargs), sel, name)


def differentiating(f: Callable, argnums, name: str, allow_complex: bool = False):
    """Decorator for a method's body ``body(call) -> result``: the function the user calls
    with ``f``'s arguments (see :func:`prepare`), run in a :func:`transformation`'s scope."""

    def decorate(body):
        @wraps(f, name)
        def wrapped(*args, **kwargs):  # (transformation's scope written out: one call less per derivative)
            with Scope(name, f) as scope:
                result = body(prepare(f, args, kwargs, argnums, name, allow_complex))
            return scope.check_result(result)

        return wrapped

    return decorate


def transformation(f: Callable, name: str):
    """Decorator for the function a method returns (``grad(f)``): :func:`wraps` it, and run each call
    in a :class:`~diffcompare._core.Scope` named after ``name`` and ``f``, so a value that escapes ``f``
    is refused once the call has returned (and so is a result that holds a finished call's value)."""

    def decorate(g):
        @wraps(f, name)
        def wrapped(*args, **kwargs):
            with Scope(name, f) as scope:
                result = g(*args, **kwargs)
            return scope.check_result(result)

        return wrapped

    return decorate


def scoped(name: str):
    """Decorator for a method entry point ``entry(f, ...)`` that is not written with
    :func:`differentiating` (``jvp``, ``vjp``): it runs in a :class:`~diffcompare._core.Scope` named
    after ``name`` and ``f``, so values that escape ``f`` are refused once it has returned."""

    def decorate(entry):
        @functools.wraps(entry)
        def wrapped(f, *args, **kwargs):
            with Scope(name, f) as scope:
                result = entry(f, *args, **kwargs)
            return scope.check_result(result)

        return wrapped

    return decorate


def leaf_dtype(leaf):
    """The dtype of a leaf (a Python number's as JAX would take it), or None for what is no number."""
    if isinstance(leaf, bool):
        return np.dtype(bool)
    if isinstance(leaf, int):
        return np.dtype(np.int64)
    if isinstance(leaf, float):
        return np.dtype(np.float64)
    if isinstance(leaf, complex):
        return np.dtype(np.complex128)
    dtype = getattr(leaf, "dtype", None)
    return None if dtype is None else np.dtype(dtype)


def check_differentiable(tree, fname: str, what: str = "input", allow_complex: bool = False) -> None:
    """Refuse leaves that cannot be differentiated (complex ones too: see :func:`refuse_complex`; only the
    JAX reference, which is JAX, passes ``allow_complex``), and warn about lost float64."""
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        raise InvalidInputError(f"{fname}: the {what} to differentiate has no arrays in it")
    wants_x64, checked = False, set()
    for leaf in leaves:
        dtype = leaf_dtype(leaf)
        if dtype in checked:  # the parameters of a model share a few dtypes: check each once
            continue
        checked.add(dtype)
        if dtype is None:
            raise InvalidInputError(
                f"{fname}: the {what} holds a {type(leaf).__name__}, which is not a number or an array; "
                "pass floats, arrays, or dicts/lists/tuples of them"
            )
        if not jnp.issubdtype(dtype, jnp.inexact):  # jnp's test knows bfloat16 and float16 too
            raise InvalidInputError(
                f"{fname}: the {what} has dtype {dtype}; derivatives need floating-point inputs: "
                "write 1.0 instead of 1, or convert with dnp.asarray(x, dtype=float)"
            )
        if dtype.kind == "c" and not allow_complex:
            refuse_complex(tree, fname, what)
        if dtype in (np.float64, np.complex128):
            wants_x64 = True
    if wants_x64 and not jax.config.jax_enable_x64:
        warnings.warn(
            f"{fname}: float64 inputs, but JAX computes in float32, so accuracy is float32's; "
            "call diffcompare.enable_x64() first",
            PrecisionWarning,
            stacklevel=3,
        )


#: why every method refuses complex numbers, and what to do instead (one text for every refusal)
COMPLEX_ADVICE = (
    "diffcompare's methods differentiate real functions of real inputs only (JAX's conventions for complex "
    "derivatives are not implemented, and a wrong number would be worse than none): pass the real and "
    "imaginary parts as separate real arrays, f(x, y) with z = x + 1j * y, or use jax.grad / jax.vjp on complex "
    "inputs (holomorphic=True for a holomorphic f)"
)


def _is_complex(leaf) -> bool:
    dtype = leaf_dtype(leaf)
    return dtype is not None and dtype.kind == "c"


def refuse_complex(tree, fname: str, what: str) -> None:
    """Refuse a complex leaf of ``tree`` (an input, a tangent, a cotangent), naming where it is.

    Every method refuses complex numbers rather than giving JAX's conventions only in part: the
    engines' rules are written for real values (``real``, ``imag``, ``conj``, ``abs`` would be wrong).
    """
    leaves = jax.tree_util.tree_leaves(tree)
    if not any(_is_complex(leaf) for leaf in leaves):
        return
    path, leaf = next((p, x) for p, x in jax.tree_util.tree_flatten_with_path(tree)[0] if _is_complex(x))
    where = f" (leaf {jax.tree_util.keystr(path)})" if len(leaves) > 1 else ""
    raise InvalidInputError(f"{fname}: the {what} is complex{where}, dtype {leaf_dtype(leaf)}; {COMPLEX_ADVICE}")


def refuse_holomorphic(holomorphic, fname: str) -> None:
    """``holomorphic=True`` (``jax.grad``'s option for complex functions) is refused with the reason."""
    if holomorphic:
        raise InvalidOptionError(
            f"{fname}: holomorphic differentiation is not supported by diffcompare; {COMPLEX_ADVICE}")


_ONES: dict = {}


def one_like(x):
    """``jnp.ones`` of ``x``'s shape and dtype: the seed of a derivative. The 0-d ones are made once per
    dtype (a JAX array is immutable; creating it costs more than a whole primitive)."""
    shape, dtype = dnp.shape(x), dnp.dtype_of(x)
    if shape:
        return jnp.ones(shape, dtype)
    one = _ONES.get(dtype)
    if one is None:
        one = jnp.ones((), dtype)
        if type(one) is ArrayImpl:  # never keep a tracer (one made while jax.jit traces): it would leak
            _ONES[dtype] = one
    return one


def as_cotangent(c, like):
    """A cotangent leaf as an array of ``like``'s dtype (``jnp.asarray``, skipped where it would return ``c``)."""
    if isinstance(c, EngineValue):
        return c
    dtype = dnp.dtype_of(like)
    if type(c) is ArrayImpl and not c.weak_type and c.dtype == dtype:
        return c
    return jnp.asarray(c, dtype=dtype)


def in_leaf_dtypes(gradient, like):
    """Each gradient leaf in its input leaf's dtype, as JAX returns it: float32 parameters beside float64
    data get a float32 gradient (an optimiser step must not turn a model into float64)."""
    def cast(g, x):
        if isinstance(g, EngineValue) or isinstance(x, EngineValue):
            return g
        dtype = dnp.dtype_of(x)
        return g if dnp.dtype_of(g) == dtype or not jnp.issubdtype(dtype, jnp.floating) else jnp.asarray(g, dtype)

    return jax.tree_util.tree_map(cast, gradient, like)


def check_scalar_output(out, fname: str) -> None:
    """``grad`` needs one real floating-point scalar out, as in JAX."""
    leaves = jax.tree_util.tree_leaves(out)
    if len(leaves) != 1 or jnp.shape(leaves[0]) != ():
        shapes = [tuple(jnp.shape(leaf)) for leaf in leaves]
        raise NonScalarOutputError(
            f"{fname}: the function must return one scalar, but returned shape(s) {shapes}; "
            "reduce it (dnp.sum, dnp.mean) or use jacobian / vjp for vector outputs"
        )
    dtype = np.dtype(dnp.dtype_of(leaves[0]))
    if jnp.issubdtype(dtype, jnp.complexfloating):
        raise InvalidOutputError(
            f"{fname}: the function returned a complex scalar ({dtype}); a gradient needs a real output, as "
            "jax.grad does without holomorphic=True: return dnp.real(...), dnp.abs(...) or |z|**2 of it")
    if not jnp.issubdtype(dtype, jnp.floating):
        raise InvalidOutputError(
            f"{fname}: the function returned dtype {dtype}; a gradient needs a floating-point output (jax.grad "
            "refuses it too): a comparison or a count has derivative zero almost everywhere, so return the "
            "float quantity itself, or convert with dnp.asarray(..., dtype=float) if zero is what you mean")


def check_jvp_arguments(primals, tangents, fname: str, allow_complex: bool = False, batched: bool = False) -> None:
    """The checks of every ``jvp``: tuples of differentiable primals, tangents that match them (real ones
    unless ``allow_complex``: a complex tangent of a real primal would lose its imaginary part)."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise InvalidInputError(f"{fname}: primals and tangents must be tuples, e.g. jvp(f, (x,), (v,))")
    check_differentiable(tuple(primals), fname, allow_complex=allow_complex)
    if batched:
        if not allow_complex:
            refuse_complex(tuple(tangents), fname, "tangent")
    else:
        check_tangents(primals, tangents, fname, allow_complex)


def check_tangents(primals, tangents, fname: str, allow_complex: bool = False) -> None:
    """Tangents must match the primals' structure and shapes, as ``jax.jvp`` demands, and be real."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise InvalidInputError(f"{fname}: primals and tangents must be tuples, e.g. jvp(f, (x,), (v,))")
    if not allow_complex:
        refuse_complex(tuple(tangents), fname, "tangent")
    if type(primals) is not type(tangents):
        raise ShapeMismatchError(
            f"{fname}: primals are a {type(primals).__name__} but tangents a {type(tangents).__name__}; "
            "pass both as tuples, e.g. jvp(f, (x,), (v,)) (JAX refuses this too)"
        )
    p_leaves, p_tree = jax.tree_util.tree_flatten(tuple(primals))
    t_leaves, t_tree = jax.tree_util.tree_flatten(tuple(tangents))
    if p_tree != t_tree:
        raise ShapeMismatchError(
            f"{fname}: tangents have structure {t_tree} but primals have {p_tree}; give one tangent per primal"
        )
    for i, (p, t) in enumerate(zip(p_leaves, t_leaves)):
        if jnp.shape(p) != jnp.shape(t):
            raise ShapeMismatchError(
                f"{fname}: tangent {i} has shape {tuple(jnp.shape(t))} but its primal has shape "
                f"{tuple(jnp.shape(p))}; a tangent must have its primal's shape"
            )


def check_cotangent(out, cotangent, fname: str) -> None:
    """A cotangent must match the output's structure and shapes, as ``jax.vjp`` demands."""
    o_leaves, o_tree = jax.tree_util.tree_flatten(out)
    c_leaves, c_tree = jax.tree_util.tree_flatten(cotangent)
    if o_tree != c_tree and [dnp.shape(o) for o in o_leaves] == [dnp.shape(c) for c in c_leaves]:
        hint = ""
        if isinstance(cotangent, (tuple, list)) and len(cotangent) == 1 and not isinstance(out, (tuple, list)):
            hint = "; it has an extra tuple around it: call vjp_fn(g), not vjp_fn((g,))"
        raise ShapeMismatchError(
            f"{fname}: the cotangent must have the output's structure {o_tree}, got {c_tree}{hint}"
        )
    if o_tree != c_tree or any(jnp.shape(o) != jnp.shape(c) for o, c in zip(o_leaves, c_leaves)):
        raise ShapeMismatchError(
            f"{fname}: the cotangent must have the output's structure and shapes "
            f"{[tuple(jnp.shape(o)) for o in o_leaves]}, got {[tuple(jnp.shape(c)) for c in c_leaves]}"
        )
    if any(_is_complex(c) and not _is_complex(o) for o, c in zip(o_leaves, c_leaves)):
        # casting it to the real output's dtype would drop its imaginary part (jax.vjp refuses it too)
        refuse_complex(cotangent, fname, "cotangent (of a real output)")


def float0_as_zeros(cotangent, dtype):
    """A float0 cotangent leaf (JAX's, of a bool or integer output) as zeros of ``dtype``: nothing flows back."""
    return jax.tree_util.tree_map(
        lambda c: jnp.zeros(np.shape(c), dtype) if getattr(c, "dtype", None) == jax.dtypes.float0 else c, cotangent)


def float0_tangents(out, tangent_out):
    """The tangent of a bool or integer output leaf as float0 zeros (it cannot vary), as ``jax.jvp`` gives it."""
    def one(o, t):
        if jnp.issubdtype(dnp.dtype_of(o), jnp.inexact):
            return t
        return np.zeros(dnp.shape(t), jax.dtypes.float0)

    return jax.tree_util.tree_map(one, out, tangent_out, is_leaf=lambda v: isinstance(v, EngineValue))


def layout_jacobian(jac, out_example, in_example):
    """Lay a flat (m, n) Jacobian out as ``jax.jacobian`` does.

    Each output leaf becomes a copy of the input structure whose leaves have
    shape ``out_leaf.shape + in_leaf.shape``. Written with ``diffcompare.numpy``,
    so ``jac`` may be an engine's value (a Jacobian being differentiated again).
    """
    out_leaves, out_tree = jax.tree_util.tree_flatten(out_example)
    in_leaves, in_tree = jax.tree_util.tree_flatten(in_example)
    whole = len(out_leaves) == 1 and len(in_leaves) == 1  # one block: no slicing
    blocks, r = [], 0
    for o in out_leaves:
        row, c = [], 0
        for leaf in in_leaves:
            block = jac if whole else jac[r : r + dnp.size(o), c : c + dnp.size(leaf)]
            row.append(dnp.reshape(block, dnp.shape(o) + dnp.shape(leaf)))
            c += dnp.size(leaf)
        blocks.append(jax.tree_util.tree_unflatten(in_tree, row))
        r += dnp.size(o)
    return jax.tree_util.tree_unflatten(out_tree, blocks)


#: the former name (finite differences and symbolic still call it)


@contextlib.contextmanager
def plain_arrays_only(name: str, *trees):
    """Around a method that runs on plain arrays and JAX tracers only (the JAX reference, finite
    differences): refuse another engine's values among ``trees`` with a
    :class:`~diffcompare.errors.NestingError` that says which methods nest, and turn JAX's own
    refusals (``float()`` or NumPy on a tracer, an engine value reaching JAX through ``f``) into
    the library's errors (see ``_foreign.from_jax_error``)."""
    top = top_trace(jax.tree_util.tree_leaves(trees))
    if top is not None:
        raise _foreign.nesting_error(name, f" (it was given a value of the {top.engine} engine)")
    try:
        yield
    except ForeignFunctionError as err:  # an engine value met JAX inside f: f closes over it
        raise _foreign.nesting_error(name, f" (a value of the {err.engine} engine reached it through f)") from err
    except Exception as err:  # JAX's own refusals, said in the library's words
        ours = _foreign.from_jax_error(err, name)
        if ours is None:
            raise
        raise ours from err


def wraps(f: Callable, kind: str):
    """functools.wraps that also says which transformation made the function."""

    def decorate(g):
        try:
            g.__name__ = f"{kind}({getattr(f, '__name__', 'f')})"
            g.__qualname__ = g.__name__
            g.__doc__ = f"The {kind} of {getattr(f, '__name__', 'f')}." + (
                f"\n\n{f.__doc__}" if getattr(f, "__doc__", None) else ""
            )
            g.__wrapped__ = f
        except (AttributeError, TypeError):
            pass
        return g

    return decorate


def gradient_of(f: Callable, value_and_grad_fn: Callable, kind: str, has_aux: bool = False) -> Callable:
    """``grad`` from a method's ``value_and_grad``: the same call, keeping only the gradient
    (and the aux, as ``(gradient, aux)``, with ``has_aux``, as ``jax.grad``)."""

    @wraps(f, kind)
    def wrapped(*args, **kwargs):
        (value, gradient) = value_and_grad_fn(*args, **kwargs)
        return (gradient, value[1]) if has_aux else gradient

    return wrapped


# ---------------------------------------------------------------- has_aux: f returns (output, aux)


def output_and_aux(result, name: str):
    """``f``'s result split into (output, aux), as ``has_aux=True`` asks; anything but a pair is refused."""
    if isinstance(result, (tuple, list)) and len(result) == 2:
        return result[0], result[1]
    if isinstance(result, (tuple, list)):
        got = f"a {type(result).__name__} of {len(result)} entries"
    elif hasattr(result, "shape"):
        got = f"one array of shape {tuple(dnp.shape(result))}"
    else:
        got = f"a {type(result).__name__}"
    raise InvalidOutputError(
        f"{name}: has_aux=True, so the function must return a pair (output, aux): the output to differentiate "
        f"and any auxiliary data that is only passed back, e.g. `return loss, {{'accuracy': acc}}`; it returned "
        f"{got}. Return a 2-tuple, or drop has_aux=True (JAX asks for the same)"
    )


class _WithoutAux:
    """``fun`` returning only its output, keeping the aux of its last call (a pass of the engine)."""

    __slots__ = ("fun", "name", "aux", "__name__")

    def __init__(self, fun: Callable, name: str):
        self.fun, self.name, self.aux = fun, name, None
        self.__name__ = getattr(fun, "__name__", "f")

    def __call__(self, *args, **kwargs):
        out, self.aux = output_and_aux(self.fun(*args, **kwargs), self.name)
        return out


def with_aux(run: Callable, fun: Callable, name: str, has_aux: bool):
    """``(run(main), aux)``: ``run`` differentiates ``main``, which is ``fun`` without its aux (``fun``
    returns ``(output, aux)`` when ``has_aux``); the aux of ``main``'s last call comes back as
    :func:`plain_aux` of it. Without ``has_aux``: ``(run(fun), None)``. One home for every engine's
    ``has_aux`` (it may run inside a staged program's body: the aux is then one of its outputs)."""
    if not has_aux:
        return run(fun), None
    level = new_level()
    main = _WithoutAux(fun, name)
    result = run(main)
    return result, plain_aux(main.aux, level)


def plain_aux(aux, level: int | None = None):
    """The aux with the layers of every derivative newer than ``level`` stripped (None: none): each
    engine value of those becomes the array it stands for (an outer derivative's values stay, as JAX
    keeps an outer tracer in the aux), numbers become JAX arrays, other leaves (strings) stay as they are."""

    def plain(leaf):
        while isinstance(leaf, EngineValue) and level is not None and leaf._trace.level > level:
            check_alive(leaf, "returned as aux")
            leaf = leaf._trace.concrete(leaf)
        if isinstance(leaf, (EngineValue, jax.Array)):
            return leaf
        if isinstance(leaf, (bool, int, float, complex, np.ndarray, np.generic)):
            return jnp.asarray(leaf)
        return leaf

    return jax.tree_util.tree_map(plain, aux)


def value_and_grad_result(out, gradient, aux, like, has_aux: bool):
    """A ``value_and_grad``'s result: ``(out, gradient)``, or ``((out, aux), gradient)`` with ``has_aux``
    (as ``jax.value_and_grad``), each gradient leaf in its input leaf's dtype."""
    gradient = in_leaf_dtypes(gradient, like)
    return ((out, aux), gradient) if has_aux else (out, gradient)
