"""Learning-rate schedules and warmup: what Adam's first steps do to the loss, with and without a warmup.

A schedule from ``keras.optimizers.schedules`` (``ExponentialDecay``,
``CosineDecay``, ``CosineDecay`` with ``warmup_target``) goes where a
learning rate goes, ``keras.optimizers.Adam(learning_rate=schedule)``, and
``fit`` asks it for a rate at every step. Adam's first step moves every
weight by the full rate (lesson 11); a warmup starts the rate at 0 to soften
that. This lesson measures what the warmup buys and what it costs on a
Digits MLP, at a high rate and at Keras's default, and what a decay does.

Run it: ``python recipes/14_learning_rate_warmup.py`` (``--quick`` for a
few-second look, ``--csv my.csv --target label`` for your own classes). What
this lesson measures lives in ``cookbook/lessons/learning_rate_warmup.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target``; see ``--help``); in a
# notebook, edit them here. Two peak learning rates: Keras's default for
# Adam, and one 50x higher, where the first steps matter.

# %%
from cookbook import ReshuffledArrays, claims, loading, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import learning_rate_warmup as evidence
from cookbook.settings import from_command_line, stop

import keras

settings = from_command_line(
    __doc__,
    "14_learning_rate_warmup",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=5,
    quick_epochs=2,
    data="digits",
)
BATCH_SIZE = 64  # one optimizer step per mini-batch of 64 rows
HIDDEN_UNITS = (128, 128)
LOW_LR = 0.001  # Keras's default for Adam
HIGH_LR = 0.05  # 50x higher
WARMUP_STEPS = 20  # about one epoch of Digits in batches of 64; the weights are recorded over as many steps

# %% [markdown]
# ## Data
#
# Digits: 8x8 images of handwritten digits, a stratified train/test split
# standardized with the training rows' statistics. Schedules count
# optimizer steps, so the training rows are cut to whole batches: every
# step sees 64 rows.

# %%
X, y = loading.load_data(settings)
labels, classes = loading.class_labels(y)
split = loading.split(settings, X, labels, stratify=True)
steps_per_epoch = len(split.X_train) // BATCH_SIZE
X_train, y_train = split.X_train[: steps_per_epoch * BATCH_SIZE], split.y_train[: steps_per_epoch * BATCH_SIZE]
total_steps = steps_per_epoch * settings.epochs
if total_steps <= WARMUP_STEPS:
    stop(
        f"{total_steps} steps of {BATCH_SIZE} rows in all is not more than the {WARMUP_STEPS}-step warmup: "
        "raise --epochs (or give more rows)"
    )

# %% [markdown]
# ## Model
#
# Two hidden ReLU layers of 128 units and a softmax over the classes,
# rebuilt from one seed for every run, so every run starts from the same
# weights.


# %%
def build_model():
    return keras.Sequential(
        [
            keras.Input((X_train.shape[1],)),
            *[keras.layers.Dense(units, activation="relu") for units in HIDDEN_UNITS],
            keras.layers.Dense(len(classes), activation="softmax"),
        ]
    )


keras.utils.set_random_seed(settings.seed)
build_model().summary()

# %% [markdown]
# The schedules, one per line, each peaking at ``lr``. A float is a
# constant rate. ``ExponentialDecay`` here halves the rate every epoch
# (smoothly); ``CosineDecay`` falls to 0 by the last step. With
# ``warmup_target``, ``CosineDecay`` first climbs linearly from
# ``initial_learning_rate`` (here 0) to ``warmup_target`` over
# ``warmup_steps``, then decays; with ``alpha=1.0`` its "decay" ends at
# 1.0x its start, which makes it "warmup, then constant": the fair partner
# of the constant rate, equal to it from step ``WARMUP_STEPS + 1`` on. The
# formulas stand next to the figure below.


# %%
def make_schedules(lr):
    W, T = WARMUP_STEPS, total_steps
    warmup = keras.optimizers.schedules.CosineDecay(0.0, T, alpha=1.0, warmup_target=lr, warmup_steps=W)
    exponential = keras.optimizers.schedules.ExponentialDecay(lr, decay_steps=steps_per_epoch, decay_rate=0.5)
    cosine = keras.optimizers.schedules.CosineDecay(lr, decay_steps=T)
    warmup_cosine = keras.optimizers.schedules.CosineDecay(0.0, T - W, warmup_target=lr, warmup_steps=W)
    return {
        "constant": lr,
        "warmup, then constant": warmup,
        "exponential decay": exponential,
        "cosine decay": cosine,
        "warmup + cosine decay": warmup_cosine,
    }


# At the high rate all five (--quick: the three the claims need); at the default rate the warmup pair.
high = ["constant", "warmup, then constant", "cosine decay"] if settings.quick else list(make_schedules(HIGH_LR))
runs = [(HIGH_LR, name) for name in high] + [(LOW_LR, "constant"), (LOW_LR, "warmup, then constant")]
show(evidence.schedules_table(make_schedules(HIGH_LR)), f"The schedules at peak lr {HIGH_LR:g}")

# %% [markdown]
# A schedule is a function of the optimizer's step counter: call it. The
# counter is 0 at the first update, so step 1 of a warmup from 0 uses rate 0.

# %%
warmup = make_schedules(HIGH_LR)["warmup, then constant"]
rates = {i: float(keras.ops.convert_to_numpy(warmup(i))) for i in (0, 1, WARMUP_STEPS // 2, WARMUP_STEPS)}
print("warmup, then constant:", ", ".join(f"counter {i} (step {i + 1}): lr {rate:.4g}" for i, rate in rates.items()))

# %% [markdown]
# ## Train
#
# A callback records every step: the rate the optimizer is about to use
# (``optimizer.learning_rate`` read before the batch is the schedule at
# the current step counter), the cross-entropy of all training rows after
# the step (not ``fit``'s running mean over the epoch), and for the first
# ``WARMUP_STEPS`` steps every trainable weight, to measure how far each
# one moved.


# %%
class StepRecorder(keras.callbacks.Callback):
    def __init__(self, X, y, window):
        super().__init__()
        self.X, self.y, self.window = X, y, window
        self.rates, self.losses, self.snapshots = [], [], []

    def train_loss(self):
        losses = keras.losses.sparse_categorical_crossentropy(self.y, self.model.predict_on_batch(self.X))
        return float(keras.ops.mean(losses))

    def on_train_begin(self, logs=None):
        self.losses.append(self.train_loss())
        self.snapshots.append(evidence.flat_weights(self.model.trainable_weights))

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append(self.train_loss())
        if len(self.snapshots) <= self.window:
            self.snapshots.append(evidence.flat_weights(self.model.trainable_weights))


# %% [markdown]
# One loop: the schedule goes in as Adam's ``learning_rate``, and
# ``set_random_seed`` before each build gives every run the same initial
# weights. The batches come from ``ReshuffledArrays`` with the same seed in
# every run: a new row order every epoch, the same sequence of orders for
# all runs (on TensorFlow a seeded ``fit(shuffle=True)`` repeats one order
# every epoch; lesson 07 measures it). Test accuracy is read once, at the end.

# %%
records, test_accuracy = {}, {}
for lr, name in runs:
    keras.utils.set_random_seed(settings.seed)
    model = build_model()
    optimizer = keras.optimizers.Adam(learning_rate=make_schedules(lr)[name])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    recorder = StepRecorder(X_train, y_train, WARMUP_STEPS)
    model.fit(
        ReshuffledArrays(X_train, y_train, batch_size=BATCH_SIZE, seed=settings.seed),
        epochs=settings.epochs,
        shuffle=False,
        callbacks=[recorder],
        verbose=0,
    )
    records[lr, name] = recorder
    hits = keras.metrics.sparse_categorical_accuracy(split.y_test, model.predict_on_batch(split.X_test))
    test_accuracy[lr, name] = float(keras.ops.mean(hits))
curves = evidence.curves_table({key: (r.rates, r.losses) for key, r in records.items()})
outputs.save_table(curves, settings, "curves")

# %% [markdown]
# ## Compare
#
# The schedules as ``fit`` used them, at the high rate. $i$ is the
# optimizer's step counter ``optimizer.iterations``, 0 at the first update
# (step $t = i + 1$); lr is the peak (``initial_learning_rate``, or
# ``warmup_target`` with a warmup), $\text{lr}_{\text{init}}$ the warmup's
# ``initial_learning_rate``, $W$ is ``warmup_steps``, $D$ is ``decay_steps``,
# $\gamma$ is ``decay_rate`` and $\alpha$ is ``alpha`` (read from Keras's
# ``learning_rate_schedule.py``):
#
# $$
# \begin{aligned}
# \text{constant:}\quad \text{lr}_i &= \text{lr} \\
# \text{ExponentialDecay:}\quad \text{lr}_i &= \text{lr}\, \gamma^{i / D} \qquad \text{(staircase=False)} \\
# \text{CosineDecay:}\quad \text{lr}_i &= \text{lr}
# \left( (1 - \alpha)\, \frac{1 + \cos(\pi \min(i, D) / D)}{2} + \alpha \right) \\
# \text{CosineDecay + warmup:}\quad \text{lr}_i &= \text{lr}_{\text{init}}
# + (\text{lr} - \text{lr}_{\text{init}})\, \frac{i}{W} \qquad \text{while } i < W \\
# \text{lr}_i &= \text{the cosine above from lr, on } \min(i, W + D) - W \qquad (i \ge W)
# \end{aligned}
# $$
#
# With ``initial_learning_rate=0`` the warmup's step 1 uses rate 0 and
# moves no weight (Adam's ``m`` and ``v`` still take in its gradient).

# %%
outputs.save_figure(evidence.plot_schedules(curves, HIGH_LR, WARMUP_STEPS, steps_per_epoch), settings, "schedules")

# %% [markdown]
# Adam's update, with the schedule's rate $\text{lr}_t$ at step $t$ and
# gradient $g$, as ``keras/src/optimizers/adam.py`` writes it ($\beta_1$,
# $\beta_2$ and $\epsilon$ are ``beta_1``, ``beta_2`` and ``epsilon``):
#
# $$
# \begin{aligned}
# m &\leftarrow m + (1 - \beta_1)(g - m) \\
# v &\leftarrow v + (1 - \beta_2)(g^2 - v) \\
# w &\leftarrow w - \text{lr}_t\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot \frac{m}{\sqrt{v} + \epsilon}
# \end{aligned}
# $$
#
# The textbook writes $\text{lr}_t\, \hat m / (\sqrt{\hat v} + \tilde\epsilon)$; Keras adds
# $\epsilon$ to the uncorrected $\sqrt{v}$, which is the textbook's rule
# with $\tilde\epsilon = \epsilon / \sqrt{1 - \beta_2^t}$, 32x larger at step 1. At step 1,
# $m = (1 - \beta_1)\, g$ and $\sqrt{v} = \sqrt{1 - \beta_2}\, |g|$: the step is
# $\text{lr}_1\, g / |g|$, so **every weight with a
# gradient moves by the full rate at once**, however small its gradient. In
# the figure: solid lines are the median weight's move, dotted lines the
# rate used, both in units of the peak rate.

# %%
first_steps = evidence.first_steps_table(
    {name: records[HIGH_LR, name].snapshots for name in ("constant", "warmup, then constant")},
    {name: records[HIGH_LR, name].rates for name in ("constant", "warmup, then constant")},
    HIGH_LR,
)
show(first_steps.head(3), "Adam's first three steps at the constant rate")
outputs.save_table(first_steps, settings, "first_steps")
outputs.save_figure(evidence.plot_first_steps(first_steps, HIGH_LR), settings, "first_steps")

# %% [markdown]
# What those steps do to the loss. At the high rate (left), look at the
# constant run's first steps (the jump above the dash-dotted starting
# loss), at where the warmup run stands after step ``WARMUP_STEPS``, and at
# what it does once its rate reaches the peak. The two warmups share their
# first ``WARMUP_STEPS`` steps, so their curves coincide there. On the
# right, Keras's default rate: is there anything for a warmup to avoid?

# %%
outputs.save_figure(evidence.plot_losses(curves, WARMUP_STEPS, steps_per_epoch), settings, "loss")
summary = show(evidence.summary_table(curves, test_accuracy, WARMUP_STEPS), f"Adam, {total_steps} steps per run")
outputs.save_table(summary, settings)

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``14_learning_rate_warmup_claims.json``.

# %%
claims.remember(
    evidence.claims(
        summary,
        first_steps,
        high_lr=HIGH_LR,
        low_lr=LOW_LR,
        constant="constant",
        warmup="warmup, then constant",
        decays=["exponential decay", "cosine decay", "warmup + cosine decay"],
        decay_pair=("warmup + cosine decay", "cosine decay"),
        test_rows=len(split.y_test),
    ),
    settings,
)
