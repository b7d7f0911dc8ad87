"""``results/README.md``: every experiment's plots and headline figures, from its ``meta.json``."""

from __future__ import annotations

from pathlib import Path

from .files import COMPLETE, DATA, META, atomic_write, parse_row, read_cells, read_json_object, remove_temporaries
from .registry import REGISTRY, get

INTRO = """# results

What `diffcompare run` wrote: one folder per experiment with its data
(`data.csv`), its provenance (`meta.json`: command, configuration, seed, dtype,
device, package versions, git commit, wall time) and its plots (PNG and SVG).
A folder without a `.complete` marker holds an interrupted run (`diffcompare
run NAME --resume` finishes it). Timings depend on the machine and its load;
errors and sizes do not.
"""


def write_index(out: Path) -> Path:
    """Write ``out/README.md`` from every complete experiment under ``out``."""
    out = Path(out)
    parts = [INTRO]
    for name in REGISTRY:
        folder = out / name
        meta = read_json_object(folder / META) if (folder / COMPLETE).exists() else None
        if meta is None:
            if folder.exists():
                parts.append(f"## {name}\n\nNot complete (interrupted run; `diffcompare run {name} --resume`).\n")
            continue
        cfg = meta.get("config", {})
        parts.append(f"## [{name}]({name}/) — {meta.get('title', '')}\n")
        module = get(name)
        parts.append(f"{module.SUMMARY}.\n")
        parts.append(f"Run: `{meta.get('command', '')}` ({cfg.get('scale')} scale, {cfg.get('dtype')}, "
                     f"seed {cfg.get('seed')}, {meta.get('device')}, {meta.get('wall_time_s')} s, "
                     f"commit `{(meta.get('git_commit') or 'unknown')[:12]}`).\n")
        for line in meta.get("headline", []):
            parts.append(f"- {line}")
        parts.append("")
        cells = read_cells(folder / DATA) if hasattr(module, "table") else None
        if cells is not None:  # the experiment's own table, if it has one (and its data reads)
            parts.append(module.table([parse_row(c) for c in cells]) + "\n")
        for fig in meta.get("files", []):
            if fig.endswith(".png"):
                parts.append(f"![{name}]({name}/{fig}) ([SVG]({name}/{fig[:-4]}.svg))\n")
    path = out / "README.md"
    out.mkdir(parents=True, exist_ok=True)
    remove_temporaries(out)
    atomic_write(path, "\n".join(parts).rstrip() + "\n")
    return path
