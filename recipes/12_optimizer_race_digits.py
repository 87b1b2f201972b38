"""Optimizer race on Digits: one small MLP, six runs, the same start and the same batches.

The classic comparison, on the bundled 8x8 Digits: one MLP trained with Keras's
SGD, SGD with momentum, Adagrad, RMSprop and Adam at the classic learning rates,
plus the run that makes the momentum comparison fair, plain SGD at
``lr / (1 - momentum)``. Each optimizer is one entry of a dict and one
``compile``/``fit``/``evaluate`` in a loop; we read the training curves, test
cross-entropy next to test accuracy, and the epochs each needs to reach a target.

Run it: ``python recipes/12_optimizer_race_digits.py`` (``--quick`` for a
few-second look, ``--csv my.csv --target label`` for your own classes). What
this lesson measures lives in ``cookbook/lessons/optimizer_race_digits.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target``; see ``--help``); in a
# notebook, edit them here. The cookbook is imported before Keras so that
# TensorFlow's start-up log lines stay out of the output.

# %%
from cookbook import ReshuffledArrays, claims, loading, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import optimizer_race_digits as evidence
from cookbook.settings import from_command_line

import keras

settings = from_command_line(
    __doc__,
    "12_optimizer_race_digits",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=15,
    quick_epochs=3,
    data="digits",
    table=False,
)
BATCH_SIZE = 64  # every optimizer sees the same mini-batches of 64 rows
HIDDEN_UNITS = 32
TARGET_LOSS = 0.3  # "epochs to reach": the first epoch whose train loss is below this
LEARNING_RATE = 0.01  # the classic comparison's rate for SGD, Momentum and Adagrad
ADAPTIVE_LEARNING_RATE = 0.001  # Keras's default for RMSprop and Adam, 10x smaller
MOMENTUM = 0.9
EFFECTIVE_RATE = LEARNING_RATE / (1 - MOMENTUM)  # momentum's step size once it has built up: 0.1

# %% [markdown]
# ## Data
#
# Digits: 1,797 8x8 images of handwritten digits, 10 classes. A stratified
# train/test split keeps each class's share equal in both parts; the
# features are standardized with the training rows' statistics. Labels
# stay integers, for ``sparse_categorical_crossentropy``.

# %%
X, y = loading.load_data(settings)
labels, classes = loading.class_labels(y)
split = loading.split(settings, X, labels, stratify=True)
X_train, y_train, X_test, y_test = split.X_train, split.y_train, split.X_test, split.y_test
print(f"{len(X_train)} training rows, {len(X_test)} test rows, {X_train.shape[1]} features, {len(classes)} classes")

# %% [markdown]
# ## Model
#
# One hidden ReLU layer and a softmax output. Every optimizer must start
# from the **same weights**, so we build the model once, keep its initial
# weights, and load them into each copy before it trains. Epoch 0 of the
# race is these weights' loss on the training rows, before any step.


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
start = build_model()
start.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
initial_weights = start.get_weights()
before = start.evaluate(X_train, y_train, verbose=0, return_dict=True)
start.summary()

# %% [markdown]
# ## The optimizers
#
# One dict of named optimizers, Keras's own, every setting spelled out. The
# first five are the classic race: 0.01 for SGD, Momentum and Adagrad,
# Keras's default 0.001 for RMSprop and Adam. The sixth is the control.
# Momentum 0.9 adds up its recent gradients: while they agree, its step
# grows to ``lr / (1 - 0.9)``, ten times SGD's step at the same ``lr``. So
# "Momentum beats SGD at lr 0.01" mixes two changes, momentum and a 10x
# larger step. Plain SGD at ``lr = 0.1`` has the larger step without the
# momentum: whatever Momentum gains beyond it is momentum's own.

# %%
SGD, MOMENTUM_SGD, SGD_EFFECTIVE = "SGD", "Momentum", f"SGD, lr {EFFECTIVE_RATE:g}"
optimizers = {
    SGD: keras.optimizers.SGD(learning_rate=LEARNING_RATE),
    MOMENTUM_SGD: keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=MOMENTUM),
    "Adagrad": keras.optimizers.Adagrad(learning_rate=LEARNING_RATE),  # accumulator starts at 0.1
    "RMSprop": keras.optimizers.RMSprop(learning_rate=ADAPTIVE_LEARNING_RATE, rho=0.9),
    "Adam": keras.optimizers.Adam(learning_rate=ADAPTIVE_LEARNING_RATE, beta_1=0.9, beta_2=0.999),
    SGD_EFFECTIVE: keras.optimizers.SGD(learning_rate=EFFECTIVE_RATE),
}

# %% [markdown]
# Momentum's larger step, seen in Keras: feed one weight a constant
# gradient of 1. Plain SGD would move it by ``lr`` every step; SGD with
# momentum 0.9 starts at ``lr`` and builds up toward $\text{lr} / (1 - 0.9)$.

# %%
w = keras.Variable(0.0)
probe = keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum=MOMENTUM)
steps = []
for _ in range(50):
    previous = keras.ops.convert_to_numpy(w)
    probe.apply_gradients([(keras.ops.ones(()), w)])
    steps.append(float(previous - keras.ops.convert_to_numpy(w)))
print("step / lr at steps 1, 10, 50:", [round(steps[t - 1] / LEARNING_RATE, 2) for t in (1, 10, 50)])

# %% [markdown]
# ## Train
#
# One loop over the dict: a fresh model, the shared initial weights, the
# optimizer, ``fit`` on mini-batches of 64, then ``evaluate`` on the test
# rows, which no run has seen (test cross-entropy and accuracy). The
# batches come from ``ReshuffledArrays``, lesson 07's fix: a new order
# every epoch, drawn from its own seed, so every run sees the same
# sequence of batches and the race stays fair (with the TensorFlow backend
# a seeded ``fit(shuffle=True)`` would repeat one order every epoch).

# %%
histories, tests = {}, {}
for name, optimizer in optimizers.items():
    model = build_model()
    model.set_weights(initial_weights)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    batches = ReshuffledArrays(X_train, y_train, batch_size=BATCH_SIZE, seed=settings.seed)  # same seed, same batches
    histories[name] = model.fit(batches, epochs=settings.epochs, shuffle=False, verbose=0).history
    tests[name] = model.evaluate(X_test, y_test, verbose=0, return_dict=True)
    print(f"{name:>12}: train loss {histories[name]['loss'][-1]:.4f}, test loss {tests[name]['loss']:.4f}")

# %% [markdown]
# ## Compare
#
# The table reads each run's last epoch (Keras's train loss is the mean over
# that epoch's batches, while the weights still move) and its test scores,
# measured once after training. ``<NA>`` in the last column: the run never
# got its train loss under the target.

# %%
race = evidence.race_table(optimizers, histories, tests, TARGET_LOSS)
show(race.drop(columns=["learning rate", "momentum"]), f"After {settings.epochs} epochs on {settings.data_name}")
outputs.save_table(race, settings)
curves = evidence.curves_table(before, histories)
outputs.save_table(curves, settings, "curves")

# %% [markdown]
# The update rules behind the curves, for one weight $w$ with mini-batch
# gradient $g$, in Keras's convention (``keras/src/optimizers/``): lr is the
# optimizer's ``learning_rate``, $\epsilon$ its ``epsilon`` ($\epsilon = 10^{-7}$),
# $t$ the step number, and the 0.9s and 0.999 are the ``momentum``, ``rho``,
# ``beta_1`` and ``beta_2`` set above:
#
# $$
# \begin{aligned}
# \text{SGD:}\quad w &\leftarrow w - \text{lr}\, g
# \qquad \text{("SGD, lr 0.1": the same rule, lr = 0.1)} \\
# \text{Momentum:}\quad u &\leftarrow 0.9\, u - \text{lr}\, g \\
# w &\leftarrow w + u \\
# \text{Adagrad:}\quad G &\leftarrow G + g^2 \qquad (G_0 = 0.1) \\
# w &\leftarrow w - \text{lr}\, \frac{g}{\sqrt{G + \epsilon}} \\
# \text{RMSprop:}\quad v &\leftarrow 0.9\, v + 0.1\, g^2 \qquad (v_0 = 0) \\
# w &\leftarrow w - \text{lr}\, \frac{g}{\sqrt{v + \epsilon}} \\
# \text{Adam:}\quad m &\leftarrow 0.9\, m + 0.1\, g \\
# v &\leftarrow 0.999\, v + 0.001\, g^2 \\
# w &\leftarrow w - \text{lr}\, \frac{\sqrt{1 - 0.999^t}}{1 - 0.9^t} \cdot \frac{m}{\sqrt{v} + \epsilon}
# \end{aligned}
# $$
#
# Where textbooks differ: Momentum is often written $v \leftarrow 0.9\, v + g$,
# $w \leftarrow w - \text{lr}\, v$ (the same path at a constant ``lr``); Adagrad's $G$
# starts at 0, and Adagrad's and RMSprop's $\epsilon$ sits outside the root;
# Adam corrects $m$ and $v$ separately and adds $\epsilon$ to
# $\sqrt{\hat v}$, where Keras folds both corrections into the step size
# and adds $\epsilon$ to $\sqrt{v}$. In
# SGD's and Momentum's rules the step scales with the gradient; in
# RMSprop's and Adam's it is about ``lr`` per weight whatever the
# gradient's size, so their ``lr`` is not the same kind of number.
#
# In the figure, left: how fast each line falls and where it ends; watch
# Momentum (solid orange) and plain SGD at 0.1 (dashed). Right: each run's
# test cross-entropy as a bar, its test accuracy written beside it.

# %%
figure = evidence.plot_race(curves, race, TARGET_LOSS, settings.data_name, dashed=SGD_EFFECTIVE)
outputs.save_figure(figure, settings, "loss_curves")

# %% [markdown]
# ### Lesson 08 said momentum 0.9 was slower
#
# Lesson 08 walked momentum 0.9 down a noise-free quadratic bowl and found
# it needed more steps than plain SGD: it rang, swinging past the minimum
# and back. Here momentum 0.9 is far ahead of SGD at the same rate. The two
# lessons disagree on the surface, and both are right. On the bowl the
# gradient is exact and SGD's rate was tuned to the largest step the bowl
# allows, so momentum's ten-fold step could only overshoot. Here the
# gradients come from noisy mini-batches and SGD's 0.01 is a fixed rate far
# below what Digits tolerates. Momentum's step is ``lr`` times a decaying
# sum of recent gradients, about ten of them; while the gradient changes
# little from one step to the next, that sum is about ten times the current
# gradient, which is exactly plain SGD's step at ``lr / (1 - momentum)``.
# The control run checks it: if plain SGD at 0.1 keeps up with Momentum,
# the larger step did the work, not momentum itself.

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``12_optimizer_race_digits_claims.json``.

# %%
claims.remember(
    evidence.claims(
        race,
        sgd=SGD,
        momentum=MOMENTUM_SGD,
        sgd_at_effective_rate=SGD_EFFECTIVE,
        adaptive=["RMSprop", "Adam"],
        target=TARGET_LOSS,
        test_rows=len(y_test),
    ),
    settings,
)
