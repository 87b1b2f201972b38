"""Catch a ``fit`` call that trains without a word but repeats, mis-splits or mis-measures, before it runs.

Keras trains each of these setups without a warning:

* on TensorFlow, after ``keras.utils.set_random_seed``, ``fit(shuffle=True)``
  visits the rows in one order every epoch;
* ``validation_split`` validates on the *last* rows, taken before any
  shuffling: on rows sorted by class, on classes training hardly sees;
* ``metrics=["accuracy"]`` on imbalanced classes: always predicting the
  majority class scores high;
* ``BatchNormalization`` in a batch of one row outputs its ``beta`` for
  every input.

``check_fit`` takes the compiled model, the data and the keyword arguments
you would pass to ``fit``, and returns a ``Finding`` for each of these, with
the evidence read from your data and a fix to copy; a correct setup gives
``[]``. It never trains the model or draws a random number:

>>> import cookbook
>>> import keras
>>> import numpy as np
>>> x = np.arange(200, dtype="float32")[:, None] / 200
>>> y = (np.arange(200) >= 170).astype("int64")  # 30 of class 1, in the last rows
>>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, "sigmoid")])
>>> model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
>>> findings = cookbook.check_fit(model, x, y, validation_split=0.1)
>>> [finding.code for finding in findings]
['sorted_validation_split', 'accuracy_on_imbalanced']
>>> print(findings[0])
sorted_validation_split: validation_split takes the last rows as they are, and here they are not a sample of the classes
    evidence: the last 10% of rows (x[180:], 20 rows) hold only class 1; training (x[:180]) holds 170 of class 0, 10 of class 1; y is sorted by class
    fix: order = np.random.default_rng(0).permutation(len(y)); x, y = x[order], y[order]  (then fit as before); or validate on a stratified split: split = cookbook.split_and_standardize(x, y, test_fraction=0.1, stratify=True); model.fit(split.X_train, split.y_train, validation_data=(split.X_test, split.y_test))
    happens on: tensorflow, jax
>>> cookbook.check_fit(model, x, y, validation_split=0.2)  # validation holds class 1, training none of it
Traceback (most recent call last):
    ...
cookbook.errors.FitError: validation_split=0.2 validates on classes the training part never sees: ...

Both fixed, the same call is silent:

>>> order = np.random.default_rng(0).permutation(len(y))
>>> x, y = x[order], y[order]
>>> model.compile(
...     optimizer="adam",
...     loss="binary_crossentropy",
...     metrics=[keras.metrics.Precision(), keras.metrics.Recall(), keras.metrics.AUC(curve="PR")],
... )
>>> cookbook.check_fit(model, x, y, validation_split=0.1)
[]
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import inspect
import math
from collections.abc import Mapping
from typing import Any

from cookbook.errors import FitError
from cookbook.shuffling import ReshuffledArrays

import keras
import numpy as np

__all__ = ["CODES", "Finding", "check_fit"]

# Each finding's code, in the order check_fit reports them.
CODES = ("sorted_validation_split", "frozen_shuffle", "accuracy_on_imbalanced", "batchnorm_batch_of_one")

# Validation and training class shares that differ by more than this total-variation distance
# (half the sum of the absolute share differences) are a skewed split...
MAX_SHARE_SHIFT = 0.2
# ...when a random split would not give them: some class's validation count lies this many standard
# deviations from its expectation (hypergeometric, continuity-corrected; 3.09 is the normal tail 0.001).
# Below it, a small validation part drawn from shuffled rows can differ this much by chance.
CHANCE_Z = 3.09
# Labels are imbalanced when the smallest class holds less than this fraction of its even share
# (1/C of the rows): under 25% for two classes, under 5% for ten.
IMBALANCE = 0.5

# The backends a finding names are those measured to have the problem (tests/test_fit_check.py runs on
# TensorFlow and again on JAX). PyTorch is not installed here, so it is never named; from Keras's source
# it shares the split and BatchNormalization findings (Keras's own code on every backend), not the frozen
# shuffle (its RandomSampler draws a new order every epoch).
_EVERY_BACKEND = ("tensorflow", "jax")

# fit's defaults, for the arguments check_fit reads (keras.Model.fit, Keras 3).
_FIT_DEFAULTS: dict[str, Any] = {
    "batch_size": None,
    "epochs": 1,
    "shuffle": True,
    "validation_split": 0.0,
    "validation_data": None,
    "class_weight": None,
    "sample_weight": None,
    "initial_epoch": 0,
    "steps_per_epoch": None,
}
_DEFAULT_BATCH_SIZE = 32  # what fit uses for arrays without batch_size or steps_per_epoch

# Metrics that score the share of right answers, which the majority class alone can make high.
_ACCURACY_NAMES = frozenset(
    {
        "accuracy",
        "acc",
        "binary_accuracy",
        "categorical_accuracy",
        "sparse_categorical_accuracy",
        "top_k_categorical_accuracy",
        "sparse_top_k_categorical_accuracy",
    }
)
_ACCURACY_CLASSES = (
    keras.metrics.Accuracy,
    keras.metrics.BinaryAccuracy,
    keras.metrics.CategoricalAccuracy,
    keras.metrics.SparseCategoricalAccuracy,
    keras.metrics.TopKCategoricalAccuracy,
    keras.metrics.SparseTopKCategoricalAccuracy,
)
_MAX_CLASSES_LISTED = 10  # evidence lists at most this many classes' counts


@dataclasses.dataclass(frozen=True)
class Finding:
    """One problem ``check_fit`` found: what, the numbers from your data, the fix, where it happens.

    Attributes:
        code: a fixed identifier, one of ``cookbook.fit_check.CODES``
            (``"frozen_shuffle"``...), for code that reacts to a finding.
        problem: what goes wrong, in one sentence.
        evidence: the numbers read from your data and arguments.
        fix: a line to copy, then what else works.
        backends: the Keras backends measured to have the problem
            (TensorFlow and JAX are measured; PyTorch is not).
    """

    code: str
    problem: str
    evidence: str
    fix: str
    backends: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"{self.code}: {self.problem}\n"
            f"    evidence: {self.evidence}\n"
            f"    fix: {self.fix}\n"
            f"    happens on: {', '.join(self.backends)}"
        )


@dataclasses.dataclass(frozen=True)
class _Fit:
    """The ``fit`` call as Keras will read it."""

    x: Any
    y: Any
    rows: int | None  # None: x is a dataset, a generator or a PyDataset, whose rows check_fit does not read
    train_rows: int | None  # the rows fit trains on: those before the validation split
    batch_size: int | None  # as fit batches arrays (32, or from steps_per_epoch, when not given)
    epochs: int  # epochs run: epochs - initial_epoch
    shuffle: Any
    validation_split: float  # 0.0 when validation_data is given: fit then ignores validation_split
    steps_per_epoch: int | None
    class_weight: Mapping[int, float] | None
    sample_weight: Any


@dataclasses.dataclass(frozen=True)
class _Labels:
    """Class labels, one per row (single-output classification only)."""

    classes: np.ndarray  # int64, shape (rows,)
    num_classes: int
    encoding: str  # "binary" (one column of 0/1), "sparse" (integer ids) or "one_hot"


def check_fit(model: keras.Model, x: Any, y: Any = None, **fit_kwargs: Any) -> list[Finding]:
    """Check a ``model.fit(x, y, **fit_kwargs)`` call before running it; return what it would get wrong.

    Reads the compiled model (its loss, metrics and ``BatchNormalization``
    layers), the data and ``fit``'s arguments; never trains, builds or
    compiles the model, and never draws from or reseeds a random generator
    (Python's, NumPy's, TensorFlow's or Keras's), so a seeded ``fit`` after
    it gives the same weights as without it. The findings, in this order:

    * ``sorted_validation_split``: ``fit`` takes the last
      ``floor(N * (1 - validation_split))``-th row onwards as validation,
      before shuffling. Reported when the validation part holds a single
      class while training holds several, or the two parts' class shares
      differ by a total-variation distance above ``MAX_SHARE_SHIFT`` (0.2),
      and the difference is not chance: ``y`` is sorted by class (each class
      one block of rows) or some class's validation count is ``CHANCE_Z``
      (3.09) standard deviations from a random split's. If validation then
      holds a class the training part has no row of, ``FitError`` is raised
      instead: that run cannot mean anything.
    * ``frozen_shuffle``: on TensorFlow with a global seed set
      (``keras.utils.set_random_seed``, ``tf.random.set_seed``), array data,
      ``shuffle`` true and not ``"batch"`` (which keeps the same contiguous
      batches in order on every backend by design), and more than one pass
      over the training rows: each pass repeats one order.
    * ``accuracy_on_imbalanced``: the smallest class holds under
      ``IMBALANCE`` (half) of its even share of the training rows, and every
      compiled metric is accuracy-like (``"accuracy"``, ``"acc"``, the
      binary/categorical/sparse/top-k accuracies as strings, functions or
      ``keras.metrics`` objects) or there are none. ``class_weight`` does
      not silence it: it changes the loss, not what an unweighted accuracy
      reports. A weighted accuracy (``weighted_metrics``) is judged on the
      weighted class shares, so ``class_weight`` that balances the classes
      makes it a balanced accuracy, and silent.
    * ``batchnorm_batch_of_one``: a trainable ``BatchNormalization`` whose
      statistics come from the batch axis alone (after ``Dense``: input
      ``(None, features)``; after a convolution the spatial positions add
      statistics, so it is skipped; unbuilt layers too), with
      ``batch_size=1`` or a last batch of one row
      (``training rows % batch_size == 1``).

    The label checks (the first and third) read a single output's labels
    under a cross-entropy loss: integers ``(N,)`` or ``(N, 1)`` and one-hot
    rows; multi-label, soft and regression targets, several outputs and
    datasets are not read. ``validation_data`` replaces
    ``validation_split``, as in ``fit``.

    Args:
        model: the compiled ``keras.Model`` you are about to fit.
        x: the inputs as passed to ``fit``: a NumPy array, a pandas
            DataFrame, a tensor, a list or dict of those, or a dataset,
            generator or ``keras.utils.PyDataset`` (only the checks that do
            not read rows then apply, except for ``cookbook.ReshuffledArrays``,
            whose arrays and batch size are read).
        y: the labels as passed to ``fit``, or ``None``.
        **fit_kwargs: the other keyword arguments of the ``fit`` call
            (``batch_size``, ``epochs``, ``validation_split``, ``shuffle``,
            ``class_weight``...).

    Returns:
        The findings, in the order above; ``[]`` on a correct setup.

    Raises:
        FitError: validation holds a class the training part lacks, on rows
            sorted by class; or the arguments cannot be read: the model is
            not compiled, ``fit`` has no such keyword, x, y and
            sample_weight have different numbers of rows, a
            ``validation_split`` outside ``[0, 1)``.
    """
    fit = _read_fit(model, x, y, fit_kwargs)
    labels = _read_labels(model, fit)
    findings = [
        _check_validation_split(fit, labels),
        _check_frozen_shuffle(fit),
        _check_accuracy_metrics(model, fit, labels),
        _check_batchnorm(model, fit),
    ]
    return [finding for finding in findings if finding is not None]


# ---------------------------------------------------------------- reading the call


def _read_fit(model: keras.Model, x: Any, y: Any, fit_kwargs: dict[str, Any]) -> _Fit:
    if not getattr(model, "compiled", False):
        raise FitError("the model is not compiled: call model.compile(optimizer=..., loss=...) before check_fit")
    _check_names(model, fit_kwargs)
    if isinstance(x, ReshuffledArrays):
        # The cookbook's own PyDataset holds arrays check_fit can read; it batches them, and draws a new
        # order every epoch itself (fit is passed shuffle=False with it).
        if y is not None:
            raise FitError("ReshuffledArrays(x, y, ...) already holds the labels; pass no y next to it")
        if fit_kwargs.get("validation_split"):
            raise FitError(
                "fit cannot take validation_split with a ReshuffledArrays (a PyDataset); "
                "pass validation_data=(x_val, y_val) instead"
            )
        fit_kwargs = {**fit_kwargs, "batch_size": x.batch_size, "shuffle": False}
        x, y = x.X, x.y
    args = {**_FIT_DEFAULTS, **fit_kwargs}

    validation_split = args["validation_split"] or 0.0
    if not 0.0 <= validation_split < 1.0:
        raise FitError(f"validation_split={validation_split!r} is not a fraction in [0, 1); pass e.g. 0.2")
    if args["validation_data"] is not None:
        validation_split = 0.0  # fit splits only "if validation_split and validation_data is None"
    for name in ("batch_size", "steps_per_epoch"):
        if args[name] is not None and (not isinstance(args[name], (int, np.integer)) or args[name] < 1):
            raise FitError(f"{name}={args[name]!r} is not a positive whole number; pass e.g. {name}=32 or leave it out")

    rows = _rows("x", x)
    for name, value in (("y", y), ("sample_weight", args["sample_weight"])):
        length = _rows(name, value) if value is not None else None
        if rows is not None and length is not None and length != rows:
            raise FitError(f"x has {rows} rows but {name} has {length}; pass one {name} entry per row of x")

    train_rows = batch_size = None
    if rows is not None:
        # array_slicing.train_validation_split: split_at = floor(N * (1 - validation_split)).
        train_rows = int(math.floor(rows * (1.0 - validation_split))) if validation_split else rows
        # ArrayDataAdapter: "if not batch_size: ceil(num_samples / steps) if steps else 32".
        steps = args["steps_per_epoch"]
        batch_size = args["batch_size"] or (math.ceil(train_rows / steps) if steps else _DEFAULT_BATCH_SIZE)
    return _Fit(
        x=x,
        y=y,
        rows=rows,
        train_rows=train_rows,
        batch_size=batch_size,
        epochs=int(args["epochs"]) - int(args["initial_epoch"]),
        shuffle=args["shuffle"],
        validation_split=float(validation_split),
        steps_per_epoch=args["steps_per_epoch"],
        class_weight=args["class_weight"],
        sample_weight=args["sample_weight"],
    )


def _check_names(model: keras.Model, fit_kwargs: Mapping[str, Any]) -> None:
    """Refuse a keyword ``model.fit`` does not take (a typo such as ``epoch=10``), naming the closest one."""
    parameters = inspect.signature(model.fit).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return  # a fit that takes **kwargs accepts any name
    known = [name for name in parameters if name not in ("x", "y")]
    for name in fit_kwargs:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; it takes {', '.join(known)}"
            raise FitError(f"model.fit takes no argument {name!r}{hint}")


def _is_array(data: Any) -> bool:
    """An array of rows: NumPy, pandas, a tensor (not a scalar, a dataset or a generator)."""
    return getattr(data, "shape", None) is not None and len(data.shape) >= 1


def _leaves(data: Any) -> list[Any]:
    """The arrays of an input as fit reads it: a dict's values, a list's or tuple's items, or the input itself."""
    if isinstance(data, Mapping):
        return [leaf for value in data.values() for leaf in _leaves(value)]
    if isinstance(data, (list, tuple)) and any(_is_array(item) for item in data):
        return [leaf for item in data for leaf in _leaves(item)]
    return [data]


def _rows(name: str, data: Any) -> int | None:
    """The number of rows of an array-like input, or None for a dataset, generator or PyDataset."""
    if isinstance(data, (list, tuple)) and not any(_is_array(item) for item in data):
        data = np.asarray(data)  # a plain list of labels or weights
    leaves = _leaves(data)
    if not leaves or not all(_is_array(leaf) for leaf in leaves):
        return None
    lengths = sorted({int(leaf.shape[0]) for leaf in leaves})
    if len(lengths) > 1:
        raise FitError(f"the arrays of {name} have different numbers of rows ({lengths}); pass the same rows to each")
    return lengths[0]


def _loss_name(loss: Any) -> str:
    """Every name the compiled loss goes by, lower case ("binary_crossentropy binarycrossentropy"...)."""
    if isinstance(loss, (list, tuple)) and len(loss) == 1:
        loss = loss[0]
    if isinstance(loss, Mapping) and len(loss) == 1:
        loss = next(iter(loss.values()))
    if isinstance(loss, str):
        try:
            return f"{loss} {keras.losses.get(loss).__name__}".lower()  # "bce" -> binary_crossentropy
        except (ValueError, AttributeError):
            return loss.lower()
    if isinstance(loss, functools.partial):
        loss = loss.func
    names = [getattr(loss, "name", None), getattr(getattr(loss, "fn", None), "__name__", None)]
    names += [getattr(loss, "__name__", None), type(loss).__name__]
    return " ".join(name for name in names if isinstance(name, str)).lower()


def _read_labels(model: keras.Model, fit: _Fit) -> _Labels | None:
    """The class of each row, for a single output trained with a cross-entropy; None for anything else."""
    y = fit.y
    if y is None or fit.rows is None or isinstance(y, Mapping):
        return None
    if isinstance(y, (list, tuple)) and any(_is_array(item) for item in y):
        return None  # one label array per output
    loss = _loss_name(getattr(model, "loss", None))
    if "crossentropy" not in loss:
        return None  # regression, or a loss whose labels check_fit does not know
    values = np.asarray(y)
    if values.dtype.kind not in "biuf" or values.ndim not in (1, 2) or not np.isfinite(values).all():
        return None
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 2:
        one_hot = np.isin(values, (0, 1)).all() and (values.sum(axis=1) == 1).all()
        if not one_hot:
            return None  # multi-label or soft labels
        return _Labels(np.argmax(values, axis=1).astype(np.int64), values.shape[1], "one_hot")
    if len(values) == 0 or (values != np.round(values)).any() or values.min() < 0:
        return None  # soft labels, or an ignore_class such as -1
    classes = values.astype(np.int64)
    if "binary" in loss:
        if classes.max() > 1:
            return None  # check_setup's business
        return _Labels(classes, 2, "binary")
    # The classes are those of the labels (at least two): a class no row holds is not what accuracy hides.
    return _Labels(classes, max(int(classes.max()) + 1, 2), "sparse")


# ---------------------------------------------------------------- the checks


def _check_validation_split(fit: _Fit, labels: _Labels | None) -> Finding | None:
    if not fit.validation_split or labels is None or fit.rows is None or fit.train_rows is None:
        return None
    split, rows = fit.train_rows, fit.rows
    if split in (0, rows):
        return None  # fit itself refuses: too few rows to split
    train = np.bincount(labels.classes[:split], minlength=labels.num_classes)
    val = np.bincount(labels.classes[split:], minlength=labels.num_classes)
    grouped = _sorted_by_class(labels.classes)
    z = _largest_z(train + val, val)
    if not grouped and z < CHANCE_Z:
        return None  # a random split differs this much often enough
    why = (
        "y is sorted by class" if grouped else f"a random split differs this much less than once in 1000 (z = {z:.1f})"
    )
    part = f"{fit.validation_split * 100:.3g}%"
    where = f"the last {part} of rows (x[{split}:], {rows - split} rows)"
    fix = (
        f"{_shuffle_line(fit)}  (then fit as before); or validate on a stratified split: "
        f"split = cookbook.split_and_standardize(x, y, test_fraction={fit.validation_split:g}, stratify=True); "
        "model.fit(split.X_train, split.y_train, validation_data=(split.X_test, split.y_test))"
    )

    unseen = [k for k in range(labels.num_classes) if val[k] and not train[k]]
    if unseen:
        missing = ", ".join(f"{val[k]} of class {k}" for k in unseen)
        raise FitError(
            f"validation_split={fit.validation_split:g} validates on classes the training part never sees: "
            f"{where} hold {missing}, and training (x[:{split}]) holds {_counts(train)} ({why}); "
            f"the model cannot learn a class it never sees, so its validation scores mean nothing. Fix: {fix}"
        )
    shift = 0.5 * float(np.abs(train / train.sum() - val / val.sum()).sum())
    single = np.count_nonzero(val) == 1 and np.count_nonzero(train) > 1
    if not single and shift <= MAX_SHARE_SHIFT:
        return None
    if single:
        held = f"hold only class {int(np.argmax(val))}"
    else:
        held = f"hold {_counts(val)} (class shares {shift:.2f} apart in total variation, above {MAX_SHARE_SHIFT})"
    return Finding(
        code="sorted_validation_split",
        problem="validation_split takes the last rows as they are, and here they are not a sample of the classes",
        evidence=f"{where} {held}; training (x[:{split}]) holds {_counts(train)}; {why}",
        fix=fix,
        backends=_EVERY_BACKEND,
    )


def _check_frozen_shuffle(fit: _Fit) -> Finding | None:
    if keras.backend.backend() != "tensorflow" or fit.rows is None or fit.train_rows is None:
        return None
    if not fit.shuffle or fit.shuffle == "batch" or fit.batch_size is None:
        return None
    seed = _tensorflow_global_seed()
    if seed is None:
        return None  # an unseeded tf.random.shuffle draws a new order each epoch
    batches = math.ceil(fit.train_rows / fit.batch_size)
    # With steps_per_epoch, fit keeps one iterator across epochs and restarts it (same order) when it runs out.
    steps = min(fit.steps_per_epoch or batches, batches)
    passes = math.ceil(fit.epochs * steps / batches)
    if passes < 2:
        return None
    epochs = f"{fit.epochs} epochs" if steps == batches else f"{fit.epochs} epochs of {steps} steps"
    return Finding(
        code="frozen_shuffle",
        problem="fit(shuffle=True) visits the rows in the same order in every epoch",
        evidence=(
            f"TensorFlow's global seed is {seed} (set by keras.utils.set_random_seed or tf.random.set_seed), and fit "
            f"shuffles arrays with tf.random.shuffle inside its tf.data pipeline, restarted from that seed each "
            f"epoch: {epochs} over {fit.train_rows} training rows in batches of {fit.batch_size} make {passes} "
            "passes in one order"
        ),
        fix=_reshuffle_line(fit, seed),
        backends=("tensorflow",),
    )


def _check_accuracy_metrics(model: keras.Model, fit: _Fit, labels: _Labels | None) -> Finding | None:
    if labels is None or fit.train_rows is None:
        return None
    metrics = _compiled_metrics(model)
    if not all(_is_accuracy(metric) for metric, _ in metrics):
        return None  # at least one metric that is not accuracy: trust the user's choice
    classes = labels.classes[: fit.train_rows]
    counts = np.bincount(classes, minlength=labels.num_classes)
    # What each metric sees: Keras weights only `weighted_metrics`, by sample_weight or class_weight.
    views = [_weighted_counts(fit, classes, counts) if weighted else counts for _, weighted in metrics] or [counts]
    if not all(_imbalanced(view) for view in views):
        return None
    major, minor = int(np.argmax(counts)), int(np.argmin(counts))
    share = counts[major] / counts.sum()
    reported = ", ".join(_metric_name(metric) for metric, _ in metrics) or "the loss alone (no metrics compiled)"
    evidence = (
        f"class {major} holds {counts[major]} of the {counts.sum()} training rows ({share:.1%}), "
        f"class {minor} {counts[minor]} ({counts[minor] / counts.sum():.1%}): a model that always predicts "
        f"class {major} scores accuracy {share:.3f}, and fit reports {reported}"
    )
    if fit.class_weight is not None:
        evidence += "; class_weight changes the loss, not what an unweighted accuracy reports"
    return Finding(
        code="accuracy_on_imbalanced",
        problem="the classes are imbalanced and accuracy is all fit reports: it rewards ignoring the rare classes",
        evidence=evidence,
        fix=_metrics_line(fit, labels, counts),
        backends=_EVERY_BACKEND,
    )


def _check_batchnorm(model: keras.Model, fit: _Fit) -> Finding | None:
    if fit.train_rows is None or fit.batch_size is None:
        return None
    rows, batch_size = fit.train_rows, fit.batch_size
    if batch_size == 1:
        which = "every batch holds 1 row (batch_size=1)"
    elif rows % batch_size == 1:
        which = (
            f"the last batch of each epoch holds 1 row ({rows} training rows = {rows // batch_size} x {batch_size} + 1)"
        )
    else:
        return None
    layers = [layer for layer in model._flatten_layers(include_self=False) if _normalizes_over_batch_alone(layer)]
    if not layers:
        return None
    names = ", ".join(f"{layer.name!r} (input {_input_shape(layer)})" for layer in layers)
    fixes = [f"model.fit(..., batch_size={size})" for size in [_batch_size_without_one(rows, batch_size)] if size]
    fixes.append("or replace the layer with keras.layers.LayerNormalization(), which normalizes each row alone")
    return Finding(
        code="batchnorm_batch_of_one",
        problem="BatchNormalization trains on a batch of one row, where it outputs its beta whatever the input",
        evidence=(
            f"BatchNormalization {names} normalizes each feature over the rows of its batch only, and {which}: "
            "a one-row batch's mean is that row and its variance 0, so the layer outputs beta for every input, "
            "the layers before it get no gradient from that step, and its moving variance shrinks toward 0 "
            f"(multiplied by momentum={layers[0].momentum} at each such step)"
        ),
        fix="; ".join(fixes),
        backends=_EVERY_BACKEND,
    )


# ---------------------------------------------------------------- helpers of the checks


def _sorted_by_class(classes: np.ndarray) -> bool:
    """Whether each class's rows form one contiguous block (the labels sorted, in some class order)."""
    changes = int(np.count_nonzero(np.diff(classes)))
    distinct = len(np.unique(classes))
    return distinct >= 2 and changes == distinct - 1


def _largest_z(total: np.ndarray, val: np.ndarray) -> float:
    """How far (in standard deviations) the validation class counts lie from a random split's, at most.

    A random validation part of m of the n rows holds a hypergeometric count of each class:
    mean m p, variance m p (1 - p) (n - m) / (n - 1), p the class's share of all rows.
    """
    n, m = float(total.sum()), float(val.sum())
    p = total / n
    variance = m * p * (1 - p) * (n - m) / (n - 1)
    spread = variance > 0
    if not spread.any():
        return 0.0
    z = (np.abs(val - m * p)[spread] - 0.5) / np.sqrt(variance[spread])
    return float(z.max())


def _counts(counts: np.ndarray) -> str:
    """The counts as "170 of class 0, 10 of class 1", classes with rows only (the ten largest, beyond ten)."""
    present = [k for k in range(len(counts)) if counts[k]]
    if len(present) > _MAX_CLASSES_LISTED:
        shown = sorted(sorted(present, key=lambda k: -counts[k])[:_MAX_CLASSES_LISTED])
        more = f" and {len(present) - len(shown)} more classes"
    else:
        shown, more = present, ""
    return ", ".join(f"{counts[k]} of class {k}" for k in shown) + more if present else "no rows"


def _taken(name: str, data: Any) -> str:
    """``name`` with its rows reordered by ``order``, written for its type."""
    if hasattr(data, "iloc"):
        return f"{name}.iloc[order]"
    if isinstance(data, Mapping):
        return f"{{key: value[order] for key, value in {name}.items()}}"
    if isinstance(data, (list, tuple)) and any(_is_array(item) for item in data):
        return f"[part[order] for part in {name}]"
    return f"{name}[order]"


def _shuffle_line(fit: _Fit) -> str:
    line = f"order = np.random.default_rng(0).permutation(len(y)); x, y = {_taken('x', fit.x)}, {_taken('y', fit.y)}"
    if fit.sample_weight is not None:
        line += f"; sample_weight = {_taken('sample_weight', fit.sample_weight)}"
    return line


def _tensorflow_global_seed() -> int | None:
    """TensorFlow's global seed, or None: read, not drawn.

    ``tf.random.get_seed(None)`` would answer too, but it draws the next op seed and so shifts every
    later seeded result; the eager context's ``global_seed()`` only reads. Keras's own record
    (``keras.src.utils.rng_utils.get_random_seed``) is not enough: ``keras.backend.clear_session()``
    forgets it while TensorFlow keeps the seed, and ``tf.random.set_seed`` alone never sets it.
    """
    try:
        from tensorflow.python.eager import context
    except ImportError:  # TensorFlow moved it: fall back on Keras's record
        from keras.src.utils import rng_utils

        return rng_utils.get_random_seed()
    return context.global_seed()


def _reshuffle_line(fit: _Fit, seed: int) -> str:
    plain = fit.y is not None and len(_leaves(fit.x)) == 1 and len(_leaves(fit.y)) == 1 and fit.sample_weight is None
    extra = ", validation_data=(x_val, y_val)" if fit.validation_split else ""
    if fit.class_weight is not None:
        extra += ", class_weight=class_weight"
    tf_data = (
        f"dataset = tf.data.Dataset.from_tensor_slices(({', '.join(_tensor_parts(fit))})).shuffle("
        f"{fit.train_rows}, seed={seed}).batch({fit.batch_size}); model.fit(dataset, epochs={fit.epochs}{extra})"
    )
    if not plain:
        return tf_data + "  (tf.data reshuffles every epoch, the same sequence of orders in every run)"
    x = "x.to_numpy()" if hasattr(fit.x, "iloc") else "x"
    y = "y.to_numpy()" if hasattr(fit.y, "iloc") else "y"
    line = (
        f"model.fit(cookbook.ReshuffledArrays({x}, {y}, batch_size={fit.batch_size}, seed={seed}), "
        f"epochs={fit.epochs}, shuffle=False{extra})"
    )
    if fit.validation_split:
        line += "  (ReshuffledArrays takes no validation_split: split the rows once, then pass validation_data)"
    return f"{line}; or {tf_data}"


def _tensor_parts(fit: _Fit) -> list[str]:
    parts = ["x"] + (["y"] if fit.y is not None else [])
    return parts + (["sample_weight"] if fit.sample_weight is not None else [])


def _compiled_metrics(model: keras.Model) -> list[tuple[Any, bool]]:
    """The metrics given to ``compile``, each with whether it is weighted, read without building them."""
    compiled = getattr(model, "_compile_metrics", None)  # None when compiled without metrics
    if compiled is None:
        return []
    metrics = [(metric, False) for metric in _flatten(getattr(compiled, "_user_metrics", None))]
    return metrics + [(metric, True) for metric in _flatten(getattr(compiled, "_user_weighted_metrics", None))]


def _flatten(metrics: Any) -> list[Any]:
    if metrics is None:
        return []
    if isinstance(metrics, Mapping):
        return [m for value in metrics.values() for m in _flatten(value)]
    if isinstance(metrics, (list, tuple)):
        return [m for value in metrics for m in _flatten(value)]
    return [metrics]


def _metric_name(metric: Any) -> str:
    if isinstance(metric, str):
        return metric
    return getattr(metric, "name", None) or getattr(metric, "__name__", None) or type(metric).__name__


def _is_accuracy(metric: Any) -> bool:
    if isinstance(metric, _ACCURACY_CLASSES):
        return True
    if isinstance(metric, keras.metrics.Metric):
        return False  # any other metric object (a subclass named "accuracy" included) is the user's choice
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", "")
    return name.lower() in _ACCURACY_NAMES


def _weighted_counts(fit: _Fit, classes: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Each class's total weight as a weighted metric sees it (Keras: class_weight becomes sample_weight)."""
    if fit.sample_weight is not None:
        weights = np.asarray(fit.sample_weight, dtype=np.float64)
        if weights.ndim == 2 and weights.shape[1] == 1:
            weights = weights[:, 0]
        if weights.ndim == 1:
            return np.bincount(classes, weights=weights[: len(classes)], minlength=len(counts))
        return counts
    if fit.class_weight is not None:
        return counts * np.array([float(fit.class_weight.get(k, 1.0)) for k in range(len(counts))])
    return counts


def _imbalanced(counts: np.ndarray) -> bool:
    total = float(counts.sum())
    return total > 0 and float(counts.min()) / total < IMBALANCE / len(counts)


def _metrics_line(fit: _Fit, labels: _Labels, counts: np.ndarray) -> str:
    if labels.encoding == "binary":
        metrics = "[keras.metrics.Precision(), keras.metrics.Recall(), keras.metrics.AUC(curve='PR')]"
        line = f"model.compile(..., metrics={metrics})"
    elif labels.encoding == "one_hot":
        line = "model.compile(..., metrics=[keras.metrics.F1Score(average='macro')])"
    else:  # F1Score needs one-hot labels; MeanIoU reads integer labels and averages over the classes
        line = (
            f"model.compile(..., metrics=[keras.metrics.MeanIoU(num_classes={labels.num_classes}, "
            "sparse_y_pred=False)])  (or one-hot labels, keras.utils.to_categorical(y), with "
            "loss='categorical_crossentropy' and keras.metrics.F1Score(average='macro'))"
        )
    if fit.class_weight is None and fit.sample_weight is None:
        # The "balanced" weights: rows / (classes x class rows), so each class weighs the same in the loss.
        present = [k for k in range(len(counts)) if counts[k]]
        weights = {k: float(f"{counts.sum() / (len(present) * counts[k]):.3g}") for k in present}
        line += f"; to weigh the rare classes up in the loss too: model.fit(..., class_weight={weights})"
    return line


def _input_shape(layer: keras.layers.Layer) -> tuple[Any, ...] | None:
    shapes = getattr(layer, "_build_shapes_dict", None) or {}
    shape = next(iter(shapes.values()), None)
    return tuple(shape) if shape is not None else None


def _normalizes_over_batch_alone(layer: keras.layers.Layer) -> bool:
    """A trainable BatchNormalization whose every non-batch reduction axis has size 1 (e.g. after Dense).

    A frozen one (``trainable=False``) runs in inference mode in Keras 3; an unbuilt one has no known shape.
    """
    if not isinstance(layer, keras.layers.BatchNormalization) or not layer.trainable:
        return False
    shape = _input_shape(layer)
    if not shape:
        return False
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    kept = {axis % len(shape) for axis in axes}
    return all(size == 1 for i, size in enumerate(shape) if i != 0 and i not in kept)


def _batch_size_without_one(rows: int, batch_size: int) -> int | None:
    """The batch size nearest the user's (32 instead of 1) that leaves no batch of one row."""
    if rows < 2:
        return None
    start = _DEFAULT_BATCH_SIZE if batch_size == 1 else batch_size
    for distance in range(rows):
        for size in (start + distance, start - distance):
            if 2 <= size and rows % size != 1:
                return size
    return None
