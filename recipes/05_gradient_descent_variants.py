"""Batch, stochastic and mini-batch gradient descent: one optimizer, three batch sizes.

``keras.optimizers.SGD`` is only the update rule; ``batch_size`` in
``model.fit`` decides how many samples feed each update: ``len(X)`` is batch
gradient descent, ``1`` stochastic gradient descent and ``32`` mini-batch
gradient descent. Each variant gets its best learning rate from one small
grid, and the lesson measures what the note claims about them: updates per
epoch, time per update and per epoch (on 200,000 rows), progress per epoch,
how much the loss jumps between updates, and whether batch GD reaches the
least-squares minimum. It builds on recipe 01 (regression with MSE), here
with a linear model on synthetic data, so the minimum is known exactly.

Run it: ``python recipes/05_gradient_descent_variants.py`` (about 30 s;
``--quick`` for a few-second look; ``--memory`` adds the peak memory of
``fit`` per batch size, each measured in a fresh process, about 10 s each).
"""

# %% [markdown]
# ## Setup
#
# Every number the lesson uses is a named constant here. The learning-rate
# grid (a factor of about 3 between neighbours) is the same for the three
# variants; each keeps the rate with the lowest validation loss, so each is
# compared at its best, as Dive into Deep Learning's minibatch-SGD chapter
# gives each batch size its own rate. ``import cookbook`` comes before
# ``import keras`` so that TensorFlow's start-up log lines stay out of the
# terminal.

# %%
import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.recipe
from cookbook import gd_variants
import keras

N_TRAIN = 128  # training rows of the lesson (4 full mini-batches of 32)
QUICK_N_TRAIN = 64
N_VAL = 1000  # held-out rows that choose the learning rate
N_FEATURES = 5
CORRELATION = 0.2  # between every pair of features: condition number 2.25 (see the Data cell)
NOISE = 0.5  # standard deviation of the noise in y: no model gets below MSE 0.25 on new rows
EPOCHS = 10  # the same number of passes over the data for every variant
QUICK_EPOCHS = 8
MINIBATCH_SIZE = 32
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
QUICK_LEARNING_RATES = (0.003, 0.03, 0.3)
MINIMUM_TOLERANCE = 1e-3  # "reached the minimum": training MSE within 0.1% of the lstsq minimum
TIMING_ROWS = 200_000  # enough rows that one full-batch update is real work
QUICK_TIMING_ROWS = 20_000
TIMED_STEPS = 200  # updates timed per epoch at batch sizes 1 and 32 (an epoch of 200,000 would take minutes)
QUICK_TIMED_STEPS = 100
TIMED_EPOCHS = 2
FAST_STEPS_PER_EXECUTION = 100  # compile(steps_per_execution=100): 100 updates per call into the graph
MEMORY_ROWS = 200_000  # the same rows for every batch size in the --memory probe
MEMORY_STEPS = 3  # updates per probe (steps_per_epoch keeps the small-batch probes short)


# %% [markdown]
# Helpers that summarise and draw. They are not the lesson: the Keras code
# is in ``main`` below, one cell per step; ``cookbook.gd_variants`` holds the
# measuring callbacks and the float64 NumPy references.

# %%
def grid_table(runs, batch_sizes):
    """One row per (variant, learning rate): updates made, final losses, and the chosen rate."""
    rows = []
    for variant, by_rate in runs.items():
        for learning_rate, rec in by_rate.items():
            rows.append({
                "variant": variant,
                "batch_size": batch_sizes[variant],
                "learning_rate": learning_rate,
                "updates": rec.updates[-1],
                "diverged": rec.diverged,
                "train MSE": np.inf if rec.diverged else rec.epoch_train_loss[-1],
                "val MSE": np.inf if rec.diverged else rec.epoch_val_loss[-1],
            })
    table = pd.DataFrame(rows)
    best = table[~table["diverged"]].groupby("variant", sort=False)["val MSE"].idxmin()
    table["chosen"] = table.index.isin(best.values)
    return table


def variant_table(runs, batch_sizes, chosen, n_train, minimum, lstsq_kernel, lstsq_bias):
    """One row per variant at its chosen rate: updates, progress, distance to lstsq, noise."""
    rows = []
    for variant, learning_rate in chosen.items():
        rec = runs[variant][learning_rate]
        per_epoch = np.diff(rec.epoch_updates)
        noise = gd_variants.update_noise(rec)
        rows.append({
            "variant": variant,
            "batch_size": batch_sizes[variant],
            "learning_rate": learning_rate,
            "updates/epoch": int(per_epoch[0]) if np.all(per_epoch == per_epoch[0]) else -1,
            "ceil(N/batch)": gd_variants.updates_per_epoch(n_train, batch_sizes[variant]),
            "excess MSE after epoch 1": rec.epoch_train_loss[1] - minimum,
            "excess MSE at end": rec.epoch_train_loss[-1] - minimum,
            "val MSE": rec.epoch_val_loss[-1],
            "max |w - w_lstsq|": float(np.abs(np.append(rec.kernel - lstsq_kernel,
                                                        rec.bias - lstsq_bias)).max()),
            "batch-loss jump (std)": noise["batch_loss_jump"],
            "share of updates raising train MSE": noise["train_loss_rises"],
            "training s": rec.seconds[-1],
        })
    return pd.DataFrame(rows)


def timing_row(variant, batch_size, spe, timer, model, X, y, minimum):
    """Seconds per update, per epoch (updates/epoch x s/update) and per sample, and the progress made."""
    per_update = timer.seconds_per_update
    updates = gd_variants.updates_per_epoch(len(X), batch_size)
    return {"variant": variant, "batch_size": batch_size, "steps_per_execution": spe, "rows": len(X),
            "updates timed": timer.updates, "s/update": per_update, "updates/epoch": updates,
            "s/epoch": updates * per_update, "us/sample": 1e6 * per_update / batch_size,
            "epochs of data": timer.updates * batch_size / len(X),
            "excess MSE after them": gd_variants.mse(X, y, *gd_variants.linear_weights(model)) - minimum}


def claims_table(variants, timing, memory, shuffle_orders, *, epochs, n_train, minimum, eig):
    """The note's claims, each with how it was measured, the figures, and a verdict in words."""
    by = variants.set_index("variant")
    batch, sgd, mini = by.loc["batch GD"], by.loc["stochastic GD"], by.loc["mini-batch GD"]
    timed = timing.set_index("variant")
    rows_timed = int(timing["rows"].iloc[0])
    rows = []

    counts = ", ".join(f"{v} {int(r['updates/epoch'])}" for v, r in by.iterrows())
    expected = ", ".join(f"{int(r['ceil(N/batch)'])}" for _, r in by.iterrows())
    exact = bool((by["updates/epoch"] == by["ceil(N/batch)"]).all())
    rows.append(("batch GD makes one update per epoch (SGD one per sample, mini-batch one per 32)",
                 f"optimizer.iterations per epoch, {n_train} training rows",
                 f"{counts} (ceil(N/batch_size): {expected})",
                 "holds: updates/epoch = ceil(N / batch_size)" if exact else "does not hold: see the counts"))

    fastest_epoch = bool(timed.loc["batch GD", "s/epoch"] < timed.drop("batch GD")["s/epoch"].min())
    rows.append(("batch GD has slow epochs -- read as wall time of one epoch",
                 f"{rows_timed:,} rows, updates/epoch x median s/update; stochastic and mini-batch GD with "
                 f"steps_per_execution={FAST_STEPS_PER_EXECUTION}, timed over "
                 f"{int(timed['updates timed'].max())} updates (a whole epoch would take minutes)",
                 ", ".join(f"{v} {r['s/epoch']:.3g} s ({int(r['updates/epoch']):,} x {1e3 * r['s/update']:.3g} ms)"
                           for v, r in timed.iterrows()),
                 "does not hold as wall time: one vectorized pass over all rows is the fastest epoch"
                 if fastest_epoch else "holds here: batch GD's epoch took the longest"))

    slowest_update = bool(timed.loc["batch GD", "s/update"] > timed.drop("batch GD")["s/update"].max())
    rows.append(("batch GD has slow epochs -- read as time per update",
                 f"{rows_timed:,} rows, median seconds per update",
                 ", ".join(f"{v} {1e3 * s:.3g} ms" for v, s in timed["s/update"].items()),
                 "holds: one batch GD update reads every row" if slowest_update
                 else "does not hold here: a full-batch update was not the slowest"))

    big_progress = timed["excess MSE after them"]
    behind = bool(big_progress["batch GD"] > big_progress.drop("batch GD").max())
    rows.append(("batch GD has slow epochs -- read as progress per epoch, big data",
                 f"{rows_timed:,} rows: training MSE above the lstsq minimum after the timed updates "
                 f"(the fraction of an epoch they cover in brackets)",
                 ", ".join(f"{v} {r['excess MSE after them']:.2g} ({r['epochs of data']:.2g} epochs)"
                           for v, r in timed.iterrows()),
                 "holds: the others got lower within a fraction of one epoch than batch GD in whole epochs"
                 if behind else
                 f"not shown by this run: {int(timed['updates timed'].max())} timed updates were too few to "
                 f"pass batch GD's {int(timed.loc['batch GD', 'updates timed'])} epochs"))

    after_one = by["excess MSE after epoch 1"]
    ahead = [v for v in after_one.index if v != "batch GD" and after_one[v] < after_one["batch GD"]]
    not_ahead = [v for v in after_one.index if v not in ahead and v != "batch GD"]
    if not not_ahead:
        verdict = "holds: with one update per epoch, batch GD made the least progress in epoch 1"
    else:
        verdict = (f"{'partly' if ahead else 'does not hold'} on {n_train} rows: "
                   + (f"{' and '.join(ahead)} got further, " if ahead else "")
                   + " and ".join(f"{v} ({int(by.loc[v, 'updates/epoch'])} updates x lr "
                                  f"{by.loc[v, 'learning_rate']:g})" for v in not_ahead)
                   + f" did not pass one full-batch update x lr {batch['learning_rate']:g}: the rate tuned "
                     f"for the last epoch is small")
    rows.append(("batch GD has slow epochs -- read as progress per epoch, the lesson's data",
                 f"{n_train} rows: training MSE above the lstsq minimum after epoch 1, each variant at its "
                 f"chosen rate",
                 ", ".join(f"{v} {r['excess MSE after epoch 1']:.3g}" for v, r in by.iterrows()), verdict))

    if memory is None:
        rows.append(("batch GD needs much memory", "not measured in this run",
                     "run with --memory", "not measured: --memory runs one fresh process per batch size"))
    else:
        added = memory.set_index("variant")["MB added by fit"]
        most = bool(added["batch GD"] > added.drop("batch GD").max())
        rows.append(("batch GD needs much memory",
                     f"peak MB that fit adds, same {int(memory['rows'].iloc[0]):,} rows for every batch "
                     f"size, {MEMORY_STEPS} updates or fewer, one fresh process each",
                     ", ".join(f"{v} {mb:.1f} MB" for v, mb in added.items()),
                     "holds: one full-batch step holds every row's activations and gradients" if most
                     else "does not hold here: the full-batch step added no more than the others"))

    relative = batch["excess MSE at end"] / minimum
    reached = bool(relative <= MINIMUM_TOLERANCE)
    rows.append(("batch GD reaches the minimum of a convex loss",
                 f"after {epochs} epochs at lr {batch['learning_rate']:g}: training MSE above the lstsq minimum "
                 f"({minimum:.4g}), relative to it; largest weight difference from lstsq",
                 f"batch GD {relative:.1e} (max |w - w_lstsq| {batch['max |w - w_lstsq|']:.1e}); "
                 f"stochastic GD {sgd['excess MSE at end'] / minimum:.1e}, "
                 f"mini-batch GD {mini['excess MSE at end'] / minimum:.1e}",
                 f"holds: within {MINIMUM_TOLERANCE:.0e} of the minimum (condition number {eig[-1] / eig[0]:.2g})"
                 if reached else
                 f"not yet after {epochs} epochs: not within {MINIMUM_TOLERANCE:.0e} (condition number "
                 f"{eig[-1] / eig[0]:.2g}; more epochs needed)"))

    repeated = all(order == shuffle_orders[0] for order in shuffle_orders)
    rows.append(("SGD uses one random sample per update",
                 "batch loss per update (one row each); the rows fit(shuffle=True) visits in 3 epochs of 8 "
                 "rows after keras.utils.set_random_seed",
                 f"{int(sgd['updates/epoch'])} updates of one row per epoch; epoch orders "
                 + ("identical" if repeated else "different") + f": {shuffle_orders[0]}",
                 "partly: one row per update, but under a global seed Keras (TensorFlow backend) repeats "
                 "the same random order every epoch (tensorflow/tensorflow#35682)" if repeated
                 else "holds: one row per update, a new random order every epoch"))

    zigzag = bool(sgd["share of updates raising train MSE"] > batch["share of updates raising train MSE"])
    rows.append(("SGD (one random sample per update) zig-zags",
                 "share of updates after which the whole training set's MSE went up, last half of the run",
                 ", ".join(f"{v} {r['share of updates raising train MSE']:.0%}" for v, r in by.iterrows()),
                 f"holds: {sgd['share of updates raising train MSE']:.0%} of the single-row updates went uphill "
                 f"for the whole training set, {batch['share of updates raising train MSE']:.0%} of batch GD's"
                 if zigzag
                 else "does not hold here: stochastic GD went uphill no more often than batch GD"))

    stable = bool(sgd["batch-loss jump (std)"] > mini["batch-loss jump (std)"] > batch["batch-loss jump (std)"])
    rows.append(("mini-batch GD is more stable than SGD",
                 "std of the change in the loss each update was computed on, between consecutive updates, "
                 "last half of the run",
                 ", ".join(f"{v} {r['batch-loss jump (std)']:.2g}" for v, r in by.iterrows()),
                 f"holds: a batch of {int(mini['batch_size'])} averages the noise of single samples" if stable
                 else "does not hold in the order stochastic > mini-batch > batch GD here"))
    return pd.DataFrame(rows, columns=["the note says", "measured how", "measured", "verdict"])


def plot_loss_curves(runs, batch_sizes, chosen, minimum, n_train):
    """Excess training MSE per epoch and per second, and the loss each update was computed on."""
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    by_epoch, by_time, by_batch = fig.subplots(1, 3)
    highest = 0.0
    for i, (variant, learning_rate) in enumerate(chosen.items()):
        rec = runs[variant][learning_rate]
        color = f"C{i}"
        label = f"{variant}: batch_size={batch_sizes[variant]}, lr={learning_rate:g}"
        per_epoch = gd_variants.updates_per_epoch(n_train, batch_sizes[variant])
        excess = np.maximum(np.asarray(rec.train_loss) - minimum, 1e-12)
        epochs = np.asarray(rec.updates) / per_epoch  # update k of the run is at epoch k / (updates per epoch)
        marker = "." if per_epoch <= 4 else None
        by_epoch.plot(epochs, excess, lw=1, marker=marker, color=color, label=label)
        by_time.plot(rec.seconds, excess, lw=1, marker="." if per_epoch == 1 else None, color=color, label=label)
        if batch_sizes[variant] == 1:  # one dot per update: a line through 1,280 jumps hides everything else
            by_batch.plot(epochs[:-1], rec.batch_loss, ".", ms=2, alpha=0.5, color=color, label=label)
            highest = np.percentile(rec.batch_loss, 99)
        else:
            by_batch.plot(epochs[:-1], rec.batch_loss, lw=1.5, marker=marker, color=color, label=label)
    by_epoch.set(xlabel=f"epochs (passes over the {n_train} training rows)",
                 ylabel="training MSE - lstsq minimum (log scale)", yscale="log", title="Progress per epoch")
    by_time.set(xlabel="training seconds (wall clock; measuring and compiling excluded)",
                ylabel="training MSE - lstsq minimum (log scale)", yscale="log", title="Progress per second")
    by_batch.set(xlabel=f"epochs (passes over the {n_train} rows), at the start of each update",
                 ylabel="MSE of the batch the update used", ylim=(0, 1.05 * highest or None),
                 title="The loss each update saw (top 1% of single rows cut off)")
    for ax in (by_epoch, by_time):
        ax.yaxis.set_major_locator(LogLocator(numticks=8))
        ax.yaxis.set_minor_formatter(NullFormatter())
    for ax in (by_epoch, by_time, by_batch):
        ax.legend(fontsize="small")
    return fig


def plot_grid(grid, val_at_minimum):
    """Final validation MSE against the learning rate, per variant; diverged runs drawn at the top."""
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    top = grid.loc[~grid["diverged"], "val MSE"].max() * 1.6
    for i, (variant, rows) in enumerate(grid.groupby("variant", sort=False)):
        color = f"C{i}"
        ok = rows[~rows["diverged"]]
        ax.plot(ok["learning_rate"], ok["val MSE"], marker="o", color=color,
                label=f"{variant} (batch_size={rows['batch_size'].iloc[0]})")
        bad = rows[rows["diverged"]]
        ax.plot(bad["learning_rate"], np.full(len(bad), top * 1.15**i), "x", color=color, ms=9, mew=2)
        pick = rows[rows["chosen"]]
        ax.plot(pick["learning_rate"], pick["val MSE"], "*", color=color, ms=16)
    ax.axhline(val_at_minimum, color="grey", linestyle="--", label="validation MSE of the lstsq weights")
    ax.plot([], [], "k*", ms=12, ls="none", label="chosen rate (lowest validation MSE)")
    ax.plot([], [], "kx", ms=9, ls="none", label="diverged (stopped; drawn at the top)")
    ax.set(xscale="log", yscale="log", xlabel="learning rate (log scale)",
           ylabel="validation MSE after the last epoch (log scale)",
           title="One grid, a different best rate per batch size")
    plain = FuncFormatter(lambda value, _: f"{value:g}")
    ax.xaxis.set_major_locator(FixedLocator(sorted(grid["learning_rate"].unique())))  # a tick per grid rate
    ax.xaxis.set_minor_formatter(NullFormatter())
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(plain)
    ax.yaxis.set_major_locator(FixedLocator([0.25, 0.3, 0.4, 0.5, 0.7, 1, 1.5, 2, 3, 5, 10]))
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize="small", loc="center right")
    return fig


def plot_timing(timing):
    """Seconds per update and per epoch on the timing rows, one bar per variant (log scale)."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    per_update, per_epoch = fig.subplots(1, 2)
    labels = [f"{r.variant}\nbatch_size={r.batch_size}\nsteps_per_execution={r.steps_per_execution}"
              for r in timing.itertuples()]
    positions = np.arange(len(timing))
    rows = int(timing["rows"].iloc[0])
    for ax, column, title in ((per_update, "s/update", f"Seconds per update, {rows:,} rows (median)"),
                              (per_epoch, "s/epoch", f"Seconds per epoch, {rows:,} rows\n"
                                                     "(updates per epoch x seconds per update)")):
        bars = ax.bar(positions, timing[column], color=[f"C{i}" for i in range(len(timing))])
        ax.bar_label(bars, labels=[f"{v:.2g} s" for v in timing[column]], fontsize="small")
        ax.set_xticks(positions, labels, fontsize="x-small")
        ax.set(yscale="log", ylabel=f"{column.replace('s/', 'seconds per ')} (log scale)", title=title)
        ax.margins(y=0.15)
    return fig


def build_parser():
    parser = cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS)
    parser.add_argument("--memory", action="store_true",
                        help=f"also measure the peak memory of fit per batch size on {MEMORY_ROWS:,} rows, "
                             "one fresh process each (about 10 s per batch size)")
    return parser


# %%
def main(argv=None):
    """Tune and train the three variants, time them on big data, check the note's claims."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    n_train = QUICK_N_TRAIN if args.quick else N_TRAIN
    learning_rates = QUICK_LEARNING_RATES if args.quick else LEARNING_RATES

    # %% [markdown]
    # ## Data
    #
    # A linear-regression set made up for the lesson: five standardized,
    # mildly correlated features and ``y = X w + 0.3 + noise``. Synthetic, so
    # that the minimum of the training loss is known exactly: for a linear
    # model the MSE is convex (a bowl with one bottom), and
    # ``numpy.linalg.lstsq`` computes that bottom directly. A second set of
    # rows from the same source is held out to choose each learning rate.
    #
    # Two numbers of the loss's Hessian (its curvature) matter for gradient
    # descent: a full-batch update diverges when the learning rate exceeds
    # ``2 / lambda_max``, and the condition number ``lambda_max / lambda_min``
    # sets how many full-batch updates it needs to get close to the bottom.
    # The features are made exactly standardized with a correlation of 0.2
    # between every pair, so the condition number is 2.25 whatever the
    # number of rows: a well-conditioned problem that batch GD solves in a
    # few updates. Real features are often far worse, as the Diabetes data
    # of recipe 01 shows below.

    # %%
    X_train, y_train = gd_variants.make_linear_data(n_train, N_FEATURES, correlation=CORRELATION,
                                                    noise=NOISE, seed=args.seed)
    X_val, y_val = gd_variants.make_linear_data(N_VAL, N_FEATURES, correlation=CORRELATION,
                                                noise=NOISE, seed=args.seed + 1)
    lstsq_kernel, lstsq_bias = gd_variants.least_squares(X_train, y_train)
    minimum = gd_variants.mse(X_train, y_train, lstsq_kernel, lstsq_bias)
    val_at_minimum = gd_variants.mse(X_val, y_val, lstsq_kernel, lstsq_bias)
    eig = gd_variants.hessian_eigenvalues(X_train)
    print(f"{n_train} training rows, {N_VAL} validation rows, {N_FEATURES} features")
    print(f"lstsq minimum of the training MSE: {minimum:.4f} (validation MSE of those weights: "
          f"{val_at_minimum:.4f}; the noise alone gives {NOISE**2:.2f})")
    print(f"Hessian eigenvalues {eig[0]:.2f} to {eig[-1]:.2f}: condition number {eig[-1] / eig[0]:.2f}; "
          f"batch GD diverges above lr = 2 / lambda_max = {2 / eig[-1]:.2f}; its best constant rate is "
          f"2 / (lambda_min + lambda_max) = {gd_variants.optimal_learning_rate(X_train):.2f}")
    diabetes = cookbook.split_and_standardize(*cookbook.load_dataset("diabetes"), seed=args.seed).X_train
    for name, data in (("these features", X_train), ("recipe 01's standardized Diabetes features", diabetes)):
        cond = np.divide(*gd_variants.hessian_eigenvalues(data)[[-1, 0]])
        shrink = (cond - 1) / (cond + 1)  # per update, along the worst direction, at the best constant rate
        print(f"{name}: condition number {cond:.3g}; at its best constant rate batch GD multiplies its distance "
              f"to the minimum by at most {shrink:.3f} per update, so shrinking it 1000-fold takes "
              f"{math.log(1e-3) / math.log(shrink):,.0f} updates")

    # %% [markdown]
    # ## Model
    #
    # Linear regression: ``Dense(1)`` and ``loss="mean_squared_error"``,
    # trained with plain ``keras.optimizers.SGD`` (momentum 0). The optimizer
    # is the same update rule in all three variants; what feeds it is the
    # batch ``B`` that ``fit`` cuts from the data:
    #
    #     L_B(w, b) = mean over the rows i in B of (x_i w + b - y_i)**2
    #     w <- w - lr * dL_B/dw,   b <- b - lr * dL_B/db
    #
    # - batch GD, ``batch_size=len(X)``: B is every row, the exact gradient;
    #   one update per epoch.
    # - stochastic GD, ``batch_size=1``: B is one random row, a noisy
    #   estimate of the gradient; N updates per epoch.
    # - mini-batch GD, ``batch_size=32``: B is 32 random rows, an estimate
    #   with about 1/32 of a single row's variance; ceil(N / 32) updates per
    #   epoch.
    #
    # ``steps_per_execution`` (default 1) is how many updates ``fit`` runs per
    # call into the compiled graph; the lesson keeps 1, so callbacks see every
    # update, and uses 100 only where it times updates
    # (``benchmarks/steps_per_execution.py`` measures what it saves).

    # %%
    def build_model(learning_rate, steps_per_execution=1):
        model = keras.Sequential([keras.Input((N_FEATURES,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
                      loss="mean_squared_error", steps_per_execution=steps_per_execution)
        return model

    keras.utils.set_random_seed(args.seed)
    build_model(learning_rates[0]).summary()

    # %% [markdown]
    # ## Train
    #
    # Every variant trains for the same number of epochs (passes over the
    # data) at every rate of the grid. One model per variant serves the whole
    # grid: before each rate, ``set_weights(start)`` puts back the same
    # starting weights, ``optimizer.learning_rate = ...`` sets the rate and
    # ``optimizer.iterations`` goes back to 0. (Plain SGD keeps no other state;
    # for momentum or Adam, build a fresh model per rate.) Re-using the model
    # saves compiling its training step once per rate.
    #
    # Two helpers measure and do not train: ``gd_variants.warm_up`` compiles
    # the training step before the clock starts (then puts the weights back),
    # and ``gd_variants.UpdateRecorder``, a callback, records after every
    # update the loss on the whole training set, the loss of the batch the
    # update used, and the training seconds; at each epoch's end it adds the
    # validation loss. It stops a run whose loss has grown 1000-fold
    # (diverged).
    #
    # First batch GD: ``batch_size=len(X_train)``. Shuffling cannot change a
    # full batch, so ``shuffle=False``.

    # %%
    batch_sizes = gd_variants.variant_batch_sizes(n_train, MINIBATCH_SIZE)
    runs = {variant: {} for variant in batch_sizes}
    keras.utils.set_random_seed(args.seed)
    model = build_model(learning_rates[0])
    start = model.get_weights()
    gd_variants.warm_up(model, X_train, y_train, batch_size=len(X_train))
    for learning_rate in learning_rates:
        model.set_weights(start)
        model.optimizer.learning_rate = learning_rate
        model.optimizer.iterations.assign(0)
        keras.utils.set_random_seed(args.seed)  # the same shuffling for every rate
        recorder = gd_variants.UpdateRecorder(X_train, y_train, X_val, y_val)
        model.fit(X_train, y_train, batch_size=len(X_train), epochs=args.epochs, shuffle=False,
                  callbacks=[recorder], verbose=0)
        runs["batch GD"][learning_rate] = recorder
        print(f"batch GD      lr={learning_rate:<6g} optimizer.iterations={int(model.optimizer.iterations):5d}  "
              f"validation MSE {recorder.epoch_val_loss[-1]:.4g}" + ("  (diverged)" if recorder.diverged else ""))

    # %% [markdown]
    # Stochastic GD: ``batch_size=1``, so each update uses one row, in the
    # random order that ``fit(shuffle=True)`` (its default) draws.

    # %%
    keras.utils.set_random_seed(args.seed)
    model = build_model(learning_rates[0])
    start = model.get_weights()
    gd_variants.warm_up(model, X_train, y_train, batch_size=1)
    for learning_rate in learning_rates:
        model.set_weights(start)
        model.optimizer.learning_rate = learning_rate
        model.optimizer.iterations.assign(0)
        keras.utils.set_random_seed(args.seed)  # the same shuffling for every rate
        recorder = gd_variants.UpdateRecorder(X_train, y_train, X_val, y_val)
        model.fit(X_train, y_train, batch_size=1, epochs=args.epochs, callbacks=[recorder], verbose=0)
        runs["stochastic GD"][learning_rate] = recorder
        print(f"stochastic GD lr={learning_rate:<6g} optimizer.iterations={int(model.optimizer.iterations):5d}  "
              f"validation MSE {recorder.epoch_val_loss[-1]:.4g}" + ("  (diverged)" if recorder.diverged else ""))

    # %% [markdown]
    # A trap this lesson ran into: which rows does each epoch visit, in
    # which order? ``keras.utils.set_random_seed`` makes every run here
    # repeatable, and with the TensorFlow backend it also freezes the
    # shuffle: Keras draws the order with a random op inside its
    # ``tf.data`` pipeline, and each epoch's new iterator restarts that op
    # from the same seed (tensorflow/tensorflow#35682). So stochastic GD here
    # visits the rows in one random order, the same in every epoch; without
    # a global seed, ``fit`` draws a new order each epoch. Each update still
    # uses a single row, but the zig-zag repeats from epoch to epoch.

    # %%
    orders = gd_variants.fit_shuffle_orders(n_rows=8, epochs=3, seed=args.seed)
    print("rows visited by fit(batch_size=1, shuffle=True) after set_random_seed, 8 rows, epoch by epoch:")
    for epoch, order in enumerate(orders, start=1):
        print(f"  epoch {epoch}: {order}")
    print("the same order every epoch:", all(order == orders[0] for order in orders))

    # %% [markdown]
    # Mini-batch GD: ``batch_size=32``, Keras's default batch size.

    # %%
    keras.utils.set_random_seed(args.seed)
    model = build_model(learning_rates[0])
    start = model.get_weights()
    gd_variants.warm_up(model, X_train, y_train, batch_size=32)
    for learning_rate in learning_rates:
        model.set_weights(start)
        model.optimizer.learning_rate = learning_rate
        model.optimizer.iterations.assign(0)
        keras.utils.set_random_seed(args.seed)  # the same shuffling for every rate
        recorder = gd_variants.UpdateRecorder(X_train, y_train, X_val, y_val)
        model.fit(X_train, y_train, batch_size=32, epochs=args.epochs, callbacks=[recorder], verbose=0)
        runs["mini-batch GD"][learning_rate] = recorder
        print(f"mini-batch GD lr={learning_rate:<6g} optimizer.iterations={int(model.optimizer.iterations):5d}  "
              f"validation MSE {recorder.epoch_val_loss[-1]:.4g}" + ("  (diverged)" if recorder.diverged else ""))

    # %% [markdown]
    # ## Compare
    #
    # First the learning rates. Each variant keeps the rate whose run ended
    # with the lowest validation MSE (the table marks it ``chosen``; the
    # figure, with a star). Why the best rate should grow with the batch
    # size: a single row's gradient is a noisy guess of the full gradient,
    # and a large rate turns that noise into large jumps of the weights, so
    # stochastic GD wants small steps; the exact full-batch gradient has no
    # noise and can take steps up to ``2 / lambda_max`` before it overshoots
    # and diverges. A single rate for all three (the old version of this
    # lesson used 0.01) starves batch GD of progress.

    # %%
    grid = cookbook.recipe.show(grid_table(runs, batch_sizes),
                                f"{args.recipe}: every learning rate, {args.epochs} epochs")
    chosen = {row.variant: row.learning_rate for row in grid[grid["chosen"]].itertuples()}
    print("chosen rates:", ", ".join(f"{v} (batch_size={batch_sizes[v]}) {lr:g}" for v, lr in chosen.items()))
    by_size = [chosen[v] for v in sorted(chosen, key=batch_sizes.get)]
    print("chosen rate never falls as the batch size grows:", all(a <= b for a, b in zip(by_size, by_size[1:])))
    for variant, learning_rate in chosen.items():
        if learning_rate in (min(learning_rates), max(learning_rates)):
            print(f"note: {variant}'s rate {learning_rate:g} is at the edge of the grid; a wider grid may do better")
    cookbook.recipe.save_table(grid, args, "lr_grid")
    cookbook.recipe.save_figure(plot_grid(grid, val_at_minimum), args, "lr_grid")

    # %% [markdown]
    # Now the three variants, each at its chosen rate; the figure draws the
    # training MSE above the least-squares minimum on a log scale, so
    # "reaching the minimum" is a line that keeps falling. What to look for,
    # and why:
    #
    # - Per epoch, stochastic GD makes N updates to batch GD's one. Whether
    #   that puts it ahead in the first epoch depends on its rate: N steps
    #   of a small rate can move about as far as one step of a rate N times
    #   larger. The table's "excess MSE after epoch 1" says what happened.
    # - Later, the stochastic variants stop improving: a row's (or 32 rows')
    #   gradient is not zero at the minimum, so each update keeps kicking
    #   the weights, and they zig-zag at a floor set by the rate and the
    #   batch size. Batch GD's exact gradient shrinks to 0 at the bottom of
    #   the bowl, so it keeps falling by about a constant factor per update.
    # - In seconds (middle panel), an epoch of mini-batch GD is a near
    #   vertical run: its few updates take milliseconds, and the pause
    #   between epochs is Keras's own work per epoch.
    # - The right panel is what the optimizer saw: the loss of the batch
    #   each update was computed on. One row's loss jumps between almost 0
    #   and several times the mean; the mean over 32 rows jumps less; the
    #   full batch does not jump. The table measures that as the standard
    #   deviation of the change from one update to the next, and counts how
    #   often an update made the whole training set's loss go up.

    # %%
    variants = cookbook.recipe.show(
        variant_table(runs, batch_sizes, chosen, n_train, minimum, lstsq_kernel, lstsq_bias),
        f"{args.recipe}: each variant at its chosen rate ({n_train} rows, {args.epochs} epochs)")
    cookbook.recipe.save_table(variants, args)
    cookbook.recipe.save_figure(plot_loss_curves(runs, batch_sizes, chosen, minimum, n_train), args,
                                "loss_curves")

    # %% [markdown]
    # The middle panel is in seconds, but on so few rows a second measures
    # mostly Keras's own work per update and per epoch (a Python call per
    # update, a new pass over the data per epoch), not arithmetic. To see
    # what the batch size does to time, the same model is timed on many
    # more rows. Stochastic and mini-batch GD would need minutes for one
    # epoch there, so ``steps_per_epoch`` caps the timed updates, and their
    # epoch time is computed as updates per epoch times the median time of
    # one update. They run with ``steps_per_execution=100``, so that Keras's
    # per-call overhead does not decide the comparison
    # (``benchmarks/steps_per_execution.py`` measures that overhead). The
    # same runs also show how far each variant got, and with what fraction
    # of an epoch.

    # %%
    timing_rows = QUICK_TIMING_ROWS if args.quick else TIMING_ROWS
    timed_steps = QUICK_TIMED_STEPS if args.quick else TIMED_STEPS
    X_big, y_big = gd_variants.make_linear_data(timing_rows, N_FEATURES, correlation=CORRELATION,
                                                noise=NOISE, seed=args.seed + 2)
    big_minimum = gd_variants.mse(X_big, y_big, *gd_variants.least_squares(X_big, y_big))
    timings = []
    for variant, batch_size in gd_variants.variant_batch_sizes(timing_rows, MINIBATCH_SIZE).items():
        for spe in (1,) if batch_size == timing_rows else (FAST_STEPS_PER_EXECUTION,):
            keras.utils.set_random_seed(args.seed)
            model = build_model(chosen[variant], steps_per_execution=spe)
            gd_variants.warm_up(model, X_big, y_big, batch_size=batch_size)
            timer = gd_variants.StepTimer()
            model.fit(X_big, y_big, batch_size=batch_size, epochs=TIMED_EPOCHS,
                      steps_per_epoch=min(timed_steps, math.ceil(timing_rows / batch_size)),
                      callbacks=[timer], verbose=0)
            timings.append(timing_row(variant, batch_size, spe, timer, model, X_big, y_big, big_minimum))
    timing = cookbook.recipe.show(pd.DataFrame(timings), f"Time per update and per epoch, {timing_rows:,} rows")
    cookbook.recipe.save_table(timing, args, "timing")
    cookbook.recipe.save_figure(plot_timing(timing), args, "timing")

    # %% [markdown]
    # Memory, with ``--memory``: each batch size runs in a fresh Python
    # process on the same rows (so Keras's copy of the data costs every
    # variant the same), a few updates each (``steps_per_epoch``); the
    # number is how far the process's peak memory rose above its memory
    # just before ``fit``. A full batch holds every row's prediction,
    # residual and gradient term at once, so it should need the most.

    # %%
    memory = None
    if args.memory:
        probes = []
        for variant, batch_size in gd_variants.variant_batch_sizes(MEMORY_ROWS, MINIBATCH_SIZE).items():
            added, peak = gd_variants.peak_fit_memory(batch_size, MEMORY_ROWS, N_FEATURES,
                                                      steps=MEMORY_STEPS, seed=args.seed)
            probes.append({"variant": variant, "batch_size": batch_size, "rows": MEMORY_ROWS,
                           "MB added by fit": added, "peak MB": peak})
        memory = cookbook.recipe.show(pd.DataFrame(probes), "Peak memory of fit (fresh process each)")
        cookbook.recipe.save_table(memory, args, "memory")
    else:
        print("memory not measured: add --memory (one fresh process per batch size, about 10 s each)")

    # %% [markdown]
    # The note's claims, one row each: what the note says, how this run
    # measured it, the figures, and a verdict in words. "Batch GD has slow
    # epochs" gets several rows, because its readings need not agree: the
    # wall time of one epoch (one large matrix product, fast on vectorized
    # hardware, against thousands of small steps), the time of one update
    # (which reads every row), and the progress one epoch buys (a single
    # update). Each row says which reading it measures and where.

    # %%
    claims = cookbook.recipe.show(
        claims_table(variants, timing, memory, orders, epochs=args.epochs, n_train=n_train, minimum=minimum, eig=eig),
        "The note's claims, measured")
    cookbook.recipe.save_table(claims, args, "claims")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    by = variants.set_index("variant")
    fast = timing.set_index("variant")["s/epoch"]
    order = sorted(chosen, key=chosen.get)
    cookbook.recipe.remember([
        f"batch_size alone picks the variant: optimizer.iterations grew by "
        + ", ".join(f"{int(r['updates/epoch'])} ({v}, batch_size={int(r['batch_size'])})" for v, r in by.iterrows())
        + f" per epoch on {n_train} rows, ceil(N / batch_size).",
        f"Tune the rate per batch size: from the grid {', '.join(f'{lr:g}' for lr in learning_rates)}, "
        f"validation chose " + ", ".join(f"{chosen[v]:g} for {v}" for v in order) + ".",
        f"One epoch on {timing_rows:,} rows took batch GD {fast['batch GD']:.2g} s, mini-batch GD "
        f"{fast['mini-batch GD']:.2g} s and stochastic GD {fast['stochastic GD']:.2g} s (the last two estimated "
        f"as updates per epoch x median seconds per update); after its first epoch on the lesson's "
        f"{n_train} rows batch GD was {by.loc['batch GD', 'excess MSE after epoch 1']:.2g} above the minimum "
        f"MSE, mini-batch GD {by.loc['mini-batch GD', 'excess MSE after epoch 1']:.2g}, stochastic GD "
        f"{by.loc['stochastic GD', 'excess MSE after epoch 1']:.2g}.",
        f"After {args.epochs} epochs batch GD was {by.loc['batch GD', 'excess MSE at end']:.1e} above the "
        f"least-squares minimum, stochastic GD {by.loc['stochastic GD', 'excess MSE at end']:.1e} and mini-batch GD "
        f"{by.loc['mini-batch GD', 'excess MSE at end']:.1e}; from one update to the next, the loss each update "
        f"was computed on changed by {by.loc['stochastic GD', 'batch-loss jump (std)']:.2g} (std, last half of "
        f"training) with batch_size=1, {by.loc['mini-batch GD', 'batch-loss jump (std)']:.2g} with 32 and "
        f"{by.loc['batch GD', 'batch-loss jump (std)']:.2g} with all {n_train} rows.",
    ])
    return variants


if __name__ == "__main__":
    main()
