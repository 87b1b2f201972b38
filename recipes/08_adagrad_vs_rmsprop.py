"""Adagrad's vanishing step and RMSprop's fix, measured on Digits.

Adagrad divides each weight's step by the square root of the *sum* of all its
squared gradients so far, so its effective step lr / sqrt(sum + eps) can only
shrink; RMSprop divides by an exponential moving *average* instead, so its
effective step follows the recent gradient size and does not vanish. We read
both accumulators from the optimizers' own variables while the same MLP
trains on Digits, plot the median effective step over the run and compare
the losses. It builds on recipe 06 (optimizer paths).

Settings, stated: learning rate 0.01 for both (so their effective steps
compare directly), batch 16, 12 epochs (1,008 steps). The main Adagrad row
uses initial_accumulator_value=0, the original algorithm; Keras's default
0.1 adds a floor to the sum that is large next to Digits' small squared
gradients and hides most of the decay in a run this short; its row is shown
too. Measured with these settings: Adagrad's step ends under 5% of its
start; RMSprop's dips to about 0.4x its start while the early gradients
are large, then *grows* as the loss and the gradients shrink, up to its
ceiling lr / sqrt(eps) = 31.6 once the training set is learned.

Run it: ``python recipes/08_adagrad_vs_rmsprop.py`` (``--quick`` for a few seconds).
"""

# %% [markdown]
# ## Setup

# %%
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.recipe
from cookbook import lessons, optimizers
import keras

EPOCHS = 12
QUICK_EPOCHS = 2
BATCH_SIZE = 16
LEARNING_RATE = 0.01
HIDDEN_UNITS = 32

OPTIMIZERS = {
    "Adagrad": lambda: optimizers.Adagrad(LEARNING_RATE, initial_accumulator_value=0.0),
    "Adagrad (start 0.1)": lambda: optimizers.Adagrad(LEARNING_RATE),   # Keras's default start
    "RMSprop": lambda: optimizers.RMSprop(LEARNING_RATE),
}


# %% [markdown]
# ## Data

# %%
def prepare_data(args):
    """Bundled Digits (or ``--csv``), split and standardized; also the class count."""
    X, y = cookbook.recipe.load_data(args)
    labels, classes = cookbook.recipe.class_labels(args, y)
    split = cookbook.recipe.split(args, X, labels, stratify=True)
    return split, len(classes)


# %% [markdown]
# ## Model
#
# Keras's convention, checked in its source: both optimizers put epsilon
# *inside* the square root, ``w -= lr * g / sqrt(acc + eps)``, with
# ``acc += g^2`` for Adagrad and ``acc = rho * acc + (1 - rho) * g^2`` for
# RMSprop. So the "effective step" per unit gradient is
# ``lr / sqrt(acc + eps)``, which ``lessons.effective_step_sizes`` reads
# straight from the optimizer's ``accumulator`` / ``velocity`` variables.

# %%
def build_model(num_features, num_classes, seed):
    """One hidden ReLU layer and a softmax output (the model recipe 10 races), compiled later."""
    return keras.Sequential([
        keras.Input((num_features,)),
        keras.layers.Dense(HIDDEN_UNITS, activation="relu",
                           kernel_initializer=keras.initializers.GlorotUniform(seed)),
        keras.layers.Dense(num_classes, activation="softmax",
                           kernel_initializer=keras.initializers.GlorotUniform(seed + 1)),
    ])


# %% [markdown]
# ## Train

# %%
def train(split, num_classes, epochs, seed, names=None):
    """Fit one fresh model per optimizer from the same start; ``{name: (recorder, history)}``."""
    runs = {}
    for name in names or OPTIMIZERS:
        keras.utils.set_random_seed(seed)  # same start and batch order (tf.data reads the global seed)
        model = build_model(split.X_train.shape[1], num_classes, seed)
        model.compile(optimizer=OPTIMIZERS[name](), loss="sparse_categorical_crossentropy")
        recorder = lessons.EffectiveStepRecorder()
        batches = lessons.shuffled_batches(split.X_train, split.y_train,
                                           min(BATCH_SIZE, len(split.X_train)), seed)  # a tiny --csv
        history = model.fit(batches, epochs=epochs, verbose=0, shuffle=False,  # batches are shuffled
                            callbacks=[recorder])
        test_loss, _ = lessons.evaluate_classifier(model, split.X_test, split.y_test)
        runs[name] = (recorder, {**history.history, "test loss": test_loss})
    return runs


# %% [markdown]
# ## Compare
#
# "Start" is the effective step right after the first training step;
# Adagrad's curve can only go down from there, RMSprop's goes wherever the
# recent gradients send it.

# %%
def compare(runs):
    """Per optimizer: effective step at start and end, their ratio, its range, final losses."""
    rows = []
    for name, (recorder, history) in runs.items():
        sizes = np.array(recorder.sizes)
        rows.append({
            "optimizer": name,
            "steps": recorder.steps[-1],
            "effective step at start": sizes[0],
            "at end": sizes[-1],
            "end / start": sizes[-1] / sizes[0],
            "lowest / start": sizes.min() / sizes[0],
            "highest / start": sizes.max() / sizes[0],
            "train loss": history["loss"][-1],
            "test loss": history["test loss"],
        })
    return pd.DataFrame(rows)


def plot_effective_steps(runs):
    """Left: median effective step over optimizer steps (log). Right: train loss per epoch."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    for name, (recorder, history) in runs.items():
        left.plot(recorder.steps, recorder.sizes, marker="o", markersize=3, label=name)
        right.plot(np.arange(1, len(history["loss"]) + 1), history["loss"], label=name)
    left.set(xlabel="optimizer step", ylabel="median lr / sqrt(acc + eps)", yscale="log",
             title="Effective step per unit gradient")
    right.set(xlabel="epoch", ylabel="train loss, mean during each epoch", yscale="log",
              title="The consequence on the loss")
    left.legend()
    right.legend()
    return fig


# %%
def main(argv=None):
    """Train with Adagrad and RMSprop, record the effective steps, write the table and the plot."""
    parser = cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS,
                                         dataset="digits")
    args = cookbook.recipe.parse_args(parser, argv)
    keras.utils.set_random_seed(args.seed)

    split, num_classes = prepare_data(args)
    runs = train(split, num_classes, args.epochs, args.seed)
    table = compare(runs)

    cookbook.recipe.print_table(table, f"{args.recipe}: {args.epochs} epochs, lr {LEARNING_RATE:g}")
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_figure(plot_effective_steps(runs), args, "effective_steps")
    return table


if __name__ == "__main__":
    main()
