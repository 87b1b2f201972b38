"""Batch, stochastic and mini-batch gradient descent: one optimizer, three batch sizes.

``keras.optimizers.SGD`` is only the update rule; ``batch_size`` in
``model.fit`` decides how many samples feed each update: ``len(X)`` is batch
gradient descent, ``1`` stochastic gradient descent and ``32`` mini-batch
gradient descent. Each variant gets its best learning rate from one small
grid, and the lesson measures what the note claims about them: updates per
epoch, time per update and per epoch (on 200,000 rows), progress per epoch,
how much noise each update's gradient carries, how much the training loss
wobbles when all three share one rate, and whether batch GD reaches the
least-squares minimum. It builds on recipe 01 (regression with MSE), here
with a linear model on synthetic data, so the minimum is known exactly.

Run it: ``python recipes/06_gradient_descent_variants.py`` (about 30 s;
``--quick`` for a few-second look; ``--memory`` adds the peak memory of
``fit`` per batch size, each measured in a fresh process, about 10 s each).
"""

# %% [markdown]
# ## Setup
#
# Every number the lesson uses is a named constant here. The learning-rate
# grid (a factor of about 3 between neighbours) is the same for the three
# variants; each keeps the rate with the lowest validation loss, so each is
# compared at its best, as Dive into Deep Learning's chapter on minibatch
# stochastic gradient descent gives each batch size its own rate.
# ``import cookbook`` comes before ``import keras`` so that TensorFlow's
# start-up log lines stay out of the terminal.

# %%
import math

import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.recipe
from cookbook.lessons import gradient_descent

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

# The gradient-noise cell is TensorFlow code: under another Keras backend the
# script stops here with one line saying why (``cookbook tour`` skips it).
NEEDS_TENSORFLOW = cookbook.recipe.needs_tensorflow(
    "it measures each batch's gradient with tf.GradientTape and tf.map_fn"
)
import tensorflow as tf  # noqa: E402  (after the check above)

N_TRAIN = 128  # training rows of the lesson (4 full mini-batches of 32)
QUICK_N_TRAIN = 64
N_VAL = 1000  # held-out rows that choose the learning rate
N_FEATURES = 5
CORRELATION = 0.2  # between every pair of features: condition number 2.25 (see the Data cell)
NOISE = 0.5  # standard deviation of the noise in y: no model gets below MSE 0.25 on new rows
EPOCHS = 8  # the same number of passes over the data for every variant
QUICK_EPOCHS = 8
MINIBATCH_SIZE = 32
LEARNING_RATES = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
QUICK_LEARNING_RATES = (0.003, 0.03, 0.3)
NOISE_DRAWS = 2000  # random batches per batch size when measuring the gradient noise
QUICK_NOISE_DRAWS = 1000
SAME_RATE_EPOCHS = 5  # epochs of the runs that share one learning rate, from the lstsq minimum
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
# is in ``main`` below, one cell per step; ``cookbook.lessons.gradient_descent`` holds the
# measuring callbacks and the float64 NumPy references.


# %%
def grid_table(runs, batch_sizes):
    """One row per (variant, learning rate): updates made, final losses, and the chosen rate."""
    rows = []
    for variant, by_rate in runs.items():
        for learning_rate, rec in by_rate.items():
            rows.append(
                {
                    "variant": variant,
                    "batch_size": batch_sizes[variant],
                    "learning_rate": learning_rate,
                    "updates": rec.updates[-1],
                    "diverged": rec.diverged,
                    "train MSE": np.inf if rec.diverged else rec.epoch_train_loss[-1],
                    "val MSE": np.inf if rec.diverged else rec.epoch_val_loss[-1],
                }
            )
    table = pd.DataFrame(rows)
    best = table[~table["diverged"]].groupby("variant", sort=False)["val MSE"].idxmin()
    table["chosen"] = table.index.isin(best.values)
    return table


def variant_table(runs, batch_sizes, chosen, n_train, minimum, lstsq_kernel, lstsq_bias):
    """One row per variant at its chosen rate: updates, progress, distance to lstsq."""
    rows = []
    for variant, learning_rate in chosen.items():
        rec = runs[variant][learning_rate]
        per_epoch = np.diff(rec.epoch_updates)
        rows.append(
            {
                "variant": variant,
                "batch_size": batch_sizes[variant],
                "learning_rate": learning_rate,
                "updates/epoch": int(per_epoch[0]) if np.all(per_epoch == per_epoch[0]) else -1,
                "ceil(N/batch)": gradient_descent.updates_per_epoch(n_train, batch_sizes[variant]),
                "excess MSE after epoch 1": rec.epoch_train_loss[1] - minimum,
                "excess MSE at end": rec.epoch_train_loss[-1] - minimum,
                "val MSE": rec.epoch_val_loss[-1],
                "max |w - w_lstsq|": float(np.abs(np.append(rec.kernel - lstsq_kernel, rec.bias - lstsq_bias)).max()),
                "training s": rec.seconds[-1],
            }
        )
    return pd.DataFrame(rows)


def same_rate_table(same_rate, batch_sizes, learning_rate, minimum, noise):
    """One row per variant of the shared-rate runs: how far above the minimum, and how much it wobbled."""
    at_minimum = noise[noise["weights"] == "lstsq minimum"].set_index("variant")
    rows = []
    for variant, rec in same_rate.items():
        wobble = gradient_descent.trajectory_wobble(np.asarray(rec.train_loss) - minimum)
        rows.append(
            {
                "variant": variant,
                "batch_size": batch_sizes[variant],
                "learning_rate": learning_rate,
                "epochs": len(rec.epoch_updates) - 1,
                "updates": rec.updates[-1],
                "updates in last half": wobble["updates"],
                "mean excess MSE, last half": wobble["mean"],
                "std of train MSE around trend": wobble["std_around_trend"],
                "share of updates raising train MSE": wobble["rises"],
                "E||g_B - g||^2 at the minimum": at_minimum.loc[variant, "E||g_B - g||^2 measured"],
            }
        )
    return pd.DataFrame(rows)


def timing_row(variant, batch_size, spe, timer, model, X, y, minimum):
    """Seconds per update, per epoch (updates/epoch x s/update) and per sample, and the progress made."""
    per_update = timer.seconds_per_update
    updates = gradient_descent.updates_per_epoch(len(X), batch_size)
    return {
        "variant": variant,
        "batch_size": batch_size,
        "steps_per_execution": spe,
        "rows": len(X),
        "updates timed": timer.updates,
        "s/update": per_update,
        "updates/epoch": updates,
        "s/epoch": updates * per_update,
        "us/sample": 1e6 * per_update / batch_size,
        "epochs of data": timer.updates * batch_size / len(X),
        "excess MSE after them": gradient_descent.mse(X, y, *gradient_descent.linear_weights(model)) - minimum,
    }


def times(ratio):
    """A ratio for a sentence: ``"3.2x"``, ``"1,300x"``."""
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.2g}x"


def times_more(a, b):
    """``a / b`` in words: "3.2x more than" or "3.2x less than" (so the sentence is true either way)."""
    return f"{times(a / b)} more than" if a >= b else f"{times(b / a)} less than"


def overhead_summary(timing):
    """What the timing table says about Keras's per-update overhead, in numbers (one sentence)."""
    timed = timing.set_index("variant")
    rows = int(timing["rows"].iloc[0])
    per_row = timed.loc["batch GD", "s/update"] / rows  # one full-batch update, shared by every row
    one, mini = timed.loc["stochastic GD", "s/update"], timed.loc["mini-batch GD", "s/update"]
    mini_rows = int(timed.loc["mini-batch GD", "batch_size"])
    text = (
        f"a batch_size={mini_rows} update took {mini / one:.2g}x the time of a batch_size=1 update "
        f"({1e3 * mini:.3g} vs {1e3 * one:.3g} ms) for {mini_rows}x the rows, and a full-batch update spent "
        f"{1e6 * per_row:.2g} us per row"
    )
    if one <= per_row:
        return text + ", no less than a batch_size=1 update: per-update overhead did not show"
    return (
        text + f"; counting a row's arithmetic at that price, {1 - per_row / one:.2%} of a batch_size=1 "
        f"update ({times(one / per_row)} one row's share of a full-batch update) is per-update overhead, "
        f"which stochastic GD's epoch pays {rows:,} times"
    )


def claims_table(variants, timing, memory, shuffle_orders, noise, same_rate, *, epochs, n_train, minimum, eig):
    """The note's claims, each with how it was measured, the figures, and a verdict in words."""
    by = variants.set_index("variant")
    batch, sgd, mini = by.loc["batch GD"], by.loc["stochastic GD"], by.loc["mini-batch GD"]
    timed = timing.set_index("variant")
    rows_timed = int(timing["rows"].iloc[0])
    rows = []

    counts = ", ".join(f"{v} {int(r['updates/epoch'])}" for v, r in by.iterrows())
    expected = ", ".join(f"{int(r['ceil(N/batch)'])}" for _, r in by.iterrows())
    exact = bool((by["updates/epoch"] == by["ceil(N/batch)"]).all())
    rows.append(
        (
            "batch GD makes one update per epoch, stochastic GD (batch_size=1) one per sample, "
            "mini-batch GD one per 32 samples",
            f"optimizer.iterations per epoch, {n_train} training rows",
            f"{counts} (ceil(N/batch_size): {expected})",
            "holds: updates/epoch = ceil(N / batch_size)" if exact else "does not hold: see the counts",
        )
    )

    epoch_s = timed["s/epoch"]
    others = epoch_s.drop("batch GD")
    if epoch_s["batch GD"] > others.max():
        wall = f"holds here: batch GD's epoch ({epoch_s['batch GD']:.3g} s) took the longest"
    elif epoch_s["batch GD"] < others.min():
        wall = (
            f"does not hold as wall time: batch GD's epoch ({epoch_s['batch GD']:.3g} s) was the fastest; "
            + overhead_summary(timing)
        )
    else:
        wall = (
            f"partly: batch GD's epoch ({epoch_s['batch GD']:.3g} s) was slower than "
            f"{others.idxmin()}'s and faster than {others.idxmax()}'s; " + overhead_summary(timing)
        )
    rows.append(
        (
            "batch GD has slow epochs -- read as wall time of one epoch",
            f"{rows_timed:,} rows, updates/epoch x median s/update; stochastic and mini-batch GD with "
            f"steps_per_execution={FAST_STEPS_PER_EXECUTION}, timed over "
            f"{int(timed['updates timed'].max())} updates (a whole epoch would take minutes)",
            ", ".join(
                f"{v} {r['s/epoch']:.3g} s ({int(r['updates/epoch']):,} x {1e3 * r['s/update']:.3g} ms)"
                for v, r in timed.iterrows()
            ),
            wall,
        )
    )

    slowest_update = bool(timed.loc["batch GD", "s/update"] > timed.drop("batch GD")["s/update"].max())
    rows.append(
        (
            "batch GD has slow epochs -- read as time per update",
            f"{rows_timed:,} rows, median seconds per update",
            ", ".join(f"{v} {1e3 * s:.3g} ms" for v, s in timed["s/update"].items()),
            "holds: one batch GD update reads every row"
            if slowest_update
            else "does not hold here: a full-batch update was not the slowest",
        )
    )

    big = timed["excess MSE after them"]
    reference = f"batch GD's {big['batch GD']:.2g} after {timed.loc['batch GD', 'epochs of data']:.2g} epochs"
    passed = [v for v in big.index if v != "batch GD" and big[v] < big["batch GD"]]
    outcome = "holds" if len(passed) == len(big) - 1 else "partly" if passed else "not shown by this run"
    details = "; ".join(
        f"{v} {'got below' if v in passed else 'did not get below'} it within "
        f"{timed.loc[v, 'epochs of data']:.2g} epochs ({big[v]:.2g})"
        for v in big.index
        if v != "batch GD"
    )
    rows.append(
        (
            "batch GD has slow epochs -- read as progress per epoch, big data",
            f"{rows_timed:,} rows: training MSE above the lstsq minimum after the timed updates "
            f"(the fraction of an epoch they cover in brackets)",
            ", ".join(
                f"{v} {r['excess MSE after them']:.2g} ({r['epochs of data']:.2g} epochs)" for v, r in timed.iterrows()
            ),
            f"{outcome}: against {reference}, {details}",
        )
    )

    after_one = by["excess MSE after epoch 1"]
    ahead = [v for v in after_one.index if v != "batch GD" and after_one[v] < after_one["batch GD"]]
    not_ahead = [v for v in after_one.index if v not in ahead and v != "batch GD"]
    if not not_ahead:
        verdict = "holds: with one update per epoch, batch GD made the least progress in epoch 1"
    else:
        verdict = (
            f"{'partly' if ahead else 'does not hold'} on {n_train} rows: "
            + (f"{' and '.join(ahead)} got further, " if ahead else "")
            + " and ".join(
                f"{v} ({int(by.loc[v, 'updates/epoch'])} updates x lr "
                f"{by.loc[v, 'learning_rate']:g}, "
                f"{by.loc[v, 'updates/epoch'] * by.loc[v, 'learning_rate']:.3g} in all)"
                for v in not_ahead
            )
            + f" did not get further than one full-batch update x lr {batch['learning_rate']:g}"
        )
    rows.append(
        (
            "batch GD has slow epochs -- read as progress per epoch, the lesson's data",
            f"{n_train} rows: training MSE above the lstsq minimum after epoch 1, each variant at its chosen rate",
            ", ".join(f"{v} {r['excess MSE after epoch 1']:.3g}" for v, r in by.iterrows()),
            verdict,
        )
    )

    if memory is None:
        rows.append(
            (
                "batch GD needs much memory",
                "not measured in this run",
                "run with --memory",
                "not measured: --memory runs one fresh process per batch size",
            )
        )
    else:
        added = memory.set_index("variant")["MB added by fit"]
        most = bool(added["batch GD"] > added.drop("batch GD").max())
        rows.append(
            (
                "batch GD needs much memory",
                f"peak MB that fit adds, same {int(memory['rows'].iloc[0]):,} rows for every batch "
                f"size, {MEMORY_STEPS} updates or fewer, one fresh process each",
                ", ".join(f"{v} {mb:.1f} MB" for v, mb in added.items()),
                "holds: one full-batch step holds every row's activations and gradients"
                if most
                else "does not hold here: the full-batch step added no more than the others",
            )
        )

    relative = batch["excess MSE at end"] / minimum
    reached = bool(relative <= MINIMUM_TOLERANCE)
    rows.append(
        (
            "batch GD reaches the minimum of a convex loss",
            f"after {epochs} epochs at lr {batch['learning_rate']:g}: training MSE above the lstsq minimum "
            f"({minimum:.4g}), relative to it; largest weight difference from lstsq",
            f"batch GD {relative:.1e} (max |w - w_lstsq| {batch['max |w - w_lstsq|']:.1e}); "
            f"stochastic GD {sgd['excess MSE at end'] / minimum:.1e}, "
            f"mini-batch GD {mini['excess MSE at end'] / minimum:.1e}",
            f"holds: within {MINIMUM_TOLERANCE:.0e} of the minimum (condition number {eig[-1] / eig[0]:.2g})"
            if reached
            else f"not yet after {epochs} epochs: not within {MINIMUM_TOLERANCE:.0e} (condition number "
            f"{eig[-1] / eig[0]:.2g}; more epochs needed)",
        )
    )

    repeated = all(order == shuffle_orders[0] for order in shuffle_orders)
    rows.append(
        (
            "stochastic GD (batch_size=1) uses one random sample per update",
            "updates per epoch; the rows fit(shuffle=True) visits in 3 epochs of 8 "
            "rows after keras.utils.set_random_seed",
            f"{int(sgd['updates/epoch'])} updates of one row per epoch; epoch orders "
            + ("identical" if repeated else "different")
            + f": {shuffle_orders[0]}",
            "partly: one row per update, but under a global seed Keras (TensorFlow backend) repeats "
            "the same random order every epoch (tensorflow/tensorflow#35682)"
            if repeated
            else "holds: one row per update, a new random order every epoch",
        )
    )

    same = same_rate.set_index("variant")
    lr, same_epochs = same["learning_rate"].iloc[0], int(same["epochs"].iloc[0])
    rises = same["share of updates raising train MSE"]
    wobble = same["std of train MSE around trend"]
    zigzag = bool(rises["stochastic GD"] > rises["batch GD"])
    rows.append(
        (
            "stochastic GD (batch_size=1) zig-zags",
            f"all three at lr {lr:g} for {same_epochs} epochs from the lstsq minimum: share of the "
            f"last half's updates after which the whole training set's MSE went up",
            ", ".join(f"{v} {r:.0%}" for v, r in rises.items()),
            (
                f"holds: {rises['stochastic GD']:.0%} of stochastic GD's updates went uphill for the whole "
                f"training set, {rises['batch GD']:.0%} of batch GD's"
                if zigzag
                else "does not hold here: stochastic GD went uphill no more often than batch GD"
            )
            + f"; the share says nothing about the size of the steps (mini-batch GD: {rises['mini-batch GD']:.0%}"
            f", with a std {times_more(wobble['mini-batch GD'], wobble['stochastic GD'])} stochastic GD's)",
        )
    )

    grad = noise.pivot(index="weights", columns="variant", values="E||g_B - g||^2 measured")
    theory = noise.pivot(index="weights", columns="variant", values="sampling theory")
    measured_ratio = grad["mini-batch GD"] / grad["stochastic GD"]
    theory_ratio = theory["mini-batch GD"] / theory["stochastic GD"]
    quieter = bool((measured_ratio < 1).all())
    rows.append(
        (
            "mini-batch GD is more stable than stochastic GD (batch_size=1) -- read as the noise in each "
            "update's gradient (the reason)",
            f"mean of ||g_B - g||^2 over {int(noise['draws'].max())} random batches per batch size, "
            "with the same weights for every batch size (two weight points); sampling theory "
            "sigma^2 / b x (N - b) / (N - 1) in brackets",
            "; ".join(
                f"at the {w}: "
                + ", ".join(
                    f"batch_size={int(r['batch_size'])} {r['E||g_B - g||^2 measured']:.3g} ({r['sampling theory']:.3g})"
                    for _, r in rows_w.iterrows()
                )
                for w, rows_w in noise.groupby("weights", sort=False)
            ),
            (
                f"holds: a batch of {int(mini['batch_size'])} carried "
                + " and ".join(f"{measured_ratio[w]:.3g}" for w in measured_ratio.index)
                + " of one row's squared gradient noise (sampling theory: "
                + " and ".join(f"{theory_ratio[w]:.3g}" for w in theory_ratio.index)
                + ")"
            )
            if quieter
            else "does not hold here: at "
            + " and ".join(f"the {w}" for w in measured_ratio.index if measured_ratio[w] >= 1)
            + f" a batch of {int(mini['batch_size'])} was no less noisy than one row",
        )
    )

    steadier = bool(wobble["mini-batch GD"] < wobble["stochastic GD"])
    rows.append(
        (
            "mini-batch GD is more stable than stochastic GD (batch_size=1) -- read as the training loss "
            "along the run (this row decides)",
            f"all three at lr {lr:g} for {same_epochs} epochs from the lstsq minimum: std of the whole "
            f"training set's MSE around a straight-line trend, last half of the updates (their number in "
            f"brackets)",
            ", ".join(f"{v} {wobble[v]:.2g} ({int(same.loc[v, 'updates in last half'])} updates)" for v in same.index),
            f"holds: at the same rate, mini-batch GD's training MSE wobbled "
            f"{times(wobble['stochastic GD'] / wobble['mini-batch GD'])} less than stochastic GD's "
            f"(its mean excess over the minimum: {same.loc['mini-batch GD', 'mean excess MSE, last half']:.2g} vs "
            f"{same.loc['stochastic GD', 'mean excess MSE, last half']:.2g})"
            if steadier
            else f"does not hold here: at the same rate mini-batch GD's std ({wobble['mini-batch GD']:.2g}) was not "
            f"below stochastic GD's ({wobble['stochastic GD']:.2g})",
        )
    )
    return pd.DataFrame(rows, columns=["the note says", "measured how", "measured", "verdict"])


def plot_loss_curves(runs, batch_sizes, chosen, minimum, n_train):
    """Excess training MSE per epoch and per second, each variant at its chosen rate."""
    fig = Figure(figsize=(12, 4.6), layout="constrained")
    by_epoch, by_time = fig.subplots(1, 2)
    for i, (variant, learning_rate) in enumerate(chosen.items()):
        rec = runs[variant][learning_rate]
        color = f"C{i}"
        label = f"{variant}: batch_size={batch_sizes[variant]}, lr={learning_rate:g}"
        per_epoch = gradient_descent.updates_per_epoch(n_train, batch_sizes[variant])
        excess = np.maximum(np.asarray(rec.train_loss) - minimum, 1e-12)
        epochs = np.asarray(rec.updates) / per_epoch  # update k of the run is at epoch k / (updates per epoch)
        marker = "." if per_epoch <= 4 else None
        by_epoch.plot(epochs, excess, lw=1, marker=marker, color=color, label=label)
        by_time.plot(rec.seconds, excess, lw=1, marker="." if per_epoch == 1 else None, color=color, label=label)
    by_epoch.set(
        xlabel=f"epochs (passes over the {n_train} training rows)",
        ylabel="training MSE - lstsq minimum (log scale)",
        yscale="log",
        title="Progress per epoch",
    )
    by_time.set(
        xlabel="training seconds (wall clock; measuring and compiling excluded)",
        ylabel="training MSE - lstsq minimum (log scale)",
        yscale="log",
        title="Progress per second",
    )
    for ax in (by_epoch, by_time):
        ax.yaxis.set_major_locator(LogLocator(numticks=8))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.legend(fontsize="small")
    return fig


def plot_noise(noise, same_rate_runs, batch_sizes, learning_rate, minimum, n_train):
    """Gradient noise against the batch size, and the training MSE of the shared-rate runs."""
    fig = Figure(figsize=(13, 5.4), layout="constrained")
    by_size, along = fig.subplots(1, 2)
    sizes = np.arange(1, n_train)
    for i, (weights, rows) in enumerate(noise.groupby("weights", sort=False)):
        color = f"C{i + 3}"
        sigma2 = rows.loc[rows["batch_size"] == 1, "sampling theory"].iloc[0]  # b = 1 gives sigma^2 itself
        by_size.plot(
            sizes,
            sigma2 / sizes * (n_train - sizes) / (n_train - 1),
            color=color,
            lw=1,
            label=f"sampling theory at the {weights}",
        )
        shown = rows[rows["batch_size"] < n_train]
        by_size.errorbar(
            shown["batch_size"],
            shown["E||g_B - g||^2 measured"],
            yerr=2 * shown["standard error"],
            fmt="o",
            color=color,
            capsize=4,
            label=f"measured at the {weights} (+-2 standard errors)",
        )
        full = rows[rows["batch_size"] == n_train]["E||g_B - g||^2 measured"].iloc[0]
        by_size.plot([], [], " ", label=f"batch_size={n_train} at the {weights}: {full:.1g} (theory 0)")
    by_size.set(
        xscale="log",
        yscale="log",
        xlabel="batch_size (rows per update, log scale)",
        ylabel="E ||g_B - g||^2, squared gradient units (log scale)",
        title="Noise in one update's gradient",
    )
    by_size.xaxis.set_major_locator(FixedLocator([1, 2, 4, 8, 16, 32, 64, 128][: int(math.log2(n_train)) + 1]))
    by_size.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    by_size.xaxis.set_minor_formatter(NullFormatter())
    by_size.legend(fontsize="x-small")

    floor = 1e-9  # excess below this is float32 rounding; drawn at the bottom edge
    for i, (variant, rec) in enumerate(same_rate_runs.items()):
        per_epoch = gradient_descent.updates_per_epoch(n_train, batch_sizes[variant])
        excess = np.asarray(rec.train_loss) - minimum
        note = " (stays below 1e-9: drawn at the bottom)" if np.all(excess[1:] < floor) else ""
        along.plot(
            np.asarray(rec.updates) / per_epoch,
            np.maximum(excess, floor),
            lw=1,
            marker="." if per_epoch <= 4 else None,
            color=f"C{i}",
            label=f"{variant}: batch_size={batch_sizes[variant]}, lr={learning_rate:g}{note}",
        )
    along.set(
        yscale="log",
        ylim=(floor / 3, None),
        xlabel=f"epochs (passes over the {n_train} training rows)",
        ylabel="training MSE - lstsq minimum (log scale)",
        title="One rate for all three, starting at the minimum",
    )
    along.yaxis.set_major_locator(LogLocator(numticks=8))
    along.yaxis.set_minor_formatter(NullFormatter())
    along.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14))  # below: no line hidden
    return fig


def plot_grid(grid, val_at_minimum):
    """Final validation MSE against the learning rate, per variant; diverged runs drawn at the top."""
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    top = grid.loc[~grid["diverged"], "val MSE"].max() * 1.6
    for i, (variant, rows) in enumerate(grid.groupby("variant", sort=False)):
        color = f"C{i}"
        ok = rows[~rows["diverged"]]
        ax.plot(
            ok["learning_rate"],
            ok["val MSE"],
            marker="o",
            color=color,
            label=f"{variant} (batch_size={rows['batch_size'].iloc[0]})",
        )
        bad = rows[rows["diverged"]]
        ax.plot(bad["learning_rate"], np.full(len(bad), top * 1.15**i), "x", color=color, ms=9, mew=2)
        pick = rows[rows["chosen"]]
        ax.plot(pick["learning_rate"], pick["val MSE"], "*", color=color, ms=16)
    ax.axhline(val_at_minimum, color="grey", linestyle="--", label="validation MSE of the lstsq weights")
    ax.plot([], [], "k*", ms=12, ls="none", label="chosen rate (lowest validation MSE)")
    ax.plot([], [], "kx", ms=9, ls="none", label="diverged (stopped; drawn at the top)")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="learning rate (log scale)",
        ylabel="validation MSE after the last epoch (log scale)",
        title="One grid, a different best rate per batch size",
    )
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
    labels = [
        f"{r.variant}\nbatch_size={r.batch_size}\nsteps_per_execution={r.steps_per_execution}"
        for r in timing.itertuples()
    ]
    positions = np.arange(len(timing))
    rows = int(timing["rows"].iloc[0])
    for ax, column, title in (
        (per_update, "s/update", f"Seconds per update, {rows:,} rows (median)"),
        (per_epoch, "s/epoch", f"Seconds per epoch, {rows:,} rows\n(updates per epoch x seconds per update)"),
    ):
        bars = ax.bar(positions, timing[column], color=[f"C{i}" for i in range(len(timing))])
        ax.bar_label(bars, labels=[f"{v:.2g} s" for v in timing[column]], fontsize="small")
        ax.set_xticks(positions, labels, fontsize="x-small")
        ax.set(yscale="log", ylabel=f"{column.replace('s/', 'seconds per ')} (log scale)", title=title)
        ax.margins(y=0.15)
    return fig


def build_parser():
    parser = cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS)
    parser.add_argument(
        "--memory",
        action="store_true",
        help=f"also measure the peak memory of fit per batch size on {MEMORY_ROWS:,} rows, "
        "one fresh process each (about 10 s per batch size)",
    )
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
    X_train, y_train = gradient_descent.make_linear_data(
        n_train, N_FEATURES, correlation=CORRELATION, noise=NOISE, seed=args.seed
    )
    X_val, y_val = gradient_descent.make_linear_data(
        N_VAL, N_FEATURES, correlation=CORRELATION, noise=NOISE, seed=args.seed + 1
    )
    lstsq_kernel, lstsq_bias = gradient_descent.least_squares(X_train, y_train)
    minimum = gradient_descent.mse(X_train, y_train, lstsq_kernel, lstsq_bias)
    val_at_minimum = gradient_descent.mse(X_val, y_val, lstsq_kernel, lstsq_bias)
    eig = gradient_descent.hessian_eigenvalues(X_train)
    print(f"{n_train} training rows, {N_VAL} validation rows, {N_FEATURES} features")
    print(
        f"lstsq minimum of the training MSE: {minimum:.4f} (validation MSE of those weights: "
        f"{val_at_minimum:.4f}; the noise alone gives {NOISE**2:.2f})"
    )
    print(
        f"Hessian eigenvalues {eig[0]:.2f} to {eig[-1]:.2f}: condition number {eig[-1] / eig[0]:.2f}; "
        f"batch GD diverges above lr = 2 / lambda_max = {2 / eig[-1]:.2f}; its best constant rate is "
        f"2 / (lambda_min + lambda_max) = {gradient_descent.optimal_learning_rate(X_train):.2f}"
    )
    diabetes = cookbook.split_and_standardize(*cookbook.load_dataset("diabetes"), seed=args.seed).X_train
    for name, data in (("these features", X_train), ("recipe 01's standardized Diabetes features", diabetes)):
        cond = np.divide(*gradient_descent.hessian_eigenvalues(data)[[-1, 0]])
        shrink = (cond - 1) / (cond + 1)  # per update, along the worst direction, at the best constant rate
        print(
            f"{name}: condition number {cond:.3g}; at its best constant rate batch GD multiplies its distance "
            f"to the minimum by at most {shrink:.3f} per update, so shrinking it 1000-fold takes "
            f"{math.log(1e-3) / math.log(shrink):,.0f} updates"
        )

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
    #   with at most 1/32 of a single row's variance (less when the rows
    #   come from a small set; the Compare section measures it);
    #   ceil(N / 32) updates per epoch.
    #
    # ``steps_per_execution`` (default 1) is how many updates ``fit`` runs per
    # call into the compiled graph; the lesson keeps 1, so callbacks see every
    # update, and uses 100 only where it times updates
    # (``benchmarks/steps_per_execution.py`` measures what it saves).

    # %%
    def build_model(learning_rate, steps_per_execution=1):
        model = keras.Sequential([keras.Input((N_FEATURES,)), keras.layers.Dense(1)])
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
            loss="mean_squared_error",
            steps_per_execution=steps_per_execution,
        )
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
    # Two helpers measure and do not train: ``gradient_descent.warm_up`` compiles
    # the training step before the clock starts (then puts the weights back),
    # and ``gradient_descent.UpdateRecorder``, a callback, records after every
    # update the loss on the whole training set, the loss of the batch the
    # update used, and the training seconds; at each epoch's end it adds the
    # validation loss. It stops a run whose loss has grown 1000-fold
    # (diverged).
    #
    # First batch GD: ``batch_size=len(X_train)``. Shuffling cannot change a
    # full batch, so ``shuffle=False``.

    # %%
    batch_sizes = gradient_descent.variant_batch_sizes(n_train, MINIBATCH_SIZE)
    runs = {variant: {} for variant in batch_sizes}
    keras.utils.set_random_seed(args.seed)
    model = build_model(learning_rates[0])
    start = model.get_weights()
    gradient_descent.warm_up(model, X_train, y_train, batch_size=len(X_train))
    for learning_rate in learning_rates:
        model.set_weights(start)
        model.optimizer.learning_rate = learning_rate
        model.optimizer.iterations.assign(0)
        keras.utils.set_random_seed(args.seed)  # the same shuffling for every rate
        recorder = gradient_descent.UpdateRecorder(X_train, y_train, X_val, y_val)
        model.fit(
            X_train,
            y_train,
            batch_size=len(X_train),
            epochs=args.epochs,
            shuffle=False,
            callbacks=[recorder],
            verbose=0,
        )
        runs["batch GD"][learning_rate] = recorder
        print(
            f"batch GD      lr={learning_rate:<6g} optimizer.iterations={int(model.optimizer.iterations):5d}  "
            f"validation MSE {recorder.epoch_val_loss[-1]:.4g}" + ("  (diverged)" if recorder.diverged else "")
        )

    # %% [markdown]
    # Stochastic GD: ``batch_size=1``, so each update uses one row, in the
    # random order that ``fit(shuffle=True)`` (its default) draws.

    # %%
    keras.utils.set_random_seed(args.seed)
    model = build_model(learning_rates[0])
    start = model.get_weights()
    gradient_descent.warm_up(model, X_train, y_train, batch_size=1)
    for learning_rate in learning_rates:
        model.set_weights(start)
        model.optimizer.learning_rate = learning_rate
        model.optimizer.iterations.assign(0)
        keras.utils.set_random_seed(args.seed)  # the same shuffling for every rate
        recorder = gradient_descent.UpdateRecorder(X_train, y_train, X_val, y_val)
        model.fit(X_train, y_train, batch_size=1, epochs=args.epochs, callbacks=[recorder], verbose=0)
        runs["stochastic GD"][learning_rate] = recorder
        print(
            f"stochastic GD lr={learning_rate:<6g} optimizer.iterations={int(model.optimizer.iterations):5d}  "
            f"validation MSE {recorder.epoch_val_loss[-1]:.4g}" + ("  (diverged)" if recorder.diverged else "")
        )

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
    orders = gradient_descent.fit_shuffle_orders(n_rows=8, epochs=3, seed=args.seed)
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
    gradient_descent.warm_up(model, X_train, y_train, batch_size=32)
    for learning_rate in learning_rates:
        model.set_weights(start)
        model.optimizer.learning_rate = learning_rate
        model.optimizer.iterations.assign(0)
        keras.utils.set_random_seed(args.seed)  # the same shuffling for every rate
        recorder = gradient_descent.UpdateRecorder(X_train, y_train, X_val, y_val)
        model.fit(X_train, y_train, batch_size=32, epochs=args.epochs, callbacks=[recorder], verbose=0)
        runs["mini-batch GD"][learning_rate] = recorder
        print(
            f"mini-batch GD lr={learning_rate:<6g} optimizer.iterations={int(model.optimizer.iterations):5d}  "
            f"validation MSE {recorder.epoch_val_loss[-1]:.4g}" + ("  (diverged)" if recorder.diverged else "")
        )

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
    # and diverges. A single small rate for all three, safe for one row at a
    # time, would starve batch GD: it makes only one update per epoch, so at
    # a rate of 0.01 it takes as many small steps as there are epochs (the
    # grid's 0.01 row shows where that leaves it).

    # %%
    grid = cookbook.recipe.show(
        grid_table(runs, batch_sizes), f"{args.recipe}: every learning rate, {args.epochs} epochs"
    )
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
    # - The stochastic variants cannot settle at the minimum: a row's (or 32
    #   rows') gradient is not zero there, so each update keeps kicking the
    #   weights, and once they get near the bottom they wobble at a floor
    #   set by the rate and the batch size instead of falling further.
    #   Batch GD's exact gradient shrinks to 0 at the bottom of the bowl, so
    #   it keeps falling by about a constant factor per update.
    # - In seconds (right panel): on so few rows of 5 features the
    #   arithmetic is tiny, so the clock mostly measures Keras's own work
    #   per update and per epoch; the timing cell below takes that apart.
    #
    # The three runs use different rates, so their wobbles cannot be
    # compared with each other here: a larger rate turns the same gradient
    # noise into larger jumps. The next two cells measure the noise itself,
    # then run all three at one rate.

    # %%
    variants = cookbook.recipe.show(
        variant_table(runs, batch_sizes, chosen, n_train, minimum, lstsq_kernel, lstsq_bias),
        f"{args.recipe}: each variant at its chosen rate ({n_train} rows, {args.epochs} epochs)",
    )
    cookbook.recipe.save_table(variants, args)
    cookbook.recipe.save_figure(plot_loss_curves(runs, batch_sizes, chosen, minimum, n_train), args, "loss_curves")

    # %% [markdown]
    # What one update carries. Each update follows the gradient of its
    # batch, ``g_B``, instead of the full-data gradient ``g``; the error
    # ``g_B - g`` is the noise of the update. Its mean square over random
    # batches, ``E ||g_B - g||^2``, is measured below with the same
    # ``tf.GradientTape`` computation that ``fit`` runs inside each update,
    # at the same weights for every batch size (once at the starting
    # weights, once at the least-squares minimum). ``tf.map_fn`` runs that
    # computation for thousands of random batches in one compiled call, and
    # ``gradient_descent.gradient_noise`` draws the batches and averages.
    # Sampling theory predicts it: if ``sigma^2`` is the mean over the N
    # rows of ``||g_i - g||^2``, a batch of ``b`` distinct rows gives
    #
    #     E ||g_B - g||^2 = sigma^2 / b * (N - b) / (N - 1)
    #
    # so 32 rows carry about 1/32 of one row's noise (a little less, because
    # they are drawn without replacement from only N rows), and the full
    # batch none: what is left there is float32 rounding.

    # %%
    loss_fn = keras.losses.MeanSquaredError()
    model = build_model(learning_rates[0])  # only its weights matter here: no update is made

    def batch_gradient(batch):  # what one update of fit computes: the gradient of the batch's loss
        X_batch, y_batch = batch
        with tf.GradientTape() as tape:
            loss = loss_fn(y_batch, model(X_batch))
        return tape.gradient(loss, model.trainable_weights)

    @tf.function(reduce_retracing=True)
    def gradients_of_batches(X_batches, y_batches):  # one gradient per batch, in one compiled call
        return tf.map_fn(
            batch_gradient, (X_batches, y_batches), fn_output_signature=[w.dtype for w in model.trainable_weights]
        )

    def batch_gradients(rows):  # rows: (batches, batch_size) row indices -> (batches, 6) flat gradients
        gradients = gradients_of_batches(X_train[rows], y_train[rows][..., None])
        return np.hstack([keras.ops.convert_to_numpy(g).reshape(len(rows), -1) for g in gradients])

    draws = QUICK_NOISE_DRAWS if args.quick else NOISE_DRAWS
    at_minimum = [lstsq_kernel.reshape(-1, 1).astype("float32"), np.array([lstsq_bias], "float32")]
    noise_rows = []
    for weights, values in (("starting weights", start), ("lstsq minimum", at_minimum)):
        model.set_weights(values)
        kernel, bias = gradient_descent.linear_weights(model)
        for variant, batch_size in batch_sizes.items():
            measured = gradient_descent.gradient_noise(
                batch_gradients, n_train, batch_size, draws=draws, seed=args.seed
            )
            noise_rows.append(
                {
                    "weights": weights,
                    "variant": variant,
                    "batch_size": batch_size,
                    "draws": measured["draws"],
                    "E||g_B - g||^2 measured": measured["mean"],
                    "standard error": measured["standard_error"],
                    "sampling theory": gradient_descent.sampling_noise(X_train, y_train, kernel, bias, batch_size),
                }
            )
    noise = cookbook.recipe.show(
        pd.DataFrame(noise_rows),
        f"Gradient noise per update: mean of ||g_B - g||^2 over random batches, {n_train} rows",
    )
    for weights, rows in noise.groupby("weights", sort=False):
        per = rows.set_index("variant")["E||g_B - g||^2 measured"]
        print(
            f"at the {weights}: a batch of {batch_sizes['mini-batch GD']} carried "
            f"{per['mini-batch GD'] / per['stochastic GD']:.3g} of one row's noise "
            f"(1/{per['stochastic GD'] / per['mini-batch GD']:.3g})"
        )
    cookbook.recipe.save_table(noise, args, "noise")

    # %% [markdown]
    # One rate for all three. Whether less noise makes training steadier is
    # a question about the training loss, and it needs one learning rate
    # for all three: the step is ``lr`` times the noise. The rate is the
    # grid's largest below two limits: ``2 / lambda_max``, above which batch
    # GD diverges, and ``2 / max_i 2 (||x_i||^2 + 1)``, above which a
    # single-row update makes that row's own error larger instead of smaller
    # (``2 (||x_i||^2 + 1)`` is the curvature of row i's squared error, with
    # respect to the kernel and the bias). Every run starts at the
    # least-squares minimum, where the full gradient is 0: batch GD stays,
    # and whatever the others do there is the noise of their batches alone,
    # not descent. The measure that decides "more stable" is the standard
    # deviation of the whole training set's MSE over the last half of the
    # updates, around a straight-line trend (so a slow drift is not counted
    # as wobble). The share of updates that raise it is printed too, but it
    # counts uphill steps, not their size: a tiny wobble can go uphill as
    # often as a large one. In the figure, both wobbles repeat from epoch to
    # epoch: under a global seed ``fit`` visits the rows in the same order
    # every epoch (the trap cell above).

    # %%
    row_curvature = 2 * (np.sum(X_train.astype(np.float64) ** 2, axis=1) + 1)
    limit = min(2 / eig[-1], 2 / row_curvature.max())
    common_rate = max((lr for lr in learning_rates if lr < limit), default=min(learning_rates))
    print(
        f"batch GD diverges above lr {2 / eig[-1]:.3g}; a single-row update grows its row's error above lr "
        f"{2 / row_curvature.max():.3g}; the shared rate is {common_rate:g}"
        + ("" if common_rate < limit else " (the grid's smallest: none is below both limits)")
    )
    same_rate = {}
    for variant, batch_size in batch_sizes.items():
        keras.utils.set_random_seed(args.seed)
        model = build_model(common_rate)
        model.set_weights(at_minimum)
        recorder = gradient_descent.UpdateRecorder(X_train, y_train)
        model.fit(X_train, y_train, batch_size=batch_size, epochs=SAME_RATE_EPOCHS, callbacks=[recorder], verbose=0)
        same_rate[variant] = recorder
    stability = cookbook.recipe.show(
        same_rate_table(same_rate, batch_sizes, common_rate, minimum, noise),
        f"All three at lr {common_rate:g}, {SAME_RATE_EPOCHS} epochs from the lstsq minimum",
    )
    cookbook.recipe.save_table(stability, args, "same_rate")
    cookbook.recipe.save_figure(plot_noise(noise, same_rate, batch_sizes, common_rate, minimum, n_train), args, "noise")

    # %% [markdown]
    # The timing so far is on the lesson's few rows, where a second
    # measures mostly Keras's own work per update and per epoch, not
    # arithmetic. To see what the batch size does to time, the same model
    # is timed on many more rows. Stochastic and mini-batch GD would need
    # minutes for one epoch there, so ``steps_per_epoch`` caps the timed
    # updates, and their epoch time is computed as updates per epoch times
    # the median time of one update. They run with
    # ``steps_per_execution=100``: one Python call into the compiled graph
    # runs 100 updates. That removes the Python round trip per update
    # (``benchmarks/steps_per_execution.py`` measures what it saves), but
    # not the work the graph does per update (fetch the next batch, launch
    # the update's operations). The printout after the table sets that
    # remaining cost per update against the arithmetic of one row, priced
    # as a full-batch update's time per row.
    #
    # Why more rows cannot take the overhead out of the per-epoch claim:
    # every extra row is one more update for stochastic GD, each paying the
    # same per-update cost. Only more arithmetic per row (a wider row or a
    # bigger model) would make a ``batch_size=1`` update cost mostly
    # arithmetic; with 5 features, it is overhead. The same runs also show
    # how far each variant got, and with what fraction of an epoch.

    # %%
    timing_rows = QUICK_TIMING_ROWS if args.quick else TIMING_ROWS
    timed_steps = QUICK_TIMED_STEPS if args.quick else TIMED_STEPS
    X_big, y_big = gradient_descent.make_linear_data(
        timing_rows, N_FEATURES, correlation=CORRELATION, noise=NOISE, seed=args.seed + 2
    )
    big_minimum = gradient_descent.mse(X_big, y_big, *gradient_descent.least_squares(X_big, y_big))
    timings = []
    for variant, batch_size in gradient_descent.variant_batch_sizes(timing_rows, MINIBATCH_SIZE).items():
        for spe in (1,) if batch_size == timing_rows else (FAST_STEPS_PER_EXECUTION,):
            keras.utils.set_random_seed(args.seed)
            model = build_model(chosen[variant], steps_per_execution=spe)
            gradient_descent.warm_up(model, X_big, y_big, batch_size=batch_size)
            timer = gradient_descent.StepTimer()
            model.fit(
                X_big,
                y_big,
                batch_size=batch_size,
                epochs=TIMED_EPOCHS,
                steps_per_epoch=min(timed_steps, math.ceil(timing_rows / batch_size)),
                callbacks=[timer],
                verbose=0,
            )
            timings.append(timing_row(variant, batch_size, spe, timer, model, X_big, y_big, big_minimum))
    timing = cookbook.recipe.show(pd.DataFrame(timings), f"Time per update and per epoch, {timing_rows:,} rows")
    print(f"On {timing_rows:,} rows, " + overhead_summary(timing) + ".")
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
        for variant, batch_size in gradient_descent.variant_batch_sizes(MEMORY_ROWS, MINIBATCH_SIZE).items():
            added, peak = gradient_descent.peak_fit_memory(
                batch_size, MEMORY_ROWS, N_FEATURES, steps=MEMORY_STEPS, seed=args.seed
            )
            probes.append(
                {
                    "variant": variant,
                    "batch_size": batch_size,
                    "rows": MEMORY_ROWS,
                    "MB added by fit": added,
                    "peak MB": peak,
                }
            )
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
        claims_table(
            variants,
            timing,
            memory,
            orders,
            noise,
            stability,
            epochs=args.epochs,
            n_train=n_train,
            minimum=minimum,
            eig=eig,
        ),
        "The note's claims, measured",
    )
    cookbook.recipe.save_table(claims, args, "claims")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    by = variants.set_index("variant")
    fast = timing.set_index("variant")
    per_row = fast.loc["batch GD", "s/update"] / timing_rows
    order = sorted(chosen, key=chosen.get)
    steady = stability.set_index("variant")["std of train MSE around trend"]
    noise_min = noise[noise["weights"] == "lstsq minimum"].set_index("variant")
    measured_share = (
        noise_min.loc["mini-batch GD", "E||g_B - g||^2 measured"]
        / noise_min.loc["stochastic GD", "E||g_B - g||^2 measured"]
    )
    theory_share = noise_min.loc["mini-batch GD", "sampling theory"] / noise_min.loc["stochastic GD", "sampling theory"]
    cookbook.recipe.remember(
        [
            "batch_size alone picks the variant: optimizer.iterations grew by "
            + ", ".join(f"{int(r['updates/epoch'])} ({v}, batch_size={int(r['batch_size'])})" for v, r in by.iterrows())
            + f" per epoch on {n_train} rows, ceil(N / batch_size).",
            f"Tune the rate per batch size: from the grid {', '.join(f'{lr:g}' for lr in learning_rates)}, "
            f"validation chose "
            + ", ".join(f"{chosen[v]:g} for {v}" for v in order)
            + f"; after {args.epochs} epochs at those rates the training MSE was "
            + ", ".join(f"{by.loc[v, 'excess MSE at end']:.1e} ({v})" for v in by.index)
            + " above the least-squares minimum.",
            f"One epoch on {timing_rows:,} rows took batch GD {fast.loc['batch GD', 's/epoch']:.2g} s, mini-batch GD "
            f"{fast.loc['mini-batch GD', 's/epoch']:.2g} s and stochastic GD {fast.loc['stochastic GD', 's/epoch']:.2g} s "
            f"(the last two estimated as updates per epoch x median seconds per update); one batch_size=1 update "
            f"took {1e3 * fast.loc['stochastic GD', 's/update']:.2g} ms, "
            f"{times_more(fast.loc['stochastic GD', 's/update'], per_row)} one row's share of a full-batch update "
            f"({1e6 * per_row:.2g} us); what a single row's update costs beyond its share is per-update overhead, "
            f"and stochastic GD pays it once per row.",
            f"At one shared rate ({common_rate:g}, from the minimum) the training MSE wobbled with a std of "
            f"{steady['stochastic GD']:.2g} for stochastic GD, {steady['mini-batch GD']:.2g} for mini-batch GD and "
            f"{steady['batch GD']:.2g} for batch GD; at the minimum a batch of {batch_sizes['mini-batch GD']} carried "
            f"{measured_share:.3g} of one row's squared gradient noise (sampling theory: {theory_share:.3g}).",
        ]
    )
    return variants


if __name__ == "__main__":
    main()
