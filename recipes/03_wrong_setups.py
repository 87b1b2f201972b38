"""Wrong setups: what Keras does with a mismatched output layer, loss and labels.

Each classic mistake (one sigmoid unit with categorical cross-entropy, a
softmax on one unit, a linear output with a probability loss, one-hot labels
with the sparse loss, labels out of range, NaN labels, ...) is trained for a
few epochs on Digits, and the table shows what Keras does with it (trains
silently, warns, or fails with an unrelated-looking error) next to the
message ``cookbook.check_setup`` gives before training. Builds on
02_multiclass_categorical_vs_sparse, whose correct heads are the controls.

Run it: ``python recipes/03_wrong_setups.py`` (``--quick`` for a few-second
look, ``--csv my.csv --target label`` for your own classes, at least three).
"""

# %% [markdown]
# ## Setup

# %%
import dataclasses
import textwrap
import warnings

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.recipe
from cookbook.errors import SetupError
from cookbook.heads import output_head
from cookbook.setup_check import check_setup
import keras
import tensorflow as tf

EPOCHS = 20
QUICK_EPOCHS = 5
TRAIN_ROWS = 512  # a small sample is enough to show what each setup does
QUICK_TRAIN_ROWS = 256
LEARNING_RATE = 0.05
HIDDEN_UNITS = 16
# Each run is a few full-batch steps, so fixed costs dominate: eager execution skips
# tracing a graph per model, and feeding the one batch as a repeated dataset
# (one step per epoch) skips NumPy's per-epoch data set-up. Same numbers, ~5x faster.
RUN_EAGERLY = True


# %% [markdown]
# ## Data
#
# Digits gives two label sets: the ten classes (``classes``, integers 0-9,
# or ``onehot`` rows) and a yes/no question, "is it one of the lower half
# of the classes (0-4; with C classes, the first C // 2)?" (``binary``, 0/1).

# %%
@dataclasses.dataclass(frozen=True)
class Labels:
    """The label sets the cases draw from, for the training and the test rows."""

    train: dict
    test: dict
    num_classes: int


def prepare_data(args):
    """Digits (or ``--csv``) split, standardized, cut to a small training sample, labelled four ways."""
    X, y = cookbook.recipe.load_data(args)
    classes, names = cookbook.recipe.class_labels(args, y)
    if len(names) < 3:
        cookbook.recipe.fail(args, f"target {y.name!r} has {len(names)} classes; this lesson needs at least 3 "
                                   "(it shows multiclass mistakes too)")
    split = cookbook.recipe.split(args, X, classes, stratify=True)
    rows = QUICK_TRAIN_ROWS if args.quick else TRAIN_ROWS
    X_train, y_train = split.X_train[:rows], split.y_train[:rows]  # the split is already shuffled
    num_classes = len(names)

    def label_sets(y_classes, nan_row):
        binary = (y_classes < num_classes // 2).astype("float32")
        with_nan = binary.copy()
        with_nan[nan_row] = np.nan  # one missing label, as a bad CSV merge leaves it
        return {"classes": y_classes.astype("int32"), "binary": binary, "binary with a NaN": with_nan,
                "onehot": keras.utils.to_categorical(y_classes, num_classes)}

    labels = Labels(label_sets(y_train, 0), label_sets(split.y_test, 0), num_classes)
    return X_train, split.X_test, labels


# %% [markdown]
# ## Model
#
# One case = one output layer, one loss, one label set. ``units`` may be a
# number or ``"C"`` (the number of classes) or ``"C-1"`` (one too few).
# The two controls are built by ``cookbook.output_head``.

# %%
@dataclasses.dataclass(frozen=True)
class Case:
    """One setup to train: the final layer, the loss, which labels."""

    name: str
    labels: str
    units: object = None
    activation: str | None = None
    loss: object = None
    head_task: str | None = None  # a correct control built by output_head


CASES = (
    Case("one sigmoid unit + categorical_crossentropy", "binary", 1, "sigmoid", "categorical_crossentropy"),
    Case("softmax on one unit + binary_crossentropy", "binary", 1, "softmax", "binary_crossentropy"),
    Case("linear output + binary_crossentropy", "binary", 1, None, "binary_crossentropy"),
    Case("one sigmoid unit + sparse_categorical_crossentropy", "binary", 1, "sigmoid",
         "sparse_categorical_crossentropy"),
    Case("2-unit softmax + binary_crossentropy, integer labels", "binary", 2, "softmax", "binary_crossentropy"),
    Case("one-hot labels + sparse_categorical_crossentropy", "onehot", "C", "softmax",
         "sparse_categorical_crossentropy"),
    Case("integer labels + categorical_crossentropy", "classes", "C", "softmax", "categorical_crossentropy"),
    Case("labels outside [0, units): C-1 units", "classes", "C-1", "softmax", "sparse_categorical_crossentropy"),
    Case("C classes into one sigmoid unit", "classes", 1, "sigmoid", "binary_crossentropy"),
    Case("linear output + sparse_categorical_crossentropy", "classes", "C", None,
         "sparse_categorical_crossentropy"),
    Case("softmax + loss with from_logits=True", "classes", "C", "softmax",
         "SparseCategoricalCrossentropy(from_logits=True)"),
    Case("NaN in the labels", "binary with a NaN", 1, "sigmoid", "binary_crossentropy"),
    Case("control: output_head('binary')", "binary", head_task="binary"),
    Case("control: output_head('multiclass')", "classes", head_task="multiclass"),
)
_LOSS_OBJECTS = {
    "SparseCategoricalCrossentropy(from_logits=True)": lambda: keras.losses.SparseCategoricalCrossentropy(
        from_logits=True),
}


def build_model(case, num_features, num_classes, seed):
    """A small MLP ending in the case's output layer, compiled with its loss."""
    init = keras.initializers.GlorotUniform
    if case.head_task:
        head, loss = output_head(case.head_task, num_classes if case.head_task == "multiclass" else None,
                                 kernel_initializer=init(seed + 1))
    else:
        units = {"C": num_classes, "C-1": num_classes - 1}.get(case.units, case.units)
        head = keras.layers.Dense(units, activation=case.activation, kernel_initializer=init(seed + 1))
        loss = _LOSS_OBJECTS[case.loss]() if case.loss in _LOSS_OBJECTS else case.loss
    model = keras.Sequential([
        keras.Input((num_features,)),
        keras.layers.Dense(HIDDEN_UNITS, activation="relu", kernel_initializer=init(seed)),
        head,
    ])
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss, run_eagerly=RUN_EAGERLY)
    return model


# %% [markdown]
# ## Train
#
# Each case is trained as a learner would, with plain ``model.fit``. Keras
# may train, warn, or stop with an error; every outcome is recorded, and
# ``check_setup`` is asked about the same model and labels.

# %%
def run_case(case, X_train, X_test, labels, seed, epochs):
    """Train one case; return what Keras did and what check_setup says."""
    keras.utils.set_random_seed(seed)
    model = build_model(case, X_train.shape[1], labels.num_classes, seed)
    y_train = labels.train[case.labels]
    row = {"setup": case.name, "labels": case.labels}
    full_batch = tf.data.Dataset.from_tensors((X_train, y_train)).repeat()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            history = model.fit(full_batch, epochs=epochs, steps_per_epoch=1, shuffle=False, verbose=0)
            outputs = np.asarray(model(X_test, training=False), dtype=np.float64)
        except Exception as exc:  # noqa: BLE001 - recording what Keras raises is the lesson
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            row.update(keras_does=f"fit raises {type(exc).__name__}", keras_message=_short(first_line))
            history = None
    truth = labels.test["binary" if case.labels.startswith("binary") else "classes"]
    if history is not None:
        losses = history.history["loss"]
        predicted = outputs.argmax(axis=1) if outputs.shape[1] > 1 else (outputs[:, 0] > 0.5).astype(int)
        # No accuracy where it would mean nothing: NaN outputs compare as "class 0", and a
        # single 0/1 output cannot name one of C classes.
        meaningless = np.isnan(outputs).any() or (case.labels == "classes" and outputs.shape[1] == 1)
        warned = sorted({str(w.message).strip().splitlines()[0] for w in caught})
        row.update(
            keras_does=("trains" + (", warns" if warned else " silently")
                        + (", loss is NaN" if np.isnan(losses[-1]) else "")),
            keras_message=_short(warned[0]) if warned else "",
            first_loss=losses[0], last_loss=losses[-1],
            output_min=float(np.nanmin(outputs)) if not np.all(np.isnan(outputs)) else np.nan,
            output_max=float(np.nanmax(outputs)) if not np.all(np.isnan(outputs)) else np.nan,
            test_accuracy=np.nan if meaningless else float(np.mean(predicted == truth)),
        )
    # The bar to beat, for every row: always predict the commonest class of the test labels.
    row["majority_class_accuracy"] = float(np.unique(truth, return_counts=True)[1].max() / len(truth))
    try:
        check_setup(model, y_train)
        row["check_setup"] = "silent (correct setup)"
    except SetupError as exc:
        row["check_setup"] = f"SetupError: {exc}"
    return row


def _short(text, width=90):
    return text if len(text) <= width else text[: width - 3] + "..."


# %% [markdown]
# ## Compare
#
# Read the table row by row: "trains silently" next to a SetupError is a
# mistake Keras would have let you ship. Rows worth a second look:
#
# * one sigmoid unit + ``categorical_crossentropy``: Keras rescales the one
#   probability so the row sums to 1, so every loss is exactly 0 and the
#   gradient is zero: nothing is learned. Keras 3 warns about the shape,
#   but training goes ahead with a loss of 0.0 that looks perfect.
# * softmax on one unit: on TensorFlow, Keras computes the loss from the
#   logit it cached before the softmax, so the loss curve is the sigmoid
#   control's, while every prediction is 1.0.
# * C classes into one sigmoid unit: a label of 9 drives "binary
#   cross-entropy" below zero, which no real cross-entropy can be.
# * softmax + ``from_logits=True``: Keras on TensorFlow warns and reuses the
#   cached logits, so it trains exactly like the control; ``check_setup``
#   refuses it anyway, because other backends apply the softmax twice.
# * the errors Keras does raise name tensor ranks or a kernel, not the fix.

# %%
def plot_outcomes(table):
    """Test accuracy per setup; bars of refused setups in red, controls in green, fit errors marked."""
    fig = Figure(figsize=(9, 0.45 * len(table) + 1.5))
    ax = fig.subplots()
    positions = np.arange(len(table))[::-1]
    accuracy = table["test_accuracy"].fillna(0.0)
    colours = ["tab:green" if verdict.startswith("silent") else "tab:red" for verdict in table["check_setup"]]
    ax.barh(positions, accuracy, color=colours)
    ax.scatter(table["majority_class_accuracy"], positions, marker="|", s=200, color="black", zorder=3,
               label="always the commonest class")
    ax.legend(loc="lower right", fontsize=8)
    for y_pos, (_, row) in zip(positions, table.iterrows()):
        label = (f"{row['keras_does']} (no meaningful accuracy)" if pd.isna(row["test_accuracy"])
                 else f"{row['test_accuracy']:.2f}")
        ax.text(0.01 if pd.isna(row["test_accuracy"]) else row["test_accuracy"] + 0.01, y_pos, label,
                va="center", fontsize=8)
    ax.set_yticks(positions, table["setup"], fontsize=8)
    ax.set(xlim=(0, 1.25), xlabel="test accuracy (red: check_setup refuses it; green: correct)",
           title="What Keras does with each setup")
    return fig


# %%
def main(argv=None):
    """Train every case briefly, tabulate Keras's behaviour and check_setup's verdict."""
    parser = cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS,
                                         quick_epochs=QUICK_EPOCHS, dataset="digits")
    args = cookbook.recipe.parse_args(parser, argv)
    keras.utils.set_random_seed(args.seed)

    X_train, X_test, labels = prepare_data(args)
    table = pd.DataFrame([run_case(case, X_train, X_test, labels, args.seed, args.epochs) for case in CASES])

    shown = ["setup", "keras_does", "first_loss", "last_loss", "output_min", "output_max", "test_accuracy"]
    cookbook.recipe.print_table(table[shown], f"{args.recipe}: {len(X_train)} training rows, {args.epochs} "
                                              f"full-batch epochs per setup")
    print("\nWhat Keras said, and what check_setup says before training:")
    for _, row in table.iterrows():
        print(f"\n* {row['setup']}")
        if row["keras_message"]:
            print(textwrap.fill(f"Keras: {row['keras_message']}", 110, initial_indent="    ",
                                subsequent_indent="    "))
        print(textwrap.fill(row["check_setup"], 110, initial_indent="    ", subsequent_indent="    "))
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_figure(plot_outcomes(table), args, "outcomes")
    return table


if __name__ == "__main__":
    main()
