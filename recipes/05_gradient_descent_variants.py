"""Batch, stochastic and mini-batch gradient descent: one optimizer, three batch sizes.

In Keras ``keras.optimizers.SGD`` is only the update rule; ``batch_size`` in
``model.fit`` decides how many samples feed each update: ``len(X)`` is batch
gradient descent, ``1`` is stochastic gradient descent and ``32`` is
mini-batch gradient descent. We train one linear regression three ways and
measure updates per epoch (from ``optimizer.iterations``), time per update
and per sample, loss per epoch and per second, and check that batch GD lands
on the ``numpy.linalg.lstsq`` solution, as it must for a convex loss. It
builds on recipe 01 (same data and target scaling, with a linear model).

Run it: ``python recipes/05_gradient_descent_variants.py`` (``--quick`` for a
few-second look, ``--memory`` to also measure peak memory per batch size in
fresh processes, ``--csv my.csv --target price`` for your own table).
"""

# %% [markdown]
# ## Setup
#
# One learning rate for all three variants, so the batch size is the only
# thing that changes. ``STEPS_PER_EXECUTION``: SGD makes one update per
# sample, and by default Keras goes back to Python after every update;
# ``compile(steps_per_execution=100)`` runs 100 updates per call into the
# compiled graph. The weights are the same (tests/test_gd_variants.py
# checks it) and, at batch size 1, the updates per second were 4-9 times
# higher on a 4,000-sample problem (``benchmarks/steps_per_execution.py``).
# Batch GD gains nothing from it: it makes one update per epoch anyway.

# %%
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.recipe
from cookbook import gd_variants
import keras

EPOCHS = 10
QUICK_EPOCHS = 2
LEARNING_RATE = 0.01  # stable for batch size 1 on standardized data; small for batch GD
MINIBATCH_SIZE = 32
STEPS_PER_EXECUTION = 100
LSTSQ_UPDATES = 2000  # full-batch updates for the convergence check (condition number ~400)
QUICK_LSTSQ_UPDATES = 1000
LSTSQ_TOLERANCE = 1e-3  # largest |weight - lstsq weight| we call "converged"
STEP_TOLERANCE = 1e-6  # float32 Keras step against the float64 hand-computed step
MEMORY_SAMPLES = 200_000  # rows of the synthetic set for --memory (the bundled set is too small)


# %% [markdown]
# ## Data
#
# As in recipe 01: features standardized with training statistics, and the
# target standardized too, so one learning rate suits any CSV. Losses are
# reported on the standardized scale (predicting the mean scores 1.0).

# %%
def prepare_data(args):
    """Bundled Diabetes data (or ``--csv``): split, standardized, float32 targets."""
    X, y = cookbook.recipe.load_data(args)
    split = cookbook.recipe.split(args, X, y)
    y_train = np.asarray(split.y_train, np.float64)
    mean, std = y_train.mean(), y_train.std() or 1.0
    y_train = ((y_train - mean) / std).astype("float32")
    y_test = ((np.asarray(split.y_test, np.float64) - mean) / std).astype("float32")
    return split.X_train, y_train, split.X_test, y_test


# %% [markdown]
# ## Model
#
# Linear regression, ``Dense(1)`` with ``loss="mean_squared_error"`` and
# plain ``keras.optimizers.SGD`` (``gd_variants.build_linear_model``). The
# loss is convex: it has one minimum, the least-squares solution, which
# ``numpy.linalg.lstsq`` computes directly. That is what makes "batch GD
# finds the global minimum" true *here*. For a non-convex loss (any network
# with a hidden layer) batch GD follows the gradient into whichever minimum
# or saddle region is downhill from its starting point; no batch size
# guarantees the global minimum.

# %%
def describe_model(num_features):
    """What every variant trains: the same model, starting weights and optimizer."""
    return (f"Dense(1) on {num_features} features, MSE loss, "
            f"keras.optimizers.SGD(learning_rate={LEARNING_RATE}), "
            f"steps_per_execution={STEPS_PER_EXECUTION}")


# %% [markdown]
# ## Train
#
# Each variant starts from the same weights (same seed). An untimed warm-up
# epoch compiles the graph first; the clock then runs only while ``fit``
# trains, not while we compute the full-data losses after each epoch.

# %%
def train(X_train, y_train, X_test, y_test, epochs, seed):
    """Fit the three variants; return ``{name: VariantRun}``."""
    runs = {}
    for name, batch_size in gd_variants.variant_batch_sizes(len(X_train), MINIBATCH_SIZE).items():
        runs[name] = gd_variants.train_variant(
            X_train, y_train, batch_size, epochs=epochs, learning_rate=LEARNING_RATE, seed=seed,
            X_test=X_test, y_test=y_test, name=name, steps_per_execution=STEPS_PER_EXECUTION)
    return runs


# %% [markdown]
# ## Compare
#
# Per variant: updates per epoch read from ``optimizer.iterations``, time
# per epoch, per update and per sample, final losses, and the loss each had
# reached when the fastest run finished (the same wall-clock budget for all).
# Then the note's claims, each with its measured figure.
#
# Reading it: per epoch SGD wins, because it makes N updates per epoch and
# batch GD one. Per update batch GD should be slowest and per sample fastest
# (one big matrix product instead of N small ones). On Diabetes' 332 rows
# the arithmetic is tiny, though, and a Keras epoch has a fixed cost (a new
# data iterator, callbacks, logs) of tens of milliseconds: both timing rows
# of the claim table measure mostly that overhead, and either can come out
# ``False`` from one run to the next (we have seen both). The update counts,
# the analytic step and the least-squares check are exact and always hold. ``LEARNING_RATE`` is small for batch GD: its gradient
# has no sampling noise, so it can take steps up to ``2 / lambda_max`` of the
# Hessian; the convergence check uses the best constant step
# ``2 / (lambda_min + lambda_max)`` and shows it reaching ``lstsq``. SGD
# stalls a little above the minimum: with a constant learning rate its
# single-sample gradients keep it bouncing around the minimum.

# %%
def variant_table(runs):
    """One row per variant: updates, timings and losses."""
    budget = min(run.elapsed[-1] for run in runs.values())
    rows = []
    for run in runs.values():
        per_epoch = run.seconds_per_epoch
        rows.append({
            "variant": run.name,
            "batch_size": run.batch_size,
            "updates/epoch": run.updates_per_epoch,
            "ceil(N/batch)": gd_variants.updates_per_epoch(run.n_samples, run.batch_size),
            "s/epoch": per_epoch,
            "ms/update": 1e3 * per_epoch / run.updates_per_epoch,
            "us/sample": 1e6 * per_epoch / run.n_samples,
            "train loss": run.train_loss[-1],
            "test loss": run.test_loss[-1],
            "train loss @ budget": gd_variants.loss_at_time(run, budget),
        })
    return pd.DataFrame(rows), budget


def check_claims(table, X_train, y_train, lstsq_updates, seed):
    """The note's claims about the variants, each with the figure that decides it."""
    by_name = table.set_index("variant")
    batch = by_name.loc["batch GD"]
    others = by_name.drop(index="batch GD")

    before, after = gd_variants.fit_one_full_batch_step(X_train, y_train, learning_rate=LEARNING_RATE,
                                                        seed=seed)
    expected = gd_variants.full_batch_step(X_train, y_train, *before, LEARNING_RATE)
    step_error = max(np.abs(after[0] - expected[0]).max(), abs(after[1] - expected[1]))

    lstsq_kernel, lstsq_bias = gd_variants.least_squares(X_train, y_train)
    kernel, bias, _ = gd_variants.batch_gd_to_least_squares(X_train, y_train, updates=lstsq_updates,
                                                            seed=seed)
    lstsq_error = max(np.abs(kernel - lstsq_kernel).max(), abs(bias - lstsq_bias))
    eig = gd_variants.hessian_eigenvalues(X_train)

    rows = [
        ("batch GD makes one update per epoch",
         f"{int(batch['updates/epoch'])} update(s)/epoch", bool(batch["updates/epoch"] == 1)),
        ("updates per epoch = ceil(N / batch_size)",
         ", ".join(f"{n}: {int(r['updates/epoch'])}" for n, r in by_name.iterrows()),
         bool((by_name["updates/epoch"] == by_name["ceil(N/batch)"]).all())),
        ("batch GD's epoch is the slowest per update (timing: overhead-dominated here)",
         f"{batch['ms/update']:.3g} ms vs at most {others['ms/update'].max():.3g} ms",
         bool(batch["ms/update"] > others["ms/update"].max())),
        ("batch GD's epoch is the fastest per sample (timing: overhead-dominated here)",
         f"{batch['us/sample']:.3g} us vs at least {others['us/sample'].min():.3g} us",
         bool(batch["us/sample"] < others["us/sample"].min())),
        ("one full-batch fit step = w - lr * 2/N * X^T (Xw + b - y)",
         f"max |difference| {step_error:.2g}", bool(step_error <= STEP_TOLERANCE)),
        ("batch GD reaches the lstsq solution (convex loss only)",
         f"max |w - w_lstsq| {lstsq_error:.2g} after {lstsq_updates} updates "
         f"(lr {gd_variants.optimal_learning_rate(X_train):.3g}, condition number {eig[-1] / eig[0]:.0f})",
         bool(lstsq_error <= LSTSQ_TOLERANCE)),
    ]
    return pd.DataFrame(rows, columns=["claim", "measured", "holds"])


def memory_table(num_features, batch_sizes):
    """Peak memory ``fit`` adds at each batch size, each in a fresh process (slow: ~10 s each)."""
    rows = []
    for name, batch_size in batch_sizes.items():
        added, peak = gd_variants.peak_fit_memory(batch_size, MEMORY_SAMPLES, num_features)
        rows.append({"variant": name, "batch_size": batch_size, "samples": MEMORY_SAMPLES,
                     "MB added by fit": added, "peak MB": peak})
    return pd.DataFrame(rows)


def memory_claim(memory):
    """The memory claim as a row of the claims table: batch GD's step needs the most memory."""
    added = memory.set_index("variant")["MB added by fit"]
    measured = ", ".join(f"{name}: {mb:.1f} MB" for name, mb in added.items())
    return pd.DataFrame([("peak memory of fit grows with batch_size",
                          f"{measured} ({MEMORY_SAMPLES:,} rows)",
                          bool(added["batch GD"] > added.drop("batch GD").max()))],
                        columns=["claim", "measured", "holds"])


def plot_loss_curves(runs, budget, minimum):
    """Training loss against epochs and against wall-clock seconds (log scale)."""
    fig = Figure(figsize=(11, 4))
    by_epoch, by_time = fig.subplots(1, 2)
    for run in runs.values():
        label = f"{run.name} (batch_size={run.batch_size})"
        by_epoch.plot(np.arange(run.epochs + 1), run.train_loss, marker=".", label=label)
        by_time.plot(run.trace_seconds[1:], run.trace_loss[1:], marker=".", label=label)
    for ax in (by_epoch, by_time):
        ax.axhline(minimum, color="grey", linestyle="--", label="least-squares minimum")
        ax.set_ylabel("training MSE (standardized target)")
    by_time.axvline(budget, color="black", linestyle=":", label=f"budget {budget:.2g} s")
    by_epoch.set(xlabel="epoch", title="Loss per epoch")
    by_time.set(xlabel="training seconds (log scale)", xscale="log", title="Loss per second")
    by_epoch.legend(fontsize="small")
    by_time.legend(fontsize="small")
    return fig


# %%
def main(argv=None):
    """Train the three variants, check the claims, write the tables and the loss curves."""
    parser = cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS,
                                         quick_epochs=QUICK_EPOCHS, dataset="diabetes")
    parser.add_argument("--memory", action="store_true",
                        help=f"also measure peak memory per batch size on {MEMORY_SAMPLES:,} synthetic "
                             "rows, one fresh process each (about 10 s per variant)")
    args = cookbook.recipe.parse_args(parser, argv)
    keras.utils.set_random_seed(args.seed)

    X_train, y_train, X_test, y_test = prepare_data(args)
    print(describe_model(X_train.shape[1]))
    runs = train(X_train, y_train, X_test, y_test, args.epochs, args.seed)
    table, budget = variant_table(runs)
    lstsq_updates = QUICK_LSTSQ_UPDATES if args.quick else LSTSQ_UPDATES
    claims = check_claims(table, X_train, y_train, lstsq_updates, args.seed)
    minimum = gd_variants.mse(X_train, y_train, *gd_variants.least_squares(X_train, y_train))

    cookbook.recipe.print_table(table, f"{args.recipe}: {len(X_train)} training samples, "
                                       f"{args.epochs} epochs, budget {budget:.3g} s")
    if args.memory:
        memory = memory_table(X_train.shape[1],
                              gd_variants.variant_batch_sizes(MEMORY_SAMPLES, MINIBATCH_SIZE))
        cookbook.recipe.print_table(memory, "Peak memory of fit per batch size (fresh process each)")
        cookbook.recipe.save_table(memory, args, "memory")
        claims = pd.concat([claims, memory_claim(memory)], ignore_index=True)
    cookbook.recipe.print_table(claims, "The note's claims, measured")
    print(f"\nleast-squares minimum of the training MSE: {minimum:.5g}. 'Batch GD finds the global "
          "minimum' holds because this loss is convex; for a non-convex loss it does not.")
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_table(claims, args, "claims")
    cookbook.recipe.save_figure(plot_loss_curves(runs, budget, minimum), args, "loss_curves")
    return table


if __name__ == "__main__":
    main()
