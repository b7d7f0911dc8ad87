"""Applications built on the engines, kept out of the engines' cores.

:mod:`.train` trains an MLP on the handwritten digits with the reverse
engine's gradients (``python -m diffcompare.apps.train``).

    >>> from diffcompare.apps import train
    >>> params, history = train.train(steps=100)
"""

from __future__ import annotations

from . import train

__all__ = ["train"]
