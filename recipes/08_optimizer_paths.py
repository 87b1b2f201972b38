"""Optimizer paths on a stretched bowl: each optimizer tuned on the same grid, and why momentum 0.9 rings.

SGD, SGD with momentum, Adagrad, RMSprop and Adam (Keras's built-ins) walk
down f(x, y) = x**2/20 + y**2 from (-7, 2) in an ``apply_gradients`` loop
fed the exact gradient. Every optimizer's learning rate is tuned on the
same grid first, so the comparison is fair; the paths are then drawn on
the contours, next to each update rule and to the "heavy-ball" theory of
momentum on a quadratic, which predicts both the best momentum and why the
customary 0.9 swings back and forth here.

Run it: ``python recipes/08_optimizer_paths.py`` (``--quick`` for a
coarser grid and 160 steps, ``--steps N`` for another budget). What this
lesson measures lives in ``cookbook/lessons/optimizer_paths.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--steps``; see ``--help``); in a notebook, edit them here.
# Nothing in this lesson is random (no data, no shuffling): the seed is set
# out of habit and changes nothing.

# %%
from cookbook import claims, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import optimizer_paths as evidence
from cookbook.settings import from_command_line

import keras
import numpy as np

settings = from_command_line(
    __doc__,
    "08_optimizer_paths",
    quick=False,
    seed=0,
    out="cookbook-out",
    steps=200,
    quick_steps=160,
    steps_help="optimizer steps per path",
)
keras.utils.set_random_seed(settings.seed)
START = (-7.0, 2.0)  # far along the flat x direction, up the steep y wall
TOLERANCE = 1e-3  # |grad f| below this, to the end of the run, counts as "settled at the minimum"
PER_DECADE = 8 if settings.quick else 16
RATES = np.geomspace(0.01, 100, 4 * PER_DECADE + 1)  # the learning rates every optimizer is tried at
KNOB_VALUES = np.round(np.arange(0.0, 0.91, 0.1 if settings.quick else 0.05), 2)  # momentum, beta_1 or rho
MOMENTUM = 0.9  # the customary value (Keras's default beta_1 for Adam, the rho of RMSprop)
UNTUNED_LR = 0.05  # one fixed rate nobody tuned, as lesson 12 races on Digits

# %% [markdown]
# ## Data
#
# No dataset: the "data" is the landscape. Its curvature is 0.1 along x and
# 2 along y, a condition number of 20: a learning rate large enough to move
# along x quickly is nearly too large for y. Each optimizer gets the
# **exact gradient** of f, written out by hand, ``(x / 10, 2 y)``: no
# samples, no noise. So ``SGD`` here is plain (batch) gradient descent.
# Keras optimizers take a gradient from anywhere, so this lesson runs on
# any backend; ``model.fit`` would get the same numbers from automatic
# differentiation (lesson 07's ``tf.GradientTape`` loop).

# %%
CURVATURES = keras.ops.convert_to_tensor(evidence.CURVATURES, "float32")  # f's second derivatives along x, y
theory = evidence.HeavyBall(*evidence.CURVATURES)
print(
    f"condition number {theory.condition_number:g}; SGD at lr 0.9 multiplies (x, y) by {1 - 0.9 * evidence.CURVATURES}"
)

# %% [markdown]
# ## Model
#
# The "model" is one ``keras.Variable`` holding (x, y). One step: the
# gradient at the current point, handed to ``optimizer.apply_gradients``,
# as ``fit`` does after each batch. Every position is recorded.


# %%
def walk(optimizer, steps=settings.steps):
    xy = keras.Variable(START, dtype="float32")
    points = [keras.ops.convert_to_numpy(xy)]
    for _ in range(steps):
        gradient = keras.ops.multiply(xy, CURVATURES)  # the exact gradient (x / 10, 2 y)
        optimizer.apply_gradients([(gradient, xy)])
        points.append(keras.ops.convert_to_numpy(xy))
    return np.array(points)


# %% [markdown]
# ## Tune
#
# A fair race gives every optimizer the same chances. Each one's learning
# rate is tried at the same ``RATES``, with its other settings at Keras's
# defaults (``momentum=0.9`` for "Momentum", the customary value). Then the
# second knob of SGD (``momentum``), RMSprop (``rho``) and Adam
# (``beta_1``) is tuned together with the rate, on ``KNOB_VALUES`` x
# ``RATES``; the table says how many cells each one was given. A cell's
# score is the number of steps until ``|grad f|`` drops below
# ``TOLERANCE`` and stays there: a path that only passes through the
# minimum has not settled.
#
# A grid of thousands of runs would take minutes in an eager loop, so
# ``evidence.tune`` walks it in float64 NumPy with each optimizer's own
# update rule, read from its ``get_config()`` (the tests check those rules
# against Keras; the table further down puts both side by side).

# %%
contenders = {}  # name -> the Keras optimizers it is tried as; their learning rates are replaced by RATES
contenders["SGD"] = [keras.optimizers.SGD()]
contenders["Momentum 0.9"] = [keras.optimizers.SGD(momentum=MOMENTUM)]
contenders["Adagrad"] = [keras.optimizers.Adagrad()]
contenders["RMSprop"] = [keras.optimizers.RMSprop()]
contenders["Adam"] = [keras.optimizers.Adam()]
contenders["SGD, momentum tuned"] = [keras.optimizers.SGD(momentum=m) for m in KNOB_VALUES]
contenders["RMSprop, rho tuned"] = [keras.optimizers.RMSprop(rho=rho) for rho in KNOB_VALUES]
contenders["Adam, beta_1 tuned"] = [keras.optimizers.Adam(beta_1=b) for b in KNOB_VALUES]
grid = evidence.tune(contenders, RATES, START, settings.steps, TOLERANCE)
best = show(evidence.best_cells(grid), f"Each optimizer's best cell ({settings.steps} steps; NaN: never settles)")
outputs.save_table(best, settings)
outputs.save_table(grid, settings, "grid")
outputs.save_figure(evidence.plot_tuning(grid, theory, settings.steps), settings, "tuning")

# %% [markdown]
# ## Train
#
# Now the runs we draw, each a fresh Keras optimizer at its best cell:
# ``get_config()`` and ``from_config`` copy an optimizer's settings, here
# with the tuned learning rate put in. A second set runs at one fixed,
# untuned rate, the way lesson 12 races optimizers on Digits: plain SGD,
# SGD with momentum 0.9, and plain SGD at ``lr / (1 - 0.9)``, the step
# momentum's velocity grows to on a steady slope.


# %%
def tuned(name):
    row = best.set_index("optimizer").loc[name]
    variant = contenders[name][int(row["variant"])]
    return variant.from_config({**variant.get_config(), "learning_rate": float(row["learning rate"])})


drawn = {name: tuned(name) for name in ["SGD", "Momentum 0.9", "SGD, momentum tuned", "Adagrad", "RMSprop", "Adam"]}
fixed = {
    f"SGD, lr {UNTUNED_LR:g}": keras.optimizers.SGD(UNTUNED_LR),
    f"Momentum 0.9, lr {UNTUNED_LR:g}": keras.optimizers.SGD(UNTUNED_LR, momentum=MOMENTUM),
    f"SGD, lr {UNTUNED_LR / (1 - MOMENTUM):g}": keras.optimizers.SGD(UNTUNED_LR / (1 - MOMENTUM)),
}
optimizers = {**drawn, **fixed}
paths = {name: walk(optimizer) for name, optimizer in optimizers.items()}
print(f"{len(paths)} paths of {settings.steps} steps from {START}")

# %% [markdown]
# ## Compare
#
# The update rules of the optimizers drawn below, as Keras writes them
# (``keras/src/optimizers/``), for a gradient $g$ at step $t$, entry
# by entry. lr is ``learning_rate`` and $\epsilon$ is ``epsilon``;
# momentum, $\rho$, $\beta_1$ and $\beta_2$ are the arguments ``momentum``,
# ``rho``, ``beta_1`` and ``beta_2``:
#
# $$
# \begin{aligned}
# \text{SGD:}\quad w &\leftarrow w - \text{lr}\, g \\
# \text{Momentum:}\quad v &\leftarrow \text{momentum}\, v - \text{lr}\, g \qquad (v_0 = 0) \\
# w &\leftarrow w + v \\
# \text{Adagrad:}\quad G &\leftarrow G + g^2 \qquad (G_0 = 0.1) \\
# w &\leftarrow w - \text{lr}\, \frac{g}{\sqrt{G + \epsilon}} \\
# \text{RMSprop:}\quad s &\leftarrow \rho\, s + (1 - \rho)\, g^2 \qquad (\rho = 0.9,\ s_0 = 0) \\
# w &\leftarrow w - \text{lr}\, \frac{g}{\sqrt{s + \epsilon}} \\
# \text{Adam:}\quad m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \\
# s &\leftarrow \beta_2 s + (1 - \beta_2)\, g^2 \\
# w &\leftarrow w - \text{lr}\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot \frac{m}{\sqrt{s} + \epsilon}
# \end{aligned}
# $$
#
# Where textbooks differ: Keras's velocity includes the learning rate
# (PyTorch's $v \leftarrow \text{momentum}\, v + g$, $w \leftarrow w - \text{lr}\, v$ takes the same path
# at a constant rate); Adagrad's sum starts at 0.1, not 0; Adagrad and
# RMSprop put $\epsilon = 10^{-7}$ inside the root; Adam folds both bias
# corrections into the step size and adds $\epsilon$ to the uncorrected
# $\sqrt{s}$ (the paper's "epsilon hat"; lesson 11).
#
# What to look for: SGD's y-step is ``lr * 2y``, so above ``lr = 0.5`` it
# overshoots y = 0 on every step while x creeps: the zig-zag. Momentum adds
# up consecutive steps; with 0.9 it keeps so much of its past that it
# overshoots in slow waves instead, which die out slowly: it rings.
# Adagrad, RMSprop and Adam divide each coordinate's step by the size of
# its own gradients, so both coordinates first move by a multiple of
# ``lr`` whatever their curvature (Adam by ``lr``, Adagrad by about
# ``lr``, RMSprop by about ``3 lr``). That undoes this bowl's stretch
# because it lies along the axes (a tilted valley would not be undone).
# Near the minimum RMSprop keeps dividing a small gradient by its own
# small average: its steps stay of the order of ``lr`` and it rattles.

# %%
measured = evidence.path_table(paths, optimizers, START, TOLERANCE)
outputs.save_figure(evidence.plot_paths({name: paths[name] for name in drawn}, measured, START), settings, "paths")
show(measured, "The Keras paths (steps to settle in the Keras run and by the float64 NumPy rule)")
outputs.save_table(measured, settings, "paths")

# %% [markdown]
# ## The heavy-ball theory
#
# On a quadratic, SGD and Momentum are linear recurrences and can be
# solved. Along a direction of curvature $h$,
# $w_{t+1} = (1 + \text{momentum} - \text{lr}\, h)\, w_t - \text{momentum}\, w_{t-1}$:
# the position is a mix of $z_1^t$ and $z_2^t$, the roots of
# $z^2 - (1 + \text{momentum} - \text{lr}\, h)\, z + \text{momentum} = 0$. The roots multiply
# to momentum, so the larger is at least $\sqrt{\text{momentum}}$: **no learning rate makes
# momentum 0.9 converge faster than $\sqrt{0.9} = 0.949$ per step**, and complex roots make it
# swing. Plain SGD's best is $(k - 1) / (k + 1) = 0.905$. The best
# momentum balances the slow x and the swinging (Polyak 1964), where $\mu$ and $L$
# are the smallest and largest curvature (0.1 and 2 here):
#
# $$
# \begin{aligned}
# \text{momentum}^\star &= \left(\frac{\sqrt{k} - 1}{\sqrt{k} + 1}\right)^2
# \qquad \text{with } k = L / \mu \text{, the condition number} \\
# \text{lr}^\star &= \frac{4}{\left(\sqrt{\mu} + \sqrt{L}\right)^2} \\
# \text{rate} &= \sqrt{\text{momentum}^\star}
# \end{aligned}
# $$

# %%
outputs.save_table(
    show(theory.table(MOMENTUM), f"Heavy-ball theory for k = {theory.condition_number:g}"), settings, "theory"
)
rates = show(evidence.rates_table(paths, optimizers, TOLERANCE), "Theory next to the Keras paths")
outputs.save_table(rates, settings, "rates")
panels = {
    "Tuned rates: measured (solid) vs theory (dashed)": ["SGD", "Momentum 0.9", "SGD, momentum tuned"],
    f"One untuned rate, lr {UNTUNED_LR:g}: momentum's gain is its larger step": list(fixed),
}
outputs.save_figure(evidence.plot_rates(paths, optimizers, panels), settings, "rates")

# %% [markdown]
# The right panel is why lesson 12 can find momentum 0.9 ahead on Digits
# while it loses here. At one fixed rate nobody tuned, momentum's velocity
# grows to ``1 / (1 - 0.9) = 10`` times plain SGD's step on a steady slope,
# and plain SGD given that larger rate does as well. Lesson 12 also has
# what this bowl lacks, noisy mini-batch gradients of a real network, and
# measures there how much of momentum's lead is just the larger step. Here
# every rate is tuned and the gradient is exact, so only the swinging is
# left.

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``08_optimizer_paths_claims.json``.

# %%
claims.remember(
    evidence.claims(
        best,
        measured,
        rates,
        theory,
        sgd="SGD",
        momentum="Momentum 0.9",
        tuned_momentum="SGD, momentum tuned",
        adaptive=("Adagrad", "RMSprop", "Adam"),
        tuned_adam="Adam, beta_1 tuned",
        tuned_rmsprop="RMSprop, rho tuned",
        fixed=list(fixed),
    ),
    settings,
)
