"""The finite-difference schemes: stencils, default steps, costs and tolerances.

Each scheme trades truncation error (the Taylor terms it ignores, O(hᵖ))
against round-off (ε|f|/h, the cancellation in f(x+h) − f(x)), so the default
step is chosen from the dtype's machine epsilon ε and the scheme's order p:
h = ε^(1/(p+1)) · max(1, |xᵢ|).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ..errors import InvalidOptionError

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
#: evaluations of f per input coordinate
_PER_INPUT = {"forward": 1, "backward": 1, "central": 2, "central4": 4, "complex": 1}


def _scheme_named(scheme, fname: str) -> Scheme:
    if not isinstance(scheme, str) or scheme not in SCHEMES:
        raise InvalidOptionError(f"{fname}: unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")
    return SCHEMES[scheme]


def _check_levels(levels, fname: str) -> int:
    if not isinstance(levels, (int, np.integer)) or isinstance(levels, bool) or levels < 1:
        raise InvalidOptionError(f"{fname}: levels must be an int >= 1, got {levels!r}")
    return int(levels)


def tolerance(dtype: str = "float64", scheme: str = "central", **_options) -> float:
    """The relative error the checker allows this method for ``scheme`` at ``dtype``."""
    by_dtype = SCHEME_TOLERANCE[_scheme_named(scheme, "finite_diff.tolerance").name]
    if dtype not in by_dtype:
        raise InvalidOptionError(f"finite_diff.tolerance: dtype must be one of {', '.join(by_dtype)}, got {dtype!r}")
    return by_dtype[dtype]


def check_options(scheme: str, step, levels: int, fname: str) -> Scheme:
    """The scheme named ``scheme``, after checking ``step`` and ``levels``."""
    scheme_ = _scheme_named(scheme, fname)
    if step is not None:
        if not isinstance(step, (int, float, np.floating, np.integer)) or isinstance(step, bool):
            raise InvalidOptionError(f"{fname}: step must be a positive number or None, got {step!r}")
        if not np.isfinite(step) or step <= 0:
            raise InvalidOptionError(
                f"{fname}: step must be positive and finite, got {step!r}; "
                "leave it out (None) to use the default for the dtype and scheme"
            )
    _check_levels(levels, fname)
    return scheme_


def order(scheme: str, levels: int = RICHARDSON_LEVELS) -> int:
    """The truncation order p of ``scheme`` (error O(hᵖ))."""
    _scheme_named(scheme, "finite_diff.order")
    return 2 * _check_levels(levels, "finite_diff.order") if scheme == "richardson" else SCHEMES[scheme].order


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
    _scheme_named(scheme, "finite_diff.evaluations")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise InvalidOptionError(f"finite_diff.evaluations: n must be an int >= 0 (the number of inputs), got {n!r}")
    if n == 0:
        return 0  # nothing to perturb, and f(x) is not needed
    per_input = 2 * _check_levels(levels, "finite_diff.evaluations") if scheme == "richardson" else _PER_INPUT[scheme]
    extra = 1 if scheme in ("forward", "backward") else 0
    return per_input * n + extra


def f_scale(out, scheme: Scheme) -> float:
    """max(1, |f(x)|), the scale of f's round-off; only Richardson's step uses it."""
    if scheme.name != "richardson":
        return 1.0
    flat, _ = ravel_pytree(out)
    return max(1.0, float(jnp.max(jnp.abs(flat)))) if flat.size else 1.0


def coordinate_steps(xp, x, scheme: str, step, levels, accuracy, f_scale, fname: str, leaves=None):
    """The step hᵢ for every coordinate of the flat input ``x``.

    ``leaves``: for inputs of mixed dtypes, ``(dtypes, round)``: each coordinate's own dtype, and a
    function rounding a flat point to those dtypes (a float32 leaf beside a float64 one gets a
    float32 step, exactly represented in float32)."""
    if step is None and leaves is not None:
        base = np.array([default_step(scheme, dtype, levels, accuracy, f_scale) for dtype in leaves[0]])
        h = xp.asarray(base, x.dtype) * xp.maximum(1.0, xp.abs(x))
    elif step is None:
        h = default_step(scheme, x.dtype, levels, accuracy, f_scale) * xp.maximum(1.0, xp.abs(x))
    else:
        h = xp.full(x.shape, step, dtype=x.dtype)
    if scheme != "complex":
        h = (leaves[1](x + h) if leaves is not None else x + h) - x  # a step that x + h represents exactly
        check_resolved(xp is np and bool(np.any(h == 0)), x, step, scheme, levels, fname)
    return h


def check_resolved(lost: bool, x, step, scheme: str, levels, fname: str) -> None:
    """Refuse a user's step that x + h rounds back to x (the differences would be 0/0)."""
    if step is None or not lost:
        return
    scale = float(np.max(np.maximum(1.0, np.abs(x)), initial=1.0))
    eps = float(np.finfo(x.dtype).eps)
    raise InvalidOptionError(
        f"{fname}: step={step!r} is lost in rounding: x + h == x where |x| is up to {scale:.3g}, so the "
        f"difference quotients would be 0/0; use step >= {2 * eps * scale:.1e} (2ε·max(1, |x|)), or leave step "
        f"out for the default, about {default_step(scheme, x.dtype, levels) * scale:.1e} for scheme={scheme!r}"
    )
