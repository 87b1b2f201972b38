"""Learning-rate schedules and warmup: what Adam's first steps do to a model's loss, with and without a warmup.

A schedule from ``keras.optimizers.schedules`` (ExponentialDecay, CosineDecay,
CosineDecay with ``warmup_target``) goes where a learning rate goes,
``keras.optimizers.Adam(learning_rate=schedule)``, and ``fit`` asks it for a rate
at every step. Recipe 10 showed that Adam's bias-corrected step 1 has size lr for
any gradient: here every weight of a real MLP moves by about lr at step 1, and we
measure what that does to the loss at a high and at Keras's default rate, with a
warmup that starts the rate at 0 and without, and what a decay does later. It
builds on recipe 10 (Adam's first steps) and 10 (the same Digits MLP set-up).

Run it: ``python recipes/13_learning_rate_warmup.py`` (about 12 s; ``--quick`` for a
few seconds, ``--csv my.csv --target label`` for your own classes).
"""

# %% [markdown]
# ## Setup
#
# Every number the lesson uses is a named constant. Two peak learning rates:
# Keras's default for Adam and one 50x higher, where the first steps matter.

# %%
import cookbook  # first: imports Keras with TensorFlow's start-up log lines hidden
import cookbook.recipe
from cookbook.lessons import bias_correction, race, schedules

import keras
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

EPOCHS = 5
QUICK_EPOCHS = 2
BATCH_SIZE = 64  # mini-batches of 64 rows: one step per batch
HIDDEN_UNITS = (128, 128)  # wider than recipe 11's 32: a step of lr on every weight moves a unit by more
LOW_LR = 0.001  # Keras's default for Adam
HIGH_LR = 0.05  # 50x higher: the rate at which the first steps matter here
WARMUP_STEPS = 20  # about one epoch of Digits' training rows in batches of 64
STEP_WINDOW = 20  # steps whose weight changes the callback records
BETA_1, BETA_2 = 0.9, 0.999  # Keras's defaults, as in recipe 10


# %% [markdown]
# Helpers that only measure and draw; the schedules, ``compile``, ``fit``
# and the callback are in ``main`` below.


# %%
def describe(schedule):
    """A schedule's settings in a few words, from its ``get_config()`` (a float is a constant rate)."""
    if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
        return f"constant lr {schedule:g}"
    config = schedule.get_config()
    if isinstance(schedule, keras.optimizers.schedules.ExponentialDecay):
        return (
            f"ExponentialDecay({config['initial_learning_rate']:g}, decay_steps={config['decay_steps']}, "
            f"decay_rate={config['decay_rate']:g})"
        )
    text = f"CosineDecay({config['initial_learning_rate']:g}, decay_steps={config['decay_steps']}"
    if config["alpha"]:
        text += f", alpha={config['alpha']:g}"
    if config["warmup_target"] is not None:
        text += f", warmup_target={config['warmup_target']:g}, warmup_steps={config['warmup_steps']}"
    return text + ")"


def plot_schedules(curves, settings, steps_per_epoch):
    """The rate each run's optimizer used at every step, each line labelled with its schedule's settings."""
    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.subplots()
    for (lr, name), run in curves.groupby(["peak lr", "schedule"], sort=False):
        if lr == HIGH_LR:  # the warmups dashed: each lies on another schedule's line for part of the run
            style = "--" if "warmup" in name else "-"
            ax.plot(run["step"], run["lr used"], style, linewidth=2, label=f"{name}: {settings[lr, name]}")
    ax.axvline(WARMUP_STEPS, color="grey", linestyle=":", linewidth=1, label=f"last warmup step ({WARMUP_STEPS})")
    ax.set(
        xlabel=f"optimizer step ({steps_per_epoch} steps per epoch)",
        ylabel="learning rate used at the step",
        title=f"The schedules, as fit used them (peak lr {HIGH_LR:g})",
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.14))
    return fig


def plot_first_steps(steps):
    """Left: median step / peak lr, with the rate the schedule gave. Right: median step / the rate used."""
    fig = Figure(figsize=(13, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    t = steps["step"]
    left.plot(t, steps["constant: median |dw| / lr"], "o-", color="C0", label="constant: median |dw| / lr")
    left.plot(t, np.ones(len(t)), "--", color="C0", label="constant: lr used / lr")
    left.plot(t, steps["warmup: median |dw| / lr"], "o-", color="C1", label="warmup: median |dw| / lr")
    left.plot(t, steps["warmup: lr used / lr"], "--", color="C1", label="warmup: lr used / lr")
    right.plot(t, steps["constant: median |dw| / lr"], "o-", color="C0", label="constant (lr used = lr)")
    right.plot(t, steps["warmup: median |dw| / lr used"], "o-", color="C1", label="warmup, then constant")
    right.plot(t, np.ones(len(t)), "k:", label="recipe 10: corrected step / lr, constant gradient")
    left.set(
        xlabel="step t",
        ylabel="|weight change| / peak lr (median over weights)",
        title=f"How far a weight moves per step, in units of lr = {HIGH_LR:g}",
    )
    right.set(
        xlabel="step t",
        ylabel="|weight change| / lr used at the step (median)",
        title="Adam's factor |m_hat| / sqrt(v_hat) (median), any schedule",
    )
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        ax.legend(fontsize="small")
    return fig


def plot_losses(curves, settings, steps_per_epoch):
    """Train loss after every step, one panel per peak learning rate, warmup's end marked."""
    rates = list(dict.fromkeys(curves["peak lr"]))
    fig = Figure(figsize=(12, 4 * len(rates)), layout="constrained")
    axes = fig.subplots(len(rates), 1, sharex=True)
    for ax, lr in zip(np.atleast_1d(axes), rates):
        for name, run in curves[curves["peak lr"] == lr].groupby("schedule", sort=False):
            style = "--" if "warmup" in name else "-"
            ax.plot(run["step"], run["train loss"], style, linewidth=1.5, label=f"{name}: {settings[lr, name]}")
        ax.axvline(WARMUP_STEPS, color="grey", linestyle=":", linewidth=1, label=f"last warmup step ({WARMUP_STEPS})")
        ax.set(
            xlabel=f"optimizer step (0 = before training; {steps_per_epoch} per epoch)",
            ylabel="train cross-entropy after the step (all rows)",
            yscale="log",
            title=f"Adam, peak lr {lr:g}",
        )
        cookbook.recipe.plain_log_ticks(ax.yaxis)
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def build_parser():
    return cookbook.recipe.make_parser(__doc__, __file__, epochs=EPOCHS, quick_epochs=QUICK_EPOCHS, dataset="digits")


# %%
def main(argv=None):
    """Train one MLP with Adam under five schedules at two peak rates; tables and figures of the first steps."""
    args = cookbook.recipe.parse_args(build_parser(), argv)

    # %% [markdown]
    # ## Data
    #
    # Digits, as in recipe 11: 8x8 images of handwritten digits, a
    # stratified train/test split standardized with the training
    # statistics, integer labels. One step = one mini-batch of 64 rows
    # (the training rows cut to whole batches), and the schedules count in
    # steps.

    # %%
    X, y = cookbook.recipe.load_data(args)
    labels, classes = cookbook.recipe.class_labels(args, y)
    split = cookbook.recipe.split(args, X, labels, stratify=True)
    batch_size = min(BATCH_SIZE, len(split.X_train))
    # Whole batches only: every step sees the same number of rows (a last, smaller batch would also make
    # Keras trace a second step function for its shape, a second of compiling per run).
    steps_per_epoch = len(split.X_train) // batch_size
    X_train, y_train = split.X_train[: steps_per_epoch * batch_size], split.y_train[: steps_per_epoch * batch_size]
    total_steps = steps_per_epoch * args.epochs
    if total_steps <= WARMUP_STEPS:
        cookbook.recipe.fail(
            args, f"{total_steps} steps in all is not more than the {WARMUP_STEPS}-step warmup: raise --epochs"
        )
    print(
        f"{len(X_train)} of the {len(split.X_train)} training rows = {steps_per_epoch} steps of {batch_size} rows "
        f"per epoch, "
        f"{total_steps} steps in {args.epochs} epochs; {len(split.X_test)} test rows, {len(classes)} classes"
    )

    # %% [markdown]
    # ## Model
    #
    # Two hidden ReLU layers of 128 and a softmax, rebuilt from one seed for
    # every run. Each schedule is a ``LearningRateSchedule``: it maps the
    # optimizer's step counter ``i = optimizer.iterations`` (0 at the first
    # update, so step ``t = i + 1``) to a rate. With peak rate ``lr``,
    # ``D = decay_steps`` (here the run's ``T`` steps, or ``T - W`` after a
    # warmup) and ``W = WARMUP_STEPS``:
    #
    #     constant                 lr_i = lr
    #     ExponentialDecay         lr_i = lr * decay_rate^(i / decay_steps)
    #     CosineDecay              lr_i = lr * ((1 - alpha) * 0.5 (1 + cos(pi min(i, D) / D)) + alpha),  D = decay_steps
    #     CosineDecay + warmup     lr_i = init + (lr - init) i / W          while i < W   (warmup_target = lr)
    #                              lr_i = the cosine above, on i - W, from lr             afterwards
    #
    # "Warmup, then constant" is the last one with ``alpha=1.0``: the cosine
    # then decays to 1.0x its start, so after the warmup the rate stays
    # ``lr``. The warmups start at ``initial_learning_rate=0.0``, and Keras
    # evaluates the schedule at ``i = 0`` for the first update: step 1 uses
    # rate 0 and moves nothing (Adam's ``m`` and ``v`` still take in the
    # first gradient). Exponential decay halves the rate every epoch
    # (smoothly: ``staircase=False``); the cosines fall to 0 at the end of
    # the run.

    # %%
    def build_model():
        model = keras.Sequential([keras.Input((split.X_train.shape[1],))])
        for units in HIDDEN_UNITS:
            model.add(keras.layers.Dense(units, activation="relu"))
        model.add(keras.layers.Dense(len(classes), activation="softmax"))
        return model

    def make_schedules(lr):
        """Every schedule this lesson races, peaking at ``lr``."""
        return {
            "constant": lr,
            "warmup, then constant": keras.optimizers.schedules.CosineDecay(
                0.0, decay_steps=total_steps, alpha=1.0, warmup_target=lr, warmup_steps=WARMUP_STEPS
            ),
            "exponential decay": keras.optimizers.schedules.ExponentialDecay(
                lr, decay_steps=steps_per_epoch, decay_rate=0.5
            ),
            "cosine decay": keras.optimizers.schedules.CosineDecay(lr, decay_steps=total_steps),
            "warmup + cosine decay": keras.optimizers.schedules.CosineDecay(
                0.0, decay_steps=total_steps - WARMUP_STEPS, warmup_target=lr, warmup_steps=WARMUP_STEPS
            ),
        }

    # At the high rate all five (--quick: the three the comparison needs, to stay within a few seconds);
    # at the default rate the two that answer "does warmup help there too?".
    high = ["constant", "warmup, then constant", "cosine decay"] if args.quick else list(make_schedules(HIGH_LR))
    runs = [(HIGH_LR, name) for name in high] + [
        (LOW_LR, "constant"),
        (LOW_LR, "warmup, then constant"),
    ]
    keras.utils.set_random_seed(args.seed)
    build_model().summary()

    # %% [markdown]
    # ## Train
    #
    # One loop, one ``compile`` per run with the schedule as Adam's
    # ``learning_rate``, ``set_random_seed`` before each build: the same
    # initial weights and the same batches for every run. A callback
    # records, for every step, the rate the optimizer uses
    # (``optimizer.learning_rate`` read before the batch: the schedule at the
    # current ``iterations``) and the cross-entropy of the whole training
    # set after the step (not the mini-batch loss ``fit`` logs, which is a
    # running mean over the epoch); for the first ``STEP_WINDOW`` steps also
    # every trainable weight, to measure how far each one moved.

    # %%
    class StepRecorder(keras.callbacks.Callback):
        """Per step: the learning rate used, the train loss after it, and (first steps) the weights."""

        def __init__(self, X, y, window):
            super().__init__()
            self.X, self.y, self.window = X, y, window
            self.rates, self.losses, self.snapshots = [], [], []

        def train_loss(self):
            probabilities = self.model.predict_on_batch(self.X)  # one compiled forward pass, cheaper than eager
            return float(keras.ops.mean(keras.losses.sparse_categorical_crossentropy(self.y, probabilities)))

        def on_train_begin(self, logs=None):
            self.losses.append(self.train_loss())
            self.snapshots.append(schedules.flat_weights(self.model.trainable_weights))

        def on_train_batch_begin(self, batch, logs=None):
            self.rates.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(self.train_loss())
            if len(self.snapshots) <= self.window:
                self.snapshots.append(schedules.flat_weights(self.model.trainable_weights))

    records, settings, tests = {}, {}, {}
    for lr, name in runs:
        schedule = make_schedules(lr)[name]
        settings[lr, name] = describe(schedule)
        keras.utils.set_random_seed(args.seed)
        model = build_model()
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=schedule, beta_1=BETA_1, beta_2=BETA_2),
            loss="sparse_categorical_crossentropy",
        )
        recorder = StepRecorder(X_train, y_train, STEP_WINDOW)
        model.fit(X_train, y_train, epochs=args.epochs, batch_size=batch_size, callbacks=[recorder], verbose=0)
        records[lr, name] = recorder
        tests[lr, name] = race.evaluate_classifier(model, split.X_test, split.y_test)
    curves = pd.concat(
        pd.DataFrame(
            {
                "peak lr": lr,
                "schedule": name,
                "step": np.arange(len(record.losses)),
                "lr used": [np.nan, *record.rates],  # step 0 is before training: no rate used yet
                "train loss": record.losses,
            }
        )
        for (lr, name), record in records.items()
    )
    cookbook.recipe.save_table(curves, args, "curves")
    print(f"{len(runs)} runs of {total_steps} steps each; the rate and the train loss recorded at every step")

    # %% [markdown]
    # ## Compare
    #
    # First the schedules themselves, as ``fit`` used them: the rate the
    # callback read at every step of the high-rate runs. Look at step 1 of
    # the warmups (rate 0) and at how fast each decay falls.

    # %%
    cookbook.recipe.save_figure(plot_schedules(curves, settings, steps_per_epoch), args, "schedules")

    # %% [markdown]
    # Adam's effective step over the first ``STEP_WINDOW`` steps at the high
    # rate. Recipe 10's update rule: ``m <- b1 m + (1 - b1) g``,
    # ``v <- b2 v + (1 - b2) g^2``, ``w <- w - lr_t * m_hat / (sqrt(v_hat) +
    # eps)`` with ``m_hat = m / (1 - b1^t)``, ``v_hat = v / (1 - b2^t)``. At
    # step 1 ``m_hat = g`` and ``sqrt(v_hat) = |g|``: every weight with a
    # nonzero gradient moves by ``lr_1`` exactly (up to ``eps``), however
    # small or noisy its gradient; recipe 10's table has that step for a
    # constant gradient, and it stays ``lr`` there. On a real model the
    # mini-batch gradients change sign from step to step, ``m`` averages
    # them, and ``|m_hat| / sqrt(v_hat)`` falls below 1. The columns:
    # ``|dw| / lr`` in units of the peak rate (what the weights actually
    # did), ``|dw| / lr used`` in units of the rate the schedule gave
    # (Adam's own factor, the same rule with or without warmup), and
    # recipe 10's uncorrected/corrected ratio: without bias correction
    # these steps would be 3.2x-6.6x larger, the opposite of a warmup.
    # "warmup" is the run "warmup, then constant"; the constant run's rate
    # is ``lr`` at every step, so its two units are the same.

    # %%
    t = np.arange(1, STEP_WINDOW + 1)
    steps = pd.DataFrame({"step": t})
    steps["09: uncorrected / corrected (constant g)"] = bias_correction.bias_correction_ratio(t, BETA_1, BETA_2)
    for name, short in (("constant", "constant"), ("warmup, then constant", "warmup")):
        record = records[HIGH_LR, name]
        in_peak_units = schedules.step_sizes(record.snapshots, np.full(STEP_WINDOW, HIGH_LR))
        if short == "warmup":  # the constant run's rate is lr at every step
            steps["warmup: lr used / lr"] = np.asarray(record.rates[:STEP_WINDOW]) / HIGH_LR
        steps[f"{short}: median |dw| / lr"] = np.median(in_peak_units, axis=1)
        steps[f"{short}: max |dw| / lr"] = in_peak_units.max(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):  # step 1 of the warmup, at rate 0, has no such unit
        steps["warmup: median |dw| / lr used"] = steps["warmup: median |dw| / lr"] / steps["warmup: lr used / lr"]
    steps = cookbook.recipe.show(steps, f"Adam's first {STEP_WINDOW} steps at peak lr {HIGH_LR:g}")
    cookbook.recipe.save_table(steps, args, "first_steps")
    first = schedules.step_sizes(records[HIGH_LR, "constant"].snapshots[:2], [HIGH_LR])[0]
    moved = first > 0
    print(
        f"step 1 of the constant run: {moved.mean():.1%} of the {first.size} weights moved; of those, "
        f"{np.mean(np.abs(first[moved] - 1) < 0.01):.1%} by lr within 1% (largest {first.max():.6f} lr)"
    )
    cookbook.recipe.save_figure(plot_first_steps(steps), args, "first_steps")

    # %% [markdown]
    # What those steps do to the loss. Every weight moving by ``lr`` at
    # once shifts a unit's input by up to ``lr`` times the sum of its
    # ``|inputs|``, which grows with the layer's width; a warmup keeps the
    # first steps small while ``m`` and ``v`` fill up. The table reads each
    # curve of the figure: the loss after step 1, the highest loss during
    # the warmup window (steps 1 to ``W``) and after it, the loss at the
    # end, and the test accuracy measured once after training.

    # %%
    cookbook.recipe.save_figure(plot_losses(curves, settings, steps_per_epoch), args, "loss")
    rows = []
    for (lr, name), record in records.items():
        early, early_step = schedules.peak(record.losses, 1, WARMUP_STEPS)
        late, late_step = schedules.peak(record.losses, WARMUP_STEPS + 1, total_steps)
        rows.append(
            {
                "peak lr": lr,
                "schedule": name,
                "settings": settings[lr, name],
                "loss at step 0": record.losses[0],
                "loss after step 1": record.losses[1],
                f"highest loss, steps 1-{WARMUP_STEPS}": early,
                f"step of highest, 1-{WARMUP_STEPS}": early_step,
                f"highest loss, steps {WARMUP_STEPS + 1}-{total_steps}": late,
                f"step of highest, {WARMUP_STEPS + 1}-{total_steps}": late_step,
                f"loss after step {WARMUP_STEPS}": record.losses[WARMUP_STEPS],
                "final train loss": record.losses[-1],
                "test accuracy": tests[lr, name][1],
            }
        )
    table = cookbook.recipe.show(pd.DataFrame(rows), f"{args.recipe}: Adam under each schedule, {total_steps} steps")
    cookbook.recipe.save_table(table, args)

    # %% [markdown]
    # ## What to remember
    #
    # Each point quotes a number this run measured; the comparisons are
    # computed, not assumed.

    # %%
    by = table.set_index(["peak lr", "schedule"])
    start = by.loc[(HIGH_LR, "constant"), "loss at step 0"]

    def word(a, b):
        return "lower" if a < b else "higher" if a > b else "equal"

    def run_loss(lr, name, column):
        return by.loc[(lr, name), column]

    after_w = f"loss after step {WARMUP_STEPS}"
    early_peak, early_step = f"highest loss, steps 1-{WARMUP_STEPS}", f"step of highest, 1-{WARMUP_STEPS}"
    late_peak = f"highest loss, steps {WARMUP_STEPS + 1}-{total_steps}"
    cookbook.recipe.remember(
        [
            f"Step 1 of Adam at constant lr {HIGH_LR:g} moved the median weight by "
            f"{steps['constant: median |dw| / lr'].iloc[0]:.4f} lr (largest {steps['constant: max |dw| / lr'].iloc[0]:.4f} "
            f"lr), as recipe 10's corrected step of lr for any gradient; by step {STEP_WINDOW} the median was "
            f"{steps['constant: median |dw| / lr'].iloc[-1]:.3f} lr. With the warmup step 1 moved "
            f"{steps['warmup: median |dw| / lr'].iloc[0]:.3g} lr (rate 0) and step {STEP_WINDOW} "
            f"{steps['warmup: median |dw| / lr'].iloc[-1]:.3f} lr.",
            f"At lr {HIGH_LR:g}, from a train loss of {start:.3g}, the highest loss in steps 1-{WARMUP_STEPS} was "
            f"{run_loss(HIGH_LR, 'constant', early_peak):.3g} (step "
            f"{run_loss(HIGH_LR, 'constant', early_step)}) at a constant rate and "
            f"{run_loss(HIGH_LR, 'warmup, then constant', early_peak):.3g} (step "
            f"{run_loss(HIGH_LR, 'warmup, then constant', early_step)}) with the warmup; after step "
            f"{WARMUP_STEPS}: {run_loss(HIGH_LR, 'constant', after_w):.3g} vs "
            f"{run_loss(HIGH_LR, 'warmup, then constant', after_w):.3g}; highest after the warmup window: "
            f"{run_loss(HIGH_LR, 'constant', late_peak):.3g} vs {run_loss(HIGH_LR, 'warmup, then constant', late_peak):.3g} "
            f"(constant vs warmup).",
            f"At Keras's default lr {LOW_LR:g} the warmup run's loss after step {WARMUP_STEPS} was "
            f"{run_loss(LOW_LR, 'warmup, then constant', after_w):.3g}, "
            f"{word(run_loss(LOW_LR, 'warmup, then constant', after_w), run_loss(LOW_LR, 'constant', after_w))} than "
            f"the constant rate's {run_loss(LOW_LR, 'constant', after_w):.3g}; its final train loss "
            f"{run_loss(LOW_LR, 'warmup, then constant', 'final train loss'):.3g} vs "
            f"{run_loss(LOW_LR, 'constant', 'final train loss'):.3g}.",
            f"After {total_steps} steps at peak lr {HIGH_LR:g} the final train loss was "
            + ", ".join(f"{run_loss(HIGH_LR, name, 'final train loss'):.3g} ({name})" for name in high)
            + ": the decays end at a lower rate than the constant runs.",
        ]
    )
    return table


if __name__ == "__main__":
    main()
