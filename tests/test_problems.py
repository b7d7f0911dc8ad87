"""The zoo: closed forms agree with JAX, metadata tells the truth, inputs are reproducible."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from diffcompare import jax_ref
from diffcompare.errors import InvalidOptionError
from diffcompare.primitives import PRIMITIVES
from diffcompare.problems import PROBLEMS, get, primitives_used
from diffcompare.problems.base import KINK_PRIMITIVES

from .helpers import argnums_of, assert_close

COURSE_EXAMPLES = {"exp_over_square", "exp_sin_xy", "sqrt_cos", "mlp_l2", "mlp_softmax_xent", "layered_net",
                   "logistic_map", "rosenbrock", "tall_map", "wide_map", "kinks", "branchy"}


def reference_derivative(inst):
    if inst.scalar_output:
        return jax_ref.grad(inst.fun, argnums_of(inst))(*inst.args)
    return jax_ref.jacobian(inst.fun, argnums_of(inst))(*inst.args)


def test_the_course_examples_are_all_there():
    assert COURSE_EXAMPLES <= set(PROBLEMS)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PROBLEMS))
@pytest.mark.parametrize("seed", [None, 0, 7])
def test_closed_form_derivative_matches_jax(name, seed):
    inst = PROBLEMS[name].make(seed=seed)
    if inst.derivative is None:
        pytest.skip("no closed form")
    assert_close(inst.derivative(*inst.args), reference_derivative(inst), 1e-12, name)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n, p in PROBLEMS.items() if p.sizes])
def test_every_size_builds_and_runs(name):
    problem = PROBLEMS[name]
    for size in problem.sizes[:3]:
        inst = problem.make(size=size, seed=1)
        out = inst.value()
        assert all(bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree_util.tree_leaves(out))
        assert inst.size == size


def test_sizes_change_the_input_dimension():
    dims = [PROBLEMS["rosenbrock"].make(size=n).input_dim for n in (2, 10, 100)]
    assert dims == [2, 10, 100]
    tall = PROBLEMS["tall_map"].make(size=5)
    assert (tall.input_dim, tall.output_dim) == (5, 20)
    wide = PROBLEMS["wide_map"].make(size=16)
    assert (wide.input_dim, wide.output_dim) == (16, 4)


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_same_seed_same_instance(name):
    a, b = PROBLEMS[name].make(seed=3), PROBLEMS[name].make(seed=3)
    for x, y in zip(jax.tree_util.tree_leaves(a.args), jax.tree_util.tree_leaves(b.args)):
        np.testing.assert_array_equal(x, y)
    np.testing.assert_array_equal(a.value(), b.value())


def test_course_point_is_the_default():
    inst = PROBLEMS["exp_over_square"].make()
    assert float(inst.args[0]) == 1.5
    assert abs(float(inst.value()) - np.exp(1.5) / 2.25) < 1e-15


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_kink_flag_matches_the_primitives_used(name):
    problem = PROBLEMS[name]
    assert problem.has_kinks == bool(problem.primitives() & KINK_PRIMITIVES)


def test_data_dependent_flag():
    flagged = {n for n, p in PROBLEMS.items() if p.data_dependent}
    assert "branchy" in flagged
    for name in flagged:  # such a function cannot be traced by jax.jit
        inst = PROBLEMS[name].make()
        with pytest.raises(jax.errors.JAXTypeError):
            jax.jit(inst.fun)(*inst.args)


@pytest.mark.slow
def test_the_zoo_touches_every_primitive():
    used = set().union(*(p.primitives() for p in PROBLEMS.values()))
    assert used == set(PRIMITIVES)


def test_primitives_used_records_what_runs():
    assert primitives_used(lambda x: x * 2 + 1, jnp.ones(3)) == {"multiply", "add"}


def test_float32_instances():
    inst = PROBLEMS["mlp_l2"].make(dtype="float32")
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree_util.tree_leaves(inst.args))


def test_unknown_problem_lists_the_names():
    with pytest.raises(InvalidOptionError, match="rosenbrock"):
        get("rosenbrok")
