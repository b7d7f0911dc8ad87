"""The ``diffcompare`` command (also ``python -m diffcompare``).

    diffcompare demo                 every method on exp(x)/x² at x = 1.5, in one table
    diffcompare list                 the experiments, one line each
    diffcompare run [NAME ...]       run experiments into results/ (--quick: all in a few minutes)
    diffcompare check MOD:FUNC --at  every method on your function, against JAX
    diffcompare info                 versions, devices, float64 on or off, methods present
    diffcompare bench NAME           a benchmark (finite-diff, forward, reverse, symbolic, ...), each with --help
    diffcompare problems             the problem zoo, one line each
    diffcompare course ...           the teacher's commands: generate, grade, grade-class
    diffcompare docs build|serve     the documentation site (the ``docs`` extra)

Names of experiments, benchmarks and problems take hyphens or underscores alike
(``fd-step`` is ``fd_step``), and a misspelt one gets a "did you mean".
"""

from __future__ import annotations

import importlib
import os
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer

from ..docs import app as docs_app
from ._common import check_seed, console, fail, one_line_warning
from .bench import app as bench_app
from .course import app as course_app

#: command and option names: ``run_all`` and ``run-all`` alike (click normalizes every token it matches)
CONTEXT = {"token_normalize_func": lambda token: token.replace("_", "-"), "help_option_names": ["--help", "-h"]}

app = typer.Typer(add_completion=False, no_args_is_help=True, context_settings=CONTEXT,
                  help="Compare ways of differentiating programs.")
app.add_typer(bench_app, name="bench")
app.add_typer(course_app, name="course")
app.add_typer(docs_app, name="docs")

RESULTS = Path("results")


def _version(value: bool) -> None:
    if value:
        import diffcompare

        console().print(f"diffcompare {diffcompare.__version__}")
        raise typer.Exit()


@app.callback()
def _entry(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """Compare ways of differentiating programs (float64 is turned on for every command)."""
    import diffcompare

    diffcompare.enable_x64()


def _dtype(dtype: str) -> str:
    from ..errors import DiffCompareError, dtype_name

    try:
        return dtype_name(dtype, "--dtype")
    except DiffCompareError as err:
        fail(str(err))


@app.command()
def demo(
    problem: str = typer.Option("exp_over_square", help="a problem of the zoo (see `diffcompare problems`)"),
    seed: int = typer.Option(None, help="random input from this seed (default: the course's own point)"),
    dtype: str = typer.Option("float64", help="float64 or float32"),
) -> None:
    """Differentiate one course example with every available method and print a table.

    A column says how each method runs (eagerly, one Python call per operation, or compiled with jax.jit);
    JAX is shown both ways: jax.grad called eagerly, and jax.jit(jax.grad) compiled before timing."""
    from .. import demo as demo_module
    from ..errors import DiffCompareError
    from ..problems import get

    dtype = _dtype(dtype)
    check_seed(seed)
    try:
        get(problem)
        demo_module.show(problem, seed, dtype, console=console())
    except DiffCompareError as err:
        fail(str(err))


@app.command()
def info() -> None:
    """Versions, devices, whether float64 is on, and which methods are installed."""
    import jax

    import diffcompare
    from diffcompare.methods import METHODS

    from ..experiments.runner import gpu_available

    con = console()
    con.print(f"diffcompare {diffcompare.__version__}, Python {platform.python_version()}, "
              f"JAX {jax.__version__}, NumPy {importlib.import_module('numpy').__version__}")
    con.print(f"devices: {', '.join(str(d) for d in jax.devices())} "
              f"(GPU: {'yes' if gpu_available() else 'no'}; `run` uses {'gpu' if gpu_available() else 'cpu'})")
    con.print(f"float64: {'on' if diffcompare.x64_enabled() else 'off'} (the library turns it on for its commands)")
    con.print(f"methods: {', '.join(METHODS)}")


@app.command()
def problems() -> None:
    """List the problem zoo."""
    from ..problems import PROBLEMS

    con = console()
    for name, problem in PROBLEMS.items():
        flags = [f for f, on in (("kinks", problem.has_kinks), ("control flow", problem.data_dependent)) if on]
        note = f"  [dim]({', '.join(flags)})[/dim]" if flags else ""
        con.print(f"[bold]{name:<18}[/bold] {problem.title}{note}")


@app.command("list")
def list_() -> None:
    """List the experiments, one line each."""
    from ..experiments import REGISTRY, get

    con = console()
    for name in REGISTRY:
        con.print(f"[bold]{name:<22}[/bold] {get(name).SUMMARY}")


@app.command()
def run(
    names: Annotated[list[str] | None, typer.Argument(help="experiments (default: all; see `list`)")] = None,
    quick: bool = typer.Option(False, "--quick", help="small sweeps: every experiment in a few minutes"),
    dtype: str = typer.Option("float64", help="working precision: float64 or float32"),
    device: str = typer.Option(None, help="cpu or gpu (default: gpu when JAX sees one, else cpu)"),
    seed: int = typer.Option(0, help="seed of every random input"),
    out: Annotated[Path, typer.Option(help="results directory (each experiment writes OUT/NAME/)")] = RESULTS,
    resume: bool = typer.Option(False, "--resume", help="keep finished sweep points of an interrupted run"),
    progress: bool = typer.Option(True, "--progress/--no-progress",
                                  help="progress: bars with the time left in a terminal; off a terminal (a log, a "
                                       "pipe) one line per finished sweep point with elapsed and remaining time"),
    scale: str = typer.Option(None, hidden=True, help="tiny, quick or full (tests use tiny; --quick is quick)"),
) -> None:
    """Run experiments: CSV, meta.json and plots (PNG, SVG) per experiment, and OUT/README.md."""
    from ..errors import DiffCompareError
    from ..experiments import Config, check_config, get, run_all
    from ..experiments import names as all_names

    check_seed(seed)
    try:
        modules = list(dict.fromkeys(get(n) for n in (names or all_names())))  # fd_step fd-step: once
        if device is None:
            from ..experiments.runner import default_device

            device = default_device()
        scale = scale or ("quick" if quick else "full")
        cfg = check_config(Config(scale=scale, dtype=dtype, device=device, seed=seed,
                                  out=out, resume=resume, progress=progress))
    except DiffCompareError as err:
        fail(str(err))
    start = time.perf_counter()
    command = " ".join(["diffcompare"] + sys.argv[1:]) if sys.argv and "diffcompare" in sys.argv[0] else None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = one_line_warning
            metas = run_all(modules, cfg, command=command)
    except KeyboardInterrupt:
        console().print("[red]interrupted[/red]: finished points are kept; rerun with --resume to finish")
        raise typer.Exit(code=130) from None
    except DiffCompareError as err:
        fail(str(err))
    except OSError as err:  # the disk filled up, the folder went away or became read-only half-way
        fail(f"cannot write results under {out}: {err.strerror or err}; finished points are kept "
              f"(rerun with --resume)")
    con = console()
    for meta in metas:
        state = "already complete (resume)" if meta.get("skipped") else f"{meta['wall_time_s']:.1f} s"
        con.print(f"[bold]{meta['experiment']:<22}[/bold] {state}")
        for line in meta.get("headline", []):
            con.print(f"    {line}", markup=False)
    con.print(f"wrote {out}/README.md; total {time.perf_counter() - start:.1f} s")


def _parse_point(text: str):
    import ast

    import jax
    import jax.numpy as jnp

    shown = text if len(text) <= 40 else text[:37] + "..."

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        fail(f"--at {shown!r}: not a number or a list of numbers (e.g. --at 1.5 or --at '[1, 2, 3]')")
    try:
        if any(isinstance(v, bool) for v in jax.tree_util.tree_leaves(value)):
            raise TypeError("a boolean is not a point")
        point = jnp.asarray(value, dtype=jnp.float64)
    except (TypeError, ValueError, OverflowError):
        fail(f"--at {shown!r}: not a number or a (nested) list of numbers")
    if point.size == 0:
        fail(f"--at {shown!r}: an empty list has nothing to differentiate; give at least one number")
    if not bool(jnp.all(jnp.isfinite(point))):
        fail(f"--at {shown!r}: every number must be finite (no inf or nan)")
    return point


def _load_function(spec: str):
    module_name, _, func_name = spec.rpartition(":")
    if not module_name or not func_name.isidentifier():
        fail(f"{spec!r}: give MODULE:FUNCTION (e.g. mymodule:f or path/to/file.py:f)")
    try:
        if module_name.endswith(".py"):
            from importlib import util as import_util

            file = Path(module_name)
            if not file.exists():
                fail(f"cannot import {module_name!r}: no such file")
            spec_ = import_util.spec_from_file_location(file.stem, file)
            module = import_util.module_from_spec(spec_)
            spec_.loader.exec_module(module)
        else:
            if "" not in sys.path and "." not in sys.path:
                sys.path.insert(0, "")
            module = importlib.import_module(module_name)
    except typer.Exit:
        raise
    except Exception as err:  # noqa: BLE001 - any import failure is the user's module: one line
        fail(f"cannot import {module_name!r}: {type(err).__name__}: {err}")
    fn = getattr(module, func_name, None)
    if not callable(fn):
        fail(f"{module_name!r} has no function {func_name!r}")
    return fn


@app.command()
def check(
    function: Annotated[str, typer.Argument(help="MODULE:FUNCTION or file.py:FUNCTION, written with dnp")],
    at: Annotated[list[str], typer.Option("--at", help="one positional argument per --at: a number or a list, "
                                                       "e.g. --at 1.5 or --at '[1, 2, 3]'")],
    argnums: str = typer.Option("0", help="argument(s) to differentiate: 0, or 0,1"),
    dtype: str = typer.Option("float64", help="float64 or float32"),
    seed: int = typer.Option(0, help="seed of the random projections"),
) -> None:
    """Run every method on your function against JAX and print the checker's table (exit 1 if any row fails or
    sits at a kink, where f is not differentiable; exit 2 if f or its output cannot be checked)."""
    from ..checker import check as run_check
    from ..errors import DiffCompareError, InvalidOutputError

    dtype = _dtype(dtype)
    fn = _load_function(function)
    from ..from_jax import auto_wrap

    fn, is_jax = auto_wrap(fn)
    if is_jax:
        console().print(f"{function} is plain JAX code: every method runs its jaxpr through diffcompare.from_jax",
                      highlight=False)
    args = [_parse_point(a) for a in at]
    check_seed(seed)
    try:
        nums = tuple(int(a) for a in argnums.split(","))
    except ValueError:
        fail(f"--argnums {argnums!r}: give an int or ints separated by commas")
    if len(set(nums)) != len(nums):
        fail(f"--argnums {argnums!r}: each argument at most once")
    try:
        report = run_check(fn, *args, argnums=nums[0] if len(nums) == 1 else nums, dtype=dtype, seed=seed)
    except InvalidOutputError as err:  # what f returned cannot be differentiated: the output is at fault
        fail(f"the output of {function} at the given point cannot be checked: {err}")
    except DiffCompareError as err:
        fail(str(err))
    except Exception as err:  # noqa: BLE001 - one line, blaming the function only if the error came from it
        fail(_check_failure(function, err))
    con = console()
    if con.is_terminal:
        con.print(report)  # the rich table, coloured by status
    else:  # a log or a pipe: the same table as plain text, its notes on lines of their own, never wrapped
        con.print(str(report), markup=False)
    if not report.passed:
        raise typer.Exit(code=1)


def _check_failure(function: str, err: Exception) -> str:
    """The one line for an unexpected error in ``check``: the user's function failed where the error passed
    through its code (under JAX), otherwise it is diffcompare's own fault and says so."""
    import sysconfig
    import traceback

    paths = sysconfig.get_paths()
    library = tuple(os.path.abspath(p) + os.sep for p in {paths["stdlib"], paths["purelib"], paths["platlib"],
                                                             os.path.dirname(os.path.dirname(__file__))})
    mine = [frame for frame, _ in traceback.walk_tb(err.__traceback__)
            if not os.path.abspath(frame.f_code.co_filename).startswith(library)]
    if mine:  # the innermost frame of the user's code the error passed through
        code, line = mine[-1].f_code, mine[-1].f_lineno
        where = f" (in '{code.co_name}', {os.path.basename(code.co_filename)}:{line})"
        return f"{function} failed at the given point{where}: {type(err).__name__}: {err}"
    return (f"diffcompare failed while checking {function} ({type(err).__name__}: {err}); this is an error inside "
            "diffcompare, not in your function: please report it with the command you ran")


def main(argv: list[str] | None = None) -> None:
    """The console entry point (``diffcompare`` and ``python -m diffcompare``)."""
    app(args=argv, prog_name="diffcompare")
