"""Porting a Keras 2 optimizer to Keras 3, proven step by step.

A real custom optimizer, Yogi as TensorFlow Addons shipped it for Keras 2 (a
second moment that starts above 0, a bias correction that needs the step
number, a sparse path for ``Embedding`` gradients), is ported from
``tf_keras.optimizers.legacy.Optimizer`` to ``keras.optimizers.Optimizer``.
We check the port three ways: against the Keras 2 original on the same
batches, against Yogi's formula in float64, and through a ``.keras`` file;
then we break it four ways, each a one-line shortcut, to see what each costs.

Run it: ``python recipes/16_porting_a_keras2_optimizer.py`` (``--quick`` for
a few-second look, ``--steps N`` for a longer side-by-side run). What this
lesson measures lives in ``cookbook/lessons/porting_a_keras2_optimizer.py``;
the optimizer itself is ``cookbook/porting/yogi.py`` (Keras 3, copy it alone)
and ``cookbook/porting/keras2_yogi.py`` (the Keras 2 original).
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--steps``; see ``--help``); in a notebook, edit them here.
# The Keras 2 original is TensorFlow's API (``tf_keras``), and so is the
# sparse ``IndexedSlices`` gradient the port handles: the lesson runs on the
# TensorFlow backend, and stops with one line under another.

# %%
import inspect
import tempfile
import warnings

from cookbook import claims, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import agreement
from cookbook.lessons import porting_a_keras2_optimizer as evidence
from cookbook.porting import Yogi
from cookbook.porting.half_ports import ForgottenHyperparameter, SlotsOutsideBuild, StepFromZero, VariableAssign
from cookbook.settings import from_command_line, needs_tensorflow

import keras
import pandas as pd

settings = from_command_line(
    __doc__,
    "16_porting_a_keras2_optimizer",
    quick=False,
    seed=0,
    out="cookbook-out",
    steps=100,
    quick_steps=50,
    steps_help="optimizer steps of the side-by-side run, per case",
)
NEEDS_TENSORFLOW = needs_tensorflow(
    "the Keras 2 optimizer it ports and the sparse IndexedSlices gradient are TensorFlow's"
)
import tensorflow as tf  # noqa: E402  (after the check above)

LEVELS = 3  # ink levels per pixel: 64 pixels x 3 levels = 192 tokens
EMBEDDING_DIM, HIDDEN_UNITS = 8, 16
BATCH_SIZE, PROOF_ROWS = 32, 512  # the side-by-side run cycles through 512 rows in order
DEFAULT_RATE, DECAY = 0.01, 0.05  # Yogi's default rate; Keras 2's decay=: lr / (1 + DECAY * (t - 1)) at step t
FIT_ROWS, FIT_RATE, FIT_BETA_2 = 64, 0.02, 0.9  # the save/resume runs: 2 steps an epoch, a beta_2 not the default
HALF_PORT_STEPS, RATE_STEPS = 5, 30  # a half-port's mistake shows within a few steps; so does a decay
TOLERANCE, RELATIVE_TOLERANCE = 1e-6, 1e-5  # Keras 2 vs 3 and resumed vs not; float32 vs float64 / max |w|

# %% [markdown]
# ## The port, Keras 2 to Keras 3
#
# Ten changes, each a line of ``keras2_yogi.py`` and its line in ``yogi.py``
# (rows 4, 5, 8 and 9 are where the four half-ports below cut a corner):
#
# | # | Keras 2 (`tf_keras.optimizers.legacy.Optimizer`) | Keras 3 (`keras.optimizers.Optimizer`) | why |
# |---|---|---|---|
# | 1 | `class Keras2Yogi(tf_keras.optimizers.legacy.Optimizer):` | `class Yogi(keras.optimizers.Optimizer):` | a new class, on any backend: `tf.sqrt` becomes `ops.sqrt` |
# | 2 | `super().__init__(name, **kwargs)` | `super().__init__(learning_rate=learning_rate, name=name, **kwargs)` | `lr=` and `decay=` are refused, with the fix in the message |
# | 3 | `self._set_hyper("beta_2", beta_2)` | `self.beta_2 = beta_2` | a hyperparameter is a plain attribute |
# | 4 | `beta_2=self._serialize_hyperparameter("beta_2"),` | `"beta_2": self.beta_2,` | `load_model` rebuilds the optimizer from `get_config()` |
# | 5 | `self.add_slot(var, "m")` | `self._m = [self.add_variable_from_reference(w, "m") for w in var_list]` | made in `build`, so `.keras` files restore them |
# | 6 | `def _prepare_local(self, var_device, var_dtype, apply_state):` | `alpha = lr * ops.sqrt(1 - ops.power(b2, t)) / (1 - ops.power(b1, t))` | no per-device cache: each `update_step` computes its scalars |
# | 7 | `super()._prepare_local(var_device, var_dtype, apply_state)` | `lr = ops.cast(learning_rate, dtype)` | the base class evaluates the schedule; Keras 2's own `decay=` is gone |
# | 8 | `t = tf.cast(self.iterations + 1, var_dtype)` | `return ops.cast(self.iterations + 1, dtype)` | `iterations` counts finished steps: step 1 sees 0 |
# | 9 | `def _resource_apply_dense(self, grad, var, apply_state=None):` | `self.assign(m, b1 * m + (1 - b1) * g)` | one `update_step`; `self.assign` scatters a sparse value's rows |
# | 10 | `def _resource_apply_sparse(self, grad, var, indices, apply_state=None):` | `if _is_indexed_slices(gradient):` | no second method: the `IndexedSlices` arrive in `update_step` |
#
# Here is the result, Keras 3's two methods in full: ``build`` makes the
# slots, ``update_step`` applies one step to one weight. Last, what a
# ``.keras`` file stores for the optimizer: its registered name and its config.

# %%
print(inspect.getsource(Yogi.build))
print(inspect.getsource(Yogi.update_step))
print(keras.saving.get_registered_name(Yogi), Yogi(beta_2=FIT_BETA_2).get_config())

# %% [markdown]
# ## Data
#
# Digits (8x8 images, ink 0-16), each image as 64 tokens: ``pixel index x
# LEVELS + ink level``. An ``Embedding`` learns one vector per (pixel, ink
# level); on TensorFlow its gradient is an ``IndexedSlices`` holding only
# the rows a batch used, which runs the port's sparse path, while the
# ``Dense`` layers run its dense path in the same steps.

# %%
tokens, labels = evidence.digits_as_tokens(LEVELS)
vocabulary = tokens.shape[1] * LEVELS
batches = [(tokens[i : i + BATCH_SIZE], labels[i : i + BATCH_SIZE]) for i in range(0, PROOF_ROWS, BATCH_SIZE)]
print(f"{len(tokens)} images, {tokens.shape[1]} tokens each from {vocabulary}; first 8: {tokens[0, :8].tolist()}")

# %% [markdown]
# ## Model
#
# The same model in both APIs, from ``keras`` or from ``tf_keras``.
# ``build_model`` sets the seed first, so every Keras 3 model starts from
# the same weights; its Keras 2 twin will copy them with ``set_weights``.


# %%
def model_layers(api):
    return [
        api.Input((tokens.shape[1],), dtype="int32"),
        api.layers.Embedding(vocabulary, EMBEDDING_DIM),
        api.layers.Flatten(),
        api.layers.Dense(HIDDEN_UNITS, activation="tanh"),
        api.layers.Dense(10, activation="softmax"),
    ]


def build_model():
    keras.utils.set_random_seed(settings.seed)
    return keras.Sequential(model_layers(keras))


tf_keras, Keras2Yogi = evidence.load_keras2()
build_model().summary()

# %% [markdown]
# ## Train
#
# One training step for both APIs: ``tf.GradientTape``, then
# ``apply_gradients``. It returns the gradients, so a float64 Yogi
# (``cookbook.reference.yogi``) can take the same step beside the run.
# ``tf.function`` compiles it: a compile pays off over many steps, not over
# the few of a half-port (``compiled=False``).


# %%
def make_train_step(model, optimizer, loss_fn, compiled=True):
    def train_step(x, y):
        with tf.GradientTape() as tape:
            loss = keras.ops.mean(loss_fn(y, model(x)))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return grads

    return tf.function(train_step) if compiled else train_step


# %% [markdown]
# **Side by side.** Each case trains a Keras 3 model and its Keras 2 twin on
# the same batches and, after every step, compares their weights with each
# other and with the float64 Yogi's. ``defaults`` keeps the rate constant;
# the second case (full run) gives Keras 2 its ``decay=`` and Keras 3 the
# ``InverseTimeDecay`` schedule that means the same.

# %%
cases = {"defaults": (Keras2Yogi, Yogi, DEFAULT_RATE)}
if not settings.quick:
    inverse_time = keras.optimizers.schedules.InverseTimeDecay(DEFAULT_RATE, decay_steps=1, decay_rate=DECAY)
    cases[f"decay={DECAY:g} vs InverseTimeDecay"] = (
        lambda: Keras2Yogi(learning_rate=DEFAULT_RATE, decay=DECAY),
        lambda: Yogi(learning_rate=inverse_time),
        inverse_time,
    )
per_step, moved = [], {}
for case, (make_keras2_optimizer, make_keras3_optimizer, schedule) in cases.items():
    keras3 = build_model()
    start = keras3.get_weights()
    keras2 = tf_keras.Sequential(model_layers(tf_keras))
    keras2.set_weights(start)
    step3 = make_train_step(keras3, make_keras3_optimizer(), keras.losses.sparse_categorical_crossentropy)
    step2 = make_train_step(keras2, make_keras2_optimizer(), tf_keras.losses.sparse_categorical_crossentropy)
    float64 = evidence.Float64Yogi(start)
    for step in range(settings.steps):
        grads = step3(*batches[step % len(batches)])
        step2(*batches[step % len(batches)])
        reference = float64.step(grads, evidence.rate_at(schedule, step))
        per_step.append(evidence.gaps(case, step + 1, keras2.get_weights(), keras3.get_weights(), reference))
    moved[case] = agreement.max_difference(keras3.get_weights(), start)
per_step = pd.DataFrame(per_step)

# %% [markdown]
# **Save, load, resume.** The way most people use an optimizer: ``compile``,
# ``fit``, ``model.save`` to a ``.keras`` file, and ``load_model`` without
# ``custom_objects`` (``Yogi`` is registered). A model fits one epoch and is
# saved; it fits one more epoch in memory (never stopped), and the copy
# loaded from the file fits the same epoch: if the port saved everything
# (slots, ``iterations``, hyperparameters), both end identical. Batches come
# in order (``shuffle=False``): a ``.keras`` file holds no shuffle's state,
# and in order the loaded copy sees the very batches the model never stopped
# sees (lesson 19 measures what a shuffle does to a resume; lesson 07, why a
# seeded ``shuffle=True`` on TensorFlow repeats one row order every epoch).
# ``run_eagerly=True`` only skips compiling a train step that runs twice.
# Two half-ports go through the same: slots made outside ``build``, and
# ``beta_2`` left out of ``get_config``.

# %%
X_fit, y_fit = tokens[:FIT_ROWS], labels[:FIT_ROWS]
folder = tempfile.mkdtemp(prefix="cookbook15-")


def fit_one_epoch_and_save(port):
    model = build_model()
    model.compile(
        optimizer=port(learning_rate=FIT_RATE, beta_2=FIT_BETA_2),
        loss="sparse_categorical_crossentropy",
        run_eagerly=True,
    )
    model.fit(X_fit, y_fit, batch_size=BATCH_SIZE, shuffle=False, verbose=0)
    model.save(f"{folder}/{port.__name__}.keras")
    return model


def load_and_fit_one_epoch(port):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.models.load_model(f"{folder}/{port.__name__}.keras")  # no custom_objects
    model.run_eagerly = True
    model.fit(X_fit, y_fit, batch_size=BATCH_SIZE, shuffle=False, verbose=0)
    return model, caught


uninterrupted = fit_one_epoch_and_save(Yogi)
uninterrupted.fit(X_fit, y_fit, batch_size=BATCH_SIZE, shuffle=False, verbose=0)  # epoch 2, never stopped
resumes = {}
for port in (Yogi, SlotsOutsideBuild, ForgottenHyperparameter):
    if port is not Yogi:  # Yogi's first epoch was saved above
        fit_one_epoch_and_save(port)
    resumes[port.__name__] = evidence.resumed(uninterrupted, *load_and_fit_one_epoch(port))
fit_moved = agreement.max_difference(uninterrupted.get_weights(), build_model().get_weights())

# %% [markdown]
# **The two half-ports that break a step.** ``VariableAssign`` writes with
# ``variable.assign(value)`` instead of ``self.assign(variable, value)``:
# an ``IndexedSlices`` value is made dense first, so every row outside the
# batch becomes 0 and a repeated row's values add up (blank pixel 0 is token
# 0 in every image). ``StepFromZero`` reads ``t = iterations``, so step 1
# divides by ``1 - beta_1**0 = 0``. Both eagerly, a few steps each.

# %%
model = build_model()
float64 = evidence.Float64Yogi(model.get_weights())
train_step = make_train_step(model, VariableAssign(), keras.losses.sparse_categorical_crossentropy, compiled=False)
half_port = []
for step in range(HALF_PORT_STEPS):
    reference = float64.step(train_step(*batches[step]), DEFAULT_RATE)
    half_port.append(evidence.relative_gap(model.get_weights(), reference))
float64_gaps = {"VariableAssign": half_port[-1], "Yogi": float(per_step["Keras 3 vs float64"][HALF_PORT_STEPS - 1])}
not_finite = {}
for port in (Yogi, StepFromZero):
    model = build_model()
    make_train_step(model, port(), keras.losses.sparse_categorical_crossentropy, compiled=False)(*batches[0])
    not_finite[port.__name__] = evidence.not_finite(model.get_weights())

# %% [markdown]
# **Keras 2's ``decay=`` in Keras 3.** SGD moves a weight by exactly its
# learning rate on a gradient of 1, so each step's rate can be read off the
# weight: Keras 2 with ``decay=``, Keras 3 with ``InverseTimeDecay``, and
# Keras 3 given ``decay=`` as a Keras 2 user would write it.

# %%
with warnings.catch_warnings(record=True) as decay_warnings:
    warnings.simplefilter("always")
    sgd = {
        "Keras 2 decay=": tf_keras.optimizers.legacy.SGD(DEFAULT_RATE, decay=DECAY),
        "Keras 3 InverseTimeDecay": keras.optimizers.SGD(
            keras.optimizers.schedules.InverseTimeDecay(DEFAULT_RATE, 1, DECAY)
        ),
        "Keras 3 decay=": keras.optimizers.SGD(DEFAULT_RATE, decay=DECAY),
    }
rates = {}
for name, optimizer in sgd.items():
    weight = tf.Variable(0.0, dtype="float64")
    positions = [float(weight)]
    for _ in range(RATE_STEPS):
        optimizer.apply_gradients([(tf.ones_like(weight), weight)])
        positions.append(float(weight))
    rates[name] = evidence.rates_used(positions)
print("Keras 3 on decay=:", " / ".join(str(w.message).split(".")[0] for w in decay_warnings))

# %% [markdown]
# ## Compare
#
# Yogi's update, as ``yogi.py`` writes it in Keras's convention ($g$ the
# gradient, $t$ = ``iterations + 1``, $m$ starts at 0, $v$ at
# ``initial_accumulator_value``). lr is ``learning_rate`` (``lr`` in the
# code), $\beta_1$ and $\beta_2$ are ``beta_1`` and ``beta_2`` (``b1``,
# ``b2``), and $\epsilon$ is ``epsilon``:
#
# $$
# \begin{aligned}
# m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
# v &\leftarrow v + (1 - \beta_2) \operatorname{sign}(g^2 - v)\, g^2
# \qquad \text{Adam: } v \leftarrow v + (1 - \beta_2)(g^2 - v) \\
# w &\leftarrow w - \text{lr}\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot \frac{m}{\sqrt{v} + \epsilon}
# \end{aligned}
# $$
#
# Yogi moves $v$ by at most $(1 - \beta_2)\, g^2$ a step, where Adam can halve
# it after a burst of large gradients. As in Keras's Adam, $\epsilon$ is added
# to the uncorrected $\sqrt{v}$; the textbook's bias-corrected form adds it
# to $\sqrt{v / (1 - \beta_2^t)}$. On a sparse gradient only the touched rows
# change $v$ and $w$; every row of $m$ decays.
#
# Left: float32 rounding grows slowly and stays far under the tolerance;
# the Keras 2 markers lie on the Keras 3 lines because the weights are the
# same; a porting mistake (``VariableAssign``) is of another size. Right:
# given ``decay=``, Keras 3 keeps its first rate.

# %%
proof = show(evidence.proof_table(per_step, moved), f"Keras2Yogi vs Yogi vs float64, {settings.steps} steps a case")
half_ports = show(evidence.half_ports_table(resumes, float64_gaps, not_finite, FIT_BETA_2), "The half-ports vs Yogi")
outputs.save_table(proof, settings)
outputs.save_table(per_step, settings, "per_step")
outputs.save_table(half_ports, settings, "half_ports")
title = f"Embedding({vocabulary}, {EMBEDDING_DIM}) + Dense({HIDDEN_UNITS}) on Digits tokens, batches of {BATCH_SIZE}"
outputs.save_figure(evidence.plot_gaps(per_step, half_port, rates, RELATIVE_TOLERANCE, title), settings, "gaps")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``16_porting_a_keras2_optimizer_claims.json``.

# %%
claims.remember(
    evidence.claims(
        proof,
        resumes,
        float64_gaps,
        not_finite,
        rates,
        tolerance=TOLERANCE,
        relative_tolerance=RELATIVE_TOLERANCE,
        fit_steps=2 * FIT_ROWS // BATCH_SIZE,
        fit_moved=fit_moved,
    ),
    settings,
)
