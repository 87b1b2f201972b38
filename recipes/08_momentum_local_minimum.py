"""Momentum and a local minimum: momentum carries the ball over a low hump in whichever direction it is moving.

On the tilted double well f(x) = x**4/4 - x**2/2 - 0.2 x (a shallow minimum
at x = -0.879, a hump at x = -0.209, the deep minimum at x = +1.088) we run
SGD and Momentum, fed the exact gradient of f, from both sides of the hump:
from x = -1.5 the ball meets the shallow minimum first, from x = +2.0 the
deep one. SGD stops in the first minimum it meets, every time. Momentum
crosses the hump when it arrives with enough speed, in either direction:
from -1.5 some settings end in the deep minimum, but from +2.0 some roll OUT
of the deep minimum into the shallow one (Momentum 0.9 at lr 0.03, 0.95 at
lr 0.1), and 0.9 at lr 0.3 diverges; the lesson counts each ending. Momentum adds speed, not a preference
for deeper minima. It builds on recipe 07 (optimizer paths and the momentum
update rule on a bowl).

Run it: ``python recipes/08_momentum_local_minimum.py`` (``--quick`` for a
few seconds with fewer settings).
"""

# %% [markdown]
# ## Setup
#
# Every setting is a named constant. The default grid runs 4 learning
# rates x 4 momenta (16 settings) from each start; ``--quick`` keeps two
# learning rates and two momenta (SGD and Momentum 0.9 at lr 0.03 and 0.3,
# 4 settings). Which endings a grid shows (shallow minimum, deep minimum,
# diverged) is counted per start in the Compare cells, not promised here.

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

STARTS = (-1.5, 2.0)  # left of the shallow minimum, right of the deep one
STEPS = 300
LEARNING_RATES = (0.01, 0.03, 0.1, 0.3)
MOMENTA = (0.0, 0.5, 0.9, 0.95)  # 0.0 is plain SGD
QUICK_LEARNING_RATES = (0.03, 0.3)
QUICK_MOMENTA = (0.0, 0.9)
PLOT_LEARNING_RATE = 0.03  # the runs drawn step by step (in both grids)
MINIMUM_TOLERANCE = 0.05  # |x - minimum| that counts as "in" it
DIVERGED_BEYOND = 10.0  # |x| beyond this (or NaN) counts as diverged


# %% [markdown]
# Helpers that measure and draw; the Keras code is in ``main`` below.


# %%
def where_it_ended(x, local_min, global_min):
    """'local minimum', 'global minimum', 'diverged' or 'still moving' for a final position x."""
    if not np.isfinite(x) or abs(x) > DIVERGED_BEYOND:
        return "diverged"
    if abs(x - local_min) < MINIMUM_TOLERANCE:
        return "local minimum"
    if abs(x - global_min) < MINIMUM_TOLERANCE:
        return "global minimum"
    return "still moving"


def hump_crossings(xs, hump):
    """How many times the path crossed the top of the hump (sign changes of x - hump)."""
    side = np.sign(xs[np.isfinite(xs)] - hump)
    side = side[side != 0]
    return int(np.count_nonzero(side[1:] != side[:-1]))


def plot_runs(f, landmarks, positions, learning_rate):
    """Left: f with the starts and the critical points. Right two: x over steps from each start."""
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    left, *rights = fig.subplots(1, 3)
    xs = np.linspace(-1.8, 2.1, 300)
    left.plot(xs, f(xs), color="black", linewidth=1)
    for (name, x), marker in zip(landmarks.items(), ("v", "^", "*", "s", "D")):
        left.plot(x, f(x), marker, color="dimgrey", markersize=9, linestyle="none", label=f"{name}: x = {x:.3f}")
    left.set(xlabel="x (position)", ylabel="f(x)", title="f(x) = x^4/4 - x^2/2 - 0.2 x")
    left.legend(fontsize="small")
    for ax, column, start in zip(rights, (0, 1), STARTS):
        for (lr, momentum), xs_run in positions.items():
            if np.isclose(lr, learning_rate):
                label = "SGD" if momentum == 0 else f"Momentum {momentum:g}"
                ax.plot(xs_run[:, column], label=f"{label} (lr {lr:g})")
        for name, style in (("local minimum", ":"), ("hump", "-"), ("global minimum", "--")):
            ax.axhline(landmarks[name], color="grey", linestyle=style, linewidth=1, label=name)
        ax.set(xlabel="step", ylabel="x (position)", ylim=(-1.8, 2.2), title=f"Start at x = {start:g}")
        ax.legend(fontsize="small", loc="center right", bbox_to_anchor=(1.0, 0.43), framealpha=0.95)
    return fig


def build_parser():
    return cookbook.recipe.make_parser(__doc__, __file__, steps=STEPS, steps_help="optimizer steps per run")


# %%
def main(argv=None):
    """Run SGD and Momentum from both sides of the hump; tabulate where each run ends; plot x over steps."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    keras.utils.set_random_seed(args.seed)  # nothing here is random; set for the habit

    # %% [markdown]
    # ## Data
    #
    # No dataset: the "data" is the landscape, and each optimizer gets the
    # **exact gradient** of f (no samples, no noise), so "SGD" here is
    # ``keras.optimizers.SGD`` with momentum 0 fed the exact gradient: plain
    # gradient descent. The critical points are the roots of
    # ``f'(x) = x^3 - x - 0.2``, found with ``numpy.roots``, independently of
    # any optimizer.

    # %%
    def f(x):
        """The tilted double well: a shallow minimum on the left, a deep one on the right."""
        return x**4 / 4 - x**2 / 2 - 0.2 * x

    local_min, hump, global_min = landscapes.double_well_critical_points(0.2)
    landmarks = {
        "local minimum": local_min,
        "hump": hump,
        "global minimum": global_min,
        "start left": STARTS[0],
        "start right": STARTS[1],
    }
    cookbook.recipe.show(
        pd.DataFrame(
            {"point": list(landmarks), "x": list(landmarks.values()), "f(x)": [f(x) for x in landmarks.values()]}
        ),
        "The landscape",
    )
    print(
        f"the hump is {f(hump) - f(local_min):.3f} above the shallow minimum and "
        f"{f(hump) - f(global_min):.3f} above the deep one"
    )

    # %% [markdown]
    # ## Model
    #
    # One ``keras.Variable`` per optimizer, holding **both starts**,
    # ``[-1.5, 2.0]``. The loss is the sum of f over its two entries, so each
    # entry's gradient is f' at that entry alone, and SGD and Momentum update
    # each entry on its own: two independent runs that share one optimizer
    # object. The update rules, for gradient ``g``:
    #
    #     SGD       x <- x - lr * g
    #     Momentum  v <- momentum * v - lr * g;   x <- x + v
    #
    # Keras's velocity ``v`` includes the learning rate; PyTorch writes
    # ``v <- momentum * v + g; x <- x - lr * v``, the same path for a constant
    # ``lr``. Why they behave differently: SGD's step is ``lr * f'(x)``, so
    # it dies out wherever the slope does, at the first minimum it meets.
    # Momentum's ``v`` is a sum of past steps with weights
    # ``1, momentum, momentum^2, ...``; on a steady slope it grows to
    # ``1 / (1 - momentum)`` times SGD's step (10x for 0.9, 20x for 0.95).
    # A ball moving that fast can reach a minimum with speed left and climb
    # whatever comes next: if the speed suffices, it crosses a low hump in
    # whichever direction it happens to be moving. Nothing in the rule
    # knows which minimum is deeper.

    # %%
    learning_rates = QUICK_LEARNING_RATES if args.quick else LEARNING_RATES
    momenta = QUICK_MOMENTA if args.quick else MOMENTA
    for m in momenta:
        print(f"momentum {m:g}: on a steady slope the step grows to {1 / (1 - m):g}x SGD's")

    # %% [markdown]
    # ## Train
    #
    # The gradient comes from ``tf.GradientTape`` (Keras 3 runs on
    # TensorFlow here; on JAX or PyTorch you would use their gradient, or
    # write ``f'(x) = x^3 - x - 0.2`` by hand, which is what the tests check
    # the paths against), and ``optimizer.apply_gradients`` takes the step.
    # ``@tf.function`` compiles the step once per optimizer.

    # %%
    positions = {}
    for lr in learning_rates:
        for momentum in momenta:
            optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=momentum)
            x = keras.Variable(STARTS, dtype="float32")

            @tf.function
            def train_step():
                with tf.GradientTape() as tape:
                    loss = keras.ops.sum(f(x))
                optimizer.apply_gradients([(tape.gradient(loss, x), x)])

            xs = [keras.ops.convert_to_numpy(x)]
            for _ in range(args.steps):
                train_step()
                xs.append(keras.ops.convert_to_numpy(x))
            positions[lr, momentum] = np.array(xs, dtype=np.float64)  # shape (steps + 1, 2 starts)
    print(f"{len(positions)} optimizers x {len(STARTS)} starts, {args.steps} steps each")

    # %% [markdown]
    # ## Compare
    #
    # Where each (optimizer, learning rate, momentum, start) ended, and how
    # often it crossed the top of the hump on the way. Read the two starts
    # side by side: a run that settles after one crossing from the left
    # ends in the deep minimum; one that settles after one crossing from the
    # right has rolled through the deep minimum and ends in the shallow one.
    # A fast run may cross back and forth several times before it settles
    # or diverges: the crossing count says how often it did.

    # %%
    rows = []
    for (lr, momentum), xs in positions.items():
        for column, start in enumerate(STARTS):
            path = xs[:, column]
            final = path[-1]
            rows.append(
                {
                    "optimizer": "SGD" if momentum == 0 else "Momentum",
                    "learning rate": lr,
                    "momentum": momentum,
                    "start": start,
                    "final x": final,
                    "ends in": where_it_ended(final, local_min, global_min),
                    "hump crossings": hump_crossings(path, hump),
                    "final f": f(final) if np.isfinite(final) else np.nan,
                }
            )
    table = cookbook.recipe.show(pd.DataFrame(rows), f"{args.recipe}: where each run ended after {args.steps} steps")
    cookbook.recipe.save_table(table, args)
    cookbook.recipe.save_table(
        pd.DataFrame(
            [
                {
                    "learning rate": lr,
                    "momentum": m,
                    "step": t,
                    **{f"x from {s:g}": xs[t, c] for c, s in enumerate(STARTS)},
                }
                for (lr, m), xs in positions.items()
                for t in range(len(xs))
            ]
        ),
        args,
        "positions",
    )

    # %% [markdown]
    # Counted by start, then paired: each Momentum setting's ending from the
    # left next to its ending from the right. If momentum preferred deep
    # minima, every setting that reaches the deep minimum from the left
    # would stay there from the right too; the sentence below the tables
    # counts what the same settings actually did from the other side.

    # %%
    counts = cookbook.recipe.show(
        table.groupby(["optimizer", "start"])["ends in"].value_counts().unstack(fill_value=0).reset_index(),
        "Endings per optimizer and start (runs over the learning rates and momenta above)",
    )
    cookbook.recipe.save_table(counts, args, "endings")
    momentum_runs = table[table["optimizer"] == "Momentum"]
    paired = momentum_runs.pivot_table(
        index=["learning rate", "momentum"], columns="start", values="ends in", aggfunc="first"
    )
    pairs = cookbook.recipe.show(
        paired.value_counts([STARTS[0], STARTS[1]])
        .rename("Momentum settings")
        .reset_index()
        .rename(columns={STARTS[0]: f"ends in, from x = {STARTS[0]:g}", STARTS[1]: f"ends in, from x = {STARTS[1]:g}"}),
        "Each Momentum setting's two endings, paired",
    )
    cookbook.recipe.save_table(pairs, args, "paired_endings")
    deep_from_left = paired[paired[STARTS[0]] == "global minimum"]
    from_right = deep_from_left[STARTS[1]].value_counts()
    print(
        f"The {len(deep_from_left)} Momentum setting(s) that ended in the deep minimum from x = {STARTS[0]:g}, "
        f"started at x = {STARTS[1]:g}: "
        + ", ".join(
            f"{from_right.get(ending, 0)} {text}"
            for ending, text in (
                ("local minimum", "rolled out of the deep minimum into the shallow one"),
                ("global minimum", "stayed in the deep minimum"),
                ("diverged", "diverged"),
                ("still moving", "were still moving after all steps"),
            )
            if ending != "still moving" or from_right.get(ending, 0)
        )
        + "."
    )
    cookbook.recipe.save_figure(plot_runs(f, landmarks, positions, PLOT_LEARNING_RATE), args, "positions")

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    def count(optimizer, start, ending):
        rows = table[(table["optimizer"] == optimizer) & (table["start"] == start)]
        return int((rows["ends in"] == ending).sum()), len(rows)

    sgd_home = [count("SGD", STARTS[0], "local minimum"), count("SGD", STARTS[1], "global minimum")]
    left_deep = count("Momentum", STARTS[0], "global minimum")
    right_shallow = count("Momentum", STARTS[1], "local minimum")
    diverged = int((table["ends in"] == "diverged").sum())
    crossed = table[table["hump crossings"] > 0].groupby("optimizer").size().reindex(["SGD", "Momentum"], fill_value=0)
    cookbook.recipe.remember(
        [
            f"SGD ended in the first minimum it met in {sgd_home[0][0] + sgd_home[1][0]} of its "
            f"{sgd_home[0][1] + sgd_home[1][1]} runs (from x = {STARTS[0]:g}: the shallow one; from x = "
            f"{STARTS[1]:g}: the deep one).",
            f"Momentum carried the ball over the hump into the deep minimum in {left_deep[0]} of {left_deep[1]} "
            f"runs from x = {STARTS[0]:g}, and through the deep minimum, over the hump, into the shallow one in "
            f"{right_shallow[0]} of {right_shallow[1]} runs from x = {STARTS[1]:g}; {diverged} run(s) diverged.",
            f"Momentum's velocity sums past steps (on a steady slope up to 1/(1 - momentum) = "
            f"{1 / (1 - max(momenta)):g}x SGD's step for momentum {max(momenta):g}): {crossed['Momentum']} of "
            f"{int((table['optimizer'] == 'Momentum').sum())} Momentum runs crossed the hump, "
            f"{crossed['SGD']} of {int((table['optimizer'] == 'SGD').sum())} SGD runs did.",
            (
                f"Of the {len(deep_from_left)} Momentum setting(s) that reached the deep minimum "
                f"from x = {STARTS[0]:g}, {from_right.get('local minimum', 0)} rolled out of it into the shallow one "
                f"from x = {STARTS[1]:g} (same setting, opposite direction), {from_right.get('global minimum', 0)} "
                f"stayed in it and "
                f"{from_right.get('diverged', 0)} diverged."
                if len(deep_from_left)
                else f"No Momentum setting reached the deep minimum from x = {STARTS[0]:g} in this grid."
            ),
        ]
    )
    return table


if __name__ == "__main__":
    main()
