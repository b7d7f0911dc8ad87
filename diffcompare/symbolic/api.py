"""The method interface on symbolic differentiation.

Each call traces ``f`` on symbolic inputs of the given shapes (one variable
per array element), differentiates the expression by reverse accumulation on
the shared graph (forward accumulation for ``jvp``), compiles the result to a
``jax.numpy`` function under ``jax.jit``, and evaluates it at the given
numbers. ``f`` is traced again at every call (tracing is cheap next to
compiling), so a closure, global, default argument or attribute that changed
between calls is read as it is now; the compiled derivative is cached by the
digest of the traced expressions (constants by value), so a second call whose
expressions are the same only evaluates.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from .. import _api
from .._core import is_engine_value, new_level, top_trace
from ..errors import ShapeMismatchError, UnsupportedOperationError
from . import array as AL
from . import cache
from . import differentiate as D
from .expr import SymArray, flat_nodes, obj_array, substitute, var
from .program import compile_jax, straight_line
from .simplify import simplify as _simplify
from .trace import SymbolicTrace, arg_names


def _is_dynamic(leaf) -> bool:
    """Floating-point leaves become variables; integers and other objects stay concrete."""
    if isinstance(leaf, bool):
        return False
    if isinstance(leaf, (float, complex)):
        return True
    dtype = getattr(leaf, "dtype", None)
    return dtype is not None and jnp.issubdtype(dtype, jnp.inexact)  # bfloat16 too


def _variables(base: str, shape) -> np.ndarray:
    nodes = np.empty(shape, object)
    for idx in np.ndindex(shape):
        nodes[idx] = var(base + (f"[{','.join(map(str, idx))}]" if shape else ""))
    return nodes


@dataclasses.dataclass
class Traced:
    """A function traced on symbolic inputs.

    Attributes:
        outputs: the output pytree with :class:`SymArray` leaves (its expressions).
        out_nodes: one object array of nodes per output leaf; out_tree: their structure.
        inputs: one object array of variables per floating-point input leaf.
        arg_leaves: for each positional argument, the indices into ``inputs`` of its leaves.
        dtype: the dtype the inputs compute in.
    """

    outputs: object
    out_nodes: list
    out_tree: object
    inputs: list
    arg_leaves: list
    dtype: object

    @property
    def expression(self):
        """The expression of the function's only, scalar output."""
        if len(self.out_nodes) != 1 or self.out_nodes[0].shape != ():
            raise ShapeMismatchError("Traced.expression: the function has more than one output value; "
                                     "use .out_nodes")
        return self.out_nodes[0][()]

    @property
    def variables(self) -> list:
        """The variables made for scalar inputs, in argument order (what ``reverse`` and ``compile_jax`` take)."""
        if any(v.shape != () for v in self.inputs):
            raise ShapeMismatchError("Traced.variables: an input is an array; use .inputs (object arrays)")
        return [v[()] for v in self.inputs]

    def wrt(self, argnums) -> list:
        """The variable arrays of the arguments ``argnums``, in pytree leaf order."""
        return [self.inputs[i] for a in argnums for i in self.arg_leaves[a]]

    def out_example(self):
        """Zeros shaped and typed like the outputs (a comparison's output is bool, which grad refuses)."""
        dtypes = [getattr(leaf, "dtype", None) for leaf in jax.tree_util.tree_leaves(self.outputs)]
        if len(dtypes) != len(self.out_nodes):
            dtypes = [None] * len(self.out_nodes)
        return jax.tree_util.tree_unflatten(
            self.out_tree, [np.zeros(o.shape, dtype or float) for o, dtype in zip(self.out_nodes, dtypes)])


def trace(f: Callable, *args, prime: str | None = None) -> Traced:
    """Trace ``f`` on symbolic inputs shaped like ``args``.

    Every floating-point number or array element of ``args`` (pytrees too)
    becomes a variable named after the parameter (``x``, ``W[0,1]``,
    ``params['b'][2]``); integers stay concrete. Inside another symbolic trace the
    names get one prime per level (``x'``), so they never clash with the outer variables.

    Example:
        >>> t = trace(lambda x, y: 1 + x + dnp.exp(dnp.sin(x * y)), 1.0, 2.0)
        >>> str(t.out_nodes[0][()])
        '1 + x + exp(sin(x*y))'
    """
    inner = f
    while isinstance(inner, functools.partial):
        inner = inner.func
    tr = SymbolicTrace(f"'{getattr(inner, '__name__', type(inner).__name__)}'")
    prime = "'" * len(_ACTIVE.traces) if prime is None else prime
    names = [name + prime for name in arg_names(f, len(args))]
    inputs, arg_leaves, sym_args, dtypes = [], [], [], []
    for base, arg in zip(names, args):
        with_path, treedef = jax.tree_util.tree_flatten_with_path(arg)
        indices, leaves = [], []
        for path, leaf in with_path:
            if _is_dynamic(leaf):
                dtype = leaf.dtype if is_engine_value(leaf) else jnp.result_type(leaf)
                nodes = _variables(base + jax.tree_util.keystr(path), np.shape(leaf))
                indices.append(len(inputs))
                inputs.append(nodes)
                dtypes.append(dtype)
                leaves.append(SymArray(tr, nodes, dtype))
            else:
                leaves.append(leaf)
        arg_leaves.append(indices)
        sym_args.append(jax.tree_util.tree_unflatten(treedef, leaves))
    _ACTIVE.traces.append(tr)
    try:
        out = f(*sym_args)
    finally:
        _ACTIVE.traces.pop()
    out_leaves, out_tree = jax.tree_util.tree_flatten(out)
    dtype = jnp.result_type(*dtypes) if dtypes else jnp.result_type(float)
    return Traced(out, [obj_array(leaf) for leaf in out_leaves], out_tree, inputs, arg_leaves, dtype)


def _prefixed(traced: Traced, prefix: str, arrays) -> list:
    """Fresh variables shaped like ``arrays`` (tangents, cotangents) whose names clash with no input."""
    taken = {n.value for arr in traced.inputs for n in arr.reshape(-1)}
    while any(t.startswith(prefix) for t in taken):
        prefix = prefix + "_"
    return [_variables(f"{prefix}{i}", arr.shape) for i, arr in enumerate(arrays)]


def _shape_like(flat_nodes, arrays) -> list:
    out, start = [], 0
    for arr in arrays:
        block = np.empty(arr.shape, object)
        for k, idx in enumerate(np.ndindex(arr.shape)):
            block[idx] = flat_nodes[start + k]
        out.append(block)
        start += arr.size
    return out


#: with ``jit=None``, programs of up to this many steps are compiled with ``jax.jit`` (see :mod:`.cache`)
JIT_MAX_STEPS = cache.JIT_MAX_STEPS
#: run eagerly, graphs up to this many nodes run one scalar operation per node (see :func:`.straight_line`)
EAGER_SCALAR_MAX_NODES = 3000


def _graph_key(traced: Traced) -> bytes:
    """A digest of everything the traced function computes: the structure of its output
    expressions (constants by value, so a changed closure or global gives another key),
    its inputs, and its output structure."""
    digest = hashlib.blake2b(repr((traced.out_tree, traced.arg_leaves, str(traced.dtype))).encode(), digest_size=16)
    for arrays in (traced.inputs, traced.out_nodes):
        for arr in arrays:
            digest.update(repr(arr.shape).encode())
            digest.update(b"".join(n.key for n in arr.reshape(-1)))
    return digest.digest()


def _compiled(f, kind: str, args, key_extra, build, simplify: bool, jit=None):
    """(compiled function of the input leaves, traced, extra): ``f`` is traced at every call, so
    it reads its closures, globals, defaults and attributes *now*; the derivative program is
    cached by the digest of the traced expressions, so only a changed expression recompiles."""
    outer = _outer_trace(args, f"symbolic.{kind}")
    if outer is not None or _ACTIVE.traces:
        # symbolic over symbolic: the derivative graph in the outer expressions (arguments or closures)
        outer = outer or _ACTIVE.traces[-1]
        traced = trace(f, *args, prime="'" * max(len(_ACTIVE.traces), 1))
        outputs, inputs, extra = build(traced)
        if simplify:
            outputs = [_simplify(o) for o in outputs]
        return _substituting(outputs, inputs, outer), traced, extra
    traced = trace(f, *args)
    key = ("scalar", kind, key_extra, _graph_key(traced), simplify, jit, bool(jax.config.jax_enable_x64))

    def compiled():
        outputs, inputs, extra = build(traced)
        if simplify:
            outputs = [_simplify(o) for o in outputs]
        program = compile_jax(outputs, inputs)
        if cache.use_jit(program.steps, jit):
            program = jax.jit(program)
        elif program.nodes < 4 * program.steps or program.nodes <= EAGER_SCALAR_MAX_NODES:
            program = straight_line(outputs, inputs)  # narrow or small: per-node scalar kernels are cached
        return program, extra

    program, extra = cache.remember(key, compiled)
    return program, traced, extra


def _outer_trace(args, fname: str):
    """The symbolic trace whose expressions ``args`` hold (symbolic over symbolic), or None for numbers.
    Another engine's values are refused: the symbolic method compiles numbers, it cannot carry
    a perturbation through its compiled program."""
    outer = top_trace(args)
    if outer is None or isinstance(outer, SymbolicTrace):
        return outer
    raise UnsupportedOperationError(
        fname, "symbolic",
        f"its input is a {outer.engine} value: the symbolic method runs inside another method's transformation "
        f"only over itself; make the symbolic transformation the outer one (it traces {outer.engine} "
        f"transformations of dnp code), or use the {outer.engine} method at both levels",
    )


class _Active(threading.local):
    """The symbolic traces running now in this thread, innermost last."""

    def __init__(self):
        self.traces: list = []


_ACTIVE = _Active()


def _nested(args) -> bool:
    """Whether this call runs inside a symbolic trace (symbolic over symbolic: scalar expressions)."""
    return bool(_ACTIVE.traces) or top_trace(args) is not None


def _substituting(outputs, inputs, outer):
    """``program(*values)``: the output expressions with each input variable replaced by the matching
    element of ``values`` (the outer trace's expressions, or numbers), as SymArrays of ``outer``."""
    outputs = [obj_array(o) for o in outputs]

    def program(*values):
        mapping = {}
        for variables_, value in zip(inputs, values):
            nodes = np.broadcast_to(obj_array(value), variables_.shape)
            mapping.update(zip((v.serial for v in variables_.reshape(-1)), nodes.reshape(-1)))
        flat = substitute(flat_nodes(outputs), mapping)
        results, start = [], 0
        for o in outputs:
            results.append(SymArray(outer, np.array(flat[start:start + o.size], object).reshape(o.shape)))
            start += o.size
        return results

    return program


clear_cache = cache.clear
cache_info = cache.info


def _as_array(x, dtype=None):
    """Numbers as a JAX array; an expression of an outer symbolic trace stays as it is."""
    return x if is_engine_value(x) else jnp.asarray(x, dtype)


def _dynamic_values(args) -> list:
    return [_as_array(x) for x in jax.tree_util.tree_leaves(tuple(args)) if _is_dynamic(x)]


def _unflatten_args(arrays, args, argnums, is_tuple):
    parts, start = [], 0
    for a in argnums:
        leaves, treedef = jax.tree_util.tree_flatten(args[a])
        mine = arrays[start:start + len(leaves)]
        chunk = [_as_array(arr, None if is_engine_value(leaf) else jnp.result_type(leaf))
                 for arr, leaf in zip(mine, leaves)]
        start += len(leaves)
        parts.append(jax.tree_util.tree_unflatten(treedef, chunk))
    return tuple(parts) if is_tuple else parts[0]


def _check_scalar(traced: Traced, fname: str):
    _api.check_scalar_output(traced.out_example(), fname)


# ---------------------------------------------------------------- the method interface


def _prepare(f: Callable, args: tuple, kwargs: dict, argnums, name: str):
    """The preamble every symbolic wrapper shares: ``(f with keyword arguments bound, selection)``,
    the differentiated arguments checked."""
    sel = _api.select(args, argnums, name)
    _api.check_differentiable(sel.pick(args), name)
    return _with_keywords(f, kwargs), sel


def _without_aux(f: Callable, has_aux: bool, name: str) -> Callable:
    """``f`` returning only its output where it returns ``(output, aux)`` (``has_aux``)."""
    if not has_aux:
        return f

    @functools.wraps(f)  # keeps the parameter names the variables are named after
    def output_only(*args):
        return _api.output_and_aux(f(*args), name)[0]

    return output_only


def _aux_at(f: Callable, args, name: str):
    """``f``'s aux at ``args``: the symbolic trace has no numbers, so ``f`` runs once more on them
    (as finite differences see them: floating-point leaves as arrays), and the aux comes back plain."""
    level = new_level()
    numbers = jax.tree_util.tree_map(lambda leaf: _as_array(leaf) if _is_dynamic(leaf) else leaf, tuple(args))
    return _api.plain_aux(_api.output_and_aux(f(*numbers), name)[1], level)


def _with_keywords(f: Callable, kwargs: dict) -> Callable:
    """``f`` with keyword arguments bound (they are constants of the trace, as in ``jax.grad``)."""
    if not kwargs:
        return f

    @functools.wraps(f)
    def bound(*args):
        return f(*args, **kwargs)

    return bound


def value_and_grad(f: Callable, argnums=0, *, has_aux: bool = False, simplify: bool = False,
                   jit: bool | None = None, expand: str = "auto", holomorphic: bool = False) -> Callable:
    """A function returning ``(f(*args), gradient)`` from the symbolic gradient.

    Arguments:
        f: scalar-valued function written with ``diffcompare.numpy``, without
            value-dependent control flow (that raises ``ConcretizationError``).
        argnums: which positional argument(s) to differentiate (int or tuple), as in JAX.
        has_aux: ``f`` returns ``(output, aux)``: only the output is traced and differentiated,
            and the callable returns ``((value, aux), gradient)``. The aux is computed by one more
            plain evaluation of ``f`` at the numbers (the trace has none), as plain arrays.
        simplify: simplify the derivative expression before compiling it.
        jit: compile with ``jax.jit`` (True), run the compiled program eagerly
            (False), or choose by program size (None, see :data:`JIT_MAX_STEPS`).
        expand: ``"array"`` (array-level expressions, whose size does not grow with n),
            ``"scalar"`` (one expression per element: the swell made visible) or
            ``"auto"`` (array level where it applies, see :mod:`.array`).
        holomorphic: ``jax.grad``'s option for complex functions: ``True`` is refused, as are complex inputs
            (every method but the JAX reference differentiates real functions of real inputs).
    Returns:
        A callable with ``f``'s signature; the gradient has the structure of
        the differentiated argument(s).
    Example:
        >>> value_and_grad(lambda x: dnp.exp(x) / x**2)(1.5)
        (Array(1.99..., ...), Array(-0.66..., ...))
    """
    _api.refuse_holomorphic(holomorphic, "symbolic.value_and_grad")

    return _value_and_grad_named(f, argnums, has_aux, simplify, jit, expand, "symbolic.value_and_grad")


def _value_and_grad_named(f, argnums, has_aux, simplify, jit, expand, name):
    """:func:`value_and_grad`, its calls named ``name`` (``symbolic.grad`` for :func:`grad`)."""
    AL.check_expand(expand, "symbolic.grad")

    f_given = f

    @_api.transformation(f, name)
    def wrapped(*args, **kwargs):
        f_out, sel = _prepare(f_given, args, kwargs, argnums, "symbolic.grad")
        value, gradient = _value_and_grad(_without_aux(f_out, has_aux, "symbolic.grad"), args, sel)
        if has_aux:
            return (value, _aux_at(f_out, args, "symbolic.grad")), gradient
        return value, gradient

    def _value_and_grad(f, args, sel):
        run = _array_program(f, args, sel.argnums, "grad", expand, simplify, jit)
        if run is not None:
            results = run()
            return results[0], _unflatten_args(results[1:], args, sel.argnums, sel.is_tuple)

        def build(traced):
            _check_scalar(traced, "symbolic.grad")
            wrt = traced.wrt(sel.argnums)
            grads = D.reverse(traced.out_nodes, wrt)
            return traced.out_nodes + _shape_like(grads, wrt), traced.inputs, None

        fn, traced, _ = _compiled(f, "grad", args, sel, build, simplify, jit)
        results = fn(*_dynamic_values(args))
        value = _as_array(results[0])
        return value, _unflatten_args(results[1:], args, sel.argnums, sel.is_tuple)

    return wrapped


def grad(f: Callable, argnums=0, *, has_aux: bool = False, simplify: bool = False, jit: bool | None = None,
         expand: str = "auto", holomorphic: bool = False) -> Callable:
    """A function returning the gradient of scalar-valued ``f``; the options as :func:`value_and_grad`
    (with ``has_aux`` it returns ``(gradient, aux)``).

    Example:
        >>> grad(lambda x: dnp.sum(x ** 2))(jnp.arange(3.0))
        Array([0., 2., 4.], ...)
    """
    _api.refuse_holomorphic(holomorphic, "symbolic.grad")
    vg = _value_and_grad_named(f, argnums, has_aux, simplify, jit, expand, "symbolic.grad")
    return _api.gradient_of(f, vg, "symbolic.grad", has_aux)


def _outputs(traced: Traced, results, tangent: bool = False):
    """The output pytree of the program's ``results``, each leaf in the dtype ``f`` gave it (a comparison
    bool, a count int, a Python float JAX's float), as JAX returns it; a ``tangent`` of a bool or integer
    leaf is float0 zeros, JAX's tangent of a value that cannot vary."""
    arrays = []
    for leaf, result in zip(jax.tree_util.tree_leaves(traced.outputs), results):
        if is_engine_value(result):  # an outer trace's expression
            arrays.append(result)
            continue
        dtype = leaf.dtype if isinstance(leaf, SymArray) else jnp.result_type(leaf)
        if tangent and not jnp.issubdtype(dtype, jnp.inexact):
            arrays.append(np.zeros(np.shape(result), jax.dtypes.float0))
        else:
            arrays.append(jnp.asarray(result, dtype))
    return jax.tree_util.tree_unflatten(traced.out_tree, arrays)


def _array_program(f, args, argnums, kind, expand, simplify, jit, is_tuple=False):
    """The one "array, else scalar" decision of every method: the array level's ``run(*extra)`` for
    ``kind`` (see :func:`.array.program`), or None where the scalar path is used (``simplify``,
    symbolic over symbolic, a Hessian by a tuple of arguments, or what ``expand`` and ``f`` allow)."""
    AL.check_expand(expand, f"symbolic.{kind}")
    if simplify or _nested(args) or (kind == "hessian" and is_tuple):
        return None
    return AL.program(f, args, argnums, kind, expand, arg_names(f, len(args)), jit, _is_dynamic)


@_api.scoped("symbolic.jvp")
def jvp(f: Callable, primals, tangents, *, has_aux: bool = False, simplify: bool = False, jit: bool | None = None,
        expand: str = "auto"):
    """``(f(*primals), J·tangents)`` from the expression of the directional derivative: at array level
    (``expand``, see :func:`value_and_grad`) the VJP's expression transposed (it is linear in its
    cotangent), on scalar expansions by forward accumulation on the shared graph with symbolic tangents.
    With ``has_aux`` (``f`` returns ``(output, aux)``): ``(out, tangent_out, aux)``."""
    _api.check_tangents(primals, tangents, "symbolic.jvp")
    primals = tuple(primals)
    _api.check_differentiable(primals, "symbolic.jvp")
    result = _jvp(_without_aux(f, has_aux, "symbolic.jvp"), primals, tangents, simplify, jit, expand)
    return (*result, _aux_at(f, primals, "symbolic.jvp")) if has_aux else result


def _jvp(f, primals, tangents, simplify, jit, expand):
    run = _array_program(f, primals, tuple(range(len(primals))), "jvp", expand, simplify, jit)
    if run is not None:
        values = [jnp.asarray(p) for p in primals]
        out, tangent_out = run(*(jnp.asarray(t, v.dtype) for t, v in zip(tangents, values)))
        return out, tangent_out

    def build(traced):
        wrt = traced.wrt(range(len(primals)))
        dots = _prefixed(traced, "d", wrt)
        outs = D.forward(traced.out_nodes, wrt, dots)
        return traced.out_nodes + _shape_like(outs, traced.out_nodes), traced.inputs + dots, None

    fn, traced, _ = _compiled(f, "jvp", primals, None, build, simplify, jit)
    values = _dynamic_values(primals)
    tangent_values = [_as_array(t, v.dtype) for t, v in zip(jax.tree_util.tree_leaves(tuple(tangents)), values)]
    results = fn(*values, *tangent_values)
    k = len(traced.out_nodes)
    return _outputs(traced, results[:k]), _outputs(traced, results[k:], tangent=True)


@_api.scoped("symbolic.vjp")
def vjp(f: Callable, *primals, has_aux: bool = False, simplify: bool = False, jit: bool | None = None,
        expand: str = "auto"):
    """``(f(*primals), vjp_fn)``: ``vjp_fn(cotangent)`` evaluates the expression of
    Σ cotangent·f differentiated by reverse accumulation (symbolic cotangents; at array level
    where ``expand`` allows, see :func:`value_and_grad`). With ``has_aux`` (``f`` returns
    ``(output, aux)``): ``(out, vjp_fn, aux)``."""
    _api.check_differentiable(primals, "symbolic.vjp")
    result = _vjp(_without_aux(f, has_aux, "symbolic.vjp"), primals, simplify, jit, expand)
    return (*result, _aux_at(f, primals, "symbolic.vjp")) if has_aux else result


def _vjp(f, primals, simplify, jit, expand):
    run = _array_program(f, primals, tuple(range(len(primals))), "vjp", expand, simplify, jit)
    if run is not None:
        dtype = jnp.result_type(*primals)
        out = run(jnp.zeros(run.out_shape, dtype))[0]

        def array_vjp_fn(cotangent):
            _api.check_cotangent(out, cotangent, "symbolic.vjp")
            results = run(jnp.asarray(cotangent, dtype))
            return _unflatten_args(results[1:], primals, tuple(range(len(primals))), True)

        return out, array_vjp_fn

    def build(traced):
        wrt = traced.wrt(range(len(primals)))
        bars = _prefixed(traced, "ct", traced.out_nodes)
        grads = D.reverse(traced.out_nodes, wrt, seeds=bars)
        return traced.out_nodes + _shape_like(grads, wrt), traced.inputs + bars, None

    fn, traced, _ = _compiled(f, "vjp", primals, None, build, simplify, jit)
    values = _dynamic_values(primals)
    k = len(traced.out_nodes)
    zeros = [jnp.zeros(o.shape, traced.dtype) for o in traced.out_nodes]
    out = _outputs(traced, fn(*values, *zeros)[:k])

    def vjp_fn(cotangent):
        _api.check_cotangent(out, cotangent, "symbolic.vjp")
        # a float0 cotangent (JAX's, of a bool or integer output) is zeros
        cts = [jnp.zeros(np.shape(c), traced.dtype) if getattr(c, "dtype", None) == jax.dtypes.float0
               else _as_array(c, traced.dtype) for c in jax.tree_util.tree_leaves(cotangent)]
        results = fn(*values, *cts)
        return _unflatten_args(results[k:], primals, tuple(range(len(primals))), True)

    return out, vjp_fn


def jacobian(f: Callable, argnums=0, *, has_aux: bool = False, simplify: bool = False, jit: bool | None = None,
             expand: str = "auto", holomorphic: bool = False) -> Callable:
    """The full Jacobian as expressions, laid out as ``jax.jacobian`` lays it out: at array level
    (``expand``, see :func:`value_and_grad`) the VJP's expression with its cotangent replaced by the
    identity; on scalar expansions a reverse sweep per output, or a forward sweep per input when
    there are fewer inputs. With ``has_aux`` (``f`` returns ``(output, aux)``): ``(jacobian, aux)``."""
    _api.refuse_holomorphic(holomorphic, "symbolic.jacobian")
    AL.check_expand(expand, "symbolic.jacobian")

    f_given = f

    @_api.transformation(f, "symbolic.jacobian")
    def wrapped(*args, **kwargs):
        f_out, sel = _prepare(f_given, args, kwargs, argnums, "symbolic.jacobian")
        jac = _jacobian(_without_aux(f_out, has_aux, "symbolic.jacobian"), args, sel)
        return (jac, _aux_at(f_out, args, "symbolic.jacobian")) if has_aux else jac

    def _jacobian(f, args, sel):
        run = _array_program(f, args, sel.argnums, "jacobian", expand, simplify, jit)
        if run is not None:
            return _unflatten_args(run()[1:], args, sel.argnums, sel.is_tuple)

        def build(traced):
            rows = D.jacobian(traced.out_nodes, traced.wrt(sel.argnums))
            n = sum(a.size for a in traced.wrt(sel.argnums))
            jac = np.empty((len(rows), n), object)
            for i, row in enumerate(rows):
                for j, node in enumerate(row):
                    jac[i, j] = node
            return traced.out_nodes + [jac], traced.inputs, None

        fn, traced, _ = _compiled(f, "jacobian", args, sel, build, simplify, jit)
        results = fn(*_dynamic_values(args))
        out = _outputs(traced, results[:-1])
        return _api.layout_jacobian(results[-1], out, sel.pick(args))

    return wrapped


def hessian(f: Callable, argnums=0, *, has_aux: bool = False, simplify: bool = False, jit: bool | None = None,
            expand: str = "auto", holomorphic: bool = False) -> Callable:
    """The Hessian: the gradient's expression differentiated again (reverse over reverse, symbolically).
    For a vector-valued ``f`` it is the Jacobian of the Jacobian (shape ``out + in + in``), as ``jax.hessian``.
    At array level (``expand``, see :func:`value_and_grad`) the Hessian of xᵀAx is the expression A + Aᵀ.
    With ``has_aux`` (``f`` returns ``(output, aux)``): ``(hessian, aux)``."""
    _api.refuse_holomorphic(holomorphic, "symbolic.hessian")
    AL.check_expand(expand, "symbolic.hessian")

    f_given = f

    @_api.transformation(f, "symbolic.hessian")
    def wrapped(*args, **kwargs):
        f_out, sel = _prepare(f_given, args, kwargs, argnums, "symbolic.hessian")
        hess = _hessian(_without_aux(f_out, has_aux, "symbolic.hessian"), args, sel)
        return (hess, _aux_at(f_out, args, "symbolic.hessian")) if has_aux else hess

    def _hessian(f, args, sel):
        run = _array_program(f, args, sel.argnums, "hessian", expand, simplify, jit, sel.is_tuple)
        if run is not None:
            return run()[0]

        def build(traced):
            wrt = traced.wrt(sel.argnums)
            variables_ = flat_nodes(wrt)
            grads = [D.reverse([o], variables_) for o in flat_nodes(traced.out_nodes)]
            # rows in the leaf order of jacobian(jacobian(f)): output leaf, input leaf, then their elements
            rows, out_start = [], 0
            for out in traced.out_nodes:
                in_start = 0
                for w in wrt:
                    rows.extend(grads[i][j] for i in range(out_start, out_start + out.size)
                                for j in range(in_start, in_start + w.size))
                    in_start += w.size
                out_start += out.size
            hess = np.empty((len(rows), len(variables_)), object)
            for i, row in enumerate(D.jacobian(rows, variables_)):
                hess[i, :] = row
            return [hess], traced.inputs, None

        fn, traced, _ = _compiled(f, "hessian", args, sel, build, simplify, jit)
        (hess,) = fn(*_dynamic_values(args))
        example = sel.pick(args)
        out_example = traced.out_example()
        n = sum(int(np.prod(np.shape(leaf))) for leaf in jax.tree_util.tree_leaves(example))
        m = sum(int(np.prod(np.shape(leaf))) for leaf in jax.tree_util.tree_leaves(out_example))
        jacobian_example = _api.layout_jacobian(np.zeros((m, n)), out_example, example)
        return _api.layout_jacobian(hess, jacobian_example, example)

    return wrapped


def sizes(f: Callable, *args, argnums=None) -> dict:
    """Expression swell, measured: the function and its derivative, each way.

    Arguments:
        f: a scalar-valued function written with ``dnp``; args: where to trace it (shapes matter).
        argnums: the arguments to differentiate (default: all).
    Returns:
        ``{"function": Size, "naive": Size or None, "reverse": Size, "reverse simplified": Size}``:
        the gradient by naive tree differentiation (None when the tree is too big to walk), by
        reverse accumulation on the shared graph, and that simplified. Each :class:`~.measure.Size`
        has the tree size (before CSE), graph size (after CSE), depth and counts by kind.
    Example:
        >>> sizes(lambda x: 4 * x * (1 - x), 0.3)["reverse"].graph
        4
    """
    from .measure import measure

    traced = trace(f, *args)
    _check_scalar(traced, "symbolic.sizes")
    wrt = traced.wrt(range(len(args)) if argnums is None else np.atleast_1d(argnums).tolist())
    variables = flat_nodes(wrt)
    output = traced.out_nodes[0][()]
    rev = D.reverse([output], variables)
    naive = None
    if len(variables) * D.naive_visits(output) <= 1_000_000:
        naive = measure([D.naive(output, v) for v in variables])
    return {"function": measure([output]), "naive": naive, "reverse": measure(rev),
            "reverse simplified": measure(_simplify(rev))}
