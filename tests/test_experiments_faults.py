"""The runner under faults: whatever an interrupted or damaged run left, the next run finishes with
the right rows, warns about what it ignored, and never crashes on it or publishes fewer rows."""

from __future__ import annotations

import json
import types
import warnings

import pytest

from diffcompare.experiments import Config, run_all, run_experiment
from diffcompare.experiments.files import ResultsWarning, csv_text, read_csv

POINTS = 6


def fake(calls: list, fail_at: int | None = None):
    """Two rows per point (so a point can lose one), a plot that needs numbers, killable half-way."""

    def measure(point, cfg):
        if point["i"] == fail_at:
            raise KeyboardInterrupt
        calls.append(point["i"])
        return [{"method": m, "value": point["i"] ** 2 + k, "status": "ok"} for k, m in enumerate(("a", "b"))]

    def plot(rows, cfg, outdir):
        assert all(isinstance(r["value"], int) for r in rows)  # a garbled cell here is the crash the issue saw
        return []

    return types.SimpleNamespace(NAME="fake", TITLE="fake", SUMMARY="fake", measure=measure, plot=plot,
                                 points=lambda cfg: [{"i": i} for i in range(POINTS)],
                                 headline=lambda rows, cfg: [f"{len(rows)} rows"])


def cfg(tmp_path, resume=False) -> Config:
    return Config(scale="tiny", out=tmp_path, progress=False, resume=resume)


EXPECTED = [{"point": f"i={i}", "i": i, "method": m, "value": i * i + k, "status": "ok"}
            for i in range(POINTS) for k, m in enumerate(("a", "b"))]


def interrupted(tmp_path, at=3):
    """A run killed while measuring point ``at``: its folder."""
    with pytest.raises(KeyboardInterrupt):
        run_experiment(fake([], fail_at=at), cfg(tmp_path))
    return tmp_path / "fake"


def resume(tmp_path, expect_warning: bool) -> list:
    calls: list = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_experiment(fake(calls), cfg(tmp_path, resume=True))
    ours = [w for w in caught if issubclass(w.category, ResultsWarning)]
    assert bool(ours) == expect_warning, [str(w.message) for w in caught]
    assert read_csv(tmp_path / "fake" / "data.csv") == EXPECTED
    assert json.loads((tmp_path / "fake" / "meta.json").read_text())["rows"] == len(EXPECTED)
    return calls


def test_a_clean_resume_measures_only_the_missing_points_and_writes_the_same_file(tmp_path):
    interrupted(tmp_path)
    assert resume(tmp_path, expect_warning=False) == [3, 4, 5]


@pytest.mark.parametrize("resuming", [True, False])
def test_orphaned_temporary_files_are_removed(tmp_path, resuming):
    folder = interrupted(tmp_path)
    orphans = [folder / ".data.partial.csv.k1ll3d.tmp", folder / ".meta.json.abc.tmp", tmp_path / ".README.md.x.tmp"]
    for path in orphans:
        path.write_text("half a file")
    run_all([fake([])], cfg(tmp_path, resume=resuming))
    assert [p for p in orphans if p.exists()] == []


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2, 3]", bytes(range(256)), b""],
                         ids=["garbage", "json-list", "binary", "empty"])
def test_unreadable_meta_next_to_complete_is_no_state(tmp_path, content):
    run_experiment(fake([]), cfg(tmp_path))
    (tmp_path / "fake" / "meta.json").write_bytes(content)
    assert resume(tmp_path, expect_warning=True) == list(range(POINTS))
    # and the index no longer chokes on it either
    (tmp_path / "fake" / "meta.json").write_bytes(content)
    run_all([], cfg(tmp_path))


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2, 3]", bytes(range(256)), b'{"signature": 3}'],
                         ids=["garbage", "json-list", "binary", "wrong-shape"])
def test_unreadable_partial_state_starts_that_experiment_fresh(tmp_path, content):
    folder = interrupted(tmp_path)
    (folder / ".partial.json").write_bytes(content)
    warned = content != b'{"signature": 3}'  # a readable state of another configuration is simply not ours
    assert resume(tmp_path, expect_warning=warned) == list(range(POINTS))


def test_a_truncated_partial_csv_measures_the_cut_point_again(tmp_path):
    folder = interrupted(tmp_path)
    text = (folder / "data.partial.csv").read_text()
    (folder / "data.partial.csv").write_text(text[: text.rindex("\n", 0, len(text) - 1) + 8])  # cut the last row
    assert resume(tmp_path, expect_warning=True) == [2, 3, 4, 5]


def test_a_binary_partial_csv_is_no_state(tmp_path):
    folder = interrupted(tmp_path)
    (folder / "data.partial.csv").write_bytes(b"point,i\x00\xff\xfe" * 50)
    assert resume(tmp_path, expect_warning=True) == list(range(POINTS))


@pytest.mark.parametrize(("garbage", "measured_again"), [
    ("i=1,1,a,not-a-number,ok", [3, 4, 5]),      # a garbled cell where the column holds numbers
    ("i=1,7,a,1,ok", [3, 4, 5]),                  # the point's own column contradicts its key
    ("i=1,1,a,1,ok,extra", [3, 4, 5]),            # a cell too many
    ("i=1,1,a", [3, 4, 5]),                       # cells missing
    ("i=99,99,a,1,ok", [3, 4, 5]),                # a point this sweep does not have
    ('i=1,1,"a,1,ok', [1, 2, 3, 4, 5]),           # an unterminated quote swallowing the rows after it
])
def test_a_garbage_row_is_never_copied(tmp_path, garbage, measured_again):
    folder = interrupted(tmp_path)
    lines = (folder / "data.partial.csv").read_text().splitlines()
    lines.insert(3, garbage)  # between point 1's two rows
    (folder / "data.partial.csv").write_text("\n".join(lines) + "\n")
    assert resume(tmp_path, expect_warning=True) == measured_again


def test_a_point_that_lost_one_of_its_rows_is_measured_again(tmp_path):
    folder = interrupted(tmp_path)
    lines = (folder / "data.partial.csv").read_text().splitlines()
    del lines[2]  # point 0's second row
    (folder / "data.partial.csv").write_text("\n".join(lines) + "\n")
    assert resume(tmp_path, expect_warning=True) == [0, 3, 4, 5]


def test_rows_without_their_count_in_the_state_are_not_trusted(tmp_path):
    folder = interrupted(tmp_path)
    # a partial CSV longer than the state vouches for (killed between the two writes)
    rows = read_csv(folder / "data.partial.csv") + EXPECTED[6:8]
    (folder / "data.partial.csv").write_text(csv_text(rows))
    assert resume(tmp_path, expect_warning=True) == [3, 4, 5]


def test_a_data_file_short_of_rows_is_never_marked_complete(tmp_path, monkeypatch):
    from diffcompare.experiments import runner

    real = runner.read_csv
    monkeypatch.setattr(runner, "read_csv", lambda path: real(path)[:-1])  # a row lost between write and read
    with pytest.raises(RuntimeError, match="11 rows but the sweep produced 12"):
        run_experiment(fake([]), cfg(tmp_path))
    assert not (tmp_path / "fake" / ".complete").exists() and not (tmp_path / "fake" / "meta.json").exists()
