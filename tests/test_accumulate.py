"""diffcompare.accumulate: chain bracketing, vertex elimination and sparse Jacobians, all checked against JAX."""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.sparse as sp

import diffcompare.numpy as dnp
from diffcompare import accumulate as acc
from diffcompare.accumulate import examples
from diffcompare.errors import DiffCompareError, InvalidOptionError, ShapeMismatchError

TOL = 1e-10


def _kinds(plan):
    out = {plan.kind}
    for part in (plan.inner, plan.outer):
        if part is not None:
            out |= _kinds(part)
    return out


# ---------------------------------------------------------------- chains


def test_hourglass_plan_mixes_the_modes():
    dims = examples.PROFILES["hourglass"]
    plan = acc.plan_chain(dims)
    assert plan.text() == "(J4 J3)·(J2 J1)"
    assert plan.modes() == {"(J2 J1)": "reverse", "(J4 J3)": "forward"}
    assert plan.cost == 10 * (100_000 + 10_000) * 2 + 100 * 10 * 100
    pure = min(acc.pure_cost(dims, "forward"), acc.pure_cost(dims, "reverse"))
    assert pure == 100 * 220_000 and pure / plan.cost >= 5
    assert len(plan.steps()) == 3 and "reverse mode: 10 cotangents" in plan.steps()[0]


@pytest.mark.parametrize("dims, mode", [((10, 100, 1000, 1000), "forward"), ((1000, 1000, 100, 10), "reverse")])
def test_tall_and_wide_chains_keep_a_pure_mode(dims, mode):
    plan = acc.plan_chain(dims)
    assert plan.kind == mode and plan.cost == acc.pure_cost(dims, mode)


def _all_costs(dims, i, j, work):
    """Every plan's cost for the bracket (i, j), by brute force over the recursive choices."""
    n = dims
    costs = {n[i] * work(i, j), n[j] * work(i, j)}
    for k in range(i + 1, j):
        inner, outer = _all_costs(dims, i, k, work), _all_costs(dims, k, j, work)
        costs |= {a + b + n[j] * n[k] * n[i] for a in inner for b in outer}
        costs |= {a + n[i] * work(k, j) for a in inner}
        costs |= {b + n[j] * work(i, k) for b in outer}
    return costs


def test_dynamic_programming_finds_the_cheapest_of_all_plans():
    rng = np.random.default_rng(7)
    for _ in range(25):
        dims = tuple(int(v) for v in rng.integers(1, 30, rng.integers(2, 6)))
        c = [dims[k] * dims[k - 1] for k in range(1, len(dims))]
        work = lambda a, b, c=c: sum(c[a:b])  # noqa: E731
        plan = acc.plan_chain(dims)
        assert plan.cost == min(_all_costs(dims, 0, len(dims) - 1, work))
        assert plan.cost <= min(acc.pure_cost(dims, "forward"), acc.pure_cost(dims, "reverse"))
        own = [int(line.rsplit(";", 1)[1].split()[0].replace(",", "")) for line in plan.steps()]
        assert sum(own) == plan.cost  # the steps' costs add up to the plan's


def _all_modes_and_reference(layers):
    """One compiled function giving the Jacobian in every mode and jax.jacfwd's (one compile per chain)."""
    return jax.jit(lambda x: ([acc.chain_jacobian(layers, m)(x) for m in acc.MODES],
                              jax.jacfwd(examples.compose(layers))(x)))


@pytest.mark.slow
def test_random_dense_chains_equal_jacfwd_in_every_mode():
    """Random widths and layers, including plans that push, pull and multiply."""
    rng = np.random.default_rng(11)
    cases = [(10, 7, 1, 9), (10, 6, 5, 4, 5), (6, 8, 3, 7, 9), (8, 6, 3, 4, 1, 1)]
    cases += [tuple(int(v) for v in rng.integers(1, 12, rng.integers(2, 6))) for _ in range(2)]
    seen = set()
    for seed, dims in enumerate(cases):
        layers, x = examples.dense_chain(dims, seed=seed)
        seen |= _kinds(acc.plan_chain(dims))
        jacobians, ref = _all_modes_and_reference(layers)(x)
        for J in jacobians:
            assert J.shape == (dims[-1], dims[0])
            np.testing.assert_allclose(J, ref, atol=TOL, rtol=0)
    assert seen == {"forward", "reverse", "product", "push", "pull"}


def test_chain_jacobian_runs_eagerly():
    layers, x = examples.dense_chain((3, 5, 1, 4), seed=1)
    np.testing.assert_allclose(acc.chain_jacobian(layers)(x), jax.jacfwd(examples.compose(layers))(x),
                               atol=TOL, rtol=0)


def test_chain_of_unequal_nonlinear_layers():
    W = jnp.asarray(np.random.default_rng(3).normal(size=(4, 6)))
    layers = [lambda x: dnp.sin(x) * x, lambda x: W @ dnp.exp(x / 4), lambda h: dnp.concatenate([h, h**2])]
    x = jnp.linspace(-1.0, 1.0, 6)
    assert acc.chain_dims(layers, x) == (6, 6, 4, 8)
    jacobians, ref = _all_modes_and_reference(layers)(x)
    for J in jacobians:
        np.testing.assert_allclose(J, ref, atol=TOL, rtol=0)


def _primitive_names(jaxpr):
    return {eqn.primitive.name for eqn in jaxpr.eqns}


def test_brackets_use_each_weight_matrix_as_stored():
    """A reverse bracket pulls cotangent rows through W @ x as rows·W: no transposed copy of W for XLA to keep
    beside W (the hourglass's reverse bracket then reads W₁ where the primal pass left it in cache)."""
    layers, x = examples.dense_chain((6, 9, 2), seed=4)
    f = examples.compose(layers)
    rev_jaxpr = jax.make_jaxpr(acc.chain_jacobian(layers, "reverse"))(x).jaxpr
    assert "transpose" not in _primitive_names(rev_jaxpr)
    np.testing.assert_allclose(acc.chain_jacobian(layers, "reverse")(x), jax.jacrev(f)(x), atol=TOL, rtol=0)


@pytest.mark.slow
def test_vector_matrix_products_under_reverse_over_reverse():
    from diffcompare import reverse as rev

    rng = np.random.default_rng(8)
    W = jnp.asarray(rng.normal(size=(5, 4)))
    x, v = jnp.asarray(rng.normal(size=4)), jnp.asarray(rng.normal(size=5))
    for g, arg in [(lambda x: dnp.sum(dnp.sin(W @ x) ** 2), x), (lambda v: dnp.sum(dnp.exp(v @ W / 3)), v)]:
        np.testing.assert_allclose(rev.jacobian(g)(arg), jax.grad(g)(arg), atol=TOL, rtol=0)
        np.testing.assert_allclose(rev.hessian(g)(arg), jax.hessian(g)(arg), atol=TOL, rtol=0)


def test_chain_errors():
    with pytest.raises(InvalidOptionError, match="mode"):
        acc.chain_jacobian([dnp.sin], "sideways")
    with pytest.raises(ShapeMismatchError, match="1-d"):
        acc.chain_jacobian([lambda x: dnp.reshape(x, (2, 2))])(jnp.ones(4))
    with pytest.raises(ShapeMismatchError, match="layer_costs"):
        acc.plan_chain([2, 3, 4], layer_costs=[1])
    with pytest.raises(ShapeMismatchError):
        acc.plan_chain([3])


# ---------------------------------------------------------------- vertex elimination


def _jac_ref(f, args):
    fn = lambda *a: jnp.stack(jax.tree_util.tree_leaves(f(*a)))  # noqa: E731
    return np.asarray(jax.jacfwd(fn, argnums=tuple(range(len(args))))(*map(jnp.asarray, args))).T


def test_lighthouse_markowitz_beats_both_pure_modes():
    args = (2.0, 3.0, 0.4, 1.3)
    graph = acc.linearize(acc.lighthouse, *args)
    assert len(graph.intermediates()) == 5  # ωt, tan, ν·tan, γ − tan, the quotient (y2 = γ·y1 is an output)
    counts = {order: acc.eliminate(graph, order) for order in acc.ORDERS}
    for e in counts.values():
        np.testing.assert_allclose(e.jacobian(), _jac_ref(acc.lighthouse, args), atol=TOL, rtol=0)
    mults = {order: e.multiplications for order, e in counts.items()}
    assert mults == {"forward": 16, "reverse": 16, "markowitz": 12}
    best = min(acc.eliminate(graph, list(p)).multiplications for p in itertools.permutations(graph.intermediates()))
    assert best == 11  # Markowitz is a heuristic: close to, not always at, the optimum


def test_elimination_with_fan_out_equals_jacfwd():
    def f(x, y, z):
        a = x * y
        b = dnp.sin(a) + a * z  # a fans out twice
        c = dnp.exp(b) / (1.0 + z * z)
        return b * c, c - x, a

    rng = np.random.default_rng(5)
    for _ in range(3):
        args = tuple(float(v) for v in rng.uniform(0.2, 1.5, 3))
        graph = acc.linearize(f, *args)
        ref = _jac_ref(f, args)
        for order in (*acc.ORDERS, list(reversed(graph.intermediates()))):
            np.testing.assert_allclose(acc.eliminate(graph, order).jacobian(), ref, atol=TOL, rtol=0)


def test_elimination_counts_markowitz_degrees():
    g = acc.linearize(lambda x, y: dnp.sin(x * y) * dnp.cos(x * y), 0.3, 0.7)
    v = g.intermediates()[0]
    before = g.markowitz(v)
    h = g.copy()
    assert acc.eliminate_vertex(h, v) == before and not h.preds(v) and not h.succs(v)
    assert g.preds(v)  # the copy was changed, the original not


def test_elimination_errors_and_drawing():
    graph = acc.linearize(acc.lighthouse, 2.0, 3.0, 0.4, 1.3)
    with pytest.raises(InvalidOptionError, match="order"):
        acc.eliminate(graph, "sideways")
    with pytest.raises(InvalidOptionError, match="once"):
        acc.eliminate(graph, graph.intermediates()[:2])
    with pytest.raises(ShapeMismatchError, match="scalar"):
        acc.linearize(lambda x: x * 2, jnp.ones(3))
    with pytest.raises(ShapeMismatchError, match="not eliminated"):
        graph.jacobian()
    import matplotlib

    matplotlib.use("Agg")
    fig = acc.draw_elimination(acc.eliminate(graph, "markowitz"))
    assert sum(ax.has_data() or bool(ax.texts) for ax in fig.axes) == 6  # five steps and the result
    assert "12 multiplications" in fig.texts[0].get_text()


# ---------------------------------------------------------------- sparsity


def _banded_matrix(n, lower, upper, seed):
    rng = np.random.default_rng(seed)
    return np.triu(np.tril(rng.normal(size=(n, n)), upper), -lower)


@pytest.mark.slow
@pytest.mark.parametrize("lower, upper", [(1, 1), (3, 0), (2, 4)])
def test_banded_maps_all_modes(lower, upper):
    n = 24
    B = jnp.asarray(_banded_matrix(n, lower, upper, seed=lower * 10 + upper))

    def f(x):
        return dnp.tanh(B @ x) + x**2

    x = jnp.asarray(np.random.default_rng(1).uniform(-1, 1, n))
    ref = np.asarray(jax.jacfwd(f)(x))
    pat = acc.pattern(f, x)
    assert (pat.toarray() == (ref != 0)).all()
    for mode in acc.sparsity.MODES:
        sj = acc.sparse_jacobian(f, x, mode, pattern_matrix=pat)
        assert sj.n_colours == lower + upper + 1  # a band of width w needs exactly w colours
        assert acc.is_valid_colouring(pat, sj.colours, rows=mode == "reverse")
        J = np.asarray(sj(x).todense())
        np.testing.assert_allclose(J, ref, atol=1e-7 if mode == "finite_diff" else TOL, rtol=0)


@pytest.mark.slow
def test_sparse_jacobian_under_jit_matches_jacfwd_on_the_examples():
    x = jnp.asarray(np.random.default_rng(2).uniform(-1, 1, 60))
    for f, colours in ((examples.bratu_residual, 3), (examples.banded_map, 5)):
        ref = np.asarray(jax.jacfwd(f)(x))
        for mode in ("forward", "reverse"):
            sj = acc.sparse_jacobian(f, x, mode)
            assert sj.n_colours == colours
            np.testing.assert_allclose(jax.jit(sj)(x).todense(), ref, atol=TOL, rtol=0)


@pytest.mark.slow
def test_tridiagonal_at_n_ten_thousand_needs_three_colours():
    n = 10_000
    x = jnp.asarray(np.random.default_rng(3).uniform(-1, 1, n))
    sj = acc.sparse_jacobian(examples.bratu_residual, x)
    assert sj.n_colours == 3 and sj.pattern.nnz == 3 * n - 2
    J = sj(x)
    small = jnp.asarray(np.asarray(x)[:50])
    ref = np.asarray(jax.jacfwd(examples.bratu_residual)(small))
    # the interior rows do not depend on n except through h²λ exp(u): compare the stencil part row by row
    assert J.n_batch == 1 and J.data.shape == (n, 3) and J.indices.shape == (n, 3, 1)  # row-batched: 3 per row
    data = acc.to_scipy(J)
    np.testing.assert_allclose(data[1, :3].toarray().ravel()[[0, 2]], ref[1, [0, 2]], atol=TOL, rtol=0)
    h2 = 1.0 / (n + 1) ** 2
    np.testing.assert_allclose(data.diagonal(), -2.0 + h2 * np.exp(np.asarray(x)), atol=TOL, rtol=0)


@pytest.mark.slow
def test_both_layouts_hold_the_same_jacobian():
    x = jnp.asarray(np.random.default_rng(4).uniform(-1, 1, 40))
    ref = np.asarray(jax.jacfwd(examples.banded_map)(x))
    for mode in ("forward", "finite_diff"):
        rows = acc.sparse_jacobian(examples.banded_map, x, mode)
        coo = acc.sparse_jacobian(examples.banded_map, x, mode, layout="coo")
        assert rows.layout == "rows" and coo.layout == "coo"
        J_rows, J_coo = jax.jit(lambda x, a=rows, b=coo: (a(x), b(x)))(x)
        assert (J_rows.n_batch, J_coo.n_batch) == (1, 0) and J_coo.indices.shape == (5 * 40, 2)
        tol = 1e-7 if mode == "finite_diff" else TOL
        for J in (J_rows, J_coo):
            np.testing.assert_allclose(acc.to_scipy(J).toarray(), ref, atol=tol, rtol=0)
            np.testing.assert_allclose(J.todense(), ref, atol=tol, rtol=0)
    assert acc.sparse_jacobian(examples.banded_map, x, "reverse").layout == "coo"
    with pytest.raises(InvalidOptionError, match="layout"):
        acc.sparse_jacobian(examples.banded_map, x, "reverse", layout="rows")
    with pytest.raises(InvalidOptionError, match="layout"):
        acc.sparse_jacobian(examples.banded_map, x, layout="csr")


@pytest.mark.slow
def test_pattern_through_structural_operations():
    """The graph's dependency rules for each kind of primitive give exactly JAX's nonzeros at a generic point."""
    M = jnp.asarray(np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]]))
    functions = [
        lambda x: dnp.reshape(dnp.transpose(dnp.reshape(x, (3, 4))), (-1,)) ** 2,
        lambda x: dnp.sum(dnp.reshape(x, (3, 4)) ** 2, axis=1),
        lambda x: dnp.reshape(dnp.softmax(dnp.reshape(x, (4, 3)), axis=1), (-1,)),
        lambda x: dnp.where(x > 0, dnp.sin(x), x * 3.0),
        lambda x: dnp.reshape(dnp.stack([x[:6], x[6:] * x[:6]], axis=1), (-1,)),
        lambda x: dnp.index_add(x[:6] * 1.0, slice(1, 4), x[8:11] ** 2),
        lambda x: dnp.reshape(M @ dnp.reshape(x, (3, 4)), (-1,)),
        lambda x: dnp.reshape(dnp.broadcast_to(x[:3], (2, 3)) * dnp.reshape(x[3:9], (2, 3)), (-1,)),
        lambda x: dnp.max(dnp.reshape(x, (2, 6)), axis=1) * dnp.sum(x[:2]),
    ]
    x = jnp.asarray(np.random.default_rng(4).uniform(0.1, 1.0, 12) * np.array([1, -1] * 6))
    for k, f in enumerate(functions):
        ref = np.asarray(jax.jacfwd(f)(x)).reshape(-1, 12) != 0
        got = acc.pattern(f, x).toarray()
        if k == len(functions) - 1:
            assert (got >= ref).all()  # max: every entry may win, a superset
        else:
            assert (got == ref).all(), k
            if k < 2:  # probing costs a dense Jacobian: two examples suffice
                assert (acc.pattern(f, x, detect="probe").toarray() == ref).all(), k


def test_greedy_colouring_is_valid_on_random_patterns():
    rng = np.random.default_rng(6)
    for _ in range(20):
        m, n = rng.integers(1, 40, 2)
        pat = sp.random(m, n, density=rng.uniform(0.02, 0.3), random_state=rng, format="csr") != 0
        for order in ("natural", "largest_first"):
            cols = acc.colour_columns(pat, order)
            rows = acc.colour_rows(pat, order)
            assert acc.is_valid_colouring(pat, cols) and acc.is_valid_colouring(pat, rows, rows=True)
            assert cols.max(initial=-1) + 1 <= n
    diagonal = sp.identity(7, format="csr")
    assert acc.colour_columns(diagonal).max() == 0  # one JVP gives a diagonal Jacobian
    assert not acc.is_valid_colouring(np.ones((2, 2)), np.array([0, 0]))


def test_sparsity_errors():
    x = jnp.ones(5)
    with pytest.raises(InvalidOptionError, match="mode"):
        acc.sparse_jacobian(dnp.sin, x, "sideways")
    with pytest.raises(InvalidOptionError, match="detect"):
        acc.pattern(dnp.sin, x, detect="guess")
    with pytest.raises(ShapeMismatchError, match="columns"):
        acc.sparse_jacobian(dnp.sin, x, pattern_matrix=np.eye(4))
    sj = acc.sparse_jacobian(dnp.sin, x)
    with pytest.raises(ShapeMismatchError, match="shape"):
        sj(jnp.ones(6))
    A = jnp.ones((2, 3, 5))
    with pytest.raises(DiffCompareError, match="probe"):
        acc.pattern(lambda v: dnp.sum(A @ v), x)
