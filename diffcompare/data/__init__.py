"""Small data sets shipped inside the package (no download): see README.md here for sources and licences."""

from __future__ import annotations

from importlib import resources

import numpy as np


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits (scikit-learn's ``load_digits``), CC BY 4.0.

    Returns:
        ``(images, labels)``: ``images`` float64 of shape (1797, 64) with pixel
        values 0..16, ``labels`` int64 of shape (1797,) with digits 0..9.
    """
    with resources.files(__name__).joinpath("digits.npz").open("rb") as fh:
        data = np.load(fh)
        return data["images"].astype(np.float64), data["labels"].astype(np.int64)


__all__ = ["load_digits"]
