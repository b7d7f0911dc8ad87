"""Test cases ported from the peers' own suites (autograd, JAX, micrograd), written with ``dnp``.

Each case names where it comes from: autograd's and micrograd's functions are the peers' own,
translated to ``dnp`` (inputs smaller where the peer's size adds nothing but time, and the
systematic suite's shape combinations sampled); a JAX entry is the operation or call pattern of the
named test file, written for ``dnp`` (JAX's tests are parametrised over lax primitives, not functions).
``tests/test_symbolic_peer_cases.py`` runs them through the symbolic method (and forward and reverse
mode) against JAX.
"""

from __future__ import annotations

import dataclasses
import operator

import jax.numpy as jnp
import numpy as np

import diffcompare.numpy as dnp

rng = np.random.default_rng(1)


def R(*shape):
    return jnp.asarray(rng.normal(size=shape))


def U(lo, hi, *shape):
    return jnp.asarray(rng.uniform(lo, hi, size=shape))


@dataclasses.dataclass
class Case:
    name: str
    fun: object
    args: tuple
    argnums: object = 0
    source: str = ""


CASES: list[Case] = []


def case(name, fun, *args, argnums=0, source=""):
    CASES.append(Case(name, fun, args, argnums, source))


# ---------------------------------------------------------------- autograd tests/test_numpy.py
AG = "autograd tests/test_numpy.py"
mat1, mat2, vect1, vect2, vect3 = R(4, 5), R(4, 5), R(4), R(5), R(5)
case("dot_mat_vec", dnp.dot, mat1, vect2, argnums=(0, 1), source=AG + "::test_dot")
case("dot_mat_mat", dnp.dot, mat1, mat2.T, argnums=(0, 1), source=AG + "::test_dot")
case("dot_vec_mat", dnp.dot, vect1, mat1, argnums=(0, 1), source=AG + "::test_dot")
case("dot_vec_vec", dnp.dot, vect2, vect3, argnums=(0, 1), source=AG + "::test_dot")
case("dot_mat_float", dnp.dot, mat1, 0.7, argnums=(0, 1), source=AG + "::test_dot_with_floats")
case("dot_float_vec", dnp.dot, -1.3, vect1, argnums=(0, 1), source=AG + "::test_dot_with_floats")
case("outer", dnp.outer, vect2, vect3, argnums=(0, 1), source=AG + "::test_outer")
case("max", dnp.max, R(4, 5), source=AG + "::test_max")
case("max_axis", lambda x: dnp.max(x, axis=1), R(3, 4, 2), source=AG + "::test_max_axis")
case("max_axis_keepdims", lambda x: dnp.max(x, axis=1, keepdims=True), R(3, 4, 2), source=AG)
case("min", dnp.min, R(4, 5), source=AG + "::test_min")
case("min_axis", lambda x: dnp.min(x, axis=1), R(3, 4, 2), source=AG + "::test_min_axis")
case("min_axis_keepdims", lambda x: dnp.min(x, axis=1, keepdims=True), R(3, 4, 2), source=AG)
case("sum_1", dnp.sum, R(4, 5), source=AG + "::test_sum_1")
case("sum_2", lambda x: dnp.sum(x, axis=0), R(4, 5), source=AG + "::test_sum_2")
case("sum_3", lambda x: dnp.sum(x, axis=0, keepdims=True), R(4, 5), source=AG + "::test_sum_3")
case("sum_axis_tuple", lambda x: dnp.sum(x, axis=(1, 2)), R(3, 4, 2), source=AG + "::test_sum_with_axis_tuple")
case("flipud", dnp.flipud, R(4, 5), source=AG + "::test_flipud")
case("fliplr", dnp.fliplr, R(4, 5), source=AG + "::test_fliplr")
case("rot90", dnp.rot90, R(4, 5), source=AG + "::test_rot90")
case("cumsum_axis0", lambda x: dnp.cumsum(x, axis=0), R(4, 3), source=AG + "::test_cumsum_axis0")
case("cumsum_axis1", lambda x: dnp.cumsum(x, axis=1), R(4, 3), source=AG + "::test_cumsum_axis1")
case("cumsum_1d", dnp.cumsum, R(5), source=AG + "::test_cumsum_1d")
case("cumsum_no_axis", dnp.cumsum, R(3, 2), source=AG + "::test_cumsum_no_axis")
case("python_sum", lambda x, y: sum([x, y]), R(3, 2), R(3, 2), argnums=(0, 1), source=AG + "::test_non_numpy_sum")
case("mean_1", dnp.mean, R(4, 5), source=AG + "::test_mean_1")
case("mean_2", lambda x: dnp.mean(x, axis=0), R(4, 5), source=AG + "::test_mean_2")
case("mean_3", lambda x: dnp.mean(x, axis=0, keepdims=True), R(4, 5), source=AG + "::test_mean_3")
A3 = R(5, 6, 4)
case("index_ints", lambda x: x[3, 0, 1], A3, source=AG + "::test_index_ints")
case("index_slice", lambda x: x[::-1, 2:4, :], A3, source=AG + "::test_index_slice")
case("index_lists", lambda x: x[jnp.array([0, 1, 2]), :, :], A3, source=AG + "::test_index_lists")
case("index_mixed", lambda x: x[3, 2:, jnp.array([1, 3])], A3, source=AG + "::test_index_mixed")
case("vector_slice", lambda x: x[2:4], R(5), source=AG + "::test_vector_slice")
case("index_slice_fanout", lambda x: x[::-1, 2:4, :] + x[::-1, 3:5, :], A3, source=AG + "::test_index_slice_fanout")
case("index_multiple_slices", lambda x: x[2:6][1:3], R(7), source=AG + "::test_index_multiple_slices")
case("reshape_method", lambda x: x.reshape((5 * 4, 6)), A3, source=AG + "::test_reshape_method")
case("reshape_call", lambda x: dnp.reshape(x, (5 * 4, 6)), A3, source=AG + "::test_reshape_call")
case("reshape_nolist", lambda x: x.reshape(5 * 4, 6), A3, source=AG + "::test_reshape_method_nolist")
case("ravel_method", lambda x: x.ravel(), R(2, 3, 2), source=AG + "::test_ravel_method")
case("ravel_call", dnp.ravel, R(2, 3, 2), source=AG + "::test_ravel_call")
case("append", dnp.append, jnp.array([1.0, 2.0, 3.0]), 4.0, argnums=(0, 1), source=AG + "::test_simple_append_arr")
B3 = R(2, 3, 2)
case("concatenate_simple", lambda x: dnp.concatenate((B3, x)), R(1, 3, 2), source=AG + "::test_simple_concatenate")
case("concatenate_axis_0", lambda x: dnp.concatenate((B3, x, B3)), R(2, 3, 2), source=AG)
case("concatenate_axis_1", lambda x: dnp.concatenate((B3, x, B3), axis=1), R(2, 3, 2), source=AG)
case("concatenate_axis_1_unnamed", lambda x: dnp.concatenate((B3, x, B3), 1), R(2, 3, 2), source=AG)
case("trace_offset", lambda x: dnp.trace(x, offset=1), R(4, 5), source=AG + "::test_trace")
case("trace_offset_neg", lambda x: dnp.trace(x, offset=-2), R(5, 4), source=AG + "::test_trace2")
case("split", lambda x: dnp.split(x, 2)[0], R(6), source=AG + "::test_trace (split)")
case("diag", dnp.diag, R(4, 4), source=AG + "::test_diag")
case("transpose_T", lambda x: x.T, R(4, 4), source=AG + "::test_transpose")
case("roll", lambda x: dnp.roll(x, 2, axis=1), R(4, 5), source=AG + "::test_roll")
case("triu", lambda x: dnp.triu(x, k=2), R(5, 5), source=AG + "::test_triu")
case("tril", lambda x: dnp.tril(x, k=2), R(5, 5), source=AG + "::test_tril")
case("clip", lambda x: dnp.clip(x, 0.1, 1.1), R(4, 4), source=AG + "::test_clip")
case("prod_1", dnp.prod, R(2, 3) ** 2 / 10.0 + 0.1, source=AG + "::test_prod_1")
case("prod_2", lambda x: dnp.prod(x, axis=0), R(2, 3) ** 2 + 0.1, source=AG + "::test_prod_2")
case("prod_3", lambda x: dnp.prod(x, axis=0, keepdims=True), R(2, 3) ** 2 + 0.1, source=AG + "::test_prod_3")
case("prod_4", dnp.prod, R(5) ** 2 + 0.1, source=AG + "::test_prod_4")
case("array_1d", lambda x: dnp.array([x, x * 1.0, x + 2.5]), 3.0, source=AG + "::test_1d_array")
case("array_2d", lambda x: dnp.array([[x, x * 1.0, x + 2.5], [x ** 2, x, x / 2.0]]), 3.0, source=AG + "::test_2d_array")
case("array_1d_fanout", lambda x: dnp.array([x, x * 1.0, x + 2.5]) * 2.0, 3.0, source=AG + "::test_1d_array_fanout")
case("array_from_scalar", lambda x: dnp.array(x), 3.0, source=AG + "::test_array_from_scalar")
case("array_from_arrays", lambda x: dnp.array([x, x]), R(3, 2), source=AG + "::test_array_from_arrays")
case("array_from_arrays_2", lambda x: dnp.array([[2 * x, x + 1], [x, x]]), R(3, 2), source=AG)
NO_RELATION = R(3, 2)
case("no_relation", lambda x: NO_RELATION, R(3, 2), source=AG + "::test_no_relation")
WHERE_C = np.asarray(R(4, 5)) > 0
case("where", lambda x, y: dnp.where(WHERE_C, x, y), R(4, 5), R(4, 5), argnums=(0, 1), source=AG + "::test_where")
case("squeeze_func", dnp.squeeze, R(5, 1, 4), source=AG + "::test_squeeze_func")
case("squeeze_method", lambda x: x.squeeze(), R(5, 1, 4), source=AG + "::test_squeeze_method")
case("repeat", lambda x: dnp.repeat(x, 2, axis=1), R(2, 3, 2), source=AG + "::test_repeat")
case("repeat_axis0", lambda x: dnp.repeat(x, 2, axis=0), R(3, 2), source=AG + "::test_repeat_axis0")
case("repeat_1d", lambda x: dnp.repeat(x, 2, axis=0), R(4), source=AG + "::test_repeat_1d_axis0")
case("expand_dims", lambda x: dnp.expand_dims(x, 2), R(5, 1, 4), source=AG + "::test_expand_dims")
case("tensordot_by_position", lambda x: dnp.tensordot(x * jnp.ones((2, 2)), x * jnp.ones((2, 2)), 2), 1.0,
     source=AG + "::test_tensordot_kwargs_by_position")
case("multi_index", lambda x: dnp.sum(x[jnp.array([0, 0])]), R(3), source=AG + "::test_multi_index")
case("multi_index2", lambda x: dnp.sum(x[jnp.array([0, 1, 0])]), R(3), source=AG + "::test_multi_index2")
case("index_dot_slices", lambda x: dnp.dot(x[:2], x[2:]), R(4), source=AG + "::test_index_dot_slices")
case("diagonal", lambda d: dnp.diagonal(d), R(4, 4), source=AG + "::test_diagonal")
case("nan_to_num", lambda x: dnp.sum(dnp.sin(dnp.nan_to_num(x + jnp.array([0.0, 1.0, 2.0, -1.0])))), R(4),
     source=AG + "::test_nan_to_num")
case("max_equal_values", lambda x: dnp.max(dnp.array([x, x])), 1.0, source=AG + "::test_max_equal_values")
case("max_equal_values_2d", lambda x: dnp.max(dnp.array([[x, x], [x, 0.5]]), axis=1), -1.0,
     source=AG + "::test_max_equal_values_2d")
case("min_3_way_equality", lambda x: dnp.min(dnp.array([[x, x, x], [x, 0.5, 0.5], [0.5, 0.5, 0.5], [x, x, 0.5]]),
                                              axis=0), 1.0, source=AG + "::test_min_3_way_equality")
case("maximum_equal_values", lambda x: dnp.maximum(x, x), 1.0, source=AG + "::test_maximum_equal_values")
case("maximum_equal_values_2d", lambda x: dnp.maximum(dnp.array([x, x, 0.5]), dnp.array([[x, 0.5, x], [x, x, 0.5]])),
     2.0, source=AG + "::test_maximum_equal_values_2d")
case("linspace", lambda x, y: dnp.linspace(x, y, 5), 1.2, -3.4, argnums=(0, 1), source=AG + "::test_linspace")
for ddof in (0, 1):
    case(f"var_ddof{ddof}", lambda x, ddof=ddof: dnp.var(x, ddof=ddof), R(3, 4), source=AG + "::test_var_ddof")
    case(f"std_ddof{ddof}", lambda x, ddof=ddof: dnp.std(x, ddof=ddof), R(3, 4), source=AG + "::test_std_ddof")
case("var_axis1_keepdims", lambda x: dnp.var(x, axis=1, keepdims=True, ddof=2), R(3, 4), source=AG + "::test_var_ddof")
case("std_axis1", lambda x: dnp.std(x, axis=1, ddof=2), R(3, 4), source=AG + "::test_std_ddof")

# ---------------------------------------------------------------- autograd tests/test_systematic.py
SY = "autograd tests/test_systematic.py"
STAT_ARGS = [("B", R(3), None, False), ("C", R(2, 3), 0, True), ("C", R(2, 3), 1, False), ("D", R(1, 3), 1, True)]
for fname in ("max", "min", "sum", "mean", "prod", "var", "std"):
    stat = getattr(dnp, fname)
    for aname, a, axis, keepdims in STAT_ARGS:
        case(f"stat_{fname}_{aname}_axis{axis}_keep{int(keepdims)}",
             lambda x, f=stat, axis=axis, keepdims=keepdims: f(x, axis=axis, keepdims=keepdims),
             a, source=SY + f"::test_{fname}")
    case(f"stat_{fname}_scalar", stat, 3.5, source=SY + f"::test_{fname}")


def unary(name, fun, lo=-2.0, hi=2.0):
    case(f"unary_{name}", fun, U(lo, hi, 3, 2), source=SY + f"::test_{name}")


unary("sin", dnp.sin)
unary("abs", dnp.abs, 0.1, 4.0)
unary("absolute", dnp.absolute, 0.1, 4.0)
unary("arccosh", dnp.arccosh, 1.1, 4.0)
unary("arcsinh", dnp.arcsinh, -0.9, 0.9)
unary("arctanh", dnp.arctanh, -0.9, 0.9)
unary("ceil", dnp.ceil, -1.5, 1.5)
unary("cos", dnp.cos)
unary("cosh", dnp.cosh)
unary("deg2rad", dnp.deg2rad)
unary("degrees", lambda x: dnp.degrees(x) / 50.0)
unary("exp", dnp.exp)
unary("exp2", dnp.exp2)
unary("expm1", dnp.expm1)
unary("fabs", dnp.fabs)
unary("floor", dnp.floor, -1.5, 1.5)
unary("log", dnp.log, 0.2, 2.0)
unary("log10", dnp.log10, 0.2, 2.0)
unary("log1p", dnp.log1p, 0.2, 2.0)
unary("log2", dnp.log2, 0.2, 2.0)
unary("rad2deg", lambda x: dnp.rad2deg(x) / 50.0)
unary("radians", dnp.radians)
unary("sign", dnp.sign)
unary("sinh", dnp.sinh)
unary("sqrt", dnp.sqrt, 1.0, 3.0)
unary("square", dnp.square)
unary("tan", dnp.tan, -1.1, 1.1)
unary("tanh", dnp.tanh)
unary("real", dnp.real)


def binary(name, fun, lims_a=(-2.0, 2.0), lims_b=(-2.0, 2.0)):
    # the peer's shapes, broadcast against each other: a vector with a matrix, a row with a scalar
    for ash, bsh in (((2,), (3, 2)), ((1, 2), ())):
        a, b = U(*lims_a, *ash), U(*lims_b, *bsh)
        case(f"binary_{name}_{ash}_{bsh}", fun, a, b, argnums=(0, 1), source=SY + f"::test_{name}")


binary("add", dnp.add)
binary("logaddexp", dnp.logaddexp)
binary("logaddexp2", dnp.logaddexp2)
binary("remainder", dnp.remainder, (-0.9, 0.9), (0.7, 1.9))
binary("true_divide", dnp.true_divide, (-2.0, 2.0), (0.3, 2.0))
binary("mod", dnp.mod, (-2.0, 2.0), (0.8, 2.1))
binary("true_divide_neg", dnp.true_divide, (-2.0, 2.0), (-2.0, -0.3))
binary("op_mul", operator.mul)
binary("op_sub", operator.sub)
binary("op_div", operator.truediv, (-2.0, 2.0), (0.5, 2.0))
binary("op_pow", operator.pow, (0.7, 2.0))
binary("op_mod_neg", operator.mod, (-2.0, 2.0), (-2.0, -0.3))
for axes in (None, (0, 2, 1), (2, 0, 1), (1, 2, 0)):
    case(f"transpose_{axes}", lambda x, axes=axes: dnp.transpose(x, axes), R(2, 3, 4), source=SY + "::test_transpose")
for a, b in ((1.5, 0.3), (R(3), R(3)), (R(2, 3), R(3)), (R(2, 3), R(3, 4)), (R(3), R(3, 4)), (1.5, R(3, 4))):
    case(f"dot_{np.shape(a)}_{np.shape(b)}", dnp.dot, a, b, argnums=(0, 1), source=SY + "::test_dot")
case("tensordot_1", lambda a, b: dnp.tensordot(a, b, axes=((1,), (0,))), R(2, 3, 2), R(3, 4, 2), argnums=(0, 1),
     source=SY + "::test_tensordot_1")
case("tensordot_2", lambda a, b: dnp.tensordot(a, b, axes=((0,), (1,))), R(3, 1), R(2, 3, 2), argnums=(0, 1),
     source=SY + "::test_tensordot_2")
case("tensordot_3", lambda a, b: dnp.tensordot(a, b, axes=((0, 1), (1, 2))), R(2, 3, 4), R(2, 2, 3, 4),
     argnums=(0, 1), source=SY + "::test_tensordot_3")
case("tensordot_4_axes1", lambda a, b: dnp.tensordot(a, b, axes=1), R(4, 2, 2), R(2, 2, 4), argnums=(0, 1),
     source=SY + "::test_tensordot_4")
case("tensordot_4_axes2", lambda a, b: dnp.tensordot(a, b, axes=2), R(4, 2, 2), R(2, 2, 4), argnums=(0, 1),
     source=SY + "::test_tensordot_4")
for sa, sb in (((1,), (1, 4)), ((1, 4), (3, 4))):
    case(f"maximum_{sa}_{sb}", dnp.maximum, R(*sa), R(*sb), argnums=(0, 1), source=SY + "::test_maximum")
    case(f"minimum_{sa}_{sb}", dnp.minimum, R(*sa), R(*sb), argnums=(0, 1), source=SY + "::test_minimum")
case("sort", dnp.sort, R(7), source=SY + "::test_sort")
case("partition", lambda x: dnp.partition(x, 3), R(7), source=SY + "::test_partition")
for a in (1.2, R(7), R(2, 4)):
    for f in ("atleast_1d", "atleast_2d", "atleast_3d"):
        case(f"{f}_{np.shape(a)}", getattr(dnp, f), a, source=SY + f"::test_{f}")
case("einsum_transpose", lambda x: dnp.einsum("ij->ji", x), R(3, 4), source=SY + "::test_einsum_transpose")
case("einsum_matmult", lambda a, b: dnp.einsum("ij,jk->ik", a, b), R(2, 3), R(3, 4), argnums=(0, 1),
     source=SY + "::test_einsum_matmult")
case("einsum_covsum", lambda a, b: dnp.einsum("ijk,lji->lki", a, b), R(3, 4, 4), R(4, 4, 3), argnums=(0, 1),
     source=SY + "::test_einsum_covsum")
case("einsum_ellipses", lambda a, b: dnp.einsum("...jk,...lj->...lk", a, b), R(3, 4, 4), R(3, 4, 4), argnums=(0, 1),
     source=SY + "::test_einsum_ellipses")
case("einsum_three_args", lambda a, b, c: dnp.einsum("ijk,lji,lli->lki", a, b, c), R(3, 4, 4), R(4, 4, 3),
     R(4, 4, 3), argnums=(0, 1, 2), source=SY + "::test_einsum_three_args")
for shape, offsets in (((5, 5), (-1, 0)), ((4, 5), (1,)), ((5, 4), (-1,))):
    for offset in offsets:
        case(f"trace_{shape}_{offset}", lambda x, offset=offset: dnp.trace(x, offset=offset), R(*shape),
             source=SY + "::test_trace")

# ---------------------------------------------------------------- autograd tests/test_scalar_ops.py
SC = "autograd tests/test_scalar_ops.py"
for name, fun, x in [
    ("abs_pos", lambda x: 3.0 * dnp.abs(x), 1.1), ("abs_neg", lambda x: 3.0 * dnp.abs(x), -1.1),
    ("sin", lambda x: 3.0 * dnp.sin(x), float(R())), ("sign_pos", lambda x: 3.0 * dnp.sign(x), 1.1),
    ("sign_neg", lambda x: 3.0 * dnp.sign(x), -1.1), ("exp", lambda x: 3.0 * dnp.exp(x), float(R())),
    ("log", lambda x: 3.0 * dnp.log(x), abs(float(R()))), ("neg", lambda x: 3.0 * -x, float(R())),
    ("cos", lambda x: 3.0 * dnp.cos(x), float(R())), ("tan", lambda x: 3.0 * dnp.tan(x), float(R())),
    ("cosh", lambda x: 3.0 * dnp.cosh(x), float(R())), ("sinh", lambda x: 3.0 * dnp.sinh(x), float(R())),
    ("tanh", lambda x: 3.0 * dnp.tanh(x), float(R())), ("arccos", lambda x: 3.0 * dnp.arccos(x), 0.1),
    ("arcsin", lambda x: 3.0 * dnp.arcsin(x), 0.1), ("arctan", lambda x: 3.0 * dnp.arctan(x), 0.2),
    ("arccosh", lambda x: 3.0 * dnp.arccosh(x), 2.5), ("arcsinh", lambda x: 3.0 * dnp.arcsinh(x), 0.3),
    ("arctanh", lambda x: 3.0 * dnp.arctanh(x), 0.3), ("sqrt", lambda x: 3.0 * dnp.sqrt(x), 10.0),
    ("power_arg0", lambda x: dnp.power(x, 3.0), 2.5), ("power_arg1", lambda y: dnp.power(2.5, y), 1.5),
    ("power_arg1_zero", lambda y: dnp.power(0.0, y), 1.5), ("mod_arg0", lambda x: dnp.mod(x, 1.0), 1.7),
    ("divide_arg0", lambda x: dnp.divide(x, 2.5), 1.3), ("divide_arg1", lambda y: dnp.divide(1.3, y), 2.5),
    ("reciprocal", dnp.reciprocal, 2.5), ("log2", dnp.log2, 1.3), ("log10", dnp.log10, 1.3),
    ("log1p", dnp.log1p, 1.3), ("expm1", dnp.expm1, 1.3), ("exp2", dnp.exp2, 1.3),
    ("rad2deg", dnp.rad2deg, 1.3), ("deg2rad", dnp.deg2rad, 13.0), ("radians", dnp.radians, 13.0),
    ("degrees", dnp.degrees, 1.3), ("sinc", dnp.sinc, 0.4), ("floor", dnp.floor, 1.7), ("ceil", dnp.ceil, 1.7),
    ("round", dnp.round, 1.7),
]:
    case(f"scalar_{name}", fun, x, source=SC)

# ---------------------------------------------------------------- autograd tests/test_graphs.py, test_wrappers.py
GR = "autograd tests/test_graphs.py"
case("grad_fanout", lambda x: dnp.sin(dnp.sin(x) + dnp.sin(x)), float(R()), source=GR + "::test_grad_fanout")
case("grad_const", lambda x: 1.0, 2.0, source=GR + "::test_grad_const")
case("grad_identity", lambda x: x, 2.0, source=GR + "::test_grad_identity")
RANDV = R(6)
case("hess_vector_prod", lambda x: dnp.sin(dnp.dot(x, RANDV)), R(6), source=GR + "::test_hess_vector_prod")
case("mutating_outgrad", lambda a: dnp.sum(a + (a + 1.0) + (a + 1.0 + 1.5)), R(5), source=GR)
case("mutating_outgrad_from_indexing", lambda a: dnp.sum(a + (a + 1.0) + ((a + 1.0)[0] + 1.5)), R(5), source=GR)
case("third_derivative_other_args", lambda x, y: dnp.sin(dnp.sin(x) + dnp.sin(y)), float(R()), float(R()),
     argnums=(0, 1), source=GR + "::test_third_derivative_other_args")
case("singleton_array_output", lambda x: dnp.sum(dnp.sin(x), keepdims=True), R(3, 3),
     source=GR + "::test_singleton_array_output")
case("singleton_axis0", lambda x: dnp.sum(dnp.sin(x), axis=0, keepdims=True), R(3, 1), source=GR)
case("singleton_axis1", lambda x: dnp.sum(dnp.sin(x), axis=1, keepdims=False), R(1, 3), source=GR)
WR = "autograd tests/test_wrappers.py"
case("hessian_tensor", lambda x: dnp.sum(dnp.sin(x) ** 2) + dnp.sum(x[0] * x), R(3, 2), source=WR + "::test_hessian")
case("jacobian_against_grad", lambda x: dnp.sum(dnp.sin(x)), R(6), source=WR + "::test_jacobian_against_grad")
case("jacobian_scalar_to_vector", lambda x: dnp.array([x, x ** 2, 3 * x + 1]), 2.0,
     source=WR + "::test_jacobian_scalar_to_vector")
case("jacobian_higher_order", lambda x: dnp.sin(dnp.outer(x, x)) + dnp.cos(dnp.dot(x, x)), R(4),
     source=WR + "::test_jacobian_higher_order")
case("elementwise_grad", lambda x: dnp.sin(x) + x ** 2, R(6), source=WR + "::test_elementwise_grad")

# ---------------------------------------------------------------- JAX tests/api_test.py, lax_autodiff_test.py
AP = "jax tests/api_test.py"
case("jax_grad_argnums", lambda x, y, z: dnp.sin(x * y) + z ** 2, 1.0, 2.0, 3.0, argnums=(0, 2), source=AP)
case("jax_hessian", lambda x: dnp.sum(x ** 3), R(4), source=AP + "::test_hessian")
case("jax_std_basis", lambda x: dnp.sin(x) * 2.0, R(3, 2), source=AP)
case("jax_jacrev_pytree_in", lambda t: t[0] * dnp.sum(t[1]["w"]), (R(2), {"w": R(3)}), source=AP)
case("jax_pytree_out", lambda x: {"a": x * 2.0, "b": (dnp.sum(x), 1.0 + 0.0 * x)}, R(3), source=AP)
case("jax_constant_out", lambda x: jnp.ones((2, 3)), R(4), source=AP + "::test_jacobian_of_constant")
case("jax_zeros_like", lambda x: dnp.zeros_like(x), R(4), source=AP)
case("jax_ones_like", lambda x: dnp.ones_like(x) * 3.0, R(2, 2), source=AP)
case("jax_stop_gradient", lambda x: dnp.sum(dnp.stop_gradient(x) * x), R(3), source=AP + "::test_stop_gradient")
case("jax_at_set", lambda x: x.at[1].set(5.0), R(4), source=AP)
case("jax_at_set_value", lambda x: jnp.zeros(4).at[1].set(x) if False else dnp.zeros(4).at[1].set(x), 0.7, source=AP)
case("jax_at_add", lambda x: x.at[jnp.array([0, 0, 2])].add(x[1]), R(4), source=AP)
case("jax_where_scalar_cond", lambda x: dnp.where(True, x, 2.0 * x), R(3), source=AP)
case("jax_logsumexp", lambda x: dnp.logsumexp(x), R(5), source="jax tests/lax_numpy_reducers_test.py")
case("jax_softmax", lambda x: dnp.softmax(x), R(4), source="jax tests/nn_test.py")
LA = "jax tests/lax_autodiff_test.py"
for name, fun, lo, hi in [("exp", dnp.exp, -1, 1), ("log", dnp.log, 0.5, 2), ("tanh", dnp.tanh, -1, 1),
                          ("logistic", dnp.sigmoid, -2, 2), ("sin", dnp.sin, -2, 2), ("atan2_", None, 0, 0),
                          ("erf", dnp.erf, -1, 1), ("erfc", dnp.erfc, -1, 1), ("erf_inv", dnp.erfinv, -0.5, 0.5),
                          ("rsqrt", dnp.rsqrt, 0.5, 2), ("cbrt", dnp.cbrt, 0.5, 2), ("square", dnp.square, -1, 1),
                          ("reciprocal", dnp.reciprocal, 0.5, 2), ("asinh", dnp.asinh, -1, 1),
                          ("acosh", dnp.acosh, 1.5, 3), ("atanh", dnp.atanh, -0.5, 0.5)]:
    if fun is not None:
        case(f"lax_{name}", fun, U(lo, hi, 3, 2), source=LA + "::LAX_GRAD_OPS")
case("lax_atan2", dnp.arctan2, U(0.5, 1, 3), U(0.5, 1, 3), argnums=(0, 1), source=LA + "::LAX_GRAD_OPS")
case("lax_pow", dnp.power, U(0.5, 2, 3), U(-1, 1, 3), argnums=(0, 1), source=LA + "::LAX_GRAD_OPS")
case("lax_max", dnp.maximum, R(3), R(3), argnums=(0, 1), source=LA + "::LAX_GRAD_OPS")
case("lax_pad", lambda x: dnp.pad(x, ((1, 2), (0, 1))), R(2, 3), source=LA + "::testPadGrad")
case("lax_concatenate", lambda a, b: dnp.concatenate([a, b], axis=1), R(2, 3), R(2, 1), argnums=(0, 1),
     source=LA + "::testConcatenateGrad")
case("lax_reshape", lambda x: dnp.reshape(x, (3, 2)), R(2, 3), source=LA + "::testReshapeGrad")
case("lax_slice", lambda x: x[1:3, ::2], R(4, 5), source=LA + "::testSliceGrad")
case("lax_dynamic_slice_like", lambda x: x[1:2, :], R(4, 5), source=LA + "::testDynamicSliceGrad")
case("lax_dot_general", lambda a, b: dnp.matmul(a, b), R(2, 3, 4), R(2, 4, 2), argnums=(0, 1),
     source=LA + "::testDotGeneralContractAndBatchGrads")
case("lax_broadcast", lambda x: dnp.broadcast_to(x, (2, 3, 4)), R(3, 4), source=LA + "::testBroadcastGrad")
case("lax_transpose", lambda x: dnp.transpose(x, (1, 2, 0)), R(2, 3, 4), source=LA + "::testTransposeGrad")
case("lax_reduce_sum", lambda x: dnp.sum(x, axis=(0, 2)), R(2, 3, 4), source=LA + "::testReduceGrad")
case("lax_reduce_max", lambda x: dnp.max(x, axis=1), R(2, 3, 4), source=LA + "::testReduceGrad")
case("lax_reduce_prod", lambda x: dnp.prod(x, axis=0), U(0.5, 2, 3, 2), source=LA + "::testReduceGrad")
case("lax_cumsum", lambda x: dnp.cumsum(x, axis=1), R(2, 4), source=LA + "::testCumulativeReduceGrad")
case("lax_select", lambda a, b: dnp.where(jnp.array([True, False, True]), a, b), R(3), R(3), argnums=(0, 1),
     source=LA + "::testSelectGrad")
case("lax_rem", lambda x, y: dnp.remainder(x, y), U(1, 2, 3), U(0.3, 0.9, 3), argnums=(0, 1), source=LA)
case("lax_sort", dnp.sort, R(5), source=LA + "::testSortGrad")
case("lax_clamp", lambda x: dnp.clip(x, -0.5, 0.5), R(5), source=LA + "::testClampGrad")
case("lax_squeeze", lambda x: dnp.squeeze(x, axis=1), R(3, 1, 2), source=LA + "::testSqueezeGrad")
case("lax_expand_dims", lambda x: dnp.expand_dims(x, 0), R(3), source=LA)
case("lax_rev", lambda x: dnp.flip(x, axis=0), R(4, 2), source=LA + "::testRevGrad")
case("lax_take", lambda x: dnp.take(x, jnp.array([2, 0, 2]), axis=0), R(4, 2), source=LA + "::testGatherGrad")
case("lax_index_add", lambda x, y: x.at[jnp.array([0, 2])].add(y), R(4), R(2), argnums=(0, 1),
     source=LA + "::testScatterAddGrad")

# ---------------------------------------------------------------- linear algebra
LG = "autograd tests/test_linalg.py"
SPD = R(3, 3)
SPD = SPD @ SPD.T + 3.0 * jnp.eye(3)
case("matmul_mat_vec", dnp.matmul, R(3, 4), R(4), argnums=(0, 1), source=LG)
case("inner", dnp.inner, R(3), R(3), argnums=(0, 1), source=LG)
case("vdot", dnp.vdot, R(3), R(3), argnums=(0, 1), source=LG)
case("kron", dnp.kron, R(2, 2), R(2, 1), argnums=(0, 1), source=LG)
case("cross", dnp.cross, R(3), R(3), argnums=(0, 1), source=LG)
case("norm", lambda x: dnp.linalg.norm(x), R(4), source=LG + "::test_norm")
case("norm_axis", lambda x: dnp.linalg.norm(x, axis=1), R(3, 4), source=LG + "::test_norm_axis")
case("quadratic_form", lambda x: x @ SPD @ x, R(3), source=LG)
case("triple_matmul", lambda a: dnp.sum(a @ a.T @ a), R(3, 2), source=LG)

# ---------------------------------------------------------------- micrograd test/test_engine.py
MG = "micrograd test/test_engine.py"


def micrograd_sanity(x):
    z = 2 * x + 2 + x
    q = dnp.relu(z) + z * x
    h = dnp.relu(z * z)
    return h + q + q * x


def micrograd_more_ops(a, b):
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + dnp.relu(b + a)
    d = d + 3 * d + dnp.relu(b - a)
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    return g


case("micrograd_sanity", micrograd_sanity, -4.0, source=MG + "::test_sanity_check")
case("micrograd_more_ops", micrograd_more_ops, -4.0, 2.0, argnums=(0, 1), source=MG + "::test_more_ops")

# ---------------------------------------------------------------- JAX lax_numpy_indexing_test.py, lax_numpy_test.py
IX = "jax tests/lax_numpy_indexing_test.py"
NP = "jax tests/lax_numpy_test.py"
case("at_set_from_input", lambda x, y: x.at[1:3].set(y), R(5), R(2), argnums=(0, 1), source=IX + "::testIndexedUpdate")
case("at_mul", lambda x, y: x.at[2].multiply(y), R(4), 0.7, argnums=(0, 1), source=IX)
case("at_max", lambda x, y: x.at[jnp.array([0, 2])].max(y), R(4), R(2), argnums=(0, 1), source=IX)
case("at_min", lambda x, y: x.at[1].min(y), R(4), 0.1, argnums=(0, 1), source=IX)
case("index_negative_step", lambda x: x[::-2, 1], R(5, 3), source=IX + "::testStaticIndexing")
case("index_none_ellipsis", lambda x: x[None, ..., 1], R(2, 3), source=IX + "::testStaticIndexing")
case("index_bool_mask_const", lambda x: x[jnp.array([True, False, True])], R(3), source=IX + "::testBooleanIndexing")
case("index_2d_advanced", lambda x: x[jnp.array([0, 1]), jnp.array([2, 0])], R(2, 3),
     source=IX + "::testAdvancedIndexing")
case("take_along_axis", lambda x: dnp.take_along_axis(x, jnp.array([[0, 2], [1, 1]]), axis=1), R(2, 3), source=NP)
case("tile", lambda x: dnp.tile(x, (2, 1)), R(2, 3), source=NP + "::testTile")
case("pad_edge_constant", lambda x: dnp.pad(x, (2, 1), constant_values=1.5), R(3), source=NP + "::testPad")
case("kron_vec", dnp.kron, R(2), R(3), argnums=(0, 1), source=NP + "::testKron")
case("diff", lambda x: dnp.diff(x), R(5), source=NP + "::testDiff")
case("diff_n2_axis0", lambda x: dnp.diff(x, n=2, axis=0), R(4, 2), source=NP + "::testDiff")
case("moveaxis", lambda x: dnp.moveaxis(x, 0, -1), R(2, 3, 4), source=NP + "::testMoveaxis")
case("swapaxes", lambda x: dnp.swapaxes(x, 0, 2), R(2, 3, 4), source=NP + "::testSwapAxes")
case("hstack", lambda a, b: dnp.hstack([a, b]), R(2), R(3), argnums=(0, 1), source=NP + "::testHVDStack")
case("vstack", lambda a, b: dnp.vstack([a, b]), R(3), R(2, 3), argnums=(0, 1), source=NP + "::testHVDStack")
case("stack_axis1", lambda a, b: dnp.stack([a, b], axis=1), R(3), R(3), argnums=(0, 1), source=NP + "::testStack")
case("logsumexp_axis_keepdims", lambda x: dnp.logsumexp(x, axis=1, keepdims=True), R(2, 3),
     source="jax tests/lax_numpy_reducers_test.py")
case("softmax_axis0", lambda x: dnp.softmax(x, axis=0), R(3, 2), source="jax tests/nn_test.py")
case("log_softmax", lambda x: dnp.log_softmax(x), R(4), source="jax tests/nn_test.py")
case("relu_mixed", lambda x: dnp.relu(x), jnp.array([-1.0, 0.0, 2.0]), source="jax tests/nn_test.py::testReluGrad")
case("where_input_condition", lambda x: dnp.where(x > 0, x ** 2, -x), jnp.array([-1.0, 0.5, 2.0]), source=NP)
case("select", lambda x: dnp.select([x < 0, x > 1], [x * 2.0, x ** 3], 0.0), jnp.array([-1.0, 0.5, 2.0]), source=NP)
case("fmax", dnp.fmax, R(3), R(3), argnums=(0, 1), source=NP)
case("fmin_nan", dnp.fmin, jnp.array([1.0, jnp.nan, 2.0]), jnp.array([0.5, 1.0, jnp.nan]), argnums=(0, 1), source=NP)
case("abs_at_zero", dnp.abs, jnp.array([0.0, -1.0, 2.0]), source=LA + "::testAbsGrad")
case("sinc_at_zero", dnp.sinc, jnp.array([0.0, 0.5]), source=NP + "::testSincAtZero")
case("square_at_zero", lambda x: x ** 2, jnp.array([0.0, -1.5]), source=AP)
case("cube_negative_base", lambda x: dnp.power(x, 3.0), jnp.array([-1.5, 2.0]), source=AP)
case("amax_keepdims", lambda x: dnp.amax(x, axis=0, keepdims=True), R(3, 2), source=NP)
case("mean_axis_tuple", lambda x: dnp.mean(x, axis=(0, 2)), R(2, 3, 2), source=NP)
case("sum_negative_axis", lambda x: dnp.sum(x, axis=-1, keepdims=True), R(2, 3), source=NP)
case("cumsum_reverse", lambda x: dnp.cumsum(x[::-1])[::-1], R(4), source=LA + "::testCumulativeReduceGrad")
case("matrix_power_like", lambda a: a @ a @ a, R(3, 3), source=LG)
case("einsum_trace", lambda a: dnp.einsum("ii->", a), R(3, 3), source=SY)
case("einsum_outer", lambda a, b: dnp.einsum("i,j->ij", a, b), R(2), R(3), argnums=(0, 1), source=SY)
case("einsum_batch_matvec", lambda a, b: dnp.einsum("bij,bj->bi", a, b), R(2, 3, 4), R(2, 4), argnums=(0, 1),
     source=SY)
case("tensordot_axes0", lambda a, b: dnp.tensordot(a, b, axes=0), R(2), R(3), argnums=(0, 1), source=SY)
case("matmul_broadcast_batch", dnp.matmul, R(2, 1, 3, 4), R(5, 4, 2), argnums=(0, 1), source=LG)
case("matmul_vec_batch", dnp.matmul, R(4), R(2, 4, 3), argnums=(0, 1), source=LG)
case("norm_matrix_fro", lambda x: dnp.linalg.norm(x), R(2, 3), source=LG + "::test_frobenius_norm")
