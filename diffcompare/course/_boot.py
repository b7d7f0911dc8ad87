"""The first code that runs in a submission's sandbox, before any of the student's: arm the guard, then serve.

``python -I -c "...; _boot.main()" ROOT REQUEST_FD REPLY_FD CONFIG_JSON``. ``CONFIG_JSON`` is
``{"forbid": [...], "allow": [...]}`` (empty forbid: nothing is switched off). With a forbid list:

1. everything the kernel and the grader's calls need is imported first (JAX, diffcompare's engines,
   IPython), so no grader module is ever loaded after student code has run;
2. every forbidden function's code is swapped for a tripwire for good (:func:`shortcuts.arm`); the
   original code is dropped, so no cell can put it back; ``jax.linear_transpose`` keeps working
   for JAX's own ``jnp.linalg.solve``/``inv`` and refuses the student's calls (an audit check of
   who called it);
3. an audit hook (``sys.addaudithook``: nothing can remove it) refuses what would get the machinery
   back or run it elsewhere: importing SymPy, PyTorch, numdifftools, autograd, ``jax.experimental.jet``
   (absent from the sandbox in effect); opening the source of a module whose code was swapped (no
   reload, no re-import, no recompiling it); building code objects (``code.replace``),
   assigning ``__code__``; starting programs (``subprocess``, ``os.system``, ``exec*``, ``posix_spawn``);
   ``ctypes``; walking the heap (``gc.get_objects`` ...); ``/proc/*/mem``.

Whatever a cell does, a forbidden derivative raises when reached: while the cells run (a
``jax.jit(jax.grad(f))`` compiled at cell time fails there) and while the grader calls.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import sys
import textwrap
import warnings

_REFUSED_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.startfile",
                   "pty.spawn", "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.addressof",
                   "ctypes.string_at", "ctypes.wstring_at", "ctypes.call_function", "code.__new__", "gc.get_objects",
                   "gc.get_referrers", "gc.get_referents", "sys._current_frames",
                   "cpython.remote_debugger_script", "os.memfd_create")


def _preload() -> None:
    import IPython.core.interactiveshell  # noqa: F401
    import jax
    import jax.numpy  # noqa: F401
    import jax.scipy  # noqa: F401
    import numpy  # noqa: F401

    import diffcompare
    import diffcompare.course._kernel  # noqa: F401
    import diffcompare.course._wire  # noqa: F401
    import diffcompare.finite_diff.complex_step  # noqa: F401
    import diffcompare.finite_diff.differences  # noqa: F401
    import diffcompare.finite_diff.richardson  # noqa: F401
    import diffcompare.forward  # noqa: F401
    import diffcompare.jax_ref  # noqa: F401
    import diffcompare.numpy  # noqa: F401
    import diffcompare.reverse  # noqa: F401
    import diffcompare.symbolic  # noqa: F401

    jax.config.update("jax_enable_x64", True)  # as every notebook of the course does in its first cell


def _gated_code(fn, event: str):
    """``fn``'s own code with ``sys.audit(event)`` as its first statement (the audit hook decides)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    node = tree.body[0]
    node.decorator_list = []
    call = ast.parse(f"'@audit'({event!r})").body[0]
    node.body.insert(0, call)
    ast.fix_missing_locations(tree)
    namespace: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        exec(compile(tree, inspect.getsourcefile(fn) or "<gated>", "exec"), fn.__globals__.copy(), namespace)
    code = namespace[node.name].__code__
    if code.co_freevars != fn.__code__.co_freevars:
        raise RuntimeError(f"cannot gate {fn.__qualname__}")
    return code.replace(co_consts=tuple(sys.audit if c == "@audit" else c for c in code.co_consts))


#: JAX's own code that transposes JAX's own linear functions (``jnp.linalg.solve``, ``inv``, ``jax.scipy.linalg``)
_LINALG = (os.path.join("_src", "numpy", "linalg.py"), os.path.join("_src", "lax", "linalg.py"),
           os.path.join("_src", "scipy", ""))


def _called_by_jax_itself(frame, jax_dir: str) -> bool:
    """True if, between the gated function and the nearest frame outside JAX, JAX's linear algebra called."""
    while frame is not None and frame.f_code.co_filename.startswith(jax_dir):
        inside = frame.f_code.co_filename[len(jax_dir):].lstrip(os.sep)
        if inside.startswith(_LINALG):
            return True
        frame = frame.f_back
    return False


class _GatedRules(dict):
    """JAX's table of derivative rules, each lookup asked of the audit hook (JAX's own linear algebra only)."""

    event = "diffcompare.gate"

    def __getitem__(self, key):
        sys.audit(self.event)
        return dict.__getitem__(self, key)

    def get(self, key, default=None):
        sys.audit(self.event)
        return dict.get(self, key, default)


def _gate_rule_tables(event: str) -> None:
    """JAX's JVP and transpose rule tables behind the gate: the module's names point to gated copies, and the
    original dicts (which public modules re-export) are emptied, so no rule is reachable around the gate."""
    from jax._src.interpreters import ad

    for name in ("primitive_jvps", "primitive_transposes", "fancy_transposes"):
        table = getattr(ad, name, None)
        if isinstance(table, dict) and not isinstance(table, _GatedRules):
            gated = _GatedRules(table)
            gated.event = event
            setattr(ad, name, gated)
            table.clear()


def _protected_files(functions) -> set[str]:
    """The source (and bytecode) files of the modules whose code was swapped."""
    files = set()
    for fn in functions:
        path = fn.__code__.co_filename
        if os.path.isfile(path):
            real = os.path.realpath(path)
            files.add(real)
            stem = os.path.splitext(os.path.basename(real))[0]
            files.add(os.path.join(os.path.dirname(real), "__pycache__", stem + ".cpython"))
    return files


def _package_dirs(names) -> list[str]:
    """Folders of the absent packages that are installed (their files may not be opened either)."""
    import importlib.util

    dirs = []
    for name in names:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.origin:
            origin = os.path.realpath(spec.origin)
            dirs.append(os.path.dirname(origin) + os.sep if origin.endswith("__init__.py") else origin)
    return dirs


def arm(forbid, allow) -> None:
    """Switch every forbidden derivative off for good and install the audit hook."""
    import jax

    from . import shortcuts

    functions = shortcuts.forbidden_functions(forbid, allow)
    gated = {fn: name for fn, name in functions.items() if name in shortcuts.GATED}
    plain = {fn: name for fn, name in functions.items() if fn not in gated}
    gate_event = "diffcompare.gate"
    closed_files = _protected_files(functions)  # before the code is swapped: its file names go with it
    for fn in gated:
        fn.__code__ = _gated_code(fn, gate_event)
    shortcuts.arm(plain)
    absent = tuple(n for n in shortcuts.ABSENT_PACKAGES if not any(a == n or a.startswith(n + ".") for a in allow))
    closed_dirs = _package_dirs(absent)
    jax_dir = os.path.dirname(jax.__file__)
    gate_label = {fn.__name__: name for fn, name in gated.items()} | {"__getitem__": "JAX's derivative rules",
                                                                     "get": "JAX's derivative rules"}
    if gated:
        _gate_rule_tables(gate_event)
    reached = shortcuts._reached
    shortcut = shortcuts.Shortcut
    realpath, basename = os.path.realpath, os.path.basename
    closed_names = {basename(p) for p in closed_files if p.endswith(".py")}
    closed_prefixes = tuple(closed_dirs) + tuple(p for p in closed_files if not p.endswith(".py"))

    def closed(path) -> bool:
        if isinstance(path, int):
            return False
        path = os.fsdecode(path)
        real = realpath(path)
        if real in closed_files or basename(path) in closed_names and not os.path.isabs(path):
            return True
        if real.startswith("/proc/") and real.endswith("/mem"):
            return True
        return real.startswith(closed_prefixes)

    def hook(event, args):
        if event == gate_event:
            frame = sys._getframe(1)  # the gated function's frame (or the gated rule table's lookup)
            if not _called_by_jax_itself(frame.f_back, jax_dir):
                name = gate_label.get(frame.f_code.co_name, frame.f_code.co_name)
                reached.append(name)
                raise shortcut(name)
        elif event == "import":
            module = str(args[0])
            for name in absent:
                if module == name or module.startswith(name + "."):
                    reached.append(name)
                    raise ModuleNotFoundError(f"{name} is not available while this task is graded: the task asks "
                                              "you to write the derivative yourself", name=module)
        elif event == "open":
            if closed(args[0]):
                raise PermissionError(f"{args[0]}: not readable while this task is graded")
        elif event == "object.__setattr__":
            if len(args) > 1 and args[1] == "__code__":
                raise PermissionError(f"setting {args[1]} is not allowed while this task is graded")
        elif event.startswith(_REFUSED_EVENTS):
            raise PermissionError(f"{event} is not allowed while this task is graded")

    sys.addaudithook(hook)


def _limit(limits: dict) -> None:
    """The sandbox's limits, soft and hard (nothing inside may raise them), set before any student code."""
    import resource

    for which, key in ((resource.RLIMIT_CPU, "cpu_seconds"), (resource.RLIMIT_AS, "address_space"),
                       (resource.RLIMIT_NPROC, "processes"), (resource.RLIMIT_FSIZE, "file_bytes"),
                       (resource.RLIMIT_CORE, None)):
        value = int(limits[key]) if key else 0
        hard = resource.getrlimit(which)[1]
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def main() -> None:
    root, req_fd, rep_fd, config = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    if root not in sys.path:
        sys.path.insert(0, root)
    from . import _kernel

    if config.get("limits"):
        _limit(config["limits"])
    _preload()
    session = _kernel.Session()  # IPython's own lazy imports happen here, before the guard is armed
    if config.get("forbid"):
        arm(config["forbid"], config.get("allow", ()))
    _kernel.serve(session, int(req_fd), int(rep_fd))
