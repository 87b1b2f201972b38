"""How far apart two runs ended: the one measure lessons 17 to 16 share.

``max_difference(a, b)`` is the largest entry-wise ``|a - b|`` over two lists
of weights, in float64: twin against built-in, mirrored against one device,
resumed against never stopped, Keras 2 against Keras 3. Either list may hold
NumPy arrays (``model.get_weights()``), Keras variables
(``model.trainable_variables``) or backend tensors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cookbook.errors import LessonError

import keras
import numpy as np

__all__ = ["max_difference"]


def max_difference(weights_a: Sequence[Any], weights_b: Sequence[Any]) -> float:
    """The largest ``|a - b|`` over matching arrays of two weight lists, in float64.

    A NaN anywhere makes the result NaN (a broken run must not read as a small gap).

    Raises:
        LessonError: the lists differ in length or in an array's shape.
    """
    if len(weights_a) != len(weights_b):
        raise LessonError(
            f"{len(weights_a)} weights against {len(weights_b)}: compare the same model's weights "
            "(two models of one architecture)"
        )
    gaps = []
    for a, b in zip(weights_a, weights_b):
        a = np.asarray(keras.ops.convert_to_numpy(a), dtype=np.float64)
        b = np.asarray(keras.ops.convert_to_numpy(b), dtype=np.float64)
        if a.shape != b.shape:
            raise LessonError(f"shapes {a.shape} and {b.shape} differ: compare two models of one architecture")
        gaps.append(np.max(np.abs(a - b)) if a.size else 0.0)
    return float(np.max(gaps)) if gaps else 0.0
