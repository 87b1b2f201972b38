"""Adagrad vs RMSprop on Digits: a learning rate per weight, from a sum or from a moving average.

Adagrad and RMSprop give every weight its own rate, ``lr`` divided by the
root of that weight's squared gradients: Adagrad *sums* them, so a rate can
only shrink; RMSprop *averages* the recent ones, so a rate follows the recent
gradients. We read these rates from ``optimizer.variables`` with a callback
while an MLP learns Digits for a long run, compare rarely inked border pixels
with busy centre ones, try Keras's default ``initial_accumulator_value=0.1``
next to the paper's 0.0, and put the study note's "Adagrad's rate shrinks
toward 0, RMSprop fixes it" to the test, each optimizer at its best learning
rate on a validation split.

Run it: ``python recipes/10_adagrad_vs_rmsprop.py`` (``--quick`` for a
few-second look: two rates each, 2 epochs, too short for the long-run
claims; ``--csv my.csv --target label`` for your own classes, which needs
features that are 0 in most rows). What this lesson measures lives in
``cookbook/lessons/adagrad_vs_rmsprop.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target``; see ``--help``); in a
# notebook, edit them here. Each learning-rate grid spans 10x around what
# suits its optimizer: Adagrad's sum only grows, so it is usually given a
# larger ``lr`` than RMSprop.

# %%
from cookbook import ReshuffledArrays, claims, display, loading, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.lessons import adagrad_vs_rmsprop as evidence
from cookbook.settings import from_command_line

import keras

settings = from_command_line(
    __doc__,
    "10_adagrad_vs_rmsprop",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=20,
    quick_epochs=2,
    data="digits",
)
BATCH_SIZE = 32
HIDDEN_UNITS = 32
VALIDATION_SPLIT = 0.2  # the last 20% of the training rows choose the learning rate
ADAGRAD_PAPER, ADAGRAD_KERAS, RMSPROP = "Adagrad, sum starts at 0.0", "Adagrad, Keras default start 0.1", "RMSprop"
LEARNING_RATES = {ADAGRAD_PAPER: (0.03, 0.1, 0.3), ADAGRAD_KERAS: (0.1, 0.3, 1.0), RMSPROP: (0.001, 0.003, 0.01)}
if settings.quick:
    LEARNING_RATES = {ADAGRAD_PAPER: (0.1, 0.3), ADAGRAD_KERAS: (0.3, 1.0), RMSPROP: (0.003, 0.01)}
RARE_BELOW = 0.10  # "rare" input: nonzero in under 10% of the training rows (border pixels)
BUSY_FROM = 0.50  # "busy" input: nonzero in at least half of them (centre pixels)

# %% [markdown]
# ## Data
#
# Digits: 8x8 images of handwritten digits, ink 0..16 per pixel. Each pixel
# is scaled to [0, 1] instead of standardized, so a blank pixel feeds
# exactly 0 to the network and the weights leaving it get a gradient of
# exactly 0 (a first-layer weight's gradient is its input times the error
# signal). Border pixels are blank in most images: such *sparse* inputs are
# what Adagrad was designed for. The last 20% of the training rows are
# held out to choose the learning rate: the rows
# ``fit(validation_split=0.2)`` would take (the last ones, before any
# shuffling), split here by hand because the runs train on a dataset object
# that ``validation_split`` cannot cut (see Train). An input's *activity* is
# the share of the rows ``fit`` trains on in which it is nonzero.

# %%
X, y = loading.load_data(settings)
labels, classes = loading.class_labels(y)
split = loading.split(settings, X, labels, stratify=True)
X_train, X_test = evidence.to_unit_range(split)
fit_rows = evidence.fit_rows(len(X_train), VALIDATION_SPLIT)  # floor(N * 0.8): the rows validation_split keeps
X_fit, y_fit, X_val, y_val = X_train[:fit_rows], split.y_train[:fit_rows], X_train[fit_rows:], split.y_train[fit_rows:]
groups = evidence.input_groups(X_fit, RARE_BELOW, BUSY_FROM, settings.data_source)  # stops if one is empty
print(
    f"{len(X_train)} training rows ({VALIDATION_SPLIT:.0%} of them validation), {len(X_test)} test rows; "
    f"{X_train.shape[1]} inputs: {(groups.activity == 0).sum()} never nonzero, {groups.rare.sum()} rare "
    f"(nonzero in < {RARE_BELOW:.0%} of rows), {groups.busy.sum()} busy (>= {BUSY_FROM:.0%})"
)

# %% [markdown]
# ## Model
#
# One hidden ReLU layer and a softmax output. The first layer has one
# weight per (input pixel, hidden unit): those are the weights whose rates
# we read, grouped by the pixel they leave.


# %%
def build_model():
    return keras.Sequential(
        [
            keras.Input((X_train.shape[1],)),
            keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
            keras.layers.Dense(len(classes), activation="softmax"),
        ]
    )


keras.utils.set_random_seed(settings.seed)
build_model().summary()

# %% [markdown]
# ## Optimizers
#
# One dict of named optimizers. ``keras.optimizers.Adagrad()`` starts every
# weight's sum at ``initial_accumulator_value=0.1``; the paper starts it at
# 0. Both are measured, because the start decides how large a rate can be:
# ``lr / sqrt(0.1)`` = 3.16 lr at most, against ``lr / sqrt(1e-7)`` = 3162
# lr from 0. RMSprop's ``rho=0.9`` (Keras's default) averages over about
# ``1 / (1 - rho)`` = 10 steps.

# %%
OPTIMIZERS = {
    ADAGRAD_PAPER: lambda lr: keras.optimizers.Adagrad(learning_rate=lr, initial_accumulator_value=0.0),
    ADAGRAD_KERAS: lambda lr: keras.optimizers.Adagrad(learning_rate=lr),
    RMSPROP: lambda lr: keras.optimizers.RMSprop(learning_rate=lr, rho=0.9),
}
print("keras.optimizers.Adagrad() starts at", keras.optimizers.Adagrad().get_config()["initial_accumulator_value"])

# %% [markdown]
# What the start does to one step: the first Adagrad step on a weight with
# gradient ``g`` is ``lr * g / sqrt(start + g^2 + eps)``. From 0 it is
# ``lr`` whatever the size of ``g`` (a sign step); from 0.1 a small gradient
# moves the weight by about ``3.16 * lr * g`` only, as plain SGD would. Rare
# inputs see few and small gradients, so the start matters most for them.


# %%
def first_step(name, gradient, lr=0.1):
    w = keras.Variable([0.0])
    OPTIMIZERS[name](lr).apply_gradients([(keras.ops.convert_to_tensor([gradient]), w)])
    return -float(keras.ops.convert_to_numpy(w)[0])


for gradient in (0.001, 0.1, 10.0):
    print(
        f"gradient {gradient:g}, lr 0.1: first step {first_step(ADAGRAD_PAPER, gradient):.4g} from start 0.0, "
        f"{first_step(ADAGRAD_KERAS, gradient):.4g} from Keras's 0.1"
    )

# %% [markdown]
# Each optimizer keeps a weight's squared gradients in a variable of its
# own, named after the weight: ``adagrad/sequential_dense_kernel_accumulator``
# (the sum) or ``rmsprop/sequential_dense_kernel_velocity`` (the average). A
# callback reads it from ``optimizer.variables`` at chosen steps (a few per
# decade at first, then each epoch's last; ``optimizer.iterations`` counts
# the steps) and turns it into every first-layer weight's effective rate
# ``lr / sqrt(s + eps)``, with ``keras.ops`` as the optimizer does.

# %%
SLOT = {"Adagrad": "accumulator", "RMSprop": "velocity"}


class RateRecorder(keras.callbacks.Callback):
    def __init__(self, steps):
        super().__init__()
        self.steps, self.rates, self.step = set(steps), {}, 0

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1  # counted here: reading optimizer.iterations every step would wait for the device
        optimizer, step = self.model.optimizer, self.step
        if step in self.steps:
            name = self.model.layers[0].kernel.path.replace("/", "_") + "_" + SLOT[type(optimizer).__name__]
            state = next(v for v in optimizer.variables if v.path.endswith("/" + name))
            rate = optimizer.learning_rate / keras.ops.sqrt(state + optimizer.epsilon)
            self.rates[step] = keras.ops.convert_to_numpy(rate).astype("float64")


# %% [markdown]
# ## Train
#
# One loop over the optimizers and their learning rates. Every run starts
# from the same weights (``set_random_seed`` before each build) and trains
# on ``ReshuffledArrays``, lesson 07's fix: with the TensorFlow backend a
# seeded ``fit(shuffle=True)`` would visit the rows in the same order every
# epoch, while this draws a new order each epoch from its own seed, the
# same sequence of batches in every run. ``fit`` reports ``val_loss`` on
# the held-out rows passed as ``validation_data``. The runs are long on
# purpose (20 epochs by default, about 700 steps): a rate that only
# shrinks needs many steps to show where it goes.

# %%
steps_per_epoch = evidence.steps_per_epoch(len(X_train), VALIDATION_SPLIT, BATCH_SIZE)
steps = evidence.recorded_steps(steps_per_epoch, settings.epochs)


def train(make_optimizer, lr):
    keras.utils.set_random_seed(settings.seed)
    model = build_model()
    model.compile(optimizer=make_optimizer(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    recorder = RateRecorder(steps)
    history = model.fit(
        ReshuffledArrays(X_fit, y_fit, batch_size=BATCH_SIZE, seed=settings.seed),
        epochs=settings.epochs,
        shuffle=False,  # ReshuffledArrays shuffles
        validation_data=(X_val, y_val),
        callbacks=[recorder],
        verbose=0,
    )
    return {"model": model, "history": history.history, "rates": recorder.rates}


runs = {(name, lr): train(make, lr) for name, make in OPTIMIZERS.items() for lr in LEARNING_RATES[name]}
print(
    "An RMSprop run's optimizer variables:",
    [v.path for v in runs[RMSPROP, LEARNING_RATES[RMSPROP][0]]["model"].optimizer.variables],
)

# %% [markdown]
# Each optimizer keeps the learning rate with the lowest validation loss
# after the last epoch (a diverged run is never chosen). The test rows play
# no part in that choice; they are used once, below, on the chosen runs.

# %%
grid = evidence.choose_rates(evidence.grid_table({key: run["history"] for key, run in runs.items()}))
outputs.save_table(display.show(grid, f"Validation loss after {settings.epochs} epochs"), settings, "grid")
chosen = {name: {**runs[name, lr], "learning rate": lr} for name, lr in evidence.chosen_rates(grid).items()}
for run in chosen.values():
    run["test loss"], run["test accuracy"] = run["model"].evaluate(X_test, split.y_test, verbose=0)

# %% [markdown]
# ## Compare
#
# The update rules, for one weight $w$ with gradient $g$, as Keras 3
# writes them (``keras/src/optimizers/adagrad.py``, ``rmsprop.py``), where
# lr is ``learning_rate``, $\rho$ is ``rho``, $\epsilon$ is ``epsilon``, and
# Adagrad's $s$ starts at ``initial_accumulator_value``:
#
# $$
# \begin{aligned}
# \text{Adagrad:}\quad s &\leftarrow s + g^2 \qquad (s_0 = 0.1) \\
# w &\leftarrow w - \text{lr}\, \frac{g}{\sqrt{s + \epsilon}} \qquad (\epsilon = 10^{-7}) \\
# \text{RMSprop:}\quad s &\leftarrow \rho\, s + (1 - \rho)\, g^2 \qquad (s_0 = 0,\ \rho = 0.9) \\
# w &\leftarrow w - \text{lr}\, \frac{g}{\sqrt{s + \epsilon}} \qquad (\epsilon = 10^{-7})
# \end{aligned}
# $$
#
# The textbooks (Duchi, Hazan and Singer 2011; Hinton 2012) start Adagrad's
# sum at 0 and put $\epsilon$ outside the root, $\text{lr}\, g / (\sqrt{s} + \epsilon)$; the
# two agree once $s$ is far above $\epsilon$. In both, $\text{lr} / \sqrt{s + \epsilon}$ is
# the weight's *effective rate*. Adagrad's $s$ is a sum, so its rate can
# only fall; if every gradient kept its size, it would fall like
# $1/\sqrt{\text{step}}$, toward 0 (the grey band on the left). RMSprop's $s$
# forgets within about 10 steps, so its rate is lr over the size of the
# *recent* gradients. A flat line at the top is a weight with no gradient
# yet, at its ceiling $\text{lr} / \sqrt{\text{start} + \epsilon}$; such a rate is never
# applied in full, because $s$ takes in $g^2$ before the division (one
# Adagrad step is at most ``lr``). On the left, compare each Adagrad line
# with the grey band; on the right, whether Adagrad's loss stops falling in
# the second half.

# %%
rates = evidence.rates_table(chosen, groups, steps_per_epoch)
outputs.save_table(rates, settings, "rates")
outputs.save_figure(evidence.plot_rates_over_training(rates, chosen, steps_per_epoch), settings, "rates_over_training")

# %% [markdown]
# Each input's rate at the end, against how often the input is nonzero. A
# weight leaving a rarely inked pixel gets a gradient in few batches, so its
# Adagrad sum grows slowly and its rate stays high, up to the start's
# ceiling; Keras's start of 0.1 sits above most sums here, so it decides
# most rates and the rare and busy inputs end close together. RMSprop's
# rates say how small the *recent* gradients are: a rarely inked input,
# whose recent gradients are mostly 0, sits at its ceiling
# ``lr / sqrt(eps)``, and busy inputs end about ten times lower. So RMSprop
# also gives rare inputs larger steps, judged by about its last ten steps
# (``rho=0.9``) rather than by all of training as Adagrad does.

# %%
outputs.save_figure(evidence.plot_rate_by_activity(chosen, groups), settings, "rate_by_activity")

# %% [markdown]
# The key table: each chosen run's losses (test measured once, after the
# choice), and its busy-input rate at the end relative to epoch 1 and to
# half-way; "train loss, end / half" says how much the loss still fell in
# the second half of the run.

# %%
summary = evidence.summary_table(chosen, rates, steps_per_epoch)
outputs.save_table(
    display.show(summary, f"Each optimizer at its chosen rate, after {settings.epochs} epochs"), settings
)

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``10_adagrad_vs_rmsprop_claims.json``.

# %%
claims.remember(evidence.claims(summary, ADAGRAD_PAPER, ADAGRAD_KERAS, RMSPROP), settings)
