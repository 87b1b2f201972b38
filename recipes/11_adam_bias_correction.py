"""Adam's bias correction: how large Adam's first steps are with it and without it.

Adam's moments m and v start at zero and are too small for its first
steps, v more than m, so without the bias correction those steps are
LARGER: 3.16x at step 1 with Keras's default betas, up to 6.6x around step
12 and still 1.26x at step 1000, for a constant gradient. This lesson measures those steps with Keras's own ``Adam`` (the
uncorrected one is the same ``Adam`` with a learning-rate schedule that
cancels the correction), shows that the numbers hold for a constant gradient
only, and shows what Keras's ``epsilon`` does to gradients of size 1e-6:
the step is no longer ``lr``, and Keras puts ``epsilon`` where the paper does not.

Run it: ``python recipes/11_adam_bias_correction.py`` (``--quick`` is as
fast: the lesson trains one weight; ``--steps N`` for more steps). What this
lesson measures lives in ``cookbook/lessons/adam_bias_correction.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--steps``); in a notebook, edit them here. The cookbook is
# imported before Keras so that TensorFlow's start-up log lines stay out of
# the output. One learning rate for every run: steps are reported in units of it.

# %%
from cookbook import claims, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import adam_bias_correction as evidence
from cookbook.settings import from_command_line

import keras
import numpy as np

settings = from_command_line(
    __doc__,
    "11_adam_bias_correction",
    quick=False,
    seed=0,
    out="cookbook-out",
    steps=20,
    quick_steps=20,
    steps_help="Adam steps per run",
)
LEARNING_RATE = 0.05
BETA_1, BETA_2, EPSILON = 0.9, 0.999, 1e-7  # Keras's defaults
SMALLER_EPSILON = 1e-10  # the fix for tiny gradients, at the end
GRADIENT_SIZES = 10.0 ** np.arange(-9.0, 0.25, 0.5)  # constant |g| from 1e-9 to 1, every half decade
START = 1.0  # w at step 0 on the curved loss

# %% [markdown]
# ## Two Adams: Keras's, and the same without the correction
#
# Keras's ``Adam`` (``keras/src/optimizers/adam.py``) writes the bias
# correction as one factor on the learning rate, at step $t$, for a
# gradient $g$; lr is ``learning_rate``, $\beta_1$ and $\beta_2$ are
# ``beta_1`` and ``beta_2``, and $\epsilon$ is ``epsilon``:
#
# $$
# \begin{aligned}
# m &\leftarrow \beta_1 m + (1 - \beta_1)\, g \qquad (m_0 = v_0 = 0) \\
# v &\leftarrow \beta_2 v + (1 - \beta_2)\, g^2 \\
# \alpha &= \text{lr}\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \qquad \text{(the bias correction)} \\
# w &\leftarrow w - \alpha\, \frac{m}{\sqrt{v} + \epsilon} \qquad (\epsilon\ \text{on the uncorrected}\ \sqrt{v})
# \end{aligned}
# $$
#
# So a ``LearningRateSchedule`` that multiplies lr by the inverse factor
# $(1 - \beta_1^t) / \sqrt{1 - \beta_2^t}$ cancels the correction and leaves
# $w \leftarrow w - \text{lr}\, m / (\sqrt{v} + \epsilon)$: the uncorrected Adam, from the same
# class. ``optimizer.iterations`` is 0 at the first update, so $t = \text{step} + 1$.


# %%
class UndoBiasCorrection(keras.optimizers.schedules.LearningRateSchedule):
    """lr * (1 - b1^t) / sqrt(1 - b2^t): Keras's Adam multiplies by the inverse, so the two cancel."""

    def __call__(self, step):
        t = keras.ops.cast(step + 1, "float32")
        return LEARNING_RATE * (1 - keras.ops.power(BETA_1, t)) / keras.ops.sqrt(1 - keras.ops.power(BETA_2, t))


def make_adam(name, epsilon=EPSILON):
    rate = LEARNING_RATE if name == "corrected" else UndoBiasCorrection()
    return keras.optimizers.Adam(rate, beta_1=BETA_1, beta_2=BETA_2, epsilon=epsilon)


for step in (0, 11, 999):  # optimizer.iterations before steps 1, 12 and 1000
    undo = keras.ops.convert_to_numpy(UndoBiasCorrection()(step)) / LEARNING_RATE
    print(f"step {step + 1}: the schedule multiplies lr by {undo:.4f}, Keras's correction by {1 / undo:.4f}")

# %% [markdown]
# ## Train: one weight, a hand-made gradient
#
# No data and no model: one weight ``w`` (a ``keras.Variable``) and two
# "losses" whose gradients we write down, so the gradients go straight into
# ``optimizer.apply_gradients`` and the loop runs on any Keras backend.
#
# - ``g * w`` has the **constant gradient** ``g`` wherever ``w`` goes: it
#   isolates the correction. Adam works weight by weight, so one vector of
#   weights, each with its own ``g``, runs every gradient size at once.
#   They start at 0, where float32 holds even a step of 1e-7 exactly.
# - ``w^2 / 2`` is **curved**: its gradient is ``w`` itself, so each run sees
#   gradients that depend on where its own steps took it, as in training.
#
# Nothing here is random; the seed is set out of habit (on TensorFlow a
# seeded ``fit(shuffle=True)`` repeats its batch order every epoch, lesson 07
# shows a fix; this lesson has no batches).


# %%
def run(name, gradient_of, start, steps, epsilon=EPSILON):
    """The weights after each of ``steps`` Adam steps, from ``start``: shape (steps + 1, weights)."""
    w = keras.Variable(np.asarray(start, "float32"))
    optimizer = make_adam(name, epsilon)
    path = [keras.ops.convert_to_numpy(w)]
    for _ in range(steps):
        optimizer.apply_gradients([(gradient_of(w), w)])
        path.append(keras.ops.convert_to_numpy(w))
    return np.array(path, dtype=np.float64)


keras.utils.set_random_seed(settings.seed)
sizes = keras.ops.convert_to_tensor(GRADIENT_SIZES, "float32")
constant = {
    name: run(name, lambda w: sizes, np.zeros_like(GRADIENT_SIZES), settings.steps)
    for name in ("corrected", "uncorrected")
}
curved = {
    name: run(name, lambda w: keras.ops.convert_to_tensor(w), [START], settings.steps)
    for name in ("corrected", "uncorrected")
}

# %% [markdown]
# ## Compare: the first steps
#
# Each run's step in units of lr, and the ratio uncorrected / corrected
# next to its closed form for a constant gradient. That gradient gives
# $m = (1 - \beta_1^t)\, g$ and $\sqrt{v} = \sqrt{1 - \beta_2^t}\, |g|$ exactly, so the
# corrected step is lr and the uncorrected one $\text{lr}\, (1 - \beta_1^t) / \sqrt{1 - \beta_2^t}$
# (when $|g|$ is far above $\epsilon$). At step 1, $m$ holds 10% of $g$
# but $\sqrt{v}$ only 3.2% of $|g|$: the denominator is shrunk more, so
# the uncorrected step is **larger**. The last two columns correct one
# moment only (float64 NumPy): both go wrong, in opposite directions.

# %%
steps = evidence.steps_table(constant, curved, LEARNING_RATE, BETA_1, BETA_2, EPSILON)  # constant: the g = 1 weight
outputs.save_table(show(steps, f"Adam's first {settings.steps} steps, in units of lr = {LEARNING_RATE:g}"), settings)

# %% [markdown]
# In the figure, left: a constant gradient's steps (log scale); middle: the
# ratio, which reaches 1 only after a few thousand steps with $\beta_2 = 0.999$;
# right: the curved loss, where the uncorrected run overshoots the minimum,
# then sees smaller and reversed gradients, and its ratio leaves the formula
# after step 1. The four rules drawn on the left, in Keras's convention
# ($m$, $v$ as above):
#
# $$
# \begin{aligned}
# \text{Keras Adam:}\quad w &\leftarrow w
# - \text{lr}\, \frac{\sqrt{1 - \beta_2^t}}{1 - \beta_1^t} \cdot \frac{m}{\sqrt{v} + \epsilon} \\
# \text{uncorrected:}\quad w &\leftarrow w - \text{lr}\, \frac{m}{\sqrt{v} + \epsilon} \\
# \text{only } m \text{ corrected:}\quad w &\leftarrow w
# - \frac{\text{lr}}{1 - \beta_1^t} \cdot \frac{m}{\sqrt{v} + \epsilon} \\
# \text{only } v \text{ corrected:}\quad w &\leftarrow w
# - \text{lr}\, \sqrt{1 - \beta_2^t} \cdot \frac{m}{\sqrt{v} + \epsilon}
# \end{aligned}
# $$

# %%
outputs.save_figure(evidence.plot_steps(steps, curved, GRADIENT_SIZES[-1], LEARNING_RATE), settings, "steps")

# %% [markdown]
# ## Compare: where epsilon takes over
#
# The paper (Kingma and Ba, Algorithm 1), and PyTorch with it, add $\epsilon$
# to the **corrected** root:
#
# $$
# \begin{aligned}
# \hat m &= \frac{m}{1 - \beta_1^t}, \qquad \hat v = \frac{v}{1 - \beta_2^t} \\
# w &\leftarrow w - \text{lr}\, \frac{\hat m}{\sqrt{\hat v} + \epsilon}
# \end{aligned}
# $$
#
# Keras adds it to the uncorrected $\sqrt{v}$ (its docstring: the paper's
# "epsilon hat"). The two are one update when Keras's $\epsilon$ equals the
# paper's $\epsilon \sqrt{1 - \beta_2^t}$: Keras's 1e-7 acts like the paper's
# 3.16e-6 at step 1. Below, step 1 of Keras's two Adams for each gradient
# size, next to the paper's corrected step (float64 NumPy). Because Keras's
# correction is a factor on lr and $\epsilon$ sits outside it, Keras's
# ratio cannot depend on $g$; the paper's can.
#
# If your gradients are that small (a loss in tiny units), the fix is one
# argument: a smaller ``epsilon``. The last column is step 1 of Keras's
# ``Adam(epsilon=SMALLER_EPSILON)``, fed the same gradients.

# %%
smaller = run("corrected", lambda w: sizes, np.zeros_like(GRADIENT_SIZES), 1, epsilon=SMALLER_EPSILON)
by_size = evidence.gradient_size_table(
    GRADIENT_SIZES, constant, LEARNING_RATE, BETA_1, BETA_2, EPSILON, smaller_epsilon=(SMALLER_EPSILON, smaller)
)
outputs.save_table(show(by_size, "Step 1 by the constant gradient's size"), settings, "gradient_size")
outputs.save_figure(evidence.plot_gradient_sizes(by_size, EPSILON, BETA_2, SMALLER_EPSILON), settings, "gradient_size")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``11_adam_bias_correction_claims.json``.

# %%
claims.remember(
    evidence.claims(steps, by_size, beta_1=BETA_1, beta_2=BETA_2, epsilon=EPSILON, smaller_epsilon=SMALLER_EPSILON),
    settings,
)
