"""On a GPU: JAX sees it, and the methods agree with the reference there as on the CPU."""

import jax
import pytest

from diffcompare import METHODS, jax_ref
from diffcompare.problems import PROBLEMS

from .helpers import argnums_of, assert_close

pytestmark = pytest.mark.gpu
TOLERANCE = {"finite_diff": 1e-6, "symbolic": 1e-10, "forward": 1e-10, "reverse": 1e-10}


def test_jax_sees_a_gpu():
    assert any(d.platform == "gpu" for d in jax.devices())


@pytest.mark.parametrize("method", [m for m in METHODS if m != "jax"])
@pytest.mark.parametrize("name", [n for n, p in PROBLEMS.items() if not p.data_dependent and n != "all_ops"])
def test_methods_agree_with_jax_on_the_gpu(name, method):
    inst = PROBLEMS[name].make(seed=1)
    assert all(leaf.devices() == {jax.devices()[0]} for leaf in jax.tree_util.tree_leaves(inst.args))
    module, argnums = METHODS[method], argnums_of(inst)
    if inst.scalar_output:
        got, ref = module.grad(inst.fun, argnums)(*inst.args), jax_ref.grad(inst.fun, argnums)(*inst.args)
    else:
        got, ref = module.jacobian(inst.fun, argnums)(*inst.args), jax_ref.jacobian(inst.fun, argnums)(*inst.args)
    assert_close(got, ref, TOLERANCE[method], f"{method}/{name}")
