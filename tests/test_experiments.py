"""The experiments: every one in a tiny configuration, the files it writes, resume after an interruption."""

from __future__ import annotations

import json
import types
from pathlib import Path

import pytest

from diffcompare.experiments import REGISTRY, Config, get, run_all, run_experiment
from diffcompare.experiments import files as F
from diffcompare.experiments import runner as R
from diffcompare.experiments.report import write_index


def tiny(tmp_path, **kw) -> Config:
    return Config(scale="tiny", out=tmp_path, progress=False, **kw)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Each experiment run once in its tiny configuration (on demand): name -> (meta, results dir)."""
    out = tmp_path_factory.mktemp("results")
    done = {}

    def run(name):
        if name not in done:
            done[name] = run_experiment(get(name), tiny(out))
        return done[name], out

    return run


@pytest.mark.slow
@pytest.mark.parametrize("name", list(REGISTRY))
def test_every_experiment_tiny(name, tiny_run):
    module = get(name)
    meta, tmp_path = tiny_run(name)
    folder = tmp_path / name
    for f in ("data.csv", "meta.json", ".complete"):
        assert (folder / f).exists(), f
    assert not (folder / "data.partial.csv").exists() and not (folder / ".partial.json").exists()
    pngs, svgs = list(folder.glob("*.png")), list(folder.glob("*.svg"))
    assert pngs and len(pngs) == len(svgs)
    assert all(p.stat().st_size > 1000 for p in pngs + svgs)
    saved = json.loads((folder / "meta.json").read_text())
    for key in ("command", "config", "signature", "device", "versions", "git_commit",
                "wall_time_s", "headline"):
        assert key in saved, key
    assert saved["config"]["seed"] == 0 and saved["config"]["dtype"] == "float64"
    assert saved == json.loads(json.dumps(meta))
    rows = R.read_csv(folder / "data.csv")
    assert rows and len({r["point"] for r in rows}) == len(module.points(tiny(tmp_path)))
    # a method may refuse a problem (recorded as unsupported), but nothing may crash
    assert all(r.get("status") in (None, "ok", "unsupported") for r in rows), [r for r in rows
                                                                               if r.get("status") == "error"]
    assert saved["headline"], "every experiment reports its headline figures"
    no_temp = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert not no_temp


@pytest.mark.slow
def test_fd_step_slopes_and_optimal_steps(tiny_run):
    """The course's claims that need no timing: forward error ~h, central ~h², best h near ε^(1/2), ε^(1/3)."""
    module = get("fd_step")
    _, tmp_path = tiny_run("fd_step")
    stats = {(a["dtype"], a["scheme"]): a for a in module.analyse(R.read_csv(tmp_path / "fd_step" / "data.csv"))}
    fwd, cen = stats["float64", "forward"], stats["float64", "central"]
    assert fwd["truncation_slope"] == pytest.approx(1.0, abs=0.25)
    assert cen["truncation_slope"] == pytest.approx(2.0, abs=0.3)
    assert fwd["roundoff_slope"] == pytest.approx(-1.0, abs=0.35)
    # best measured step within a decade and a half of ε^(1/(p+1)) (the grid has one step per decade here)
    for a in (fwd, cen):
        assert abs(__import__("math").log10(a["h_best"] / a["h_theory"])) <= 1.5
    assert stats["float64", "complex"]["err_best"] < 1e-14


@pytest.mark.slow
def test_accuracy_exact_methods_agree_with_jax(tiny_run):
    module = get("accuracy")
    _, tmp_path = tiny_run("accuracy")
    rows = R.read_csv(tmp_path / "accuracy" / "data.csv")
    for r in rows:
        if r["method"] in ("forward", "reverse", "symbolic") and r["status"] == "ok":
            assert r["rel_error"] < 1e-12, r
        if r["method"] == "finite_diff":
            assert r["status"] == "ok" and r["rel_error"] < 1e-5, r
    # symbolic tracing cannot follow value-dependent control flow: recorded, not raised
    branchy = [r for r in rows if r["problem"] == "branchy" and r["method"] == "symbolic"]
    assert branchy and branchy[0]["status"] == "unsupported" and "Concretization" in branchy[0]["message"]
    assert "| problem |" in module.table(rows)


@pytest.mark.slow
def test_swell_graph_stays_small_tree_swells(tiny_run):
    _, tmp_path = tiny_run("swell")
    rows = [r for r in R.read_csv(tmp_path / "swell" / "data.csv") if r["family"] == "logistic_map"]
    rows.sort(key=lambda r: r["size"])
    assert all(r["rev_graph"] <= 4 * r["f_graph"] + 4 for r in rows)
    assert rows[-1]["rev_tree"] > rows[-1]["rev_graph"]


@pytest.mark.slow
def test_memory_checkpointing_shrinks_the_tape(tiny_run):
    _, tmp_path = tiny_run("memory")
    rows = R.read_csv(tmp_path / "memory" / "data.csv")
    deepest = max(r["depth"] for r in rows)
    by = {r["policy"]: r for r in rows if r["depth"] == deepest}
    plain = by["reverse"]["tape_bytes"]
    assert by["reverse (checkpoint every layer)"]["tape_bytes"] < plain
    shallow = min(r["depth"] for r in rows)
    small = next(r for r in rows if r["depth"] == shallow and r["policy"] == "reverse")["tape_bytes"]
    assert plain > small  # the tape grows with depth


# ---------------------------------------------------------------- resume and atomic files


def fake_experiment(calls: list, fail_at: int | None = None, exc=KeyboardInterrupt):
    """A tiny experiment that records which points it measured and can fail half-way."""

    def measure(point, cfg):
        if fail_at is not None and point["i"] == fail_at:
            raise exc("killed half-way")
        calls.append(point["i"])
        return [{"value": point["i"] ** 2 + cfg.seed, "status": "ok"}]

    def plot(rows, cfg, outdir):
        from diffcompare.experiments import plotting

        with plotting.style():
            fig, ax = plotting.plt.subplots()
            plotting.line(ax, [r["i"] for r in rows], [r["value"] for r in rows], "reverse")
            return plotting.save(fig, outdir, "fake")

    return types.SimpleNamespace(NAME="fake", TITLE="fake", SUMMARY="fake", points=lambda cfg: [{"i": i}
                                 for i in range(6)], measure=measure, plot=plot,
                                 headline=lambda rows, cfg: [f"{len(rows)} rows"])


def looks_complete(folder: Path) -> bool:
    return any((folder / f).exists() for f in ("data.csv", "meta.json", ".complete")) or any(folder.glob("*.png"))


def test_interrupted_run_leaves_nothing_that_looks_complete_and_resume_finishes(tmp_path):
    calls: list = []
    with pytest.raises(KeyboardInterrupt):
        run_experiment(fake_experiment(calls, fail_at=3), tiny(tmp_path))
    folder = tmp_path / "fake"
    assert calls == [0, 1, 2]
    assert not looks_complete(folder)
    partial = R.read_csv(folder / "data.partial.csv")
    assert [r["i"] for r in partial] == [0, 1, 2]

    calls.clear()
    meta = run_experiment(fake_experiment(calls), tiny(tmp_path, resume=True))
    assert calls == [3, 4, 5], "resume measures only the points an interrupted run lacks"
    assert meta["points_resumed"] == 3 and R.is_complete(folder)
    rows = R.read_csv(folder / "data.csv")
    assert [r["i"] for r in rows] == list(range(6)) and [r["value"] for r in rows] == [i * i for i in range(6)]
    assert not (folder / "data.partial.csv").exists()

    # a complete run with the same configuration is left as it is
    calls.clear()
    assert run_experiment(fake_experiment(calls), tiny(tmp_path, resume=True)).get("skipped")
    assert calls == []


def test_resume_with_another_configuration_starts_over(tmp_path):
    calls: list = []
    with pytest.raises(RuntimeError):
        run_experiment(fake_experiment(calls, fail_at=2, exc=RuntimeError), tiny(tmp_path))
    calls.clear()
    run_experiment(fake_experiment(calls), tiny(tmp_path, resume=True, seed=1))
    assert calls == list(range(6))
    assert [r["value"] for r in R.read_csv(tmp_path / "fake" / "data.csv")] == [i * i + 1 for i in range(6)]


def test_rerun_without_resume_clears_the_old_completion_first(tmp_path):
    calls: list = []
    run_experiment(fake_experiment(calls), tiny(tmp_path))
    assert R.is_complete(tmp_path / "fake")
    with pytest.raises(KeyboardInterrupt):
        run_experiment(fake_experiment(calls, fail_at=1), tiny(tmp_path))
    assert not looks_complete(tmp_path / "fake")


@pytest.mark.slow
def test_real_experiment_killed_half_way_then_resumed(tmp_path, monkeypatch):
    module = get("memory")
    cfg = tiny(tmp_path)
    points = module.points(cfg)
    assert len(points) >= 2
    real = module.measure
    seen = []

    def dying(point, cfg):
        if len(seen) == 1:
            raise KeyboardInterrupt
        seen.append(point)
        return real(point, cfg)

    monkeypatch.setattr(module, "measure", dying)
    with pytest.raises(KeyboardInterrupt):
        run_experiment(module, cfg)
    assert not looks_complete(tmp_path / "memory")
    resumed = []

    def counting(point, cfg):
        resumed.append(point)
        return real(point, cfg)

    monkeypatch.setattr(module, "measure", counting)
    run_experiment(module, tiny(tmp_path, resume=True))
    assert resumed == points[1:]
    assert R.is_complete(tmp_path / "memory")


def test_atomic_write_leaves_no_temp_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "x.csv"
    R.atomic_write(target, "old\n")

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(F.os, "replace", broken)
    with pytest.raises(OSError):
        R.atomic_write(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_csv_round_trip(tmp_path):
    rows = [{"point": "a=1", "x": 1, "y": 0.1 + 0.2, "s": "ok", "none": None, "flag": True}]
    R.atomic_write(tmp_path / "d.csv", R.csv_text(rows))
    back = R.read_csv(tmp_path / "d.csv")
    assert back == [{"point": "a=1", "x": 1, "y": 0.1 + 0.2, "s": "ok", "none": None, "flag": True}]


def test_index_lists_complete_experiments_and_flags_interrupted_ones(tmp_path):
    calls: list = []
    run_all([get("memory")], tiny(tmp_path))
    (tmp_path / "swell").mkdir()  # an interrupted run: a folder without .complete
    index = write_index(tmp_path).read_text()
    assert "## [memory](memory/)" in index and "memory/memory.png" in index and "memory/memory.svg" in index
    assert "## swell" in index and "Not complete" in index
    assert "fd_step" not in index and not calls


@pytest.mark.slow
def test_same_numbers_on_rerun(tmp_path, tiny_run):
    """Errors and sizes (not timings) are the same on a second run."""
    _, first = tiny_run("swell")
    # a compiled symbolic derivative kept alive in between (as the accuracy experiment leaves one) must not
    # change the sizes the second run measures
    from diffcompare import symbolic
    from diffcompare.problems import PROBLEMS

    inst = PROBLEMS["mlp_l2"].make(size=1, seed=1)
    symbolic.grad(inst.fun)(*inst.args)
    run_experiment(get("swell"), tiny(tmp_path))
    a, b = R.read_csv(first / "swell" / "data.csv"), R.read_csv(tmp_path / "swell" / "data.csv")
    assert len(a) == len(b)
    for x, y in zip(a, b):
        differ = {k: (x[k], y.get(k)) for k in x if not k.endswith("_s") and x[k] != y.get(k)}
        assert not differ, (x["point"], differ)


def test_bad_configuration_is_refused():
    from diffcompare.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="dtype"):
        R.check_config(Config(dtype="float16"))
    with pytest.raises(InvalidOptionError, match="scale"):
        R.check_config(Config(scale="huge"))
    with pytest.raises(InvalidOptionError, match="unknown experiment"):
        get("nope")
    if not R.gpu_available():
        with pytest.raises(InvalidOptionError, match="GPU"):
            R.check_config(Config(device="gpu"))


def test_an_experiment_with_a_table_hook_gets_its_table_in_the_index(tmp_path, monkeypatch):
    from diffcompare.experiments import report

    with_table = fake_experiment([])
    with_table.NAME = "tabled"
    with_table.table = lambda rows: "| i |\n| --- |\n" + "\n".join(f"| {r['i']} |" for r in rows)
    without = fake_experiment([])
    modules = {"tabled": with_table, "fake": without}
    monkeypatch.setattr(report, "REGISTRY", dict.fromkeys(modules))
    monkeypatch.setattr(report, "get", modules.__getitem__)
    run_all(list(modules.values()), tiny(tmp_path))
    index = (tmp_path / "README.md").read_text()
    assert "| i |\n| --- |\n| 0 |" in index and index.count("| --- |") == 1
    (tmp_path / "tabled" / "data.csv").write_bytes(b"\xff\x00 not a csv")  # damaged after the run
    assert "| --- |" not in write_index(tmp_path).read_text()
