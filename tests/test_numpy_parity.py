"""Parity by construction: every ``diffcompare.numpy`` function means what ``jax.numpy`` means.

``dnp.supported()`` is the one list. For each name, hypothesis draws inputs (shapes 0-d to
4-d, axes, keyword arguments) and the function runs on plain arrays and on the values of
each engine (a forward dual, a reverse tape node, symbolic expressions, complex-step
values); each must give the value, shape and dtype JAX gives. Where an engine cannot run a
function it must refuse with a ``DiffCompareError``, and only for the reasons listed here:
symbolic expressions have no concrete value (sorting, NaN tests, comparisons decide on one),
and the complex step refuses what is not complex-analytic.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import diffcompare.numpy as dnp
from diffcompare._core import concrete, is_engine_value
from diffcompare.errors import ConcretizationError, NotComplexSafeError
from diffcompare.finite_diff import complex_step as _complex_step
from diffcompare.forward.dual import Dual, ForwardTrace
from diffcompare.reverse.tape import ReverseTrace
from diffcompare.symbolic import expr as E
from diffcompare.symbolic.convert import evaluate
from diffcompare.symbolic.trace import SymbolicTrace

# ---------------------------------------------------------------- drawing inputs


def _values(draw, shape, lo=-2.0, hi=2.0):
    seed = draw(st.integers(0, 2**16))
    return jnp.asarray(np.random.default_rng(seed).uniform(lo, hi, shape))


# a few shapes, 0-d to 4-d, so JAX compiles each operation for few shapes (values vary freely)
SHAPES = [(), (3,), (2, 3), (3, 1), (2, 1, 3), (1, 2, 3, 2)]
PAIRS = [((), (3,)), ((3,), (3,)), ((2, 3), (3,)), ((3, 1), (2, 1, 3)), ((2, 1, 3), (2, 3)), ((1, 2, 3, 2), ())]


def _array(draw, lo=-2.0, hi=2.0, min_dims=0, max_dims=4):
    shape = draw(st.sampled_from([s for s in SHAPES if min_dims <= len(s) <= max_dims]))
    return _values(draw, shape, lo, hi)


def _axis(draw, rank, allow_none=True, allow_tuple=True):
    options = [st.integers(-rank, rank - 1)] if rank else []
    if allow_none:
        options.append(st.none())
    if allow_tuple and rank:
        options.append(hnp.valid_tuple_axes(rank, min_size=1))
    return draw(st.one_of(*options))


def _two_shapes(draw):
    pair = draw(st.sampled_from(PAIRS))
    return pair if draw(st.booleans()) else pair[::-1]


# name -> (domain low, high, the JAX function): one array argument, no options
_UNARY_DOMAIN = {"log": (0.2, 2), "sqrt": (0.2, 2), "rsqrt": (0.2, 2), "log2": (0.2, 2), "log10": (0.2, 2),
                 "log1p": (-0.5, 2), "arcsin": (-0.9, 0.9), "arccos": (-0.9, 0.9), "arctanh": (-0.9, 0.9),
                 "erfinv": (-0.9, 0.9), "arccosh": (1.1, 3), "tan": (-1, 1), "reciprocal": (0.5, 2)}
_SPECIAL = {"sigmoid": jax.nn.sigmoid, "relu": jax.nn.relu, "erf": jax.scipy.special.erf,
            "erfc": jax.scipy.special.erfc, "erfinv": jax.scipy.special.erfinv, "rsqrt": jax.lax.rsqrt,
            "stop_gradient": jax.lax.stop_gradient, "log_softmax": jax.nn.log_softmax,
            "logsumexp": jax.scipy.special.logsumexp, "softmax": jax.nn.softmax}
UNARY = ["negative", "exp", "log", "log1p", "expm1", "sqrt", "sin", "cos", "tan", "tanh", "sinh", "cosh", "arctan",
         "sigmoid", "abs", "relu", "arcsin", "arccos", "arcsinh", "arccosh", "arctanh", "rsqrt", "cbrt", "exp2",
         "erf", "erfc", "erfinv", "sinc", "real", "imag", "conj", "stop_gradient", "fabs", "deg2rad", "radians",
         "rad2deg", "degrees", "square", "reciprocal", "log2", "log10", "ravel", "angle", "nan_to_num",
         "atleast_1d", "atleast_2d", "atleast_3d", "sign", "floor", "ceil", "round", "trunc", "isfinite", "isnan",
         "isinf", "logical_not", "any", "all", "argmax", "argmin", "argsort"]
BINARY = {"add": None, "subtract": None, "multiply": None, "divide": (0.5, 2), "power": (-2, 2),
          "maximum": None, "minimum": None, "arctan2": None, "logaddexp": None, "logaddexp2": None, "fmax": None,
          "fmin": None, "remainder": (0.5, 2), "mod": (0.5, 2), "less": None, "less_equal": None, "greater": None,
          "greater_equal": None, "equal": None, "not_equal": None, "logical_and": None, "logical_or": None,
          "floor_divide": (0.5, 2), "outer": None, "vdot": "same", "kron": None}
REDUCTIONS = ["sum", "prod", "max", "min", "mean", "logsumexp", "var", "std", "linalg.norm"]


def _jax(name):
    if name in _SPECIAL:
        return _SPECIAL[name]
    if name == "linalg.norm":
        return jnp.linalg.norm
    return getattr(jnp, name)


def _dnp(name):
    return dnp.linalg.norm if name == "linalg.norm" else getattr(dnp, name)


def _unary_case(name):
    def case(draw):
        lo, hi = _UNARY_DOMAIN.get(name, (-2, 2))
        return (_array(draw, lo, hi, min_dims=int(name == "argsort")),), {}

    return case


def _binary_case(name, y_domain):
    def case(draw):
        if y_domain == "same":
            x = _array(draw)
            return (x, _values(draw, x.shape)), {}
        sx, sy = _two_shapes(draw)
        lo, hi = (0.5, 2) if name == "power" else (-2, 2)
        y_lo, y_hi = y_domain if isinstance(y_domain, tuple) else (-2, 2)
        return (_values(draw, sx, lo, hi), _values(draw, sy, y_lo, y_hi)), {}

    return case


def _reduction_case(name):
    def case(draw):
        x = _array(draw, 0.2, 2.0)
        kwargs = {"axis": _axis(draw, x.ndim, allow_tuple=name != "linalg.norm" or x.ndim <= 2),
                  "keepdims": draw(st.booleans())}
        if name == "linalg.norm":
            if kwargs["axis"] is None and x.ndim > 2:
                kwargs["axis"] = -1
            matrix = (kwargs["axis"] is None and x.ndim == 2) or isinstance(kwargs["axis"], tuple)
            kwargs["ord"] = None if matrix else draw(st.sampled_from([None, 1, 2, 3, jnp.inf, -jnp.inf]))
        if name in ("var", "std"):
            kwargs["ddof"] = draw(st.sampled_from([0, 1]))
        return (x,), kwargs

    return case


def _case(fn):
    CASES[fn.__name__[1:]] = fn
    return fn


CASES = {name: _unary_case(name) for name in UNARY}
CASES.update({name: _binary_case(name, domain) for name, domain in BINARY.items()})
CASES.update({name: _reduction_case(name) for name in REDUCTIONS})


@_case
def _softmax(draw):
    x = _array(draw, min_dims=1)
    return (x,), {"axis": _axis(draw, x.ndim, allow_none=False)}


CASES["log_softmax"] = _softmax


@_case
def _cumsum(draw):
    x = _array(draw)
    return (x,), {"axis": _axis(draw, x.ndim, allow_tuple=False)}


@_case
def _diff(draw):
    x = _array(draw, min_dims=1)
    return (x,), {"axis": _axis(draw, x.ndim, allow_none=False, allow_tuple=False), "n": draw(st.integers(1, 2))}


@_case
def _where(draw):
    sx, sy = _two_shapes(draw)
    sc = draw(st.sampled_from([sx, sy, ()]))
    return (_values(draw, sc) > 0, _values(draw, sx), _values(draw, sy)), {}


@_case
def _select(draw):
    x = _array(draw)
    return ([x > 0.5, x < -0.5], [x * 2, _values(draw, x.shape)]), {"default": 1.5}


@_case
def _clip(draw):
    x = _array(draw)
    return (x,), {"min": draw(st.sampled_from([None, -0.5])), "max": 0.7}


@_case
def _matmul(draw):
    n = draw(st.integers(1, 3))
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=2))
    a_shape = draw(st.sampled_from([(n,), (2, n), lead + (2, n)]))
    b_shape = draw(st.sampled_from([(n,), (n, 3), lead + (n, 3)]))
    return (_values(draw, a_shape), _values(draw, b_shape)), {}


@_case
def _dot(draw):
    n = draw(st.integers(1, 3))
    a_shape = draw(st.sampled_from([(), (n,), (2, n), (2, 2, n)]))
    b_shape = draw(st.sampled_from([(), (n,), (n, 3), (2, n, 3)]))
    return (_values(draw, a_shape), _values(draw, b_shape)), {}


@_case
def _inner(draw):
    n = draw(st.integers(1, 3))
    return (_values(draw, draw(st.sampled_from([(n,), (2, n), (2, 1, n)]))),
            _values(draw, draw(st.sampled_from([(n,), (3, n)])))), {}


@_case
def _tensordot(draw):
    a = _values(draw, (2, 3, 2))
    axes = draw(st.sampled_from([1, 2, ((0,), (1,)), ((2, 1), (0, 2))]))
    b_shape = {1: (2, 2), 2: (3, 2, 2)}.get(axes, (2, 2, 3))
    return (a, _values(draw, b_shape)), {"axes": axes}


@_case
def _einsum(draw):
    spec, shapes = draw(st.sampled_from([("ij,jk->ik", [(2, 3), (3, 2)]), ("ii", [(3, 3)]), ("ij", [(2, 3)]),
                                         ("...i,...i->...", [(2, 3), (3,)]), ("bij,bkj->bik", [(2, 2, 3)] * 2),
                                         ("i,j,k->ijk", [(2,), (3,), (1,)])]))
    return (spec, *[_values(draw, s) for s in shapes]), {}


@_case
def _cross(draw):
    n = draw(st.sampled_from([2, 3]))
    lead = draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=2))
    return (_values(draw, lead + (n,)), _values(draw, (n,))), {}


@_case
def _transpose(draw):
    x = _array(draw)
    return (x,), {"axes": draw(st.none() | st.permutations(range(x.ndim)).map(tuple))}


@_case
def _reshape(draw):
    x = _array(draw)
    return (x,), {"shape": draw(st.sampled_from([(-1,), tuple(reversed(x.shape)), (1,) + x.shape]))}


@_case
def _broadcast_to(draw):
    x = _array(draw, max_dims=3)
    return (x,), {"shape": (2,) + x.shape}


@_case
def _stack(draw):
    x = _array(draw, max_dims=3)
    return ([x, _values(draw, x.shape)],), {"axis": _axis(draw, x.ndim + 1, False, False)}


@_case
def _concatenate(draw):
    x = _array(draw, min_dims=1, max_dims=3)
    return ([x, x * 2],), {"axis": draw(st.none() | st.integers(-x.ndim, x.ndim - 1))}


@_case
def _append(draw):
    x = _array(draw, min_dims=1, max_dims=3)
    return (x, x + 1), {"axis": draw(st.none() | st.integers(0, x.ndim - 1))}


@_case
def _vstack(draw):
    x = _array(draw, max_dims=2)
    return ([x, -x],), {}


CASES["hstack"] = _vstack


@_case
def _getitem(draw):
    x = _array(draw, min_dims=1)
    index = draw(st.sampled_from([0, slice(None, None, -1), (Ellipsis, 0), jnp.array([0, -1, 0]), (None, 0)]))
    return (x, index), {}


def _index_update_case(draw):
    x = _array(draw, min_dims=1)
    index = draw(st.sampled_from([0, slice(1, None), jnp.array([0, -1]) if x.shape[0] > 1 else 0]))
    return (x, index, _values(draw, ())), {}


for _name in ("index_add", "index_set", "index_multiply", "index_min", "index_max"):
    CASES[_name] = _index_update_case


@_case
def _squeeze(draw):
    x = _array(draw).reshape(draw(st.sampled_from([(1, -1), (1, 1, -1)])))
    return (x,), {"axis": draw(st.sampled_from([None, 0]))}


@_case
def _expand_dims(draw):
    x = _array(draw, max_dims=3)
    return (x,), {"axis": draw(st.sampled_from([0, -1, (0, 2), (-1, 0)]))}


@_case
def _swapaxes(draw):
    x = _array(draw, min_dims=1)
    return (x, _axis(draw, x.ndim, False, False), _axis(draw, x.ndim, False, False)), {}


@_case
def _moveaxis(draw):
    x = _array(draw, min_dims=1)
    return (x, _axis(draw, x.ndim, False, False), _axis(draw, x.ndim, False, False)), {}


@_case
def _rollaxis(draw):
    x = _array(draw, min_dims=1)
    return (x, _axis(draw, x.ndim, False, False)), {"start": draw(st.integers(0, x.ndim))}


@_case
def _flip(draw):
    x = _array(draw)
    return (x,), {"axis": _axis(draw, x.ndim)}


@_case
def _fliplr(draw):
    return (_array(draw, min_dims=2),), {}


@_case
def _flipud(draw):
    return (_array(draw, min_dims=1),), {}


@_case
def _rot90(draw):
    x = _array(draw, min_dims=2)
    return (x,), {"k": draw(st.integers(-1, 3)), "axes": draw(st.sampled_from([(0, 1), (1, 0), (-1, 0)]))}


@_case
def _roll(draw):
    x = _array(draw, min_dims=1)
    return (x, draw(st.integers(-4, 4))), {"axis": draw(st.none() | st.integers(0, x.ndim - 1))}


@_case
def _repeat(draw):
    x = _array(draw, max_dims=3)
    axis = draw(st.none() | st.integers(0, x.ndim - 1)) if x.ndim else None
    return (x, draw(st.integers(1, 3))), {"axis": axis}


@_case
def _tile(draw):
    x = _array(draw, max_dims=3)
    return (x, draw(st.sampled_from([2, (2, 1), (1, 2, 1)]))), {}


@_case
def _pad(draw):
    x = _array(draw, min_dims=1, max_dims=3)
    mode = draw(st.sampled_from(["constant", "edge", "wrap", "reflect", "symmetric"]))
    kwargs = {"constant_values": 1.5} if mode == "constant" else {}
    return (x, draw(st.sampled_from([1, (1, 2), [(0, 1)] * x.ndim]))), {"mode": mode, **kwargs}


@_case
def _split(draw):
    x = _array(draw, min_dims=1)
    axis = draw(st.integers(0, x.ndim - 1))
    return (x, draw(st.sampled_from([1, x.shape[axis], [1], [0, 2]]))), {"axis": axis}


@_case
def _diag(draw):
    return (_array(draw, min_dims=1, max_dims=2),), {"k": draw(st.integers(-2, 2))}


@_case
def _diagonal(draw):
    x = _array(draw, min_dims=2)
    a1, a2 = draw(st.permutations(range(x.ndim)))[:2]
    return (x,), {"offset": draw(st.integers(-2, 2)), "axis1": a1, "axis2": a2}


CASES["trace"] = _diagonal


@_case
def _tril(draw):
    return (_array(draw, min_dims=2),), {"k": draw(st.integers(-2, 2))}


CASES["triu"] = _tril


@_case
def _sort(draw):
    x = _array(draw)
    kwargs = {"axis": draw(st.none() | st.integers(-1, max(x.ndim - 1, -1)))} if x.ndim else {"axis": None}
    return (x,), {**kwargs, "descending": draw(st.booleans())}


@_case
def _partition(draw):
    x = _array(draw, min_dims=1)
    axis = _axis(draw, x.ndim, False, False)
    return (x, draw(st.integers(0, x.shape[axis] - 1))), {"axis": axis}


@_case
def _take(draw):
    x = _array(draw, min_dims=1)
    axis = draw(st.none() | st.integers(0, x.ndim - 1))
    n = x.size if axis is None else x.shape[axis]
    return (x, jnp.array([0, n - 1, -1, 0])), {"axis": axis}


@_case
def _take_along_axis(draw):
    x = _array(draw, min_dims=1)
    axis = _axis(draw, x.ndim, False, False)
    return (x, jnp.argsort(x, axis=axis)), {"axis": axis}


@_case
def _logspace(draw):
    start = _array(draw, max_dims=2)
    return (start, start + 1.0), {"num": draw(st.integers(1, 5)), "base": draw(st.sampled_from([10.0, 2.0]))}


@_case
def _linspace(draw):
    start = _array(draw, max_dims=2)
    return (start, start + 1.0), {"num": draw(st.integers(1, 5)), "endpoint": draw(st.booleans()),
                                  "axis": draw(st.integers(-1, 0))}


@_case
def _zeros_like(draw):
    return (_array(draw),), {"dtype": draw(st.sampled_from([None, jnp.float32]))}


CASES["ones_like"] = _zeros_like


@_case
def _full_like(draw):
    return (_array(draw), 2.5), {}


@_case
def _asarray(draw):
    x = _array(draw, max_dims=2)
    return ([x, x * 2] if draw(st.booleans()) else x,), {}


CASES["array"] = _asarray


@_case
def _zeros(draw):
    return (draw(st.sampled_from([3, (2, 3)])),), {}


CASES["ones"] = _zeros
CASES["full"] = lambda draw: (((2, 3), _values(draw, ())), {})
CASES["eye"] = lambda draw: ((3,), {"k": draw(st.integers(-1, 1))})
CASES["arange"] = lambda draw: ((0.5, 3.0, 0.5), {})
CASES["tri"] = lambda draw: ((3, 4), {"k": draw(st.integers(-1, 1))})


@_case
def _astype(draw):
    return (_array(draw), draw(st.sampled_from([jnp.float32, jnp.float64, jnp.int32]))), {}


CASES["mod"] = CASES["remainder"]

# ---------------------------------------------------------------- engines

# (name, engine) -> why the engine refuses, with a DiffCompareError
_VALUE_DEPENDENT = "symbolic expressions stand for every input: no concrete value to decide on"
SYMBOLIC_REFUSES = {name: _VALUE_DEPENDENT for name in [
    # permutations and pieces chosen by the values
    "sort", "partition", "fmax", "fmin", "remainder", "mod", "nan_to_num", "floor_divide",
    # the non-differentiable helpers act on concrete values (comparisons, rounding, tests)
    "sign", "floor", "ceil", "round", "trunc", "isfinite", "isnan", "isinf", "logical_not", "logical_and",
    "logical_or", "any", "all", "argmax", "argmin", "argsort", "less", "less_equal", "greater", "greater_equal",
    "equal", "not_equal",
    # a cast to integers is a non-differentiable helper too
    "astype"]}
# deliberate differences: (name, engine) -> reason (the test skips the dtype comparison there)
DTYPE_DIFFERENCES = {("astype", "symbolic"): "a symbolic array's dtype follows its operands; the nodes are real"}


def _wrap_leaves(args, wrap):
    def visit(a):
        if isinstance(a, jax.Array) and jnp.issubdtype(a.dtype, jnp.floating):
            return wrap(a)
        if isinstance(a, list):
            return [visit(x) for x in a]
        return a

    return tuple(visit(a) for a in args)


def _outputs(out):
    leaves = jax.tree_util.tree_leaves(out, is_leaf=is_engine_value)
    return [(concrete(v), v.dtype) if is_engine_value(v) else (jnp.asarray(v), jnp.result_type(v)) for v in leaves]


def run_plain(fn, args, kwargs):
    return _outputs(fn(*args, **kwargs))


def run_forward(fn, args, kwargs):
    trace = ForwardTrace()
    return _outputs(fn(*_wrap_leaves(args, lambda a: Dual(trace, a, jnp.ones_like(a))), **kwargs))


def run_reverse(fn, args, kwargs):
    trace = ReverseTrace()
    return _outputs(fn(*_wrap_leaves(args, trace.input), **kwargs))


def run_symbolic(fn, args, kwargs):
    trace = SymbolicTrace("the parity test")
    inputs, arrays = [], []

    def wrap(a):
        nodes = np.empty(a.shape, object)
        for idx in np.ndindex(a.shape):
            nodes[idx] = E.var(f"v{len(inputs)}_{'_'.join(map(str, idx))}")
        inputs.append(nodes)
        arrays.append(a)
        return E.SymArray(trace, nodes, a.dtype)

    out = fn(*_wrap_leaves(args, wrap), **kwargs)
    leaves = jax.tree_util.tree_leaves(out, is_leaf=is_engine_value)
    env = {n.value: float(a[idx]) for nodes, a in zip(inputs, arrays) for idx, n in np.ndenumerate(nodes)}
    results = []
    for leaf in leaves:  # evaluated with NumPy: no JAX program to compile per case
        nodes = E.obj_array(leaf)
        values = evaluate(list(nodes.reshape(-1)), env) if nodes.size else []
        value = np.reshape(np.asarray(values, dtype=float), nodes.shape)
        results.append((value, leaf.dtype if is_engine_value(leaf) else jnp.result_type(leaf)))
    return results


def run_complex_step(fn, args, kwargs):
    trace = _complex_step.ComplexStepTrace()
    wrapped = _wrap_leaves(args, lambda a: _complex_step.ComplexStepValue(trace, a.astype(complex) + 1e-30j))
    leaves = jax.tree_util.tree_leaves(fn(*wrapped, **kwargs), is_leaf=is_engine_value)
    out = []
    for v in leaves:
        value = v.value if isinstance(v, _complex_step.ComplexStepValue) else jnp.asarray(v)
        out.append((jnp.real(value), jnp.finfo(value.dtype).dtype if jnp.iscomplexobj(value) else value.dtype))
    return out


ENGINES = {"plain": run_plain, "forward": run_forward, "reverse": run_reverse, "symbolic": run_symbolic,
           "complex-step": run_complex_step}


def _all_names():
    return sorted(set().union(*dnp.supported().values()))


def test_every_dnp_function_has_a_parity_case():
    # a function added to dnp without a case here fails: parity is checked for the whole list
    missing = set(_all_names()) - set(CASES)
    assert not missing, f"add a parity case for {sorted(missing)}"


def _reference(name, args, kwargs):
    if name.startswith("index_") or name == "getitem":
        x, index, *rest = args
        ref = x[index] if name == "getitem" else getattr(x.at[index], name[len("index_"):])(*rest)
        return [(ref, ref.dtype)]
    fn = _jax(name)
    return [(jnp.asarray(v), jnp.result_type(v)) for v in jax.tree_util.tree_leaves(fn(*args, **kwargs))]


def _check(name, engine, args, kwargs):
    expected = _reference(name, args, kwargs)
    try:
        got = ENGINES[engine](_dnp(name), args, kwargs)
    except (ConcretizationError, NotComplexSafeError) as err:
        if engine == "symbolic" and name in SYMBOLIC_REFUSES:
            return
        if engine == "complex-step" and isinstance(err, NotComplexSafeError):
            return  # the complex step refuses what is not analytic (comparisons, casts, abs, ...)
        raise
    assert len(got) == len(expected), f"{name} on {engine}: {len(got)} outputs, JAX gives {len(expected)}"
    for (value, dtype), (ref, ref_dtype) in zip(got, expected):
        value = jnp.asarray(value)
        assert value.shape == ref.shape, f"{name} on {engine}: shape {value.shape}, JAX {ref.shape}"
        if (name, engine) not in DTYPE_DIFFERENCES:
            assert jnp.dtype(dtype) == ref_dtype, f"{name} on {engine}: dtype {dtype}, JAX {ref_dtype}"
        tol = 1e-6 if ref_dtype == jnp.float32 else 1e-10
        np.testing.assert_allclose(np.asarray(value, dtype=float), np.asarray(ref, dtype=float), rtol=tol,
                                   atol=tol, equal_nan=True, err_msg=f"{name} on {engine}")


@pytest.mark.slow
@pytest.mark.parametrize("name", _all_names())
@settings(max_examples=2, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_dnp_means_what_jax_numpy_means(name, data):
    args, kwargs = data.draw(st.composite(lambda draw: CASES[name](draw))())
    for engine in ENGINES:
        _check(name, engine, args, kwargs)
