"""``diffcompare bench NAME``: every benchmark a sub-command with its own options and ``--help``.

The measuring code stays in its module (``diffcompare.benchmarks.*``,
``diffcompare.symbolic.bench``, ``diffcompare.from_jax.bench``), imported only
when its command runs; each module's ``main(**options)`` measures and prints.
A benchmark measures and prints; it is never a test (timings on a shared
machine would flake).
"""

from __future__ import annotations

import importlib
from typing import Annotated

import typer

from ._common import console, fail, split_ints

app = typer.Typer(no_args_is_help=True,
                  context_settings={"token_normalize_func": lambda t: t.replace("_", "-")},
                  help="Benchmarks: each measures and prints a table (`bench NAME --help`: its options).")

Quick = Annotated[bool, typer.Option("--quick", help="small sizes, fewer rounds (about a minute)")]
Dtype = Annotated[str, typer.Option(help="float64 or float32")]
Rounds = Annotated[int | None, typer.Option(min=1, help="interleaved timing rounds (the minimum is kept)")]
Widths = Annotated[list[str] | None, typer.Option(help="MLP widths, batch = width: --widths 256,1024 "
                                                       "(or the option repeated)")]


def _module(path: str):
    try:
        return importlib.import_module(path)
    except ModuleNotFoundError as err:
        fail(f"{path} needs {err.name}, which is not installed (pip install 'diffcompare[bench]')")


def _dtype(dtype: str) -> str:
    from ..errors import DiffCompareError, dtype_name

    try:
        return dtype_name(dtype, "--dtype")
    except DiffCompareError as err:
        fail(str(err))


@app.command("finite-diff")
def finite_diff(
    sizes: Annotated[list[str] | None,
                     typer.Option(help="sizes n of the Rosenbrock input: --sizes 10,100,1000")] = None,
    repeat: Annotated[int, typer.Option(min=1, help="timed calls per contender (the best is shown)")] = 5,
) -> list[dict]:
    """Rosenbrock gradients by finite differences against numdifftools, SciPy and jax.grad (eager)."""
    return _module("diffcompare.benchmarks.finite_diff").run(
        tuple(split_ints(sizes, "--sizes") or (10, 100, 1000)), repeat, console=console())


@app.command()
def forward(quick: Quick = False, dtype: Dtype = "float64", rounds: Rounds = None) -> dict:
    """Forward mode under jax.jit: JVP time / f time, and Jacobians against jax.jacfwd (both compiled)."""
    return _module("diffcompare.benchmarks.forward").main(quick=quick, dtype=_dtype(dtype), rounds=rounds)


@app.command()
def reverse(
    widths: Widths = None,
    depth: Annotated[int, typer.Option(min=1, help="hidden layers")] = 4,
    quick: Annotated[bool, typer.Option("--quick", help="widths 64, 256, 1024 and fewer rounds")] = False,
    dtype: Dtype = "float32",
    rounds: Rounds = None,
) -> list[dict]:
    """Reverse mode on ReLU MLPs against jax.grad, eager and under jax.jit; tape memory and checkpointing."""
    return _module("diffcompare.benchmarks.reverse").main(
        widths=split_ints(widths, "--widths"), depth=depth, quick=quick, dtype=_dtype(dtype), rounds=rounds)


@app.command()
def symbolic(
    kmax: Annotated[int, typer.Option(min=1, help="largest number of logistic-map steps")] = 10,
    repeat: Annotated[int, typer.Option(min=1, help="runs per timing; the best is shown")] = 3,
) -> None:
    """Symbolic derivatives: expression sizes and times against SymPy (expression swell)."""
    _module("diffcompare.benchmarks.symbolic").main(kmax=kmax, repeat=repeat)


@app.command("matrix-calculus")
def matrix_calculus() -> None:
    """Array-level symbolic Hessians and gradients against jax.jit(jax.hessian) / jax.jit(jax.grad)."""
    _module("diffcompare.symbolic.bench").main()


@app.command()
def accumulate(
    n: Annotated[int, typer.Option("--n", min=3, help="size of the tridiagonal case")] = 10_000,
    rounds: Annotated[int, typer.Option(min=1, help="interleaved timing rounds of the chain "
                                                     "(the sparse case stops after 20 s)")] = 300,
) -> None:
    """Optimal bracketing of a Jacobian chain and sparse colouring against jax.jacfwd / jax.jacrev (compiled)."""
    _module("diffcompare.benchmarks.accumulate").main(n=n, rounds=rounds)


@app.command("finite-diff-cache")
def finite_diff_cache(
    rounds: Annotated[int, typer.Option(min=1, help="timing rounds")] = 5,
    calls: Annotated[int, typer.Option(min=1, help="gradient calls per round")] = 5,
) -> None:
    """What finite differences' compiled-program cache saves on repeated gradient calls."""
    _module("diffcompare.benchmarks.finite_diff_cache").main(rounds=rounds, calls=calls)


@app.command()
def overhead(
    quick: Annotated[bool, typer.Option("--quick", help="the small problems only, fewer repeats")] = False,
    profile: Annotated[bool, typer.Option("--profile", help="fill the 'in JAX' column: the share of each "
                                                            "engine's time inside JAX (cProfile)")] = False,
) -> list[dict]:
    """Eager time per derivative call and per primitive, against eager jax.grad and eager PyTorch."""
    return _module("diffcompare.benchmarks.overhead").main(quick=quick, profile=profile)


@app.command("from-jax")
def from_jax(
    widths: Widths = None,
    depth: Annotated[int, typer.Option(min=1, help="hidden layers")] = 4,
    dtype: Dtype = "float32",
    rounds: Annotated[int, typer.Option(min=1, help="timing rounds (the minimum is kept)")] = 7,
) -> list[dict]:
    """from_jax(f) against the same MLP written with dnp, eager and under jax.jit."""
    return _module("diffcompare.from_jax.bench").main(
        widths=split_ints(widths, "--widths") or [256, 1024], depth=depth, dtype=_dtype(dtype), rounds=rounds)
