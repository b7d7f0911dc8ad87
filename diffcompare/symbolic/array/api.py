"""The array level's side of the method interface: the derivative expressions of a function of arrays
traced as array expressions (``grad``, ``hessian``, ``vjp``, ``jvp``, ``jacobian``), compiled to one
``jax.numpy`` program, and the formulas a course prints (``∂L/∂W1 = (W2ᵀ δ₂ ⊙ tanh′(W1 x)) xᵀ``).

Chosen per call by ``expand=``: ``"array"`` (refuse what has no array rule), ``"scalar"``
(scalar expansion, what the swell experiments measure) or ``"auto"`` (array level where
every operation has an array rule and each differentiated argument is one array, scalar
expansion otherwise). Like the scalar path, ``f`` is traced at every call; the compiled
program is cached by the structure of the expressions, with constant arrays (data, a
global mini-batch) passed in as inputs, so new data reuses it and is read now.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ... import _api
from ...errors import ConcretizationError, InvalidOptionError, UnsupportedOperationError
from .. import cache
from ..graph import topological
from ..text import latex_name
from ..trace import arg_names
from .compile import compile_jax, size, structure
from .differentiate import batch_identity, reverse
from .nodes import ANode, add, mul, reduce_sum, reshape, transpose, var
from .simplify import simplify, simplify_all
from .text import equations, shared_names
from .trace import trace

EXPAND = ("auto", "array", "scalar")


def check_expand(expand: str, fname: str) -> None:
    if expand not in EXPAND:
        raise InvalidOptionError(f"{fname}: expand must be one of {EXPAND}, got {expand!r}")


def _refuse(expand, fname, reason):
    if expand == "array":
        raise UnsupportedOperationError(fname, "symbolic (array level)", f"{reason}; use expand='scalar'")
    return None


def program(f, args, argnums, kind: str, expand: str, names, jit, is_dynamic):
    """``run(*extra)`` evaluating the array-level expressions of ``kind`` at ``args`` (see
    :func:`expressions`; ``extra``: the cotangent of ``"vjp"``, the tangents of ``"jvp"``), or None
    where ``expand="auto"`` and the array level does not apply."""
    fname = f"symbolic.{kind}"
    if expand == "scalar":
        return None
    if not all(is_dynamic(a) for a in args):  # pytrees and integers keep the scalar path
        return _refuse(expand, fname, "every argument must be one floating-point array or float")
    if kind == "hessian" and (len(argnums) != 1 or np.ndim(args[argnums[0]]) != 1):
        return _refuse(expand, fname, "the array-level Hessian takes one 1-d argument")
    try:
        out, variables = trace(f, names, args)
    except (UnsupportedOperationError, ConcretizationError):  # the scalar path may still express it
        if expand == "array":
            raise
        return None
    if kind in ("jvp", "vjp") and out.op == "const" and expand == "auto":
        return None  # f ignores its input: the scalar path returns the output in the dtype f gave it
    if kind == "hessian" and out.shape != ():  # a vector-valued f: the scalar path's Jacobian of the Jacobian
        return _refuse(expand, fname, "the array-level Hessian takes a scalar-valued function")
    if kind in ("grad", "hessian") and out.shape != ():
        _api.check_scalar_output(np.zeros(out.shape), fname)
    # f was traced just now (it reads its globals now); the derivative program is cached by the
    # structure of f's expressions, with its constant arrays passed in: tracing a handful of
    # array nodes is cheap, differentiating and compiling them is not
    shape_key, consts = structure([out], variables)
    key = ("array", kind, shape_key, tuple(argnums), jit, bool(jax.config.jax_enable_x64))
    try:
        compiled, sources = cache.remember(
            key, lambda: _build(out, [variables[i] for i in argnums], variables, consts, kind, jit))
    except UnsupportedOperationError:  # e.g. a Hessian through a stack of matrix products
        if expand == "array":
            raise
        return None
    values = [a if isinstance(a, jax.Array) else jnp.asarray(a) for a in args]
    constant_values = [consts[s].value if isinstance(s, int) else s[0] for s in sources]

    def run(*extra):
        return compiled(*values, *extra, *constant_values)

    run.out_shape = out.shape
    return run


def _build(out, wrt, variables, consts, kind, jit):
    """``(program, sources)``: the compiled derivative, and where each of its constant inputs comes
    from (an index into f's constant arrays, or a 1-tuple holding an array the derivative made)."""
    outputs, extra = expressions(out, wrt, kind, with_inputs=True)
    run, used = compile_jax(outputs, list(variables) + extra)
    index = {c.serial: i for i, c in enumerate(consts)}
    sources = [index[c.serial] if c.serial in index else (c.value,) for c in used]
    return (jax.jit(run) if cache.use_jit(size(outputs), jit) else run), sources


def _fresh(name: str, shape) -> ANode:
    # not a Python identifier, so never one of f's parameters
    return var(f"⟨{name}⟩", shape)


def expressions(out, wrt, kind: str, with_inputs: bool = False):
    """The array expressions of ``kind``: ``"grad"``: ``[value, gradients...]``; ``"hessian"``:
    ``[hessian]``; ``"vjp"``: ``[value, cotangents...]`` for a cotangent variable; ``"jvp"``:
    ``[value, tangent of the output]`` for tangent variables (one per ``wrt``), by transposing the
    VJP, which is linear in its cotangent; ``"jacobian"``: ``[value, jacobians...]`` shaped
    ``out.shape + w.shape``, the VJP with its cotangent replaced by the identity. With
    ``with_inputs``, also the list of variables the expressions add (the program's extra inputs)."""
    extra = []
    if kind == "grad":
        outputs = [out] + reverse(out, wrt)
    elif kind == "hessian":
        (x,) = wrt
        u = _fresh("u", x.shape)  # the cotangent of the gradient: a Hessian-vector product in u
        (hvp,) = reverse(reverse(out, wrt)[0], [x], seed=u)
        outputs = batch_identity([hvp], u)
    elif kind == "vjp":
        extra = [_fresh("ct", out.shape)]
        outputs = [out] + reverse(out, wrt, seed=extra[0])
    elif kind == "jvp":
        u = _fresh("u", out.shape)
        extra = [_fresh(f"t{i}", w.shape) for i, w in enumerate(wrt)]
        pairing = None
        for g, t in zip(reverse(out, wrt, seed=u), extra):
            term = reduce_sum(mul(g, t), tuple(range(g.ndim)))
            pairing = term if pairing is None else add(pairing, term)
        outputs = [out] + reverse(pairing, [u])
    else:  # jacobian
        size = int(np.prod(out.shape, dtype=int))
        u = _fresh("u", (size,))
        columns = batch_identity(reverse(out, wrt, seed=reshape(u, out.shape)), u)
        outputs = [out] + [reshape(transpose(c, (c.ndim - 1,) + tuple(range(c.ndim - 1))), out.shape + w.shape)
                           for c, w in zip(columns, wrt)]
    return (outputs, extra) if with_inputs else outputs


def gradient_expression(f, *args, argnums: int = 0):
    """The array expression of the gradient of ``f`` by argument ``argnums`` (print it with
    :func:`.text.to_text` or ``to_latex``): e.g. ``Aᵀ @ x + A @ x`` for xᵀAx."""
    out, variables = trace(f, _names(f, args), args)
    return simplify(reverse(out, [variables[argnums]])[0])


def hessian_expression(f, *args, argnums: int = 0):
    """The array expression of the Hessian of ``f`` by its 1-d argument ``argnums``: ``A + Aᵀ`` for xᵀAx."""
    out, variables = trace(f, _names(f, args), args)
    return simplify(expressions(out, [variables[argnums]], "hessian")[0])


def vjp_expression(f, *args, argnums: int = 0, cotangent: str = "u"):
    """The array expression of the VJP of ``f`` by argument ``argnums`` with a symbolic cotangent
    named ``cotangent``: ``u xᵀ`` for a linear layer ``W @ x``."""
    out, variables = trace(f, _names(f, args), args)
    return simplify(reverse(out, [variables[argnums]], seed=var(cotangent, out.shape))[0])


def _names(f, args):
    return arg_names(f, len(args))


def gradient_formulas(f, *args, argnums=0, latex: bool = False, loss: str = "L") -> list[str]:
    """The gradient of ``f`` by the argument(s) ``argnums`` as the lines a course writes: the
    backpropagated errors that several formulas share named first (δₖ, the cotangent of the k-th
    matrix product), then ``∂L/∂W = ...``. For ½‖W₂ tanh(W₁x) − y‖²::

        δ₂ = W2 tanh(W1 x) - y
        ∂L/∂W1 = (W2ᵀ δ₂ ⊙ tanh′(W1 x)) xᵀ
        ∂L/∂W2 = δ₂ tanh(W1 x)ᵀ
    """
    out, variables = trace(f, _names(f, args), args)
    wrt = [variables[i] for i in np.atleast_1d(argnums).tolist()]
    adjoints: dict = {}
    grads, new = simplify_all(reverse(out, wrt, adjoints=adjoints))
    products = [n for n in topological([out]) if n.op == "matmul"]
    errors = [(k, new[adjoints[n.serial].serial]) for k, n in enumerate(products, 1)
              if n.serial in adjoints and adjoints[n.serial].serial in new]
    names = shared_names(grads, errors)
    labels = [(rf"\frac{{\partial {loss}}}{{\partial {latex_name(v.value)}}}" if latex
               else f"∂{loss}/∂{v.value}") for v in wrt]
    return equations(list(zip(labels, grads)), names, latex)


def hessian_formulas(f, *args, argnums: int = 0, latex: bool = False) -> list[str]:
    """The Hessian of ``f`` by its 1-d argument ``argnums``, with a sigmoid it uses twice named σ:
    ``["σ = sigmoid(X w)", "H = Xᵀ diag(σ ⊙ (1 - σ)) X"]`` for logistic regression."""
    hess = hessian_expression(f, *args, argnums=argnums)
    return equations([("H", hess)], shared_names([hess]), latex)


def hvp_expression(f, *args, argnums: int = 0, vector: str = "v"):
    """The array expression of the Hessian-vector product of scalar-valued ``f`` by argument
    ``argnums`` along a variable named ``vector`` (the gradient's VJP): ``A v + Aᵀ v`` for xᵀAx."""
    out, variables = trace(f, _names(f, args), args)
    x = variables[argnums]
    (grad,) = reverse(out, [x])
    return simplify(reverse(grad, [x], seed=var(vector, x.shape))[0])


def evaluate(expression, **values):
    """The value of an array expression with its variables given by name (``x=..., v=...``)."""
    variables = [n for n in topological([expression]) if n.op == "var"]
    missing = sorted(v.value for v in variables if v.value not in values)
    if missing:
        raise InvalidOptionError(f"evaluate: give a value for each variable; missing {missing}")
    run, consts = compile_jax([expression], variables)
    return run(*(values[v.value] for v in variables), *(c.value for c in consts))[0]
