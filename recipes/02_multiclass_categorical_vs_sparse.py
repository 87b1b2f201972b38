"""Multiclass on Digits: categorical vs sparse categorical cross-entropy.

Ten classes need ``Dense(10, activation="softmax")``; the labels can be stored
one-hot (``keras.utils.to_categorical``, ``loss="categorical_crossentropy"``)
or as integers 0-9 (``loss="sparse_categorical_crossentropy"``), and from the
same seed the two give the same loss curve and the same test accuracy: both
take minus the log of the probability of the true class, so the choice is only
about how the labels are stored. The cookbook's from-scratch twins of both
losses (``cookbook.losses``) follow the same curve. Builds on 01_regression_mse
(same shape: data -> model -> fit -> table -> figure).

Run it: ``python recipes/02_multiclass_categorical_vs_sparse.py`` (``--quick``
for a few-second look, ``--csv my.csv --target label`` for your own classes).
"""

# %% [markdown]
# ## Setup
#
# Every number the lesson uses is a named constant here. ``import cookbook``
# comes before ``import keras`` so that TensorFlow's start-up log lines stay
# out of the terminal.

# %%
import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.losses
import cookbook.recipe

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

EPOCHS = 10
QUICK_EPOCHS = 2
BATCH_SIZE = 128
LEARNING_RATE = 0.01
HIDDEN_UNITS = 32
CURVE_TOLERANCE = 1e-5  # "the same curve": every epoch's loss within this of the one-hot run
SHOWN_ROWS = 4  # label rows printed in each encoding
FLOOR = 1e-12  # where an exact 0 is drawn on the log axis of the difference panel


# %% [markdown]
# Helpers that measure and draw. They are not the lesson: the Keras code is in
# ``main`` below, one cell per step.


# %%
def largest_curve_difference(history, reference, key="loss"):
    """max over epochs of |history[key] - reference[key]|: 0 when the curves coincide."""
    return float(np.max(np.abs(np.subtract(history.history[key], reference.history[key]))))


def label_table(y_int, y_onehot, rows=SHOWN_ROWS):
    """The first rows of the training labels, stored both ways."""
    return pd.DataFrame(
        {
            "integer label (sparse_categorical_crossentropy)": y_int[:rows],
            "one-hot row (categorical_crossentropy)": [" ".join(str(int(v)) for v in row) for row in y_onehot[:rows]],
        }
    )


def per_sample_losses(y_int, y_onehot, probabilities, rows=SHOWN_ROWS):
    """Both Keras losses on the first test rows, next to -log p(true class) in float64 NumPy."""
    p = np.asarray(probabilities, np.float64)[:rows]
    return pd.DataFrame(
        {
            "true class": y_int[:rows],
            "p(true class)": p[np.arange(rows), y_int[:rows]],
            "categorical_crossentropy": np.asarray(keras.losses.categorical_crossentropy(y_onehot[:rows], p)),
            "sparse_categorical_crossentropy": np.asarray(
                keras.losses.sparse_categorical_crossentropy(y_int[:rows], p)
            ),
            "-log p(true class), NumPy": -np.log(p[np.arange(rows), y_int[:rows]]),
        }
    )


def plot_curves(histories, reference_name, settings):
    """Left: every run's training loss per epoch. Right: its distance from the reference run."""
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    reference = histories[reference_name]
    # Widest line first, so curves lying exactly on top of each other stay visible as nested stripes.
    widths, markers = (7, 4.5, 2.5, 1), ("o", "s", "^", "x")
    for index, (name, history) in enumerate(histories.items()):
        style = {"color": f"C{index}", "label": name, "marker": markers[index % 4]}
        epochs = np.arange(1, len(history.history["loss"]) + 1)
        left.plot(epochs, history.history["loss"], linewidth=widths[index % 4], markersize=4, **style)
        if name != reference_name:
            gap = np.abs(np.subtract(history.history["loss"], reference.history["loss"]))
            right.plot(epochs, np.maximum(gap, FLOOR), linewidth=widths[index % 4] / 2, markersize=6, **style)
    largest = max(np.abs(np.subtract(h.history["loss"], reference.history["loss"])).max() for h in histories.values())
    left.set(
        xlabel="epoch",
        ylabel="training loss (cross-entropy, nats)",
        title=f"Training loss per epoch: the curves differ by at most {largest:.2g}",
    )
    left.legend(fontsize=7, title=settings, title_fontsize=7)
    right.axhline(CURVE_TOLERANCE, color="grey", linestyle="--", label=f"test tolerance {CURVE_TOLERANCE:g}")
    right.set(
        xlabel="epoch",
        ylabel="|Δ training loss| vs the first run (nats, log scale)",
        yscale="log",
        ylim=(FLOOR / 10, 1e-2),
        title=f"Distance from '{reference_name}'",
    )
    right.set_yticks([FLOOR, 1e-9, 1e-6, 1e-3], ["0 (exact)", "1e-9", "1e-6", "1e-3"])
    right.legend(fontsize=7, loc="upper left")
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def build_parser():
    return cookbook.recipe.make_parser(
        __doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS, dataset="digits", table=True
    )


# %%
def main(argv=None):
    """Train with one-hot and integer labels (and the cookbook twins), compare curves and accuracy."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    keras.utils.set_random_seed(args.seed)

    # %% [markdown]
    # ## Data
    #
    # Digits: 8x8 images of handwritten digits, 64 pixel features, ten
    # classes. The class labels are renumbered 0..C-1, which both encodings
    # need: ``keras.utils.to_categorical`` turns label ``k`` into a row of C
    # zeros with a 1 in column ``k``. Look at the two columns below: the same
    # information, once as one number per sample and once as C numbers.

    # %%
    table = cookbook.recipe.load_table(args, "multiclass")  # classes numbered 0..C-1 in sorted order
    for note in table.notes:
        print(note)
    classes = table.class_table()
    cookbook.recipe.save_table(classes, args, "classes")
    parts = cookbook.recipe.split_table(args, table, stratify=True)
    # Keras preprocessing layers adapted on the training rows (lesson 01 writes them out):
    # Normalization for numeric columns, StringLookup(output_mode="one_hot") for categorical ones.
    split = parts.encoded(cookbook.tables.fit_encoder(parts.train, table.kinds))
    num_classes = len(table.classes)
    y_train_int, y_test_int = split.y_train, split.y_test  # shape (N,): integers 0..C-1
    y_train_onehot = keras.utils.to_categorical(y_train_int, num_classes)  # shape (N, C): one-hot rows
    y_test_onehot = keras.utils.to_categorical(y_test_int, num_classes)
    print(
        f"{len(y_train_int)} training rows, {len(y_test_int)} test rows, {split.X_train.shape[1]} features, "
        f"{num_classes} classes; labels {y_train_int.shape} integers or {y_train_onehot.shape} one-hot"
    )
    cookbook.recipe.show(label_table(y_train_int, y_train_onehot), "The same training labels, stored two ways")

    # %% [markdown]
    # ## Model
    #
    # One output unit per class with ``softmax``, so the ten outputs are
    # probabilities that sum to 1. The model is the same for both label
    # encodings: only ``compile``'s ``loss`` changes. Each run below calls
    # ``keras.utils.set_random_seed`` first, so every run starts from the same
    # weights and sees the mini-batches in the same order; any difference
    # between the curves then comes from the losses alone.

    # %%
    def build_model():
        return keras.Sequential(
            [
                keras.Input((split.X_train.shape[1],)),
                keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
                keras.layers.Dense(num_classes, activation="softmax"),
            ]
        )

    keras.utils.set_random_seed(args.seed)
    build_model().summary()

    # %% [markdown]
    # ## Train
    #
    # One-hot labels go with ``loss="categorical_crossentropy"``. The metric
    # ``"accuracy"`` adapts to the labels: here Keras picks
    # ``categorical_accuracy`` (argmax of the label row vs argmax of the
    # prediction).

    # %%
    keras.utils.set_random_seed(args.seed)
    model_onehot = build_model()
    model_onehot.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    history_onehot = model_onehot.fit(
        split.X_train, y_train_onehot, epochs=args.epochs, batch_size=BATCH_SIZE, verbose=0
    )
    print("categorical_crossentropy, loss per epoch:", np.round(history_onehot.history["loss"], 5))

    # %% [markdown]
    # Integer labels go with ``loss="sparse_categorical_crossentropy"``: the
    # same model, the same seed, and ``y_train_int`` instead of the one-hot
    # rows (here ``"accuracy"`` becomes ``sparse_categorical_accuracy``).

    # %%
    keras.utils.set_random_seed(args.seed)
    model_int = build_model()
    model_int.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )
    history_int = model_int.fit(split.X_train, y_train_int, epochs=args.epochs, batch_size=BATCH_SIZE, verbose=0)
    print("sparse_categorical_crossentropy, loss per epoch:", np.round(history_int.history["loss"], 5))

    # %% [markdown]
    # The same two runs with the losses written from their formulas in
    # ``cookbook/losses.py`` (plain functions of ``y_true, y_pred``, passed to
    # ``compile`` like any Keras loss): if they follow the same curve, the
    # formula ``-log p(true class)`` is all there is to either loss.

    # %%
    twins = {}
    for loss, y_labels in (
        (cookbook.losses.categorical_crossentropy, y_train_onehot),
        (cookbook.losses.sparse_categorical_crossentropy, y_train_int),
    ):
        keras.utils.set_random_seed(args.seed)
        model = build_model()
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss, metrics=["accuracy"])
        twins[loss.__name__] = (
            model,
            model.fit(split.X_train, y_labels, epochs=args.epochs, batch_size=BATCH_SIZE, verbose=0),
        )

    # %% [markdown]
    # ## Compare
    #
    # One row per run. Three things to read: the largest per-epoch difference
    # between each training-loss curve and the one-hot run's (float rounding,
    # if anything: both losses reduce to the same number, computed by
    # slightly different operations), the largest difference of any test
    # probability, and the test accuracy. The test loss is computed the same
    # way for every run (integer labels, Keras's sparse cross-entropy), so it
    # compares the models, not the losses.

    # %%
    runs = {
        "one-hot + keras categorical_crossentropy": (model_onehot, history_onehot, "one-hot row"),
        "integers + keras sparse_categorical_crossentropy": (model_int, history_int, "integer"),
        "one-hot + cookbook.losses.categorical_crossentropy": (*twins["categorical_crossentropy"], "one-hot row"),
        "integers + cookbook.losses.sparse_categorical_crossentropy": (
            *twins["sparse_categorical_crossentropy"],
            "integer",
        ),
    }
    reference_name = next(iter(runs))
    reference_probabilities = np.asarray(model_onehot.predict(split.X_test, verbose=0), np.float64)
    rows = []
    for name, (model, history, stored) in runs.items():
        probabilities = np.asarray(model.predict(split.X_test, verbose=0), np.float64)
        predicted = probabilities.argmax(axis=1)
        rows.append(
            {
                "run": name,
                "labels per sample": stored,
                "final train loss": history.history["loss"][-1],
                "test loss": float(np.mean(keras.losses.sparse_categorical_crossentropy(y_test_int, probabilities))),
                "test accuracy": float(np.mean(predicted == y_test_int)),
                "max |Δ train loss| vs run 1": largest_curve_difference(history, runs[reference_name][1]),
                "max |Δ train accuracy| vs run 1": largest_curve_difference(
                    history, runs[reference_name][1], "accuracy"
                ),
                "max |Δ test probability| vs run 1": float(np.max(np.abs(probabilities - reference_probabilities))),
                "same predicted class as run 1": float(np.mean(predicted == reference_probabilities.argmax(axis=1))),
            }
        )
    majority = float(np.bincount(y_test_int, minlength=num_classes).max() / len(y_test_int))
    for row in rows:
        row["majority-class accuracy"] = majority  # the bar to beat: always name the commonest test class
    results = cookbook.recipe.show(
        pd.DataFrame(rows), f"{args.recipe}: {num_classes} classes, {args.epochs} epochs, same seed"
    )
    cookbook.recipe.save_table(results, args)
    predicted = reference_probabilities.argmax(axis=1)
    per_class = cookbook.recipe.show(
        pd.DataFrame(
            {
                "class": [table.classes[k] for k in range(num_classes)],
                "test rows": np.bincount(y_test_int, minlength=num_classes),
                "test accuracy": [
                    float(np.mean(predicted[y_test_int == k] == k)) if np.any(y_test_int == k) else np.nan
                    for k in range(num_classes)
                ],
            }
        ),
        f"Test accuracy per class ({reference_name})",
    )
    cookbook.recipe.save_table(per_class, args, "per_class")
    settings = (
        f"every run: Adam lr={LEARNING_RATE}, batch_size={BATCH_SIZE}, seed {args.seed},\n"
        f"Dense({HIDDEN_UNITS}, relu) + Dense({num_classes}, softmax), {args.epochs} epochs"
    )
    cookbook.recipe.save_figure(
        plot_curves({name: history for name, (_, history, _) in runs.items()}, reference_name, settings),
        args,
        "loss_curves",
    )

    # %% [markdown]
    # Why the curves coincide: for one sample with true class ``k`` and
    # predicted probabilities ``p``, categorical cross-entropy is
    # ``-sum_j onehot_j * log p_j``, and every term but ``j = k`` is zero, so
    # it is ``-log p_k``: exactly what sparse categorical cross-entropy
    # computes by looking up column ``k``. The table checks it on the first
    # test rows against a float64 NumPy ``-log p_k``.

    # %%
    samples = cookbook.recipe.show(
        per_sample_losses(y_test_int, y_test_onehot, reference_probabilities),
        "Both losses are -log p(true class), sample by sample",
    )
    cookbook.recipe.save_table(samples, args, "per_sample")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    worst = results["max |Δ train loss| vs run 1"].max()
    accuracies = results["test accuracy"]
    sample_gap = float(np.max(np.abs(samples["categorical_crossentropy"] - samples["-log p(true class), NumPy"])))
    cookbook.recipe.remember(
        [
            f"From the same seed, the largest per-epoch training-loss difference between any run and the one-hot "
            f"run was {worst:.2g} over {args.epochs} epochs "
            f"({'within' if worst <= CURVE_TOLERANCE else 'above'} {CURVE_TOLERANCE:g}): the two losses give "
            f"{'the same curve' if worst <= CURVE_TOLERANCE else 'different curves'}.",
            (
                f"Test accuracy was {accuracies.iloc[0]:.4f} in all four runs"
                if accuracies.nunique() == 1
                else f"Test accuracy ranged from {accuracies.min():.4f} to {accuracies.max():.4f} across the four runs"
            )
            + f" (always naming the commonest class: {majority:.4f}); "
            f"{results['same predicted class as run 1'].min():.1%} of test predictions name the same class "
            f"as the first run's.",
            f"Both losses are -log p(true class): on {len(samples)} test rows they differ from NumPy's by at most "
            f"{sample_gap:.1g}.",
            f"The only difference is storage: integer labels take {y_train_int.nbytes} bytes here, one-hot rows "
            f"{y_train_onehot.nbytes} ({y_train_onehot.nbytes / y_train_int.nbytes:.0f}x).",
        ]
    )
    return results


if __name__ == "__main__":
    main()
