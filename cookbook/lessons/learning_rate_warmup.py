"""Evidence for lesson 14 (learning-rate schedules and warmup): step sizes, loss curves, figures, the claims.

The lesson builds the schedules, compiles Adam with each and records every
step with a callback; this module measures what it recorded: how far each
weight moved per step in units of a learning rate (``step_sizes``), where a
loss curve peaked (``peak``) and when it came back down
(``first_step_below``), the tables, the three figures and the points to
remember. Everything is NumPy and pandas on what the lesson passes in, so
each piece is tested on tiny inputs in ``tests/test_learning_rate_warmup.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.errors import LessonError
from cookbook.figures import plain_log_ticks

import keras
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure

__all__ = [
    "ON_LR",
    "claims",
    "curves_table",
    "first_step_below",
    "first_steps_table",
    "flat_weights",
    "peak",
    "plot_first_steps",
    "plot_losses",
    "plot_schedules",
    "schedules_table",
    "step_sizes",
    "summary_table",
]

ON_LR = 0.01  # a step counts as "lr" when it is within 1% of the rate used
RunKey = tuple[float, str]  # (peak learning rate, schedule name)


def flat_weights(weights: Sequence[object]) -> np.ndarray:
    """Every array of ``weights`` (e.g. ``model.trainable_weights``) raveled into one float64 vector, in order."""
    return np.concatenate([np.ravel(keras.ops.convert_to_numpy(w)).astype(np.float64) for w in weights])


def step_sizes(
    snapshots: Sequence[Sequence[float]] | Sequence[np.ndarray] | np.ndarray,
    learning_rates: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """Each step's ``|w_t - w_(t-1)|`` per weight, divided by that step's learning rate.

    Args:
        snapshots: ``n + 1`` weight vectors of one length: before step 1, after step 1, ..., after step ``n``.
        learning_rates: ``n`` positive numbers, the rate to divide step ``t`` by.

    Returns:
        A float64 array of shape ``(n, weights)``.

    Raises:
        LessonError: fewer than two snapshots, or not one positive rate per step.
    """
    weights = np.asarray(snapshots, dtype=np.float64)
    rates = np.asarray(learning_rates, dtype=np.float64)
    if weights.ndim != 2 or len(weights) < 2:
        raise LessonError(
            f"snapshots has shape {weights.shape}: pass at least two weight vectors of one length, "
            "the first taken before step 1"
        )
    if rates.shape != (len(weights) - 1,) or not np.all(rates > 0):
        raise LessonError(
            f"got {rates.size} learning rates for {len(weights) - 1} steps (min "
            f"{rates.min() if rates.size else 'none'}): pass one positive rate per step"
        )
    return np.abs(np.diff(weights, axis=0)) / rates[:, None]


def peak(values: Sequence[float], first: int, last: int) -> tuple[float, int | None]:
    """The highest of ``values[first : last + 1]`` and its step; ``(nan, None)`` for an empty range.

    ``values[t]`` is the curve after step ``t`` (``values[0]`` before training); ``last`` is clipped to the end.
    """
    window = np.asarray(values, dtype=np.float64)[first : last + 1]
    if not len(window):
        return float("nan"), None
    where = int(np.argmax(window))
    return float(window[where]), first + where


def first_step_below(values: Sequence[float], level: float, after: int) -> int | None:
    """The first step ``t > after`` with ``values[t] < level``, or ``None`` if the curve never gets there."""
    below = np.flatnonzero(np.asarray(values, dtype=np.float64)[after + 1 :] < level)
    return int(after + 1 + below[0]) if len(below) else None


def schedules_table(schedules: Mapping[str, object]) -> pd.DataFrame:
    """Each schedule's class and settings, read from its ``get_config()`` (a float is a constant rate)."""
    rows = []
    for name, schedule in schedules.items():
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            config = schedule.get_config()
            numeric = {k: v for k, v in config.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
            given = (f"{key}={value:g}" for key, value in numeric.items())
            rows.append({"schedule": name, "class": type(schedule).__name__, "settings": ", ".join(given)})
        else:
            rows.append({"schedule": name, "class": "float", "settings": f"learning_rate={schedule:g}"})
    return pd.DataFrame(rows)


def curves_table(records: Mapping[RunKey, tuple[Sequence[float], Sequence[float]]]) -> pd.DataFrame:
    """One row per run and step: the rate used at the step and the train loss after it (step 0: before training).

    Args:
        records: ``{(peak lr, schedule): (rates, losses)}`` with ``n`` rates and ``n + 1`` losses.
    """
    frames = []
    for (lr, name), (rates, losses) in records.items():
        if len(losses) != len(rates) + 1:
            raise LessonError(f"{name!r}: {len(rates)} rates need {len(rates) + 1} losses (step 0 first)")
        frames.append(
            pd.DataFrame(
                {
                    "peak lr": lr,
                    "schedule": name,
                    "step": np.arange(len(losses)),
                    "lr used": [np.nan, *rates],  # no rate is used before step 1
                    "train loss": losses,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def summary_table(curves: pd.DataFrame, test_accuracy: Mapping[RunKey, float], warmup_steps: int) -> pd.DataFrame:
    """Each run's curve read at its landmarks: the start, the warmup window (steps 1 to W), after it, the end."""
    rows = []
    for (lr, name), run in curves.groupby(["peak lr", "schedule"], sort=False):
        losses = run["train loss"].to_numpy()
        early, early_step = peak(losses, 1, warmup_steps)
        late, late_step = peak(losses, warmup_steps + 1, len(losses) - 1)
        rows.append(
            {
                "peak lr": lr,
                "schedule": name,
                "start loss": losses[0],
                "highest loss in warmup window": early,
                "step of that": early_step,
                "back below start at step": first_step_below(losses, losses[0], early_step or 0),
                "loss after warmup window": losses[min(warmup_steps, len(losses) - 1)],
                "highest loss after warmup window": late,
                "step of highest after window": late_step,
                "final train loss": losses[-1],
                "test accuracy": test_accuracy[lr, name],
            }
        )
    return pd.DataFrame(rows)


def first_steps_table(
    snapshots: Mapping[str, Sequence[np.ndarray]], rates: Mapping[str, Sequence[float]], peak_lr: float
) -> pd.DataFrame:
    """Per run and step: the rate used and how far the weights moved, in units of the peak rate and of that rate.

    Args:
        snapshots: ``{schedule: n + 1 weight vectors}`` (before step 1, then after each step).
        rates: ``{schedule: the rate used at each step}`` (at least ``n``).
        peak_lr: the rate the schedules peak at.
    """
    frames = []
    for name, run in snapshots.items():
        n = len(run) - 1
        used = np.asarray(rates[name][:n], dtype=np.float64)
        in_peak = step_sizes(run, np.full(n, peak_lr))
        moved = in_peak > 0
        with np.errstate(invalid="ignore", divide="ignore"):  # a step at rate 0 has no "lr used" unit
            in_used = in_peak * peak_lr / used[:, None]
            on_lr = (np.abs(in_used - 1) <= ON_LR) & moved
            frames.append(
                pd.DataFrame(
                    {
                        "schedule": name,
                        "step": np.arange(1, n + 1),
                        "lr used / peak lr": used / peak_lr,
                        "median |dw| / peak lr": np.median(in_peak, axis=1),
                        "max |dw| / peak lr": in_peak.max(axis=1),
                        "median |dw| / lr used": np.where(used > 0, np.median(in_used, axis=1), np.nan),
                        "share of weights moved": moved.mean(axis=1),
                        "share of moved within 1% of lr used": np.where(
                            used > 0, on_lr.sum(axis=1) / np.maximum(moved.sum(axis=1), 1), np.nan
                        ),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def _colors(names: Sequence[str]) -> dict[str, str]:
    return {name: f"C{i}" for i, name in enumerate(dict.fromkeys(names))}


def _line(name: str, width: float) -> dict[str, Any]:
    """How a schedule's line is drawn, from its name.

    Warmups are dashed; a decay is drawn thinner and under the constant-rate pair (the lesson's headline),
    and a warmup with a decay dotted, so that two curves that coincide for a while both stay visible.
    """
    decays = "decay" in name
    style = (0, (1, 1.5)) if decays and "warmup" in name else "--" if "warmup" in name else "-"
    return {"linestyle": style, "linewidth": width * (0.75 if decays else 1.0), "zorder": 2 if decays else 3}


def plot_schedules(curves: pd.DataFrame, peak_lr: float, warmup_steps: int, steps_per_epoch: int) -> Figure:
    """The rate each run's optimizer used at every step, at one peak rate; warmups dashed, legend below the axes."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.6), layout="constrained")
    ax = fig.subplots()
    colors = _colors(curves["schedule"])
    for name, run in curves[curves["peak lr"] == peak_lr].groupby("schedule", sort=False):
        ax.plot(run["step"], run["lr used"], color=colors[name], label=name, **_line(name, 2.0))
    ax.axvline(warmup_steps, color="grey", linestyle=":", linewidth=1, label=f"end of warmup (step {warmup_steps})")
    ax.set(
        xlabel=f"optimizer step ({steps_per_epoch} per epoch)",
        ylabel="learning rate used at the step",
        title=f"The schedules as fit used them (peak lr {peak_lr:g})",
        ylim=(0, 1.05 * peak_lr),
    )
    fig.legend(loc="outside lower center", ncols=3, fontsize="small", frameon=False)
    return fig


def plot_first_steps(first_steps: pd.DataFrame, peak_lr: float) -> Figure:
    """Median weight change per step in units of the peak rate (solid), next to the rate used (dashed)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 4.6), layout="constrained")
    ax = fig.subplots()
    colors = _colors(first_steps["schedule"])
    for name, run in first_steps.groupby("schedule", sort=False):
        ax.plot(run["step"], run["median |dw| / peak lr"], "o-", color=colors[name], label=f"{name}: median |dw|")
        ax.plot(run["step"], run["lr used / peak lr"], ":", color=colors[name], label=f"{name}: lr used")
    ax.axhline(1.0, color="grey", linewidth=0.8)
    last = int(first_steps["step"].max())
    ax.set_xticks(sorted({1, *range(5, last + 1, 5)}))
    ax.set(
        xlabel="step t",
        ylabel=f"in units of the peak lr {peak_lr:g}",
        title="How far the median weight moved at each of Adam's first steps",
        ylim=(0, 1.1),
    )
    fig.legend(loc="outside lower center", ncols=2, fontsize="small", frameon=False)
    return fig


def plot_losses(curves: pd.DataFrame, warmup_steps: int, steps_per_epoch: int) -> Figure:
    """Train loss after every step, one panel per peak rate, the start and the warmup's end marked; legend below."""
    from matplotlib.figure import Figure

    rates = list(dict.fromkeys(curves["peak lr"]))
    fig = Figure(figsize=(6 * len(rates), 4.8), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(rates), sharey=True))
    colors = _colors(curves["schedule"])
    handles: dict[str, Artist] = {}
    for ax, lr in zip(axes, rates):
        runs = curves[curves["peak lr"] == lr]
        for name, run in runs.groupby("schedule", sort=False):
            (handles[name],) = ax.plot(run["step"], run["train loss"], color=colors[name], **_line(name, 1.6))
        start = runs.loc[runs["step"] == 0, "train loss"].iloc[0]
        handles["loss before training"] = ax.axhline(start, color="black", linewidth=0.8, linestyle="-.")
        handles["end of warmup"] = ax.axvline(warmup_steps, color="grey", linestyle=":", linewidth=1)
        ax.set(xlabel=f"optimizer step ({steps_per_epoch} per epoch)", yscale="log", title=f"Adam, peak lr {lr:g}")
    axes[0].set_ylabel("train cross-entropy after the step (all rows, log scale)")
    plain_log_ticks(axes[0].yaxis)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=4, fontsize="small")
    return fig


def claims(
    summary: pd.DataFrame,
    first_steps: pd.DataFrame,
    *,
    high_lr: float,
    low_lr: float,
    constant: str,
    warmup: str,
    decays: Sequence[str] = (),
    decay_pair: tuple[str, str] | None = None,
    test_rows: int,
    epsilon: float = 1e-7,
    beta_2: float = 0.999,
) -> list[Claim]:
    """The lesson's points to remember, from its ``summary_table`` and ``first_steps_table``.

    Args:
        summary, first_steps: the two tables.
        high_lr, low_lr: the two peak rates.
        constant, warmup: the names of the constant run and of the run that warms up to the same constant rate.
        decays: the names of the runs at ``high_lr`` whose rate decays; those missing from ``summary`` are skipped.
        decay_pair: ``(with warmup, without)``, a second warmup comparison, used when both ran.
        test_rows: how many test rows the accuracies were measured on (a gap is quoted in rows too).
        epsilon, beta_2: Adam's; below ``(1 - ON_LR) / ON_LR * epsilon / sqrt(1 - beta_2)`` a gradient is so
            small that epsilon shrinks step 1 by more than 1%. Default to Keras's `1e-7` and `0.999`.
    """
    run = summary.set_index(["peak lr", "schedule"])

    def at(lr: float, name: str) -> pd.Series:
        return run.loc[(lr, name)]

    c, w, c_low, w_low = at(high_lr, constant), at(high_lr, warmup), at(low_lr, constant), at(low_lr, warmup)
    start = float(c["start loss"])
    pairs = [(warmup, constant)]
    if decay_pair and all((high_lr, name) in run.index for name in decay_pair):
        pairs.append(decay_pair)
    helped = [at(high_lr, a)["final train loss"] < at(high_lr, b)["final train loss"] for a, b in pairs]
    avoided_spike = w["highest loss in warmup window"] <= start < c["highest loss in warmup window"]
    late_jump = w["highest loss after warmup window"] > c["highest loss after warmup window"]

    def accuracy_words(a: pd.Series, b: pd.Series) -> str:
        rows = round(abs(a["test accuracy"] - b["test accuracy"]) * test_rows)
        return f"test accuracy {a['test accuracy']:.3f} vs {b['test accuracy']:.3f} ({rows} of {test_rows} test rows)"

    pair_words = ""
    if len(pairs) > 1:
        a, b = at(high_lr, pairs[1][0]), at(high_lr, pairs[1][1])
        ended = "ended lower" if helped[1] else "ended higher" if helped[0] else "again ended higher"
        pair_words = (
            f" Followed by a cosine decay, warmup {ended} in "
            f"train loss ({a['final train loss']:.3g} vs {b['final train loss']:.3g} without), "
            f"{accuracy_words(a, b)}."
        )
    after = (
        f"loss after the warmup window {w['loss after warmup window']:.3g} vs {c['loss after warmup window']:.3g}, "
        f"final train loss {w['final train loss']:.3g} vs {c['final train loss']:.3g} (warmup vs constant); "
        f"{accuracy_words(w, c)}"
    )
    back = c["back below start at step"]
    back_words = f"step {int(back)}" if pd.notna(back) else "the end of the run: it never did"
    spike = (
        f"it did avoid the early spike (highest loss in the warmup window {w['highest loss in warmup window']:.3g} "
        f"vs {c['highest loss in warmup window']:.3g} at step {int(c['step of that'])}, from a start of {start:.3g}), "
        f"but the constant run was back below its start by {back_words}, "
        if avoided_spike
        else f"it did not even avoid an early spike (highest loss in the warmup window "
        f"{w['highest loss in warmup window']:.3g} vs {c['highest loss in warmup window']:.3g}), "
    )
    jump = (
        f" Once it reached the full rate its own loss jumped (highest after the window "
        f"{w['highest loss after warmup window']:.3g} vs {c['highest loss after warmup window']:.3g}): the warmup "
        "moved the instability, it did not remove it."
        if late_jump
        else ""
    )
    if all(helped):
        warmup_words = (
            f"Warmup paid off here: at lr {high_lr:g} {spike}and it ended lower: {after}. Keep warmup_target and "
            "warmup_steps in CosineDecay when your first steps blow up."
        )
    elif helped[0]:  # below the constant rate at the end, yet not after a decay
        warmup_words = (
            "In your own Keras code start with a constant rate (or a decay) and add a warmup only if the loss "
            f"jumps or turns NaN in the first steps: here warmup slowed the start. At lr {high_lr:g} {spike}"
            f"and the warmup cost progress at first, though it ended below the constant rate: {after}. At this rate "
            f"the loss swings from step to step (the constant run's reached {c['highest loss after warmup window']:.3g} "
            f"after the window), so one run's last value is a rough read.{jump}"
        )
    else:
        warmup_words = (
            "In your own Keras code start with a constant rate (or a decay) and add a warmup only if the loss "
            f"jumps or turns NaN in the first steps: here warmup slowed training{'' if not any(helped) else ' at first'}. "
            f"At lr {high_lr:g} {spike}and the warmup cost progress: {after}.{jump}"
        )
    first = first_steps[first_steps["schedule"] == constant].sort_values("step")
    step1, last = first.iloc[0], first.iloc[-1]
    small_gradient = (1 - ON_LR) / ON_LR * epsilon / np.sqrt(1 - beta_2)
    one_lr = abs(step1["median |dw| / peak lr"] - 1) <= ON_LR and step1["max |dw| / peak lr"] <= 1 + 1e-4
    delayed = w_low["loss after warmup window"] > c_low["loss after warmup window"]
    caught_up = w_low["final train loss"] < c_low["final train loss"]
    ran = [name for name in decays if (high_lr, name) in run.index]
    lower = {name: at(high_lr, name)["final train loss"] < c["final train loss"] for name in ran}
    decay_numbers = {f"final_loss_{name.replace(' ', '_')}": at(high_lr, name)["final train loss"] for name in ran}
    decay_numbers |= {f"test_accuracy_{name.replace(' ', '_')}": at(high_lr, name)["test accuracy"] for name in ran}
    return [
        Claim(
            key="warmup_helps_at_high_lr",
            claim=f"a linear warmup to lr {high_lr:g} ends with a lower train loss than the constant rate",
            verdict=verdict_of(all(helped), partly=any(helped)),
            numbers={
                "start_loss": start,
                "highest_in_window_constant": c["highest loss in warmup window"],
                "highest_in_window_warmup": w["highest loss in warmup window"],
                "spike_step_constant": int(c["step of that"]),
                "back_below_start_constant": c["back below start at step"],
                "loss_after_window_constant": c["loss after warmup window"],
                "loss_after_window_warmup": w["loss after warmup window"],
                "highest_after_window_constant": c["highest loss after warmup window"],
                "highest_after_window_warmup": w["highest loss after warmup window"],
                "final_loss_constant": c["final train loss"],
                "final_loss_warmup": w["final train loss"],
                "test_accuracy_constant": c["test accuracy"],
                "test_accuracy_warmup": w["test accuracy"],
            },
            conclusion=warmup_words + pair_words,
        ),
        Claim(
            key="adam_step_one_moves_every_weight_by_lr",
            claim="Adam's first step moves every weight with a gradient by lr, however small the gradient (lesson 11)",
            verdict=verdict_of(bool(one_lr)),
            numbers={
                "median_step_1_over_lr": step1["median |dw| / peak lr"],
                "max_step_1_over_lr": step1["max |dw| / peak lr"],
                "share_moved_step_1": step1["share of weights moved"],
                "share_of_moved_within_1pct_step_1": step1["share of moved within 1% of lr used"],
                "gradient_below_which_epsilon_counts": small_gradient,
                "last_step": int(last["step"]),
                "median_last_step_over_lr": last["median |dw| / peak lr"],
            },
            conclusion=(
                f"The early spike is what a warmup is for, and it has a cause you can compute: Adam's step 1 is "
                f"lr * g / |g|, so at lr {high_lr:g} every weight with a gradient moved by lr at once (median "
                f"{step1['median |dw| / peak lr']:.4f} lr; {step1['share of moved within 1% of lr used']:.1%} of "
                f"the moved weights within 1% of lr; the rest had gradients below {small_gradient:.2g}, where "
                f"epsilon counts). By step {int(last['step'])} the median step was "
                f"{last['median |dw| / peak lr']:.3f} lr, as m averaged gradients that change sign."
                if one_lr
                else f"Adam's step 1 did not move the weights by lr here (median "
                f"{step1['median |dw| / peak lr']:.4f} lr, largest {step1['max |dw| / peak lr']:.4f} lr): check "
                "epsilon and the optimizer's settings before blaming the learning rate."
            ),
        ),
        Claim(
            key="warmup_at_default_lr_only_delays",
            claim=f"at Keras's default lr {low_lr:g} a warmup only slows the start",
            verdict=verdict_of(bool(delayed and not caught_up), partly=bool(delayed)),
            numbers={
                "highest_in_window_constant": c_low["highest loss in warmup window"],
                "start_loss": c_low["start loss"],
                "loss_after_window_constant": c_low["loss after warmup window"],
                "loss_after_window_warmup": w_low["loss after warmup window"],
                "final_loss_constant": c_low["final train loss"],
                "final_loss_warmup": w_low["final train loss"],
            },
            conclusion=(
                f"At Keras's default lr {low_lr:g} there is no spike to avoid (the constant run's loss fell from "
                f"step 1: highest in the window {c_low['highest loss in warmup window']:.3g}, start "
                f"{c_low['start loss']:.3g}), so a warmup only costs steps: loss after the window "
                f"{w_low['loss after warmup window']:.3g} vs {c_low['loss after warmup window']:.3g}, final "
                f"{w_low['final train loss']:.3g} vs {c_low['final train loss']:.3g} (warmup vs constant)"
                + ("." if not caught_up else "; the warmup run caught up by the end, so the delay was all it cost.")
                if delayed
                else f"At lr {low_lr:g} the warmup run was not behind after the window (loss "
                f"{w_low['loss after warmup window']:.3g} vs {c_low['loss after warmup window']:.3g} constant)."
            ),
        ),
        Claim(
            key="decay_ends_lower",
            claim=f"decaying the rate toward the end ends with a lower train loss than a constant lr {high_lr:g}",
            verdict=Verdict.NOT_MEASURED if not ran else verdict_of(all(lower.values()), partly=any(lower.values())),
            numbers={"final_loss_constant": c["final train loss"], "test_accuracy_constant": c["test accuracy"]}
            | decay_numbers,
            conclusion=(
                "No decaying schedule ran, so this run cannot tell what a decay does."
                if not ran
                else (
                    "Decay the rate toward the end of training: that, not the warmup, lowered the final loss here. "
                    if all(lower.values())
                    else "A decay did not always end lower here. "
                )
                + f"Final train loss (test accuracy) at peak lr {high_lr:g}: "
                + ", ".join(
                    f"{at(high_lr, name)['final train loss']:.3g} ({at(high_lr, name)['test accuracy']:.3f}) {name}"
                    for name in ran
                )
                + f", against {c['final train loss']:.3g} ({c['test accuracy']:.3f}) at the constant rate."
            ),
        ),
    ]
