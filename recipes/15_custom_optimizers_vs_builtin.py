"""Writing a Keras 3 optimizer, and checking it against Keras's own step by step.

A Keras 3 optimizer is a subclass of ``keras.optimizers.Optimizer`` with
``build`` (its state, one buffer per weight) and ``update_step`` (one step,
state changed only through ``self.assign*``). This lesson writes Adam from
the paper, steps it next to ``keras.optimizers.Adam`` and a float64 NumPy
reference, checks the cookbook's eight optimizers the same way, trains a
model with ``compile(optimizer=...)`` and hands the built-ins settings no
optimizer can use.

Run it: ``python recipes/15_custom_optimizers_vs_builtin.py`` (``--quick``
for a few-second look, ``--steps 300`` for longer comparisons). What this
lesson measures lives in ``cookbook/lessons/custom_optimizers_vs_builtin.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--steps``, ``--epochs``, ``--csv``/``--target``; see
# ``--help``); in a notebook, edit them here. The cookbook is imported before
# Keras so that TensorFlow's start-up log lines stay out of the output.

# %%
import cookbook.optimizers  # first: hides TensorFlow's start-up log lines
from cookbook import ReshuffledArrays, claims, loading, outputs, reference
from cookbook.compare import compare_optimizers
from cookbook.display import show
from cookbook.lessons import custom_optimizers_vs_builtin as evidence
from cookbook.settings import from_command_line

import keras
import pandas as pd
from keras import ops

settings = from_command_line(
    __doc__,
    "15_custom_optimizers_vs_builtin",
    quick=False,
    seed=0,
    out="cookbook-out",
    steps=50,
    quick_steps=20,
    steps_help="apply_gradients steps per comparison",
    epochs=3,
    quick_epochs=1,
    data="digits",
)
LEARNING_RATE = 0.02  # the walk-through's Adam
EPSILONS = (1e-7, 1.0)  # Keras's default, and a value Keras's Adam docstring suggests for Inception on ImageNet
BOWL_SHAPE = (4, 3)  # one weight matrix
FIT_LEARNING_RATE = 0.01
BATCH_SIZE = 128
HIDDEN_UNITS = 32
FIT_LOSS_GAP = 0.01  # the lesson's Adam "trains like" Keras's within 1% of its final train loss
BAD_STEPS = 20  # steps the built-ins take with an impossible setting

# %% [markdown]
# ## How a Keras 3 optimizer is written
#
# Four methods. ``__init__`` takes the optimizer's own hyperparameters and
# passes the rest (learning rate, ``clipnorm``, ``weight_decay`` ...) to the
# base class, which applies them around every step. ``build`` runs once,
# with the model's weights, and creates the state: here ``m`` and ``v``, one
# zero buffer per weight, from ``add_optimizer_variables``. ``update_step``
# is called for each weight at each step with its gradient and the current
# learning rate; every change of state goes through ``self.assign``,
# ``self.assign_add`` or ``self.assign_sub``, which keeps sparse gradients
# and ``tf.distribute`` working. ``get_config`` lets a saved model rebuild it.
#
# ``update_step`` finds a weight's buffers with
# ``self._get_variable_index(variable)``, as every Keras 3 optimizer does.
# It is the one private name an optimizer needs: Keras has no public
# equivalent, and what ``update_step`` receives is not always the
# ``keras.Variable`` you built with (TensorFlow passes the ``tf.Variable``
# inside it), so a dict of your own keyed on the variable breaks there.
# It follows Algorithm 1 of Kingma and Ba (2014) line by line: it corrects
# ``m`` and ``v`` for their zero start, then adds ``epsilon`` to
# ``sqrt(v_hat)``, as PyTorch's ``torch.optim.Adam`` does.


# %%
class PaperAdam(keras.optimizers.Optimizer):
    """Adam as Algorithm 1 of the paper: m_hat / (sqrt(v_hat) + epsilon)."""

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self.m, self.v = self.add_optimizer_variables(var_list, ["m", "v"])

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        t = ops.cast(self.iterations + 1, variable.dtype)
        i = self._get_variable_index(variable)  # as Keras's own optimizers find a weight's m and v
        m, v = self.m[i], self.v[i]
        self.assign(m, self.beta_1 * m + (1 - self.beta_1) * g)
        self.assign(v, self.beta_2 * v + (1 - self.beta_2) * ops.square(g))
        m_hat = m / (1 - ops.power(self.beta_1, t))
        v_hat = v / (1 - ops.power(self.beta_2, t))
        self.assign_sub(variable, lr * m_hat / (ops.sqrt(v_hat) + self.epsilon))

    def get_config(self):
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config


# %% [markdown]
# ``build`` on a weight matrix and a bias: one ``m`` and one ``v`` per
# weight, the same buffers Keras's Adam creates (plus the step counter
# ``iterations`` and the learning rate, which the base class keeps).

# %%
weights = [keras.Variable(keras.ops.zeros(BOWL_SHAPE), name="kernel"), keras.Variable(keras.ops.zeros(3), name="bias")]
for optimizer in (PaperAdam(), keras.optimizers.Adam()):
    optimizer.build(weights)
    print(f"{type(optimizer).__name__:>9}:", [f"{v.path} {tuple(v.shape)}" for v in optimizer.variables])

# %% [markdown]
# ## Step by step
#
# The check: our Adam, Keras's Adam and the paper's rule in float64 NumPy
# (``cookbook.reference``, no Keras at all) each walk down the same noisy
# quadratic bowl from the same start, each computing its gradient at its
# own weights (so a difference at one step changes every later gradient, as
# in training). ``apply_gradients`` is what ``fit`` calls after each batch.
# Once at Keras's default ``epsilon``, once at 1.0.

# %%
bowl = evidence.NoisyBowl.make(BOWL_SHAPE, settings.steps, settings.seed)
print(f"loss at the start {bowl.loss(bowl.start):.3f}, {settings.steps} steps of Adam(learning_rate={LEARNING_RATE})")


def step(optimizer, w, t):
    """One apply_gradients call with the bowl's gradient at w; returns the new weights."""
    gradient = bowl.gradient(keras.ops.convert_to_numpy(w), t)
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), w)])
    return keras.ops.convert_to_numpy(w)


rows = []
for epsilon in EPSILONS:
    ours, builtin = PaperAdam(LEARNING_RATE, epsilon=epsilon), keras.optimizers.Adam(LEARNING_RATE, epsilon=epsilon)
    paper = reference.ReferenceOptimizer(reference.adam_textbook, learning_rate=LEARNING_RATE, epsilon=epsilon)
    w_ours, w_keras, w_paper = keras.Variable(bowl.start), keras.Variable(bowl.start), bowl.start.astype("float64")
    for t in range(settings.steps):
        [w_paper] = paper.apply([bowl.gradient(w_paper, t)], [w_paper])
        rows.append(
            evidence.walk_row(t + 1, epsilon, bowl.start, step(ours, w_ours, t), step(builtin, w_keras, t), w_paper)
        )
walk = pd.DataFrame(rows)
show(walk.groupby("epsilon").last().reset_index(), f"After step {settings.steps}: relative differences")

# %% [markdown]
# ## Every optimizer of the cookbook
#
# ``cookbook.optimizers`` holds eight optimizers written this way, each a
# twin of a Keras built-in with the same name, arguments and defaults (read
# ``cookbook/optimizers/adam.py``: the class above plus AMSGrad and checks
# on every argument). ``compare_optimizers`` runs the loop above for a twin
# and its built-in, on a kernel and a bias, and checks both against float64
# NumPy. One row per setting, switches (Nesterov, centered, AMSGrad, weight
# decay, clipnorm) included.

# %%
GRID = [
    ("SGD", {"learning_rate": 0.1}),
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    ("Adagrad", {"learning_rate": 0.1}),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.9}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "centered": True}),
    ("Adam", {"learning_rate": 0.02}),
    ("Adam", {"learning_rate": 0.02, "beta_2": 0.9, "amsgrad": True}),
    ("Adam", {"learning_rate": 0.02, "weight_decay": 0.1, "clipnorm": 0.5}),
    ("AdamW", {"learning_rate": 0.02, "weight_decay": 0.05}),
    ("Nadam", {"learning_rate": 0.02, "beta_1": 0.8}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9}),
]
if settings.quick:  # one setting per class
    GRID = [GRID[i] for i in (1, 2, 4, 6, 8, 9, 10)]
runs = []
for name, config in GRID:
    twin, builtin = getattr(cookbook.optimizers, name)(**config), getattr(keras.optimizers, name)(**config)
    run = compare_optimizers(twin, builtin, steps=settings.steps, seed=settings.seed)
    runs.append(run.assign(setting=evidence.call_text(name, config)))
per_step = pd.concat(runs, ignore_index=True)
table = show(evidence.summarize(per_step), f"cookbook vs keras.optimizers vs float64 NumPy, {settings.steps} steps")
outputs.save_table(table, settings)
outputs.save_table(per_step, settings, "per_step")
outputs.save_table(walk, settings, "paper_adam")

# %% [markdown]
# The rules compared, for a weight $w$ with gradient $g$, in Keras's
# convention (``keras/src/optimizers/``; buffers start at 0 unless said,
# $t = 1, 2, \ldots$ is the step). lr is ``learning_rate``, $\mu$ is ``momentum``,
# $\rho$ is ``rho``, $\beta_1$ and $\beta_2$ are ``beta_1`` and ``beta_2``,
# $\epsilon$ is ``epsilon`` and wd is ``weight_decay``:
#
# $$
# \begin{aligned}
# \text{SGD:}\quad w &\leftarrow w - \text{lr}\, g \\
# \text{with momentum:}\quad v &\leftarrow \mu v - \text{lr}\, g, \quad w \leftarrow w + v \\
# \text{Adagrad:}\quad G &\leftarrow G + g^2 \qquad (G_0 = 0.1) \\
# w &\leftarrow w - \text{lr}\, g / \sqrt{G + \epsilon} \\
# \text{RMSprop:}\quad v &\leftarrow \rho v + (1 - \rho)\, g^2 \\
# w &\leftarrow w - \text{lr}\, g / \sqrt{v + \epsilon} \\
# \text{Adam:}\quad m &\leftarrow \beta_1 m + (1 - \beta_1)\, g, \quad v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2 \\
# w &\leftarrow w - \text{lr}\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot \frac{m}{\sqrt{v} + \epsilon} \\
# \text{PaperAdam:}\quad m, v &\ \text{as Adam}, \quad \hat m = \frac{m}{1 - \beta_1^t},
# \quad \hat v = \frac{v}{1 - \beta_2^t} \\
# w &\leftarrow w - \text{lr}\, \frac{\hat m}{\sqrt{\hat v} + \epsilon} \\
# \text{AdamW:}\quad w &\leftarrow w - \text{lr}\, \text{wd}\, w, \ \text{then Adam} \\
# \text{Nadam:}\quad u_t &= \beta_1 (1 - 0.5 \cdot 0.96^t); \quad m, v \ \text{as Adam} \\
# \hat m &= \frac{u_{t+1}\, m}{1 - u_1 \cdots u_{t+1}} + \frac{(1 - u_t)\, g}{1 - u_1 \cdots u_t} \\
# w &\leftarrow w - \text{lr}\, \frac{\hat m}{\sqrt{\hat v} + \epsilon} \\
# \text{Lion:}\quad w &\leftarrow w - \text{lr} \operatorname{sign}(\beta_1 m + (1 - \beta_1)\, g),
# \quad m \leftarrow \beta_2 m + (1 - \beta_2)\, g
# \end{aligned}
# $$
#
# Where textbooks differ: momentum is often $v \leftarrow \mu v + g$, $w \leftarrow w - \text{lr}\, v$
# (the same path at a constant rate); Adagrad's $G$ starts at 0 and
# its $\epsilon$ (and RMSprop's, in PyTorch) sits outside the root. Adam is the
# case the walk-through measured: rewrite Keras's line with $\hat m$ and
# $\hat v$ and its $\epsilon$ becomes $\epsilon / \sqrt{1 - \beta_2^t}$, the paper's
# "epsilon hat", 31.6 times $\epsilon$ at step 1.
#
# Left: each setting's largest distance from float64, for the twin (dot)
# and the built-in (ring); where a dot sits in its ring, the two took the
# same steps. Right: our Adam against Keras's (solid) and against the
# paper's rule in float64 (dotted), at both ``epsilon`` values.

# %%
outputs.save_figure(evidence.plot_agreement(table, walk), settings, "agreement")

# %% [markdown]
# ## A drop-in for compile and fit
#
# An optimizer you write goes where a built-in goes: ``model.compile(
# optimizer=...)``. One MLP on Digits, the same starting weights, three
# optimizers: Keras's Adam, the cookbook's twin and the lesson's
# ``PaperAdam``. ``fit`` calls ``apply_gradients`` once per batch, so the
# twin should end on Keras's weights exactly. Each ``fit`` reads its own
# ``ReshuffledArrays`` of the same seed: all three see the same batches, in
# a new order every epoch (on TensorFlow a seeded ``fit(shuffle=True)``
# repeats one order every epoch; lesson 07 measures it).

# %%
X, y = loading.load_data(settings)
labels, classes = loading.class_labels(y)
split = loading.split(settings, X, labels, stratify=True)
keras.utils.set_random_seed(settings.seed)
start = keras.Sequential(
    [
        keras.Input((split.X_train.shape[1],)),
        keras.layers.Dense(HIDDEN_UNITS, activation="relu"),
        keras.layers.Dense(len(classes), activation="softmax"),
    ]
)
initial_weights = start.get_weights()
fit_optimizers = {
    "keras.optimizers.Adam": keras.optimizers.Adam(FIT_LEARNING_RATE),
    "cookbook.optimizers.Adam": cookbook.optimizers.Adam(FIT_LEARNING_RATE),
    "PaperAdam (this lesson)": PaperAdam(FIT_LEARNING_RATE),
}
fits, trained = [], {}
for name, optimizer in fit_optimizers.items():
    model = keras.models.clone_model(start)
    model.set_weights(initial_weights)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(
        ReshuffledArrays(split.X_train, split.y_train, batch_size=BATCH_SIZE, seed=settings.seed),
        epochs=settings.epochs,
        shuffle=False,
        verbose=0,
    )
    test = model.evaluate(split.X_test, split.y_test, verbose=0, return_dict=True)
    trained[name] = model.get_weights()
    fits.append(evidence.fit_row(name, history.history, test, trained[name], trained["keras.optimizers.Adam"]))
fits = show(
    pd.DataFrame(fits), f"model.fit on {settings.data_name}, {settings.epochs} epoch(s), lr {FIT_LEARNING_RATE}"
)
outputs.save_table(fits, settings, "fit")

# %% [markdown]
# ## Settings no optimizer can use
#
# A ``beta_1`` of 1 (``m`` stays 0 and the bias correction divides by
# ``1 - 1^t = 0``), a ``rho`` of 1 (``v`` stays 0: every step divides by
# ``sqrt(eps)``), a negative learning rate (a step uphill) and
# ``clipnorm=0``. Each goes to the built-in, which takes a few steps on the
# bowl (the ``clipnorm`` one next to the same optimizer without it), and to
# the cookbook twin, whose ``__init__`` checks every argument.

# %%
IMPOSSIBLE = [
    ("Adam", {"learning_rate": 0.01, "beta_1": 1.0}),
    ("RMSprop", {"learning_rate": 0.01, "rho": 1.0}),
    ("SGD", {"learning_rate": -0.1}),
    ("Adagrad", {"learning_rate": 0.1, "clipnorm": 0.0}),
]


def run_briefly(optimizer):
    w = keras.Variable(bowl.start)
    for t in range(min(BAD_STEPS, settings.steps)):
        step(optimizer, w, t)
    return keras.ops.convert_to_numpy(w)


rows = []
for name, config in IMPOSSIBLE:
    try:
        getattr(cookbook.optimizers, name)(**config)
        refusal = None
    except ValueError as error:
        refusal = str(error)
    without = {key: value for key, value in config.items() if key != "clipnorm"}
    unclipped = run_briefly(getattr(keras.optimizers, name)(**without)) if without != config else None
    after = run_briefly(getattr(keras.optimizers, name)(**config))
    rows.append(evidence.impossible_row(evidence.call_text(name, config), bowl.start, after, unclipped, refusal))
impossible = show(pd.DataFrame(rows), "Impossible settings: what the built-in did, what the twin said")
outputs.save_table(impossible, settings, "impossible_settings")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``15_custom_optimizers_vs_builtin_claims.json``.

# %%
claims.remember(
    evidence.claims(
        table,
        walk,
        fits,
        impossible,
        twin="cookbook.optimizers.Adam",
        ours="PaperAdam (this lesson)",
        builtin="keras.optimizers.Adam",
        fit_loss_gap=FIT_LOSS_GAP,
    ),
    settings,
)
