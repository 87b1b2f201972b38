"""Binary classification two ways: Dense(1, sigmoid) or Dense(2, softmax).

A one-unit sigmoid head with ``binary_crossentropy`` and a two-unit softmax
head with ``sparse_categorical_crossentropy`` (or ``categorical_crossentropy``
on one-hot labels) are the same model in different clothes: an exact
conversion turns one into the other, because ``sigmoid(z) = softmax([0, z])[1]``;
they differ in parameter count, label format and training dynamics, and three
near-miss setups show what breaks and what ``check_setup`` says. It builds on
the loss lessons (02: categorical vs sparse labels, 03: wrong setups).

Run it: ``python recipes/03_binary_sigmoid_vs_softmax.py`` (``--quick`` for a
few-second look, ``--hidden 8`` for a small MLP body instead of a linear model,
``--csv my.csv --target label`` for your own two-class table).
"""

# %% [markdown]
# ## Setup
#
# Two classes can be predicted by one sigmoid unit or by a softmax over two
# units. This lesson trains both on the same data from the same starting
# function and measures how alike they are.

# %%
import re
import time
import warnings

import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.recipe
from cookbook.binary_heads import head_parameter_count, roc_auc, sigmoid_to_softmax, softmax_to_sigmoid

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

EPOCHS = 10
QUICK_EPOCHS = 3
NEAR_MISS_EPOCHS = 5  # enough to show each near-miss's symptom
BATCH_SIZE = 32
LEARNING_RATE = 0.02
HIDDEN_UNITS = 0  # 0: logistic regression; --hidden 8 adds a small relu body
THRESHOLD = 0.5  # head A's decision rule: class 1 when P(class 1) > THRESHOLD
SHIFT_SCALE = 1.0  # size of the common shift added to both softmax logits

# The three correct setups: (output units, activation, loss, label encoding).
SETUPS = {
    "A": (1, "sigmoid", "binary_crossentropy", "0/1"),
    "B": (2, "softmax", "sparse_categorical_crossentropy", "integer"),
    "C": (2, "softmax", "categorical_crossentropy", "one-hot"),
}
# The runs compared: (setup, learning-rate factor). "A, 2x lr" is A with twice
# the learning rate: without a hidden layer it follows B's path exactly.
RUNS = {"A": ("A", 1.0), "B": ("B", 1.0), "C": ("C", 1.0), "A, 2x lr": ("A", 2.0)}
# Near misses: one piece of a correct setup swapped for the other head's.
NEAR_MISSES = {
    "softmax on one unit": (1, "softmax", "binary_crossentropy", "0/1"),
    "2-unit softmax + binary CE": (2, "softmax", "binary_crossentropy", "integer"),
    "2-unit softmax + binary CE, one-hot labels": (2, "softmax", "binary_crossentropy", "one-hot"),
    "sigmoid head + one-hot labels": (1, "sigmoid", "binary_crossentropy", "one-hot"),
}


# %% [markdown]
# Helpers: label encodings, timing, probabilities, the comparison tables and
# the figure. The Keras code of the lesson is in ``main``.


# %%
def prepare_data(args):
    """The encoded split and the labels in each encoding; class 1 is ``--positive`` (or the last name sorted)."""
    table = cookbook.recipe.load_table(args, "binary", positive=args.positive)
    for note in table.notes:
        print(note)
    cookbook.recipe.save_table(table.class_table(), args, "classes")
    parts = cookbook.recipe.split_table(args, table, stratify=True)
    # Keras preprocessing layers adapted on the training rows (lesson 01 writes them out).
    split = parts.encoded(cookbook.tables.fit_encoder(parts.train, table.kinds))
    labels = {part: encode(y_part) for part, y_part in (("train", split.y_train), ("test", split.y_test))}
    return split, labels, f"{table.target_name} == {table.classes[1]!r}"


def encode(y01):
    """One label vector in the three encodings the setups use."""
    return {
        "0/1": y01.astype("float32"),
        "integer": y01.astype("int32"),
        "one-hot": keras.utils.to_categorical(y01, 2).astype("float32"),
    }


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch."""

    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)

    def typical(self):
        """Median epoch time, leaving out the first epoch (it includes building the training graph)."""
        return float(np.median(self.seconds[1:] or self.seconds))


def _first_sentence(message):
    """The first sentence of a Keras message, batch sizes in shapes written as N."""
    sentence = message.strip().splitlines()[0].split(". ")[0].rstrip(".")
    return re.sub(r"\((None|\d+), ", "(N, ", sentence)


def class1_probability(model, X):
    """P(class 1) for every row, from either head."""
    outputs = keras.ops.convert_to_numpy(model(X, training=False))
    return outputs[:, -1], outputs


def decide(outputs):
    """Head A thresholds P(class 1) at THRESHOLD; a softmax head takes the argmax."""
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > THRESHOLD).astype(int)
    return outputs.argmax(axis=1)


def per_sample_loss(setup, labels, outputs):
    """The setup's Keras loss, one number per sample."""
    target = labels[setup[3]]
    if setup[3] == "0/1":
        target = target.reshape(-1, 1)  # the loss functions want (N, 1) for a one-unit head; fit reshapes itself
    return keras.ops.convert_to_numpy(keras.losses.get(setup[2])(target, outputs))


def compare_heads(models, epoch_seconds, split, labels):
    """The main table: head size, losses, accuracy, ROC AUC and epoch time of every run."""
    rows = []
    for name, model in models.items():
        setup = SETUPS[RUNS[name][0]]
        p_test, out_test = class1_probability(model, split.X_test)
        _, out_train = class1_probability(model, split.X_train)
        rows.append(
            {
                "setup": name,
                "head": f"Dense({setup[0]}, {setup[1]})",
                "loss": setup[2],
                "labels": setup[3],
                "learning rate": LEARNING_RATE * RUNS[name][1],
                "head params": head_parameter_count(model),
                "train loss": per_sample_loss(setup, labels["train"], out_train).mean(),
                "test loss": per_sample_loss(setup, labels["test"], out_test).mean(),
                "test accuracy": np.mean(decide(out_test) == split.y_test),
                "majority-class accuracy": max(np.mean(split.y_test), 1 - np.mean(split.y_test)),
                "test ROC AUC": roc_auc(split.y_test, p_test),
                "epoch time (ms)": 1000 * epoch_seconds[name],
            }
        )
    return pd.DataFrame(rows)


def curve_gaps(histories):
    """Largest per-epoch gap between training-loss curves that should coincide."""
    pairs = (
        ("B", "C", "sparse vs one-hot labels: the same loss"),
        ("B", "A, 2x lr", "softmax head = sigmoid head at twice the lr (exact with no hidden layer)"),
    )
    return pd.DataFrame(
        [
            {
                "curves": f"{first} vs {second}",
                "why they match": why,
                "max |d loss| over epochs": np.abs(
                    np.subtract(histories[first].history["loss"], histories[second].history["loss"])
                ).max(),
            }
            for first, second, why in pairs
        ]
    )


def plot_heads(models, histories, split):
    """Left: B's P(class 1) against A's, trained apart and converted. Right: the loss curves."""
    fig = Figure(figsize=(11, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    p_a, _ = class1_probability(models["A"], split.X_test)
    p_b, _ = class1_probability(models["B"], split.X_test)
    p_ab, _ = class1_probability(sigmoid_to_softmax(models["A"]), split.X_test)
    left.plot([0, 1], [0, 1], color="grey", linewidth=1, label="diagonal")
    left.scatter(p_a, p_b, s=14, alpha=0.6, label="B trained on its own")
    left.scatter(p_a, p_ab, s=6, color="black", label="A converted to B (exact)")
    left.set(xlabel="A: sigmoid P(class 1)", ylabel="B: softmax P(class 1)", title="Test set: A vs B")
    left.legend(loc="upper left")
    for name, style in (("A", "-"), ("B", "-"), ("C", "--"), ("A, 2x lr", ":")):
        losses = histories[name].history["loss"]
        setup = SETUPS[RUNS[name][0]]
        right.plot(
            np.arange(1, len(losses) + 1),
            losses,
            style,
            label=f"{name}: Dense({setup[0]}, {setup[1]}) + {setup[2]}, lr {LEARNING_RATE * RUNS[name][1]:g}",
        )
    right.set(
        xlabel="epoch",
        ylabel="training loss (mean over the epoch, log scale)",
        yscale="log",
        title="Training loss (C on B; B on A at 2x lr)",
    )
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    right.legend(fontsize="small")
    return fig


def numpy_binary_crossentropy(y, outputs):
    """Binary cross-entropy of predicted probabilities against labels of the same shape, in float64 NumPy."""
    y = np.asarray(y, np.float64).reshape(len(outputs), -1)
    p = np.clip(np.asarray(outputs, np.float64), 1e-7, 1 - 1e-7)
    if y.shape != p.shape:
        return np.nan  # a shape mismatch has no binary cross-entropy
    return float(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))))


def shift_both_logits(model, rng):
    """A copy of a softmax model with the same random vector and number added to both logits' weights."""
    shifted = keras.models.clone_model(model)
    shifted.set_weights(model.get_weights())
    head = shifted.layers[-1]
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in (head.kernel, head.bias))
    v, c = SHIFT_SCALE * rng.standard_normal((kernel.shape[0], 1)), SHIFT_SCALE * rng.standard_normal()
    head.set_weights([kernel + v.astype(kernel.dtype), bias + np.float32(c)])  # z0 and z1 both move by x@v + c
    return shifted


def compare_conversions(models, split, seed):
    """A -> B, B -> A and a common logit shift: how far predictions, losses and decisions move."""
    X = np.concatenate([split.X_train, split.X_test])
    y = encode(np.concatenate([split.y_train, split.y_test]))
    cases = [
        ("trained A -> B (W=[0,w], b=[0,b])", "A", "B", models["A"], sigmoid_to_softmax(models["A"])),
        ("trained B -> A (w=w1-w0, b=b1-b0)", "B", "A", models["B"], softmax_to_sigmoid(models["B"])),
        (
            "trained B -> same shift on both logits",
            "B",
            "B",
            models["B"],
            shift_both_logits(models["B"], np.random.default_rng(seed)),
        ),
    ]
    rows = []
    for label, before, after, original, converted in cases:
        p0, out0 = class1_probability(original, X)
        p1, out1 = class1_probability(converted, X)
        loss0 = per_sample_loss(SETUPS[before], y, out0)
        loss1 = per_sample_loss(SETUPS[after], y, out1)
        rows.append(
            {
                "conversion": label,
                "rows": len(X),
                "head params": f"{head_parameter_count(original)} -> {head_parameter_count(converted)}",
                "max |dP(class 1)|": np.abs(p0 - p1).max(),
                "max |d loss|": np.abs(loss0 - loss1).max(),
                "different decisions": int(np.sum(decide(out0) != decide(out1))),
            }
        )
    return pd.DataFrame(rows)


def build_parser():
    parser = cookbook.recipe.make_parser(
        __doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS, dataset="breast_cancer", table=True
    )
    parser.add_argument(
        "--hidden",
        type=int,
        default=HIDDEN_UNITS,
        help=f"relu units in a body before the head; 0 = none (default: {HIDDEN_UNITS})",
    )
    parser.add_argument(
        "--positive",
        default=None,
        metavar="CLASS",
        help="the class that becomes class 1, the one the sigmoid's P(class 1) is about "
        "(default: the last of the two in sorted order)",
    )
    return parser


# %%
def main(argv=None):
    """Train A, B, C (and A at twice the lr), convert between them, try the near misses, write the results."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    if args.hidden < 0:
        cookbook.recipe.fail(args, f"--hidden must be 0 (no body) or a positive number of units, got {args.hidden}")
    keras.utils.set_random_seed(args.seed)

    # %% [markdown]
    # ## Data
    #
    # Breast Cancer: 569 tumours, 30 features, class 1 = malignant. A
    # stratified split keeps the class shares equal in both parts. The same
    # labels are stored three ways, one per setup: float 0/1 for the sigmoid
    # head, integers for sparse categorical cross-entropy, one-hot rows for
    # categorical cross-entropy.

    # %%
    split, labels, positive = prepare_data(args)
    cookbook.recipe.show(
        pd.DataFrame(
            {
                "0/1 (A)": labels["train"]["0/1"][:5],
                "integer (B)": labels["train"]["integer"][:5],
                "one-hot (C)": [str(row) for row in labels["train"]["one-hot"][:5]],
            }
        ),
        f"The first five training labels, three ways (class 1: {positive})",
    )

    # %% [markdown]
    # ## Model
    #
    # The body (nothing, or ``--hidden`` relu units) is the same for every
    # setup; only the last layer and the loss change:
    #
    # * A: ``Dense(1, activation="sigmoid")`` + ``binary_crossentropy``, 0/1 labels;
    # * B: ``Dense(2, activation="softmax")`` + ``sparse_categorical_crossentropy``, integer labels;
    # * C: ``Dense(2, activation="softmax")`` + ``categorical_crossentropy``, one-hot labels.
    #
    # Every run starts from one function: B and C get A's initial head
    # converted exactly (``W = [0, w]``, ``b2 = [0, b]``, because
    # ``sigmoid(z) = softmax([0, z])[1]``), so any difference comes from
    # training.

    # %%
    body = [keras.Input((split.X_train.shape[1],))]
    if args.hidden:
        body.append(keras.layers.Dense(args.hidden, activation="relu"))
    model_a = keras.Sequential(body + [keras.layers.Dense(1, activation="sigmoid")])
    model_a.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="binary_crossentropy")

    model_b = keras.Sequential(body + [keras.layers.Dense(2, activation="softmax")])
    model_b.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="sparse_categorical_crossentropy")

    model_c = keras.Sequential(body + [keras.layers.Dense(2, activation="softmax")])
    model_c.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="categorical_crossentropy")

    # Start B and C from A's function: the body's weights as they are, the head as W = [0, w], b = [0, b].
    *body_weights, w, b = model_a.get_weights()
    for model in (model_b, model_c):
        model.set_weights(
            body_weights + [np.concatenate([np.zeros_like(w), w], axis=1), np.concatenate([np.zeros_like(b), b])]
        )

    model_a2 = keras.models.clone_model(model_a)  # A again, at twice the learning rate
    model_a2.set_weights(model_a.get_weights())
    model_a2.compile(optimizer=keras.optimizers.Adam(2 * LEARNING_RATE), loss="binary_crossentropy")

    models = {"A": model_a, "B": model_b, "C": model_c, "A, 2x lr": model_a2}
    model_b.summary()

    # %% [markdown]
    # Twice the parameters, no more capacity: softmax only sees the difference
    # of its two logits, ``softmax([z0, z1])[1] = sigmoid(z1 - z0)``, so adding
    # the same number to both logits changes no prediction. Of B's
    # ``2 (d + 1)`` head parameters only the ``d + 1`` differences
    # ``w1 - w0``, ``b1 - b0`` matter, and those are exactly A's ``w`` and
    # ``b``.

    # %%
    print(f"head parameters: A {head_parameter_count(model_a)}, B {head_parameter_count(model_b)}")

    # %% [markdown]
    # ## Train
    #
    # Each model is fitted on its own label encoding. The random seed is
    # reset before each fit, so all setups see the same batches in the same
    # order. Where they differ is training: the gradient on B's class-1
    # column equals A's gradient, and the one on its class-0 column is
    # exactly its negative, so the difference ``w1 - w0`` moves twice as far
    # per step as A's ``w``. That holds for plain SGD, and for Adam too:
    # Adam's step flips sign with the gradient and ignores its scale, so
    # ``w1`` and ``w0`` take equal and opposite steps (recipe 10 looks inside
    # Adam). Without a hidden layer, B at learning rate ``lr`` follows A at
    # ``2 lr`` step for step: the run ``"A, 2x lr"`` checks it.

    # %%
    y_train = {
        "A": labels["train"]["0/1"],
        "B": labels["train"]["integer"],
        "C": labels["train"]["one-hot"],
        "A, 2x lr": labels["train"]["0/1"],
    }
    histories, epoch_seconds = {}, {}
    for name, model in models.items():
        keras.utils.set_random_seed(args.seed)
        timer = EpochTimer()
        histories[name] = model.fit(
            split.X_train, y_train[name], epochs=args.epochs, batch_size=BATCH_SIZE, callbacks=[timer], verbose=0
        )
        epoch_seconds[name] = timer.typical()

    # %% [markdown]
    # ## Compare
    #
    # Each head's P(class 1) (``p[:, 0]`` for A, ``p[:, 1]`` for B and C), its
    # decision and the per-sample losses from Keras's own loss functions. The
    # decision rules look different but are one rule: A calls class 1 when
    # ``p > 0.5``, B takes the argmax of ``[1 - p, p]``, and ``p > 1 - p``
    # exactly when ``p > 0.5`` (a tie at 0.5 goes to class 0 in both), so
    # after a conversion no row changes class.

    # %%
    table = cookbook.recipe.show(
        compare_heads(models, epoch_seconds, split, labels),
        f"{args.recipe}: sigmoid vs softmax heads, class 1 = {positive}, {args.epochs} epochs",
    )
    gaps = cookbook.recipe.show(
        curve_gaps(histories), "Training curves that coincide (the 2x-lr match is exact without --hidden)"
    )
    conversions = cookbook.recipe.show(
        compare_conversions(models, split, args.seed),
        "Exact conversions (all rows): same probabilities, losses, decisions",
    )
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_table(gaps, args, "curves")
    cookbook.recipe.save_table(conversions, args, "conversions")
    cookbook.recipe.save_figure(plot_heads(models, histories, split), args, "heads")

    # %% [markdown]
    # ### Near misses
    #
    # One piece of a correct setup swapped for the other head's. A softmax
    # over one unit is ``exp(z) / exp(z) = 1`` for every row, so the
    # predictions never move; on TensorFlow its training loss falls all the
    # same, because Keras's TensorFlow backend computes the cross-entropy from
    # the logit *under* the activation (JAX scores the 1.0, and the loss
    # stays flat). A 2-unit softmax with binary cross-entropy on one-hot
    # labels trains without a word; on TensorFlow Keras scores the softmax's
    # logits as if they were sigmoids', so the loss it reports is not the
    # cross-entropy of the probabilities (the table shows both). The two shape mismatches
    # are refused by Keras 3 itself at the first batch. ``check_setup``
    # catches all four before ``fit`` and names the fix.

    # %%
    rows, messages = [], {}
    for name, (units, activation, loss, encoding) in NEAR_MISSES.items():
        keras.utils.set_random_seed(args.seed)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = keras.Sequential(body + [keras.layers.Dense(units, activation=activation)])
            model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss=loss)
            try:
                cookbook.check_setup(model, labels["train"][encoding])
                messages[name] = "passes"
            except cookbook.SetupError as exc:
                messages[name] = str(exc)
            row = {"setup": name, "check_setup": "passes" if messages[name] == "passes" else "SetupError"}
            try:
                history = model.fit(
                    split.X_train, labels["train"][encoding], epochs=NEAR_MISS_EPOCHS, batch_size=BATCH_SIZE, verbose=0
                )
                row["Keras"] = "fit trains"
            except ValueError as exc:  # Keras 3 refuses some shape mismatches at the first batch
                history, row["Keras"] = None, "fit raises ValueError: " + _first_sentence(str(exc))
            if history is not None:
                _, out_test = class1_probability(model, split.X_test)
                row.update(
                    {
                        "first loss": history.history["loss"][0],
                        "last loss": history.history["loss"][-1],
                        "Keras test loss": model.evaluate(split.X_test, labels["test"][encoding], verbose=0),
                        "true test BCE": numpy_binary_crossentropy(labels["test"][encoding], out_test),
                        "min P(class 1)": out_test[:, -1].min(),
                        "test accuracy": np.mean(decide(out_test) == split.y_test),
                    }
                )
        keras_warnings = {_first_sentence(str(w.message)) for w in caught if issubclass(w.category, UserWarning)}
        if keras_warnings:
            row["Keras"] += "; warns: " + " / ".join(sorted(keras_warnings))
        rows.append(row)
    near_misses = cookbook.recipe.show(pd.DataFrame(rows), f"Near-miss setups ({NEAR_MISS_EPOCHS} epochs)")
    print(
        f"(always naming the commonest class scores {max(np.mean(split.y_test), 1 - np.mean(split.y_test)):.3f} "
        "on the test rows)"
    )
    for name, message in messages.items():
        print(f"- check_setup on {name!r}: {message}")
    cookbook.recipe.save_table(near_misses, args, "near_misses")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    by_setup = table.set_index("setup")
    by_miss = near_misses.set_index("setup")
    onehot_bce = by_miss.loc["2-unit softmax + binary CE, one-hot labels"]
    keras_says, true_says = onehot_bce.get("Keras test loss", np.nan), onehot_bce.get("true test BCE", np.nan)
    cookbook.recipe.remember(
        [
            f"Dense(1, 'sigmoid') + binary_crossentropy and Dense(2, 'softmax') + sparse_categorical_crossentropy "
            f"are one model: test accuracy {by_setup.loc['A', 'test accuracy']:.3f} vs "
            f"{by_setup.loc['B', 'test accuracy']:.3f}, and converting a trained head (or shifting both logits) moves "
            f"P(class 1) by at most "
            f"{conversions['max |dP(class 1)|'].max():.2g}.",
            f"The softmax head has {by_setup.loc['B', 'head params']} head parameters to the sigmoid's "
            f"{by_setup.loc['A', 'head params']}; B at learning rate {LEARNING_RATE:g} and A at "
            f"{2 * LEARNING_RATE:g} train along curves that differ by at most "
            f"{gaps['max |d loss| over epochs'].iloc[1]:.2g}"
            + (" (a hidden layer breaks the exact match)." if args.hidden else "."),
            f"Sparse (integer) and one-hot labels: the two curves differ by at most "
            f"{gaps['max |d loss| over epochs'].iloc[0]:.2g}.",
            f"Dense(2, 'softmax') + binary_crossentropy on one-hot labels: Keras reports a test loss of "
            f"{keras_says:.4g} "
            + (
                f"and the binary cross-entropy of its probabilities is the same on {keras.backend.backend()}"
                if np.isclose(keras_says, true_says, rtol=1e-4)
                else f"where the binary cross-entropy of its probabilities is {true_says:.4g}"
            )
            + f"; check_setup {'refuses' if onehot_bce['check_setup'] == 'SetupError' else 'passes'} it.",
        ]
    )
    return table


if __name__ == "__main__":
    main()
