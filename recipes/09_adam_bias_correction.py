"""Adam's bias correction: without it the early steps are 3.2x to 6.6x LARGER, not smaller.

Adam's moments m and v start at zero, so early on they are too small: after
one step m = (1 - b1) g and v = (1 - b2) g^2. Dividing the two, the
uncorrected first step is lr (1 - b1) / sqrt(1 - b2) = 3.16 lr for the
default betas (0.9, 0.999): v is shrunk far more than m, so dropping the
correction makes the first steps larger (Kingma and Ba, section 3), and the
ratio (1 - b1^t) / sqrt(1 - b2^t) peaks at 6.6 near step 12 and only falls
to 1 after a few thousand steps. We measure it with the cookbook's
``Adam(bias_correction=False)`` on a constant gradient, next to the two half
corrections (m only, v only, in float64 NumPy) and the closed form. It
builds on recipe 06 (optimizer paths) and 08 (Adagrad and RMSprop).

Run it: ``python recipes/09_adam_bias_correction.py`` (``--quick`` for a few seconds).
"""

# %% [markdown]
# ## Setup

# %%
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.recipe
from cookbook import landscapes, lessons, optimizers
import keras

LEARNING_RATE = 0.001
BETA_1, BETA_2 = 0.9, 0.999      # Keras's defaults
GRADIENT = 0.5                   # any constant works: Adam's step does not depend on the gradient's scale
STEPS = 20                       # the first steps, measured with the optimizer itself
LONG_RUN = (1, 10, 12, 100, 1000, 3000, 5000)   # steps for the closed-form table


# %% [markdown]
# ## Data
#
# A constant gradient isolates the correction: the "loss" is the straight
# line f(w) = GRADIENT * w, so every step sees the same gradient and, with
# the correction on, Adam's step is exactly ``lr`` from the first step on.

# %%
def prepare_data(args):
    """The loss with a constant gradient, and the starting weight."""
    return (lambda w: GRADIENT * w), 0.0


# %% [markdown]
# ## Model
#
# Two cookbook Adams that differ only in ``bias_correction``. The paper's
# correction divides m by (1 - b1^t) and v by (1 - b2^t); Keras (and the
# cookbook's twin) folds both into the step size
# ``lr * sqrt(1 - b2^t) / (1 - b1^t)``.

# %%
def build_optimizers():
    """``{"corrected": Adam(), "uncorrected": Adam(bias_correction=False)}``."""
    return {
        "corrected": optimizers.Adam(LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2),
        "uncorrected": optimizers.Adam(LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2, bias_correction=False),
    }


# %% [markdown]
# ## Train

# %%
def train(f, start, steps=STEPS):
    """Walk both Adams ``steps`` steps; ``{name: |step| per step}`` measured on the weight."""
    paths = landscapes.run_paths(build_optimizers(), start, f, steps)
    return {name: np.abs(path.steps[:, 0]) for name, path in paths.items()}


# %% [markdown]
# ## Compare
#
# Why the uncorrected moments start near zero: m and v are running averages
# that begin at 0, so after t steps of a constant gradient g they hold only
# the fraction (1 - b1^t) of g and (1 - b2^t) of g^2. With b2 = 0.999 the
# second fraction is 0.001 at t = 1; its square root, 0.032, is much smaller
# than m's 0.1, and the division by a too-small sqrt(v) wins. Correcting
# only v (m left uncorrected) would make the first step 10x too *small*;
# correcting only m makes it 31.6x too large; correcting both makes it
# exactly lr (the last two columns of the table).
#
# "Adam is Momentum + AdaGrad", as some notes put it, is closer to Momentum
# + RMSprop: Adam's v is an exponential moving *average* of g^2, as in
# RMSprop, not AdaGrad's running *sum*, so Adam's step does not shrink like
# 1/sqrt(t) over a long run (recipe 08 shows AdaGrad's does).

# %%
def compare(measured):
    """Per step: measured |step| with and without correction, their ratio, the half corrections."""
    t = np.arange(1, len(measured["corrected"]) + 1)
    gradients = np.full(len(t), GRADIENT)
    numpy_steps = lambda **switch: lessons.adam_step_sizes(gradients, LEARNING_RATE, BETA_1, BETA_2, **switch)
    half = {"m only uncorrected (NumPy)": numpy_steps(correct_m=False),
            "v only uncorrected (NumPy)": numpy_steps(correct_v=False)}
    return pd.DataFrame({
        "step": t,
        "|step| corrected / lr": measured["corrected"] / LEARNING_RATE,
        "|step| uncorrected / lr": measured["uncorrected"] / LEARNING_RATE,
        "measured ratio": measured["uncorrected"] / measured["corrected"],
        "(1-b1^t)/sqrt(1-b2^t)": lessons.bias_correction_ratio(t, BETA_1, BETA_2),
        **{name: steps / LEARNING_RATE for name, steps in half.items()},
    })


def long_run_table():
    """The closed-form ratio far beyond the measured steps: it only returns to 1 after thousands."""
    t = np.array(LONG_RUN)
    return pd.DataFrame({"step": t, "uncorrected / corrected": lessons.bias_correction_ratio(t, BETA_1, BETA_2)})


def plot_steps(table):
    """Left: |step| / lr over the first steps. Right: the closed-form ratio over 10,000 steps."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    for column in ("|step| corrected / lr", "|step| uncorrected / lr",
                   "m only uncorrected (NumPy)", "v only uncorrected (NumPy)"):
        left.plot(table["step"], table[column], "o-", markersize=3, label=column)
    left.set(xlabel="step t", ylabel="|step| / lr", yscale="log", title="Adam's first steps, constant gradient")
    left.legend()
    t = np.unique(np.geomspace(1, 10_000, 300).astype(int))
    right.plot(t, lessons.bias_correction_ratio(t, BETA_1, BETA_2), label="closed form")
    right.plot(table["step"], table["measured ratio"], ".", label="measured (cookbook Adam)")
    right.axhline(1.0, color="grey", linestyle="--")
    right.set(xlabel="step t", xscale="log", ylabel="uncorrected / corrected",
              title="(1 - b1^t) / sqrt(1 - b2^t)")
    right.legend()
    return fig


# %%
def main(argv=None):
    """Measure the first steps with and without bias correction; tables and a figure."""
    parser = cookbook.recipe.make_parser(__doc__, __file__)
    args = cookbook.recipe.parse_args(parser, argv)
    keras.utils.set_random_seed(args.seed)  # nothing is random here; kept for the contract

    f, start = prepare_data(args)
    measured = train(f, start)
    table = compare(measured)
    long_run = long_run_table()

    cookbook.recipe.print_table(table, f"{args.recipe}: Adam's first {STEPS} steps (lr = {LEARNING_RATE:g})")
    cookbook.recipe.print_table(long_run, "Closed form, far beyond: uncorrected / corrected step")
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_table(long_run, args, "long_run")
    cookbook.recipe.save_figure(plot_steps(table), args, "steps")
    return table


if __name__ == "__main__":
    main()
