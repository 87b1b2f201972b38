"""The four losses every Keras beginner meets, and two for rare classes, written from their formulas.

Each function here is a from-scratch twin of the ``keras.losses`` function
of the same name: same arguments, same per-sample result (one number per
sample; ``model.fit`` then averages them over the batch), written with
``keras.ops`` so it runs on any backend and can be passed straight to
``model.compile(loss=...)``:

>>> import cookbook
>>> import keras
>>> import numpy as np
>>> y_true = np.array([[0.0, 1.0], [1.0, 0.0]], "float32")  # one-hot labels of two samples
>>> y_pred = np.array([[0.2, 0.8], [0.6, 0.4]], "float32")  # their predicted class probabilities
>>> loss = cookbook.losses.categorical_crossentropy(y_true, y_pred)
>>> keras.ops.convert_to_numpy(loss).round(4)  # -log 0.8 and -log 0.6
array([0.2231, 0.5108], dtype=float32)
>>> np.allclose(loss, keras.losses.categorical_crossentropy(y_true, y_pred))
True
>>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, "softmax")])
>>> model.compile(optimizer="adam", loss=cookbook.losses.categorical_crossentropy)

Which loss goes with which output layer and label encoding, one row per task
of ``cookbook.HEAD_RULES`` (``tests/test_heads.py`` keeps this copy equal to
the table):

| task | units | activation | loss | labels |
|---|---|---|---|---|
| regression | num_targets (1 by default) | linear | mean_squared_error | real numbers, shape (N,) or (N, num_targets) |
| binary | 1 | sigmoid | binary_crossentropy | 0/1 integers, shape (N,) or (N, 1) |
| binary_softmax | 2 | softmax | sparse_categorical_crossentropy | 0/1 integers, shape (N,) or (N, 1) |
| multiclass | num_classes | softmax | sparse_categorical_crossentropy | integers 0..C-1, shape (N,) or (N, 1) |
| multiclass_onehot | num_classes | softmax | categorical_crossentropy | one-hot rows, shape (N, C) (keras.utils.to_categorical) |
| multilabel | num_labels | sigmoid | binary_crossentropy | 0/1 matrix, shape (N, L), several 1s per row allowed |

With ``from_logits=True`` the output layer has no activation and the loss
applies sigmoid/softmax itself, in a numerically safer form
(``cookbook.output_head(task, from_logits=True)`` builds that pair; see
``cookbook.check_setup`` for the mistakes it catches).

When one class is much rarer than the others, the focal losses take the
place of the cross-entropy on the same output and labels:
``binary_focal_crossentropy`` for ``binary_crossentropy`` (binary and
multilabel rows), ``categorical_focal_crossentropy`` for
``categorical_crossentropy`` (one-hot rows; Keras has no sparse focal loss).
Both multiply each cross-entropy term by ``(1 - p_t)^gamma``, which turns
down the examples the model already gets right (lesson 06 on imbalanced
classes).

Three details copied from Keras on purpose, so the numbers match to float
precision:

* on the TensorFlow backend, a probability tensor made by Keras's own
  ``sigmoid`` or ``softmax`` (the activation of a ``Dense`` layer,
  ``keras.activations``) remembers the logits it came from, and Keras's
  cross-entropies then compute the loss from those logits instead of the
  rounded probabilities: a saturated ``Dense(1, "sigmoid")`` that is
  confidently wrong still gets a large loss and a useful gradient, where
  clipping would give 16.1 and a zero gradient. These losses do the same
  (``_logits_kept_by_keras``). Probabilities from anywhere else (NumPy
  arrays, your own ``ops.sigmoid``) are clipped, and so is every output on
  the other backends (JAX, PyTorch), whose Keras losses never read kept
  logits. ``categorical_focal_crossentropy`` reads them neither in Keras
  nor here: it always clips;
* probabilities are clipped to ``[eps, 1 - eps]`` (``eps =
  keras.config.epsilon()``, ``1e-7``) before the logarithm, so an exact 0
  or 1 gives a large but finite loss instead of ``inf``;
* ``categorical_crossentropy`` first rescales each row of probabilities to
  sum to 1, and so does ``sparse_categorical_crossentropy``: after clipping,
  through a log-softmax of the log-probabilities, on TensorFlow; before
  clipping, by dividing by the row sum, on the other backends. The two
  orders differ only for probabilities within ``eps`` of 0 or 1 (an exact
  one-hot row costs ``4.8e-7`` one way and ``1.2e-7`` the other, with five
  classes).

On JAX, float64 inputs are computed in float32, by Keras's losses and these
alike, unless JAX's 64-bit mode is on (``jax.config.update("jax_enable_x64",
True)``): JAX turns 64-bit arrays into 32-bit ones by default.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from cookbook.errors import SetupError
from cookbook.heads import check_class_labels

import keras
import numpy as np
from keras import ops

# Keras ships no type information, so to a type checker every tensor is Any; these names are for the reader.
TensorLike: TypeAlias = Any  # what keras.ops takes: a backend tensor, a NumPy array, nested lists of numbers
Tensor: TypeAlias = Any  # what keras.ops returns: a tensor of the backend (a tf.Tensor on TensorFlow)

__all__ = [
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "mean_squared_error",
    "sparse_categorical_crossentropy",
]

# What a binary loss says when the labels do not give one 0/1 value per output unit.
_ONE_LABEL_PER_UNIT = (
    "give one 0/1 label per output unit: shape (N,) or (N, 1) for Dense(1, 'sigmoid'), "
    "(N, num_labels) for a multi-label head"
)


def mean_squared_error(y_true: TensorLike, y_pred: TensorLike) -> Tensor:
    """Mean squared error of each sample, averaged over its last axis.

    With ``y`` the target and ``ŷ`` the prediction of one sample, over its
    ``d`` output values::

        loss = (1/d) * Σ_j (y_j - ŷ_j)²

    When to use it: regression (one or several real-valued targets), with a
    linear output (``Dense(num_targets)``, no activation) and the targets as
    real numbers, shape ``(N,)`` or ``(N, num_targets)``. Squaring makes one
    large error cost as much as many small ones; ``mean_absolute_error`` is
    the robust alternative. Keras counterpart:
    ``keras.losses.mean_squared_error`` (``loss="mean_squared_error"`` or
    ``"mse"``, class ``keras.losses.MeanSquaredError``).

    Args:
        y_true: targets, shape ``(N, ..., d)``; ``(N,)`` also works against
            an ``(N, 1)`` prediction.
        y_pred: predictions, same shape as ``y_true``.

    Returns:
        The loss of each sample: ``y_pred``'s shape without its last axis.
    """
    y_pred = _as_float(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    y_true, y_pred = _match_rank(y_true, y_pred)
    return ops.mean(ops.square(y_true - y_pred), axis=-1)


def binary_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Binary cross-entropy of each sample, averaged over its last axis.

    With ``y`` in ``[0, 1]`` the label, ``p`` the predicted probability that
    the label is 1, and ``x`` the logit (``p = sigmoid(x)``), for each of the
    ``d`` outputs of a sample::

        loss_j = -[y log p + (1 - y) log(1 - p)]                 (probabilities)
        loss_j = max(x, 0) - x y + log(1 + exp(-|x|))            (from_logits)
        loss   = (1/d) * Σ_j loss_j

    The logits form is the same quantity rearranged so that no ``exp``
    overflows: it stays finite for logits of ±1e4. Probabilities are
    clipped to ``[eps, 1 - eps]`` first, as Keras does, so ``p = 0`` or
    ``p = 1`` give a finite loss (about 16.1 for a confident wrong answer);
    the output of a Keras sigmoid is scored from its logits instead (see
    the module docstring).

    Where this twin differs from Keras on purpose: the output of a Keras
    *softmax* also carries its logits, and ``keras.losses.binary_crossentropy``
    (TensorFlow backend, Keras 3.15) scores it as if they were sigmoid logits,
    so ``Dense(2, "softmax")`` + ``binary_crossentropy`` reports and trains on
    a number that is not the cross-entropy of the predicted probabilities
    (0.851 against a true 1.039 on a measured example). This twin computes
    the true binary cross-entropy of the probabilities there; use
    ``categorical_crossentropy`` with a softmax (``cookbook.check_setup``
    refuses the combination).

    Label smoothing pulls every label towards 0.5:
    ``y = y (1 - label_smoothing) + 0.5 label_smoothing``.

    When to use it: binary classification with ``Dense(1, "sigmoid")`` and
    0/1 labels of shape ``(N,)`` or ``(N, 1)``; multi-label classification
    (each sample may have several labels) with
    ``Dense(num_labels, "sigmoid")`` and a 0/1 matrix ``(N, num_labels)``.
    Use ``from_logits=True`` with a linear output (no activation) instead of
    the sigmoid, never with both. Keras counterpart:
    ``keras.losses.binary_crossentropy`` (``loss="binary_crossentropy"``,
    class ``keras.losses.BinaryCrossentropy``).

    Args:
        y_true: 0/1 labels (or probabilities in ``[0, 1]``), same shape as
            ``y_pred``; ``(N,)`` also works against an ``(N, 1)`` output.
        y_pred: predicted probabilities, or logits with ``from_logits=True``.
        from_logits: whether ``y_pred`` holds logits (no sigmoid applied).
            Defaults to `False`.
        label_smoothing: float in ``[0, 1]``; ``0`` means no smoothing.
            Defaults to `0.0`.
        axis: the axis averaged over; only the last axis is supported, as
            everywhere in this cookbook. Defaults to `-1`.

    Returns:
        The loss of each sample: ``y_pred``'s shape without its last axis.
    """
    kept = _kept_logits(y_pred)
    y_pred = _as_float(kept if (kept is not None and from_logits) else y_pred)
    _check_last_axis(axis, y_pred, "binary_crossentropy")
    y_true = ops.cast(y_true, y_pred.dtype)
    y_true, y_pred = _match_rank(y_true, y_pred)
    _check_same_shape(
        y_true,
        y_pred,
        "binary_crossentropy",
        _ONE_LABEL_PER_UNIT,
    )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        return ops.mean(_bce_from_logits(y_true, y_pred), axis=-1)
    return ops.mean(_bce_of_probabilities(y_true, y_pred, kept), axis=-1)


def _bce_of_probabilities(y_true, p, kept):
    """Binary cross-entropy of each output probability ``p``, from its sigmoid logit where Keras kept one."""
    per_output = _bce_from_probabilities(y_true, p)
    if kept is None:
        return per_output
    # Keras keeps the logits of a sigmoid *and* of a softmax on its output tensor and scores binary
    # cross-entropy from them as if each were a sigmoid logit: right for a sigmoid, wrong for a
    # softmax (the loss of Dense(2, "softmax") + binary_crossentropy is then not the cross-entropy
    # of its probabilities). We use a kept logit only where it is the sigmoid logit of that output.
    x = _as_float(kept)
    _, x = _match_rank(y_true, x)
    is_sigmoid_logit = ops.abs(ops.sigmoid(x) - p) <= 1e-6
    return ops.where(is_sigmoid_logit, _bce_from_logits(y_true, x), per_output)


def _bce_from_logits(y_true, x):
    # log(1 + exp(-|x|)) never overflows; max(x, 0) - x*y restores the sign.
    return ops.maximum(x, 0.0) - x * y_true + ops.log1p(ops.exp(-ops.abs(x)))


def _bce_from_probabilities(y_true, p):
    eps = keras.config.epsilon()
    p = ops.clip(p, eps, 1.0 - eps)
    return -(y_true * ops.log(p) + (1.0 - y_true) * ops.log(1.0 - p))


def categorical_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Categorical cross-entropy of each sample, with one-hot labels.

    With ``y`` the one-hot label row (``y_k = 1`` for the true class ``k``),
    ``p`` the predicted class probabilities and ``x`` the logits
    (``p = softmax(x)``), over the ``C`` classes::

        loss = -Σ_c y_c log p_c                                  (probabilities)
        loss = -Σ_c y_c (x_c - m - log Σ_c' exp(x_c' - m)),   m = max_c x_c   (from_logits)

    For a one-hot row this is just ``-log p_k``. Subtracting the largest
    logit ``m`` (the log-sum-exp trick) keeps every ``exp`` at most 1, so
    the loss stays finite for logits of ±1e4. Probabilities are first
    rescaled so that each row sums to 1, then clipped to ``[eps, 1 - eps]``,
    exactly as Keras does.

    Label smoothing spreads part of the label over all classes:
    ``y = y (1 - label_smoothing) + label_smoothing / C``.

    When to use it: single-label multiclass classification (two or more
    classes) with ``Dense(num_classes, "softmax")`` and one-hot labels of
    shape ``(N, num_classes)`` (``keras.utils.to_categorical(y)``). With
    integer labels use ``sparse_categorical_crossentropy`` instead: same
    loss, no one-hot matrix. Never with a single output unit: softmax over
    one class is always 1 and the loss is always 0. Keras counterpart:
    ``keras.losses.categorical_crossentropy``
    (``loss="categorical_crossentropy"``, class
    ``keras.losses.CategoricalCrossentropy``).

    Args:
        y_true: one-hot labels (or any rows of class probabilities), shape
            ``(N, ..., C)``.
        y_pred: predicted probabilities, or logits with ``from_logits=True``,
            same shape as ``y_true``.
        from_logits: whether ``y_pred`` holds logits (no softmax applied).
            Defaults to `False`.
        label_smoothing: float in ``[0, 1]``; ``0`` means no smoothing.
            Defaults to `0.0`.
        axis: the class axis; only the last axis is supported. Defaults to
            `-1`.

    Returns:
        The loss of each sample: ``y_pred``'s shape without its last axis.
    """
    y_pred, from_logits = _logits_kept_by_keras(y_pred, from_logits)
    y_pred = _as_float(y_pred)
    _check_last_axis(axis, y_pred, "categorical_crossentropy")
    y_true = ops.cast(y_true, y_pred.dtype)
    _check_same_shape(
        y_true,
        y_pred,
        "categorical_crossentropy",
        "one-hot encode the labels with keras.utils.to_categorical(y, num_classes), or keep "
        "integer labels and use sparse_categorical_crossentropy",
    )
    if label_smoothing:
        num_classes = ops.cast(ops.shape(y_true)[-1], y_pred.dtype)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    if from_logits:
        log_p = _log_softmax(y_pred)
    else:
        p = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
        eps = keras.config.epsilon()
        log_p = ops.log(ops.clip(p, eps, 1.0 - eps))
    return -ops.sum(y_true * log_p, axis=-1)


def sparse_categorical_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> Tensor:
    """Categorical cross-entropy of each sample, with integer labels.

    With ``k`` the integer label of a sample, ``p`` its predicted class
    probabilities and ``x`` its logits::

        loss = -log p_k                                          (probabilities)
        loss = -(x_k - m - log Σ_c exp(x_c - m)),   m = max_c x_c   (from_logits)

    It is ``categorical_crossentropy`` with the one-hot row never built: the
    same number for the same model, so the choice between the two is only
    about how the labels are stored. As in Keras, each row of probabilities
    is rescaled to sum to 1 and clipped to ``[eps, 1 - eps]``: on
    TensorFlow clipped first, then normalised through a log-softmax of the
    logarithms; on the other backends divided by its sum first, then
    clipped (the module docstring has the difference).

    When to use it: single-label multiclass classification with
    ``Dense(num_classes, "softmax")`` (or no activation and
    ``from_logits=True``) and integer labels ``0 .. num_classes - 1`` of
    shape ``(N,)`` or ``(N, 1)``; also a two-way softmax for a binary task.
    Keras counterpart: ``keras.losses.sparse_categorical_crossentropy``
    (``loss="sparse_categorical_crossentropy"``, class
    ``keras.losses.SparseCategoricalCrossentropy``).

    ``ignore_class`` names a "void" label (often ``255`` or ``-1`` in
    segmentation maps, or any real class you want left out): its entries
    get loss 0, and, as in Keras, the result carries a mask of the other
    entries, so the ``"sum_over_batch_size"`` mean that ``model.compile``
    (or a ``keras.losses.Loss`` whose ``call`` returns this) takes divides
    by the number of entries *not* ignored, not by all of them, as
    ``keras.losses.SparseCategoricalCrossentropy(ignore_class=...)`` does.
    Called alone, the function returns the per-entry losses with the zeros
    in place; average them as ``sum / count of labels != ignore_class``.
    Pass it to ``compile`` as
    ``functools.partial(sparse_categorical_crossentropy, ignore_class=255)``.

    Args:
        y_true: integer class labels, shape ``(N, ...)`` or ``(N, ..., 1)``.
        y_pred: predicted probabilities, or logits with ``from_logits=True``,
            shape ``(N, ..., C)``.
        from_logits: whether ``y_pred`` holds logits (no softmax applied).
            Defaults to `False`.
        ignore_class: an integer label whose entries add no loss and are
            left out of the mean, or `None` to score every entry. It may lie
            inside ``0 .. C-1`` or outside it. Defaults to `None`.
        axis: the class axis; only the last axis is supported. Defaults to
            `-1`.

    Returns:
        The loss of each sample: ``y_pred``'s shape without its last axis.
        Inside a compiled step (tensor labels, not checked) a label outside
        ``0 .. C-1`` other than ``ignore_class`` makes its loss ``inf``,
        never a silent 0, and a fractional label is truncated to an
        integer, as Keras does.

    Raises:
        SetupError: labels given as NumPy values (an array, list or tuple)
            that are not whole numbers (stricter than Keras, which silently
            truncates ``1.7`` to class 1) or that lie outside ``0 .. C-1``
            other than ``ignore_class``; labels whose shape is not
            ``y_pred``'s without its last axis (one-hot rows, say); an
            ``axis`` other than the last.
    """
    y_pred, from_logits = _logits_kept_by_keras(y_pred, from_logits)
    y_pred = _as_float(y_pred)
    _check_last_axis(axis, y_pred, "sparse_categorical_crossentropy")
    if isinstance(y_true, (np.ndarray, list, tuple)):
        labels = np.asarray(y_true)
        check_class_labels(
            labels if ignore_class is None else labels[labels != ignore_class],
            y_pred.shape[-1],
            "sparse_categorical_crossentropy",
        )
    y_true = ops.convert_to_tensor(y_true)
    if len(y_true.shape) == len(y_pred.shape) and y_true.shape[-1] == 1:
        y_true = ops.squeeze(y_true, axis=-1)  # (N, 1) labels -> (N,)
    if not _shapes_compatible(y_true.shape, y_pred.shape[:-1]):
        raise SetupError(
            f"sparse_categorical_crossentropy got labels of shape {tuple(y_true.shape)} for outputs of shape "
            f"{tuple(y_pred.shape)}; it needs one integer label per sample, shape (N,) or (N, 1). One-hot "
            "labels go with categorical_crossentropy (or turn them back with labels.argmax(axis=-1))"
        )
    labels = ops.cast(y_true, "int32")
    if ignore_class is not None:
        # As Keras does: score ignored entries as label 0 with outputs 0, then zero their loss.
        # Their own label would give +inf below (or a NaN output would spread), and the
        # gradient of where() multiplies that by 0: NaN.
        valid = ops.not_equal(labels, ignore_class)
        labels = ops.where(valid, labels, 0)
        y_pred = ops.where(ops.expand_dims(valid, -1), y_pred, ops.zeros_like(y_pred))
    eps = keras.config.epsilon()
    if from_logits:
        log_p = _log_softmax(y_pred)
    elif keras.backend.backend() == "tensorflow":
        # Keras's TensorFlow backend clips, takes the log and hands it to TensorFlow's softmax
        # cross-entropy, which normalises the clipped rows.
        log_p = _log_softmax(ops.log(ops.clip(y_pred, eps, 1.0 - eps)))
    else:
        # Its JAX, PyTorch and NumPy backends normalise the rows first, then clip, as for one-hot labels.
        log_p = ops.log(ops.clip(y_pred / ops.sum(y_pred, axis=-1, keepdims=True), eps, 1.0 - eps))
    # Pick log p_k for each sample's label k: a one-hot mask summed over classes.
    num_classes = y_pred.shape[-1]
    picked = ops.one_hot(labels, num_classes, dtype=y_pred.dtype)
    # A label outside 0..C-1 one-hot encodes to a row of zeros, which would read as a
    # perfect prediction (loss 0). Subtracting log(row sum) adds 0 for every valid
    # label and +inf for an invalid one, so the mistake shows up in the loss.
    loss = -ops.sum(picked * log_p, axis=-1) - ops.log(ops.sum(picked, axis=-1))
    if ignore_class is None:
        return loss
    loss = ops.where(valid, loss, ops.zeros_like(loss))
    _attach_keras_mask(loss, valid)
    return loss


def _attach_keras_mask(loss, valid):
    """Mark the entries that count, where Keras's ``Loss.__call__`` looks for them.

    Keras's own ``sparse_categorical_crossentropy`` does the same: a
    ``"sum_over_batch_size"`` reduction then divides by the number of
    ``valid`` entries instead of all of them (``keras/src/losses/loss.py``,
    ``apply_mask``). We call the very function Keras calls
    (``keras.src.backend.set_keras_mask``, in every Keras from the 3.10 floor
    on and in no public namespace): it sets ``_keras_mask`` on the tensor, or, on tensors
    that refuse new attributes (JAX's traced arrays inside a compiled step),
    keeps the mask in a table by tensor id, where ``Loss.__call__`` finds it
    too. So the compiled mean is the same as Keras's on every backend.
    """
    from keras.src.backend import set_keras_mask

    set_keras_mask(loss, valid)


def binary_focal_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    apply_class_balancing: bool = False,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Binary focal cross-entropy of each sample: binary cross-entropy with easy outputs turned down.

    With ``y`` in ``[0, 1]`` the label (after label smoothing), ``p`` the
    predicted probability that it is 1 (``p = sigmoid(x)`` for logits ``x``
    with ``from_logits=True``), ``gamma`` the focusing parameter and
    ``alpha`` the weight of class 1, for each of the ``d`` outputs of a
    sample::

        p_t     = y p + (1 - y) (1 - p)              (the probability given to the label)
        alpha_t = y alpha + (1 - y) (1 - alpha)      (only with apply_class_balancing; else 1)
        loss_j  = -alpha_t (1 - p_t)^gamma [y log p + (1 - y) log(1 - p)]
        loss    = (1/d) * Σ_j loss_j

    For a 0/1 label the bracket is ``log(p_t)``, and ``loss_j`` is the focal
    loss of Lin et al., ``FL(p_t) = -alpha_t (1 - p_t)^gamma log(p_t)``: the
    cross-entropy ``-log(p_t)`` times ``(1 - p_t)^gamma``, which is near 0
    for an output already right (``p_t`` near 1) and near 1 for a wrong one,
    so the many easy examples of a common class stop drowning out the few
    hard ones. ``gamma = 0`` gives back ``binary_crossentropy`` (times
    ``alpha_t``).

    Where Keras differs from the paper, or from its own
    ``binary_crossentropy`` (this twin follows Keras in each):

    * ``alpha`` counts only with ``apply_class_balancing=True``; by default
      there is no ``alpha_t``, although the signature shows
      ``alpha=0.25``. (The paper's 0.25, for class 1, weighs the rare
      positives *less*: the focal term has already quieted the easy
      negatives.)
    * with label smoothing ``y`` is no longer 0 or 1, so ``p_t`` and
      ``alpha_t`` mix both classes and the bracket is the full binary
      cross-entropy, not ``log(p_t)``: a perfect ``p = 1`` for a label
      smoothed to 0.95 keeps ``1 - p_t = 0.05``, never 0, and the loss is
      lowest at ``p = 0.995`` (``gamma = 2``), not at the 0.95 that
      ``binary_crossentropy`` aims for: the focal term undoes much of the
      smoothing.
    * the focal term uses ``p`` as given; the logarithm uses ``p`` clipped to
      ``[eps, 1 - eps]``, or the logit a Keras sigmoid kept (TensorFlow), as
      ``binary_crossentropy`` does.
    * ``from_logits=True`` only applies the sigmoid first. On TensorFlow
      that sigmoid keeps its logits and the logarithm is exact; on the other
      backends ``p`` is clipped, so a confident mistake costs at most 16.1
      and gets almost no gradient (``binary_crossentropy`` with logits is
      exact everywhere). On the output of a Keras sigmoid, ``from_logits=True``
      really applies a second sigmoid, where ``binary_crossentropy`` warns
      and reuses the kept logits.

    On the output of a Keras *softmax* this twin, like
    ``binary_crossentropy`` here, scores the probabilities, not the
    softmax's kept logits that Keras on TensorFlow reads as sigmoid logits
    (``cookbook.check_setup`` refuses the combination).

    When to use it: where ``binary_crossentropy`` goes (``Dense(1,
    "sigmoid")`` or a multi-label ``Dense(num_labels, "sigmoid")``, 0/1
    labels), when one class is much rarer than the other (lesson 06). Keras
    counterpart: ``keras.losses.binary_focal_crossentropy``
    (``loss="binary_focal_crossentropy"``, class
    ``keras.losses.BinaryFocalCrossentropy``).

    >>> import cookbook
    >>> y_true = np.array([[1.0], [1.0], [0.0]], "float32")
    >>> y_pred = np.array([[0.9], [0.4], [0.2]], "float32")  # right, wrong, right
    >>> focal = cookbook.losses.binary_focal_crossentropy(y_true, y_pred)  # gamma = 2
    >>> bce = cookbook.losses.binary_crossentropy(y_true, y_pred)
    >>> keras.ops.convert_to_numpy(focal / bce).round(4)  # (1 - p_t)^2: 0.1², 0.6², 0.2²
    array([0.01, 0.36, 0.04], dtype=float32)

    Args:
        y_true: 0/1 labels (or probabilities in ``[0, 1]``), same shape as
            ``y_pred``; ``(N,)`` also works against an ``(N, 1)`` output.
        y_pred: predicted probabilities, or logits with ``from_logits=True``.
        apply_class_balancing: whether to weight each output by
            ``alpha_t``. Defaults to `False`.
        alpha: the weight of class 1 (class 0 gets ``1 - alpha``), used only
            with ``apply_class_balancing=True``. Defaults to `0.25`.
        gamma: the focusing parameter, ``>= 0``; ``0`` means no focusing.
            Defaults to `2.0`.
        from_logits: whether ``y_pred`` holds logits (no sigmoid applied).
            Defaults to `False`.
        label_smoothing: float in ``[0, 1]``; ``0`` means no smoothing.
            Defaults to `0.0`.
        axis: the axis averaged over; only the last axis is supported.
            Defaults to `-1`.

    Returns:
        The loss of each sample: ``y_pred``'s shape without its last axis.

    Reference:
        Lin, Goyal, Girshick, He, Dollár, "Focal Loss for Dense Object
        Detection", 2017 (arXiv:1708.02002).
    """
    kept = _kept_logits(y_pred)
    y_pred = _as_float(y_pred)
    _check_last_axis(axis, y_pred, "binary_focal_crossentropy")
    y_true = ops.cast(y_true, y_pred.dtype)
    y_true, y_pred = _match_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred, "binary_focal_crossentropy", _ONE_LABEL_PER_UNIT)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if not from_logits:
        p = y_pred
        bce = _bce_of_probabilities(y_true, p, kept)
    else:
        # Keras applies a sigmoid and goes on as with probabilities. Its TensorFlow sigmoid keeps the
        # logits, so the logarithm comes from them there; its other backends clip p like any probability.
        # Logits a Keras sigmoid kept on y_pred itself are not read: the sigmoid is applied twice.
        p = ops.sigmoid(y_pred)
        if keras.backend.backend() == "tensorflow":
            bce = _bce_from_logits(y_true, y_pred)
        else:
            bce = _bce_from_probabilities(y_true, p)
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    per_output = ops.power(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        per_output = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * per_output
    return ops.mean(per_output, axis=-1)


def categorical_focal_crossentropy(
    y_true: TensorLike,
    y_pred: TensorLike,
    alpha: float | Sequence[float] = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """Categorical focal cross-entropy of each sample: categorical cross-entropy with easy samples turned down.

    With ``y`` the one-hot label row (after label smoothing), ``p`` the
    predicted class probabilities (``p = softmax(x)`` for logits ``x`` with
    ``from_logits=True``), rescaled to sum to 1 and clipped to
    ``[eps, 1 - eps]``, ``alpha`` the class weight (one number, or one per
    class) and ``gamma`` the focusing parameter, over the ``C`` classes::

        loss = -Σ_c alpha_c (1 - p_c)^gamma y_c log p_c

    For a one-hot row of class ``k`` this is the focal loss of Lin et al.,
    ``FL(p_t) = -alpha (1 - p_t)^gamma log(p_t)`` with ``p_t = p_k``:
    ``categorical_crossentropy`` times ``alpha (1 - p_k)^gamma``, small for a
    sample the model already gets right, near ``alpha`` for a wrong one.

    Where Keras differs from the paper (which has the binary form only), or
    from its own ``categorical_crossentropy`` (this twin follows Keras in
    each):

    * ``alpha`` always counts, ``0.25`` by default: with ``gamma = 0`` the
      loss is a quarter of ``categorical_crossentropy``. One number only
      rescales the loss and its gradient (a learning rate for SGD, almost
      nothing for Adam); one weight per class is a class weight.
    * with label smoothing each class ``c`` keeps its own factor
      ``(1 - p_c)^gamma``: the small probabilities of the other classes keep
      a factor near 1 while the true class's shrinks, so on confident right
      answers the smoothing terms are nearly all of the loss.
    * ``from_logits=True`` only applies a softmax first; the probabilities
      are then clipped on every backend, and the logits a Keras softmax kept
      are never read: a confident mistake (``p_k < 1e-7``) costs at most
      ``16.1 alpha`` and gets a zero gradient, where
      ``categorical_crossentropy`` with logits is exact.

    When to use it: where ``categorical_crossentropy`` goes
    (``Dense(num_classes, "softmax")``, one-hot labels), when some classes
    are much rarer than others (lesson 06). Keras has no sparse focal loss:
    one-hot encode integer labels with ``keras.utils.to_categorical(y,
    num_classes)``. Keras counterpart:
    ``keras.losses.categorical_focal_crossentropy``
    (``loss="categorical_focal_crossentropy"``, class
    ``keras.losses.CategoricalFocalCrossentropy``).

    >>> import cookbook
    >>> y_true = np.eye(3, dtype="float32")[[0, 1]]  # classes 0 and 1
    >>> y_pred = np.array([[0.9, 0.05, 0.05], [0.6, 0.3, 0.1]], "float32")  # right, wrong
    >>> focal = cookbook.losses.categorical_focal_crossentropy(y_true, y_pred, alpha=1.0)  # gamma = 2
    >>> cce = cookbook.losses.categorical_crossentropy(y_true, y_pred)
    >>> keras.ops.convert_to_numpy(focal / cce).round(4)  # (1 - p_k)^2: 0.1², 0.7²
    array([0.01, 0.49], dtype=float32)

    Args:
        y_true: one-hot labels (or any rows of class probabilities), shape
            ``(N, ..., C)``.
        y_pred: predicted probabilities, or logits with ``from_logits=True``,
            same shape as ``y_true``.
        alpha: the weight of every class (a float), or of each class (a list
            of ``C`` floats, e.g. inverse class frequencies). Defaults to
            `0.25`.
        gamma: the focusing parameter, ``>= 0``; ``0`` means no focusing.
            Defaults to `2.0`.
        from_logits: whether ``y_pred`` holds logits (no softmax applied).
            Defaults to `False`.
        label_smoothing: float in ``[0, 1]``; ``0`` means no smoothing.
            Defaults to `0.0`.
        axis: the class axis; only the last axis is supported. Defaults to
            `-1`.

    Returns:
        The loss of each sample: ``y_pred``'s shape without its last axis.

    Reference:
        Lin, Goyal, Girshick, He, Dollár, "Focal Loss for Dense Object
        Detection", 2017 (arXiv:1708.02002).
    """
    y_pred = _as_float(y_pred)
    _check_last_axis(axis, y_pred, "categorical_focal_crossentropy")
    y_true = ops.cast(y_true, y_pred.dtype)
    _check_same_shape(
        y_true,
        y_pred,
        "categorical_focal_crossentropy",
        "one-hot encode the labels with keras.utils.to_categorical(y, num_classes) (Keras has no sparse focal loss)",
    )
    if label_smoothing:
        num_classes = ops.cast(ops.shape(y_true)[-1], y_pred.dtype)
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / num_classes
    p = ops.softmax(y_pred) if from_logits else y_pred
    eps = keras.config.epsilon()
    # Rescaled and clipped once, then used both in the logarithm and in the focal term, as Keras does.
    p = ops.clip(p / ops.sum(p, axis=-1, keepdims=True), eps, 1.0 - eps)
    alpha = ops.convert_to_tensor(alpha, p.dtype)  # one number, or one per class along the last axis
    focal_weight = alpha * ops.power(1.0 - p, gamma)
    return ops.sum(focal_weight * -(y_true * ops.log(p)), axis=-1)


def _logits_kept_by_keras(y_pred, from_logits):
    """The logits behind a Keras sigmoid/softmax output, as Keras's own losses use them.

    ``keras.activations.sigmoid`` and ``softmax`` store their input on the
    output tensor as ``_keras_logits`` (where the tensor type allows it).
    On TensorFlow, Keras's cross-entropies then switch to the logits
    formula, which is exact and finite; with ``from_logits=True`` as well,
    Keras warns about a double activation and still uses the stored logits.
    """
    logits = _kept_logits(y_pred)
    if logits is None:
        return y_pred, from_logits
    return logits, True


def _kept_logits(y_pred):
    """The ``_keras_logits`` of ``y_pred`` where Keras's losses read them: on TensorFlow only.

    An eager JAX array keeps the attribute too (a traced one refuses it), but
    only Keras's TensorFlow backend looks at it; its JAX and PyTorch
    cross-entropies score the clipped probabilities, and so do we there.
    """
    if keras.backend.backend() != "tensorflow":
        return None
    return getattr(y_pred, "_keras_logits", None)


def _log_softmax(x):
    """log(softmax(x)) along the last axis, with the largest logit subtracted first."""
    shifted = x - ops.max(x, axis=-1, keepdims=True)  # every exp(.) is now <= 1
    return shifted - ops.log(ops.sum(ops.exp(shifted), axis=-1, keepdims=True))


def _as_float(y_pred):
    """``y_pred`` as a floating tensor (float inputs keep their precision)."""
    y_pred = ops.convert_to_tensor(y_pred)
    if "float" not in keras.backend.standardize_dtype(y_pred.dtype):
        y_pred = ops.cast(y_pred, keras.config.floatx())
    return y_pred


def _match_rank(y_true, y_pred):
    """Line up ``(N,)`` labels with ``(N, 1)`` outputs, the way Keras's ``Loss`` classes do.

    When the ranks differ by one and the extra axis has size 1, a rank-1
    tensor is expanded; otherwise the size-1 axis is squeezed away.
    """
    true_rank, pred_rank = len(y_true.shape), len(y_pred.shape)
    if pred_rank == true_rank + 1 and y_pred.shape[-1] == 1:
        if true_rank == 1:
            y_true = ops.expand_dims(y_true, -1)
        else:
            y_pred = ops.squeeze(y_pred, -1)
    elif true_rank == pred_rank + 1 and y_true.shape[-1] == 1:
        if pred_rank == 1:
            y_pred = ops.expand_dims(y_pred, -1)
        else:
            y_true = ops.squeeze(y_true, -1)
    return y_true, y_pred


def _check_same_shape(y_true, y_pred, name, fix):
    """Refuse labels whose shape would silently broadcast against the outputs."""
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    if not _shapes_compatible(true_shape, pred_shape):
        raise SetupError(f"{name} got labels of shape {true_shape} for outputs of shape {pred_shape}; {fix}")


def _shapes_compatible(a, b):
    """Same rank and equal sizes wherever both are known (``None`` is a batch of any size)."""
    return len(a) == len(b) and all(x is None or y is None or x == y for x, y in zip(a, b))


def _check_last_axis(axis, y_pred, name):
    """Refuse any class axis but the last (``-1`` or its positive index)."""
    if axis not in (-1, len(y_pred.shape) - 1):
        raise SetupError(
            f"{name}(axis={axis!r}): the cookbook's losses use the last axis as the class axis; "
            "move the class axis last (keras.ops.moveaxis) and pass axis=-1"
        )
