"""Momentum and a local minimum: plain SGD stops in the first dip, momentum rolls on.

On the tilted double well f(x) = x**4/4 - x**2/2 - 0.2 x, started at x = -1.5,
the first minimum the ball meets is shallow (x = -0.879, f = -0.061, behind a
hump only 0.081 high at x = -0.209); the global one is at x = +1.088
(f = -0.459). Plain SGD stops in the shallow one at every learning rate we
try, while Momentum with momentum=0.9 carries enough speed over the hump at
learning rates >= 0.03; the table shows every combination, including the
ones where momentum is too small (0.5 never escapes) or the steps too short
for it (at lr 0.01 only momentum 0.95 gets over the hump). It builds on
recipe 06 (optimizer paths) and uses the same ``landscapes.run_path`` helper.

Run it: ``python recipes/07_momentum_local_minimum.py`` (``--quick`` for a few seconds).
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

STEPS = 300
QUICK_STEPS = 200
LEARNING_RATES = (0.01, 0.03, 0.1, 0.3)
MOMENTA = (0.0, 0.5, 0.9, 0.95)          # 0.0 is plain SGD
QUICK_LEARNING_RATES = (0.03, 0.1)
QUICK_MOMENTA = (0.0, 0.9)
PLOT_LEARNING_RATE = 0.1                 # the runs drawn step by step
MINIMUM_TOLERANCE = 0.05                 # |x - minimum| that counts as "in" it


# %% [markdown]
# ## Data
#
# The landscape and its three critical points, found from f'(x) = 0
# independently of any optimizer.

# %%
def prepare_data(args):
    """The landscape, the start, its critical points and this run's grid."""
    local_min, hump, global_min = landscapes.double_well_critical_points()
    grid = ((QUICK_LEARNING_RATES, QUICK_MOMENTA) if args.quick else (LEARNING_RATES, MOMENTA))
    steps = QUICK_STEPS if args.quick else STEPS
    return {"f": landscapes.double_well, "start": landscapes.DOUBLE_WELL_START, "local": local_min,
            "hump": hump, "global": global_min, "grid": grid, "steps": steps}


# %% [markdown]
# ## Model
#
# One ``keras.Variable`` x per run. Momentum keeps a velocity
# ``v <- momentum * v - lr * grad`` and moves by it, so after a long slope
# it arrives at the dip with speed that the dip's small slope cannot stop.

# %%
def build_optimizer(learning_rate, momentum):
    """Plain SGD for momentum 0, else the cookbook's Momentum."""
    if momentum == 0:
        return optimizers.SGD(learning_rate)
    return optimizers.Momentum(learning_rate, momentum=momentum)


# %% [markdown]
# ## Train

# %%
def train(problem):
    """Run every (learning rate, momentum) of the grid; ``{(lr, momentum): Path}``."""
    learning_rates, momenta = problem["grid"]
    runs = {(lr, m): build_optimizer(lr, m) for lr in learning_rates for m in momenta}
    return landscapes.run_paths(runs, problem["start"], problem["f"], problem["steps"])


# %% [markdown]
# ## Compare

# %%
def where_it_ended(x, problem):
    """'local minimum', 'global minimum' or 'elsewhere' for a final position x."""
    if abs(x - problem["local"]) < MINIMUM_TOLERANCE:
        return "local minimum"
    if abs(x - problem["global"]) < MINIMUM_TOLERANCE:
        return "global minimum"
    return "elsewhere"


def compare(paths, problem):
    """One row per run: final x, where that is, and f there."""
    rows = []
    for (lr, momentum), path in paths.items():
        x = float(path.points[-1, 0])
        rows.append({"learning rate": lr, "momentum": momentum, "final x": x,
                     "ends in": where_it_ended(x, problem), "final f": float(path.values[-1])})
    return pd.DataFrame(rows)


def plot_positions(paths, problem):
    """Left: f with the start and the minima. Right: x over steps at PLOT_LEARNING_RATE."""
    fig = Figure(figsize=(11, 4), layout="constrained")
    left, right = fig.subplots(1, 2)
    xs = np.linspace(-1.8, 1.6, 300)
    left.plot(xs, problem["f"](xs), color="black")
    # Landmarks in black and grey markers, so no path colour on the right means a landmark.
    for name, marker in (("start", "s"), ("local", "v"), ("hump", "^"), ("global", "*")):
        x = problem[name]
        left.plot(x, problem["f"](x), marker, color="black" if name == "global" else "dimgrey",
                  markersize=10 if name == "global" else 7, linestyle="none",
                  label=f"{name}{' minimum' if name in ('local', 'global') else ''}: x = {x:.3f}")
    left.set(xlabel="x", ylabel="f(x)", title="f(x) = x^4/4 - x^2/2 - 0.2 x")
    left.legend()
    for (lr, momentum), path in paths.items():
        if np.isclose(lr, PLOT_LEARNING_RATE):
            label = "SGD" if momentum == 0 else f"Momentum {momentum:g}"
            right.plot(path.points[:, 0], label=label)
    right.axhline(problem["local"], color="dimgrey", linestyle=":", label="local minimum")
    right.axhline(problem["hump"], color="lightgrey", linestyle="-", label="top of the hump")
    right.axhline(problem["global"], color="black", linestyle="--", label="global minimum")
    right.set(xlabel="step", ylabel="x", title=f"x over steps (lr = {PLOT_LEARNING_RATE:g})")
    right.legend()
    return fig


# %%
def main(argv=None):
    """Run the grid, tabulate where each run ends, plot x over steps."""
    parser = cookbook.recipe.make_parser(__doc__, __file__)
    args = cookbook.recipe.parse_args(parser, argv)
    keras.utils.set_random_seed(args.seed)  # nothing is random here; kept for the contract

    problem = prepare_data(args)
    paths = train(problem)
    table = compare(paths, problem)

    cookbook.recipe.print_table(table, f"{args.recipe}: final x after {problem['steps']} steps from "
                                       f"x = {problem['start']}")
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_figure(plot_positions(paths, problem), args, "positions")
    return table


if __name__ == "__main__":
    main()
