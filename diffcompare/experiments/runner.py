"""Running an experiment: sweep points, resumable CSV rows, atomic files, ``meta.json``, ``.complete``.

An experiment module offers ``points(cfg)`` (the sweep: a list of small dicts),
``measure(point, cfg)`` (the rows of one point: a list of dicts), ``plot(rows,
cfg, outdir)`` (the figures it wrote) and ``headline(rows, cfg)`` (the figures
that test the course's claims, as a list of strings). The runner owns
everything else, the same way for every experiment:

* while a run is under way its rows go to ``data.partial.csv`` (rewritten
  atomically after every point, keyed by the point) next to ``.partial.json``
  (the configuration it belongs to); ``data.csv``, the plots, ``meta.json`` and
  finally ``.complete`` appear only when the sweep is over, so an interrupted
  run never leaves a file that looks complete;
* ``resume=True`` keeps the rows of a partial run with the same configuration
  and measures only the points it lacks (a complete run with the same
  configuration is left as it is);
* every file is written to a temporary file in the same directory and renamed
  (``os.replace``), so no reader sees half a file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import jax

from ..errors import InvalidOptionError, dtype_name
from .files import (
    COMPLETE,
    DATA,
    META,
    PARTIAL,
    STATE,
    ResultsWarning,
    atomic_write,
    cell_text,
    csv_text,
    parse_row,
    read_cells,
    read_csv,
    read_json_object,
    remove_temporaries,
)
from .report import write_index

SCALES = ("tiny", "quick", "full")


@dataclasses.dataclass(frozen=True)
class Config:
    """How an experiment runs.

    Attributes:
        scale: "tiny" (tests), "quick" (``--quick``: all experiments in minutes) or "full".
        dtype: the working precision of the experiments that have one ("float64" or "float32").
        device: "cpu" or "gpu" (JAX's default device of that platform).
        seed: the seed of every random input and data set.
        out: the results directory (each experiment writes ``out/<name>/``).
        resume: keep finished sweep points of an interrupted run with the same configuration.
        progress: show a progress bar.
    """

    scale: str = "quick"
    dtype: str = "float64"
    device: str = "cpu"
    seed: int = 0
    out: Path = Path("results")
    resume: bool = False
    progress: bool = True

    def pick(self, tiny, quick, full):
        """The value for this configuration's scale."""
        return {"tiny": tiny, "quick": quick, "full": full}[self.scale]

    def signature(self) -> dict:
        """What the numbers depend on (resume only reuses rows with the same signature)."""
        return {"scale": self.scale, "dtype": self.dtype, "device": self.device, "seed": self.seed}


def check_config(cfg: Config) -> Config:
    """Refuse a configuration that cannot run, with a one-line reason."""
    if cfg.scale not in SCALES:
        raise InvalidOptionError(f"unknown scale {cfg.scale!r}; choose one of {', '.join(SCALES)}")
    dtype_name(cfg.dtype, "dtype")
    if cfg.device not in ("cpu", "gpu"):
        raise InvalidOptionError(f"unknown device {cfg.device!r}; choose cpu or gpu")
    if not isinstance(cfg.seed, int) or cfg.seed < 0:
        raise InvalidOptionError(f"seed {cfg.seed!r}: give a non-negative integer")
    if cfg.device == "gpu" and not gpu_available():
        raise InvalidOptionError("--device gpu: JAX sees no GPU here (install the gpu extra, or use --device cpu)")
    return cfg


def check_out(out: Path) -> Path:
    """Create the results directory ``out`` and make sure a file can be written there; a one-line
    :class:`InvalidOptionError` when not (an existing file, a read-only folder, ``/proc``)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InvalidOptionError(f"--out {out}: a file is there, not a folder; choose a folder for the results")
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / ".write-test", b"")
        (out / ".write-test").unlink()
    except OSError as err:
        reason = err.strerror or type(err).__name__
        raise InvalidOptionError(f"--out {out}: cannot write results there ({reason}); "
                                 f"choose a folder you can write to") from None
    return out


def gpu_available() -> bool:
    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


def default_device() -> str:
    return "gpu" if gpu_available() else "cpu"


def point_key(point: dict) -> str:
    """The key of a sweep point: its items in order, ``a=1;b=x``."""
    return ";".join(f"{k}={v}" for k, v in point.items())


# ---------------------------------------------------------------- sweep points and provenance


def git_commit() -> str | None:
    root = Path(__file__).resolve().parents[2]
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def versions() -> dict:
    import matplotlib
    import numpy
    import sympy

    import diffcompare

    return {"python": platform.python_version(), "diffcompare": diffcompare.__version__, "jax": jax.__version__,
            "jaxlib": getattr(__import__("jaxlib"), "__version__", None), "numpy": numpy.__version__,
            "sympy": sympy.__version__, "matplotlib": matplotlib.__version__}


def device_description(cfg: Config) -> str:
    device = jax.devices(cfg.device)[0]
    return f"{device.platform}: {getattr(device, 'device_kind', str(device))}"


# ---------------------------------------------------------------- running


def _clock(seconds: float) -> str:
    """``1:05`` (minutes:seconds) or ``1:02:05``."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """Progress over the sweeps: rich bars with the time left in a terminal; elsewhere (a log, a pipe) one
    plain line per finished sweep point, with the time elapsed and an estimate of the time left (silent when
    ``enabled`` is false).

    The estimate is the mean time of the points measured so far times the points left; points kept from
    an interrupted run (``--resume``) cost nothing and do not count.

    Arguments:
        enabled: show progress at all.
        terminal: bars (True) or lines (False); default: whether stdout is a terminal.
        file: where the lines go (default: stdout).
    """

    def __init__(self, enabled: bool, terminal: bool | None = None, file=None):
        self.enabled = enabled
        self.terminal = sys.stdout.isatty() if terminal is None else terminal
        self.file = file
        self._bar = None
        self._tasks: dict[int, dict] = {}

    def __enter__(self):
        if self.enabled and self.terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._bar = Progress(TextColumn("{task.description:<22}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                                 TextColumn("{task.fields[point]}"), transient=False)
            self._bar.__enter__()
        return self

    def task(self, name: str, total: int):
        if not self.enabled:
            return None
        if self._bar is not None:
            return self._bar.add_task(name, total=total, point="")
        task = len(self._tasks)
        self._tasks[task] = {"name": name, "total": total, "done": 0, "measured": 0,
                             "start": time.perf_counter(), "last": time.perf_counter()}
        return task

    def advance(self, task, point: str = "", measured: bool = True):
        """One more point of ``task`` is finished (``measured=False``: kept from an interrupted run)."""
        if task is None:
            return
        if self._bar is not None:
            self._bar.update(task, advance=1, point=point)
            return
        state = self._tasks[task]
        now = time.perf_counter()
        state["done"] += 1
        state["measured"] += measured
        elapsed = now - state["start"]
        left = state["total"] - state["done"]
        if left == 0:
            eta = "done"
        elif state["measured"]:
            eta = f"about {_clock(elapsed / state['measured'] * left)} left"
        else:
            eta = "time left unknown"
        width = len(str(state["total"]))
        resumed = "" if measured else " (kept from the interrupted run)"
        print(f"{state['name']} {state['done']:>{width}}/{state['total']}  {point}{resumed}  "
              f"elapsed {_clock(elapsed)}, {eta}", file=self.file or sys.stdout, flush=True)

    def __exit__(self, *exc):
        if self._bar is not None:
            self._bar.__exit__(*exc)


def _device_context(cfg: Config):
    return jax.default_device(jax.devices(cfg.device)[0])


def run_experiment(module: ModuleType, cfg: Config, command: str | None = None,
                   progress: Progress | None = None) -> dict:
    """Run one experiment into ``cfg.out/<name>/``; returns its ``meta.json`` content."""
    name = module.NAME
    outdir = Path(cfg.out) / name
    outdir.mkdir(parents=True, exist_ok=True)
    remove_temporaries(outdir)
    signature = cfg.signature()

    if cfg.resume and (outdir / COMPLETE).exists():
        meta = _read_state(outdir / META, "meta.json")
        if meta is not None and meta.get("signature") == signature and (outdir / DATA).exists():
            return {**meta, "experiment": name, "skipped": True}

    points = module.points(cfg)
    keys = [point_key(p) for p in points]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"{name}: two sweep points have the same key")
    by_point = _resumable(outdir, signature, dict(zip(keys, points))) if cfg.resume else {}
    _clear(outdir, keep_partial=bool(by_point))
    _save_state(outdir, signature, name, by_point)

    start = time.perf_counter()
    progress = progress or Progress(False)
    task = progress.task(name, len(points))
    skipped = 0
    with _device_context(cfg):
        for point, key in zip(points, keys):
            if key in by_point:
                skipped += 1
                progress.advance(task, key, measured=False)
                continue
            by_point[key] = [{"point": key, **point, **row} for row in module.measure(dict(point), cfg)]
            # the rows first, then the state that vouches for them: a crash in between re-measures the point
            atomic_write(outdir / PARTIAL, csv_text(_in_order(by_point, keys)))
            _save_state(outdir, signature, name, by_point)
            progress.advance(task, key)
        rows = _in_order(by_point, keys)
        # the data is complete: it gets its final name, then the plots, meta.json, and .complete last
        atomic_write(outdir / DATA, csv_text(rows))
        rows = read_csv(outdir / DATA)  # plots and headlines from the file a reader sees
        _check_complete(name, rows, by_point, keys)
        figures = list(module.plot(rows, cfg, outdir))
        headline = list(module.headline(rows, cfg))
    meta = {
        "experiment": name,
        "title": module.TITLE,
        "command": command or " ".join(["diffcompare"] + sys.argv[1:]),
        "config": {"scale": cfg.scale, "dtype": cfg.dtype, "device": cfg.device, "seed": cfg.seed,
                   "resume": cfg.resume},
        "signature": signature,
        "device": device_description(cfg),
        "versions": versions(),
        "git_commit": git_commit(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "wall_time_s": round(time.perf_counter() - start, 2),
        "points": len(points),
        "points_resumed": skipped,
        "rows": len(rows),
        "files": [DATA, *figures],
        "headline": headline,
    }
    atomic_write(outdir / META, json.dumps(meta, indent=1) + "\n")
    for stale in (PARTIAL, STATE):
        with contextlib.suppress(FileNotFoundError):
            (outdir / stale).unlink()
    atomic_write(outdir / COMPLETE, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + "\n")
    return meta


# ---------------------------------------------------------------- what an interrupted run left


def _in_order(by_point: dict[str, list[dict]], keys: list[str]) -> list[dict]:
    """The rows in sweep order (a resumed run writes the same file as an uninterrupted one)."""
    return [row for key in keys for row in by_point.get(key, [])]


def _save_state(outdir: Path, signature: dict, name: str, by_point: dict[str, list[dict]]) -> None:
    """``.partial.json``: the configuration, and how many rows each finished point has in the partial CSV."""
    counts = {key: len(rows) for key, rows in by_point.items()}
    atomic_write(outdir / STATE, json.dumps({"signature": signature, "experiment": name,
                                             "rows_per_point": counts}, indent=1))


def _read_state(path: Path, what: str) -> dict | None:
    """The JSON object in ``path``; None (with a warning if the file is there) when unreadable."""
    state = read_json_object(path)
    if state is None and path.exists():
        warnings.warn(f"{path}: {what} is unreadable; ignoring it and measuring that experiment again",
                      ResultsWarning, stacklevel=3)
    return state


def _resumable(outdir: Path, signature: dict, points: dict[str, dict]) -> dict[str, list[dict]]:
    """The rows of an interrupted run with this configuration that can be trusted, by sweep point.

    A point is kept only if ``.partial.json`` records how many rows it has and
    the partial CSV holds exactly that many valid rows of it: every cell
    present, the point's own columns equal to the point, and no text where the
    column holds numbers. Anything else is dropped with a warning and measured
    again.
    """
    state = _read_state(outdir / STATE, ".partial.json")
    if state is None or state.get("signature") != signature:
        return {}
    counts = state.get("rows_per_point")
    cells = read_cells(outdir / PARTIAL)
    if not isinstance(counts, dict) or cells is None:
        _warn_dropped(outdir, "data.partial.csv or its row counts are unreadable")
        return {}
    valid = [parse_row(r) for r in cells if _cells_fit(r, points)]
    valid = _without_text_in_numbers(valid)
    by_point: dict[str, list[dict]] = {}
    for row in valid:
        by_point.setdefault(row["point"], []).append(row)
    kept = {key: rows for key, rows in by_point.items() if counts.get(key) == len(rows)}
    kept.update({key: [] for key, n in counts.items() if n == 0 and key in points})
    dropped = len(cells) - sum(len(rows) for rows in kept.values())
    if dropped:
        _warn_dropped(outdir, f"{dropped} of {len(cells)} rows of data.partial.csv are invalid or incomplete")
    return kept


def _warn_dropped(outdir: Path, why: str) -> None:
    warnings.warn(f"{outdir}: {why}; measuring those points again", ResultsWarning, stacklevel=4)


def _cells_fit(cells: dict, points: dict[str, dict]) -> bool:
    """Whether a raw CSV row is whole (no missing or extra cell) and belongs to a point of this sweep."""
    if None in cells or any(v is None for v in cells.values()):
        return False
    point = points.get(cells.get("point"))
    return point is not None and all(cells.get(k) == cell_text(v) for k, v in point.items())


def _without_text_in_numbers(rows: list[dict]) -> list[dict]:
    """Drop the rows with text in a column whose other values are numbers (a garbled cell)."""
    numeric = {k for row in rows for k, v in row.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    return [row for row in rows if not any(isinstance(row[k], str) for k in numeric if k in row)]


def _check_complete(name: str, rows: list[dict], by_point: dict[str, list[dict]], keys: list[str]) -> None:
    """Refuse to go on with a data file that lacks rows the sweep produced (a bug, not a user error)."""
    expected = sum(len(by_point[key]) for key in keys)
    if len(rows) != expected or set(by_point) < set(keys):
        raise RuntimeError(f"{name}: data.csv has {len(rows)} rows but the sweep produced {expected}; "
                           f"rerun without --resume")


def _clear(outdir: Path, keep_partial: bool) -> None:
    """Remove what a previous run left, the completion marker first."""
    for path in [outdir / COMPLETE, outdir / META, outdir / DATA, *outdir.glob("*.png"), *outdir.glob("*.svg")]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    if not keep_partial:
        for path in (outdir / PARTIAL, outdir / STATE):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def is_complete(outdir: Path) -> bool:
    return (Path(outdir) / COMPLETE).exists()


def run_all(modules: Iterable[ModuleType], cfg: Config, command: str | None = None) -> list[dict]:
    """Run experiments one after the other, then write ``cfg.out/README.md``."""
    cfg = check_config(cfg)
    check_out(cfg.out)
    metas = []
    with Progress(cfg.progress) as progress:
        for module in modules:
            metas.append(run_experiment(module, cfg, command, progress))
    write_index(Path(cfg.out))
    return metas
