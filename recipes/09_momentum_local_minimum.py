"""Momentum and a local minimum: momentum carries the ball over a low hump in whichever direction it moves.

On the tilted double well ``f(x) = x**4/4 - x**2/2 - 0.2 x`` (a shallow
minimum on the left, the deep one on the right) ``keras.optimizers.SGD``,
fed the exact gradient, runs from eight starts on both sides of the hump,
with and without momentum. Plain SGD on the exact gradient is batch gradient
descent: it stops in the first minimum it meets. Momentum keeps its speed
and can cross the hump, out of the shallow well and out of the deep one.

Run it: ``python recipes/09_momentum_local_minimum.py`` (``--quick`` for a
few-second look with two learning rates and two momenta). What this lesson
measures lives in ``cookbook/lessons/momentum_local_minimum.py``.
"""

# %% [markdown]
# ## Settings
#
# Run as a script, the command line sets these (``--quick``, ``--seed``,
# ``--out``, ``--steps``; see ``--help``); in a notebook, edit them here.
# The cookbook is imported before Keras so that TensorFlow's start-up log
# lines stay out of the output. The default grid is 4 learning rates x 4
# momenta (momentum 0 is plain SGD), each from 8 starts; ``--quick`` keeps
# learning rates 0.03 and 0.3 and momenta 0 and 0.9.

# %%
from cookbook import claims, outputs  # first: hides TensorFlow's start-up log lines
from cookbook.display import show
from cookbook.lessons import momentum_local_minimum as evidence
from cookbook.settings import from_command_line

import keras

settings = from_command_line(
    __doc__,
    "09_momentum_local_minimum",
    quick=False,
    seed=0,
    out="cookbook-out",
    steps=300,
    quick_steps=100,
    steps_help="optimizer steps per run",
)
TILT = 0.2  # f(x) = x**4/4 - x**2/2 - TILT * x: the right minimum is the deeper one
STARTS = (-1.8, -1.5, -1.2, -0.6, 0.0, 0.6, 1.2, 2.0)  # four on each side of the hump
LEARNING_RATES = (0.03, 0.3) if settings.quick else (0.01, 0.03, 0.1, 0.3)
MOMENTA = (0.0, 0.9) if settings.quick else (0.0, 0.5, 0.9, 0.95)  # 0.0 is plain SGD
DRAWN_LEARNING_RATE, DRAWN_STARTS = 0.03, (-1.5, 2.0)  # the runs drawn step by step
VELOCITY_STEPS = 50  # steps under a constant gradient, to watch momentum's step grow
keras.utils.set_random_seed(settings.seed)  # nothing here is random: no data, no shuffling

# %% [markdown]
# ## Data
#
# No dataset: the "data" is the landscape. Its critical points are the
# roots of ``f'(x) = x**3 - x - TILT`` (``numpy.roots``, independently of
# any optimizer). The hump between the wells is low on the left and high
# on the right: a ball needs far less speed to leave the shallow well.

# %%
well = evidence.Well.with_tilt(TILT)
outputs.save_table(show(well.landmarks(STARTS), "The landscape and the starts"), settings, "landscape")

# %% [markdown]
# ## Model
#
# Why the two behave differently: SGD moves by ``lr * g``, which dies out
# wherever the slope does, at the first minimum it meets. Momentum's
# velocity ``v`` adds up past steps with weights ``1, momentum,
# momentum^2, ...``; on a steady slope it grows to ``1 / (1 - momentum)``
# times SGD's step. Feed each optimizer the same gradient, 1, fifty times
# and watch its step grow. ``apply_gradients`` takes ``(gradient,
# variable)`` pairs from anywhere, so no loss is needed; each position is
# kept as a tensor (``keras.ops.copy``) and converted once at the end.

# %%
walks = {}
for momentum in MOMENTA:
    optimizer = keras.optimizers.SGD(learning_rate=DRAWN_LEARNING_RATE, momentum=momentum)
    w = keras.Variable(0.0)
    trail = [keras.ops.copy(w)]
    for _ in range(VELOCITY_STEPS):
        optimizer.apply_gradients([(keras.ops.ones(()), w)])
        trail.append(keras.ops.copy(w))
    walks[momentum] = keras.ops.convert_to_numpy(keras.ops.stack(trail))
velocity = show(evidence.velocity_table(walks, DRAWN_LEARNING_RATE, 1.0), "Step length under a constant gradient 1")
outputs.save_table(velocity, settings, "velocity")

# %% [markdown]
# ## Train
#
# One ``SGD`` optimizer per (learning rate, momentum) and one
# ``keras.Variable`` holding all eight starts; ``settings.steps`` calls of
# ``apply_gradients``, every position recorded. The gradient is **exact**,
# ``f'(x) = x**3 - x - TILT`` written out by hand: no samples, no noise.
# That is what batch gradient descent computes from all its data, so
# ``SGD`` with momentum 0 here *is* batch GD. Each entry's gradient is
# ``f'`` at that entry alone, so the eight starts are eight independent
# runs that share one optimizer object. Nothing here needs a gradient tape,
# so the lesson runs on any Keras backend.

# %%
positions = {}
for lr in LEARNING_RATES:
    for momentum in MOMENTA:
        optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=momentum)
        x = keras.Variable(STARTS, dtype="float32")
        path = [keras.ops.copy(x)]
        for _ in range(settings.steps):
            gradient = x**3 - x - TILT  # f'(x), exact: the gradient batch gradient descent computes
            optimizer.apply_gradients([(gradient, x)])
            path.append(keras.ops.copy(x))
        positions[lr, momentum] = keras.ops.convert_to_numpy(keras.ops.stack(path))  # (steps + 1, starts)

# %% [markdown]
# ## Compare
#
# Where each run ended (within 0.05 of a minimum, or diverged, or still
# moving) and how often its path crossed the top of the hump. "first
# minimum" is where the slope leads from the start: the shallow one left
# of the hump, the deep one right of it.

# %%
table = show(evidence.endings_table(positions, STARTS, well), f"Where each run ended after {settings.steps} steps")
outputs.save_table(table, settings)
outputs.save_table(evidence.positions_table(positions, STARTS), settings, "positions")
show(evidence.endings_counts(table), "Endings per momentum and side of the hump (runs over learning rates and starts)")

# %% [markdown]
# Each Momentum run next to plain SGD at the same learning rate from the
# same start: did momentum end deeper, the same, or shallower? If momentum
# preferred deep minima, "shallower" would never happen.

# %%
compared = evidence.against_sgd(table)
outputs.save_table(compared, settings, "against_sgd")
show(compared["outcome"].value_counts().rename_axis("momentum vs SGD").reset_index(), "Momentum against SGD")

# %% [markdown]
# ### The update rules and the paths
#
# For the gradient $g$ of $f$ at $w$, as ``keras.optimizers.SGD``
# writes them (lr is ``learning_rate``, momentum is the keyword
# ``momentum``, $v$ starts at 0):
#
# $$
# \begin{aligned}
# \text{SGD (momentum = 0):}\quad w &\leftarrow w - \text{lr}\, g \\
# \text{Momentum (Keras):}\quad v &\leftarrow \text{momentum}\, v - \text{lr}\, g \\
# w &\leftarrow w + v \\
# \text{Momentum (textbook, PyTorch):}\quad v &\leftarrow \text{momentum}\, v + g \\
# w &\leftarrow w - \text{lr}\, v
# \end{aligned}
# $$
#
# Keras's velocity includes the learning rate; the textbook's does not.
# With a constant ``lr`` the two give the same path (Keras's ``v`` is
# ``-lr`` times the textbook's); with a schedule they differ, because Keras
# applies each step's ``lr`` to that step's gradient only.
#
# Left: the landscape and the eight starts. Middle and right: ``x`` over
# the steps at learning rate 0.03 from -1.5 (the shallow well comes first)
# and from 2.0 (the deep well comes first). Watch SGD's step shrink as it
# nears a minimum, and momentum arrive at the bottom still moving: it
# overshoots, swings back, and, if fast enough, crosses the hump.

# %%
figure = evidence.plot_paths(positions, STARTS, DRAWN_STARTS, DRAWN_LEARNING_RATE, well)
outputs.save_figure(figure, settings, "paths")

# %% [markdown]
# Every run at once: one row per optimizer setting, one column per start,
# the colour (and letter) saying where it ended. Left of the red line the
# shallow well comes first, right of it the deep one. A row that stops in
# the first minimum it meets changes colour exactly at the line; look for
# the momentum rows that do not, on either side of it.

# %%
outputs.save_figure(evidence.plot_endings(table, well, settings.steps), settings, "endings")

# %% [markdown]
# ## What to remember
#
# Each point is a conclusion this run measured, then its numbers; the same
# records are written to ``09_momentum_local_minimum_claims.json``.

# %%
claims.remember(evidence.claims(table, velocity, well, DRAWN_LEARNING_RATE), settings)
