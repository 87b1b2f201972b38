"""Batches in a new order every epoch, reproducibly, on any backend: the fix for a seeded ``fit(shuffle=True)``.

With the TensorFlow backend, ``keras.utils.set_random_seed(s)`` followed by
``fit(shuffle=True)`` visits the rows in the same order every epoch (lesson
07 measures it; JAX reshuffles). ``ReshuffledArrays`` keeps its own NumPy
generator, so it draws a new order each epoch and the same sequence of orders
in every run. The file imports only keras, numpy and the standard library, so
it can be copied into a project alone.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np

__all__ = ["ReshuffledArrays"]


class ReshuffledArrays(keras.utils.PyDataset):
    """``(X, y)`` in batches, in a new order every epoch, drawn from its own ``numpy.random.default_rng(seed)``.

    The fix for ``fit(shuffle=True)`` under ``keras.utils.set_random_seed``
    on TensorFlow, which repeats one order every epoch: the same seed gives
    the same sequence of orders in every run, on any backend. Pass it to
    ``fit`` with ``shuffle=False`` (``fit`` would otherwise shuffle the
    batches' order once more, with Python's ``random``). ``fit`` calls
    ``on_epoch_end`` once before the first epoch too, so epoch ``e`` visits
    the generator's permutation ``e + 1``; measured on TensorFlow and JAX,
    every epoch is served from one permutation, the next one drawn only
    after the epoch's last batch::

        model.fit(ReshuffledArrays(X, y, batch_size=32, seed=0), epochs=10, shuffle=False)
    """

    def __init__(self, X: np.ndarray, y: np.ndarray, batch_size: int, seed: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.X, self.y, self.batch_size = X, y, batch_size
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(X))

    def __len__(self) -> int:
        return math.ceil(len(self.X) / self.batch_size)

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self.order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.X[rows], self.y[rows]

    def on_epoch_end(self) -> None:
        self.order = self.rng.permutation(len(self.X))
