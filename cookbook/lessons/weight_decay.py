"""Lesson 12's tools: pixels grouped by how often they are inked, weight sizes per group, Adam's state read back.

- ``to_unit_range``: Digits pixels scaled to [0, 1], so a blank pixel feeds
  exactly 0 to the network (and its weights get no data gradient).
- ``input_groups``: the inputs split by activity (share of rows in which
  they are nonzero): never, rare, sometimes, busy.
- ``group_rms``: root-mean-square of the kernel rows leaving each group.
- ``adam_gradient_rms``: Adam's bias-corrected ``sqrt(v_hat)`` per weight,
  read from ``optimizer.variables``.
- ``l2_decay_per_step``: the share of a weight the L2 gradient removes per
  Adam step, ``lr * 2 * l2 / (sqrt(v_hat) + eps)``.
"""

from cookbook.errors import LessonError

import keras
import numpy as np

__all__ = [
    "adam_gradient_rms",
    "group_rms",
    "input_groups",
    "l2_decay_per_step",
    "to_unit_range",
]


def to_unit_range(split):
    """Training and test features scaled to [0, 1] by each feature's training min and max.

    ``cookbook.recipe.split`` standardizes; this undoes it, so that a blank
    Digits pixel (its minimum, 0 ink) feeds exactly 0 to the network. Test
    values below the training minimum are clipped to 0.

    Args:
        split: a ``cookbook.Split`` (``X_train``, ``X_test``, ``mean``, ``std``).

    Returns:
        ``(X_train, X_test)``, float32.
    """
    raw_train = split.X_train * split.std + split.mean
    raw_test = split.X_test * split.std + split.mean
    low, high = raw_train.min(axis=0), raw_train.max(axis=0)
    width = np.where(high > low, high - low, 1.0)  # a constant column stays 0, not NaN
    return (
        ((raw_train - low) / width).astype("float32"),
        np.clip((raw_test - low) / width, 0.0, None).astype("float32"),
    )


def input_groups(X, rare_below, busy_from):
    """The inputs split by activity, the share of rows in which each is nonzero.

    Args:
        X: the training features, shape (rows, inputs).
        rare_below: an input nonzero in fewer than this share of rows (but
            some) is "rare".
        busy_from: an input nonzero in at least this share of rows is "busy";
            in between is "sometimes".

    Returns:
        ``{"never": mask, "rare": mask, "sometimes": mask, "busy": mask}``:
        boolean masks over the inputs that partition them.

    Raises:
        LessonError: ``0 < rare_below <= busy_from <= 1`` does not hold.
    """
    if not 0 < rare_below <= busy_from <= 1:
        raise LessonError(
            f"rare_below={rare_below!r}, busy_from={busy_from!r}: need 0 < rare_below <= busy_from <= 1 "
            f"(shares of rows), e.g. 0.1 and 0.5"
        )
    activity = (np.asarray(X) != 0).mean(axis=0)
    return {
        "never": activity == 0,
        "rare": (activity > 0) & (activity < rare_below),
        "sometimes": (activity >= rare_below) & (activity < busy_from),
        "busy": activity >= busy_from,
    }


def group_rms(kernel, groups):
    """Root-mean-square of the kernel's entries in the rows of each group (NaN for an empty group).

    Args:
        kernel: a first-layer kernel, shape (inputs, units): row i holds the
            weights leaving input i.
        groups: ``{name: boolean mask over the inputs}``.
    """
    kernel = np.asarray(keras.ops.convert_to_numpy(kernel), dtype=np.float64)
    return {name: float(np.sqrt(np.mean(kernel[mask] ** 2))) if mask.any() else np.nan for name, mask in groups.items()}


def _adam_slot(optimizer, weight, slot):
    """The optimizer variable holding ``weight``'s ``slot`` (public API: ``.path`` of ``optimizer.variables``).

    Keras names it ``<optimizer>/<weight path with _>_<slot>``, e.g.
    ``adam/sequential_dense_kernel_velocity``.
    """
    suffix = "/" + weight.path.replace("/", "_") + "_" + slot
    found = [v for v in optimizer.variables if v.path.endswith(suffix)]
    if len(found) != 1:
        raise LessonError(
            f"no single optimizer variable ending in {suffix!r} among {[v.path for v in optimizer.variables]}: "
            f"pass an Adam-family optimizer that has trained {weight.path!r}"
        )
    return found[0]


def _to_float(value):
    return float(keras.ops.convert_to_numpy(value))


def adam_gradient_rms(optimizer, weight):
    """Each entry of ``weight``'s recent gradient RMS as Adam sees it: ``sqrt(v_hat) = sqrt(v / (1 - b2^t))``.

    Args:
        optimizer: an Adam (or AdamW) that has taken ``t >= 1`` steps on ``weight``.
        weight: one of the model's trainable variables.

    Raises:
        LessonError: the optimizer has no ``velocity`` for ``weight`` or has not stepped yet.
    """
    velocity = np.asarray(keras.ops.convert_to_numpy(_adam_slot(optimizer, weight, "velocity")), dtype=np.float64)
    t = int(keras.ops.convert_to_numpy(optimizer.iterations))
    if t < 1:
        raise LessonError("the optimizer has taken no step yet: train first (its v is still all zeros)")
    return np.sqrt(velocity / (1 - _to_float(optimizer.beta_2) ** t))


def l2_decay_per_step(optimizer, weight, l2):
    """The share of each entry of ``weight`` that an L2 penalty ``l2 * sum(w^2)`` removes per Adam step.

    The penalty adds ``2 * l2 * w`` to the gradient; Adam divides it by
    ``sqrt(v_hat) + eps``, so, while ``w`` changes slowly, the step loses
    ``lr * 2 * l2 / (sqrt(v_hat) + eps)`` of ``w``. AdamW's share is
    ``lr * weight_decay`` for every weight.

    Args:
        optimizer: the Adam that trained the model with the penalty.
        weight: one of the model's trainable variables.
        l2: the coefficient of ``keras.regularizers.L2``.
    """
    lr = _to_float(optimizer.learning_rate)
    return lr * 2 * l2 / (adam_gradient_rms(optimizer, weight) + _to_float(optimizer.epsilon))
