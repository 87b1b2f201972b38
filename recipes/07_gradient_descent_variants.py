"""Batch, stochastic and mini-batch gradient descent: one optimizer, three batch sizes.

``keras.optimizers.SGD`` is only the update rule; ``batch_size`` in
``model.fit`` decides how many rows feed each update: ``len(X)`` is batch
gradient descent, ``1`` stochastic and ``32`` mini-batch gradient descent.
The lesson counts the updates per epoch, tunes a learning rate per batch
size on a validation split (and asks whether that split can tell the rates
apart), follows the loss update by update near the least-squares minimum
to test "mini-batch is more stable", and shows that a seeded
``fit(shuffle=True)`` on TensorFlow repeats its order every epoch, with the
fix every run here trains on.

Run it: ``python recipes/07_gradient_descent_variants.py`` (``--quick`` for a
few-second look). What it measures lives in
``cookbook/lessons/gradient_descent_variants.py``; time and memory per
batch size in ``benchmarks/gradient_descent_variants.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``); in a notebook, edit them here. The cookbook is
# imported before Keras so that TensorFlow's start-up log lines stay out of
# the output. This lesson runs on any Keras backend.

# %%
from cookbook import ReshuffledArrays, claims, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import gradient_descent_variants as evidence
from cookbook.settings import from_command_line

import keras
import numpy as np

settings = from_command_line(
    __doc__, "07_gradient_descent_variants", quick=False, seed=0, out="cookbook-out", epochs=8, quick_epochs=3
)
N_TRAIN = 64 if settings.quick else 128  # training rows
N_VAL = 1000  # held-out rows that choose the learning rate
N_FEATURES = 5
LEARNING_RATES = (0.003, 0.03, 0.3) if settings.quick else (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
BATCH_SIZES = {"batch GD": N_TRAIN, "stochastic GD": 1, "mini-batch GD": 32}
SEEDS = range(settings.seed, settings.seed + (1 if settings.quick else 2))  # repeats of the stability runs
STABILITY_UPDATES = (1 if settings.quick else 2) * N_TRAIN  # updates of each run from the minimum, for every batch size
SGD, MINI = "stochastic GD", "mini-batch GD"

# %% [markdown]
# ## Data
#
# A linear regression made up for the lesson: five standardized features
# with a correlation of 0.2 between every pair and ``y = X w + 0.3 +
# noise``. For a linear model the MSE is a bowl with one bottom, and
# ``numpy.linalg.lstsq`` computes that bottom exactly, so "how close did it
# get" has an answer. The Hessian's largest eigenvalue sets the largest
# learning rate batch GD survives, ``2 / lambda_max``.

# %%
X_train, y_train = evidence.make_linear_data(N_TRAIN, N_FEATURES, seed=settings.seed)
X_val, y_val = evidence.make_linear_data(N_VAL, N_FEATURES, seed=settings.seed + 1)
at_minimum = evidence.least_squares(X_train, y_train)  # [kernel, bias] of Dense(1) at the bottom of the bowl
minimum = evidence.mse(X_train, y_train, *at_minimum)  # in float64

# %% [markdown]
# ## Model
#
# ``Dense(1)`` with ``loss="mean_squared_error"`` and plain
# ``keras.optimizers.SGD``. The update rule is the same for the three
# variants (Keras's ``SGD`` with ``momentum=0``), where lr is
# ``learning_rate`` and $B$ the batch:
#
# $$
# \begin{aligned}
# g &= \nabla_w \operatorname{MSE}_B(w)
# \qquad \text{(the gradient of the mean squared error over the batch } B\text{)} \\
# w &\leftarrow w - \text{lr}\, g
# \end{aligned}
# $$
#
# What changes is the batch ``fit`` cuts from the data (the lesson hands
# the same ``batch_size`` to ``ReshuffledArrays``, below):
#
# ```python
# model.fit(X, y, batch_size=len(X))  # batch GD: every row, the exact gradient, 1 update per epoch
# model.fit(X, y, batch_size=1)       # stochastic GD: one row, a noisy gradient, N updates per epoch
# model.fit(X, y, batch_size=32)      # mini-batch GD: 32 rows, ceil(N / 32) updates per epoch
# ```
#
# One compiled model per batch size serves every run: plain SGD keeps no
# state but its step counter, so putting back the weights, the rate and
# ``optimizer.iterations`` starts a fresh run without compiling again.


# %%
def build_model():
    model = keras.Sequential([keras.Input((N_FEATURES,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.01), loss="mean_squared_error")
    return model


keras.utils.set_random_seed(settings.seed)
models = {variant: build_model() for variant in BATCH_SIZES}
start = models["batch GD"].get_weights()
models["batch GD"].summary()
models["batch GD"].set_weights(at_minimum)  # the exact answer, scored like every run below
val_at_minimum = models["batch GD"].evaluate(X_val, y_val, verbose=0)
limit = 2 / evidence.hessian_eigenvalues(X_train)[-1]
print(
    f"least squares: training MSE {minimum:.4f}, validation {val_at_minimum:.4f}; batch GD diverges above lr {limit:.3g}"
)

# %% [markdown]
# ## Train
#
# ``train`` runs one variant at one rate from given weights.
# ``evidence.UpdateRecorder`` is a callback that computes the whole
# training set's MSE after every update (the loss the update was meant to
# lower, not the batch's own) and stops a run whose loss has grown
# 1000-fold: diverged. Every run trains on ``ReshuffledArrays``, a new
# order every epoch: with the TensorFlow backend a seeded
# ``fit(shuffle=True)`` would repeat one order, so the stochastic and
# mini-batch zig-zag would repeat one pattern every epoch ("The shuffle
# order, and a fix" below measures it).


# %%
def train(variant, learning_rate, epochs, weights, seed):
    model = models[variant]
    model.set_weights(weights)
    model.optimizer.learning_rate.assign(learning_rate)
    model.optimizer.iterations.assign(0)
    keras.utils.set_random_seed(seed)
    recorder = evidence.UpdateRecorder(X_train, y_train)
    batches = ReshuffledArrays(X_train, y_train, batch_size=BATCH_SIZES[variant], seed=seed)
    model.fit(batches, epochs=epochs, shuffle=False, callbacks=[recorder], verbose=0)
    return recorder


# %% [markdown]
# Every variant at every rate of one grid, the same epochs from the same
# start. After each run, ``predict`` scores it on the validation rows;
# the squared error of every row is kept, because the next cell needs
# more than the mean to compare two rates.

# %%
runs, squared_errors = {variant: {} for variant in BATCH_SIZES}, {variant: {} for variant in BATCH_SIZES}
for variant in BATCH_SIZES:
    for learning_rate in LEARNING_RATES:
        runs[variant][learning_rate] = train(variant, learning_rate, settings.epochs, start, settings.seed)
        squared = keras.losses.MeanSquaredError(reduction=None)(
            y_val[:, None], models[variant].predict(X_val, verbose=0)
        )
        squared_errors[variant][learning_rate] = None if runs[variant][learning_rate].diverged else np.asarray(squared)

# %% [markdown]
# ## Compare
#
# **Choosing the rate.** A larger batch averages away more of the
# gradient's noise, so it can take larger steps: the best rate should grow
# with the batch size. But "best" is read off a validation MSE that is
# itself noisy. Both runs are scored on the same rows, so the noise of
# their *difference* is the spread of the row-by-row differences over
# ``sqrt(N_VAL)`` (``evidence.paired_difference``). A rate within two such
# standard errors of the lowest is one the validation rows cannot tell
# from it; among those the lesson takes the largest.

# %%
rates = evidence.rate_table(squared_errors, BATCH_SIZES)
outputs.save_table(
    show(rates, f"Every rate, {settings.epochs} epochs, validation on {N_VAL} rows"), settings, "learning_rates"
)
chosen = rates[rates["chosen"]].set_index("variant")["learning_rate"].to_dict()
outputs.save_figure(evidence.plot_learning_rates(rates, val_at_minimum), settings, "learning_rates")

# %% [markdown]
# **Updates and progress.** Each variant at its chosen rate:
# ``optimizer.iterations`` counts the updates of each epoch, and the
# recorder says how far above the least-squares minimum each one ended.

# %%
best = {variant: runs[variant][chosen[variant]] for variant in BATCH_SIZES}
progress = evidence.progress_table(best, BATCH_SIZES, chosen, minimum)
outputs.save_table(show(progress, "Each variant at its chosen rate"), settings, "progress")

# %% [markdown]
# **Time and memory** are measured side by side by
# ``benchmarks/gradient_descent_variants.py`` (200,000 rows; ``--memory``
# for peak memory). One run on the project machine (2 cores, TensorFlow
# 2.21, heavily loaded): a batch GD epoch took 0.079 s, a mini-batch epoch
# 13x that and a stochastic epoch about 2,400x, because every update pays a
# fixed cost that dwarfs one row's arithmetic (a ``batch_size=1`` update
# cost 2,400x one row's share of a full-batch update); ``fit`` added 36 MB
# at the full batch against 26 MB (0.72x) at 1 or 32 rows.
# So "batch GD has slow epochs" holds per update, not per epoch; "much
# memory" holds, by a margin that grows with the rows.

# %% [markdown]
# ## The shuffle order, and a fix
#
# Which rows does each epoch visit? A layer that notes the row it sees
# (``evidence.RowOrderRecorder``, eager so it sees values) records
# ``fit(batch_size=1, shuffle=True)`` on 8 rows whose feature is the row
# number: seeded twice, then unseeded.


# %%
def visit_orders(seed, fix=False):
    evidence.forget_global_seed() if seed is None else keras.utils.set_random_seed(seed)
    recorder = evidence.RowOrderRecorder()  # notes the first feature of each batch it sees
    model = keras.Sequential([keras.Input((1,)), recorder, keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mean_squared_error", run_eagerly=True)
    X, y = np.arange(8, dtype="float32")[:, None], np.zeros(8, "float32")
    if fix:
        model.fit(ReshuffledArrays(X, y, batch_size=1, seed=seed), epochs=3, shuffle=False, verbose=0)
    else:
        model.fit(X, y, batch_size=1, epochs=3, shuffle=True, verbose=0)
    return np.reshape(recorder.seen, (3, 8)).tolist()


backend = keras.backend.backend()
orders = {name: visit_orders(seed) for name, seed in (("seeded", 0), ("seeded again", 0), ("unseeded", None))}
show(evidence.orders_table(orders), f"Rows per epoch on {backend}")

# %% [markdown]
# With TensorFlow, Keras shuffles with ``tf.random.shuffle`` inside its
# ``tf.data`` pipeline, and every epoch's pipeline restarts that op from
# the same global seed: one order, every epoch (JAX draws a new NumPy
# permutation each epoch). The fix, ``ReshuffledArrays``, is a
# ``keras.utils.PyDataset`` that draws a new permutation from its own
# ``numpy.random.default_rng(seed)`` in ``on_epoch_end``: a new order every
# epoch, the same sequence in every run, on any backend:
#
# ```python
# model.fit(ReshuffledArrays(X, y, batch_size=32, seed=0), epochs=10, shuffle=False)
# ```
#
# (``shuffle=False``: ``fit`` would shuffle the batches' order once more.)
# Every training run of this lesson uses it (``train`` above). The class
# is short and imports only keras and numpy: copy `cookbook/shuffling.py`
# into your project.

# %%
orders["fix"], orders["fix again"] = (visit_orders(settings.seed, fix=True) for _ in range(2))
show(evidence.orders_table({name: orders[name] for name in ("fix", "fix again")}), f"ReshuffledArrays on {backend}")
keras.utils.set_random_seed(settings.seed)  # the unseeded measurement cleared TensorFlow's seed

# %% [markdown]
# **Is mini-batch more stable?** The note says so; the end of the runs
# above cannot tell, because the variants make different numbers of updates
# at different rates. So both stochastic variants start at the
# least-squares minimum, where the full gradient is 0 (batch GD would not
# move at all), and make the same number of updates; whatever they do
# there is the noise of their batches. Two measures over the last half of
# the updates: how far the training MSE changes from one update to the next
# (the zig-zag), and how far above the minimum it sits. Both at one rate
# (stochastic GD's) and at each one's own, for several seeds; on
# ``ReshuffledArrays``, the batches are new random draws every epoch, as
# the note's claim assumes, not one fixed pattern cycling.


# %%
def from_minimum(variant, learning_rate, seed):  # the same number of updates for every batch size
    epochs = STABILITY_UPDATES // evidence.updates_per_epoch(N_TRAIN, BATCH_SIZES[variant])
    return train(variant, learning_rate, epochs, at_minimum, seed).train_loss


stable_runs = evidence.repeat_runs(
    from_minimum,
    {"same rate": {SGD: chosen[SGD], MINI: chosen[SGD]}, "own rate": {SGD: chosen[SGD], MINI: chosen[MINI]}},
    SEEDS,
)
stability = evidence.stability_table(stable_runs, minimum)
outputs.save_table(show(stability, "From the minimum: the last half of the updates"), settings, "stability")

# %% [markdown]
# In the figure, left: per epoch, batch GD makes one step (one dot) and
# falls by a constant factor each time; the others make many and stop
# falling at a floor where the noise of their batches balances the pull of
# the gradient; their batches change every epoch, so no pattern repeats
# from one epoch to the next. Right:
# from the minimum at one rate, each update kicks the loss up or down; a
# batch of 32 kicks far less.

# %%
outputs.save_figure(evidence.plot_updates(best, BATCH_SIZES, chosen, stable_runs, minimum), settings, "updates")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``07_gradient_descent_variants_claims.json``.

# %%
claims.remember(
    evidence.claims(
        {v: best[v].epoch_updates for v in BATCH_SIZES},
        BATCH_SIZES,
        N_TRAIN,
        rates,
        N_VAL,
        val_at_minimum,
        stability,
        orders,
        backend,
    ),
    settings,
)
