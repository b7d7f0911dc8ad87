"""Staged eager derivatives: trace abstractly on every call, run one compiled program.

An eager engine applies one JAX operation per primitive: each costs a JAX
dispatch (4-10 µs), so on small problems the dispatches, not the arithmetic,
set the time. Staging keeps the engine's own forward and backward sweeps and
only changes how they are executed:

1. On every call, ``f`` runs on *abstract* values (:class:`Abstract`: a shape,
   a dtype and a place in the recording, no numbers). Each primitive applied
   to them is recorded: its name, its operands (an earlier abstract value, a
   constant, or a Python int, which is kept as it is), and its parameters. No
   JAX operation runs per primitive (the output shape comes from a cache
   keyed by the primitive, the operands' shapes and dtypes and the parameters).
   Because ``f`` runs on every call, every global, closure, attribute and
   default argument is read as it is *now*.
2. The recording's *structure* (primitives, parameters, shapes, dtypes,
   wiring) keys a ``jax.jit`` compiled program; the recording's constants
   (arrays and Python floats ``f`` read) are inputs of that program, never
   baked into it. So a cached program is never stale: a changed closure either
   changes the structure (a new program) or is passed in as a new input.
3. The program is the engine's own method body (the reverse engine's tape and
   backward sweep, the forward engine's dual-number pass) run on a *replay*
   of the recording: the same primitives in the same order, applied with
   ``dnp``'s dispatch, so the engine's hand-written rules do the work. One
   compiled call replaces hundreds of dispatches.

Where ``f`` needs a concrete value (``if`` on a value, ``int()``, a
comparison, a NumPy function) or does anything the recording cannot express
(another engine's value, a user primitive, an error), :func:`stage` returns
:data:`FALLBACK` and the caller runs its op-by-op path, which gives the same
answer (or the same error) as it always has. Nothing is remembered from a
fallback. (``f`` then runs twice in that call: once abstractly up to the
point where the value was needed, once for real.)

A structure's first call traces and compiles (tens to hundreds of
milliseconds); later calls of the same structure run the kept program
(:data:`COMPILE_AFTER` can defer compiling to a structure's second call).

Comparisons are recorded too (``dnp.where(x > 0, ...)`` stages): their result
is a condition the replay computes from the engine's concrete values, as the
op-by-op path does; ``bool()`` on it still needs a value.

Staging is skipped, and the op-by-op path runs, when the inputs or the
tangents are JAX tracers (under ``jax.jit``/``jax.vmap`` the engine is traced
op by op anyway) or another engine's values (nesting), when
:func:`disabled` is active, and when a method is called with ``staged=False``
(for inspecting the tape: the op-by-op path is the teaching view).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Callable

import jax
import numpy as np

from ._core import ArrayImpl, EngineValue, Trace, bind, concrete
from .primitives import PRIMITIVES, Primitive

#: what :func:`stage` returns when the call must run op by op
FALLBACK = object()
#: compiled programs kept (least recently used dropped first)
MAX_PROGRAMS = 256
#: how many calls of one structure run op by op before it is compiled. 0 (the default): every call
#: of a stageable function is staged, so repeated calls give the same bits and ``f`` runs once per
#: call; 1 would spare a function differentiated only once its compilation (tens of milliseconds),
#: at the price of a first call that differs from the later ones by rounding
COMPILE_AFTER = 0
#: recordings longer than this run op by op: compiling them (an unrolled Hessian, a long loop) could
#: cost more than the dispatches it saves
MAX_OPS = 2000
#: output shapes of primitives kept (cleared when full)
MAX_SHAPES = 20000

_ENABLED = [True]


@contextlib.contextmanager
def disabled():
    """Run every method op by op inside this block (as ``staged=False`` does for one method)."""
    saved = _ENABLED[0]
    _ENABLED[0] = False
    try:
        yield
    finally:
        _ENABLED[0] = saved


def enabled() -> bool:
    return _ENABLED[0]


class _Unstageable(BaseException):  # noqa: N818 - a signal, not an error: never reaches the user
    """Raised inside ``f`` when it needs what an abstract value cannot give. A BaseException, so a
    user's ``except Exception`` cannot swallow it (and the trace is marked failed anyway)."""


class Abstract(EngineValue):
    """A value of the abstract recording: shape, dtype, weak type and its place (``ref``)."""

    __slots__ = ("ref", "aval")

    def __init__(self, trace: StagingTrace, ref: int, aval: tuple):
        self._trace = trace
        self.ref = ref
        self.aval = aval  # (shape, dtype, weak_type)

    @property
    def shape(self):
        return self.aval[0]

    @property
    def dtype(self):
        return self.aval[1]

    def __repr__(self):
        return f"Abstract(#{self.ref}, shape={self.aval[0]}, dtype={self.aval[1]})"


class StagingTrace(Trace):
    """One abstract recording of ``f`` for the engine ``engine`` (whose rule table says what it can do).

    Its messages (``float()`` on a value, NumPy on a value) name the engine being staged, so a user
    sees what the op-by-op path says.
    """

    #: code that branches on the kind of trace (checkpoint, from_jax's custom rules) asks for this and
    #: calls :meth:`fail`: only the op-by-op engine can apply what it does
    staging = True

    def __init__(self, engine: str, rules: dict, n_inputs: int):
        super().__init__()
        self.engine = engine
        self.owner_rules = rules
        self.n_inputs = n_inputs
        self.ops: list[tuple] = []  # (primitive name, operand refs, frozen params): the structure
        self.params: list[dict] = []  # the params themselves, for the replay
        self.consts: list = []  # constants read by f: inputs of the program
        self.const_avals: list = []
        self._const_ids: dict[int, int] = {}
        self.failed: str | None = None
        self.x64 = _X64()  # dtypes (and so shapes' cache entries and programs) depend on it

    def fail(self, why: str):
        self.failed = why
        raise _Unstageable(why)

    def process(self, prim, operands, params):
        if prim.name not in self.owner_rules:
            self.fail(f"{prim.name} has no rule")  # the op-by-op path refuses it with the engine's message
        return self.record(prim, operands[0] if prim.variadic else operands, params)

    def compare(self, name: str, x1, x2):
        """``x1 < x2`` and the other comparisons (``dnp``'s hook for engines that keep conditions):
        recorded, so ``dnp.where(x > 0, ...)`` stages; ``if`` on the result still needs a value."""
        return self.record(_COMPARISONS[name], (x1, x2), {})

    def record(self, prim, args, params):
        refs, avals = [], []
        for x in args:
            if type(x) is Abstract:
                if x._trace is not self:
                    self.fail("a value of another recording")
                refs.append(x.ref)
                avals.append(x.aval)
            else:
                ref, aval = self.constant(x)
                refs.append(ref)
                avals.append(aval)
        frozen = _freeze_params(params, self) if params else ()
        refs, avals = tuple(refs), tuple(avals)
        key = (prim.name, avals, frozen, self.x64)
        aval = _SHAPES.get(key)
        if aval is None:
            aval = _out_aval(prim, refs, avals, params)
            if len(_SHAPES) >= MAX_SHAPES:
                _SHAPES.clear()
            _SHAPES[key] = aval
        if len(self.ops) >= MAX_OPS:
            self.fail(f"more than {MAX_OPS} primitives")
        ref = self.n_inputs + len(self.ops)
        self.ops.append((prim.name, refs, frozen))
        self.params.append(params)
        return Abstract(self, ref, aval)

    def constant(self, x):
        """(ref, aval) of a constant operand: a Python int or bool is kept in the structure as it is
        (an exponent, a count); arrays and Python floats become inputs of the program."""
        t = type(x)
        if t is int or t is bool:
            static = ("static", t, x)
            return static, static
        j = self._const_ids.get(id(x))
        if j is not None:
            return -j - 1, self.const_avals[j]
        if t is ArrayImpl:
            aval = (x.shape, x.dtype, x.weak_type)
        elif t is float or t is complex:
            aval = ("python", t)
        elif isinstance(x, (np.ndarray, np.generic)) and x.dtype.kind in "biufc":
            aval = (x.shape, jax.dtypes.canonicalize_dtype(x.dtype), False)
        else:  # a tracer, another engine's value, a list: the op-by-op path knows what to do
            self.fail(f"a constant of type {t.__name__}")
        j = len(self.consts)
        self.consts.append(x)
        self.const_avals.append(aval)
        self._const_ids[id(x)] = j
        return -j - 1, aval

    def process_user_primitive(self, prim, args):
        self.fail(f"the user primitive {prim.name}")

    def concrete(self, value):
        self.fail("a concrete value")  # if/while on a value, int(), a comparison: op by op


def _compared(name, jax_fn):
    """A comparison of the values an engine's operands stand for, as ``dnp``'s comparisons do."""

    def impl(x1, x2):
        return jax_fn(concrete(x1), concrete(x2))

    return Primitive(name, "comparison", impl)


# comparisons are no primitives (they are not differentiated): the replay applies them to concrete values
_COMPARISONS = {name: _compared(name, getattr(jax.numpy, name))
                for name in ("less", "less_equal", "greater", "greater_equal", "equal", "not_equal")}


def _X64() -> bool:
    return bool(jax.config.jax_enable_x64)


_SHAPES: dict = {}


def _spec(aval):
    if aval[0] == "python":
        return aval[1](1)  # a Python float or complex: its value does not change the output's shape or dtype
    return jax.ShapeDtypeStruct(aval[0], aval[1], weak_type=aval[2])


def _out_aval(prim, refs, avals, params) -> tuple:
    """The (shape, dtype, weak_type) ``prim`` gives for these operands (``jax.eval_shape``, once per key)."""
    dynamic = [i for i, a in enumerate(avals) if a[0] != "static"]

    def apply(*values):
        operands = [a[2] if a[0] == "static" else None for a in avals]
        for i, v in zip(dynamic, values):
            operands[i] = v
        return prim.impl(operands, **params) if prim.variadic else prim.impl(*operands, **params)

    out = jax.eval_shape(apply, *[_spec(avals[i]) for i in dynamic])
    if not isinstance(out, jax.ShapeDtypeStruct):
        raise _Unstageable(f"{prim.name} returned {type(out).__name__}")
    return tuple(out.shape), out.dtype, bool(getattr(out, "weak_type", False))


def _freeze_params(params: dict, trace: StagingTrace) -> tuple:
    return tuple((k, _freeze(v, trace)) for k, v in params.items())


def _freeze(v, trace):
    """A hashable form of a parameter that two parameters share only if they mean the same
    (``True`` and ``1`` differ as indices, so types are kept; slices are spelled out)."""
    t = type(v)
    if t is int or t is str or v is None or v is Ellipsis:
        return v
    if t is tuple:
        return tuple(_freeze(x, trace) for x in v)
    if t is bool or t is float or t is complex:
        return (t.__name__, v)
    if t is slice:
        return ("slice", _freeze(v.start, trace), _freeze(v.stop, trace), _freeze(v.step, trace))
    if t is list:
        return ("list", tuple(_freeze(x, trace) for x in v))
    if isinstance(v, np.integer):
        return int(v)
    if t is ArrayImpl or isinstance(v, np.ndarray):  # an index array: kept in the structure, by value
        a = np.asarray(v)
        return ("array", a.shape, a.dtype, a.tobytes())
    try:  # a dtype, however it is spelled (np.float32, jnp.float32, np.dtype("float32"), float)
        return ("dtype", np.dtype(v))
    except TypeError:
        trace.fail(f"a parameter of type {t.__name__}")


def _input_aval(leaf):
    t = type(leaf)
    if t is ArrayImpl:
        return leaf.shape, leaf.dtype, leaf.weak_type
    if t is float or t is complex:
        return (), jax.dtypes.canonicalize_dtype(np.dtype(t)), True
    if isinstance(leaf, (np.ndarray, np.generic)) and leaf.dtype.kind in "fc":
        return leaf.shape, jax.dtypes.canonicalize_dtype(leaf.dtype), False
    return None  # a tracer, another engine's value: op by op


@dataclasses.dataclass(frozen=True, eq=False)
class Program:
    """A recording, replayable on any values: what a compiled program runs."""

    in_tree: object
    extra_tree: object
    ops: tuple
    params: tuple
    out_tree: object
    out_refs: tuple

    def replay(self, consts) -> Callable:
        """``diff -> out``: the recorded primitives applied, in order, to ``diff``'s leaves with
        ``dnp``'s dispatch (so an engine's values get that engine's rules)."""

        def value(env, ref):
            if type(ref) is int:
                return env[ref] if ref >= 0 else consts[-ref - 1]
            return ref[2]  # a Python int kept in the structure

        def fun(diff):
            env = list(self.in_tree.flatten_up_to(diff))
            for (name, refs, _), params in zip(self.ops, self.params):
                args = [value(env, r) for r in refs]
                prim = PRIMITIVES.get(name)
                if prim is None:  # a comparison: on the concrete values
                    env.append(_COMPARISONS[name].impl(*args))
                else:
                    env.append(bind(prim, args, **params) if prim.variadic else bind(prim, *args, **params))
            return self.out_tree.unflatten([value(env, r) for r in self.out_refs])

        return fun


_PROGRAMS: OrderedDict = OrderedDict()
#: how many programs were compiled, and how many calls ran staged / fell back (for tests and the bench)
COUNTS = {"compiled": 0, "staged": 0, "fallback": 0, "first": 0}
_SEEN: dict = {}  # structure -> calls run op by op so far (before it is compiled)


def _run(body, static, program, leaves, extra, consts):
    diff = program.in_tree.unflatten(leaves)
    return body(program.replay(consts), diff, program.extra_tree.unflatten(extra), *static)


_NO_EXTRA = jax.tree_util.tree_structure(None)
#: why the last call that fell back ran op by op (for the curious and the tests)
LAST_FALLBACK = [""]


def _fall_back(why: str):
    COUNTS["fallback"] += 1
    LAST_FALLBACK[0] = why
    return FALLBACK


def stage(body: Callable, fun: Callable, diff, engine: str, rules: dict, static: tuple = (), extra=None):
    """``body(fun, diff, extra, *static)`` as one compiled program, or :data:`FALLBACK`.

    Arguments:
        body: a module-level function (part of the cache key) that runs an engine's method on
            ``fun`` (a replay of ``f``), the differentiated pytree ``diff`` and ``extra``
            (e.g. tangents), and returns a pytree of arrays.
        fun: ``f`` as a function of ``diff`` alone; it is traced abstractly on every call.
        engine, rules: the staged engine's name and rule table (an operation without a rule
            falls back, so the op-by-op path refuses it with its own message).
        static: hashable options of ``body`` (part of the key).
        extra: a pytree of concrete arrays passed to the program as they are.
    """
    if not _ENABLED[0]:
        return FALLBACK
    leaves, in_tree = jax.tree_util.tree_flatten(diff)
    extra_leaves, extra_tree = ([], _NO_EXTRA) if extra is None else jax.tree_util.tree_flatten(extra)
    in_avals = [_input_aval(leaf) for leaf in leaves]
    extra_avals = [_input_aval(leaf) for leaf in extra_leaves]
    if None in in_avals or None in extra_avals:  # a tracer or another engine's value: op by op
        return FALLBACK
    trace = StagingTrace(engine, rules, len(leaves))
    abstract = [Abstract(trace, i, aval) for i, aval in enumerate(in_avals)]
    try:
        out = fun(in_tree.unflatten(abstract))
        out_leaves, out_tree = jax.tree_util.tree_flatten(out)
        out_refs = []
        for v in out_leaves:
            if type(v) is Abstract and v._trace is trace:
                out_refs.append(v.ref)
            elif isinstance(v, EngineValue):
                trace.fail("an output of another engine")
            else:
                out_refs.append(trace.constant(v)[0])
    except (_Unstageable, Exception) as err:
        return _fall_back(trace.failed or f"{type(err).__name__}: {err}")  # op by op: its answer or its error
    if trace.failed:  # f caught our signal itself: its answer may differ from the op-by-op path's
        return _fall_back(trace.failed)
    key = (body, static, trace.x64, in_tree, tuple(in_avals), extra_tree, tuple(extra_avals), tuple(trace.ops),
           tuple(trace.const_avals), out_tree, tuple(out_refs))
    compiled = _PROGRAMS.get(key)
    if compiled is None:
        seen = _SEEN.get(key, 0)
        if seen < COMPILE_AFTER:  # not worth compiling yet: op by op, as a one-off call always ran
            if len(_SEEN) >= MAX_SHAPES:
                _SEEN.clear()
            _SEEN[key] = seen + 1
            COUNTS["first"] += 1
            return FALLBACK
        _SEEN.pop(key, None)
        program = Program(in_tree, extra_tree, tuple(trace.ops), tuple(trace.params), out_tree, tuple(out_refs))
        compiled = jax.jit(functools.partial(_run, body, static, program))
        COUNTS["compiled"] += 1
        _PROGRAMS[key] = compiled
        if len(_PROGRAMS) > MAX_PROGRAMS:
            _PROGRAMS.popitem(last=False)
    else:
        _PROGRAMS.move_to_end(key)
    COUNTS["staged"] += 1
    return compiled(leaves, extra_leaves, trace.consts)


def clear() -> None:
    """Forget every compiled program and cached shape (the next calls compile afresh)."""
    _PROGRAMS.clear()
    _SHAPES.clear()
    _SEEN.clear()
