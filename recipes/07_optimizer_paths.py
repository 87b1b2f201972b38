"""Optimizer paths on a stretched bowl: SGD, RMSprop and tuned Momentum zig-zag, Adagrad and Adam far less; momentum 0.9 rings.

SGD, Momentum, Adagrad, RMSprop and Adam (Keras's built-ins), each fed the
exact gradient of f(x, y) = x**2/20 + y**2 (condition number 20), walk down
from (-7, 2) in an ``apply_gradients`` loop written in the lesson; we draw
every path on the contours, count how often its y-step reverses (the
zig-zag across the valley) and its x-step (swings along it), and time its
arrival at the minimum. Beside the runs sits the theory of Momentum on a
quadratic, the "heavy ball": the best momentum for condition number k = 20 is
((sqrt(k) - 1) / (sqrt(k) + 1))**2 = 0.40, no learning rate converges faster
than sqrt(momentum) per step, and a grid search of (learning rate, momentum)
is held against it. It builds on recipe 06 (``keras.optimizers.SGD``);
recipe 08 puts momentum on a landscape with two minima, recipe 14 shows how
each optimizer is written.

Measured in the default run (the tests hold these with margins): SGD
reverses its y-step on 69 of its 70 steps to the minimum, RMSprop on 15 of
16 (and then rattles around the minimum: it never stays), and Momentum at
the grid's fastest setting (lr 1.3, momentum 0.4, next to the theory's 1.34
and 0.40) on 19 of 22: momentum does not stop the zig-zag, it speeds up the
slow direction. Adagrad reverses 0 times (its first step happens to land
near y = 0) and Adam with beta_1 0.5 on 6 of 21 steps. With the customary
0.9 (Keras's default beta_1 for Adam), Momentum and Adam swing along the
valley and need 106 and 102 steps, more than SGD's 70.

Run it: ``python recipes/07_optimizer_paths.py`` (``--quick`` for a smaller
grid, ``--sweep`` to re-derive the learning rates of the runs shown).
"""

# %% [markdown]
# ## Setup
#
# Every setting is a named constant. The learning rates of the runs shown
# were picked by ``--sweep``: for each optimizer, the fastest rate of
# ``LR_GRID`` whose path reaches the minimum and is still there after the
# last step (RMSprop's never stays, so it gets its fastest). Momentum's
# setting is not picked from a list: it is computed from the theory below.

# %%
import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.recipe
from cookbook.lessons import landscapes

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

# The lesson's loop takes its gradients with TensorFlow: under another Keras
# backend the script stops here with one line saying why (the tour skips it).
NEEDS_TENSORFLOW = cookbook.recipe.needs_tensorflow("its apply_gradients loop takes gradients with tf.GradientTape")
import tensorflow as tf  # noqa: E402  (after the check above)

START = (-7.0, 2.0)  # far along the flat x direction, up the steep y wall
STEPS = 150  # every optimizer gets the same budget of steps
QUICK_STEPS = 150  # a path costs a fraction of a second: --quick keeps the budget, shrinks the grid
TOLERANCE = 1e-3  # gradient norm below this counts as "at the minimum"
LR_GRID = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.5, 2.0)  # what --sweep tries
# The rates --sweep picked, and the two runs with the customary 0.9 (Keras's default beta_1 for Adam).
SGD_LR, ADAGRAD_LR, RMSPROP_LR = 0.9, 2.0, 0.7
ADAM_LR, ADAM_BETA_1 = 1.0, 0.5
RINGING_MOMENTUM, RINGING_LR = 0.9, 0.5  # the customary momentum / beta_1, at its fastest LR_GRID rate
# Momentum's grid search, measured next to the theory.
GRID_LEARNING_RATES = (0.3, 0.5, 0.7, 0.9, 1.1, 1.3)
GRID_MOMENTA = (0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 0.9)
QUICK_GRID_LEARNING_RATES = (0.5, 0.9, 1.3)
QUICK_GRID_MOMENTA = (0.0, 0.4, 0.6, 0.9)


# %% [markdown]
# Helpers that measure and draw. The Keras code is in ``main`` below.


# %%
def settings(optimizer):
    """The settings that matter here, read from the optimizer's own config: 'lr 0.9, momentum 0.5'."""
    config = optimizer.get_config()
    parts = [f"lr {config['learning_rate']:.3g}"]
    if config.get("momentum"):
        parts.append(f"momentum {config['momentum']:.3g}")
    if "beta_1" in config:
        parts.append(f"beta_1 {config['beta_1']:g}, beta_2 {config['beta_2']:g}")
    return ", ".join(parts)


def fitted_rate(path, until):
    """The factor by which the distance to the minimum (0, 0) shrinks per step, over the first ``until`` steps.

    ``exp`` of the least-squares slope of log(distance) against the step: a
    fit, so a path that swings is not judged by where one swing happens to end.
    """
    distance = np.linalg.norm(path.points[: until + 1], axis=1)
    slope = np.polyfit(np.arange(until + 1), np.log(distance), 1)[0]
    return float(np.exp(slope))


def measure(path, steps):
    """Steps to the tolerance, zig-zags, overshoots, length and final f of one path."""
    reached = landscapes.steps_to_tolerance(path, TOLERANCE)
    counted = reached if reached is not None else steps
    reversals = landscapes.sign_changes(path, axis=1, until=reached)
    return {
        f"steps to grad norm < {TOLERANCE:g}": reached if reached is not None else f"not within {steps}",
        "y-step reversals": reversals,
        "share of steps reversing": reversals / max(counted - 1, 1),
        "x-step reversals": landscapes.sign_changes(path, axis=0, until=reached),
        "path length": landscapes.path_length(path, until=reached),
        "final f": float(path.values[-1]),
        "stays at the minimum": bool(np.linalg.norm(path.gradients[-1]) < TOLERANCE),
    }


def describe_roots(roots):
    """How one direction moves: 'real, positive' (glides), 'real, negative' (flips each step), 'complex' (swings)."""
    if abs(roots[0].imag) > 1e-6:  # a double root can come out with a rounding-size imaginary part
        period = 2 * np.pi / abs(np.angle(roots[0]))
        return f"complex: swings, period {period:.1f} steps"
    return "real, negative: flips every step" if roots[0].real < 0 else "real, positive: glides"


def grid_search(f, steps, learning_rates, momenta):
    """Steps to the tolerance for every (learning rate, momentum), with the theory's rate beside each."""
    runs = {(lr, m): keras.optimizers.SGD(learning_rate=lr, momentum=m) for m in momenta for lr in learning_rates}
    paths = landscapes.run_paths(runs, START, f, steps)
    rows = []
    for (lr, m), path in paths.items():
        reached = landscapes.steps_to_tolerance(path, TOLERANCE)
        rate = max(abs(landscapes.heavy_ball_roots(lr, m, h)[0]) for h in landscapes.BOWL_CURVATURES)
        rows.append(
            {
                "learning rate": lr,
                "momentum": m,
                "predicted rate per step": rate,
                "steps to the tolerance": reached if reached is not None else np.nan,
            }
        )
    return pd.DataFrame(rows)


def sweep_learning_rates(f, steps):
    """``--sweep``: steps to the tolerance, and whether the path stays, for each optimizer x LR_GRID."""
    factories = {
        "SGD": lambda lr: keras.optimizers.SGD(learning_rate=lr),
        "Adagrad": lambda lr: keras.optimizers.Adagrad(learning_rate=lr),
        "RMSprop": lambda lr: keras.optimizers.RMSprop(learning_rate=lr),
        f"Adam beta_1 {ADAM_BETA_1:g}": lambda lr: keras.optimizers.Adam(lr, beta_1=ADAM_BETA_1),
        f"Momentum {RINGING_MOMENTUM:g}": lambda lr: keras.optimizers.SGD(lr, momentum=RINGING_MOMENTUM),
        f"Adam beta_1 {RINGING_MOMENTUM:g}": lambda lr: keras.optimizers.Adam(lr, beta_1=RINGING_MOMENTUM),
    }
    rows = []
    for name, make in factories.items():
        for lr, path in landscapes.run_paths({lr: make(lr) for lr in LR_GRID}, START, f, steps).items():
            reached = landscapes.steps_to_tolerance(path, TOLERANCE)
            rows.append(
                {
                    "optimizer": name,
                    "learning rate": lr,
                    "steps to the tolerance": reached if reached is not None else f"not within {steps}",
                    "stays at the minimum": bool(np.linalg.norm(path.gradients[-1]) < TOLERANCE),
                }
            )
    return pd.DataFrame(rows)


def plot_paths(f, paths, labels):
    """One contour panel per run, its path on top; same axes, equal aspect, so the geometry is true."""
    fig = Figure(figsize=(12, 12.5), layout="constrained")
    axes = fig.subplots(4, 2, sharex=True, sharey=True).ravel()
    xs, ys = np.meshgrid(np.linspace(-8, 8, 161), np.linspace(-3.5, 3.5, 71))
    for ax, (name, path) in zip(axes, paths.items()):
        ax.contour(xs, ys, f(xs, ys), levels=np.geomspace(0.02, 12, 10), colors="lightgrey", linewidths=0.8)
        ax.plot(
            path.points[:, 0], path.points[:, 1], "o-", color="tab:red", markersize=2.5, linewidth=1, label=labels[name]
        )
        ax.plot(*START, "s", color="black", markersize=5)
        ax.plot(0, 0, "+", color="black", markersize=12, markeredgewidth=2)
        ax.set(xlim=(-8, 8), ylim=(-3.5, 3.5), aspect="equal", xlabel="x", ylabel="y", title=name)
        ax.tick_params(labelbottom=True, labelleft=True)
        ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
    for ax in axes[len(paths) :]:
        ax.set_axis_off()
    fig.suptitle(
        "f(x, y) = x^2/20 + y^2: each optimizer's path from the square (-7, 2) to the cross (0, 0), one dot per step"
    )
    return fig


def plot_rates(paths, labels, predicted, grid, beta_star, names):
    """Left: distance to the minimum per step, with the theory's rate. Right: the grid's steps vs momentum."""
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    left, right = fig.subplots(1, 2)
    for name, color in zip(names, ("tab:blue", "tab:orange", "tab:green")):
        distance = np.linalg.norm(paths[name].points, axis=1)
        t = np.arange(len(distance))
        left.plot(t, distance, color=color, label=f"{name} ({labels[name]}): measured")
        left.plot(
            t,
            distance[0] * predicted[name] ** t,
            color=color,
            linestyle="--",
            label=f"theory: distance(0) x {predicted[name]:.3f}^step",
        )
    left.set(
        yscale="log",
        ylim=(1e-7, 20),
        xlabel="step",
        ylabel="distance to the minimum (log scale)",
        title="Convergence rate: measured vs heavy-ball theory",
    )
    left.legend(fontsize="small")
    for lr, rows in grid.groupby("learning rate"):
        right.plot(rows["momentum"], rows["steps to the tolerance"], "o-", label=f"lr {lr:g}")
    right.axvline(beta_star, color="black", linestyle=":", label=f"theory's best momentum {beta_star:.2f}")
    right.set(
        xlabel="momentum",
        ylabel=f"steps to grad norm < {TOLERANCE:g}",
        ylim=(0, 1.5 * grid["steps to the tolerance"].max()),
        title="Momentum's grid search (missing point: not within the budget)",
    )
    right.legend(fontsize="small", ncol=2)
    return fig


def build_parser():
    parser = cookbook.recipe.make_parser(
        __doc__, __file__, steps=STEPS, quick_steps=QUICK_STEPS, steps_help="optimizer steps per path"
    )
    parser.add_argument(
        "--sweep",
        action="store_true",
        help="also run every optimizer at every learning rate of LR_GRID (about 5 s more)",
    )
    return parser


# %%
def main(argv=None):
    """Walk five optimizers (and two with momentum 0.9) down the bowl; theory, grid, tables and figures."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    keras.utils.set_random_seed(args.seed)  # nothing here is random; set for the habit

    # %% [markdown]
    # ## Data
    #
    # No dataset: the "data" is the landscape, and each optimizer gets the
    # **exact gradient** of f at its current point (no samples, no noise).
    # So "SGD" here is ``keras.optimizers.SGD`` with momentum 0 fed the exact
    # gradient: plain gradient descent. The bowl's curvature is 0.1 along x
    # and 2 along y, a condition number of 20: a learning rate large enough
    # to move along x quickly is nearly too large for y.

    # %%
    def f(x, y):
        """The stretched bowl; its minimum is 0 at (0, 0)."""
        return x**2 / 20 + y**2

    mu, L = landscapes.BOWL_CURVATURES  # f's second derivatives along x and y
    k = L / mu
    print(
        f"curvature along x {mu:g}, along y {L:g}: condition number k = {k:g}; start {START}, "
        f"f(start) = {f(*START):.3g}"
    )

    # %% [markdown]
    # ## Model
    #
    # The "model" is one ``keras.Variable`` holding (x, y); each optimizer
    # gets its own copy. The update rules, for a gradient ``g`` at step
    # ``t`` (all operations entry by entry):
    #
    #     SGD       w <- w - lr * g
    #     Momentum  v <- momentum * v - lr * g;   w <- w + v
    #     Adagrad   G <- G + g^2                  (G starts at 0.1);        w <- w - lr * g / sqrt(G + eps)
    #     RMSprop   s <- rho * s + (1 - rho) g^2  (rho = 0.9);              w <- w - lr * g / sqrt(s + eps)
    #     Adam      m <- b1 m + (1 - b1) g;  s <- b2 s + (1 - b2) g^2;
    #               w <- w - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(s) + eps)
    #
    # Keras conventions that differ from textbooks: Momentum's velocity
    # includes the learning rate (PyTorch's ``v <- m v + g; w <- w - lr v``
    # is the same path for a constant ``lr``); Adagrad's accumulator starts
    # at 0.1, not 0, and Adagrad and RMSprop put ``eps = 1e-7`` inside the
    # root; Adam folds both bias corrections into the step size and adds
    # ``eps`` to the uncorrected ``sqrt(s)`` (the paper's "epsilon hat").
    #
    # Why each behaves as the figure will show. SGD's step along y is
    # ``lr * 2y``, so ``y <- (1 - 2 lr) y``: for ``lr > 0.5`` it overshoots
    # y = 0 on every step, while x only shrinks by ``1 - lr/10`` per step:
    # a zig-zag down a slow valley (the cell below prints both factors).
    # Momentum adds up consecutive steps: along x they agree and build
    # speed, along y they alternate and partly cancel, so the zig-zag dies
    # out faster, though it can still flip sign on every step (the table
    # counts it). Adagrad, RMSprop and Adam divide each
    # coordinate's step by the size of its own gradients, so both
    # coordinates start with steps of about ``lr``, whatever their
    # curvature: the path heads more directly for the minimum. Near the
    # minimum RMSprop keeps dividing a small gradient by its own small
    # average size: its steps stay about ``lr`` long and it rattles around
    # the minimum instead of settling; Adagrad's sum only grows, so its
    # steps shrink; Adam's ``m`` averages alternating gradients towards 0.

    # %%
    print(f"SGD at lr {SGD_LR:g}: y <- {1 - 2 * SGD_LR:+.2f} y and x <- {1 - SGD_LR / 10:.2f} x per step")

    def make_optimizers(momentum_lr, momentum):
        """One dict of named optimizers, the whole comparison; each starts with empty state."""
        return {
            "SGD": keras.optimizers.SGD(learning_rate=SGD_LR),
            "Momentum": keras.optimizers.SGD(learning_rate=momentum_lr, momentum=momentum),
            "Adagrad": keras.optimizers.Adagrad(learning_rate=ADAGRAD_LR),
            "RMSprop": keras.optimizers.RMSprop(learning_rate=RMSPROP_LR),
            "Adam": keras.optimizers.Adam(learning_rate=ADAM_LR, beta_1=ADAM_BETA_1),
            f"Momentum {RINGING_MOMENTUM:g}": keras.optimizers.SGD(learning_rate=RINGING_LR, momentum=RINGING_MOMENTUM),
            f"Adam beta_1 {RINGING_MOMENTUM:g}": keras.optimizers.Adam(
                learning_rate=RINGING_LR, beta_1=RINGING_MOMENTUM
            ),
        }

    # %% [markdown]
    # ## The heavy-ball theory, before any training
    #
    # On a quadratic, SGD and Momentum are linear recurrences and can be
    # solved. Along a direction of curvature ``h`` the position follows
    # ``w_{t+1} = (1 + momentum - lr h) w_t - momentum w_{t-1}``, i.e. it is
    # a mix of ``z1^t`` and ``z2^t`` with ``z`` the roots of
    # ``z^2 - (1 + momentum - lr h) z + momentum = 0``. The larger ``|z|``
    # is the rate per step. The two roots multiply to ``momentum``, so the
    # larger is at least ``sqrt(momentum)``: **no learning rate converges
    # faster than sqrt(momentum) per step**. When the roots are complex,
    # ``|z1| = |z2| = sqrt(momentum)`` exactly and the position swings back
    # and forth. Too little momentum leaves the x direction slow,
    # too much makes everything swing; the best balance for curvatures
    # ``mu`` and ``L`` (condition number ``k = L / mu``) is (Polyak 1964)
    #
    #     momentum* = ((sqrt(k) - 1) / (sqrt(k) + 1))^2      lr* = 4 / (sqrt(mu) + sqrt(L))^2
    #     rate      = sqrt(momentum*) = (sqrt(k) - 1) / (sqrt(k) + 1)
    #
    # against SGD's best, ``(k - 1) / (k + 1)`` at ``lr = 2 / (mu + L)``.
    # The customary momentum 0.9 gives complex roots along both directions
    # for every learning rate between 0.03 and 1.9 (above, it diverges;
    # below, x crawls even slower), so its rate is ``sqrt(0.9) = 0.95`` per
    # step at best, and it swings: it rings.

    # %%
    beta_star = ((np.sqrt(k) - 1) / (np.sqrt(k) + 1)) ** 2
    lr_star = 4 / (np.sqrt(mu) + np.sqrt(L)) ** 2
    theory = cookbook.recipe.show(
        pd.DataFrame(
            [
                {"quantity": "best momentum", "formula": "((sqrt(k)-1)/(sqrt(k)+1))^2", "value": beta_star},
                {"quantity": "its learning rate", "formula": "4/(sqrt(mu)+sqrt(L))^2", "value": lr_star},
                {"quantity": "its rate per step", "formula": "sqrt(momentum*)", "value": np.sqrt(beta_star)},
                {"quantity": "SGD's best rate per step", "formula": "(k-1)/(k+1)", "value": (k - 1) / (k + 1)},
                {"quantity": "its learning rate", "formula": "2/(mu+L)", "value": 2 / (mu + L)},
                {
                    "quantity": f"best rate with momentum {RINGING_MOMENTUM:g}",
                    "formula": "sqrt(0.9)",
                    "value": np.sqrt(RINGING_MOMENTUM),
                },
            ]
        ),
        f"Heavy-ball theory for k = {k:g}",
    )
    cookbook.recipe.save_table(theory, args, "theory")

    # %% [markdown]
    # ## Train
    #
    # First Momentum's grid search, to hold the theory against: every
    # (learning rate, momentum) of a small grid, measured by the steps it
    # needs to reach the tolerance. The grid's runs are only measured, never
    # drawn, so they go through ``landscapes.run_paths``, which advances all
    # of them in one compiled step (with the same ``apply_gradients``). The
    # "Momentum" run drawn below uses the grid's fastest cell.

    # %%
    grid = grid_search(
        f,
        args.steps,
        QUICK_GRID_LEARNING_RATES if args.quick else GRID_LEARNING_RATES,
        QUICK_GRID_MOMENTA if args.quick else GRID_MOMENTA,
    )
    best = grid.loc[grid["steps to the tolerance"].idxmin()]
    cookbook.recipe.show(
        grid.pivot(index="momentum", columns="learning rate", values="steps to the tolerance"),
        f"Steps to grad norm < {TOLERANCE:g} (rows: momentum, columns: learning rate; NaN: not within {args.steps})",
    )
    print(
        f"grid's fastest: lr {best['learning rate']:g}, momentum {best['momentum']:g}, "
        f"{best['steps to the tolerance']:.0f} steps; theory's best: lr {lr_star:.3f}, momentum {beta_star:.3f}"
    )
    cookbook.recipe.save_table(grid, args, "momentum_grid")
    if args.sweep:
        sweep = cookbook.recipe.show(sweep_learning_rates(f, args.steps), "--sweep: every learning rate of LR_GRID")
        cookbook.recipe.save_table(sweep, args, "sweep")

    # %% [markdown]
    # Then the runs we draw, in the loop every optimizer lesson repeats:
    # compute the loss under ``tf.GradientTape`` (TensorFlow's recorder of
    # operations: Keras 3 runs on TensorFlow here, and this is what
    # ``model.fit`` does inside), ask the tape for the gradient, hand it to
    # ``optimizer.apply_gradients``.
    # With the JAX or PyTorch backend you would take the gradient with
    # their tools, or write it by hand, ``(x/10, 2y)`` for this bowl; the
    # tests check the recorded paths against exactly that hand gradient in
    # float64 NumPy. ``@tf.function`` compiles the step once per optimizer,
    # so the steps run without Python overhead.

    # %%
    optimizers = make_optimizers(best["learning rate"], best["momentum"])
    paths = {}
    for name, optimizer in optimizers.items():
        xy = keras.Variable(START, dtype="float32")

        @tf.function
        def train_step():
            with tf.GradientTape() as tape:
                loss = f(xy[0], xy[1])
            optimizer.apply_gradients([(tape.gradient(loss, xy), xy)])

        points = [keras.ops.convert_to_numpy(xy)]
        for _ in range(args.steps):
            train_step()
            points.append(keras.ops.convert_to_numpy(xy))
        paths[name] = landscapes.Path.from_points(points, f, landscapes.anisotropic_bowl_gradient)
    labels = {name: settings(optimizer) for name, optimizer in optimizers.items()}
    print(f"{len(paths)} runs of {args.steps} steps from {START}")

    # %% [markdown]
    # ## Compare
    #
    # The zig-zag is counted, not just drawn: how many times the y-step
    # reverses direction before the optimizer reaches the minimum (or within
    # the budget if it never does), and what share of its steps that is.
    # x-step reversals are overshoots along the valley: swings. "Stays"
    # separates a path that sits at the minimum after the last step from one
    # that only passed through it.

    # %%
    table = cookbook.recipe.show(
        pd.DataFrame(
            [{"optimizer": name, "settings": labels[name], **measure(path, args.steps)} for name, path in paths.items()]
        ),
        f"{args.recipe}: {args.steps} steps from {START}",
    )
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_table(
        pd.DataFrame(
            [
                {"optimizer": name, "step": step, "x": x, "y": y}
                for name, path in paths.items()
                for step, (x, y) in enumerate(path.points)
            ]
        ),
        args,
        "points",
    )
    cookbook.recipe.save_figure(plot_paths(f, paths, labels), args, "paths")
    g = np.array(landscapes.anisotropic_bowl_gradient(*START))
    first = paths["Adagrad"].points[1]
    print(
        f"Adagrad's first step, -lr * g / sqrt(0.1 + g^2) with g = ({g[0]:g}, {g[1]:g}), scales lr = "
        f"{ADAGRAD_LR:g} by ({g[0] / np.sqrt(0.1 + g[0] ** 2):.3f}, {g[1] / np.sqrt(0.1 + g[1] ** 2):.3f}): "
        f"from {START} to ({first[0]:.3f}, {first[1]:.3f}), nearly onto the valley floor y = 0"
    )

    # %% [markdown]
    # The theory's rate for each run with SGD's rule (momentum 0 or not),
    # from the roots along x and along y, next to the rate fitted to each
    # path (least squares on log distance to the minimum, up to its
    # arrival). The root types say what the pictures show: "flips every
    # step" is the zig-zag, "swings" the ringing.

    # %%
    momentum_runs = ["SGD", "Momentum", f"Momentum {RINGING_MOMENTUM:g}"]
    rows, predicted = [], {}
    for name in momentum_runs:
        config = optimizers[name].get_config()
        lr, m = config["learning_rate"], config["momentum"]
        roots = [landscapes.heavy_ball_roots(lr, m, h) for h in (mu, L)]
        predicted[name] = max(abs(r[0]) for r in roots)
        reached = landscapes.steps_to_tolerance(paths[name], TOLERANCE)
        rows.append(
            {
                "run": name,
                "learning rate": lr,
                "momentum": m,
                "roots along x": describe_roots(roots[0]),
                "roots along y": describe_roots(roots[1]),
                "predicted rate per step": predicted[name],
                "fitted rate per step": fitted_rate(paths[name], reached or args.steps),
                "steps to the tolerance": reached,
            }
        )
    rates = cookbook.recipe.show(pd.DataFrame(rows), "Heavy-ball theory next to the measured paths")
    cookbook.recipe.save_table(rates, args, "rates")
    cookbook.recipe.save_figure(plot_rates(paths, labels, predicted, grid, beta_star, momentum_runs), args, "rates")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    by, fit = table.set_index("optimizer"), rates.set_index("run")
    arrive = f"steps to grad norm < {TOLERANCE:g}"
    share = "share of steps reversing"
    ringing = f"Momentum {RINGING_MOMENTUM:g}"
    zig_zaggers = [n for n in by.index if by.loc[n, share] > 0.5]
    faster = [
        n
        for n in by.index
        if n != "SGD" and isinstance(by.loc[n, arrive], (int, np.integer)) and by.loc[n, arrive] < by.loc["SGD", arrive]
    ]
    unsettled = [n for n in by.index if not by.loc[n, "stays at the minimum"]]
    cookbook.recipe.remember(
        [
            f"On a bowl with condition number {k:g} the y-step reversed on more than half of the steps of: "
            f"{', '.join(zig_zaggers) or 'none'}; SGD reversed on {by.loc['SGD', 'y-step reversals']} of its "
            f"{by.loc['SGD', arrive]} steps to the minimum.",
            f"Fewer steps than SGD's {by.loc['SGD', arrive]} to grad norm < {TOLERANCE:g}: "
            f"{', '.join(f'{n} ({by.loc[n, arrive]})' for n in faster) or 'none'}; still away from the minimum "
            f"after the last step: {', '.join(unsettled) or 'none'}.",
            f"Heavy-ball theory for k = {k:g}: best momentum {beta_star:.2f} (at lr {lr_star:.2f}), rate "
            f"sqrt(momentum) = {np.sqrt(beta_star):.3f} per step against SGD's best {(k - 1) / (k + 1):.3f}. The "
            f"grid's fastest cell, momentum {best['momentum']:g} at lr {best['learning rate']:g} "
            f"({best['steps to the tolerance']:.0f} steps), has predicted rate {fit.loc['Momentum', 'predicted rate per step']:.3f} "
            f"and fitted {fit.loc['Momentum', 'fitted rate per step']:.3f}.",
            f"Momentum {RINGING_MOMENTUM:g} ({labels[ringing]}): roots along x {fit.loc[ringing, 'roots along x']}, "
            f"along y {fit.loc[ringing, 'roots along y']}; predicted rate {fit.loc[ringing, 'predicted rate per step']:.3f} "
            f"(sqrt({RINGING_MOMENTUM:g}) = {np.sqrt(RINGING_MOMENTUM):.3f}), fitted "
            f"{fit.loc[ringing, 'fitted rate per step']:.3f}: it needed {by.loc[ringing, arrive]} steps, SGD "
            f"{by.loc['SGD', arrive]}.",
        ]
    )
    return table


if __name__ == "__main__":
    main()
