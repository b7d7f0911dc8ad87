"""Finite differences: perturb the inputs, take difference quotients.

The first method, and the one every textbook starts from. A gradient of
f: Rⁿ → R costs n + 1 evaluations (forward or backward difference), 2n
(central), 4n (4th-order central), n (complex step) or 2n per level
(Richardson). Each scheme trades truncation error (the Taylor terms it ignores,
O(hᵖ)) against round-off (ε|f|/h, the cancellation in f(x+h) − f(x)), so the
default step is chosen from the dtype's machine epsilon ε and the scheme's
order p: h = ε^(1/(p+1)) · max(1, |xᵢ|). The complex step has no cancellation,
so its step can be tiny and it is exact to rounding: but only for
complex-analytic functions, and it refuses the others.

Richardson (Ridders' method) starts from large steps, a few per cent of |x|,
and halves them until its error estimate stops improving; on a function with a
kink within that distance of x, the large steps can straddle the kink and the
extrapolation is wrong. Use ``scheme="central"`` near kinks.

All perturbed points of one gradient go to ``f`` as one batched call
(``jax.jit(jax.vmap(f))``) when ``f`` can be traced, else ``jax.vmap`` eagerly,
else a Python loop (value-dependent branches need concrete values).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from . import _api, _complex_step
from .errors import DiffCompareError, InvalidOptionError, NonScalarOutputError

NAME = "finite_diff"
TITLE = "finite differences"
#: relative error allowed against JAX for the default (central) scheme, by dtype
TOLERANCE = {"float64": 1e-6, "float32": 1e-2}
#: relative error allowed against JAX per scheme and dtype, with a margin over what
#: the zoo measures at the default steps (smooth problems)
SCHEME_TOLERANCE = {
    "forward": {"float64": 1e-5, "float32": 5e-2},
    "backward": {"float64": 1e-5, "float32": 5e-2},
    "central": {"float64": 1e-6, "float32": 1e-2},
    "central4": {"float64": 1e-7, "float32": 1e-2},
    "complex": {"float64": 1e-12, "float32": 1e-5},
    "richardson": {"float64": 1e-9, "float32": 1e-2},
}


def tolerance(dtype: str = "float64", scheme: str = "central", **_options) -> float:
    """The relative error the checker allows this method for ``scheme`` at ``dtype``."""
    if scheme not in SCHEME_TOLERANCE:
        raise InvalidOptionError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    return SCHEME_TOLERANCE[scheme][dtype]


@dataclasses.dataclass(frozen=True)
class Scheme:
    """One finite-difference formula.

    Attributes:
        name: the value of ``scheme=``.
        order: p, the truncation error is O(hᵖ).
        offsets, weights: f'(x)·v ≈ Σ wₖ f(x + oₖ h v) / h (empty for the
            complex step and Richardson, which are computed their own way).
        summary: one line for tables and ``help``.
    """

    name: str
    order: int
    offsets: tuple[float, ...]
    weights: tuple[float, ...]
    summary: str


#: the schemes, keyed by name, in the order a course presents them
SCHEMES: dict[str, Scheme] = {
    s.name: s
    for s in [
        Scheme("forward", 1, (0.0, 1.0), (-1.0, 1.0), "(f(x+h) - f(x)) / h, error O(h)"),
        Scheme("backward", 1, (-1.0, 0.0), (-1.0, 1.0), "(f(x) - f(x-h)) / h, error O(h)"),
        Scheme("central", 2, (-1.0, 1.0), (-0.5, 0.5), "(f(x+h) - f(x-h)) / 2h, error O(h²)"),
        Scheme(
            "central4",
            4,
            (-2.0, -1.0, 1.0, 2.0),
            (1 / 12, -8 / 12, 8 / 12, -1 / 12),
            "(f(x-2h) - 8f(x-h) + 8f(x+h) - f(x+2h)) / 12h, error O(h⁴)",
        ),
        Scheme("complex", 2, (), (), "Im f(x + ih) / h, error O(h²) and no cancellation"),
        Scheme("richardson", 8, (), (), "central differences at h, h/2, h/4, ... extrapolated (Ridders)"),
    ]
}
#: Richardson: step halvings evaluated for every coordinate in the first batch
RICHARDSON_LEVELS = 4
#: Richardson: the most halvings a coordinate that has not converged gets
RICHARDSON_MAX_LEVELS = 12
# Richardson's first step is this multiple of (ε·max(1, |f|))^(1/(2L+1)): measured to
# balance truncation and round-off on the course examples and Rosenbrock
_RICHARDSON_SCALE = 2.0


def _check_scheme(scheme: str, step, levels: int, fname: str) -> Scheme:
    if scheme not in SCHEMES:
        raise InvalidOptionError(f"{fname}: unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    if step is not None:
        if not isinstance(step, (int, float, np.floating, np.integer)) or isinstance(step, bool):
            raise InvalidOptionError(f"{fname}: step must be a positive number or None, got {step!r}")
        if not np.isfinite(step) or step <= 0:
            raise InvalidOptionError(
                f"{fname}: step must be positive and finite, got {step!r}; "
                "leave it out (None) to use the default for the dtype and scheme"
            )
    if not isinstance(levels, (int, np.integer)) or isinstance(levels, bool) or levels < 1:
        raise InvalidOptionError(f"{fname}: levels must be an int >= 1, got {levels!r}")
    return SCHEMES[scheme]


def order(scheme: str, levels: int = RICHARDSON_LEVELS) -> int:
    """The truncation order p of ``scheme`` (error O(hᵖ))."""
    return 2 * levels if scheme == "richardson" else SCHEMES[scheme].order


def default_step(
    scheme: str, dtype=jnp.float64, levels: int = RICHARDSON_LEVELS, accuracy: float | None = None,
    f_scale: float = 1.0,
) -> float:
    """The relative step h/max(1, |x|) used when ``step`` is not given.

    It balances truncation (∝ hᵖ) against round-off (∝ ε/h): h = ε^(1/(p+1)).
    ``accuracy`` replaces ε when ``f`` itself is only that accurate (the inner
    gradient of a Hessian). The complex step has no round-off term, so its step
    is ε itself. Richardson removes so much truncation error that round-off,
    ε|f|/h, decides its error: its step grows with ``f_scale`` = max(1, |f(x)|)
    as (ε·f_scale)^(1/(p+1)).
    """
    eps = float(jnp.finfo(dtype).eps) if accuracy is None else accuracy
    if scheme == "complex":
        return eps
    p = order(scheme, levels)
    if scheme == "richardson":
        return _RICHARDSON_SCALE * (eps * max(1.0, float(f_scale))) ** (1.0 / (p + 1))
    return eps ** (1.0 / (p + 1))


def evaluations(scheme: str, n: int, levels: int = RICHARDSON_LEVELS) -> int:
    """How many evaluations of f a full gradient (or n Jacobian columns) costs."""
    per_input = {"forward": 1, "backward": 1, "central": 2, "central4": 4, "complex": 1, "richardson": 2 * levels}
    extra = 1 if scheme in ("forward", "backward") else 0
    return per_input[scheme] * n + extra


# ---------------------------------------------------------------- batched evaluation


@dataclasses.dataclass(frozen=True)
class _Spec:
    """The static part of a batched evaluation: hashable, so jit caches per function."""

    f: Callable
    selection: _api.Selection
    treedef: Any
    avals: tuple  # ((shape, dtype name), ...) of the differentiated leaves
    complex_step: bool

    def unravel(self):
        dtypes = [jnp.result_type(d, jnp.complex64) if self.complex_step else d for _, d in self.avals]
        leaves = [jnp.zeros(s, d) for (s, _), d in zip(self.avals, dtypes)]
        return ravel_pytree(jax.tree_util.tree_unflatten(self.treedef, leaves))[1]

    def row_function(self, args):
        unravel = self.unravel()

        def row(x):
            diff = unravel(x)
            if self.complex_step:
                out = _complex_step.evaluate(self.f, args, self.selection, diff)
                return jnp.imag(ravel_pytree(out)[0])
            return ravel_pytree(self.f(*self.selection.rebuild(args, diff)))[0]

        return row


def _perturbed(x, idx, steps, direction):
    """The points x + steps[r] * (e_idx[r] or direction), one per row."""
    if direction is None:
        onehot = jnp.arange(x.size)[None, :] == idx[:, None]
        return x[None, :] + steps[:, None] * onehot
    return x[None, :] + steps[:, None] * direction[None, :]


def _rows(spec: _Spec, x, idx, steps, direction, args, vectorized: bool = True):
    row = spec.row_function(args)
    xs = _perturbed(x, idx, steps, direction)
    if vectorized:
        return jax.vmap(row)(xs)
    return jnp.stack([row(p) for p in xs])


# building the perturbed points inside jit lets XLA fuse them into f's evaluation
_rows_jit = jax.jit(_rows, static_argnums=(0, 6))
_MODES = {
    "jit": _rows_jit,
    "vmap": _rows,
    "loop": lambda spec, x, idx, steps, direction, args: _rows(spec, x, idx, steps, direction, args, False),
}
# how far down the jit -> vmap -> loop ladder a function had to go last time
_FIRST_MODE: dict[_Spec, str] = {}
_MAX_ROWS_ELEMENTS = 1 << 20  # about 8 MB of float64 perturbed inputs per call


def _jittable(args) -> bool:
    # Python ints and other objects among the fixed arguments may steer control flow: keep them concrete
    return all(
        isinstance(leaf, (jax.Array, np.ndarray, float, complex)) for leaf in jax.tree_util.tree_leaves(args)
    )


class _Evaluator:
    """Evaluates f at many perturbed points of the differentiated arguments."""

    def __init__(self, f, args, selection, vectorize: bool):
        self.f, self.args, self.selection, self.vectorize = f, tuple(args), selection, vectorize
        diff = selection.pick(args)
        leaves, self.treedef = jax.tree_util.tree_flatten(diff)
        self.avals = tuple((tuple(jnp.shape(leaf)), jnp.result_type(leaf).name) for leaf in leaves)
        x, self.unravel = ravel_pytree(diff)
        # bookkeeping (steps, differences, the Richardson tableau) in NumPy when x is concrete:
        # eager jax.numpy would compile every small operation anew for every new shape
        try:
            self.x, self.xp = np.asarray(x), np
        except jax.errors.JAXTypeError:  # traced, e.g. the inner gradient of a Hessian under jit
            self.x, self.xp = x, jnp
        self.f_scale = 1.0  # max(1, |f(x)|): the size of f's round-off, set once f(x) is known

    def __call__(self, idx, steps, direction=None):
        """f at x + steps[r]·e_idx[r] (or ·direction) for each r, flattened: (rows, m).

        Complex steps mean the complex step: the imaginary part of f is returned.
        """
        complex_step = np.iscomplexobj(steps)
        spec = _Spec(self.f, self.selection, self.treedef, self.avals, bool(complex_step))
        modes = ["jit", "vmap", "loop"] if self.vectorize else ["loop"]
        if not _jittable(self.args):
            modes = [m for m in modes if m != "jit"]
        first = _FIRST_MODE.get(spec)
        if first in modes:
            modes = modes[modes.index(first):]
        chunk = max(1, _MAX_ROWS_ELEMENTS // max(1, self.x.size))
        for i, mode in enumerate(modes):
            try:
                parts = [
                    _MODES[mode](spec, self.x, idx[s : s + chunk], steps[s : s + chunk], direction, self.args)
                    for s in range(0, idx.shape[0], chunk)
                ]
                if len(_FIRST_MODE) > 1024:
                    _FIRST_MODE.clear()
                _FIRST_MODE[spec] = mode
                ys = parts[0] if len(parts) == 1 else jnp.concatenate(parts)
                return np.asarray(ys) if self.xp is np else ys
            except DiffCompareError:
                raise
            except Exception:
                if i == len(modes) - 1:
                    raise  # the loop runs f exactly as the user would: its error is the real one


# ---------------------------------------------------------------- the schemes


def _derivatives(evaluate: _Evaluator, h, scheme: Scheme, levels: int, direction=None):
    """Derivatives of f at x: along every coordinate axis (``direction`` None,
    ``h`` per coordinate, result (n, m)) or along ``direction`` (``h`` of shape
    (1,), result (1, m))."""
    xp = evaluate.xp
    d = h.shape[0]
    idx = np.arange(d)
    if scheme.name == "complex":
        return evaluate(idx, 1j * h, direction) / h[:, None]
    if scheme.name == "richardson":
        return _richardson(evaluate, h, levels, direction)
    stencils = [(scheme, h)]
    all_idx, all_steps, plan = [], [], []
    for k, (stencil, hk) in enumerate(stencils):
        for o, w in zip(stencil.offsets, stencil.weights):
            if o == 0:  # f(x) itself: one row serves every coordinate
                all_idx.append(idx[:1])
                all_steps.append(xp.zeros((1,), h.dtype))
            else:
                all_idx.append(idx)
                all_steps.append(o * hk)
            plan.append((k, w, hk, all_idx[-1].shape[0]))
    ys = evaluate(np.concatenate(all_idx), xp.concatenate(all_steps), direction)
    estimate, start = 0.0, 0
    for _, w, hk, rows in plan:
        estimate = estimate + w * ys[start : start + rows] / hk[:, None]
        start += rows
    return estimate


def _central(evaluate, idx, hk, direction):
    ys = evaluate(np.concatenate([idx, idx]), evaluate.xp.concatenate([-hk, hk]), direction)
    return (ys[idx.shape[0]:] - ys[: idx.shape[0]]) / (2 * hk[:, None])


def _richardson(evaluate: _Evaluator, h, levels: int, direction):
    """Ridders' method: central differences at h, h/2, h/4, ... extrapolated in
    Neville's tableau; per coordinate, the entry with the smallest error
    estimate wins, and a coordinate stops halving once round-off dominates.

    The first ``levels`` steps are evaluated for every coordinate in one batch;
    coordinates that have not converged get further halvings (up to
    ``RICHARDSON_MAX_LEVELS``), evaluated for those coordinates only.
    """
    xp = evaluate.xp
    d = h.shape[0]
    eps = float(np.finfo(h.dtype).eps)
    first = np.tile(np.arange(d), 2 * levels)
    steps = xp.concatenate([s * h / 2**k for k in range(levels) for s in (-1.0, 1.0)])
    ys = evaluate(first, steps, direction)
    diffs = [(ys[(2 * k + 1) * d : (2 * k + 2) * d] - ys[2 * k * d : (2 * k + 1) * d]) / (2 * h[:, None] / 2**k)
             for k in range(levels)]
    m = diffs[0].shape[1]
    f_noise = eps * evaluate.f_scale
    best = diffs[0]
    best_err = xp.full(best.shape, np.inf, best.dtype)
    active = np.ones(d, dtype=bool)
    previous: list = []
    diffs_k: list = []  # the central differences D(h_k) so far
    for k in range(RICHARDSON_MAX_LEVELS):
        hk = h / 2**k
        if k < levels:
            row = [diffs[k]]
        else:
            act = np.flatnonzero(active)
            # pad to a power of two so jit compiles few batch sizes
            padded = np.resize(act, 1 << int(np.ceil(np.log2(act.size))))
            new = _central(evaluate, padded, hk[padded], direction)[: act.size]
            row = [xp.full((d, m), np.nan, h.dtype)]
            row[0] = _set_rows(row[0], act, new)
        diffs_k.append(row[0])
        for j in range(1, k + 1):
            row.append(row[j - 1] + (row[j - 1] - previous[j - 1]) / (4.0**j - 1.0))
            err = xp.maximum(xp.abs(row[j] - row[j - 1]), xp.abs(row[j] - previous[j - 1]))
            better = (err < best_err) & active[:, None]
            best = xp.where(better, row[j], best)
            best_err = xp.where(better, err, best_err)
        if k >= 2:
            # central differences are in their asymptotic regime when halving h divides
            # their change by about 4 (error ∝ h²), or when the change is down to round-off
            older, newer = xp.abs(diffs_k[-3] - diffs_k[-2]), xp.abs(diffs_k[-2] - row[0])
            noise = 4 * f_noise / hk[:, None]
            asymptotic = ((older > 2.5 * newer) & (older < 6.5 * newer)) | (newer <= noise)
        if k >= max(2, levels - 1):  # judge convergence once the first batch is all in the tableau
            grew = xp.abs(row[k] - previous[k - 1]) >= 2 * best_err  # the tableau stopped improving
            at_noise = best_err <= 4 * f_noise / hk[:, None]  # halving again only adds round-off
            # needs concrete values: Richardson adapts to f
            done = np.asarray(xp.all(asymptotic & (grew | at_noise), axis=1))
            active &= ~done
        previous = row
        if not active.any() or k + 1 >= RICHARDSON_MAX_LEVELS:
            break
    return best


def _set_rows(array, rows, values):
    if isinstance(array, np.ndarray):
        array[rows] = values
        return array
    return array.at[rows].set(values)


def _f_scale(out, scheme: Scheme) -> float:
    """max(1, |f(x)|), the scale of f's round-off; only Richardson's step uses it."""
    if scheme.name != "richardson":
        return 1.0
    flat, _ = ravel_pytree(out)
    return max(1.0, float(jnp.max(jnp.abs(flat)))) if flat.size else 1.0


def _coordinate_steps(xp, x, scheme: str, step, levels, accuracy, f_scale):
    if step is None:
        h = default_step(scheme, x.dtype, levels, accuracy, f_scale) * xp.maximum(1.0, xp.abs(x))
    else:
        h = xp.full(x.shape, step, dtype=x.dtype)
    if scheme != "complex":
        h = (x + h) - x  # a step that x + h represents exactly
    return h


def _jacobian_flat(evaluate: _Evaluator, scheme: Scheme, step, levels, out, accuracy=None):
    x = evaluate.x
    evaluate.f_scale = _f_scale(out, scheme)
    h = _coordinate_steps(evaluate.xp, x, scheme.name, step, levels, accuracy, evaluate.f_scale)
    return _derivatives(evaluate, h, scheme, levels).T  # (m, n)


def _jvp_flat(evaluate: _Evaluator, v, scheme: Scheme, step, levels, out):
    x, xp = evaluate.x, evaluate.xp
    v = xp.asarray(v, x.dtype)
    vmax = xp.max(xp.abs(v))
    if xp is np and vmax == 0:
        return None
    evaluate.f_scale = _f_scale(out, scheme)
    if step is None:
        scale = xp.maximum(1.0, xp.max(xp.abs(x)))
        step = default_step(scheme.name, x.dtype, levels, None, evaluate.f_scale) * scale
    h = xp.reshape(xp.asarray(step, x.dtype) / vmax, (1,))
    return _derivatives(evaluate, h, scheme, levels, direction=v)[0]


def _prepare(f, args, argnums, fname, scheme, step, levels, vectorize):
    scheme_ = _check_scheme(scheme, step, levels, fname)
    selection = _api.select(args, argnums, fname)
    _api.check_differentiable(selection.pick(args), fname, allow_complex=False)
    return scheme_, _Evaluator(f, args, selection, vectorize)


# ---------------------------------------------------------------- the method interface


def value_and_grad(
    f: Callable, argnums=0, *, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True,
) -> Callable:
    """A function returning ``(f(*args), gradient)`` by finite differences.

    Arguments:
        f: scalar-valued function written with ``diffcompare.numpy``.
        argnums: which positional argument(s) to differentiate (int or tuple), as in JAX.
        scheme: ``"forward"``, ``"backward"``, ``"central"`` (default),
            ``"central4"``, ``"complex"`` or ``"richardson"``; see :data:`SCHEMES`.
        step: the absolute step h for every coordinate; by default
            ``default_step(scheme, dtype) * max(1, |x_i|)``.
        levels: Richardson's number of step halvings.
        vectorize: evaluate all perturbed points in one batched call (default),
            or one at a time (to watch or count evaluations).
    Returns:
        A callable with ``f``'s signature; the gradient has the structure of the
        differentiated argument(s).
    Example:
        >>> value_and_grad(lambda x: dnp.exp(x) / x**2)(1.5)
        (Array(1.99..., ...), Array(-0.66..., ...))
    """

    @_api.wraps(f, "finite_diff.value_and_grad")
    def wrapped(*args):
        scheme_, evaluate = _prepare(f, args, argnums, "finite_diff.grad", scheme, step, levels, vectorize)
        value = f(*args)
        _api.check_scalar_output(value, "finite_diff.grad")
        gradient = _jacobian_flat(evaluate, scheme_, step, levels, value)[0]
        return jnp.asarray(value), evaluate.unravel(jnp.asarray(gradient))

    return wrapped


def grad(f: Callable, argnums=0, **options) -> Callable:
    """A function returning the gradient of scalar-valued ``f`` by finite differences.

    Takes the options of :func:`value_and_grad`.

    Example:
        >>> grad(lambda x: dnp.sum(x ** 2), scheme="central4")(jnp.arange(3.0))
        Array([0., 2., 4.], ...)
    """
    return _api.gradient_of(f, value_and_grad(f, argnums, **options), "finite_diff.grad")


def jacobian(
    f: Callable, argnums=0, *, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True, _accuracy: float | None = None,
) -> Callable:
    """A function returning the full Jacobian, one column per input coordinate,
    laid out as ``jax.jacobian`` lays it out. Options as :func:`value_and_grad`."""

    @_api.wraps(f, "finite_diff.jacobian")
    def wrapped(*args):
        scheme_, evaluate = _prepare(f, args, argnums, "finite_diff.jacobian", scheme, step, levels, vectorize)
        out = f(*args)
        jac = jnp.asarray(_jacobian_flat(evaluate, scheme_, step, levels, out, _accuracy))
        return _api.unflatten_jacobian(jac, out, evaluate.selection.pick(args))

    return wrapped


def jvp(
    f: Callable, primals, tangents, *, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True,
):
    """``(f(*primals), J·tangents)`` from one directional difference.

    The step is taken along the tangent: the largest coordinate moves by
    ``step`` (default: ``default_step(scheme) * max(1, max|x|)``).
    """
    _api.check_tangents(primals, tangents, "finite_diff.jvp")
    primals = tuple(primals)
    scheme_, evaluate = _prepare(
        f, primals, tuple(range(len(primals))), "finite_diff.jvp", scheme, step, levels, vectorize
    )
    out = f(*primals)
    v, _ = ravel_pytree(tuple(tangents))
    tangent_flat = _jvp_flat(evaluate, v, scheme_, step, levels, out)
    out_flat, unravel_out = ravel_pytree(out)
    if tangent_flat is None:
        tangent_flat = jnp.zeros_like(out_flat)
    return out, unravel_out(jnp.asarray(tangent_flat, out_flat.dtype))


def vjp(
    f: Callable, *primals, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True,
):
    """``(f(*primals), vjp_fn)`` through the full Jacobian.

    Finite differences can only push perturbations forward, so a VJP costs the
    whole Jacobian (n columns) and then one matrix-vector product: the
    expensive way, shown for comparison with reverse mode.
    """
    scheme_, evaluate = _prepare(
        f, primals, tuple(range(len(primals))), "finite_diff.vjp", scheme, step, levels, vectorize
    )
    out = f(*primals)
    jac = jnp.asarray(_jacobian_flat(evaluate, scheme_, step, levels, out))

    def vjp_fn(cotangent):
        _api.check_cotangent(out, cotangent, "finite_diff.vjp")
        ct, _ = ravel_pytree(cotangent)
        return evaluate.unravel(jnp.asarray(ct, jac.dtype) @ jac)

    return out, vjp_fn


@functools.lru_cache(maxsize=128)
def _gradient_function(f, argnums, scheme, step, levels, vectorize):
    # cached so the Hessian's outer differences see one function object and jit can reuse it
    return grad(f, argnums, scheme=scheme, step=step, levels=levels, vectorize=vectorize)


def hessian(
    f: Callable, argnums=0, *, scheme: str = "central", step: float | None = None,
    levels: int = RICHARDSON_LEVELS, vectorize: bool = True,
) -> Callable:
    """The Hessian as finite differences of the finite-difference gradient.

    Each level of differencing loses precision: the inner gradient is only
    about ε^(p/(p+1)) accurate, so the outer step is chosen for that accuracy
    (``step`` sets the inner one). The complex step's gradient is exact to
    rounding, and is differenced by central differences outside.
    """
    _check_scheme(scheme, step, levels, "finite_diff.hessian")
    key_argnums = tuple(argnums) if isinstance(argnums, list) else argnums
    inner = _gradient_function(f, key_argnums, scheme, step, levels, vectorize)
    outer = "central" if scheme == "complex" else scheme

    @_api.wraps(f, "finite_diff.hessian")
    def wrapped(*args):
        selection = _api.select(args, argnums, "finite_diff.hessian")
        _api.check_differentiable(selection.pick(args), "finite_diff.hessian", allow_complex=False)
        x, _ = ravel_pytree(selection.pick(args))
        eps = float(jnp.finfo(x.dtype).eps)
        p = order(scheme, levels)
        accuracy = eps if scheme == "complex" else eps ** (p / (p + 1))
        try:
            return jacobian(inner, argnums, scheme=outer, levels=levels, vectorize=vectorize, _accuracy=accuracy)(*args)
        except NonScalarOutputError as err:
            raise NonScalarOutputError(str(err).replace("finite_diff.grad", "finite_diff.hessian")) from None

    return wrapped
