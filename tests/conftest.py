"""Tests run in float64 (the library's default precision) and skip GPU tests without a GPU.

Hypothesis runs derandomized (the same examples on every run, so the suite cannot fail by
chance): the ``ci`` profile, loaded by default and always when ``CI`` is set. To explore
with fresh random examples: ``pytest --hypothesis-profile=dev`` (or ``HYPOTHESIS_PROFILE=dev``).
"""

import os

import jax
import pytest
from hypothesis import settings

import diffcompare

diffcompare.enable_x64()

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", derandomize=False, deadline=None, max_examples=200, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def _has_gpu() -> bool:
    try:
        return any(d.platform == "gpu" for d in jax.devices())
    except RuntimeError:
        return False


def pytest_collection_modifyitems(config, items):
    if _has_gpu():
        return
    skip = pytest.mark.skip(reason="no GPU visible to JAX")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
