"""Optimizer race on Digits: one small MLP, five optimizers, the same start.

The classic MNIST comparison, on the bundled 8x8 Digits: the same two-layer
MLP is trained with the cookbook's SGD, Momentum, Adagrad, RMSprop and Adam
from one set of initial weights and one batch order, so the only difference
between two curves is the optimizer. We plot the training loss of all five
and tabulate final train/test loss and accuracy and the epochs each needs to
get the training loss under 0.3. It builds on recipes 06-09, which showed
each optimizer's behaviour on toy functions.

Settings, stated: the learning rates are the classic comparison's (0.01 for
SGD, Momentum and Adagrad; Keras's 0.001 for RMSprop and Adam), not tuned
per optimizer, so the race says how they do at those rates, not at their best.

Run it: ``python recipes/10_optimizer_race_digits.py`` (``--quick`` for a few
seconds, ``--csv my.csv --target label`` for your own classes 0..K-1).
"""

# %% [markdown]
# ## Setup

# %%
from matplotlib.figure import Figure

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.recipe
from cookbook import lessons, optimizers
import keras

EPOCHS = 15
QUICK_EPOCHS = 3
BATCH_SIZE = 64
HIDDEN_UNITS = 32
TARGET_LOSS = 0.3      # "epochs to reach": the first epoch with train loss below this

# One dict of named optimizers, one loop over it (in ``lessons.race``).
OPTIMIZERS = {
    "SGD": lambda: optimizers.SGD(0.01),
    "Momentum": lambda: optimizers.Momentum(0.01, momentum=0.9),
    "Adagrad": lambda: optimizers.Adagrad(0.01),
    "RMSprop": lambda: optimizers.RMSprop(0.001),
    "Adam": lambda: optimizers.Adam(0.001),
}


# %% [markdown]
# ## Data
#
# Digits: 1,797 8x8 images, 10 classes; a stratified split, standardized
# with the training statistics. Labels stay integers (sparse loss).

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
# One hidden ReLU layer and a softmax output: small enough for 5 x 15
# epochs in seconds, big enough that the optimizers differ.

# %%
def model_builder(num_features, num_classes, seed):
    """A zero-argument function that builds the (uncompiled) race model."""
    def build():
        return keras.Sequential([
            keras.Input((num_features,)),
            keras.layers.Dense(HIDDEN_UNITS, activation="relu",
                               kernel_initializer=keras.initializers.GlorotUniform(seed)),
            keras.layers.Dense(num_classes, activation="softmax",
                               kernel_initializer=keras.initializers.GlorotUniform(seed + 1)),
        ])
    return build


# %% [markdown]
# ## Train

# %%
def train(build, split, epochs, seed):
    """The race: every optimizer from the same weights and batch order."""
    return lessons.race(OPTIMIZERS, build, split, epochs, batch_size=min(BATCH_SIZE, len(split.X_train)),
                        target_loss=TARGET_LOSS, seed=seed)


# %% [markdown]
# ## Compare
#
# The table is computed from the same curves the plot draws: its "train
# loss" is the last point of each line.

# %%
def plot_race(curves, data_name="Digits"):
    """Train loss per epoch of every optimizer, log scale, with the target marked."""
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    for name, curve in curves.groupby("optimizer", sort=False):
        ax.plot(curve["epoch"], curve["train loss"], marker="o", markersize=3, label=name)
    ax.axhline(TARGET_LOSS, color="grey", linestyle="--", label=f"target {TARGET_LOSS:g}")
    ax.set(xlabel="epoch (0 = before training)", ylabel="train loss, mean during each epoch", yscale="log",
           title=f"Optimizer race on {data_name}")
    ax.legend()
    return fig


# %%
def main(argv=None):
    """Race five optimizers on Digits; write the table, the curves and the plot."""
    parser = cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS,
                                         dataset="digits")
    args = cookbook.recipe.parse_args(parser, argv)
    keras.utils.set_random_seed(args.seed)

    split, num_classes = prepare_data(args)
    build = model_builder(split.X_train.shape[1], num_classes, args.seed)
    result = train(build, split, args.epochs, args.seed)

    cookbook.recipe.print_table(result.table, f"{args.recipe}: after {args.epochs} epochs")
    cookbook.recipe.save_table(result.table, args)
    cookbook.recipe.save_table(result.curves, args, "curves")
    print("\ntrain loss/accuracy: Keras's mean over each epoch's batches while the weights still move; "
          "test: measured after training, so after few epochs it can look better than train.")
    cookbook.recipe.save_figure(plot_race(result.curves, cookbook.recipe.data_name(args)), args, "loss_curves")
    return result.table


if __name__ == "__main__":
    main()
