"""Matrix calculus measured: array-level symbolic derivatives against JAX's transformations.

:func:`matrix_calculus` times, in one process and interleaved, the compiled symbolic
Hessian (or gradient) and ``jax.jit(jax.hessian)`` / ``jax.jit(jax.grad)`` on the same
problem, checks they agree, and returns one row per problem (the experiment helper can
wrap it). Run it with ``diffcompare bench matrix-calculus``.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from .. import numpy as dnp
from ..timing import best_times
from . import api
from . import array as AL


def quadratic_form(x, A):
    """xᵀAx (Hessian A + Aᵀ)."""
    return x @ (A @ x)


def logistic_loss(w, X, y):
    """The negative log-likelihood Σ log(1 + exp(xᵢᵀw)) − yᵢ xᵢᵀw for labels 0 and 1
    (gradient Xᵀ(σ − y), Hessian Xᵀ diag(σ ⊙ (1 − σ)) X with σ = sigmoid(Xw))."""
    z = X @ w
    return dnp.sum(dnp.log1p(dnp.exp(z)) - y * z)


def squared_norm(x):
    return dnp.sum(x**2)


def mlp_loss(W1, W2, x, y):
    """½‖W₂ tanh(W₁x) − y‖² (gradients: the delta equations)."""
    return 0.5 * dnp.sum((W2 @ dnp.tanh(W1 @ x) - y) ** 2)


def _compare(name, ours, theirs, rounds, size) -> dict:
    # back to back: each call right after an untimed call of itself (the time per call in a loop);
    # a call that follows the other method's pays for the caches and threads that one left behind
    t = best_times({"symbolic": ours, "jax": theirs}, rounds=rounds, back_to_back=True)
    error = float(jnp.max(jnp.abs(ours() - theirs())))
    return {"problem": name, "symbolic s": t["symbolic"], "jax s": t["jax"], "speed-up": t["jax"] / t["symbolic"],
            "max abs diff": error, "expression ops": size}


def matrix_calculus(n: int = 1000, m: int = 2000, d: int = 1000, n_grad: int = 20_000, rounds: int = 10,
                    seed: int = 0) -> list[dict]:
    """Rows ``{problem, symbolic s, jax s, speed-up, max abs diff, expression ops}``.

    Arguments:
        n: size of x in xᵀAx; m, d: the logistic regression's data (m × d);
        n_grad: size of x in the gradient of Σ x² (its row times the first call, tracing and
            compiling included, against the scalar-expansion figure of 152 s).
    """
    rng = np.random.default_rng(seed)
    A = jnp.asarray(rng.normal(size=(n, n)))
    x = jnp.asarray(rng.normal(size=n))
    X = jnp.asarray(rng.normal(size=(m, d)) / np.sqrt(d))
    y = jnp.asarray(rng.choice([0.0, 1.0], size=m))
    w = jnp.asarray(rng.normal(size=d))
    rows = []
    hess = api.hessian(quadratic_form)
    jax_hess = jax.jit(jax.hessian(quadratic_form))
    size = AL.size([AL.hessian_expression(quadratic_form, x, A)])
    rows.append(_compare(f"hessian x^T A x, n={n}", lambda: hess(x, A), lambda: jax_hess(x, A), rounds, size))
    hess = api.hessian(logistic_loss)
    jax_hess = jax.jit(jax.hessian(logistic_loss))
    size = AL.size([AL.hessian_expression(logistic_loss, w, X, y)])
    rows.append(_compare(f"hessian logistic regression, {m}x{d}", lambda: hess(w, X, y), lambda: jax_hess(w, X, y),
                         rounds, size))
    v = jnp.linspace(-1.0, 1.0, n_grad)
    api.clear_cache()
    start = time.perf_counter()
    g = jax.block_until_ready(api.grad(squared_norm)(v))
    first = time.perf_counter() - start
    rows.append({"problem": f"grad sum(x**2), n={n_grad}, first call", "symbolic s": first, "jax s": float("nan"),
                 "speed-up": float("nan"), "max abs diff": float(jnp.max(jnp.abs(g - 2 * v))),
                 "expression ops": AL.size([AL.gradient_expression(squared_norm, v)])})
    return rows


def formulas() -> list[str]:
    """The course's formulas as the array level prints them (text and LaTeX)."""
    rng = np.random.default_rng(0)
    A, x, W, X = (jnp.asarray(rng.normal(size=s)) for s in ((3, 3), (3,), (2, 3), (4, 3)))
    y, W1, W2, t = jnp.ones(4), jnp.ones((3, 3)), jnp.ones((2, 3)), jnp.ones(2)
    lines = []
    for latex in (False, True):
        show = AL.to_latex if latex else AL.to_text
        lines.append("H(xᵀAx): " + show(AL.hessian_expression(quadratic_form, x, A)))
        lines.append("VJP of W x: " + show(AL.vjp_expression(lambda W, x: W @ x, W, x)))
        lines.extend(AL.hessian_formulas(logistic_loss, x, X, y, latex=latex))
        lines.extend(AL.gradient_formulas(mlp_loss, W1, W2, x, t, argnums=(0, 1), latex=latex))
    return lines


def main() -> None:
    """Measure and print the table and the formulas (``diffcompare bench matrix-calculus``)."""
    jax.config.update("jax_enable_x64", True)
    for row in matrix_calculus():
        print(f"{row['problem']:<42} symbolic {row['symbolic s']:.4f} s   jax {row['jax s']:.4f} s   "
              f"speed-up {row['speed-up']:.1f}x   max diff {row['max abs diff']:.1e}   ops {row['expression ops']}")
    print("\nformulas (text, then LaTeX):")
    for line in formulas():
        print("  " + line)

