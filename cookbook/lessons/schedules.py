"""Lesson 13's tools: how far each weight moved per step, and where a loss curve peaked.

- ``flat_weights``: a model's trainable weights as one float64 vector (one
  snapshot per step, taken by the lesson's callback).
- ``step_sizes``: ``|w_t - w_(t-1)|`` per weight and step from the snapshots,
  in units of a learning rate per step.
- ``peak``: the highest value of a curve over a range of steps, and its step.

They only measure (the schedules, ``compile`` and ``fit`` are in the recipe)
and are checked against hand-made inputs in ``tests/test_lessons_schedules.py``.
"""

from cookbook.errors import LessonError

import keras
import numpy as np

__all__ = ["flat_weights", "peak", "step_sizes"]


def flat_weights(weights):
    """Every array of ``weights`` (e.g. ``model.trainable_weights``) raveled into one float64 vector.

    Args:
        weights: Keras variables or arrays, in a fixed order.
    """
    return np.concatenate([np.ravel(keras.ops.convert_to_numpy(w)).astype(np.float64) for w in weights])


def step_sizes(snapshots, learning_rates):
    """Each step's ``|w_t - w_(t-1)|`` per weight, divided by that step's learning rate.

    Args:
        snapshots: ``n + 1`` weight vectors of the same length: before step 1,
            after step 1, ..., after step ``n``.
        learning_rates: ``n`` positive numbers, the rate to divide step ``t``
            by (the peak rate to read steps in its units; the rate the
            schedule gave at that step to read Adam's own factor).

    Returns:
        A float64 array of shape ``(n, weights)``.
    """
    snapshots = np.asarray(snapshots, dtype=np.float64)
    learning_rates = np.asarray(learning_rates, dtype=np.float64)
    if snapshots.ndim != 2 or len(snapshots) < 2:
        raise LessonError(
            f"snapshots has shape {snapshots.shape}: pass at least two weight vectors of one length, "
            "the first taken before step 1"
        )
    if learning_rates.shape != (len(snapshots) - 1,) or not np.all(learning_rates > 0):
        raise LessonError(
            f"got {learning_rates.size} learning rates for {len(snapshots) - 1} steps (min "
            f"{learning_rates.min() if learning_rates.size else 'none'}): pass one positive rate per step"
        )
    return np.abs(np.diff(snapshots, axis=0)) / learning_rates[:, None]


def peak(values, first, last):
    """The highest of ``values[first : last + 1]`` and its index (a curve indexed by step).

    Args:
        values: a curve, ``values[t]`` after step ``t`` (``values[0]`` before training).
        first: first step of the range.
        last: last step of the range (clipped to the curve's end).

    Returns:
        ``(highest value, step)``; ``(nan, None)`` when the range is empty.
    """
    values = np.asarray(values, dtype=np.float64)
    window = values[first : last + 1]
    if not len(window):
        return float("nan"), None
    where = int(np.argmax(window))
    return float(window[where]), first + where
