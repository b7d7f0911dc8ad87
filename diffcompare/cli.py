"""The ``diffcompare`` command.

    diffcompare demo                 every method on exp(x)/x² at x = 1.5, in one table
    diffcompare list                 the experiments, one line each
    diffcompare run [NAME ...]       run experiments into results/ (--quick: all in a few minutes)
    diffcompare check MOD:FUNC --at  every method on your function, against JAX
    diffcompare info                 versions, devices, float64 on or off, methods present
    diffcompare bench NAME           a benchmark (finite-diff, forward, reverse, symbolic)
    diffcompare problems             the problem zoo, one line each
"""

from __future__ import annotations

import importlib
import platform
import sys
import time
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Compare ways of differentiating programs.")
console = Console(width=110)

RESULTS = Path("results")

BENCHMARKS = {
    "finite-diff": "diffcompare.benchmarks.finite_diff",
    "forward": "diffcompare.benchmarks.forward",
    "reverse": "diffcompare.benchmarks.reverse",
    "symbolic": "diffcompare.benchmarks.symbolic",
    "matrix-calculus": "diffcompare.symbolic.bench",
    "accumulate": "diffcompare.benchmarks.accumulate",
    "finite-diff-cache": "diffcompare.benchmarks.finite_diff_cache",
    "overhead": "diffcompare.benchmarks.overhead",
    "from-jax": "diffcompare.from_jax.bench",
}


@app.callback()
def _entry() -> None:
    """Compare ways of differentiating programs (float64 is turned on for every command)."""
    import diffcompare

    diffcompare.enable_x64()


def _fail(message: str) -> None:
    from rich.markup import escape

    console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code=2)


def _check_seed(seed: int | None) -> None:
    if seed is not None and seed < 0:
        _fail(f"--seed {seed}: give a non-negative integer")


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings during a command as one line each (not Python's two lines with a source path)."""
    from rich.markup import escape

    console.print(f"[yellow]warning:[/yellow] {escape(str(message))}", highlight=False, soft_wrap=True)


@app.command()
def demo(
    problem: str = typer.Option("exp_over_square", help="a problem of the zoo (see `diffcompare problems`)"),
    seed: int = typer.Option(None, help="random input from this seed (default: the course's own point)"),
    dtype: str = typer.Option("float64", help="float64 or float32"),
) -> None:
    """Differentiate one course example with every available method and print a table."""
    from . import demo as demo_module
    from .errors import DiffCompareError

    if dtype not in ("float64", "float32"):
        _fail(f"unknown dtype {dtype!r}; choose float64 or float32")
    _check_seed(seed)
    try:
        demo_module.show(problem, seed, dtype, console=console)
    except DiffCompareError as err:
        _fail(str(err))


@app.command()
def info() -> None:
    """Versions, devices, whether float64 is on, and which methods are installed."""
    import jax

    import diffcompare
    from diffcompare.methods import METHODS

    console.print(f"diffcompare {diffcompare.__version__}, Python {platform.python_version()}, "
                  f"JAX {jax.__version__}, NumPy {importlib.import_module('numpy').__version__}")
    from .experiments.runner import gpu_available

    console.print(f"devices: {', '.join(str(d) for d in jax.devices())} "
                  f"(GPU: {'yes' if gpu_available() else 'no'}; `run` uses {'gpu' if gpu_available() else 'cpu'})")
    console.print(f"float64: {'on' if diffcompare.x64_enabled() else 'off'} (the library turns it on for its commands)")
    console.print(f"methods: {', '.join(METHODS)}")


@app.command()
def problems() -> None:
    """List the problem zoo."""
    from .problems import PROBLEMS

    for name, problem in PROBLEMS.items():
        flags = [f for f, on in (("kinks", problem.has_kinks), ("control flow", problem.data_dependent)) if on]
        note = f"  [dim]({', '.join(flags)})[/dim]" if flags else ""
        console.print(f"[bold]{name:<18}[/bold] {problem.title}{note}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def bench(ctx: typer.Context, name: str = typer.Argument(..., help=", ".join(BENCHMARKS))) -> None:
    """Run a benchmark; options after NAME go to it (e.g. `diffcompare bench finite-diff --sizes 10 100`)."""
    if name not in BENCHMARKS:
        _fail(f"unknown benchmark {name!r}; choose one of {', '.join(BENCHMARKS)}")
    try:
        module = importlib.import_module(BENCHMARKS[name])
    except ModuleNotFoundError:
        _fail(f"the {name} benchmark is not part of this installation yet")
    module.main(list(ctx.args))


@app.command("list")
def list_() -> None:
    """List the experiments, one line each."""
    from .experiments import REGISTRY, get

    for name in REGISTRY:
        console.print(f"[bold]{name:<15}[/bold] {get(name).SUMMARY}", soft_wrap=True, highlight=False)


@app.command()
def run(
    names: Annotated[list[str] | None, typer.Argument(help="experiments (default: all; see `list`)")] = None,
    quick: bool = typer.Option(False, "--quick", help="small sweeps: every experiment in a few minutes"),
    dtype: str = typer.Option("float64", help="working precision: float64 or float32"),
    device: str = typer.Option(None, help="cpu or gpu (default: gpu when JAX sees one, else cpu)"),
    seed: int = typer.Option(0, help="seed of every random input"),
    out: Annotated[Path, typer.Option(help="results directory (each experiment writes OUT/NAME/)")] = RESULTS,
    resume: bool = typer.Option(False, "--resume", help="keep finished sweep points of an interrupted run"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="show a progress bar"),
    scale: str = typer.Option(None, hidden=True, help="tiny, quick or full (tests use tiny; --quick is quick)"),
) -> None:
    """Run experiments: CSV, meta.json and plots (PNG, SVG) per experiment, and OUT/README.md."""
    from .errors import DiffCompareError
    from .experiments import Config, check_config, get, run_all
    from .experiments import names as all_names

    _check_seed(seed)
    try:
        modules = [get(n) for n in (names or all_names())]
        if device is None:
            from .experiments.runner import default_device

            device = default_device()
        scale = scale or ("quick" if quick else "full")
        cfg = check_config(Config(scale=scale, dtype=dtype, device=device, seed=seed,
                                  out=out, resume=resume, progress=progress))
    except DiffCompareError as err:
        _fail(str(err))
    start = time.perf_counter()
    command = " ".join(["diffcompare"] + sys.argv[1:]) if sys.argv and "diffcompare" in sys.argv[0] else None
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _one_line_warning
            metas = run_all(modules, cfg, command=command)
    except KeyboardInterrupt:
        console.print("[red]interrupted[/red]: finished points are kept; rerun with --resume to finish")
        raise typer.Exit(code=130) from None
    except DiffCompareError as err:
        _fail(str(err))
    except OSError as err:  # the disk filled up, the folder went away or became read-only half-way
        _fail(f"cannot write results under {out}: {err.strerror or err}; finished points are kept "
              f"(rerun with --resume)")
    for meta in metas:
        state = "already complete (resume)" if meta.get("skipped") else f"{meta['wall_time_s']:.1f} s"
        console.print(f"[bold]{meta['experiment']:<15}[/bold] {state}")
        for line in meta.get("headline", []):
            console.print(f"    {line}", highlight=False)
    console.print(f"wrote {out}/README.md; total {time.perf_counter() - start:.1f} s")


def _parse_point(text: str):
    import ast

    import jax
    import jax.numpy as jnp

    shown = text if len(text) <= 40 else text[:37] + "..."

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        _fail(f"--at {shown!r}: not a number or a list of numbers (e.g. --at 1.5 or --at '[1, 2, 3]')")
    try:
        if any(isinstance(v, bool) for v in jax.tree_util.tree_leaves(value)):
            raise TypeError("a boolean is not a point")
        point = jnp.asarray(value, dtype=jnp.float64)
    except (TypeError, ValueError, OverflowError):
        _fail(f"--at {shown!r}: not a number or a (nested) list of numbers")
    if point.size == 0:
        _fail(f"--at {shown!r}: an empty list has nothing to differentiate; give at least one number")
    if not bool(jnp.all(jnp.isfinite(point))):
        _fail(f"--at {shown!r}: every number must be finite (no inf or nan)")
    return point


def _load_function(spec: str):
    module_name, _, func_name = spec.rpartition(":")
    if not module_name or not func_name.isidentifier():
        _fail(f"{spec!r}: give MODULE:FUNCTION (e.g. mymodule:f or path/to/file.py:f)")
    try:
        if module_name.endswith(".py"):
            from importlib import util as import_util

            file = Path(module_name)
            if not file.exists():
                _fail(f"cannot import {module_name!r}: no such file")
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
        _fail(f"cannot import {module_name!r}: {type(err).__name__}: {err}")
    fn = getattr(module, func_name, None)
    if not callable(fn):
        _fail(f"{module_name!r} has no function {func_name!r}")
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
    """Run every method on your function against JAX and print the checker's table (exit 1 if any fails)."""
    from .checker import check as run_check
    from .errors import DiffCompareError

    if dtype not in ("float64", "float32"):
        _fail(f"unknown dtype {dtype!r}; choose float64 or float32")
    fn = _load_function(function)
    from .from_jax import auto_wrap

    fn, is_jax = auto_wrap(fn)
    if is_jax:
        console.print(f"{function} is plain JAX code: every method runs its jaxpr through diffcompare.from_jax",
                      highlight=False)
    args = [_parse_point(a) for a in at]
    _check_seed(seed)
    try:
        nums = tuple(int(a) for a in argnums.split(","))
    except ValueError:
        _fail(f"--argnums {argnums!r}: give an int or ints separated by commas")
    if len(set(nums)) != len(nums):
        _fail(f"--argnums {argnums!r}: each argument at most once")
    try:
        report = run_check(fn, *args, argnums=nums[0] if len(nums) == 1 else nums, dtype=dtype, seed=seed)
    except DiffCompareError as err:
        _fail(str(err))
    except Exception as err:  # noqa: BLE001 - the user's function failed under JAX: say so in one line
        _fail(f"{function} failed at the given point: {type(err).__name__}: {err}")
    console.print(str(report), highlight=False)
    if not report.passed:
        raise typer.Exit(code=1)


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="diffcompare")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
