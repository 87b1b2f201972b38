"""Optimizer race on Digits: one small MLP, five optimizers, the same start and the same batches.

The classic MNIST comparison, on the bundled 8x8 Digits: the same MLP is trained
with SGD, Momentum, Adagrad, RMSprop and Adam (Keras's built-ins) on mini-batches
of 64, from one set of initial weights and one batch order, so the only
difference between two curves is the optimizer and its settings. We plot the
training loss of all five, and tabulate each one's settings, final train and test
loss and accuracy and the epochs it needs to get the training loss under 0.3. It
builds on recipes 07-10, which showed each optimizer's behaviour on its own.

The learning rates are the classic comparison's, not tuned: 0.01 for SGD,
Momentum and Adagrad, Keras's default 0.001 for RMSprop and Adam (10x smaller).
The race says how they do at those rates, not at their best (recipe 09 tunes
two of them on a validation split).

Run it: ``python recipes/11_optimizer_race_digits.py`` (about 15 s; ``--quick``
for a few seconds, ``--csv my.csv --target label`` for your own classes).
"""

# %% [markdown]
# ## Setup
#
# The race is one dict of named optimizers and, in ``main``, one loop over
# it. Every optimizer is Keras's own; its settings are spelled out, and the
# legend and the table print them from the optimizer's ``get_config()``.

# %%
import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.recipe
from cookbook.lessons import race

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

EPOCHS = 15
QUICK_EPOCHS = 3
BATCH_SIZE = 64  # every optimizer sees mini-batches of 64 rows
HIDDEN_UNITS = 32
TARGET_LOSS = 0.3  # "epochs to reach": the first epoch with train loss below this

OPTIMIZERS = {
    "SGD": lambda: keras.optimizers.SGD(learning_rate=0.01),  # momentum 0
    "Momentum": lambda: keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
    "Adagrad": lambda: keras.optimizers.Adagrad(learning_rate=0.01),  # G starts at 0.1
    "RMSprop": lambda: keras.optimizers.RMSprop(learning_rate=0.001, rho=0.9),
    "Adam": lambda: keras.optimizers.Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999),
}


# %% [markdown]
# Helpers that measure and draw; the Keras code the lesson teaches is in
# ``main`` below.


# %%
def describe(optimizer, batch_size=BATCH_SIZE):
    """The settings that make an optimizer's curve what it is, read from its ``get_config()``."""
    config = optimizer.get_config()
    parts = [f"lr {config['learning_rate']:g}"]
    for key, short in (
        ("momentum", "momentum"),
        ("initial_accumulator_value", "G0"),
        ("rho", "rho"),
        ("beta_1", "beta_1"),
        ("beta_2", "beta_2"),
    ):
        if config.get(key):  # a zero momentum is plain SGD: not worth a word
            parts.append(f"{short} {config[key]:g}")
    return ", ".join(parts) + f", mini-batches of {batch_size}"


def plot_race(curves, settings, data_name="Digits"):
    """Train loss per epoch of every optimizer (log scale), each legend entry naming its settings."""
    fig = Figure(figsize=(10, 4.8), layout="constrained")
    ax = fig.subplots()
    for name, curve in curves.groupby("optimizer", sort=False):
        ax.plot(curve["epoch"], curve["train loss"], marker="o", markersize=3, label=f"{name}: {settings[name]}")
    ax.axhline(TARGET_LOSS, color="grey", linestyle="--", label=f"target train loss {TARGET_LOSS:g}")
    ax.set(
        xlabel="epoch (0 = before training)",
        ylabel="train cross-entropy (mean during each epoch)",
        yscale="log",
        title=f"Optimizer race on {data_name}: same start, same mini-batches",
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only
    cookbook.recipe.plain_log_ticks(ax.yaxis)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def build_parser():
    return cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS, dataset="digits")


# %%
def main(argv=None):
    """Race five optimizers on Digits; write the table, the curves and the plot."""
    args = cookbook.recipe.parse_args(build_parser(), argv)

    # %% [markdown]
    # ## Data
    #
    # Digits: 1,797 8x8 images of handwritten digits, 10 classes; a
    # stratified train/test split, standardized with the training
    # statistics. Labels stay integers (``sparse_categorical_crossentropy``).

    # %%
    X, y = cookbook.recipe.load_data(args)
    labels, classes = cookbook.recipe.class_labels(args, y)
    split = cookbook.recipe.split(args, X, labels, stratify=True)
    batch_size = min(BATCH_SIZE, len(split.X_train))  # a tiny --csv gets one batch per epoch
    print(
        f"{len(split.X_train)} training rows ({int(np.ceil(len(split.X_train) / batch_size))} mini-batches "
        f"of up to {batch_size} per epoch), {len(split.X_test)} test rows, {split.X_train.shape[1]} features, "
        f"{len(classes)} classes"
    )

    # %% [markdown]
    # ## Model
    #
    # One hidden ReLU layer and a softmax output, built by one function so
    # every optimizer trains the same architecture from the same seeded
    # weights. It is small, so the five runs stay quick.

    # %%
    def build_model():
        return keras.Sequential(
            [
                keras.Input((split.X_train.shape[1],)),
                keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
                keras.layers.Dense(len(classes), activation="softmax"),
            ]
        )

    keras.utils.set_random_seed(args.seed)
    build_model().summary()

    # %% [markdown]
    # ## Train
    #
    # One loop over the dict. ``set_random_seed`` before each build gives
    # every optimizer the same initial weights and the same shuffled batch
    # order. Epoch 0 is the loss of those initial weights on the whole
    # training set, before any step.

    # %%
    rows, tests, settings, learning_rates = [], {}, {}, {}
    for name, make_optimizer in OPTIMIZERS.items():
        keras.utils.set_random_seed(args.seed)
        model = build_model()
        optimizer = make_optimizer()
        settings[name] = describe(optimizer, batch_size)
        learning_rates[name] = optimizer.get_config()["learning_rate"]
        model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        start_loss, start_accuracy = race.evaluate_classifier(model, split.X_train, split.y_train)
        history = model.fit(split.X_train, split.y_train, epochs=args.epochs, batch_size=batch_size, verbose=0)
        rows.append({"optimizer": name, "epoch": 0, "train loss": start_loss, "train accuracy": start_accuracy})
        rows.extend(
            {"optimizer": name, "epoch": epoch + 1, "train loss": loss, "train accuracy": accuracy}
            for epoch, (loss, accuracy) in enumerate(zip(history.history["loss"], history.history["accuracy"]))
        )
        tests[name] = race.evaluate_classifier(model, split.X_test, split.y_test)
    curves = pd.DataFrame(rows)
    cookbook.recipe.save_table(curves, args, "curves")

    # %% [markdown]
    # ## Compare
    #
    # The update rules, for one weight ``w`` with mini-batch gradient ``g``
    # (Keras's forms; ``eps`` = 1e-7):
    #
    # - **SGD** (momentum 0): ``w <- w - lr * g``. The step is the raw
    #   gradient times ``lr``: it shrinks as the gradients do.
    # - **Momentum**: ``u <- 0.9 u - lr * g``, ``w <- w + u``. While the
    #   gradients keep their sign, ``u`` adds up about ``1 / (1 - 0.9)`` = 10
    #   of them: up to 10x SGD's step at the same ``lr``.
    # - **Adagrad**: ``G <- G + g^2`` (``G`` starts at 0.1),
    #   ``w <- w - lr * g / sqrt(G + eps)``: each weight's step is divided by
    #   the root of all its past squared gradients, a divisor that only grows.
    # - **RMSprop**: ``v <- rho v + (1 - rho) g^2``,
    #   ``w <- w - lr * g / sqrt(v + eps)``: while ``g`` is about as large
    #   as its recent RMS ``sqrt(v)``, the step is about ``lr`` per weight,
    #   whatever that size is.
    # - **Adam**: ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    #   ``w <- w - lr * m_hat / (sqrt(v_hat) + eps)`` with
    #   ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``: RMSprop's
    #   scaling applied to a momentum average (Keras adds ``eps`` to the
    #   uncorrected ``sqrt(v)``).
    #
    # So the learning rates are not comparable numbers: in SGD's and
    # Momentum's rule the step scales with the gradient, in RMSprop's and
    # Adam's it is divided by the gradient's own RMS. The legend names every
    # setting. Look at how fast each line falls in the first epochs and
    # where it ends.

    # %%
    cookbook.recipe.save_figure(plot_race(curves, settings, cookbook.recipe.data_name(args)), args, "loss_curves")

    # %% [markdown]
    # The table reads the same curves: its train loss and accuracy are each
    # line's last point (Keras's mean over the last epoch's batches, while
    # the weights still move); the test loss and accuracy are measured
    # once, after training, on rows the race never saw.

    # %%
    rows = []
    for name, curve in curves.groupby("optimizer", sort=False):
        reached = race.epochs_to_reach(curve["train loss"].iloc[1:], TARGET_LOSS)
        rows.append(
            {
                "optimizer": name,
                "learning rate": learning_rates[name],
                "settings": settings[name],
                "train loss": curve["train loss"].iloc[-1],
                "train accuracy": curve["train accuracy"].iloc[-1],
                "test loss": tests[name][0],
                "test accuracy": tests[name][1],
                f"epochs to train loss < {TARGET_LOSS:g}": reached
                if reached is not None
                else f"not within {args.epochs}",
            }
        )
    table = cookbook.recipe.show(pd.DataFrame(rows), f"{args.recipe}: after {args.epochs} epochs")
    cookbook.recipe.save_table(table, args)

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    by = table.set_index("optimizer")
    best, worst = by["test loss"].idxmin(), by["test loss"].idxmax()
    reach = by[f"epochs to train loss < {TARGET_LOSS:g}"]
    fast = [name for name in by.index if not isinstance(reach[name], str)]

    def lower_or_higher(a, b):
        """How a's final train loss compares with b's, in a word."""
        loss_a, loss_b = by.loc[a, "train loss"], by.loc[b, "train loss"]
        return "lower" if loss_a < loss_b else "higher" if loss_a > loss_b else "the same"

    cookbook.recipe.remember(
        [
            f"Same start (train loss {curves['train loss'].iloc[0]:.3g} at epoch 0), same batches: after "
            f"{args.epochs} epochs the test loss ranges from {by.loc[best, 'test loss']:.3g} ({best}, "
            f"{settings[best]}) to {by.loc[worst, 'test loss']:.3g} ({worst}, {settings[worst]}).",
            (
                f"Train loss under {TARGET_LOSS:g}: "
                + ", ".join(f"{name} after {reach[name]} epochs" for name in fast)
                + (
                    f"; not within {args.epochs} epochs: {', '.join(n for n in by.index if n not in fast)}."
                    if len(fast) < len(by)
                    else "."
                )
                if fast
                else f"No optimizer got the train loss under {TARGET_LOSS:g} within {args.epochs} epochs."
            ),
            f"Momentum vs SGD, both at lr {learning_rates['SGD']:g}: train loss {by.loc['Momentum', 'train loss']:.3g} "
            f"vs {by.loc['SGD', 'train loss']:.3g} ({lower_or_higher('Momentum', 'SGD')} with Momentum). Adam at a "
            f"{learning_rates['SGD'] / learning_rates['Adam']:.3g}x smaller lr ({learning_rates['Adam']:g}) reached "
            f"{by.loc['Adam', 'train loss']:.3g}, {lower_or_higher('Adam', 'SGD')} than SGD: in the rules above an lr "
            f"scales the gradient in SGD but sets the step size itself in Adam.",
        ]
    )
    return table


if __name__ == "__main__":
    main()
