"""Wrong setups: what Keras does with a mismatched output layer, loss and labels.

Each classic mistake (one sigmoid unit with categorical cross-entropy, a
softmax on one unit, a linear output with a probability loss, one-hot labels
with the sparse loss, a softmax scored by binary cross-entropy, labels out of
range, NaN labels, ...) is trained for a few epochs on Digits, and the table
shows what Keras does with it (trains silently, warns, or fails with an
unrelated-looking error) next to the message ``cookbook.check_setup`` gives
before training. Builds on 02_multiclass_categorical_vs_sparse, whose correct
heads are the controls.

Run it: ``python recipes/05_wrong_setups.py`` (``--quick`` for a few-second
look, ``--csv my.csv --target label`` for your own classes, at least three).
"""

# %% [markdown]
# ## Setup
#
# Keras checks shapes, not meaning: a model whose output layer, loss and
# labels do not belong together often trains without a word. This lesson
# trains each classic mistake the way a learner would and records what
# happens.

# %%
import dataclasses
import textwrap
import warnings

import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.recipe

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

EPOCHS = 20
QUICK_EPOCHS = 5
TRAIN_ROWS = 512  # a small sample is enough to show what each setup does
QUICK_TRAIN_ROWS = 256
LEARNING_RATE = 0.05
HIDDEN_UNITS = 16
# Each run is a few full-batch steps, so fixed costs dominate: eager execution skips
# tracing a graph for each of the 15 models (same numbers, several times faster).
RUN_EAGERLY = True
WRONG_LOSS_UNITS = (2, 3)  # softmax widths for the silently wrong binary cross-entropy


# %% [markdown]
# Helpers: the cases, and how an outcome is recorded and drawn. The Keras
# code of the lesson is in ``main``.


# %%
@dataclasses.dataclass(frozen=True)
class Case:
    """One setup to train: the final layer, the loss, which labels.

    ``units`` is a number, ``"C"`` (the number of classes) or ``"C-1"`` (one
    too few); ``loss`` a Keras loss name or a key of ``LOSS_OBJECTS``.
    """

    name: str
    labels: str
    units: object
    activation: str | None
    loss: str


CASES = (
    Case("one sigmoid unit + categorical_crossentropy", "binary", 1, "sigmoid", "categorical_crossentropy"),
    Case("softmax on one unit + binary_crossentropy", "binary", 1, "softmax", "binary_crossentropy"),
    Case("linear output + binary_crossentropy", "binary", 1, None, "binary_crossentropy"),
    Case(
        "one sigmoid unit + sparse_categorical_crossentropy", "binary", 1, "sigmoid", "sparse_categorical_crossentropy"
    ),
    Case("2-unit softmax + binary_crossentropy, integer labels", "binary", 2, "softmax", "binary_crossentropy"),
    Case("2-unit softmax + binary_crossentropy, one-hot labels", "binary one-hot", 2, "softmax", "binary_crossentropy"),
    Case(
        "one-hot labels + sparse_categorical_crossentropy", "onehot", "C", "softmax", "sparse_categorical_crossentropy"
    ),
    Case("integer labels + categorical_crossentropy", "classes", "C", "softmax", "categorical_crossentropy"),
    Case("labels outside [0, units): C-1 units", "classes", "C-1", "softmax", "sparse_categorical_crossentropy"),
    Case("C classes into one sigmoid unit", "classes", 1, "sigmoid", "binary_crossentropy"),
    Case("linear output + sparse_categorical_crossentropy", "classes", "C", None, "sparse_categorical_crossentropy"),
    Case(
        "softmax + loss with from_logits=True",
        "classes",
        "C",
        "softmax",
        "SparseCategoricalCrossentropy(from_logits=True)",
    ),
    Case("NaN in the labels", "binary with a NaN", 1, "sigmoid", "binary_crossentropy"),
    # The two correct controls: the rows of cookbook.HEAD_RULES for two classes and for C classes.
    Case("control: Dense(1, 'sigmoid') + binary_crossentropy", "binary", 1, "sigmoid", "binary_crossentropy"),
    Case(
        "control: Dense(C, 'softmax') + sparse_categorical_crossentropy",
        "classes",
        "C",
        "softmax",
        "sparse_categorical_crossentropy",
    ),
)
LOSS_OBJECTS = {
    "SparseCategoricalCrossentropy(from_logits=True)": lambda: keras.losses.SparseCategoricalCrossentropy(
        from_logits=True
    ),
}


def label_sets(y_classes, num_classes):
    """The label sets the cases draw from: classes, one-hot, a 0/1 question (also one-hot, and with a NaN)."""
    binary = (y_classes < num_classes // 2).astype("float32")
    with_nan = binary.copy()
    with_nan[0] = np.nan  # one missing label, as a bad CSV merge leaves it
    return {
        "classes": y_classes.astype("int32"),
        "binary": binary,
        "binary with a NaN": with_nan,
        "binary one-hot": keras.utils.to_categorical(binary, 2),
        "onehot": keras.utils.to_categorical(y_classes, num_classes),
    }


def record_outcome(case, history, error, caught, outputs, truth):
    """One row of the table: what Keras did (trained, warned, raised) with this case."""
    row = {"setup": case.name, "labels": case.labels}
    if error is not None:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        row.update(keras_does=f"fit raises {type(error).__name__}", keras_message=_short(first_line))
    else:
        losses = history.history["loss"]
        predicted = outputs.argmax(axis=1) if outputs.shape[1] > 1 else (outputs[:, 0] > 0.5).astype(int)
        # No accuracy where it would mean nothing: NaN outputs compare as "class 0", and a
        # single 0/1 output cannot name one of C classes.
        meaningless = np.isnan(outputs).any() or (case.labels == "classes" and outputs.shape[1] == 1)
        warned = sorted({str(w.message).strip().splitlines()[0] for w in caught})
        finite = not np.all(np.isnan(outputs))
        row.update(
            keras_does=(
                "trains" + (", warns" if warned else " silently") + (", loss is NaN" if np.isnan(losses[-1]) else "")
            ),
            keras_message=_short(warned[0]) if warned else "",
            first_loss=losses[0],
            last_loss=losses[-1],
            output_min=float(np.nanmin(outputs)) if finite else np.nan,
            output_max=float(np.nanmax(outputs)) if finite else np.nan,
            test_accuracy=np.nan if meaningless else float(np.mean(predicted == truth)),
        )
    # The bar to beat, for every row: always predict the commonest class of the test labels.
    row["majority_class_accuracy"] = float(np.unique(truth, return_counts=True)[1].max() / len(truth))
    return row


def _short(text, width=90):
    return text if len(text) <= width else text[: width - 3] + "..."


def numpy_cross_entropies(y_onehot, probabilities):
    """Binary and categorical cross-entropy of probabilities, in float64 NumPy (the independent truth)."""
    y, p = np.asarray(y_onehot, np.float64), np.clip(np.asarray(probabilities, np.float64), 1e-7, 1 - 1e-7)
    binary = np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
    categorical = np.mean(-np.sum(y * np.log(p), axis=1))
    return float(binary), float(categorical)


def plot_outcomes(table):
    """Test accuracy per setup; bars of refused setups in red, controls in green, fit errors marked."""
    fig = Figure(figsize=(9, 0.45 * len(table) + 1.5))
    ax = fig.subplots()
    positions = np.arange(len(table))[::-1]
    accuracy = table["test_accuracy"].fillna(0.0)
    colours = ["tab:green" if verdict.startswith("silent") else "tab:red" for verdict in table["check_setup"]]
    ax.barh(positions, accuracy, color=colours)
    ax.scatter(
        table["majority_class_accuracy"],
        positions,
        marker="|",
        s=200,
        color="black",
        zorder=3,
        label="always the commonest class",
    )
    ax.legend(loc="lower right", fontsize=8)
    for y_pos, (_, row) in zip(positions, table.iterrows()):
        label = (
            f"{row['keras_does']} (no meaningful accuracy)"
            if pd.isna(row["test_accuracy"])
            else f"{row['test_accuracy']:.2f}"
        )
        ax.text(
            0.01 if pd.isna(row["test_accuracy"]) else row["test_accuracy"] + 0.01,
            y_pos,
            label,
            va="center",
            fontsize=8,
        )
    ax.set_yticks(positions, table["setup"], fontsize=8)
    ax.set(
        xlim=(0, 1.25),
        xlabel="test accuracy (red: check_setup refuses the setup; green: correct)",
        ylabel="setup (output layer + loss, labels)",
        title="What Keras does with each setup",
    )
    return fig


def build_parser():
    return cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS, dataset="digits")


# %%
def main(argv=None):
    """Train every case briefly, tabulate Keras's behaviour and check_setup's verdict."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    keras.utils.set_random_seed(args.seed)

    # %% [markdown]
    # ## Data
    #
    # Digits gives two label sets: the ten classes (integers 0-9, or one-hot
    # rows) and a yes/no question, "is it one of the lower half of the
    # classes (0-4; with C classes, the first C // 2)?" (0/1, or one-hot with
    # two columns). A small training sample is enough to see what each setup
    # does.

    # %%
    X, y = cookbook.recipe.load_data(args)
    classes, names = cookbook.recipe.class_labels(args, y)
    if len(names) < 3:
        cookbook.recipe.fail(
            args,
            f"target {y.name!r} has {len(names)} classes; this lesson needs at least 3 "
            "(it shows multiclass mistakes too)",
        )
    split = cookbook.recipe.split(args, X, classes, stratify=True)
    rows = QUICK_TRAIN_ROWS if args.quick else TRAIN_ROWS
    X_train, X_test = split.X_train[:rows], split.X_test  # the split is already shuffled
    num_classes = len(names)
    train_labels = label_sets(split.y_train[:rows], num_classes)
    test_labels = label_sets(split.y_test, num_classes)
    print(
        f"{len(X_train)} training rows, {len(X_test)} test rows, {num_classes} classes; "
        f"first labels: classes {train_labels['classes'][:5]}, yes/no {train_labels['binary'][:5]}"
    )

    # %% [markdown]
    # ## Model
    #
    # One case = one output layer, one loss, one label set; everything else
    # (a hidden layer of 16 units, Adam) is the same. The table of cases:

    # %%
    cookbook.recipe.show(
        pd.DataFrame([dataclasses.asdict(case) for case in CASES]), "The setups: output layer, loss, labels"
    )

    # %% [markdown]
    # ## Train
    #
    # Each case is built, compiled and fitted as a learner would, with plain
    # ``model.fit`` (one full batch per epoch). Keras may train, warn, or
    # stop with an error: every outcome is recorded. Then ``check_setup``
    # is asked about the same model and labels.

    # %%
    rows = []
    for case in CASES:
        keras.utils.set_random_seed(args.seed)
        units = {"C": num_classes, "C-1": num_classes - 1}.get(case.units, case.units)
        model = keras.Sequential(
            [
                keras.Input((X_train.shape[1],)),
                keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
                keras.layers.Dense(units, activation=case.activation),
            ]
        )
        loss = LOSS_OBJECTS[case.loss]() if case.loss in LOSS_OBJECTS else case.loss
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss, run_eagerly=RUN_EAGERLY)
        y_train = train_labels[case.labels]
        history, error, outputs = None, None, None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                history = model.fit(
                    X_train, y_train, batch_size=len(X_train), epochs=args.epochs, shuffle=False, verbose=0
                )
                outputs = np.asarray(model.predict(X_test, verbose=0), dtype=np.float64)
            except Exception as exc:  # noqa: BLE001 - recording what Keras raises is the lesson
                error = exc
        truth = test_labels["binary" if case.labels.startswith("binary") else "classes"]
        row = record_outcome(case, history, error, caught, outputs, truth)
        try:
            cookbook.check_setup(model, y_train)
            row["check_setup"] = "silent (correct setup)"
        except cookbook.SetupError as exc:
            row["check_setup"] = f"SetupError: {exc}"
        rows.append(row)
    table = pd.DataFrame(rows)

    # %% [markdown]
    # ## Compare
    #
    # Read the table row by row: "trains silently" next to a SetupError is a
    # mistake Keras would have let you ship. Rows worth a second look:
    #
    # * one sigmoid unit + ``categorical_crossentropy``: Keras rescales the one
    #   probability so the row sums to 1, so every loss is 0 (up to float32
    #   rounding) and the gradient is zero: nothing is learned. Keras 3 warns
    #   about the shape, but training goes ahead with a loss that looks perfect.
    # * softmax on one unit: every prediction is 1.0. On TensorFlow, Keras
    #   computes the loss from the logit it cached before the softmax, so the
    #   loss curve is the sigmoid control's; other backends (JAX) score the
    #   1.0 itself, and the loss stays flat.
    # * C classes into one sigmoid unit: a label of 9 drives "binary
    #   cross-entropy" below zero, which no real cross-entropy can be.
    # * softmax + ``from_logits=True``: Keras on TensorFlow warns and reuses the
    #   cached logits, so it trains exactly like the control; ``check_setup``
    #   refuses it anyway, because other backends apply the softmax twice.
    # * the errors Keras does raise name tensor ranks, shapes or a kernel, not
    #   the fix. Which mistakes raise at all depends on the backend: JAX, for
    #   one, one-hot encodes an out-of-range label as a row of zeros, so that
    #   row's loss is 0 and nothing is said.

    # %%
    shown = ["setup", "keras_does", "first_loss", "last_loss", "output_min", "output_max", "test_accuracy"]
    cookbook.recipe.show(
        table[shown], f"{args.recipe}: {len(X_train)} training rows, {args.epochs} full-batch epochs per setup"
    )
    print("\nWhat Keras said, and what check_setup says before training:")
    for _, row in table.iterrows():
        print(f"\n* {row['setup']}")
        if row["keras_message"]:
            print(textwrap.fill(f"Keras: {row['keras_message']}", 110, initial_indent="    ", subsequent_indent="    "))
        print(textwrap.fill(row["check_setup"], 110, initial_indent="    ", subsequent_indent="    "))
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_figure(plot_outcomes(table), args, "outcomes")

    # %% [markdown]
    # ### A loss that is silently wrong
    #
    # ``Dense(2, "softmax")`` + ``binary_crossentropy`` on one-hot labels
    # looks right: binary cross-entropy averaged over the two columns *is*
    # the categorical cross-entropy of two classes. But with the TensorFlow
    # backend a Keras softmax output remembers its logits, and Keras's binary
    # cross-entropy scores those logits as if each were a sigmoid's. The
    # number ``evaluate`` reports (and the loss ``fit`` minimises) is then not
    # the cross-entropy of the probabilities the model predicts (the JAX
    # backend scores the probabilities themselves). Below, the same softmax model
    # is scored three ways: by Keras, by NumPy from its probabilities, and
    # by the cookbook's twin of ``binary_crossentropy``, which computes the
    # true value.

    # %%
    wrong = []
    rng = np.random.default_rng(args.seed)
    for units in WRONG_LOSS_UNITS:
        keras.utils.set_random_seed(args.seed)
        model = keras.Sequential([keras.Input((X_train.shape[1],)), keras.layers.Dense(units, activation="softmax")])
        y_onehot = keras.utils.to_categorical(rng.integers(0, units, len(X_test)), units)
        model.compile(loss="binary_crossentropy")
        keras_says = model.evaluate(X_test, y_onehot, verbose=0)
        true_bce, true_cce = numpy_cross_entropies(y_onehot, model.predict(X_test, verbose=0))
        model.compile(loss=cookbook.losses.binary_crossentropy)
        twin_says = model.evaluate(X_test, y_onehot, verbose=0)
        wrong.append(
            {
                "softmax units": units,
                "Keras binary_crossentropy": keras_says,
                "true BCE of the probabilities": true_bce,
                "cookbook twin": twin_says,
                "true CCE": true_cce,
            }
        )
    wrong = cookbook.recipe.show(
        pd.DataFrame(wrong),
        "Dense(k, 'softmax') scored by binary_crossentropy (untrained model, random one-hot labels)",
    )
    cookbook.recipe.save_table(wrong, args, "wrong_loss")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    by_setup = table.set_index("setup")
    silent = [
        name
        for name, r in by_setup.iterrows()
        if r["keras_does"] == "trains silently" and r["check_setup"].startswith("SetupError")
    ]
    two = wrong.iloc[0]
    keras_says, true_says = two["Keras binary_crossentropy"], two["true BCE of the probabilities"]
    mistakes = by_setup[~by_setup.index.str.startswith("control")]
    refused = int(mistakes["check_setup"].str.startswith("SetupError").sum())
    passed_controls = int(
        by_setup.loc[by_setup.index.str.startswith("control"), "check_setup"].str.startswith("silent").sum()
    )
    cookbook.recipe.remember(
        [
            f"{len(silent)} of the {len(mistakes)} mistakes train without a word from Keras "
            f"({'; '.join(silent)}); check_setup refuses {refused} of the {len(mistakes)} before training "
            f"and passes {passed_controls} of the {len(CASES) - len(mistakes)} correct controls.",
            f"One sigmoid unit + categorical_crossentropy reports a loss of "
            f"{by_setup.loc['one sigmoid unit + categorical_crossentropy', 'last_loss']:.3g}: it looks perfect "
            "and learns nothing.",
            f"Dense(2, 'softmax') + binary_crossentropy: Keras reports {keras_says:.4g} "
            + (
                f"and the true loss of the predicted probabilities is the same on {keras.backend.backend()}"
                if np.isclose(keras_says, true_says, rtol=1e-4)
                else f"where the true loss of the predicted probabilities is {true_says:.4g}"
            )
            + "; use categorical_crossentropy with a softmax.",
        ]
    )
    return table


if __name__ == "__main__":
    main()
