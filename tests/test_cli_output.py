"""Output read back as a user reads it from a log: plain progress lines with elapsed and remaining time,
nothing cut short or wrapped inside a number; in a terminal, bars with the time left."""

from __future__ import annotations

import io
import json
import re

import pytest
from typer.testing import CliRunner

from diffcompare.cli import app
from diffcompare.experiments.runner import Progress, _clock

runner = CliRunner()
LINE = re.compile(r"^(\w+) +(\d+)/(\d+)  (.*)  elapsed (\d+:\d\d), (about (\d+:\d\d) left|done|time left unknown)$")


def test_plain_progress_is_one_line_per_point_with_elapsed_and_remaining_time():
    out = io.StringIO()
    with Progress(True, terminal=False, file=out) as progress:
        task = progress.task("fd_step", 3)
        progress.advance(task, "n=1", measured=False)
        progress.advance(task, "n=2")
        progress.advance(task, "n=3")
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    assert [m.group(2) for m in parsed] == ["1", "2", "3"] and {m.group(3) for m in parsed} == {"3"}
    assert "kept from the interrupted run" in lines[0] and "time left unknown" in lines[0]
    assert parsed[1].group(7) is not None and parsed[2].group(6) == "done"


def test_a_clock_reads_minutes_and_hours():
    assert _clock(5) == "0:05" and _clock(65) == "1:05" and _clock(3725) == "1:02:05" and _clock(-1) == "0:00"


def test_a_terminal_gets_bars_with_the_time_left():
    from rich.progress import TimeRemainingColumn

    with Progress(True, terminal=True) as progress:
        assert any(isinstance(c, TimeRemainingColumn) for c in progress._bar.columns)


@pytest.mark.slow
def test_a_run_piped_to_a_file_reads_back_whole(tmp_path):
    result = runner.invoke(app, ["run", "memory", "--scale", "tiny", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    meta = json.loads((tmp_path / "memory" / "meta.json").read_text())
    progress = [line for line in lines if LINE.match(line)]
    assert len(progress) == meta["points"] and progress[-1].endswith("done")
    assert "━" not in result.output and "…" not in result.output  # no bar, nothing cut short
    for headline in meta["headline"]:  # every summary line whole, on one line of its own
        assert f"    {headline}" in lines


@pytest.mark.slow
def test_tables_off_a_terminal_are_not_squeezed():
    result = runner.invoke(app, ["demo"])
    assert result.exit_code == 0
    assert "…" not in result.output
    from diffcompare.demo import rows as demo_rows

    rows = [line for line in result.output.splitlines() if line.startswith("│")]
    assert len(rows) == len(demo_rows())  # one line per method: none wrapped onto a second line
    assert all(re.search(r"-0\.6639539\d+ ", line) for line in rows)  # every derivative whole
