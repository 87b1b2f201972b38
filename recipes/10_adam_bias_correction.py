"""Adam's bias correction: without it step 1 is 3.16x LARGER for any gradient, and steps 1-20 are 3.2x-6.6x larger for a constant one.

Adam's moments m and v start at zero, so early on they are too small: after
one step m = (1 - b1) g and v = (1 - b2) g^2, and the uncorrected first step
is lr (1 - b1) / sqrt(1 - b2) = 3.16 lr for Keras's default betas (0.9,
0.999), whatever g is: v is shrunk far more than m, so dropping the
correction makes the first step larger (Kingma and Ba, section 3). After
step 1 the size depends on the gradients. For a constant gradient the ratio
uncorrected / corrected is (1 - b1^t) / sqrt(1 - b2^t): 3.16 at step 1,
6.57 at step 12, back to 1 only after a few thousand steps. On a curved loss
(w**2/2 here) the two runs move differently, see different gradients, and
after step 1 the ratio drifts away from that formula (0.47 against 6.47 at
step 9). We measure both with Keras's
own Adam, the uncorrected one obtained from the same Adam by a learning-rate
schedule that cancels its correction. It builds on recipe 07 (the Adam
update rule on a bowl) and 08 (RMSprop, whose moving average Adam shares).

Run it: ``python recipes/10_adam_bias_correction.py`` (``--quick`` for a few seconds).
"""

# %% [markdown]
# ## Setup
#
# Every number the lesson uses is a named constant. One learning rate for
# every run: steps are reported in units of it.

# %%
import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.recipe
from cookbook.lessons import bias_correction

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

# The lesson's loop takes its gradients with TensorFlow: under another Keras
# backend the script stops here with one line saying why (the tour skips it).
NEEDS_TENSORFLOW = cookbook.recipe.needs_tensorflow("its apply_gradients loop takes gradients with tf.GradientTape")
import tensorflow as tf  # noqa: E402  (after the check above)

LEARNING_RATE = 0.05
BETA_1, BETA_2 = 0.9, 0.999  # Keras's defaults
GRADIENT = 0.5  # the constant gradient: any value gives the same steps / lr
START = 1.0  # w at step 0, for both losses
STEPS = 20  # measured with the optimizer itself
LONG_RUN = (1, 2, 12, 100, 1000, 3000, 5000)  # steps for the closed-form table


# %% [markdown]
# Helpers that compute the closed form and draw; the Keras code is in
# ``main`` below.


# %%
def closed_form_ratio(t):
    """Uncorrected / corrected step for a constant gradient: ``(1 - b1^t) / sqrt(1 - b2^t)``."""
    return bias_correction.bias_correction_ratio(t, BETA_1, BETA_2)


def plot_steps(table, curved_w):
    """Left: step / lr on a constant gradient. Middle: the ratio, measured and closed form. Right: w on w^2/2."""
    fig = Figure(figsize=(15, 4.4), layout="constrained")
    left, middle, right = fig.subplots(1, 3)
    styles = {
        "constant g: corrected step / lr": "Keras Adam (corrected)",
        "constant g: uncorrected step / lr": "uncorrected (schedule)",
        "m only uncorrected (NumPy)": "only m uncorrected (NumPy)",
        "v only uncorrected (NumPy)": "only v uncorrected (NumPy)",
    }
    for column, label in styles.items():
        left.plot(table["step"], table[column], "o-", markersize=3, label=f"{label}, lr {LEARNING_RATE:g}")
    left.set(
        xlabel="step t",
        ylabel="step size / lr (log scale)",
        yscale="log",
        title=f"Constant gradient g = {GRADIENT:g}: each step's size",
    )
    left.legend(fontsize="small")
    t = np.unique(np.geomspace(1, 10_000, 300).astype(int))
    middle.plot(t, closed_form_ratio(t), color="black", label="(1 - b1^t) / sqrt(1 - b2^t)")
    middle.plot(table["step"], table["constant g: ratio"], "o", markersize=4, label="measured, constant gradient")
    middle.plot(table["step"], table["curved: ratio"], "x", markersize=6, label="measured, curved loss w^2/2")
    middle.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    middle.set(
        xlabel="step t (log scale)",
        xscale="log",
        ylabel="uncorrected step / corrected step",
        title=f"Ratio of the two steps (b1 = {BETA_1:g}, b2 = {BETA_2:g})",
    )
    middle.legend(fontsize="small")
    steps = np.arange(len(next(iter(curved_w.values()))))
    for name, w in curved_w.items():
        right.plot(steps, w, "o-", markersize=3, label=f"{name}, lr {LEARNING_RATE:g}")
    right.axhline(0.0, color="grey", linestyle="--", linewidth=1, label="minimum w = 0")
    right.set(xlabel="step t", ylabel="w", title=f"Curved loss w^2/2 from w = {START:g}")
    right.legend(fontsize="small")
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def build_parser():
    return cookbook.recipe.make_parser(__doc__, __file__, steps=STEPS, steps_help="Adam steps per run")


# %%
def main(argv=None):
    """Measure Adam's first steps with and without bias correction on two losses; tables and a figure."""
    args = cookbook.recipe.parse_args(build_parser(), argv)
    keras.utils.set_random_seed(args.seed)  # nothing here is random; set for the habit

    # %% [markdown]
    # ## Data
    #
    # Two one-weight "losses", each differentiated exactly (no data):
    #
    # - a straight line, ``GRADIENT * w``: the gradient is the same at every
    #   step, wherever ``w`` goes. This isolates the correction.
    # - a curved loss, ``w^2 / 2``: the gradient is ``w`` itself, so each run
    #   sees gradients that depend on where its own earlier steps took it,
    #   as in real training.

    # %%
    losses = {"constant g": lambda w: GRADIENT * w, "curved": lambda w: w**2 / 2}
    print(f"constant g: gradient {GRADIENT:g} everywhere; curved: gradient w, starting at w = {START:g}")

    # %% [markdown]
    # ## Model
    #
    # One weight ``w``, and Adam in two versions. The update rule for
    # gradient ``g`` at step ``t`` (``m`` and ``v`` start at 0):
    #
    #     m <- b1 m + (1 - b1) g            v <- b2 v + (1 - b2) g^2
    #     Adam (Keras)   w <- w - lr * sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps)
    #     uncorrected    w <- w - lr * m / (sqrt(v) + eps)
    #
    # The paper writes the correction as ``m_hat = m / (1 - b1^t)``, ``v_hat =
    # v / (1 - b2^t)`` and adds ``eps`` to ``sqrt(v_hat)``; Keras folds both
    # divisions into one factor on the learning rate and adds ``eps`` to the
    # uncorrected ``sqrt(v)`` (the paper's "epsilon hat"). That folding gives
    # us the uncorrected Adam for free: a ``LearningRateSchedule`` that
    # multiplies ``lr`` by the inverse factor ``(1 - b1^t) / sqrt(1 - b2^t)``
    # cancels the correction, to float32 rounding. (The cookbook's own
    # ``cookbook.optimizers.Adam(bias_correction=False)``, written in recipe
    # 11, does the same; the tests check that both agree.)
    #
    # Why the uncorrected step is *larger*: at step 1 ``m = (1 - b1) g`` holds
    # 10% of ``g`` but ``sqrt(v) = sqrt(1 - b2) |g|`` only 3.2% of ``|g|``:
    # the denominator is shrunk more than the numerator. Adam's ``v`` is an
    # exponential moving average of ``g^2``, as in RMSprop (recipe 09), not
    # Adagrad's growing sum, so its step does not shrink like ``1/sqrt(t)``.

    # %%
    class UndoBiasCorrection(keras.optimizers.schedules.LearningRateSchedule):
        """lr * (1 - b1^t) / sqrt(1 - b2^t): Keras's Adam multiplies by the inverse, so the two cancel."""

        def __call__(self, step):  # step = optimizer.iterations: 0 at the first update, so t = step + 1
            t = keras.ops.cast(step + 1, "float32")
            return LEARNING_RATE * (1 - keras.ops.power(BETA_1, t)) / keras.ops.sqrt(1 - keras.ops.power(BETA_2, t))

    def make_optimizers():
        """Fresh Adams, the same but for the schedule that undoes the correction."""
        return {
            "corrected": keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1, beta_2=BETA_2),
            "uncorrected": keras.optimizers.Adam(UndoBiasCorrection(), beta_1=BETA_1, beta_2=BETA_2),
        }

    undo = UndoBiasCorrection()
    for step in (0, 11, 999):  # optimizer.iterations before steps 1, 12 and 1000
        keras_factor = np.sqrt(1 - BETA_2 ** (step + 1)) / (1 - BETA_1 ** (step + 1))
        print(
            f"step {step + 1}: Keras's Adam multiplies lr by {keras_factor:.4f}, the schedule gives lr x "
            f"{float(undo(step)) / LEARNING_RATE:.4f}; product {keras_factor * float(undo(step)) / LEARNING_RATE:.6f}"
        )

    # %% [markdown]
    # ## Train
    #
    # The same loop as recipe 07: the loss under ``tf.GradientTape`` (Keras 3
    # runs on TensorFlow here), its gradient into ``apply_gradients``, the
    # step compiled by ``@tf.function``. Every run records ``w`` after each
    # step; the step sizes are the differences.

    # %%
    weights = {}
    for loss_name, loss_fn in losses.items():
        for name, optimizer in make_optimizers().items():
            w = keras.Variable(START, dtype="float32")

            @tf.function
            def train_step():
                with tf.GradientTape() as tape:
                    loss = loss_fn(w)
                optimizer.apply_gradients([(tape.gradient(loss, w), w)])

            ws = [keras.ops.convert_to_numpy(w)]
            for _ in range(args.steps):
                train_step()
                ws.append(keras.ops.convert_to_numpy(w))
            weights[loss_name, name] = np.array(ws, dtype=np.float64)
    step_sizes = {key: np.abs(np.diff(ws)) for key, ws in weights.items()}
    print(f"{len(weights)} runs of {args.steps} steps, lr {LEARNING_RATE:g}")

    # %% [markdown]
    # ## Compare
    #
    # Per step: each run's step in units of ``lr`` and the ratio
    # uncorrected / corrected, next to the closed form for a constant
    # gradient. Because Keras applies the correction as one factor, the two
    # steps differ by exactly ``(1 - b1^t) / sqrt(1 - b2^t)`` *whenever both
    # runs hold the same ``m`` and ``v``*, which is when they have seen the
    # same gradients: at step 1 always (same start), at every step on the
    # straight line, but on the curved loss only at step 1: the uncorrected
    # run moves further, sees a smaller (later a reversed) gradient, and its
    # ratio leaves the formula. The two last columns correct only one moment
    # (float64 NumPy, ``cookbook.lessons.bias_correction.adam_step_sizes``): correcting only
    # ``v`` leaves ``m`` too small and the first step 10x too *small*;
    # correcting only ``m`` makes it 31.6x too large.

    # %%
    t = np.arange(1, args.steps + 1)
    constant = np.full(args.steps, GRADIENT)

    def numpy_steps(**switch):
        return bias_correction.adam_step_sizes(constant, LEARNING_RATE, BETA_1, BETA_2, **switch)

    table = pd.DataFrame({"step": t})
    for loss_name in losses:
        corrected, uncorrected = step_sizes[loss_name, "corrected"], step_sizes[loss_name, "uncorrected"]
        table[f"{loss_name}: corrected step / lr"] = corrected / LEARNING_RATE
        table[f"{loss_name}: uncorrected step / lr"] = uncorrected / LEARNING_RATE
        table[f"{loss_name}: ratio"] = uncorrected / corrected
    table["closed form (1-b1^t)/sqrt(1-b2^t)"] = closed_form_ratio(t)
    table["m only uncorrected (NumPy)"] = numpy_steps(correct_m=False) / LEARNING_RATE
    table["v only uncorrected (NumPy)"] = numpy_steps(correct_v=False) / LEARNING_RATE
    table = cookbook.recipe.show(table, f"{args.recipe}: Adam's first {args.steps} steps (lr = {LEARNING_RATE:g})")
    cookbook.recipe.save_table(table, args)

    # %% [markdown]
    # How far the curved-loss ratio is from the formula, and the formula far
    # beyond the measured steps: with ``b2 = 0.999`` the correction only
    # stops mattering after a few thousand steps.

    # %%
    gap = table["curved: ratio"] / table["closed form (1-b1^t)/sqrt(1-b2^t)"] - 1
    worst = int(gap.abs().idxmax())
    print(
        f"curved loss: ratio at step 1 {table['curved: ratio'].iloc[0]:.4f} (formula "
        f"{closed_form_ratio(1):.4f}); largest gap at step {t[worst]}: {table['curved: ratio'].iloc[worst]:.3f} "
        f"against {table['closed form (1-b1^t)/sqrt(1-b2^t)'].iloc[worst]:.3f}"
    )
    print(
        f"curved loss after {args.steps} steps: w = {weights['curved', 'corrected'][-1]:.4f} (corrected), "
        f"{weights['curved', 'uncorrected'][-1]:.4f} (uncorrected)"
    )
    long_run = cookbook.recipe.show(
        pd.DataFrame({"step": LONG_RUN, "uncorrected / corrected (constant g)": closed_form_ratio(np.array(LONG_RUN))}),
        "Closed form, far beyond the measured steps",
    )
    cookbook.recipe.save_table(long_run, args, "long_run")
    cookbook.recipe.save_figure(
        plot_steps(
            table,
            {
                "Keras Adam (corrected)": weights["curved", "corrected"],
                "uncorrected (schedule)": weights["curved", "uncorrected"],
            },
        ),
        args,
        "steps",
    )

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured.

    # %%
    ratio = table["constant g: ratio"]
    peak = int(ratio.idxmax())
    first = table.iloc[0]
    cookbook.recipe.remember(
        [
            f"Step 1 without the correction was {first['constant g: ratio']:.3f}x the corrected step on the "
            f"straight line and {first['curved: ratio']:.3f}x on the curved loss: (1 - b1)/sqrt(1 - b2) = "
            f"{closed_form_ratio(1):.3f} for any gradient, because both runs start from the same point.",
            f"With a constant gradient the corrected step stayed lr (within "
            f"{(table['constant g: corrected step / lr'] - 1).abs().max():.1e} of it) and the uncorrected one was "
            f"{ratio.min():.2f}x to {ratio.max():.2f}x larger (largest at step {t[peak]}), as (1 - b1^t)/sqrt(1 - b2^t) "
            f"says; that formula is still {closed_form_ratio(1000):.2f} at step 1000.",
            f"On the curved loss the ratio left that formula after step 1 (largest gap at step {t[worst]}: "
            f"{table['curved: ratio'].iloc[worst]:.2f} against {table['closed form (1-b1^t)/sqrt(1-b2^t)'].iloc[worst]:.2f}): "
            f"the {ratio.min():.1f}x-{ratio.max():.1f}x of the straight line hold for a constant gradient only.",
            f"Correcting one moment only is worse: at step 1, only m uncorrected gives "
            f"{first['m only uncorrected (NumPy)']:.3g} lr, only v uncorrected {first['v only uncorrected (NumPy)']:.3g} lr.",
        ]
    )
    return table


if __name__ == "__main__":
    main()
