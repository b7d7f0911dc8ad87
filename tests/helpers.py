"""Shared test helpers: compare pytrees against the JAX reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def rel_error(value, reference) -> float:
    """max|value − reference| / max|reference| over all leaves (norm-wise relative error)."""
    v_leaves, v_tree = jax.tree_util.tree_flatten(value)
    r_leaves, r_tree = jax.tree_util.tree_flatten(reference)
    assert v_tree == r_tree, f"structure {v_tree} != reference {r_tree}"
    num, den = 0.0, 0.0
    for v, r in zip(v_leaves, r_leaves):
        assert jnp.shape(v) == jnp.shape(r), f"shape {jnp.shape(v)} != reference {jnp.shape(r)}"
        num = max(num, float(jnp.max(jnp.abs(jnp.asarray(v) - jnp.asarray(r)), initial=0.0)))
        den = max(den, float(jnp.max(jnp.abs(jnp.asarray(r)), initial=0.0)))
    return num / max(den, np.finfo(np.float64).tiny)


def assert_close(value, reference, rtol: float, what: str = ""):
    err = rel_error(value, reference)
    assert err <= rtol, f"{what}: relative error {err:.3e} > {rtol:.1e}"


def argnums_of(inst):
    return inst.argnums if len(inst.argnums) > 1 else inst.argnums[0]
