"""Forward mode through the method interface: the zoo, nesting, user primitives, jit, teaching helpers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import diffcompare.forward as fwd
import diffcompare.numpy as dnp
from diffcompare import METHODS
from diffcompare.errors import (
    InvalidInputError,
    InvalidOptionError,
    NonScalarOutputError,
    ShapeMismatchError,
    UnsupportedOperationError,
)
from diffcompare.primitives import Primitive
from diffcompare.problems import PROBLEMS

from .helpers import argnums_of, assert_close

RTOL = 1e-12


def test_forward_is_a_method():
    method = METHODS["forward"]
    assert method is fwd and method.NAME == "forward" and method.TOLERANCE["float64"] <= 1e-10


# ---------------------------------------------------------------- the zoo against JAX


def jvp_from_jacobian(jac, out, tangents):
    """J · v from a Jacobian in jax.jacobian's layout (NumPy: no extra JAX compilation)."""
    out_leaves, out_tree = jax.tree_util.tree_flatten(out)
    t_leaves = jax.tree_util.tree_leaves(tangents)
    dot = lambda b, t: np.tensordot(np.asarray(b), np.asarray(t), np.ndim(t))  # noqa: E731
    subs = out_tree.flatten_up_to(jac)
    rows = [sum(dot(b, t) for b, t in zip(jax.tree_util.tree_leaves(sub), t_leaves)) for sub in subs]
    return jax.tree_util.tree_unflatten(out_tree, rows)


def vjp_from_jacobian(jac, out, cotangent, primals):
    """uᵀ J from a Jacobian in jax.jacobian's layout, one cotangent per primal (as jax.vjp)."""
    out_leaves, out_tree = jax.tree_util.tree_flatten(out)
    c_leaves = jax.tree_util.tree_leaves(cotangent)
    blocks = [jax.tree_util.tree_leaves(sub) for sub in out_tree.flatten_up_to(jac)]
    p_leaves, p_tree = jax.tree_util.tree_flatten(tuple(primals))
    cols = [
        sum(np.tensordot(np.asarray(c), np.asarray(row[j]), np.ndim(c)) for c, row in zip(c_leaves, blocks))
        for j in range(len(p_leaves))
    ]
    return jax.tree_util.tree_unflatten(p_tree, cols)


def check_against_jacfwd(f, args, rtol, what, jit=False):
    """Every entry point of forward mode against one jax.jacfwd Jacobian (all arguments).

    With ``jit=True`` each side is one ``jax.jit`` program (one compilation, instead of one per
    eager operation); functions with value-dependent control flow run eagerly.
    """
    compile_ = jax.jit if jit else (lambda fn: fn)
    method = METHODS["forward"]
    argnums = tuple(range(len(args)))
    out = f(*args)
    scalar = len(jax.tree_util.tree_leaves(out)) == 1 and jnp.shape(jax.tree_util.tree_leaves(out)[0]) == ()
    rng = np.random.default_rng(2)
    tangents = jax.tree_util.tree_map(lambda a: jnp.asarray(rng.normal(size=jnp.shape(a))), args)
    cotangent = jax.tree_util.tree_map(lambda o: jnp.asarray(rng.normal(size=jnp.shape(o))), out)

    def everything(args, tangents, cotangent):
        return {
            "jacobian": method.jacobian(f, argnums)(*args),
            "jvp": method.jvp(f, args, tangents),
            "vjp": method.vjp(f, *args)[1](cotangent),
            "value_and_grad": method.value_and_grad(f, argnums)(*args) if scalar else None,
        }

    reference = compile_(jax.jacfwd(f, argnums))(*args)
    got = compile_(everything)(args, tangents, cotangent)
    assert_close(got["jacobian"], reference, rtol, f"{what}: jacobian")
    assert_close(got["jvp"][0], out, rtol, f"{what}: value")
    assert_close(got["jvp"][1], jvp_from_jacobian(reference, out, tangents), rtol, f"{what}: jvp")
    assert_close(got["vjp"], vjp_from_jacobian(reference, out, cotangent, args), rtol, f"{what}: vjp")
    if scalar:
        assert_close(got["value_and_grad"][1], reference, rtol, f"{what}: grad")
        assert_close(got["value_and_grad"][0], out, rtol, f"{what}: value_and_grad")


@pytest.mark.slow
@pytest.mark.parametrize("name", list(PROBLEMS))
def test_zoo_problem_matches_jax(name):
    inst = PROBLEMS[name].make(seed=1)
    check_against_jacfwd(inst.fun, inst.args, RTOL, name, jit=not inst.problem.data_dependent)


def test_jvp_matches_jax_jvp_itself():
    inst = PROBLEMS["mlp_l2"].make(seed=4) if "mlp_l2" in PROBLEMS else PROBLEMS[next(iter(PROBLEMS))].make(seed=4)
    tangents = jax.tree_util.tree_map(jnp.ones_like, inst.args)
    assert_close(fwd.jvp(inst.fun, inst.args, tangents), jax.jvp(inst.fun, inst.args, tangents), RTOL)


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in PROBLEMS if PROBLEMS[n].make().input_dim <= 12])
def test_zoo_gradient_by_passes_and_hessian(name):
    inst = PROBLEMS[name].make(seed=3)
    f, args, argnums = inst.fun, inst.args, argnums_of(inst)
    compile_ = (lambda fn: fn) if inst.problem.data_dependent else jax.jit
    if not inst.scalar_output:
        by_passes = compile_(fwd.jacobian(f, argnums, mode="passes"))(*args)
        assert_close(by_passes, compile_(jax.jacfwd(f, argnums))(*args), RTOL, name)
        return
    with fwd.counting() as counts:
        gradient = compile_(fwd.grad(f, argnums, mode="passes"))(*args)
    assert counts.passes == inst.input_dim  # one pass per input coordinate
    assert_close(gradient, compile_(jax.grad(f, argnums))(*args), RTOL, name)
    if not PROBLEMS[name].has_kinks:
        hessian = compile_(fwd.hessian(f, argnums))(*args)
        assert_close(hessian, compile_(jax.hessian(f, argnums))(*args), 1e-10, f"{name}: hessian")


# ---------------------------------------------------------------- functions the zoo does not have


def _energy(x, y):
    return dnp.sum(x * dnp.log(x) - y * dnp.log1p(x * y)) + dnp.logsumexp(-x * x)


def _classifier(w, b, x):
    logits = x @ w + b
    return -dnp.mean(dnp.sum(jax.nn.one_hot(jnp.arange(5) % 3, 3) * dnp.log_softmax(logits), axis=1))


def _branchy(x):
    total = x[0]
    for i in range(1, x.shape[0]):
        total = total * x[i] if total > 0.5 else total + dnp.sin(x[i])
    return total if dnp.sum(x) > 0 else -total


def _r3_to_r4(v):
    x, y, z = v[0], v[1], v[2]
    return dnp.stack([x * y * z, dnp.exp(x) * dnp.cos(y), dnp.sqrt(1 + z * z) / (2 + y), dnp.arctan(x - z)])


UNSEEN = [
    ("product of many inputs", lambda x: dnp.prod(x), (jnp.linspace(0.5, 1.5, 40),)),
    ("energy with logs", _energy, (jnp.linspace(0.2, 2.0, 6), jnp.linspace(-0.3, 0.4, 6))),
    ("softmax classifier", _classifier,
     (jnp.asarray(np.random.default_rng(0).normal(size=(4, 3))), jnp.zeros(3), jnp.linspace(-1, 1, 20).reshape(5, 4))),
    ("input-dependent branches", _branchy, (jnp.array([0.9, 0.7, -0.2, 1.3]),)),
    ("input-dependent branches, other side", _branchy, (jnp.array([-0.9, 0.2, -0.2, 0.3]),)),
    ("R3 -> R4", _r3_to_r4, (jnp.array([0.3, -0.7, 1.1]),)),
]


@pytest.mark.slow
@pytest.mark.parametrize("name,f,args", UNSEEN, ids=[u[0] for u in UNSEEN])
def test_unseen_functions_match_jax(name, f, args):
    check_against_jacfwd(f, args, 1e-10, name)


# ---------------------------------------------------------------- the interface: argnums, pytrees, errors


def _mlp(params, x):
    h = dnp.tanh(x @ params["w1"] + params["b1"])
    return dnp.sum((h @ params["w2"])[:, 0] ** 2), {"h": h, "pair": (h[0], dnp.sum(h))}


PARAMS = {"w1": jnp.linspace(-1, 1, 6).reshape(2, 3), "b1": jnp.array([0.1, -0.2, 0.3]), "w2": jnp.ones((3, 1)) / 3}
XS = jnp.linspace(-1, 1, 8).reshape(4, 2)


@pytest.mark.slow
@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0), -1])
def test_argnums_and_pytrees_like_jax(argnums):
    scalar = lambda p, x: _mlp(p, x)[0]  # noqa: E731
    assert_close(fwd.grad(scalar, argnums)(PARAMS, XS), jax.grad(scalar, argnums)(PARAMS, XS), RTOL)
    assert_close(fwd.jacobian(_mlp, argnums)(PARAMS, XS), jax.jacfwd(_mlp, argnums)(PARAMS, XS), RTOL)


@pytest.mark.slow
def test_hessian_with_pytrees_and_argnums_like_jax():
    scalar = lambda p, x: _mlp(p, x)[0]  # noqa: E731
    got = jax.jit(fwd.hessian(scalar, (1, 0)))(PARAMS, XS)
    assert_close(got, jax.jit(jax.hessian(scalar, (1, 0)))(PARAMS, XS), 1e-10)


@pytest.mark.slow
def test_jvp_vjp_with_pytrees():
    tangents = (jax.tree_util.tree_map(jnp.ones_like, PARAMS), jnp.ones_like(XS))
    assert_close(fwd.jvp(_mlp, (PARAMS, XS), tangents), jax.jvp(_mlp, (PARAMS, XS), tangents), RTOL)
    out, vjp_fn = fwd.vjp(_mlp, PARAMS, XS)
    ct = jax.tree_util.tree_map(jnp.ones_like, out)
    assert_close(vjp_fn(ct), jax.vjp(_mlp, PARAMS, XS)[1](ct), RTOL)


def test_python_floats_and_constant_outputs():
    assert float(fwd.grad(lambda x: x * x)(3.0)) == 6.0
    assert_close(fwd.jacobian(lambda x: jnp.ones(3))(jnp.ones(2)), jnp.zeros((3, 2)), 0.0)
    value, gradient = fwd.value_and_grad(lambda x, y: x * y, argnums=1)(2.0, 5.0)
    assert (float(value), float(gradient)) == (10.0, 2.0)


def test_bad_input_raises_the_library_errors():
    with pytest.raises(NonScalarOutputError, match="scalar"):
        fwd.grad(lambda x: x * 2)(jnp.ones(3))
    with pytest.raises(InvalidOptionError, match="mode"):
        fwd.grad(dnp.sum, mode="sideways")
    with pytest.raises(InvalidOptionError, match="argnums"):
        fwd.grad(dnp.sum, argnums=3)(jnp.ones(2))
    with pytest.raises(InvalidInputError, match="floating"):
        fwd.grad(dnp.sum)(jnp.arange(3))
    with pytest.raises(ShapeMismatchError, match="tangent"):
        fwd.jvp(dnp.sin, (jnp.ones(3),), (jnp.ones(2),))
    with pytest.raises(ShapeMismatchError, match="batched"):
        fwd.jvp(dnp.sin, (jnp.ones(3),), (jnp.ones(3),), batched=True)
    with pytest.raises(ShapeMismatchError, match="cotangent"):
        fwd.vjp(dnp.sin, jnp.ones(3))[1](jnp.ones(2))


def test_an_operation_without_a_rule_raises_naming_it():
    lgamma = Primitive("lgamma", "unary", jax.scipy.special.gammaln)  # erf has a rule now (issue 17)
    trace = fwd.ForwardTrace()
    x = fwd.Dual(trace, jnp.asarray(0.5), jnp.asarray(1.0))
    with pytest.raises(UnsupportedOperationError, match="'lgamma'.*forward"):
        trace.process(lgamma, (x,), {})


# ---------------------------------------------------------------- nesting


def test_perturbation_confusion():
    """d/dx [x · d/dy (x + y)] = 1: the inner derivative must not see x's perturbation."""

    def derivative(f):
        return lambda x: fwd.jvp(f, (x,), (1.0,))[1]

    assert float(derivative(lambda x: x * derivative(lambda y: x + y)(2.0))(1.0)) == 1.0
    assert float(fwd.grad(lambda x: x * fwd.grad(lambda y: x + y)(2.0))(1.0)) == 1.0
    # and with vector mode in both levels
    g = fwd.jacobian(lambda x: x * dnp.sum(fwd.jacobian(lambda y: x + y)(jnp.ones(2))))(jnp.ones(2))
    assert_close(g, jax.jacfwd(lambda x: x * jnp.sum(jax.jacfwd(lambda y: x + y)(jnp.ones(2))))(jnp.ones(2)), 0.0)


def test_forward_over_forward_third_derivative():
    f = lambda x: dnp.sin(x) * dnp.exp(x)  # noqa: E731
    d3 = fwd.grad(fwd.grad(fwd.grad(f)))(0.7)
    assert_close(d3, jax.grad(jax.grad(jax.grad(f)))(0.7), RTOL)


@pytest.mark.slow
def test_forward_over_reverse_gives_hessian_vector_products():
    rev = pytest.importorskip("diffcompare.reverse")
    f = lambda x: dnp.sum(dnp.tanh(x) ** 2 * dnp.exp(x[0])) + dnp.logsumexp(x * x)  # noqa: E731
    x, v = jnp.array([0.3, -0.5, 1.2]), jnp.array([1.0, 2.0, -1.0])
    assert_close(fwd.jvp(rev.grad(f), (x,), (v,))[1], jax.jvp(jax.grad(f), (x,), (v,))[1], 1e-12)  # eager
    assert_close(jax.jit(fwd.jacobian(rev.grad(f)))(x), jax.jit(jax.hessian(f))(x), 1e-12)


# ---------------------------------------------------------------- user-defined primitives


@fwd.custom_jvp
def softplus(x):
    return dnp.log1p(dnp.exp(x))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t * dnp.sigmoid(x)


@fwd.custom_jvp
def clipped_identity(x):
    # the body's derivative would be 0 almost everywhere; the rule says 1 (straight-through)
    return dnp.where(x > 0, 1.0, -1.0) * 0.0 + x


clipped_identity.defjvp(lambda p, t: (clipped_identity(p[0]), t[0] * 2.0))


@pytest.mark.slow
def test_user_primitive_works_everywhere():
    x = jnp.linspace(-2, 2, 5)
    f = lambda x: dnp.sum(softplus(x) ** 2)  # noqa: E731
    reference = jax.grad(lambda x: jnp.sum(jnp.log1p(jnp.exp(x)) ** 2))(x)
    assert_close(f(x), jnp.sum(jnp.log1p(jnp.exp(x)) ** 2), RTOL)  # a plain function
    assert_close(fwd.grad(f)(x), reference, RTOL)  # forward mode, vector
    assert_close(fwd.grad(f, mode="passes")(x), reference, RTOL)  # forward mode, one tangent
    assert_close(jax.grad(f)(x), reference, RTOL)  # JAX, through jax.custom_jvp
    assert_close(jax.jit(fwd.grad(f))(x), reference, RTOL)  # forward mode under jit
    assert_close(fwd.hessian(f)(x), jax.hessian(f)(x), 1e-10)  # nested


def test_user_rule_is_used_instead_of_the_body():
    x = jnp.array([0.5, -1.0])
    assert_close(fwd.jacobian(clipped_identity)(x), 2.0 * jnp.eye(2), 0.0)
    assert_close(jax.jacfwd(clipped_identity)(x), 2.0 * jnp.eye(2), 0.0)
    assert "softplus" in fwd.USER_PRIMITIVES and softplus.jvp_rule is _softplus_jvp


# ---------------------------------------------------------------- jit


@pytest.mark.slow
def test_jit_compiles_forward_mode():
    def mlp(x):
        for w in (jnp.ones((4, 6)) / 4, jnp.ones((6, 3)) / 6):
            x = dnp.tanh(x @ w)
        return x

    x = jnp.linspace(-1, 1, 8).reshape(2, 4)
    jitted = jax.jit(fwd.jacobian(mlp))
    assert_close(jitted(x), jax.jacfwd(mlp)(x), RTOL)
    assert_close(jax.jit(lambda x, v: fwd.jvp(mlp, (x,), (v,)))(x, x), jax.jvp(mlp, (x,), (x,)), RTOL)
    assert "dot_general" in str(jax.make_jaxpr(fwd.jacobian(mlp))(x))  # the whole computation is one program


# ---------------------------------------------------------------- teaching helpers


@pytest.mark.slow
def test_dual_matrices_give_the_sum_and_product_rules():
    for rule in fwd.matrix_rules(1.5, 1.0, -0.7, 2.5):
        assert rule.agrees, rule.name
    m = fwd.dual_matrix(3.0, 1.0)
    assert m.tolist() == [[3.0, 1.0], [0.0, 3.0]] and fwd.from_matrix(m) == (3.0, 1.0)
    x, y = fwd.dual_matrix(2.0, 0.5), fwd.dual_matrix(-1.0, 3.0)
    assert_close(x @ y, fwd.dual_matrix(-2.0, 0.5 * -1.0 + 2.0 * 3.0), 0.0)  # product rule
    assert_close(x @ y, y @ x, 0.0)  # dual numbers commute
    trace = fwd.ForwardTrace()
    d = fwd.Dual(trace, jnp.asarray(2.0), jnp.asarray(0.5)) * fwd.Dual(trace, jnp.asarray(-1.0), jnp.asarray(3.0))
    assert_close(fwd.dual_matrix(d), x @ y, 0.0)


def test_sweep_records_every_operation():
    table = fwd.sweep(lambda x: dnp.exp(x) / x**2, (1.5,), (1.0,))
    assert [row.op for row in table.rows] == ["input", "exp", "power", "divide"]
    last = table.rows[-1]
    assert last.inputs == ("v1", "v2")
    assert_close(last.tangent, jnp.exp(1.5) * (1.5 - 2) / 1.5**3, RTOL)
    text = table.table()
    assert "divide" in text and "tangent" in text and len(text.splitlines()) == 6
    assert len(table.as_dicts()) == 4 and table.rich_table().row_count == 4


def test_counting_passes_and_primitives():
    f = lambda x: dnp.sum(dnp.sin(x) * x)  # noqa: E731
    x = jnp.ones(7)
    with fwd.counting() as by_passes:
        fwd.grad(f, mode="passes")(x)
    with fwd.counting() as vector:
        fwd.grad(f)(x)
    assert (by_passes.passes, by_passes.directions, by_passes.primitives) == (7, 7, 21)
    assert (vector.passes, vector.directions, vector.primitives) == (1, 7, 3)
