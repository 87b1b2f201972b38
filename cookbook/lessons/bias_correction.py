"""Lesson 10's tools: Adam's step by hand, with each bias correction switchable.

- ``adam_step_sizes``: Adam's step in float64 NumPy with the bias correction of
  ``m`` and ``v`` switchable separately (the cookbook's ``Adam`` switches both
  together).
- ``bias_correction_ratio``: the closed form of the first steps' size for a
  constant gradient.

They only compute (the Keras training code is in the recipe) and are checked
against an independent reference in the recipe's tests.
"""

from cookbook.errors import LessonError

import numpy as np

__all__ = ["adam_step_sizes", "bias_correction_ratio"]


def adam_step_sizes(
    gradients, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, correct_m=True, correct_v=True
):
    """The size of each Adam step for a sequence of scalar gradients, in float64.

    Follows Keras's convention (``epsilon`` added to the uncorrected
    ``sqrt(v)``; see ``cookbook.optimizers.Adam``)::

        m <- b1 m + (1 - b1) g          v <- b2 v + (1 - b2) g^2
        step_t = lr * c_m * m / (c_v * (sqrt(v) + eps)),  c_m = 1/(1 - b1^t), c_v = 1/sqrt(1 - b2^t)

    where ``c_m`` (``c_v``) is 1 when ``correct_m`` (``correct_v``) is False.
    With both on this is exactly ``keras.optimizers.Adam``.

    Args:
        gradients: the gradient at steps 1, 2, ... (a 1-D sequence of numbers).
        learning_rate: ``lr``. Defaults to `0.001`.
        beta_1: decay of the first moment ``m``. Defaults to `0.9`.
        beta_2: decay of the second moment ``v``. Defaults to `0.999`.
        epsilon: added to ``sqrt(v)``. Defaults to `1e-7`.
        correct_m: divide ``m`` by ``1 - b1^t``. Defaults to `True`.
        correct_v: divide ``v`` by ``1 - b2^t``. Defaults to `True`.

    Returns:
        A float64 array of ``|step_t|``, one per gradient.
    """
    gradients = np.asarray(gradients, dtype=np.float64)
    if gradients.ndim != 1 or not len(gradients):
        raise LessonError(
            f"gradients has shape {gradients.shape}: pass a 1-D sequence of numbers, one gradient per step"
        )
    m = v = 0.0
    steps = np.empty_like(gradients)
    for t, g in enumerate(gradients, start=1):
        m = beta_1 * m + (1 - beta_1) * g
        v = beta_2 * v + (1 - beta_2) * g * g
        c_m = 1 / (1 - beta_1**t) if correct_m else 1.0
        # Keras folds sqrt(1 - b2^t) into the step size; eps stays on the uncorrected sqrt(v).
        c_v = 1 / np.sqrt(1 - beta_2**t) if correct_v else 1.0
        steps[t - 1] = abs(learning_rate * c_m * m / (c_v * (np.sqrt(v) + epsilon)))
    return steps


def bias_correction_ratio(t, beta_1=0.9, beta_2=0.999):
    """Uncorrected / corrected Adam step for a constant gradient: ``(1 - b1^t) / sqrt(1 - b2^t)``.

    For a constant gradient ``g`` the moments are ``m_t = (1 - b1^t) g`` and
    ``v_t = (1 - b2^t) g^2`` exactly, so the corrected step is ``lr`` and the
    uncorrected one ``lr (1 - b1^t) / sqrt(1 - b2^t)`` (``epsilon`` ignored).

    Args:
        t: step number(s), 1, 2, ...
        beta_1: Adam's ``beta_1``. Defaults to `0.9`.
        beta_2: Adam's ``beta_2``. Defaults to `0.999`.
    """
    t = np.asarray(t, dtype=np.float64)
    return (1 - beta_1**t) / np.sqrt(1 - beta_2**t)
