"""The gradient checker: every method (and your own gradient) against JAX.

``check(f, *args)`` runs every method of :data:`diffcompare.METHODS` on ``f`` at
``args`` and compares it with the JAX reference:

* the full derivative: the gradient when ``f`` returns one scalar, the
  Jacobian (in ``jax.jacobian``'s layout) otherwise;
* ``projections`` random directions: vᵀ(J u) from the method's ``jvp`` and
  uᵀ(Jᵀ v) from its ``vjp``, for seeded random u (shaped like the
  differentiated arguments) and v (shaped like the output). A projection tests
  the whole linear map at the cost of one product, so it also checks methods
  and user functions whose full Jacobian would be expensive.

A gradient or VJP you wrote yourself is checked the same way (rows "user grad"
and "user vjp"). The result is a :class:`CheckReport`: plain data
(``to_records()``) that prints as a table in a terminal (``str``, ``rich``)
and in Jupyter (``_repr_html_``).

A method that cannot handle ``f`` (symbolic tracing meets a data-dependent
branch, the complex step meets ``abs``) and a user function that raises show
as rows with status "error" and the message: a student's bug shows in the
report, not as a traceback. The exception itself is kept in ``row.error``.

Example:
    >>> import diffcompare.numpy as dnp
    >>> report = check(lambda x: dnp.sum(dnp.sin(x) ** 2), jnp.arange(3.0),
    ...                grad=lambda x: 2 * jnp.sin(x))          # missing cos(x)
    >>> report.passed
    False
    >>> print(report)                                          # the table
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _api, checker_render, jax_ref, kinks, metrics, timing
from .errors import (
    DiffCompareError,
    InvalidOptionError,
    InvalidOutputError,
    PrecisionWarning,
    ShapeMismatchError,
    dtype_name,
)
from .methods import METHODS

#: the quantities a row can check, in the order the report lists them
QUANTITIES = ("gradient", "jacobian", "jvp projection", "vjp projection")
#: relative error allowed for a hand-written gradient or VJP: it should be exact to rounding
USER_TOLERANCE = {"float64": 1e-8, "float32": 1e-4}
#: for a method module that does not (yet) say its TOLERANCE: exact to rounding
DEFAULT_TOLERANCE = {"float64": 1e-8, "float32": 1e-4}
_USER_GRAD, _USER_VJP, _REFERENCE, _JIT = "user grad", "user vjp", "jax", "jax.jit"


class GradientCheckError(DiffCompareError, AssertionError):
    """A gradient check failed; the message is the report's table."""


@dataclasses.dataclass
class CheckRow:
    """One method checked on one quantity.

    Attributes:
        method: the method's name ("finite_diff", ..., "user grad", "user vjp";
            "jax" for the eager reference's own timing rows, "jax.jit" for the same reference compiled).
        quantity: "gradient", "jacobian", "jvp projection" or "vjp projection".
        max_abs_error: ``metrics.max_abs_error`` against JAX (the largest over
            the projections), None when the method raised.
        relative_error: ``metrics.relative_error`` against JAX (projections:
            relative to Σ|terms| of the dot product), None when the method raised.
        tolerance: the relative error allowed.
        seconds: warm wall time of the method's calls (outputs blocked on), the
            best of the calls after the first: what the computation costs.
        first_call_seconds: wall time of the first call, which includes tracing
            and JAX's compilation (compile time is roughly the difference).
        status: "pass", "fail", "error" (the method raised), "reference", or "kink": finite
            differences disagree with JAX because ``f`` is not differentiable at the point (one-sided
            slopes differ along every failing direction, see :mod:`diffcompare.kinks`): not a method's
            error, and not a pass either.
        message: why it failed or erred, or a note.
        error: the exception a method raised (not part of the records).
    """

    method: str
    quantity: str
    max_abs_error: float | None
    relative_error: float | None
    tolerance: float | None
    seconds: float | None
    status: str
    message: str = ""
    first_call_seconds: float | None = None
    error: BaseException | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        """Whether this row is not a failure ("pass" or "reference")."""
        return self.status in ("pass", "reference")

    def to_record(self) -> dict[str, Any]:
        """The row as a plain dict of str/float/None (no exception object)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "error"}


@dataclasses.dataclass
class CheckReport:
    """What :func:`check` found: one :class:`CheckRow` per method and quantity.

    Attributes:
        rows: the rows, reference first, then methods in order, then user functions.
        function: the checked function's name.
        dtype: "float64" or "float32", the precision the tolerances are for.
        argnums: the differentiated arguments, as given.
        projections: how many random (u, v) pairs were used.
        seed: the seed of the random directions.
    """

    rows: list[CheckRow]
    function: str = "f"
    dtype: str = "float64"
    argnums: Any = 0
    projections: int = 0
    seed: int = 0

    @property
    def passed(self) -> bool:
        """True when every row passed: none failed, raised, or sits at a kink (where nothing was compared)."""
        return all(row.ok for row in self.rows)

    def failures(self) -> list[CheckRow]:
        """The rows with status "fail" or "error"."""
        return [row for row in self.rows if row.status in ("fail", "error")]

    def kinks(self) -> list[CheckRow]:
        """The rows with status "kink": ``f`` is not differentiable at the point (see :func:`check`)."""
        return [row for row in self.rows if row.status == "kink"]

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as plain dicts (``json.dumps`` and ``pandas.DataFrame`` take them)."""
        return [row.to_record() for row in self.rows]

    def raise_if_failed(self) -> CheckReport:
        """Raise :class:`GradientCheckError` (an ``AssertionError``) with the table if
        any row failed; otherwise return the report, so ``check(...).raise_if_failed()``
        reads as an assertion."""
        if not self.passed:
            what = "failed" if self.failures() else "not conclusive: f is not differentiable at this point"
            raise GradientCheckError(f"gradient check {what}\n{self}")
        return self

    def summary(self) -> str:
        """One line: what was checked and the verdict."""
        bad, kinks, checked = self.failures(), self.kinks(), sum(r.status != "reference" for r in self.rows)
        parts = [f"{len(bad)} of {checked} FAILED"] if bad else []
        if kinks:
            parts.append(f"{len(kinks)} of {checked} at a KINK (f is not differentiable here; see the notes)")
        verdict = "; ".join(parts) or "all passed"
        return (
            f"check of {self.function} (argnums={self.argnums}, {self.dtype}, "
            f"{self.projections} projection(s), seed {self.seed}): {verdict}"
        )

    # ------------------------------------------------------------ display (drawn by checker_render)

    def __str__(self) -> str:
        return checker_render.text(self)

    def __rich__(self):
        return checker_render.table(self)

    def _repr_html_(self) -> str:
        return checker_render.html(self)


# ---------------------------------------------------------------- tolerances


def method_tolerance(name: str, dtype: str, options: dict | None = None) -> float:
    """The relative error allowed for method ``name`` at ``dtype`` with ``options``.

    A method module's ``tolerance(dtype, **options)`` decides if it has one
    (finite differences: per scheme); otherwise its ``TOLERANCE[dtype]``
    (:data:`DEFAULT_TOLERANCE` if it has none).

    Example:
        >>> method_tolerance("finite_diff", "float64", {"scheme": "richardson"})
        1e-09
    """
    options = options or {}
    if name in (_USER_GRAD, _USER_VJP):
        return USER_TOLERANCE[dtype]
    module = METHODS[name]
    if callable(getattr(module, "tolerance", None)):
        return float(module.tolerance(dtype, **options))
    return float(getattr(module, "TOLERANCE", DEFAULT_TOLERANCE)[dtype])


# ---------------------------------------------------------------- the check


def _timed(fn: Callable):
    """``(output, Timed)``: ``fn`` called once cold (tracing, compilation), then once warm.

    The time students read is the warm one; the first call's is kept apart:
    compile time must not pass for cost.
    """
    measured = timing.timed(fn, rounds=1)
    return measured.value, measured


def _dot_and_scale(a, b, what: str) -> tuple[float, float]:
    """aᵀb over every leaf, and Σ|aᵢ bᵢ| (the size of the terms, the dot product's own scale)."""
    pairs = metrics.leaf_pairs(a, b, what)
    dot = sum(float(np.sum(x * y).real) for x, y in pairs)
    scale = sum(float(np.sum(np.abs(x * y))) for x, y in pairs)
    return dot, scale


def _random_like(tree, rng: np.random.Generator):
    return jax.tree_util.tree_map(
        lambda leaf: jnp.asarray(rng.standard_normal(jnp.shape(leaf)), dtype=jnp.result_type(leaf)), tree
    )


def _dtype_key(diff) -> str:
    dtypes = {np.dtype(jnp.result_type(leaf)) for leaf in jax.tree_util.tree_leaves(diff)}
    return "float64" if any(d in (np.float64, np.complex128) for d in dtypes) else "float32"


def _cast(diff, dtype: str):
    def cast(leaf):
        if jnp.issubdtype(jnp.result_type(leaf), jnp.floating):
            return jnp.asarray(leaf, dtype=dtype)
        return leaf

    return jax.tree_util.tree_map(cast, diff)


@dataclasses.dataclass
class _Problem:
    """f at args, the reference derivatives, and the random directions."""

    f: Callable
    args: tuple
    sel: _api.Selection
    dtype: str
    out: Any = None
    scalar: bool = False
    full: Any = None  # the reference gradient or Jacobian
    us: list = dataclasses.field(default_factory=list)
    vs: list = dataclasses.field(default_factory=list)
    jvp_ref: list = dataclasses.field(default_factory=list)  # (vᵀJu, scale) per pair
    vjp_ref: list = dataclasses.field(default_factory=list)  # (uᵀJᵀv, scale) per pair

    @property
    def diff(self):
        return self.sel.pick(self.args)

    def primals(self) -> tuple:
        return self.diff if self.sel.is_tuple else (self.diff,)

    def closed(self) -> Callable:
        """f as a function of the differentiated arguments only (for jvp/vjp)."""
        f, args, sel = self.f, self.args, self.sel

        def f_diff(*diff):
            return f(*sel.rebuild(args, diff if sel.is_tuple else diff[0]))

        f_diff.__name__ = getattr(f, "__name__", "f")
        return f_diff

    def as_diff(self, cotangents):
        """A method's vjp output (one entry per primal) in the structure of the differentiated args."""
        return cotangents if self.sel.is_tuple else cotangents[0]


def _user_result(p: _Problem, result, label: str):
    """A user function's result, refused with a hint when it is a 1-tuple for an int ``argnums``
    (``jax.vjp``'s habit, but the checker asks for the cotangent itself)."""
    if not p.sel.is_tuple and isinstance(result, tuple) and len(result) == 1 and not isinstance(p.diff, tuple):
        raise ShapeMismatchError(
            f"your {label} returned a tuple of one entry, but argnums is an int: return the "
            f"{'gradient' if label == 'grad' else 'cotangent'} of args[{p.sel.argnums[0]}] itself"
        )
    return result


def _row(method, quantity, tol, seconds, abs_errs, rel_errs, note="") -> CheckRow:
    abs_err, rel_err = max(abs_errs), max(rel_errs)
    status = "pass" if rel_err <= tol else "fail"
    message = note
    if status == "fail" and not message:
        message = f"relative error {rel_err:.2e} is above the tolerance {tol:.0e}"
    return CheckRow(method, quantity, abs_err, rel_err, tol, seconds.best_s, status, message,
                    first_call_seconds=seconds.first_s)


def _error_row(method, quantity, tol, err: Exception, user: bool) -> CheckRow:
    kind = type(err).__name__
    prefix = "your function raised " if user else ""
    return CheckRow(method, quantity, None, None, tol, None, "error", f"{prefix}{kind}: {err}", error=err)


def _full_note(p: _Problem) -> str:
    return "the reference is exactly 0: only an exact 0 passes" if metrics.max_magnitude(p.full) == 0 else ""


def _check_full(p: _Problem, name: str, compute: Callable, tol: float, user: bool = False, kept=None) -> CheckRow:
    """The row of the full derivative; ``kept`` (a dict), if given, gets the method's value as "value"."""
    quantity = "gradient" if p.scalar else "jacobian"
    try:
        value, seconds = _timed(compute)
        if kept is not None:
            kept["value"] = value
        abs_err = metrics.max_abs_error(value, p.full)
        rel_err = metrics.relative_error(value, p.full)
    except Exception as err:  # any failure of a method or a user function belongs in the report
        return _error_row(name, quantity, tol, err, user)
    return _row(name, quantity, tol, seconds, [abs_err], [rel_err], _full_note(p))


def _check_projections(p: _Problem, name: str, quantity: str, products: Callable, tol: float, user=False):
    """Compare ``products()`` (one vector per pair, J u or Jᵀ v) dotted with v or u against the reference."""
    reference = p.jvp_ref if quantity == "jvp projection" else p.vjp_ref
    try:
        vectors, seconds = _timed(products)
        abs_errs, rel_errs = [], []
        for k, vec in enumerate(vectors):
            other, what = (p.vs[k], "J u") if quantity == "jvp projection" else (p.us[k], "Jᵀ v")
            value, _ = _dot_and_scale(vec, other, what)
            ref, scale = reference[k]
            abs_errs.append(metrics.max_abs_error(value, ref))
            rel_errs.append(metrics.relative_error(value, ref, scale=scale))
    except Exception as err:
        return _error_row(name, quantity, tol, err, user)
    return _row(name, quantity, tol, seconds, abs_errs, rel_errs)


def _method_rows(p: _Problem, name: str, module, options: dict, tol: float) -> list[CheckRow]:
    f, args, argnums = p.f, p.args, p.sel.argnums if p.sel.is_tuple else p.sel.argnums[0]
    kept: dict = {}
    if p.scalar:
        rows = [_check_full(p, name, lambda: module.grad(f, argnums, **options)(*args), tol, kept=kept)]
    else:
        rows = [_check_full(p, name, lambda: module.jacobian(f, argnums, **options)(*args), tol, kept=kept)]
    if p.us:
        rows += _projection_rows(p, name, module, options, tol)
    if name == "finite_diff" and any(row.status == "fail" for row in rows):
        kinks.explain(p, rows, kept.get("value"), tol)
    return rows


def _projection_rows(p: _Problem, name: str, module, options: dict, tol: float) -> list[CheckRow]:
    rows = []
    f_diff, primals = p.closed(), p.primals()

    def jvps():
        return [
            module.jvp(f_diff, primals, u if p.sel.is_tuple else (u,), **options)[1] for u in p.us
        ]

    def vjps():
        _, vjp_fn = module.vjp(f_diff, *primals, **options)
        return [p.as_diff(vjp_fn(v)) for v in p.vs]

    rows.append(_check_projections(p, name, "jvp projection", jvps, tol))
    rows.append(_check_projections(p, name, "vjp projection", vjps, tol))
    return rows


def _reference_row(quantity: str, seconds) -> CheckRow:
    return CheckRow(_REFERENCE, quantity, 0.0, 0.0, None, seconds.best_s, "reference",
                    first_call_seconds=seconds.first_s)


def _jit_row(p: _Problem, compiled: Callable) -> CheckRow:
    """The reference compiled with ``jax.jit``, timed like the others: what JAX costs once compiled,
    beside the eager call our engines are compared with. A function that cannot be compiled
    (Python control flow on values) says so in a note."""
    quantity = "gradient" if p.scalar else "jacobian"
    try:
        value, seconds = _timed(lambda: compiled(*p.args))
    except Exception as err:  # noqa: BLE001 - not every function compiles; the eager reference still stands
        return CheckRow(_JIT, quantity, None, None, None, None, "reference",
                        f"cannot be compiled with jax.jit ({type(err).__name__}); only the eager time is shown")
    return CheckRow(_JIT, quantity, metrics.max_abs_error(value, p.full), metrics.relative_error(value, p.full),
                    None, seconds.best_s, "reference", first_call_seconds=seconds.first_s)


def _check_output(out) -> None:
    """``f``'s output must be floating point, as every derivative (and JAX) needs: refused here, once,
    in ``check``'s words, before any method (or the reference) says it in its own."""
    leaves = jax.tree_util.tree_leaves(out)
    if not leaves:
        raise InvalidOutputError("check: f returned no array (None or an empty container); return the "
                                 "floating-point value to differentiate")
    for leaf in leaves:
        dtype = _api.leaf_dtype(leaf)
        what = "f returned " + ("an output leaf" if len(leaves) > 1 else "a value")
        if dtype is None:
            raise InvalidOutputError(f"check: {what} of type {type(leaf).__name__}, which is not a number or an "
                                     "array; return the floating-point value to differentiate")
        if jnp.issubdtype(dtype, jnp.complexfloating):
            raise InvalidOutputError(
                f"check: {what} of dtype {dtype}; the methods differentiate real outputs (JAX refuses a complex "
                "output without holomorphic=True): return dnp.real(...), dnp.abs(...) or |z|**2 of it")
        if not jnp.issubdtype(dtype, jnp.floating):
            raise InvalidOutputError(
                f"check: {what} of dtype {dtype}; a derivative needs a floating-point output (JAX refuses this "
                "too): a comparison or a count is piecewise constant, its derivative zero almost everywhere. "
                "Return the float quantity itself (e.g. dnp.where(x > 0, x, 0.0) instead of x > 0), or "
                "dnp.asarray(..., dtype=float) of it if zero is what you mean")


def _reference_rows(p: _Problem, projections: int, seed: int) -> list[CheckRow]:
    """Compute the reference (JAX) derivatives and directions; rows with its timings."""
    f, args, argnums = p.f, p.args, p.sel.argnums if p.sel.is_tuple else p.sel.argnums[0]
    p.out = f(*args)
    _check_output(p.out)
    out_leaves, out_tree = jax.tree_util.tree_flatten(p.out)
    p.scalar = jax.tree_util.treedef_is_leaf(out_tree) and jnp.shape(out_leaves[0]) == ()
    transform = jax_ref.grad if p.scalar else jax_ref.jacobian
    p.full, seconds = _timed(lambda: transform(f, argnums)(*args))
    rows = [_reference_row("gradient" if p.scalar else "jacobian", seconds),
            _jit_row(p, jax.jit(transform(f, argnums)))]
    if not projections:
        return rows
    rng = np.random.default_rng(seed)
    for _ in range(projections):
        p.us.append(_random_like(p.diff, rng))
        p.vs.append(_random_like(p.out, rng))
    f_diff, primals = p.closed(), p.primals()
    jus, t_jvp = _timed(lambda: [jax_ref.jvp(f_diff, primals, u if p.sel.is_tuple else (u,))[1] for u in p.us])

    def vjps():
        _, vjp_fn = jax_ref.vjp(f_diff, *primals)
        return [p.as_diff(vjp_fn(v)) for v in p.vs]

    jtvs, t_vjp = _timed(vjps)
    p.jvp_ref = [_dot_and_scale(ju, v, "J u") for ju, v in zip(jus, p.vs)]
    p.vjp_ref = [_dot_and_scale(jtv, u, "Jᵀ v") for jtv, u in zip(jtvs, p.us)]
    rows.append(_reference_row("jvp projection", t_jvp))
    rows.append(_reference_row("vjp projection", t_vjp))
    return rows


def _check_methods_arg(methods) -> list[str]:
    if methods is None:
        return [name for name in METHODS if name != _REFERENCE]
    if isinstance(methods, str):
        methods = [methods]
    if not isinstance(methods, Sequence):
        raise InvalidOptionError(f"check: methods must be a list of method names, got {methods!r}")
    for name in methods:
        if name not in METHODS:
            raise InvalidOptionError(
                f"check: unknown method {name!r}; the methods available are {', '.join(METHODS)}"
            )
    return list(dict.fromkeys(methods))


def _check_options_arg(options, methods: list[str]) -> dict[str, dict]:
    if options is None:
        return {}
    if not isinstance(options, dict) or not all(isinstance(v, dict) for v in options.values()):
        raise InvalidOptionError(
            "check: options must map a method name to a dict of its keyword options, "
            "e.g. options={'finite_diff': {'scheme': 'richardson'}}"
        )
    for name in options:
        if name not in methods:
            raise InvalidOptionError(
                f"check: options given for {name!r}, which is not among the methods checked ({', '.join(methods)})"
            )
    return options


def _check_tolerance_arg(tolerance, names: list[str]):
    if tolerance is None:
        return {}
    if isinstance(tolerance, dict):
        for name, tol in tolerance.items():
            if name not in names:
                raise InvalidOptionError(f"check: tolerance given for {name!r}, which is not checked ({names})")
            _positive(tol)
        return dict(tolerance)
    return {name: _positive(tolerance) for name in names}


def _positive(tol) -> float:
    if isinstance(tol, bool) or not isinstance(tol, (int, float, np.floating, np.integer)) or not tol >= 0:
        raise InvalidOptionError(f"check: a tolerance must be a number >= 0, got {tol!r}")
    return float(tol)


def check(
    f: Callable,
    *args,
    argnums=0,
    grad: Callable | None = None,
    vjp: Callable | None = None,
    methods: Sequence[str] | str | None = None,
    projections: int = 3,
    seed: int = 0,
    dtype: str | None = None,
    options: dict[str, dict] | None = None,
    tolerance: float | dict[str, float] | None = None,
) -> CheckReport:
    """Check every method, and your own gradient or VJP, against JAX at ``args``.

    Arguments:
        f: the function, written with ``diffcompare.numpy``.
        *args: the point: its positional arguments (arrays, floats, pytrees).
        argnums: which argument(s) to differentiate (int or tuple), as in JAX.
        grad: your gradient, ``grad(*args)`` -> the gradient, in the structure
            of ``args[argnums]`` (a tuple when ``argnums`` is a tuple); only
            for scalar-valued ``f``. Checked as the row "user grad".
        vjp: your VJP, ``vjp(cotangent, *args)`` -> the cotangent(s) of the
            differentiated arguments (a tuple when ``argnums`` is a tuple).
            Checked on the projections, and on the full gradient when ``f``
            is scalar-valued (cotangent 1), as the rows "user vjp".
        methods: method names to run (default: every method of
            ``diffcompare.METHODS`` except the reference "jax"); ``[]`` checks
            only ``grad``/``vjp``.
        projections: how many random (u, v) pairs to check vᵀ(J u) and
            uᵀ(Jᵀ v) on (0: only the full derivative).
        seed: the seed of the random directions (same seed, same report).
        dtype: "float32" or "float64": cast the differentiated arguments to it
            first (default: keep them; tolerances follow their dtype).
        options: keyword options per method, e.g.
            ``{"finite_diff": {"scheme": "richardson"}}``.
        tolerance: the relative error allowed, instead of each method's own:
            one number for every row, or a dict by method name (including
            "user grad" and "user vjp"). Defaults: the method module's
            ``tolerance(dtype, **options)`` or ``TOLERANCE[dtype]``; 1e-8
            (float64) / 1e-4 (float32) for your own functions.
    Returns:
        A :class:`CheckReport`; ``report.passed``, ``print(report)``,
        ``report.to_records()``, ``report.raise_if_failed()``.

        At a kink (``abs`` or ``relu`` at 0) ``f`` has no derivative: JAX returns one subgradient
        by convention (abs'(0) = 1) and central finite differences the average of the one-sided
        slopes. When finite differences disagree with JAX, the one-sided slopes along each failing
        direction are measured (:mod:`diffcompare.kinks`); where they differ and each is stable, the
        row's status is "kink" instead of "fail", with a note giving both slopes. A kink row is not
        a failure of finite differences (``report.failures()`` leaves it out) but not a pass either:
        ``report.passed`` is False (the command line exits 1), since nothing could be compared there.
    Raises:
        InvalidOptionError: an unknown method, a bad ``argnums``, ``projections``,
            ``dtype``, ``options`` or ``tolerance``; ``grad=`` for a vector-valued ``f``.
        InvalidInputError: the arguments to differentiate are not floating point.
        InvalidOutputError: ``f`` returns a bool, integer or complex output (or no array).
        Whatever ``f`` itself raises under JAX (without a reference there is nothing to check).
    Example:
        >>> report = check(lambda x: dnp.sum(x ** 3), jnp.arange(1.0, 4.0),
        ...                grad=lambda x: 3 * x)                   # should be 3 x²
        >>> [(r.method, r.status) for r in report.failures()]
        [('user grad', 'fail')]
    """
    names = _check_methods_arg(methods)
    options = _check_options_arg(options, names)
    if isinstance(projections, bool) or not isinstance(projections, (int, np.integer)) or projections < 0:
        raise InvalidOptionError(f"check: projections must be an int >= 0, got {projections!r}")
    if dtype is not None:
        dtype = dtype_name(dtype, "check: dtype")
    for label, fn in (("grad", grad), ("vjp", vjp)):
        if fn is not None and not callable(fn):
            raise InvalidOptionError(f"check: {label}= must be a function, got {type(fn).__name__}")
    user_names = [n for n, fn in ((_USER_GRAD, grad), (_USER_VJP, vjp)) if fn is not None]
    if not names and not user_names:
        raise InvalidOptionError("check: nothing to check: give methods, grad= or vjp=")
    tolerances = _check_tolerance_arg(tolerance, names + user_names)

    sel = _api.select(args, argnums, "check")
    if dtype is not None:
        args = sel.rebuild(args, _cast(sel.pick(args), dtype))
    _api.check_differentiable(sel.pick(args), "check")  # warns once if float64 is asked for but JAX is in float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PrecisionWarning)  # ... not again for every method and quantity
        return _check(f, args, sel, argnums, names, options, tolerances, grad, vjp, int(projections), seed)


def _check(f, args, sel, argnums, names, options, tolerances, grad, vjp, projections, seed) -> CheckReport:
    p = _Problem(f, tuple(args), sel, _dtype_key(sel.pick(args)))
    rows = _reference_rows(p, projections, seed)
    if grad is not None and not p.scalar:
        raise InvalidOptionError(
            "check: grad= is for scalar-valued functions, but f returns shape(s) "
            f"{[tuple(jnp.shape(leaf)) for leaf in jax.tree_util.tree_leaves(p.out)]}; pass vjp= instead"
        )

    for name in names:
        opts = options.get(name, {})
        tol = tolerances.get(name, method_tolerance(name, p.dtype, opts))
        rows += _method_rows(p, name, METHODS[name], opts, tol)

    if grad is not None:
        tol = tolerances.get(_USER_GRAD, USER_TOLERANCE[p.dtype])
        rows.append(_check_full(p, _USER_GRAD, lambda: _user_result(p, grad(*p.args), "grad"), tol, user=True))
    if vjp is not None:
        tol = tolerances.get(_USER_VJP, USER_TOLERANCE[p.dtype])
        if p.scalar:
            ones = jnp.ones_like(p.out)
            rows.append(_check_full(p, _USER_VJP, lambda: _user_result(p, vjp(ones, *p.args), "vjp"), tol, user=True))
        if p.vs:
            products = lambda: [_user_result(p, vjp(v, *p.args), "vjp") for v in p.vs]  # noqa: E731
            rows.append(_check_projections(p, _USER_VJP, "vjp projection", products, tol, user=True))

    return CheckReport(rows, getattr(f, "__name__", "f"), p.dtype, argnums, projections, seed)
