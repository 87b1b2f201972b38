"""Optimizer paths on a stretched bowl: SGD zig-zags, momentum and adaptive steps reverse less.

Five optimizers (the cookbook's twins of SGD, Momentum, Adagrad, RMSprop and
Adam) walk down f(x, y) = x**2/20 + y**2 from (-7, 2) with
``apply_gradients`` on two ``keras.Variable``s; we draw each path on the
contours and measure the zig-zag (how often the y-step reverses), the steps
to |grad f| < 1e-3, the path length and the final f. It builds on recipe 05
(gradient descent variants); how each optimizer is written is recipe 11.

What it shows, measured: SGD's y-step reverses on 69 of its 70 steps;
Momentum still reverses (14 times: it swings across the valley with
shrinking amplitude) and Adam a few times, but both arrive in about a third
of SGD's steps, on paths 33% (Momentum) and 60% (Adam) shorter. Adagrad does not reverse
at all here, partly by luck: its first step is about lr * sign(g) = 2,
which lands near y = 0 from y = 2. RMSprop arrives first but then rattles
around the minimum (no momentum, constant step), so it is not "at the
minimum" after the last step.

Settings, stated so nothing is hidden: each optimizer uses the fastest
learning rate of the grid LR_GRID whose path is still at the minimum after
the last step (``--sweep`` prints that whole grid; RMSprop's path never
stays, so it gets its fastest). Momentum and Adam use a momentum (beta_1) of
0.5, not Keras's 0.9: on a bowl this small 0.9 overshoots and rings for
~100 steps and loses to plain SGD; the last two rows show exactly that.

Run it: ``python recipes/06_optimizer_paths.py`` (``--quick`` for a few
seconds, ``--sweep`` to re-derive the learning rates).
"""

# %% [markdown]
# ## Setup

# %%
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import cookbook  # first: imports TensorFlow with its start-up log lines hidden
import cookbook.recipe
from cookbook import landscapes, optimizers
import keras

STEPS = 150            # every optimizer gets the same budget of steps
QUICK_STEPS = STEPS    # a path costs milliseconds: --quick keeps the full budget
TOLERANCE = 1e-3       # |grad f| below this counts as "at the minimum"
LR_GRID = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.5, 2.0)
MOMENTUM = 0.5         # Momentum's momentum and Adam's beta_1 (see the docstring)
KERAS_DEFAULT_MOMENTUM = 0.9

# name: (optimizer factory, learning rate picked from LR_GRID by `--sweep`)
OPTIMIZERS = {
    "SGD": (lambda lr: optimizers.SGD(lr), 0.9),
    "Momentum": (lambda lr: optimizers.Momentum(lr, momentum=MOMENTUM), 1.0),
    "Adagrad": (lambda lr: optimizers.Adagrad(lr), 2.0),
    "RMSprop": (lambda lr: optimizers.RMSprop(lr), 0.7),
    "Adam": (lambda lr: optimizers.Adam(lr, beta_1=MOMENTUM), 1.0),
    "Momentum (0.9)": (lambda lr: optimizers.Momentum(lr, momentum=KERAS_DEFAULT_MOMENTUM), 0.5),
    "Adam (beta_1=0.9)": (lambda lr: optimizers.Adam(lr, beta_1=KERAS_DEFAULT_MOMENTUM), 0.5),
}


# %% [markdown]
# ## Data
#
# No dataset: the "data" is the landscape. Its curvature is 0.1 along x and
# 2 along y, so any learning rate big enough to move along x quickly is too
# big for y, and plain SGD overshoots y on every step.

# %%
def prepare_data(args):
    """The landscape, the start point and the step budget for this run."""
    steps = args.steps if args.steps is not None else (QUICK_STEPS if args.quick else STEPS)
    return landscapes.anisotropic_bowl, landscapes.BOWL_START, steps


# %% [markdown]
# ## Model
#
# The "model" is two ``keras.Variable``s (x, y); each optimizer gets its own
# pair and its own fresh state.

# %%
def build_optimizers(names=None):
    """Fresh optimizers ``{name: optimizer}`` at their chosen learning rates."""
    names = names or list(OPTIMIZERS)
    return {name: OPTIMIZERS[name][0](OPTIMIZERS[name][1]) for name in names}


# %% [markdown]
# ## Train

# %%
def train(f, start, steps):
    """Walk every optimizer ``steps`` steps from ``start``; ``{name: Path}``."""
    return landscapes.run_paths(build_optimizers(), start, f, steps)


def sweep_learning_rates(f, start, steps):
    """Steps to the tolerance, and whether the path stays there, for every name x learning rate."""
    rows = []
    for name, (make, _) in OPTIMIZERS.items():
        paths = landscapes.run_paths({lr: make(lr) for lr in LR_GRID}, start, f, steps)
        for lr, path in paths.items():
            reached = landscapes.steps_to_tolerance(path, TOLERANCE)
            rows.append({"optimizer": name, "learning rate": lr,
                         "steps to tolerance": reached if reached is not None else f"not within {steps}",
                         "stays at the minimum": bool(np.linalg.norm(path.gradients[-1]) < TOLERANCE)})
    return pd.DataFrame(rows)


# %% [markdown]
# ## Compare
#
# The zig-zag is counted, not just drawn: the number of times the y-step
# reverses direction before the optimizer reaches the minimum (or within
# the budget if it never does). "Stays" tells a path that sits at the
# minimum after the last step from one that passed through it: RMSprop
# without momentum divides a tiny gradient by its own tiny average size, so
# near the minimum it keeps taking steps of about one learning rate.

# %%
def compare(paths, steps):
    """One row per optimizer: steps to |grad f| < tolerance, zig-zags, length, final f."""
    rows = []
    for name, path in paths.items():
        reached = landscapes.steps_to_tolerance(path, TOLERANCE)
        rows.append({
            "optimizer": name,
            "learning rate": OPTIMIZERS[name][1],
            f"steps to |grad| < {TOLERANCE:g}": reached if reached is not None else f"not within {steps}",
            "y-step sign changes": landscapes.sign_changes(path, axis=1, until=reached),
            "path length": landscapes.path_length(path, until=reached),
            "final f": float(path.values[-1]),
            "stays at the minimum": bool(np.linalg.norm(path.gradients[-1]) < TOLERANCE),
        })
    return pd.DataFrame(rows)


def plot_paths(f, paths):
    """A grid of contour plots, one path per panel, the minimum marked."""
    fig = Figure(figsize=(12, 6), layout="constrained")
    axes = fig.subplots(2, 4).ravel()
    xs, ys = np.meshgrid(np.linspace(-10, 10, 81), np.linspace(-5, 5, 41))
    for ax, (name, path) in zip(axes, paths.items()):
        ax.contour(xs, ys, f(xs, ys), levels=np.geomspace(0.05, 25, 12), colors="lightgrey")
        ax.plot(path.points[:, 0], path.points[:, 1], "o-", color="tab:red", markersize=2, linewidth=1)
        ax.plot(0, 0, "+", color="black", markersize=10)
        ax.set(title=f"{name} (lr={OPTIMIZERS[name][1]:g})", xlim=(-10, 10), ylim=(-5, 5))
    for ax in axes[len(paths):]:
        ax.set_axis_off()
    fig.suptitle("f(x, y) = x^2/20 + y^2 from (-7, 2)")
    return fig


# %%
def main(argv=None):
    """Walk five optimizers (and two with Keras's default momentum), tabulate and plot the paths."""
    parser = cookbook.recipe.make_parser(__doc__, __file__, steps=STEPS, quick_steps=QUICK_STEPS,
                                         steps_help="optimizer steps per path")
    parser.add_argument("--sweep", action="store_true",
                        help="also run every optimizer at every learning rate of LR_GRID (slow)")
    args = cookbook.recipe.parse_args(parser, argv)
    keras.utils.set_random_seed(args.seed)  # nothing is random here; kept for the contract

    f, start, steps = prepare_data(args)
    paths = train(f, start, steps)
    table = compare(paths, steps)

    cookbook.recipe.print_table(table, f"{args.recipe}: {steps} steps from {start}")
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_figure(plot_paths(f, paths), args, "paths")
    if args.sweep:
        sweep = sweep_learning_rates(f, start, steps)
        cookbook.recipe.print_table(sweep, "Every learning rate of LR_GRID")
        cookbook.recipe.save_table(sweep, args, "sweep")
    return table


if __name__ == "__main__":
    main()
