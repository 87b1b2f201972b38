"""Which output layer goes with which loss and which labels: one table.

Every supervised Keras model ends in an *output head*: the last ``Dense``
layer (its number of units and its activation) and the loss it is compiled
with. The two must agree with each other and with how the labels are
stored, and Keras does not check that for you: several wrong pairings
train without a word (see ``recipes/05_wrong_setups.py``). ``HEAD_RULES``
is the table of correct pairings and ``output_head`` builds one:

>>> import cookbook
>>> import keras
>>> layer, loss = cookbook.output_head("multiclass", num_classes=10)
>>> layer.units, layer.activation.__name__, type(loss).__name__
(10, 'softmax', 'SparseCategoricalCrossentropy')
>>> model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, "relu"), layer])
>>> model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])

``cookbook.heads.head_rules_table()`` gives the same table as a
``pandas.DataFrame`` for printing; ``cookbook.check_setup`` checks a
compiled model against it:

>>> table = cookbook.heads.head_rules_table()
>>> print(table[["task", "units", "activation", "loss"]].to_string(index=False))
             task                      units activation                            loss
       regression num_targets (1 by default)     linear              mean_squared_error
           binary                          1    sigmoid             binary_crossentropy
   binary_softmax                          2    softmax sparse_categorical_crossentropy
       multiclass                num_classes    softmax sparse_categorical_crossentropy
multiclass_onehot                num_classes    softmax        categorical_crossentropy
       multilabel                 num_labels    sigmoid             binary_crossentropy
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from cookbook.errors import SetupError

import keras
import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = [
    "HEAD_RULES",
    "Head",
    "HeadRule",
    "activation_name",
    "check_class_labels",
    "dense_weights",
    "encode_labels",
    "head_rules_table",
    "output_head",
]


@dataclasses.dataclass(frozen=True)
class HeadRule:
    """One row of the output-head table.

    Attributes:
        task: the name ``output_head`` takes, e.g. ``"multiclass"``.
        when: the problem in a learner's words.
        units: how many output units, in words (``"num_classes"``, ``"1"``).
        activation: the output activation; ``"linear"`` means none.
        loss: the ``keras.losses`` name to compile with.
        labels: how the labels must be stored.
        logits_alternative: the same head when the loss applies the
            activation itself (numerically safer), or ``""``.
    """

    task: str
    when: str
    units: str
    activation: str
    loss: str
    labels: str
    logits_alternative: str


HEAD_RULES = {
    rule.task: rule
    for rule in (
        HeadRule(
            "regression",
            "predict one or several real numbers",
            "num_targets (1 by default)",
            "linear",
            "mean_squared_error",
            "real numbers, shape (N,) or (N, num_targets)",
            "",
        ),
        HeadRule(
            "binary",
            "two classes, one probability P(class 1)",
            "1",
            "sigmoid",
            "binary_crossentropy",
            "0/1 integers, shape (N,) or (N, 1)",
            "linear + BinaryCrossentropy(from_logits=True)",
        ),
        HeadRule(
            "binary_softmax",
            "two classes as a 2-way softmax",
            "2",
            "softmax",
            "sparse_categorical_crossentropy",
            "0/1 integers, shape (N,) or (N, 1)",
            "linear + SparseCategoricalCrossentropy(from_logits=True)",
        ),
        HeadRule(
            "multiclass",
            "one of C > 2 classes, integer labels",
            "num_classes",
            "softmax",
            "sparse_categorical_crossentropy",
            "integers 0..C-1, shape (N,) or (N, 1)",
            "linear + SparseCategoricalCrossentropy(from_logits=True)",
        ),
        HeadRule(
            "multiclass_onehot",
            "one of C > 2 classes, one-hot labels",
            "num_classes",
            "softmax",
            "categorical_crossentropy",
            "one-hot rows, shape (N, C) (keras.utils.to_categorical)",
            "linear + CategoricalCrossentropy(from_logits=True)",
        ),
        HeadRule(
            "multilabel",
            "any subset of L labels per sample",
            "num_labels",
            "sigmoid",
            "binary_crossentropy",
            "0/1 matrix, shape (N, L), several 1s per row allowed",
            "linear + BinaryCrossentropy(from_logits=True)",
        ),
    )
}

# The Loss class behind each loss name, so output_head can set from_logits.
_LOSS_CLASSES = {
    "mean_squared_error": keras.losses.MeanSquaredError,
    "binary_crossentropy": keras.losses.BinaryCrossentropy,
    "categorical_crossentropy": keras.losses.CategoricalCrossentropy,
    "sparse_categorical_crossentropy": keras.losses.SparseCategoricalCrossentropy,
}


class Head(NamedTuple):
    """What ``output_head`` returns: unpack it as ``layer, loss = output_head(...)``."""

    layer: keras.layers.Dense
    loss: keras.losses.Loss


def head_rules_table() -> pd.DataFrame:
    """``HEAD_RULES`` as a ``pandas.DataFrame``, one row per task, for printing."""
    return pd.DataFrame([dataclasses.asdict(rule) for rule in HEAD_RULES.values()])


def activation_name(function: Any) -> str:
    """The Keras name of a built-in activation function, or ``"custom"`` for any other callable.

    ``Dense(1, activation=None)`` holds ``keras.activations.linear``, so a
    layer without an activation reads as ``"linear"``. A function of your
    own reads as ``"custom"`` even when it shares a built-in's name.

    >>> activation_name(keras.layers.Dense(2, activation="softmax").activation)
    'softmax'
    >>> activation_name(lambda x: x)
    'custom'
    """
    name = getattr(function, "__name__", None)
    try:
        if name and keras.activations.get(name) is function:
            return name
    except ValueError:  # not a Keras activation name
        pass
    return "custom"


def dense_weights(layer: keras.layers.Dense) -> tuple[np.ndarray, np.ndarray | None]:
    """A built ``Dense`` layer's kernel and bias as float64 NumPy arrays.

    Args:
        layer: a built ``keras.layers.Dense``.

    Returns:
        ``(kernel, bias)``: the kernel, shape ``(inputs, units)``, and the
        bias, shape ``(units,)``, or ``None`` for ``use_bias=False``.
    """
    kernel = keras.ops.convert_to_numpy(layer.kernel).astype(np.float64)
    bias = keras.ops.convert_to_numpy(layer.bias).astype(np.float64) if layer.use_bias else None
    return kernel, bias


def check_class_labels(labels: npt.ArrayLike, num_classes: int | None, where: str = "the model") -> None:
    """Refuse class labels that are not integers ``0 .. num_classes - 1``, naming the fix.

    Integer labels (``sparse_categorical_crossentropy``) pick one of the
    ``num_classes`` softmax units; Keras does not check them: a fractional
    label is truncated to a class silently, and one outside the range
    scores a row of zeros (a loss of 0 on TensorFlow) or fails deep inside
    the backend.

    Args:
        labels: the labels, any shape (array-like of numbers).
        num_classes: the number of output units; ``None`` (not known yet)
            checks only that the labels are integers.
        where: what the message starts with, e.g. ``"the model"`` or the
            loss's name. Defaults to `"the model"`.

    Raises:
        SetupError: a label that is not a whole number (NaN included), or
            one outside ``0 .. num_classes - 1``.
    """
    values = np.asarray(labels, dtype=np.float64)
    if values.size == 0:
        return
    fractional = values[values != np.round(values)]  # NaN too: NaN != NaN
    if fractional.size:
        raise SetupError(
            f"{where} gets non-integer labels (e.g. {fractional.flat[0]:g}), but integer class labels "
            "must be whole numbers 0..C-1, one per softmax unit; encode the classes with "
            "pandas.factorize(y)[0], or use a regression loss for real targets"
        )
    low, high = values.min(), values.max()
    if num_classes is not None and (low < 0 or high >= num_classes):
        more_units = f", or give the last layer {int(high) + 1} units" if low >= 0 and np.isfinite(high) else ""
        raise SetupError(
            f"{where} gets labels from {low:g} to {high:g} for {num_classes} output units (classes "
            f"0..{num_classes - 1}); renumber the classes to 0..C-1 (pandas.factorize(y)[0] or "
            f"y - y.min()){more_units}"
        )


def output_head(
    task: str, num_classes: int | None = None, *, from_logits: bool = False, name: str = "output", **dense_kwargs: Any
) -> Head:
    """The final ``Dense`` layer and the matching loss for a task, from ``HEAD_RULES``.

    Args:
        task: one of ``HEAD_RULES``: ``"regression"``, ``"binary"``,
            ``"binary_softmax"``, ``"multiclass"``, ``"multiclass_onehot"``
            or ``"multilabel"``.
        num_classes: the number of classes (``multiclass*``, at least 2),
            of labels (``multilabel``) or of targets (``regression``,
            where it defaults to 1). The binary tasks accept ``None`` or 2.
            Defaults to `None`.
        from_logits: leave the activation out of the layer and let the loss
            apply it (``from_logits=True``): the same model, numerically
            safer; predictions are then logits, not probabilities.
            Classification tasks only. Defaults to `False`.
        name: the layer's name. Defaults to `"output"`.
        **dense_kwargs: passed on to ``keras.layers.Dense`` (for example
            ``kernel_initializer``).

    Returns:
        ``Head(layer, loss)``: a ``keras.layers.Dense`` and a
        ``keras.losses.Loss`` instance to pass to ``model.compile``.

    Raises:
        SetupError: an unknown task, a class count that does not fit the
            task, ``from_logits`` for regression, or an ``activation`` in
            ``dense_kwargs`` (the table chooses it).
    """
    if task not in HEAD_RULES:
        raise SetupError(
            f"unknown task {task!r} for output_head; use one of {', '.join(HEAD_RULES)} "
            "(see cookbook.heads.head_rules_table())"
        )
    if "activation" in dense_kwargs or "units" in dense_kwargs:
        raise SetupError(
            "output_head chooses the units and activation from the task; drop units=/activation= "
            "and pick the task (and from_logits) that describes your labels"
        )
    rule = HEAD_RULES[task]
    units = _units_for(task, num_classes)
    if from_logits and task == "regression":
        raise SetupError(
            "from_logits=True applies to classification heads only; a regression head is already "
            "linear, so drop from_logits"
        )
    activation = None if (from_logits or rule.activation == "linear") else rule.activation
    loss_class = _LOSS_CLASSES[rule.loss]
    loss = loss_class() if task == "regression" else loss_class(from_logits=from_logits)
    return Head(keras.layers.Dense(units, activation=activation, name=name, **dense_kwargs), loss)


def encode_labels(task: str, y: npt.ArrayLike, num_classes: int | None = None) -> np.ndarray:
    """Labels stored the way ``HEAD_RULES[task]`` expects them.

    Args:
        task: a task of ``HEAD_RULES``.
        y: the labels as loaded (a ``pandas.Series``/``DataFrame`` or an
            array): class labels as integers ``0..C-1``, or real targets.
        num_classes: the number of classes for ``"multiclass_onehot"``;
            ``None`` takes ``max(y) + 1``. Defaults to `None`.

    Returns:
        A NumPy array: float32 for regression and sigmoid heads, int32 class
        labels for softmax heads with sparse labels, float32 one-hot rows for
        ``"multiclass_onehot"``.
    """
    if task not in HEAD_RULES:
        raise SetupError(f"unknown task {task!r}; use one of {', '.join(HEAD_RULES)}")
    y = np.asarray(y)
    if task in ("regression", "binary", "multilabel"):
        return y.astype("float32")
    labels = y.astype("int32")
    if task == "multiclass_onehot":
        return keras.utils.to_categorical(labels, num_classes).astype("float32")
    return labels


def _units_for(task, num_classes):
    """The number of output units the task needs, or a SetupError saying why not."""
    if task == "regression":
        units = 1 if num_classes is None else num_classes
    elif task in ("binary", "binary_softmax"):
        if num_classes not in (None, 2):
            raise SetupError(
                f"task {task!r} is for exactly 2 classes, got num_classes={num_classes}; "
                "use task='multiclass' for more than two"
            )
        units = 1 if task == "binary" else 2
    else:
        if num_classes is None:
            raise SetupError(
                f"task {task!r} needs num_classes (the number of "
                f"{'labels' if task == 'multilabel' else 'classes'}), e.g. "
                f"output_head({task!r}, num_classes=10)"
            )
        units = num_classes
        if task.startswith("multiclass") and units < 2:
            raise SetupError(
                f"task {task!r} needs num_classes >= 2, got {units}: a softmax over one unit is "
                "always 1.0; for a yes/no target use task='binary'"
            )
    if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units < 1:
        raise SetupError(f"num_classes must be a positive integer, got {num_classes!r}")
    return int(units)
