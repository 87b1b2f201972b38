"""Adagrad vs RMSprop on Digits: a learning rate per weight, from a sum or from a moving average.

Adagrad and RMSprop both give every weight its own learning rate, ``lr`` divided
by the root of that weight's squared gradients: Adagrad *sums* them, so a rate
can only shrink, and RMSprop *averages* the last ~10 of them, so a rate follows
the recent gradients. We read these rates from ``optimizer.variables`` with a
callback while an MLP learns Digits, contrast the weights of rarely inked
border pixels with busy centre ones, and compare the two optimizers fairly: each
at the best of its grid of learning rates (three; two with ``--quick``), chosen
on a validation split, with the test loss reported once at the end. It builds on recipe 07 (the optimizers'
paths on a 2-D bowl) and 07 (Momentum).

Run it: ``python recipes/09_adagrad_vs_rmsprop.py`` (``--quick`` for a
few-second look: two learning rates each, 2 epochs; ``--csv my.csv --target
label`` for your own classes, which needs features that are 0 in most rows).
"""

# %% [markdown]
# ## Setup
#
# Every setting is a named constant. Each learning-rate grid spans 10x
# around its optimizer's usual rate (Adagrad's sum grows without bound, so
# its rates only shrink and it is usually given a larger ``lr`` than
# RMSprop); ``--quick`` trains two rates of each grid for 2 epochs, so the
# choice on validation is still a choice.

# %%
import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.recipe

import keras
import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import FormatStrFormatter, MaxNLocator

EPOCHS = 12
QUICK_EPOCHS = 2
BATCH_SIZE = 32
HIDDEN_UNITS = 32
VALIDATION_SPLIT = 0.2  # the last 20% of the (shuffled) training rows choose the learning rate
LEARNING_RATES = {"Adagrad": (0.03, 0.1, 0.3), "RMSprop": (0.003, 0.01, 0.03)}
QUICK_LEARNING_RATES = {"Adagrad": (0.1, 0.3), "RMSprop": (0.003, 0.01)}
RARE_BELOW = 0.10  # "rare" input: nonzero in under 10% of the training rows (border pixels)
BUSY_FROM = 0.50  # "busy" input: nonzero in at least half of them (centre pixels)

# Where each optimizer keeps a weight's squared gradients: Keras names the variable
# "<optimizer>/<weight path with _>_<slot>", e.g. "adagrad/sequential_dense_kernel_accumulator".
SQUARED_GRADIENT_SLOT = {"Adagrad": "accumulator", "RMSprop": "velocity"}


# %% [markdown]
# Helpers that load, measure and draw; the Keras code the lesson teaches is
# in ``main`` below.


# %%
def to_unit_range(split):
    """Training and test features scaled to [0, 1] by each feature's training min and max.

    ``cookbook.recipe.split`` standardizes; this undoes it, so that a blank
    Digits pixel (its minimum, 0 ink) feeds exactly 0 to the network.
    """
    raw_train = split.X_train * split.std + split.mean
    raw_test = split.X_test * split.std + split.mean
    low, high = raw_train.min(axis=0), raw_train.max(axis=0)
    width = np.where(high > low, high - low, 1.0)
    return (
        ((raw_train - low) / width).astype("float32"),
        np.clip((raw_test - low) / width, 0.0, None).astype("float32"),
    )


def squared_gradient_state(optimizer, weight):
    """The optimizer variable that holds ``weight``'s squared gradients (public API only).

    Adagrad's ``accumulator`` (the sum G) or RMSprop's ``velocity`` (the
    moving average v), found in ``optimizer.variables`` by its ``.path``.
    """
    slot = SQUARED_GRADIENT_SLOT[type(optimizer).__name__]
    suffix = "/" + weight.path.replace("/", "_") + "_" + slot
    found = [v for v in optimizer.variables if v.path.endswith(suffix)]
    if len(found) != 1:
        raise LookupError(
            f"no single optimizer variable ending in {suffix!r} in {[v.path for v in optimizer.variables]}"
        )
    return found[0]


def effective_rates(optimizer, weight):
    """Each entry of ``weight``'s rate right now: ``lr / sqrt(acc + eps)`` (Keras puts eps inside the root)."""
    accumulator = keras.ops.convert_to_numpy(squared_gradient_state(optimizer, weight)).astype(np.float64)
    lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    return lr / np.sqrt(accumulator + optimizer.epsilon)


class RateRecorder(keras.callbacks.Callback):
    """After every epoch: the per-weight effective rates of one layer's kernel, and the kernel itself.

    Attributes:
        rates: one array (the kernel's shape) per epoch, ``lr / sqrt(acc + eps)``.
        kernels: the kernel before training, then after every epoch.
    """

    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.rates, self.kernels = [], []

    def on_train_begin(self, logs=None):
        self.kernels.append(keras.ops.convert_to_numpy(self.layer.kernel).astype(np.float64))

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(effective_rates(self.model.optimizer, self.layer.kernel))
        self.kernels.append(keras.ops.convert_to_numpy(self.layer.kernel).astype(np.float64))


def cross_entropy(model, X, y):
    """Mean sparse categorical cross-entropy of a softmax model on ``(X, y)``: one eager forward pass."""
    return float(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, model(X, training=False))))


def rate_ceiling(optimizer):
    """The largest rate a weight can have, ``lr / sqrt(start + eps)``: its rate while it gets no gradient."""
    start = getattr(optimizer, "initial_accumulator_value", 0.0)  # RMSprop's v starts at 0
    return float(keras.ops.convert_to_numpy(optimizer.learning_rate)) / np.sqrt(start + optimizer.epsilon)


def median_rates(recorder, rows):
    """Per epoch: the median effective rate of the weights leaving the given input features."""
    return np.array([np.median(rates[rows]) for rates in recorder.rates])


def weight_movement(recorder, rows):
    """Per epoch: root-mean-square change of the given rows of the kernel over that epoch."""
    kernels = np.array(recorder.kernels)[:, rows]
    return np.sqrt(np.mean(np.diff(kernels, axis=0) ** 2, axis=(1, 2)))


def plot_over_training(runs, groups):
    """Left: median effective rate per epoch, rare vs busy inputs. Right: train and validation loss."""
    fig = Figure(figsize=(12, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2)
    for (label, run), color in zip(runs.items(), ("tab:blue", "tab:orange", "tab:green")):
        epochs = np.arange(1, len(run["history"]["loss"]) + 1)
        for (group, rows), style in zip(groups.items(), ("-", "--")):
            left.plot(
                epochs,
                median_rates(run["recorder"], rows),
                style,
                marker="o",
                markersize=3,
                color=color,
                label=f"{label}: {group}",
            )
        ceiling = rate_ceiling(run["model"].optimizer)
        left.axhline(ceiling, color=color, linestyle=":", label=f"{label}: ceiling lr / sqrt(eps) = {ceiling:.3g}")
        right.plot(epochs, run["history"]["loss"], "-", marker="o", markersize=3, color=color, label=f"{label}: train")
        right.plot(
            epochs,
            run["history"]["val_loss"],
            "--",
            marker="o",
            markersize=3,
            color=color,
            label=f"{label}: validation (test after training {run['test loss']:.3f})",
        )
    left.set(
        xlabel="epoch",
        ylabel="median lr / sqrt(acc + eps), per unit gradient",
        yscale="log",
        title="Each weight's effective rate over training",
    )
    right.set(
        xlabel="epoch",
        ylabel="cross-entropy (train: mean during the epoch)",
        yscale="log",
        title="Loss, each optimizer at its chosen learning rate",
    )
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # whole epochs only
        cookbook.recipe.plain_log_ticks(ax.yaxis)
    left.legend(fontsize="small", loc="upper left", bbox_to_anchor=(0, -0.13), ncol=2)
    right.legend(fontsize="small", loc="upper left", bbox_to_anchor=(0, -0.13), ncol=1)
    return fig


def plot_per_weight(runs, activity, groups, image_side=None):
    """Per-weight rates at the end: a pixel map (if the inputs are a square image), rate vs activity, quantiles."""
    panels = 3 if image_side else 2
    fig = Figure(figsize=(5.2 * panels, 4.6), layout="constrained")
    axes = list(fig.subplots(1, panels))
    adagrad_label, adagrad = next(iter(runs.items()))
    if image_side:
        ax = axes.pop(0)
        rate_map = np.median(adagrad["recorder"].rates[-1], axis=1).reshape(image_side, image_side)
        active = activity.reshape(image_side, image_side) > 0
        shown = np.where(active, rate_map, np.nan)  # never-inked pixels: no gradient, no rate to speak of
        image = ax.imshow(shown, cmap="viridis", norm=LogNorm())
        fig.colorbar(image, ax=ax, format="%g", label="median effective rate of the pixel's weights (log scale)")
        ax.set(
            title=f"{adagrad_label}: rate per input pixel\n(blank: never inked)",
            xlabel="pixel column",
            ylabel="pixel row",
            aspect="equal",
        )
    scatter, box = axes
    for (label, run), color in zip(runs.items(), ("tab:blue", "tab:orange", "tab:green")):
        seen = activity > 0
        scatter.scatter(
            activity[seen], np.median(run["recorder"].rates[-1][seen], axis=1), s=14, color=color, label=label
        )
    scatter.axvspan(0, RARE_BELOW, color="grey", alpha=0.15, label=f"rare: inked in < {RARE_BELOW:.0%}")
    scatter.axvspan(BUSY_FROM, 1, color="gold", alpha=0.15, label=f"busy: inked in >= {BUSY_FROM:.0%}")
    scatter.set(
        xlabel="share of training images in which the input is nonzero",
        ylabel="median effective rate of its weights",
        yscale="log",
        title="Each input's rate vs how often it is nonzero",
    )
    scatter.legend(fontsize="small")
    colors = ("tab:blue", "tab:orange", "tab:green")
    for index, ((label, run), color) in enumerate(zip(runs.items(), colors)):
        data = [run["recorder"].rates[-1][rows].ravel() for rows in groups.values()]
        positions = index * (len(groups) + 1) + np.arange(1, len(groups) + 1)
        parts = box.boxplot(
            data,
            positions=positions,
            whis=(5, 95),
            showfliers=False,
            widths=0.7,
            patch_artist=True,
            medianprops={"color": "black"},
        )
        for patch in parts["boxes"]:
            patch.set(facecolor=color, alpha=0.6)
        for position, values in zip(positions, data):
            box.annotate(
                f"{np.median(values):.3g}",
                (position, np.median(values)),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                fontsize="small",
                bbox={"facecolor": "white", "alpha": 0.8, "linewidth": 0, "pad": 1},
            )
        box.plot([], [], "s", color=color, alpha=0.6, label=label)
    ticks = [i * (len(groups) + 1) + j + 1 for i in range(len(runs)) for j in range(len(groups))]
    box.set_xticks(ticks, [group.split(" ")[0] for _ in runs for group in groups])
    box.set(
        ylabel="effective rate (box: quartiles, whiskers: 5-95%)",
        yscale="log",
        xlabel="weights leaving rare / busy inputs",
        title="Every first-layer weight after training",
    )
    box.legend(fontsize="small", loc="upper right")
    for ax in (scatter, box):
        ax.yaxis.set_major_formatter(FormatStrFormatter("%g"))
    return fig


def build_parser():
    return cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS, dataset="digits")


# %%
def main(argv=None):
    """Choose each optimizer's learning rate on validation, record per-weight rates, compare on test."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    learning_rates = QUICK_LEARNING_RATES if args.quick else LEARNING_RATES

    # %% [markdown]
    # ## Data
    #
    # Digits: 8x8 images of handwritten digits, pixel ink 0..16. We scale
    # each pixel to [0, 1] instead of standardizing it, so a blank pixel
    # feeds exactly 0 to the network, and a weight leaving a blank pixel gets
    # a gradient of exactly 0 (its gradient is the input times the error
    # signal). Border pixels are blank in most images: these *sparse* inputs
    # are what Adagrad was designed for. The activity of an input is the
    # share of training images in which it is nonzero.

    # %%
    X, y = cookbook.recipe.load_data(args)
    labels, classes = cookbook.recipe.class_labels(args, y)
    split = cookbook.recipe.split(args, X, labels, stratify=True)
    X_train, X_test = to_unit_range(split)
    y_train, y_test = split.y_train, split.y_test
    activity = (X_train > 0).mean(axis=0)
    rare = (activity > 0) & (activity < RARE_BELOW)
    busy = activity >= BUSY_FROM
    groups = {f"rare inputs ({rare.sum()})": rare, f"busy inputs ({busy.sum()})": busy}
    if not rare.any() or not busy.any():
        cookbook.recipe.fail(
            args,
            f"{cookbook.recipe.data_name(args)} has {rare.sum()} features that are nonzero "
            f"in under {RARE_BELOW:.0%} of rows and {busy.sum()} nonzero in at least "
            f"{BUSY_FROM:.0%}: this lesson needs both (sparse features, like blank pixels)",
        )
    print(
        f"{len(X_train)} training rows ({VALIDATION_SPLIT:.0%} of them for validation), {len(X_test)} test rows, "
        f"{X_train.shape[1]} inputs: {(activity == 0).sum()} never nonzero, {rare.sum()} rare "
        f"(nonzero in < {RARE_BELOW:.0%} of rows), {busy.sum()} busy (>= {BUSY_FROM:.0%})"
    )

    # %% [markdown]
    # ## Model
    #
    # One hidden ReLU layer and a softmax output. Its first layer has one
    # weight per (input pixel, hidden unit) pair: those are the weights whose
    # rates we read, grouped by the pixel they leave.

    # %%
    def build_model():
        return keras.Sequential(
            [
                keras.Input((X_train.shape[1],)),
                keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
                keras.layers.Dense(len(classes), activation="softmax"),
            ]
        )

    keras.utils.set_random_seed(args.seed)
    build_model().summary()

    # %% [markdown]
    # ## Train
    #
    # One dict of named optimizers and one loop over it and over each one's
    # learning rates. Every run starts from the same weights and sees the
    # same batches (``set_random_seed`` before each build); ``fit`` holds
    # back the last 20% of the training rows and reports ``val_loss`` on
    # them. The ``RateRecorder`` callback reads, after each epoch, every
    # first-layer weight's ``lr / sqrt(acc + eps)`` from the optimizer's own
    # variables. Adagrad starts its sum at 0 here, as in the paper
    # (``initial_accumulator_value=0.0``); Keras's default 0.1 comes next.

    # %%
    OPTIMIZERS = {
        "Adagrad": lambda lr: keras.optimizers.Adagrad(learning_rate=lr, initial_accumulator_value=0.0),
        "RMSprop": lambda lr: keras.optimizers.RMSprop(learning_rate=lr, rho=0.9),
    }

    def train(make_optimizer, learning_rate):
        keras.utils.set_random_seed(args.seed)
        model = build_model()
        model.compile(optimizer=make_optimizer(learning_rate), loss="sparse_categorical_crossentropy")
        recorder = RateRecorder(model.layers[0])
        history = model.fit(
            X_train,
            y_train,
            epochs=args.epochs,
            batch_size=BATCH_SIZE,
            validation_split=VALIDATION_SPLIT,
            callbacks=[recorder],
            verbose=0,
        )
        return {"model": model, "recorder": recorder, "history": history.history}

    grid = {
        (name, lr): train(make_optimizer, lr)
        for name, make_optimizer in OPTIMIZERS.items()
        for lr in learning_rates[name]
    }
    optimizer = grid[next(iter(grid))]["model"].optimizer
    print("An Adagrad optimizer's variables:", [v.path for v in optimizer.variables])

    # %% [markdown]
    # Each optimizer keeps the learning rate with the lowest validation loss
    # after the last epoch. The test rows play no part in that choice.

    # %%
    grid_table = pd.DataFrame(
        [
            {
                "optimizer": name,
                "learning rate": lr,
                "train loss": run["history"]["loss"][-1],
                "validation loss": run["history"]["val_loss"][-1],
            }
            for (name, lr), run in grid.items()
        ]
    )
    best = grid_table.loc[grid_table.groupby("optimizer", sort=False)["validation loss"].idxmin()]
    chosen = dict(zip(best["optimizer"], best["learning rate"]))
    grid_table["chosen"] = [
        chosen[name] == lr for name, lr in zip(grid_table["optimizer"], grid_table["learning rate"])
    ]
    cookbook.recipe.show(
        grid_table, f"{args.recipe}: validation loss after {args.epochs} epochs, batch_size={BATCH_SIZE}"
    )
    cookbook.recipe.save_table(grid_table, args, "grid")

    # %% [markdown]
    # The same Adagrad with Keras's default ``initial_accumulator_value=0.1``,
    # at the learning rate chosen above: every sum starts at 0.1, so no rate
    # can exceed ``lr / sqrt(0.1)`` = 3.16 lr, however rarely its weight gets
    # a gradient.

    # %%
    default_start = train(lambda lr: keras.optimizers.Adagrad(learning_rate=lr), chosen["Adagrad"])

    # %% [markdown]
    # ## Compare
    #
    # The update rules, for one weight ``w`` with gradient ``g`` (``lr`` the
    # learning rate):
    #
    # - **Adagrad** (Duchi, Hazan and Singer, 2011): ``G <- G + g^2``, then
    #   ``w <- w - lr * g / (sqrt(G) + eps)``, with ``G`` starting at 0. Keras
    #   starts ``G`` at ``initial_accumulator_value=0.1`` and puts ``eps``
    #   (1e-7) inside the root: ``w <- w - lr * g / sqrt(G + eps)``.
    # - **RMSprop** (Hinton, 2012): ``v <- rho * v + (1 - rho) * g^2``, then
    #   ``w <- w - lr * g / (sqrt(v) + eps)``; Keras: ``rho = 0.9``, ``v``
    #   starts at 0, ``eps`` inside the root again, ``sqrt(v + eps)``.
    #
    # Both divide by the root of the weight's own squared gradients, so each
    # weight has its own *effective rate* ``lr / sqrt(G + eps)`` or
    # ``lr / sqrt(v + eps)``. ``G`` is a sum: it can only grow, so Adagrad's
    # rates can only shrink. ``v`` is a moving average over about
    # ``1 / (1 - rho)`` = 10 steps: RMSprop's rates follow the *recent*
    # gradients, and rise when those shrink. A rising RMSprop rate is not an
    # optimizer "keeping its step alive": it means the recent gradients got
    # smaller, while the step ``lr * g / sqrt(v + eps)`` stays near ``lr`` as
    # long as ``g`` is about as large as its own recent RMS. A weight that
    # never gets a gradient keeps its ceiling rate ``lr / sqrt(start + eps)``
    # (dotted). In the left panel, look at which way each line moves (an
    # Adagrad line can only go down); in the right panel, at the gap between
    # the train and validation curves.

    # %%
    runs = {
        f"Adagrad lr {chosen['Adagrad']:g}": grid["Adagrad", chosen["Adagrad"]],
        f"RMSprop lr {chosen['RMSprop']:g}": grid["RMSprop", chosen["RMSprop"]],
    }
    for run in runs.values():
        run["test loss"] = cross_entropy(run["model"], X_test, y_test)
    default_start["test loss"] = cross_entropy(default_start["model"], X_test, y_test)
    cookbook.recipe.save_figure(plot_over_training(runs, groups), args, "rates_over_training")

    # %% [markdown]
    # Now every first-layer weight after the last epoch. A weight leaving a
    # rarely inked pixel gets a nonzero gradient in few batches, so its ``G``
    # grows slowly and its Adagrad rate stays high; a busy centre pixel's
    # weights add to ``G`` in most batches. RMSprop's average forgets: a
    # rare pixel's ``v`` decays by ``rho`` each batch between the images
    # that ink it, so its rate climbs back towards the ceiling, set by the
    # last ~10 batches rather than the whole past. A huge rate is never
    # applied in full: the accumulator takes in ``g^2`` *before* the
    # division, so one step is at most ``lr`` (Adagrad) or
    # ``lr / sqrt(1 - rho)`` = 3.16 lr (RMSprop), whatever the rate was.
    # The last run, Adagrad with Keras's default start of 0.1, has the rate
    # ``lr / sqrt(0.1 + G + eps)``: while a weight's ``G`` is small next to
    # 0.1, the 0.1 decides its rate. The lines printed below the figure
    # count the rare-input weights near their ceiling, and put that
    # explanation to a test: the default-start run's rare / busy ratio next
    # to the one predicted by adding 0.1 to the start-0 run's median sums.

    # %%
    all_runs = {**runs, f"Adagrad lr {chosen['Adagrad']:g}, start 0.1": default_start}
    side = int(round(np.sqrt(X_train.shape[1])))
    cookbook.recipe.save_figure(
        plot_per_weight(all_runs, activity, groups, image_side=side if side * side == X_train.shape[1] else None),
        args,
        "per_weight_rates",
    )
    for label, run in all_runs.items():
        near = run["recorder"].rates[-1][rare] >= 0.9 * rate_ceiling(run["model"].optimizer)
        print(
            f"{label}: {near.mean():.0%} of the {near.size} rare-input weights are within 10% of their "
            f"ceiling {rate_ceiling(run['model'].optimizer):.3g}"
        )
    ada0 = runs[f"Adagrad lr {chosen['Adagrad']:g}"]
    eps = ada0["model"].optimizer.epsilon
    sums = {
        name: (chosen["Adagrad"] / median_rates(ada0["recorder"], rows)[-1]) ** 2 - eps
        for name, rows in (("rare", rare), ("busy", busy))
    }
    predicted = np.sqrt(0.1 + sums["busy"] + eps) / np.sqrt(0.1 + sums["rare"] + eps)
    measured = median_rates(default_start["recorder"], rare)[-1] / median_rates(default_start["recorder"], busy)[-1]
    print(
        f"Adagrad start 0 ended with median sums G = {sums['rare']:.3g} (rare) and {sums['busy']:.3g} (busy); "
        f"with 0.1 added they predict a rare / busy ratio of {predicted:.3g}, the start-0.1 run measured "
        f"{measured:.3g} ({abs(measured / predicted - 1):.1%} apart: the two runs take different paths)"
    )

    # %% [markdown]
    # The key table: each run's losses (the test loss measured once, after
    # training) and its rates. "rare / busy" is the ratio of the median
    # rates of the two groups of weights after the last epoch; "busy rate,
    # end / epoch 1" says how a busy weight's rate moved during training;
    # "weight change, last / first epoch" compares how far the first-layer
    # weights actually moved in the last epoch with the first.

    # %%
    rows = []
    for label, run in all_runs.items():
        rare_rates, busy_rates = median_rates(run["recorder"], rare), median_rates(run["recorder"], busy)
        movement = weight_movement(run["recorder"], activity > 0)
        rows.append(
            {
                "run": label,
                "train loss": run["history"]["loss"][-1],
                "validation loss": run["history"]["val_loss"][-1],
                "test loss": run["test loss"],
                "median rate, rare": rare_rates[-1],
                "median rate, busy": busy_rates[-1],
                "rare / busy": rare_rates[-1] / busy_rates[-1],
                "busy rate, end / epoch 1": busy_rates[-1] / busy_rates[0],
                "weight change, last / first epoch": movement[-1] / movement[0],
            }
        )
    table = cookbook.recipe.show(pd.DataFrame(rows), f"{args.recipe}: after {args.epochs} epochs")
    cookbook.recipe.save_table(table, args)

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    by = table.set_index("run")
    ada, rms, ada01 = list(all_runs)
    rms_rate = median_rates(runs[rms]["recorder"], busy)
    rms_loss = runs[rms]["history"]["loss"]
    grid_text = lambda name: ", ".join(f"{lr:g}" for lr in learning_rates[name])  # noqa: E731
    test_ada, test_rms = by.loc[ada, "test loss"], by.loc[rms, "test loss"]
    test_verdict = (
        "within 5% of each other"
        if abs(test_ada - test_rms) < 0.05 * min(test_ada, test_rms)
        else f"lower: {'Adagrad' if test_ada < test_rms else 'RMSprop'}"
    )
    cookbook.recipe.remember(
        [
            f"Each at its best learning rate on validation ({ada}, from {grid_text('Adagrad')}; {rms}, from "
            f"{grid_text('RMSprop')}): train loss {by.loc[ada, 'train loss']:.3g} vs "
            f"{by.loc[rms, 'train loss']:.3g}, test loss {by.loc[ada, 'test loss']:.3g} vs "
            f"{by.loc[rms, 'test loss']:.3g} ({test_verdict}).",
            f"A rate per weight: after {args.epochs} epochs the median Adagrad rate of weights leaving rarely "
            f"nonzero inputs was {by.loc[ada, 'rare / busy']:.3g}x that of busy inputs "
            f"({by.loc[rms, 'rare / busy']:.3g}x for RMSprop); with Keras's default start G = 0.1 the ratio was "
            f"{by.loc[ada01, 'rare / busy']:.3g}x.",
            f"Adagrad's sum only grows: its median busy-weight rate ended at {by.loc[ada, 'busy rate, end / epoch 1']:.3g}x "
            f"its epoch-1 value. RMSprop's ended at {by.loc[rms, 'busy rate, end / epoch 1']:.3g}x "
            f"({rms_rate[0]:.3g} -> {rms_rate[-1]:.3g}) while its train loss went {rms_loss[0]:.3g} -> "
            f"{rms_loss[-1]:.3g}: its rate is lr / RMS of the recent gradients, so it "
            f"{'rises' if rms_rate[-1] > rms_rate[0] else 'falls'} exactly as they "
            f"{'shrink' if rms_rate[-1] > rms_rate[0] else 'grow'}.",
            f"How far the first-layer weights moved in the last epoch, relative to the first: "
            f"{by.loc[ada, 'weight change, last / first epoch']:.3g}x with Adagrad, "
            f"{by.loc[rms, 'weight change, last / first epoch']:.3g}x with RMSprop.",
        ]
    )
    return table


if __name__ == "__main__":
    main()
