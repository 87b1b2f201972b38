"""What the optimizer lessons (recipes 09 and 10) share: Adam's step by hand and a classifier's score.

Small tools that only compute and measure (the Keras training code is in the
recipes), each checked against an independent reference in the tests of the
recipe that uses it:

- ``adam_step_sizes``: Adam's step in float64 NumPy with the bias correction of
  ``m`` and ``v`` switchable separately (the cookbook's ``Adam`` switches both
  together), and ``bias_correction_ratio``, the closed form for a constant
  gradient (recipe 09).
- ``evaluate_classifier``: a softmax classifier's cross-entropy and accuracy in
  one eager forward pass, and ``epochs_to_reach``, the first epoch a loss curve
  gets under a target (recipe 10's race).
"""

import numpy as np

import keras

from cookbook.errors import CookbookError

__all__ = [
    "LessonError",
    "adam_step_sizes",
    "bias_correction_ratio",
    "epochs_to_reach",
    "evaluate_classifier",
]


class LessonError(CookbookError):
    """An argument the lesson helpers cannot use."""


# ---------------------------------------------------------------- Adam's bias correction

def adam_step_sizes(gradients, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                    correct_m=True, correct_v=True):
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
        raise LessonError(f"gradients has shape {gradients.shape}: pass a 1-D sequence of numbers, "
                          f"one gradient per step")
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


# ---------------------------------------------------------------- scoring a classifier

def epochs_to_reach(losses, target):
    """The first epoch (1-based) whose loss is below ``target``, or ``None``.

    Args:
        losses: the losses after epochs 1, 2, ...
        target: the loss to get under.
    """
    below = np.flatnonzero(np.asarray(losses, dtype=float) < target)
    return int(below[0]) + 1 if len(below) else None


def evaluate_classifier(model, X, y):
    """Sparse categorical cross-entropy and accuracy of a softmax classifier on ``(X, y)``.

    One eager forward pass: cheaper than ``model.evaluate``, which compiles
    a graph per model (about a second each, once per optimizer in a race).

    Args:
        model: a Keras model with a softmax output.
        X: inputs.
        y: integer class labels.

    Returns:
        ``(loss, accuracy)`` as Python floats.
    """
    probabilities = model(X, training=False)
    loss = keras.losses.sparse_categorical_crossentropy(y, probabilities)
    probabilities = keras.ops.convert_to_numpy(probabilities)
    return float(keras.ops.mean(loss)), float(np.mean(np.argmax(probabilities, axis=1) == np.asarray(y)))
