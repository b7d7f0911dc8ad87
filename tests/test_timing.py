"""The one timing helper: warm-up calls untimed, interleaved rounds, the minimum kept."""

from __future__ import annotations

import itertools

import pytest

from diffcompare import timing


def test_rounds_interleave_after_the_warm_up(monkeypatch):
    calls = []
    ticks = itertools.count()
    monkeypatch.setattr(timing.time, "perf_counter", lambda: float(next(ticks)))
    timing.best_times({"a": lambda x: calls.append(("a", x)), "b": lambda x: calls.append(("b", x))},
                      rounds=2, warmup=1, args=(7,))
    assert calls == [("a", 7), ("b", 7)] * 3  # one warm-up pass, then a, b in every round


def test_the_minimum_over_rounds_is_kept(monkeypatch):
    # each call takes 3, 1, 2 clock units in turn: the best is 1
    clock = iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(clock))
    assert timing.best_time(lambda: None, rounds=3, warmup=0) == pytest.approx(1.0)


def test_timed_keeps_the_first_result_and_times_first_and_warm_calls_apart(monkeypatch):
    clock = iter([0.0, 5.0, 5.0, 6.0, 6.0, 8.0])
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(clock))
    results = iter(["first", "second", "third"])
    out = timing.timed(lambda: next(results), rounds=2)
    assert (out.value, out.first_s, out.best_s) == ("first", 5.0, 1.0)
