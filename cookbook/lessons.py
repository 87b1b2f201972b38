"""What the optimizer lessons (recipes 08-10) share: Adam's step by hand, step-size probes, the race.

Three small tools, each checked against an independent reference in
``tests/test_optimizer_lessons.py``:

- ``adam_step_sizes``: Adam's step in float64 NumPy with the bias correction of
  ``m`` and ``v`` switchable separately (the cookbook's ``Adam`` switches both
  together), and ``bias_correction_ratio``, the closed form for a constant
  gradient.
- ``effective_step_sizes``: the per-weight step ``lr / sqrt(accumulator + eps)``
  read from an Adagrad or RMSprop optimizer's own variables.
- ``race``: one small model trained with several optimizers from the same
  initial weights and the same batch order; loss curves and a final table
  computed from the same numbers.
"""

import dataclasses

import numpy as np
import pandas as pd

import keras
import tensorflow as tf  # tf.data only: batches of one fixed shape (see `shuffled_batches`)

from cookbook.errors import CookbookError

__all__ = [
    "EffectiveStepRecorder",
    "LessonError",
    "RaceResult",
    "adam_step_sizes",
    "bias_correction_ratio",
    "effective_step_sizes",
    "epochs_to_reach",
    "evaluate_classifier",
    "race",
    "shuffled_batches",
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


# ---------------------------------------------------------------- Adagrad's and RMSprop's step

# Which optimizer variable holds the running sum/average of squared
# gradients, by optimizer class name (Keras's names; the cookbook's twins use
# the same ones so their variable lists line up).
_ACCUMULATOR_NAME = {"Adagrad": "accumulator", "RMSprop": "velocity"}


def effective_step_sizes(optimizer, variables=None):
    """Each weight's step per unit gradient, ``lr / sqrt(accumulator + epsilon)``, right now.

    Adagrad's accumulator is the running *sum* of squared gradients (it only
    grows); RMSprop's is their exponential moving *average*. Keras puts
    ``epsilon`` inside the square root for both (``sqrt(acc + eps)``), unlike
    Adam, where it is added after it.

    Args:
        optimizer: a built Adagrad or RMSprop (Keras's or the cookbook's),
            without momentum.
        variables: the model variables to report, e.g. ``[layer.kernel]``;
            ``None`` reports every variable the optimizer updates. Defaults to `None`.

    Returns:
        A 1-D float64 array, one entry per weight, in the variables' order.
    """
    kind = type(optimizer).__name__
    if kind not in _ACCUMULATOR_NAME:
        raise LessonError(f"{kind} has no squared-gradient accumulator: pass an Adagrad or RMSprop optimizer")
    if getattr(optimizer, "momentum", 0) or getattr(optimizer, "centered", False):
        raise LessonError("with momentum or centered=True RMSprop's step is not lr / sqrt(v + eps): "
                          "pass RMSprop(momentum=0.0, centered=False)")
    if not optimizer.built:
        raise LessonError(f"the {kind} optimizer has no accumulators yet: train at least one step first")
    wanted = variables if variables is not None else optimizer._trainable_variables
    lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    sizes = []
    for variable in wanted:
        index = optimizer._get_variable_index(variable)
        accumulator = _accumulators(optimizer, kind)[index]
        sizes.append(lr / np.sqrt(keras.ops.convert_to_numpy(accumulator).astype(np.float64).ravel()
                                  + optimizer.epsilon))
    return np.concatenate(sizes)


def _accumulators(optimizer, kind):
    # One accumulator per trainable variable, in the same order, found by the
    # suffix Keras gives its name ("<variable path>_accumulator").
    suffix = _ACCUMULATOR_NAME[kind]
    found = [v for v in optimizer.variables if v.name.endswith(suffix)]
    if len(found) != len(optimizer._trainable_variables):
        raise LessonError(f"found {len(found)} {suffix} variables for {len(optimizer._trainable_variables)} "
                          f"weights: pass a plain Keras or cookbook {kind}")
    return found


class EffectiveStepRecorder(keras.callbacks.Callback):
    """Record the median effective step ``lr / sqrt(accumulator + eps)`` during ``fit``.

    One value after the very first training step (the "start") and one at
    the end of every epoch, read from the optimizer's own accumulators with
    ``effective_step_sizes``. The median over all weights summarizes them
    without letting a few weights that never get a gradient (constant
    input pixels) decide the number.

    Attributes:
        steps: the optimizer step count at each record (1, then each epoch's end).
        sizes: the median effective step at each record.
    """

    def __init__(self):
        super().__init__()
        self.steps, self.sizes = [], []

    def _record(self):
        optimizer = self.model.optimizer
        self.steps.append(int(keras.ops.convert_to_numpy(optimizer.iterations)))
        self.sizes.append(float(np.median(effective_step_sizes(optimizer))))

    def on_train_batch_end(self, batch, logs=None):
        """After the first step only: the start of the curve."""
        if not self.steps:
            self._record()

    def on_epoch_end(self, epoch, logs=None):
        """After every epoch."""
        self._record()


# ---------------------------------------------------------------- the race

@dataclasses.dataclass(frozen=True)
class RaceResult:
    """What ``race`` measured.

    Attributes:
        curves: one row per optimizer and epoch: ``optimizer, epoch, train
            loss, train accuracy``. Epoch 0 is the shared starting point
            (measured on the whole training set); epochs >= 1 are Keras's
            running averages over the epoch, as ``model.fit`` reports them.
        table: one row per optimizer: the last epoch's train loss and
            accuracy (the last point of each curve), the test loss and
            accuracy after training, and the first epoch at which the train
            loss is below ``target_loss``.
    """

    curves: pd.DataFrame
    table: pd.DataFrame


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


def shuffled_batches(X, y, batch_size, seed=0):
    """Training batches for ``model.fit``, reshuffled every epoch, all exactly ``batch_size`` long.

    Digits' 1,347 training rows are not a multiple of any useful batch size,
    and a short last batch makes TensorFlow trace the training step a second
    time for its shape (about a second per model, paid once per optimizer).
    Dropping that remainder (a different few rows each epoch, since the
    order is reshuffled) keeps one trace per model.

    Args:
        X: inputs, shape ``(n, features)``.
        y: labels, shape ``(n,)``.
        batch_size: rows per batch, at most ``n``.
        seed: shuffling seed; the same seed gives the same batch order. Defaults to `0`.
    """
    if not 1 <= batch_size <= len(X):
        raise LessonError(f"batch_size={batch_size} with {len(X)} training rows: pass 1..{len(X)}")
    data = tf.data.Dataset.from_tensor_slices((X, y))
    return data.shuffle(len(X), seed=seed, reshuffle_each_iteration=True).batch(batch_size, drop_remainder=True)


def race(optimizers, build_model, split, epochs, batch_size=64, target_loss=0.3, seed=0):
    """Train the same classifier with each optimizer from the same start; curves and a table.

    Every contestant gets a copy of the same initial weights and the same
    sequence of shuffled batches (``shuffled_batches`` with one seed):
    the only difference between two rows is the optimizer. The model is
    compiled with ``sparse_categorical_crossentropy`` (integer labels, a
    softmax output).

    Args:
        optimizers: ``{name: zero-argument callable returning a fresh optimizer}``.
        build_model: zero-argument callable returning an uncompiled model.
        split: a ``cookbook.Split`` (``X_train, y_train, X_test, y_test``).
        epochs: epochs per optimizer (>= 1).
        batch_size: minibatch size. Defaults to `64`.
        target_loss: the train loss the "epochs to reach" column waits for.
            Defaults to `0.3`.
        seed: seed for the shared initial weights and batch order. Defaults to `0`.

    Returns:
        A ``RaceResult`` whose ``table`` is computed from its ``curves``.
    """
    if not isinstance(epochs, (int, np.integer)) or epochs < 1:
        raise LessonError(f"epochs={epochs!r}: pass a whole number of epochs >= 1")
    keras.utils.set_random_seed(seed)
    start = build_model()
    start_weights = start.get_weights()
    start_loss, start_accuracy = evaluate_classifier(start, split.X_train, split.y_train)
    rows, tests = [], {}
    for name, make_optimizer in optimizers.items():
        keras.utils.set_random_seed(seed)  # tf.data combines this global seed with its own: same order
        model = build_model()
        model.set_weights(start_weights)
        model.compile(optimizer=make_optimizer(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        batches = shuffled_batches(split.X_train, split.y_train, batch_size, seed)
        history = model.fit(batches, epochs=epochs, verbose=0, shuffle=False).history  # batches are shuffled
        rows.append({"optimizer": name, "epoch": 0, "train loss": start_loss, "train accuracy": start_accuracy})
        rows.extend({"optimizer": name, "epoch": epoch + 1, "train loss": history["loss"][epoch],
                     "train accuracy": history["accuracy"][epoch]} for epoch in range(epochs))
        tests[name] = evaluate_classifier(model, split.X_test, split.y_test)
    curves = pd.DataFrame(rows)
    return RaceResult(curves=curves, table=_race_table(curves, tests, target_loss))


def _race_table(curves, tests, target_loss):
    rows = []
    for name, curve in curves.groupby("optimizer", sort=False):
        last = curve.iloc[-1]
        reached = epochs_to_reach(curve["train loss"].iloc[1:], target_loss)
        rows.append({"optimizer": name, "train loss": last["train loss"], "train accuracy": last["train accuracy"],
                     "test loss": tests[name][0], "test accuracy": tests[name][1],
                     f"epochs to train loss < {target_loss:g}":
                         reached if reached is not None else f"not within {int(last['epoch'])}"})
    return pd.DataFrame(rows)
