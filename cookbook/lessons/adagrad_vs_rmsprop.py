"""Evidence for lesson 10 (Adagrad vs RMSprop): input groups, the rate choice, per-weight rates, figures, claims.

The lesson trains and records, at chosen optimizer steps, every first-layer
weight's effective rate ``lr / sqrt(s + eps)`` (``s`` the optimizer's
squared-gradient state); this module measures what it recorded. Everything
here is NumPy and pandas on arrays the lesson passes in, so each piece is
tested on tiny inputs in ``tests/test_adagrad_vs_rmsprop.py``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.errors import LessonError
from cookbook.figures import plain_log_ticks
from cookbook.settings import stop

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from cookbook.datasets import Split

    from matplotlib.figure import Figure

__all__ = [
    "InputGroups",
    "LEVELLED_OFF",
    "MIN_EPOCHS",
    "RATE_GAP",
    "STALLED",
    "TIE",
    "choose_rates",
    "chosen_rates",
    "claims",
    "fit_rows",
    "grid_table",
    "input_groups",
    "plot_rate_by_activity",
    "plot_rates_over_training",
    "rates_table",
    "recorded_steps",
    "steps_per_epoch",
    "summary_table",
    "to_unit_range",
]

Run = Mapping[str, Any]  # one run: "history" (History.history), "rates" ({step: kernel rates}), "learning rate"...
RATE_GAP = 2.0  # "a larger rate for rare inputs": their median rate at least twice the busy inputs'
FALLING_LIKE_ZERO = 0.8  # second-half fall of a rate at least this strong (1/sqrt(2) = 0.71 is "like 1/sqrt(t)")
LEVELLED_OFF = 0.9  # a rate that kept more than this share over the second half has levelled off
STALLED = 0.9  # a train loss that kept more than this share over the second half has stalled
TIE = 0.05  # test losses within 5% of each other: a tie
MIN_EPOCHS = 10  # shorter runs (--quick) cannot say whether a rate levels off or a loss stalls


def to_unit_range(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Training and test features scaled to [0, 1] by each feature's training min and max (float32).

    ``cookbook.loading.split`` standardizes; this undoes it, so a blank
    Digits pixel (its minimum, no ink) feeds exactly 0 to the network, and
    its weights get a gradient of exactly 0.
    """
    raw_train = split.X_train.astype(np.float64) * split.std + split.mean
    raw_test = split.X_test.astype(np.float64) * split.std + split.mean
    low, high = raw_train.min(axis=0), raw_train.max(axis=0)
    width = np.where(high > low, high - low, 1.0)
    train = np.round((raw_train - low) / width, 6)  # float32 round trip: a blank pixel is 0.0 exactly
    test = np.clip(np.round((raw_test - low) / width, 6), 0.0, None)
    return train.astype("float32"), test.astype("float32")


@dataclasses.dataclass(frozen=True)
class InputGroups:
    """Each input's activity (share of training rows where it is nonzero) and the rare and busy inputs."""

    activity: np.ndarray
    rare: np.ndarray  # nonzero in some rows, but fewer than rare_below of them
    busy: np.ndarray  # nonzero in at least busy_from of the rows
    rare_below: float
    busy_from: float

    def problem(self) -> str | None:
        """Why the lesson cannot compare the groups (one is empty), or ``None``."""
        if self.rare.any() and self.busy.any():
            return None
        return (
            f"{int(self.rare.sum())} features are nonzero in under {self.rare_below:.0%} of the rows and "
            f"{int(self.busy.sum())} in at least {self.busy_from:.0%}: this lesson needs both "
            "(sparse features, like blank pixels)"
        )


def input_groups(X: np.ndarray, rare_below: float, busy_from: float, source: str = "the data") -> InputGroups:
    """Group the inputs (columns of ``X``) by how often they are nonzero.

    Data without both groups (no sparse inputs) ends the lesson with one
    line on stderr naming ``source`` and exit status 2.
    """
    activity = (np.asarray(X) != 0).mean(axis=0)
    groups = InputGroups(
        activity, (activity > 0) & (activity < rare_below), activity >= busy_from, rare_below, busy_from
    )
    problem = groups.problem()
    if problem:
        stop(f"{source}: {problem}")
    return groups


def recorded_steps(steps_per_epoch: int, epochs: int, points: int = 25) -> list[int]:
    """Steps at which to read the rates: ``points`` log-spaced from step 1, and every epoch's last step."""
    total = steps_per_epoch * epochs
    spaced = np.unique(np.geomspace(1, total, points).round().astype(int))
    return sorted({int(s) for s in spaced} | {steps_per_epoch * e for e in range(1, epochs + 1)})


def fit_rows(rows: int, validation_split: float) -> int:
    """How many of ``rows`` ``fit(validation_split=...)`` trains on: the first ``floor(rows * (1 - split))``."""
    return math.floor(rows * (1.0 - validation_split))


def steps_per_epoch(rows: int, validation_split: float, batch_size: int) -> int:
    """Optimizer steps per epoch of ``fit(validation_split=..., batch_size=...)`` on ``rows`` rows.

    One step per batch of the rows ``fit`` trains on, the last batch possibly smaller.
    """
    return math.ceil(fit_rows(rows, validation_split) / batch_size)


def grid_table(histories: Mapping[tuple[str, float], Mapping[str, Sequence[float]]]) -> pd.DataFrame:
    """One row per ``(optimizer, learning rate)`` run: its last train and validation loss (``History.history``)."""
    return pd.DataFrame(
        [
            {
                "optimizer": name,
                "learning rate": lr,
                "train loss": history["loss"][-1],
                "validation loss": history["val_loss"][-1],
            }
            for (name, lr), history in histories.items()
        ]
    )


def choose_rates(grid: pd.DataFrame) -> pd.DataFrame:
    """``grid`` with a column ``chosen``: per ``optimizer``, the ``learning rate`` of lowest ``validation loss``.

    A run whose validation loss is NaN (it diverged) is never chosen; on a
    tie the smaller learning rate wins. The test rows play no part.

    Raises:
        LessonError: an optimizer none of whose runs has a finite validation loss.
    """
    grid = grid.copy()
    grid["chosen"] = False
    for name, rows in grid.groupby("optimizer", sort=False):
        finite = rows[np.isfinite(rows["validation loss"].to_numpy(np.float64))]
        if finite.empty:
            raise LessonError(f"every {name} run diverged (validation loss NaN); try smaller learning rates")
        best = finite.sort_values(["validation loss", "learning rate"]).index[0]
        grid.loc[best, "chosen"] = True
    return grid


def chosen_rates(grid: pd.DataFrame) -> dict[str, float]:
    """``{optimizer: learning rate}`` of the rows ``choose_rates`` marked ``chosen``, in the grid's order."""
    rows = grid[grid["chosen"]]
    return {str(name): float(lr) for name, lr in zip(rows["optimizer"], rows["learning rate"])}


def rates_table(runs: Mapping[str, Run], groups: InputGroups, steps_per_epoch: int) -> pd.DataFrame:
    """Median effective rate of the weights leaving rare and busy inputs, per run and recorded step (long format).

    Args:
        runs: ``{run: {"rates": {step: the first-layer kernel's rates, shape (inputs, units)}, ...}}``.
        groups: which inputs (rows of the kernel) are rare and busy.
        steps_per_epoch: to give each step its epoch.
    """
    rows = [
        {
            "run": name,
            "step": step,
            "epoch": step / steps_per_epoch,
            "median rate, rare": float(np.median(kernel[groups.rare])),
            "median rate, busy": float(np.median(kernel[groups.busy])),
        }
        for name, run in runs.items()
        for step, kernel in sorted(run["rates"].items())
    ]
    return pd.DataFrame(rows)


def summary_table(runs: Mapping[str, Run], rates: pd.DataFrame, steps_per_epoch: int) -> pd.DataFrame:
    """One row per chosen run: its losses, and how its busy-input rate moved between epoch 1, half-way and the end.

    Args:
        runs: ``{run: {"history": keras History.history, "learning rate": ..., "test loss": ...}}``.
        rates: ``rates_table`` of the same runs.
        steps_per_epoch: optimizer steps per epoch.
    """
    table = []
    for run, given in runs.items():
        history = given["history"]
        epochs = len(history["loss"])
        half = max(epochs // 2, 1)
        by_step = rates[rates["run"] == run].set_index("step")
        busy = by_step["median rate, busy"]
        first, middle, end = (busy[e * steps_per_epoch] for e in (1, half, epochs))
        table.append(
            {
                "run": run,
                "learning rate": given["learning rate"],
                "epochs": epochs,
                "train loss": history["loss"][-1],
                "validation loss": history["val_loss"][-1],
                "test loss": given["test loss"],
                "test accuracy": given.get("test accuracy", np.nan),
                "train loss, end / half": history["loss"][-1] / history["loss"][half - 1],
                "busy rate, epoch 1": first,
                "busy rate, end": end,
                "busy rate, end / epoch 1": end / first,
                "busy rate, end / half": end / middle,
                "rare / busy, end": by_step["median rate, rare"][epochs * steps_per_epoch] / end,
            }
        )
    return pd.DataFrame(table)


def plot_rates_over_training(rates: pd.DataFrame, runs: Mapping[str, Run], steps_per_epoch: int) -> Figure:
    """Left: median effective rate per step (rare and busy inputs), log-log. Right: train and validation loss."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 5), layout="constrained")
    left, right = fig.subplots(1, 2)
    colors = ("tab:blue", "tab:green", "tab:orange", "tab:red")
    histories = {name: run["history"] for name, run in runs.items()}
    for (run, history), color in zip(histories.items(), colors):
        own = rates[rates["run"] == run]
        left.plot(own["step"], own["median rate, busy"], "-", color=color, label=f"{run}: busy inputs")
        left.plot(own["step"], own["median rate, rare"], "--", color=color, label=f"{run}: rare inputs")
        steps = steps_per_epoch * np.arange(1, len(history["loss"]) + 1)
        right.plot(steps, history["loss"], "-", color=color, label=f"{run}: train (mean over the epoch)")
        right.plot(steps, history["val_loss"], ":", color=color, label=f"{run}: validation")
    first_run = rates[rates["run"] == next(iter(histories))]
    start = first_run[first_run["step"] >= steps_per_epoch].iloc[0]
    later = first_run[first_run["step"] >= start["step"]]["step"].to_numpy(np.float64)
    left.plot(
        later,
        start["median rate, busy"] * np.sqrt(start["step"] / later),
        color="grey",
        linewidth=4,
        alpha=0.35,
        label="falls like 1/sqrt(step) (Adagrad if every gradient kept its size): toward 0",
    )
    left.set(
        xscale="log",
        yscale="log",
        xlabel="optimizer step (log scale)",
        ylabel="median lr / sqrt(s + eps) (log scale)",
        title="Each weight's effective rate: busy (solid) and rare (dashed) inputs",
    )
    epochs = len(next(iter(histories.values()))["loss"])
    half = max(epochs // 2, 1) * steps_per_epoch
    right.axvline(half, color="black", linewidth=0.8, label="half-way: the second half starts here")
    right.set(
        yscale="log",
        xlabel="optimizer step (one point per epoch)",
        ylabel="cross-entropy (log scale)",
        title="Loss, each optimizer at the rate chosen on validation",
    )
    plain_log_ticks(left.xaxis)
    for ax in (left, right):
        plain_log_ticks(ax.yaxis)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(0, -0.14), ncol=1)
    return fig


def plot_rate_by_activity(runs: Mapping[str, Run], groups: InputGroups) -> Figure:
    """Each input's median rate at the end of training against how often it is nonzero, one colour per run."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    seen = groups.activity > 0
    final_rates = {name: run["rates"][max(run["rates"])] for name, run in runs.items()}
    for (run, kernel), color in zip(final_rates.items(), ("tab:blue", "tab:green", "tab:orange", "tab:red")):
        ax.scatter(groups.activity[seen], np.median(kernel[seen], axis=1), s=14, color=color, label=run)
    ax.axvspan(0, groups.rare_below, color="grey", alpha=0.15, label=f"rare: nonzero in < {groups.rare_below:.0%}")
    ax.axvspan(groups.busy_from, 1, color="gold", alpha=0.15, label=f"busy: nonzero in >= {groups.busy_from:.0%}")
    ax.set(
        xlabel="share of training rows in which the input is nonzero (never-nonzero inputs left out)",
        ylabel="median effective rate of its weights (log scale)",
        yscale="log",
        title="Each input's rate after training vs how often it is nonzero",
    )
    plain_log_ticks(ax.yaxis)
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return fig


def _row(summary: pd.DataFrame, run: str) -> pd.Series:
    return summary.set_index("run").loc[run]


def claims(summary: pd.DataFrame, adagrad_paper: str, adagrad_keras: str, rmsprop: str) -> list[Claim]:
    """The lesson's points to remember, from its ``summary_table``.

    Args:
        summary: one row per chosen run.
        adagrad_paper, adagrad_keras, rmsprop: the ``run`` names of Adagrad with
            its sum starting at 0 (the paper), Adagrad with Keras's default start
            0.1, and RMSprop.
    """
    paper, keras_default, rms = (_row(summary, run) for run in (adagrad_paper, adagrad_keras, rmsprop))
    epochs = int(rms["epochs"])
    long_enough = epochs >= MIN_EPOCHS
    return [
        _accumulator_claim(paper, keras_default),
        _decay_claim(paper, keras_default, epochs, long_enough),
        _stall_claim(paper, keras_default, rms, epochs, long_enough),
        _fix_claim(paper, keras_default, rms, long_enough),
    ]


def _tied(first: float, second: float) -> bool:
    """Two test losses within ``TIE`` of each other: one seed cannot rank them."""
    return abs(first - second) <= TIE * min(first, second)


def _accumulator_claim(paper: pd.Series, keras_default: pd.Series) -> Claim:
    paper_ratio, default_ratio = paper["rare / busy, end"], keras_default["rare / busy, end"]
    verdict = verdict_of(default_ratio >= RATE_GAP, partly=paper_ratio >= RATE_GAP)
    lower = "start 0.0" if paper["test loss"] < keras_default["test loss"] else "start 0.1"
    losses = (
        (
            "the two starts tied on test loss here"
            if _tied(paper["test loss"], keras_default["test loss"])
            else f"{lower} had the lower test loss here"
        )
        + f", {paper['test loss']:.4g} (start 0.0, lr {paper['learning rate']:g}) "
        f"vs {keras_default['test loss']:.4g} (start 0.1, lr {keras_default['learning rate']:g})"
    )
    if verdict is Verdict.PARTLY:
        words = (
            "In your own Keras code, keras.optimizers.Adagrad() starts every sum at initial_accumulator_value=0.1, "
            "and that start, not the gradients, sets most rates: the weights of rarely nonzero inputs ended with "
            f"only {default_ratio:.3g}x the busy inputs' rate, against {paper_ratio:.3g}x with "
            "initial_accumulator_value=0.0 (the paper's start). Pass 0.0 (or a small value) when rare features "
            f"should learn faster, and choose the learning rate for that start on validation; {losses}."
        )
    elif verdict is Verdict.HOLDS:
        words = (
            "keras.optimizers.Adagrad() with its default initial_accumulator_value=0.1 already gave the weights of "
            f"rarely nonzero inputs {default_ratio:.3g}x the busy inputs' rate ({paper_ratio:.3g}x starting at "
            f"0.0): keep the default here, but choose the learning rate on validation; {losses}."
        )
    else:
        words = (
            f"Neither start gave rarely nonzero inputs a clearly larger rate ({paper_ratio:.3g}x from 0.0, "
            f"{default_ratio:.3g}x from Keras's default 0.1): per-weight rates did not separate rare and busy "
            f"inputs in this run; {losses}."
        )
    return Claim(
        key="accumulator_start_sets_the_rare_input_rates",
        claim="Adagrad gives the weights of rarely active inputs a larger learning rate",
        verdict=verdict,
        numbers={
            "rare_over_busy_start_0": paper_ratio,
            "rare_over_busy_start_0_1": default_ratio,
            "test_loss_start_0": paper["test loss"],
            "test_loss_start_0_1": keras_default["test loss"],
            "learning_rate_start_0": paper["learning rate"],
            "learning_rate_start_0_1": keras_default["learning rate"],
        },
        conclusion=words,
    )


def _decay_claim(paper: pd.Series, keras_default: pd.Series, epochs: int, long_enough: bool) -> Claim:
    # The note's claim, given its best chance: the Adagrad run whose busy-input rate fell the most.
    most = paper if paper["busy rate, end / epoch 1"] <= keras_default["busy rate, end / epoch 1"] else keras_default
    overall, second_half = most["busy rate, end / epoch 1"], most["busy rate, end / half"]
    numbers = {
        "epochs": epochs,
        "busy_rate_end_over_epoch_1_start_0": paper["busy rate, end / epoch 1"],
        "busy_rate_end_over_half_start_0": paper["busy rate, end / half"],
        "busy_rate_end_over_epoch_1_start_0_1": keras_default["busy rate, end / epoch 1"],
        "busy_rate_end_over_half_start_0_1": keras_default["busy rate, end / half"],
        "constant_gradient_end_over_epoch_1": 1 / math.sqrt(epochs),
        "constant_gradient_end_over_half": 1 / math.sqrt(epochs / max(epochs // 2, 1)),
    }
    start = "0.0" if most is paper else "0.1"
    other = keras_default if most is paper else paper
    if not long_enough:
        verdict = Verdict.NOT_MEASURED
        words = (
            f"A run of {epochs} epochs is too short to tell whether Adagrad's rate heads for 0 or levels off "
            f"(its busy-input rate fell to {overall:.3g}x its epoch-1 value); run without --quick."
        )
    elif second_half <= FALLING_LIKE_ZERO:
        verdict = Verdict.HOLDS
        words = (
            f"Adagrad's rate kept shrinking as the note says: over {epochs} epochs the busy-input rate (start "
            f"{start}) fell to {overall:.3g}x its epoch-1 value and lost {1 - second_half:.0%} in the second half "
            f"alone, close to the 1/sqrt(step) fall that goes to 0 ({numbers['constant_gradient_end_over_half']:.2f})."
        )
    else:
        verdict = verdict_of(False, partly=second_half <= LEVELLED_OFF)
        shape = "was still falling, but slowly" if verdict is Verdict.PARTLY else "had levelled off"
        words = (
            f"The note's 'Adagrad's rate shrinks toward 0' did not show here: over {epochs} epochs the busy-input "
            f"rate (start {start}, the larger fall of the two) fell to {overall:.3g}x its epoch-1 value, not "
            f"{numbers['constant_gradient_end_over_epoch_1']:.2f}x as 1/sqrt(step) would, and {shape}: "
            f"{second_half:.3g}x over the second half (the other start: {other['busy rate, end / epoch 1']:.3g}x "
            f"and {other['busy rate, end / half']:.3g}x). As the loss falls, so do the gradients, and their squares "
            "stop adding much to the sum."
        )
    return Claim(
        key="adagrad_rate_decays_toward_zero",
        claim="Adagrad's learning rate keeps shrinking toward 0 as training goes on",
        verdict=verdict,
        numbers=numbers,
        conclusion=words,
    )


def _stall_claim(paper: pd.Series, keras_default: pd.Series, rms: pd.Series, epochs: int, long_enough: bool) -> Claim:
    slowest = max(paper["train loss, end / half"], keras_default["train loss, end / half"])
    numbers = {
        "epochs": epochs,
        "train_loss_end_over_half_start_0": paper["train loss, end / half"],
        "train_loss_end_over_half_start_0_1": keras_default["train loss, end / half"],
        "train_loss_end_over_half_rmsprop": rms["train loss, end / half"],
    }
    losses = (
        f"train loss {paper['train loss']:.3g} (start 0.0) and {keras_default['train loss']:.3g} (start 0.1) "
        f"against RMSprop's {rms['train loss']:.3g}"
    )
    if not long_enough:
        verdict = Verdict.NOT_MEASURED
        words = f"A run of {epochs} epochs cannot show a stall; run without --quick ({losses})."
    elif slowest > STALLED:
        verdict = Verdict.HOLDS
        words = (
            f"Adagrad's learning stalled: over the second half of {epochs} epochs its train loss kept "
            f"{slowest:.0%} of its value while RMSprop's kept {rms['train loss, end / half']:.0%}; {losses}."
        )
    else:
        verdict = Verdict.FAILS
        words = (
            f"Adagrad did not stall: in the second half of {epochs} epochs both Adagrad runs still cut their train "
            f"loss, to {paper['train loss, end / half']:.2f}x (start 0.0) and "
            f"{keras_default['train loss, end / half']:.2f}x (start 0.1) of its half-way value (RMSprop: "
            f"{rms['train loss, end / half']:.2f}x); {losses}."
        )
    return Claim(
        key="adagrad_learning_stalls",
        claim="with its shrinking rate, Adagrad stops learning long before RMSprop does",
        verdict=verdict,
        numbers=numbers,
        conclusion=words,
    )


def _fix_claim(paper: pd.Series, keras_default: pd.Series, rms: pd.Series, long_enough: bool) -> Claim:
    best_adagrad = paper if paper["test loss"] <= keras_default["test loss"] else keras_default
    rise = rms["busy rate, end / epoch 1"]
    ada_test, rms_test = best_adagrad["test loss"], rms["test loss"]
    tie = _tied(ada_test, rms_test)
    better = rms_test < ada_test and not tie
    stalled = max(paper["train loss, end / half"], keras_default["train loss, end / half"]) > STALLED
    numbers = {
        "rmsprop_busy_rate_end_over_epoch_1": rise,
        "adagrad_busy_rate_end_over_epoch_1": best_adagrad["busy rate, end / epoch 1"],
        "test_loss_rmsprop": rms_test,
        "test_loss_best_adagrad": ada_test,
        "learning_rate_rmsprop": rms["learning rate"],
        "learning_rate_best_adagrad": best_adagrad["learning rate"],
    }
    outcome = (
        "a tie"
        if tie
        else f"{'RMSprop' if better else 'Adagrad'} lower, {min(ada_test, rms_test) / max(ada_test, rms_test):.2f}x"
    )
    losses = (
        f"test loss {rms_test:.3f} (RMSprop, lr {rms['learning rate']:g}) vs {ada_test:.3f} "
        f"(the better Adagrad, lr {best_adagrad['learning rate']:g}; {outcome})"
    )
    if rise < 1:
        verdict = Verdict.FAILS
        words = (
            f"RMSprop's rate shrank too, to {rise:.3g}x its epoch-1 value: its moving average did not keep it "
            f"up; {losses}."
        )
    elif not long_enough:
        verdict = Verdict.NOT_MEASURED
        words = (
            f"RMSprop's rate rose to {rise:.3g}x its epoch-1 value, but a run this short cannot show a stall for it "
            f"to fix; run without --quick ({losses})."
        )
    elif stalled and better:
        verdict = Verdict.HOLDS
        words = (
            f"RMSprop's moving average kept its rate up ({rise:.3g}x its epoch-1 value at the end) and it beat "
            f"the stalled Adagrad: {losses}."
        )
    else:
        verdict = Verdict.PARTLY
        why = "Adagrad had no stall for it to fix" if not stalled else "it did not beat the stalled Adagrad"
        words = (
            f"RMSprop's rate follows the recent gradients, so it rose as they shrank ({rise:.3g}x its epoch-1 "
            f"value at the end, Adagrad's {best_adagrad['busy rate, end / epoch 1']:.3g}x), but {why}: each at "
            f"its rate chosen on validation, {losses}. A rising rate is not faster learning: it means smaller "
            "recent gradients, while each step stays about lr in size."
        )
    return Claim(
        key="rmsprop_fixes_adagrads_shrinking_rate",
        claim="RMSprop fixes Adagrad's shrinking rate by averaging only the recent squared gradients",
        verdict=verdict,
        numbers=numbers,
        conclusion=words,
    )
