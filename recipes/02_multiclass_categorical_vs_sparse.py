"""Multiclass on Digits: categorical vs sparse categorical cross-entropy.

Ten classes need ``Dense(10, "softmax")``; the labels can be stored one-hot
(``keras.utils.to_categorical``, loss ``categorical_crossentropy``) or as
integers 0-9 (loss ``sparse_categorical_crossentropy``). Trained from the
same seed, the two give the same loss curve and the same accuracy, and so do
the cookbook's from-scratch twins of both losses: the choice is only about
how the labels are stored. Builds on 01_regression_mse (same shape: data ->
model -> fit -> table -> figure), with the output head taken from
``cookbook.output_head``.

Run it: ``python recipes/02_multiclass_categorical_vs_sparse.py`` (``--quick``
for a few-second look, ``--csv my.csv --target label`` for your own classes).
"""

# %% [markdown]
# ## Setup

# %%
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.losses
import cookbook.recipe
from cookbook.heads import encode_labels, output_head
from cookbook.setup_check import check_setup
import keras

EPOCHS = 10
QUICK_EPOCHS = 2
BATCH_SIZE = 128
LEARNING_RATE = 0.01
HIDDEN_UNITS = 32

# One row per run: (name, output_head task, loss to compile with or None for the head's own).
# The cookbook twins are plain functions of (y_true, y_pred), written in cookbook/losses.py.
RUNS = (
    ("one-hot + keras categorical_crossentropy", "multiclass_onehot", None),
    ("integers + keras sparse_categorical_crossentropy", "multiclass", None),
    ("one-hot + cookbook.losses.categorical_crossentropy", "multiclass_onehot",
     cookbook.losses.categorical_crossentropy),
    ("integers + cookbook.losses.sparse_categorical_crossentropy", "multiclass",
     cookbook.losses.sparse_categorical_crossentropy),
)


# %% [markdown]
# ## Data
#
# Class labels are renumbered 0..C-1 (``pandas.factorize``), which both
# label encodings need: the one-hot column of class ``k`` is column ``k``.

# %%
def prepare_data(args):
    """Bundled Digits (or ``--csv``) as a stratified, standardized split with labels 0..C-1."""
    X, y = cookbook.recipe.load_data(args)
    labels, classes = cookbook.recipe.class_labels(args, y)
    split = cookbook.recipe.split(args, X, labels, stratify=True)
    return split, len(classes)


# %% [markdown]
# ## Model
#
# The same network for every run; only the label encoding and the loss
# change. ``output_head`` returns the final ``Dense(C, "softmax")`` and the
# loss that goes with the labels, from one table (``cookbook.HEAD_RULES``).

# %%
def build_model(num_features, num_classes, task, loss, seed):
    """A small MLP ending in the task's output head, compiled and checked."""
    head, head_loss = output_head(task, num_classes,
                                  kernel_initializer=keras.initializers.GlorotUniform(seed + 1))
    model = keras.Sequential([
        keras.Input((num_features,)),
        keras.layers.Dense(HIDDEN_UNITS, activation="relu",
                           kernel_initializer=keras.initializers.GlorotUniform(seed)),
        head,
    ])
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss or head_loss)
    return model


# %% [markdown]
# ## Train
#
# Each run starts from the same seed, so the initial weights and the order
# of the mini-batches are the same; any difference in the curves comes from
# the losses alone.

# %%
def train_all(split, num_classes, seed, epochs):
    """Fit every run of RUNS; return {name: (history, test probabilities, train labels as encoded)}."""
    results = {}
    for name, task, loss in RUNS:
        keras.utils.set_random_seed(seed)
        y_train = encode_labels(task, split.y_train, num_classes)
        model = build_model(split.X_train.shape[1], num_classes, task, loss, seed)
        check_setup(model, y_train)  # raises if head, loss and labels disagree
        history = model.fit(split.X_train, y_train, epochs=epochs, batch_size=BATCH_SIZE, verbose=0)
        # Calling the model directly skips tracing a predict function: same numbers, less time.
        probabilities = np.asarray(model(split.X_test, training=False), dtype=np.float64)
        results[name] = (history, probabilities, y_train)
    return results


# %% [markdown]
# ## Compare
#
# The largest per-epoch difference between each run's training-loss curve
# and the first run's, and how far apart their test predictions are. The
# test loss is computed the same way for every run (integer labels, Keras's
# sparse cross-entropy), so it compares the models, not the losses.

# %%
def largest_curve_difference(history, reference, key="loss"):
    """max over epochs of |loss - reference loss| for one history key."""
    return float(np.max(np.abs(np.subtract(history.history[key], reference.history[key]))))


def compare_runs(results, split):
    """One row per run: final losses, test accuracy, and its distance from the first run."""
    ref_history, ref_probabilities, _ = results[RUNS[0][0]]
    rows = []
    for name, (history, probabilities, y_train) in results.items():
        classes = probabilities.argmax(axis=1)
        test_loss = keras.losses.sparse_categorical_crossentropy(split.y_test, probabilities)
        rows.append({
            "run": name,
            "labels per sample": "one-hot row" if y_train.ndim == 2 else "integer",
            "final train loss": history.history["loss"][-1],
            "test loss": float(np.mean(test_loss)),
            "test accuracy": float(np.mean(classes == split.y_test)),
            "max |Δ train loss| vs run 1": largest_curve_difference(history, ref_history),
            "max |Δ test probability| vs run 1": float(np.max(np.abs(probabilities - ref_probabilities))),
            "same predicted class as run 1": float(np.mean(classes == ref_probabilities.argmax(axis=1))),
        })
    return pd.DataFrame(rows)


def plot_curves(results, reference_name):
    """Left: every run's loss curve (they lie on top of each other). Right: distance from run 1."""
    fig = Figure(figsize=(11, 4))
    left, right = fig.subplots(1, 2)
    reference = results[reference_name][0]
    for index, (name, (history, _, _)) in enumerate(results.items()):
        style = {"linestyle": ("-", "--", ":", "-.")[index % 4], "color": f"C{index}", "label": name}
        epochs = np.arange(1, len(history.history["loss"]) + 1)
        left.plot(epochs, history.history["loss"], **style)
        if name != reference_name:
            gap = np.abs(np.subtract(history.history["loss"], reference.history["loss"]))
            right.plot(epochs, np.maximum(gap, 1e-12), marker="o", **style)
    left.set(xlabel="epoch", ylabel="train loss", yscale="log", title="Same seed, four ways to store labels")
    left.legend(fontsize=7)
    right.set(xlabel="epoch", ylabel="|Δ train loss| vs run 1 (floor 1e-12)", yscale="log",
              title="The curves differ by float rounding only")
    right.legend(fontsize=7)
    return fig


# %%
def main(argv=None):
    """Train the four runs, compare their curves and accuracy, write the table and figure."""
    parser = cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS,
                                         quick_epochs=QUICK_EPOCHS, dataset="digits")
    args = cookbook.recipe.parse_args(parser, argv)
    keras.utils.set_random_seed(args.seed)

    split, num_classes = prepare_data(args)
    results = train_all(split, num_classes, args.seed, args.epochs)
    table = compare_runs(results, split)

    cookbook.recipe.print_table(table, f"{args.recipe}: {num_classes} classes, {args.epochs} epochs, same seed")
    worst = table["max |Δ train loss| vs run 1"].max()
    print(f"\nLargest per-epoch loss difference between any run and run 1: {worst:.3g}")
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_figure(plot_curves(results, RUNS[0][0]), args, "loss_curves")
    return table


if __name__ == "__main__":
    main()
