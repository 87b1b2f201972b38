"""L2 in the loss versus decoupled weight decay: under Adam they shrink different weights; under SGD they are one rule.

``kernel_regularizer=keras.regularizers.L2(l2)`` adds ``2 * l2 * w`` to every
gradient, and Adam then divides that term by ``sqrt(v)`` like the rest:
weights with small gradients are shrunk hard, weights with large ones hardly.
``keras.optimizers.AdamW`` takes the decay out of the gradient and removes
the same share ``lr * weight_decay`` of every weight per step. We train one
small MLP on Digits with Adam, Adam + L2 and AdamW, pick each strength on a
validation split, look at the weights leaving never, rarely and often inked
pixels, and check that with SGD ``L2(l2)`` and ``weight_decay = 2 * l2``
coincide. It builds on lesson 10 (busy and rare pixels) and lesson 12 (the MLP).

Run it: ``python recipes/13_decoupled_weight_decay.py`` (``--quick`` for a
few-second look, ``--csv my.csv --target label`` for your own table of
classes). What this lesson measures lives in
``cookbook/lessons/decoupled_weight_decay.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--epochs``, ``--csv``/``--target``; see ``--help``); in a
# notebook, edit them here. The cookbook is imported before Keras so that
# TensorFlow's start-up log lines stay out of the output.
#
# The strengths are chosen for stated reasons: the L2 penalty on a small
# grid, and AdamW's ``weight_decay`` at ``2 * L2`` (what the L2 run would be
# under SGD, shown at the end), at Keras's default, and on a small grid. The
# validation split picks one of each.

# %%
from cookbook import ReshuffledArrays, claims, loading, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import agreement
from cookbook.lessons import decoupled_weight_decay as evidence
from cookbook.settings import from_command_line, stop

import keras
import numpy as np

settings = from_command_line(
    __doc__,
    "13_decoupled_weight_decay",
    quick=False,
    seed=0,
    out="cookbook-out",
    epochs=12,
    quick_epochs=3,
    data="digits",
    table=False,
)
BATCH_SIZE = 64
HIDDEN_UNITS = 32
LEARNING_RATE = 0.003  # Adam and AdamW
VALIDATION_SPLIT = 0.2  # the last 20% of the training rows, held out of fit
L2 = 1e-3  # keras.regularizers.L2(L2) adds L2 * sum(w^2) to the loss: gradient 2 * L2 * w
L2_GRID = (1e-4, L2, 1e-2)
KERAS_DEFAULT = keras.optimizers.AdamW().weight_decay  # 0.004
WEIGHT_DECAYS = {2 * L2: "2 x L2 (SGD's match)", KERAS_DEFAULT: "Keras's default", 0.04: "grid", 0.4: "grid"}
RARE_BELOW, BUSY_FROM = 0.10, 0.50  # pixel inked in < 10% of training images: rare; in >= 50%: busy
SGD_LEARNING_RATE = 0.1
EQUIVALENCE_EPOCHS = 1 if settings.quick else 2
CROSS_ENTROPY = "sparse_categorical_crossentropy"  # as a metric: the data loss without the penalty

# %% [markdown]
# ## Data
#
# Digits: 8x8 images, pixel ink 0..16, scaled to [0, 1] so a blank pixel
# feeds exactly 0 to the network. A first-layer weight's gradient is its
# input times an error signal, so the weights leaving a pixel blank in most
# images get a data gradient in few batches (none for a pixel never inked):
# these are the weights with *small* gradients; the busy centre pixels'
# weights have *large* ones. We group the pixels by how often they are inked.

# %%
X, y = loading.load_data(settings)
labels, classes = loading.class_labels(y)
split = loading.split(settings, X, labels, stratify=True)
X_train, X_test = evidence.to_unit_range(split)
y_train, y_test = split.y_train, split.y_test
n_fit = int(len(X_train) * (1 - VALIDATION_SPLIT))  # the rest of the training rows choose the strengths
X_fit, y_fit, X_val, y_val = X_train[:n_fit], y_train[:n_fit], X_train[n_fit:], y_train[n_fit:]
groups = evidence.input_groups(X_train, RARE_BELOW, BUSY_FROM)
if problem := evidence.empty_groups(groups, RARE_BELOW, BUSY_FROM):
    stop(f"{settings.data_source}: {problem}")
print(
    f"{len(X_fit)} training rows, {len(X_val)} validation rows, {len(X_test)} test rows; pixels: "
    + ", ".join(f"{int(mask.sum())} {name}" for name, mask in groups.items())
)

# %% [markdown]
# ## Model
#
# Lesson 12's MLP, built by one function: ``l2`` puts
# ``keras.regularizers.L2(l2)`` on both kernels (biases are left alone).
# Keras adds ``l2 * sum(w^2)`` of every regularized kernel to the batch's
# loss inside ``fit`` (``model.losses``), so the penalty is differentiated
# with the rest. Keras's ``L2(l2)`` has no 1/2 in front: its gradient is
# ``2 * l2 * w``. The metric ``"sparse_categorical_crossentropy"`` is the
# data loss alone: ``evaluate``'s ``loss`` includes the penalty, so it cannot
# compare a penalized model with an unpenalized one.


# %%
def build_model(l2=None):
    regularizer = keras.regularizers.L2(l2) if l2 else None
    return keras.Sequential(
        [
            keras.Input((X_train.shape[1],)),
            keras.layers.Dense(HIDDEN_UNITS, activation="relu", kernel_regularizer=regularizer),
            keras.layers.Dense(len(classes), activation="softmax", kernel_regularizer=regularizer),
        ]
    )


def train(l2, optimizer, epochs=settings.epochs, callbacks=()):
    keras.utils.set_random_seed(settings.seed)  # the same starting weights for every run
    model = build_model(l2)
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy", CROSS_ENTROPY],
    )
    model.fit(
        ReshuffledArrays(X_fit, y_fit, batch_size=BATCH_SIZE, seed=settings.seed),  # and the same batches
        epochs=epochs,
        shuffle=False,
        callbacks=list(callbacks),
        verbose=0,
    )
    return model


build_model(L2).summary()

# %% [markdown]
# AdamW is Adam with ``weight_decay``;
# ``exclude_from_weight_decay(var_names=["bias"])`` keeps the decay off the
# biases, as the regularizer is (it must be called before the first step).


# %%
def adamw(weight_decay, learning_rate=LEARNING_RATE):
    optimizer = keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    return optimizer


# %% [markdown]
# ## Train
#
# One dict of runs and one loop: plain Adam, Adam + L2 at each grid value,
# AdamW at each weight decay. Every run starts from the same weights and sees
# the same batches: ``train`` reseeds, and feeds ``fit`` a
# ``ReshuffledArrays`` with the same seed, which draws a new row order every
# epoch and the same sequence of orders in every run (on TensorFlow a seeded
# ``fit(shuffle=True)`` repeats one order every epoch; lesson 07 measures it).

# %%
runs = {  # name: (l2, weight_decay, why this strength)
    "Adam": (None, None, "no decay"),
    **{f"Adam + L2({l2:g})": (l2, None, "grid") for l2 in L2_GRID},
    **{f"AdamW({wd:g})": (None, wd, why) for wd, why in WEIGHT_DECAYS.items()},
}
models = {
    name: train(l2, adamw(wd) if wd else keras.optimizers.Adam(learning_rate=LEARNING_RATE))
    for name, (l2, wd, _) in runs.items()
}
steps = int(keras.ops.convert_to_numpy(models["Adam"].optimizer.iterations))
print(f"{len(models)} runs of {settings.epochs} epochs ({steps} steps of mini-batches of {BATCH_SIZE})")

# %% [markdown]
# ## Compare
#
# ``evaluate`` on the validation rows (held out of ``fit``) picks the
# strength: the lowest cross-entropy within Adam + L2 and within AdamW. The
# test rows then say how the picks do, in cross-entropy and accuracy.
# ``evaluate``'s ``loss`` is the metric plus the penalty, ``model.losses``;
# the table reads the metric, so all runs are scored alike.

# %%
validation = {name: model.evaluate(X_val, y_val, verbose=0, return_dict=True) for name, model in models.items()}
test = {name: model.evaluate(X_test, y_test, verbose=0, return_dict=True) for name, model in models.items()}
penalty = float(keras.ops.sum(models[f"Adam + L2({L2:g})"].losses))
scores = test[f"Adam + L2({L2:g})"]
print(
    f"Adam + L2({L2:g}), test: loss {scores['loss']:.4f} = cross-entropy {scores[CROSS_ENTROPY]:.4f} + penalty {penalty:.4f}"
)
strengths = evidence.strength_table(runs, validation, test)
show(strengths, f"{settings.data_name}: strengths, validation and test scores after {settings.epochs} epochs")
outputs.save_table(strengths, settings)

# %% [markdown]
# Is the difference between the two picks real? One test set, one seed: a
# paired comparison of each test image's cross-entropy under the two models
# (``predict`` gives the probabilities) says how large the gap is next to
# its standard error.

# %%
picked = strengths[strengths["chosen on validation"]].set_index("method")["run"]
gap = evidence.cross_entropy_gap(
    models[picked["AdamW"]].predict(X_test, verbose=0), models[picked["Adam + L2"]].predict(X_test, verbose=0), y_test
)
print(f"{picked['AdamW']} minus {picked['Adam + L2']}: {gap[0]:+.4f} +- {gap[1]:.4f} cross-entropy per test image")

# %% [markdown]
# Where did each regularizer shrink? The first layer's kernel has one row
# per pixel: its RMS per pixel group, as a multiple of Adam's. Then why:
# Adam's ``v`` holds each weight's recent squared gradient, read back from
# the optimizer as ``sqrt(v_hat)``. From the Adam + L2 run's, the share of
# ``w`` its L2 term removes per step, ``lr * 2 l2 / (sqrt(v_hat) + eps)``.
# A share of 1 or more is overshoot: the penalty's step alone is larger than
# ``w`` and throws it past 0; a never-inked pixel's weight, pushed by the
# penalty alone, ends rattling around 0 with steps of about ``lr``.

# %%
kernels = {name: model.layers[0].kernel for name, model in models.items()}
rms = evidence.rms_table(kernels, groups, strengths)
outputs.save_table(rms, settings, "rms")
adam, penalized = models["Adam"], models[f"Adam + L2({L2:g})"]
l2_share = evidence.l2_decay_per_step(penalized.optimizer, penalized.layers[0].kernel, L2)
mechanism = evidence.mechanism_table(
    groups,
    data_rms=evidence.adam_gradient_rms(adam.optimizer, adam.layers[0].kernel),
    l2_rms=evidence.adam_gradient_rms(penalized.optimizer, penalized.layers[0].kernel),
    l2_share=l2_share,
)
outputs.save_table(
    show(mechanism, f"Per pixel group: gradient size and L2({L2:g})'s shrink per step"), settings, "groups"
)

# %% [markdown]
# ## SGD: the two rules coincide
#
# With SGD there is no ``v`` to divide by. L2 in the loss gives
# ``w <- w - lr * (g + 2 l2 w)``; Keras's decoupled decay gives
# ``w <- w - lr * wd * w``, then ``w <- w - lr * g`` with ``g`` computed at
# the old ``w``. Both are ``w (1 - 2 lr l2) - lr g`` when ``wd = 2 l2``, at
# any ``lr`` (Keras, like PyTorch, scales the decay by the learning rate).
# A ``LambdaCallback`` records every weight after every step; the gap is the
# largest entry-wise difference. (It reads the callback's ``model``, not a
# model captured from outside: on JAX, ``fit`` keeps the weights out of the
# model during an epoch, and the callback's ``model`` writes them back first.)
# The same pair under Adam, and SGD with ``wd = l2`` (Keras's factor 2
# forgotten), show what a real difference looks like.


# %%
def sgd(weight_decay=None):
    optimizer = keras.optimizers.SGD(learning_rate=SGD_LEARNING_RATE, weight_decay=weight_decay)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    return optimizer


def recorded(l2, optimizer):
    snapshots = []  # every weight after every step
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: snapshots.append(record.model.get_weights())
    )
    train(l2, optimizer, epochs=EQUIVALENCE_EPOCHS, callbacks=[record])
    return snapshots


sgd_l2 = recorded(L2, sgd())
pairs = {
    f"SGD: L2({L2:g}) vs weight_decay {2 * L2:g}": (sgd_l2, recorded(None, sgd(2 * L2))),
    f"SGD: L2({L2:g}) vs weight_decay {L2:g} (factor 2 forgotten)": (sgd_l2, recorded(None, sgd(L2))),
    f"Adam: L2({L2:g}) vs AdamW weight_decay {2 * L2:g}": (
        recorded(L2, keras.optimizers.Adam(learning_rate=LEARNING_RATE)),
        recorded(None, adamw(2 * L2)),
    ),
}
gaps = {pair: np.array([agreement.max_difference(a, b) for a, b in zip(*paths)]) for pair, paths in pairs.items()}
largest = max(float(keras.ops.max(keras.ops.abs(w))) for w in sgd_l2[-1])
equivalence = show(evidence.equivalence_table(gaps, largest), "L2 in the loss vs decoupled decay, step by step")
outputs.save_table(equivalence, settings, "equivalence")

# %% [markdown]
# ## The two update rules, next to the picture
#
# For one kernel weight $w$ with data gradient $g$ ($m$, $v$ start at
# 0, $t$ counts steps; from ``keras/src/optimizers/adam.py`` and
# ``base_optimizer.py``, whose ``_apply_weight_decay`` does AdamW's first
# line). lr is ``learning_rate``, wd is AdamW's ``weight_decay``, l2 is the
# factor of ``L2(l2)``, and $\beta_1$, $\beta_2$, $\epsilon$ are ``beta_1``,
# ``beta_2``, ``epsilon``:
#
# $$
# \begin{aligned}
# \text{Adam + L2:}\quad g' &= g + 2\, \text{l2}\, w \qquad \text{(the penalty is part of the gradient)} \\
# m &\leftarrow m + (1 - \beta_1)(g' - m) \\
# v &\leftarrow v + (1 - \beta_2)(g'^2 - v) \\
# w &\leftarrow w - \text{lr}\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot \frac{m}{\sqrt{v} + \epsilon} \\
# \text{AdamW:}\quad w &\leftarrow w - \text{lr}\, \text{wd}\, w \qquad \text{(first, on } w \text{ itself)} \\
# & \text{then Adam's step, with } m, v \text{ from } g \text{ alone (computed at the old } w\text{)}
# \end{aligned}
# $$
#
# Keras adds $\epsilon$ to $\sqrt{v}$, not to the bias-corrected
# $\sqrt{\hat v}$ of the textbook (a difference only while $v$ is tiny).
# Loshchilov and Hutter's AdamW ("Decoupled Weight Decay Regularization",
# 2019) writes the decay as $\eta_t \lambda w$ with a schedule multiplier
# $\eta_t$; Keras ties it to the learning rate, $\text{lr} \cdot \text{wd}$. Decaying before
# or with the step is the same here, since $g$ is taken at the old $w$.
#
# In the figure: (a) the validation choice; (b) what each run left of the
# weights per pixel group (AdamW's lines are flat, L2's fall on the rare
# pixels); (c) the share of ``w`` removed per step, L2's per weight against
# AdamW's one ``lr * wd`` for all, overshoot drawn as triangles on the top
# edge; (d) the SGD pair stays at rounding level (an exact 0 gap is a
# triangle on the bottom edge), the other two pairs drift apart.

# %%
figure = evidence.plot_weight_decay(strengths, rms, groups, l2_share, L2, LEARNING_RATE, gaps)
outputs.save_figure(figure, settings, "weight_decay")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``13_decoupled_weight_decay_claims.json``.

# %%
claims.remember(
    evidence.claims(
        strengths,
        rms,
        mechanism,
        equivalence,
        l2=L2,
        learning_rate=LEARNING_RATE,
        steps=steps,
        default_weight_decay=KERAS_DEFAULT,
        test_rows=len(X_test),
        gap=gap,
    ),
    settings,
)
