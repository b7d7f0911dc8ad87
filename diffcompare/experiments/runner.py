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
import csv
import dataclasses
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import jax

from ..errors import InvalidOptionError

SCALES = ("tiny", "quick", "full")
DATA, PARTIAL, STATE, META, COMPLETE = "data.csv", "data.partial.csv", ".partial.json", "meta.json", ".complete"


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
    if cfg.dtype not in ("float64", "float32"):
        raise InvalidOptionError(f"unknown dtype {cfg.dtype!r}; choose float64 or float32")
    if cfg.device not in ("cpu", "gpu"):
        raise InvalidOptionError(f"unknown device {cfg.device!r}; choose cpu or gpu")
    if cfg.device == "gpu" and not gpu_available():
        raise InvalidOptionError("--device gpu: JAX sees no GPU here (install the gpu extra, or use --device cpu)")
    return cfg


def gpu_available() -> bool:
    try:
        return bool(jax.devices("gpu"))
    except RuntimeError:
        return False


def default_device() -> str:
    return "gpu" if gpu_available() else "cpu"


# ---------------------------------------------------------------- atomic files


def atomic_write(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and a rename."""
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def csv_text(rows: list[dict]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return buf.getvalue()


def _cell(value):
    if isinstance(value, float):
        return repr(value)
    if value is None:
        return ""
    return value


def _parse(text: str):
    if text == "":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def read_csv(path: Path) -> list[dict]:
    """Rows of a CSV this runner wrote, numbers as numbers, empty cells as None."""
    with open(path, newline="") as fh:
        return [{k: _parse(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def point_key(point: dict) -> str:
    """The key of a sweep point: its items in order, ``a=1;b=x``."""
    return ";".join(f"{k}={v}" for k, v in point.items())


# ---------------------------------------------------------------- provenance


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


class Progress:
    """A rich progress bar over a sweep (silent when ``enabled`` is false)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._bar = None

    def __enter__(self):
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
                                 TimeElapsedColumn(), TextColumn("{task.fields[point]}"), transient=False)
            self._bar.__enter__()
        return self

    def task(self, name: str, total: int):
        if self._bar is None:
            return None
        return self._bar.add_task(name, total=total, point="")

    def advance(self, task, point: str = ""):
        if self._bar is not None and task is not None:
            self._bar.update(task, advance=1, point=point)

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
    signature = cfg.signature()

    if cfg.resume and (outdir / COMPLETE).exists() and (outdir / META).exists():
        meta = json.loads((outdir / META).read_text())
        if meta.get("signature") == signature:
            meta["skipped"] = True
            return meta

    rows: list[dict] = []
    done: set[str] = set()
    state = outdir / STATE
    if cfg.resume and state.exists() and (outdir / PARTIAL).exists():
        if json.loads(state.read_text()).get("signature") == signature:
            rows = read_csv(outdir / PARTIAL)
            done = {str(r["point"]) for r in rows}
    if not done:
        rows = []
    _clear(outdir, keep_partial=bool(done))
    atomic_write(state, json.dumps({"signature": signature, "experiment": name}, indent=1))

    points = module.points(cfg)
    keys = [point_key(p) for p in points]
    if len(set(keys)) != len(keys):
        raise RuntimeError(f"{name}: two sweep points have the same key")
    start = time.perf_counter()
    progress = progress or Progress(False)
    task = progress.task(name, len(points))
    skipped = 0
    with _device_context(cfg):
        for point, key in zip(points, keys):
            if key in done:
                skipped += 1
                progress.advance(task, key)
                continue
            measured = module.measure(dict(point), cfg)
            rows += [{"point": key, **point, **row} for row in measured]
            atomic_write(outdir / PARTIAL, csv_text(rows))
            progress.advance(task, key)
        rows = [r for r in rows if str(r["point"]) in set(keys)]
        # the data is complete: it gets its final name, then the plots, meta.json, and .complete last
        atomic_write(outdir / DATA, csv_text(rows))
        rows = read_csv(outdir / DATA)  # plots and headlines from the file a reader sees
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
    from .report import write_index

    cfg = check_config(cfg)
    metas = []
    with Progress(cfg.progress) as progress:
        for module in modules:
            metas.append(run_experiment(module, cfg, command, progress))
    write_index(Path(cfg.out))
    return metas
