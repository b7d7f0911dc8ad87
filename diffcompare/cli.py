"""The ``diffcompare`` command.

    diffcompare demo                 every method on exp(x)/x² at x = 1.5, in one table
    diffcompare info                 versions, devices, float64 on or off, methods present
    diffcompare bench NAME           a benchmark (finite-diff, forward, reverse, symbolic)
    diffcompare problems             the problem zoo, one line each
"""

from __future__ import annotations

import importlib
import platform
import sys

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Compare ways of differentiating programs.")
console = Console(width=110)

BENCHMARKS = {
    "finite-diff": "diffcompare.benchmarks.finite_diff",
    "forward": "diffcompare.benchmarks.forward",
    "reverse": "diffcompare.benchmarks.reverse",
    "symbolic": "diffcompare.benchmarks.symbolic",
}


@app.callback()
def _entry() -> None:
    """Compare ways of differentiating programs (float64 is turned on for every command)."""
    import diffcompare

    diffcompare.enable_x64()


def _fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code=2)


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
    console.print(f"devices: {', '.join(str(d) for d in jax.devices())}")
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


def main() -> None:  # pragma: no cover - console entry point
    app(prog_name="diffcompare")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
