"""Lesson 11's tools: a classifier's score in one eager pass, and when a loss curve gets under a target.

- ``evaluate_classifier``: a softmax classifier's cross-entropy and accuracy in
  one eager forward pass.
- ``epochs_to_reach``: the first epoch a loss curve gets under a target.
"""

import keras
import numpy as np

__all__ = ["epochs_to_reach", "evaluate_classifier"]


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
