"""Evidence for lesson 12 (the optimizer race on Digits): labels, tables, the figure, the claims.

The lesson builds the model, compiles it with each optimizer, fits and
evaluates; this module reads what came back: each optimizer's settings from
its ``get_config()``, the per-epoch curves, the race table (train and test
cross-entropy and accuracy, epochs to a target loss), the figure, and the
points to remember. Everything is pandas and NumPy on what the lesson passes
in, so each piece is tested on tiny inputs in ``tests/test_optimizer_race_digits.py``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.figures import plain_log_ticks

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import keras
    from matplotlib.figure import Figure

__all__ = [
    "GAP_CLOSED_HOLDS",
    "GAP_CLOSED_PARTLY",
    "claims",
    "curves_table",
    "describe",
    "epochs_to_reach",
    "plot_race",
    "race_table",
]

# SGD at lr / (1 - momentum) "explains" momentum's lead over SGD at lr when it closes this share of the
# train-loss gap between the two (HOLDS), or at least the second share (PARTLY).
GAP_CLOSED_HOLDS = 0.9
GAP_CLOSED_PARTLY = 0.5
_SETTINGS = (  # config key, short name in a label; a zero (momentum 0: plain SGD) is left out
    ("momentum", "momentum"),
    ("initial_accumulator_value", "G0"),
    ("rho", "rho"),
    ("beta_1", "beta_1"),
    ("beta_2", "beta_2"),
)


def describe(optimizer: keras.optimizers.Optimizer) -> str:
    """The settings that make an optimizer's curve what it is, read from its ``get_config()``: 'lr 0.01, momentum 0.9'."""
    config = optimizer.get_config()
    parts = [f"lr {float(config['learning_rate']):g}"]
    parts += [f"{short} {float(config[key]):g}" for key, short in _SETTINGS if config.get(key)]
    return ", ".join(parts)


def epochs_to_reach(losses: Sequence[float], target: float) -> int | None:
    """The first epoch (1-based) whose loss is below ``target``, or ``None`` if none is.

    Args:
        losses: the losses after epochs 1, 2, ...
        target: the loss to get under.
    """
    below = np.flatnonzero(np.asarray(losses, dtype=float) < target)
    return int(below[0]) + 1 if len(below) else None


def curves_table(start: Mapping[str, float], histories: Mapping[str, Mapping[str, Sequence[float]]]) -> pd.DataFrame:
    """Train loss and accuracy per epoch of each optimizer, long format, epoch 0 being the shared start.

    Args:
        start: ``{"loss": ..., "accuracy": ...}`` of the initial weights on the training rows
            (``model.evaluate(..., return_dict=True)``), the same for every optimizer.
        histories: ``{optimizer: History.history}`` with ``loss`` and ``accuracy`` per epoch.
    """
    frames = []
    for name, history in histories.items():
        losses, accuracies = list(history["loss"]), list(history["accuracy"])
        frames.append(
            pd.DataFrame(
                {
                    "optimizer": name,
                    "epoch": np.arange(len(losses) + 1),
                    "train loss": np.asarray([start["loss"], *losses], float),
                    "train accuracy": np.asarray([start["accuracy"], *accuracies], float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _as_set(value: float) -> float:
    """A setting as the user wrote it: Keras stores 0.01 as float32 (0.0099999998), 7 digits give it back."""
    return float(f"{float(value):.7g}")


def race_table(
    optimizers: Mapping[str, keras.optimizers.Optimizer],
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    tests: Mapping[str, Mapping[str, float]],
    target: float,
) -> pd.DataFrame:
    """One row per optimizer: its settings, last-epoch train loss and accuracy, test loss and accuracy, epochs to ``target``.

    Args:
        optimizers: ``{name: the optimizer it trained with}`` (read through ``get_config()``).
        histories: ``{name: History.history}``; the train numbers are the last epoch's
            (Keras's mean over that epoch's batches, while the weights still move).
        tests: ``{name: model.evaluate(X_test, y_test, return_dict=True)}``.
        target: the train loss "epochs to" counts to; ``<NA>`` when never reached.
    """
    rows = []
    for name, optimizer in optimizers.items():
        config, history = optimizer.get_config(), histories[name]
        rows.append(
            {
                "optimizer": name,
                "settings": describe(optimizer),
                "learning rate": _as_set(config["learning_rate"]),
                "momentum": _as_set(config["momentum"]) if "momentum" in config else math.nan,
                "train loss": float(history["loss"][-1]),
                "train accuracy": float(history["accuracy"][-1]),
                "test loss": float(tests[name]["loss"]),
                "test accuracy": float(tests[name]["accuracy"]),
                f"epochs to train loss < {target:g}": epochs_to_reach(history["loss"], target),
            }
        )
    table = pd.DataFrame(rows)
    column = f"epochs to train loss < {target:g}"
    table[column] = table[column].astype("Int64")
    return table


def plot_race(curves: pd.DataFrame, table: pd.DataFrame, target: float, data_name: str, dashed: str) -> Figure:
    """Left: train loss per epoch (log scale). Right: each run's test cross-entropy, its test accuracy beside it.

    Args:
        curves: ``curves_table``.
        table: ``race_table`` (settings for the legend, test numbers for the right panel).
        target: the train loss drawn as a dashed line.
        data_name: for the title.
        dashed: the optimizer drawn dashed (SGD at the effective rate, so it reads as a control).
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(12, 5.4), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1.5, 1))
    colors = {name: f"C{i}" for i, name in enumerate(table["optimizer"])}
    settings = dict(zip(table["optimizer"], table["settings"]))
    for name, curve in curves.groupby("optimizer", sort=False):
        left.plot(
            curve["epoch"],
            curve["train loss"],
            color=colors[name],
            linestyle="--" if name == dashed else "-",
            marker="s" if name == dashed else "o",
            markersize=3,
            label=f"{name}: plain SGD at Momentum's effective rate" if name == dashed else f"{name}: {settings[name]}",
        )
    left.axhline(target, color="grey", linestyle=":", label=f"target train loss {target:g}")
    left.set(
        xlabel="epoch (0 = the shared start, before any step)",
        ylabel="train cross-entropy (mean over the epoch's batches, log scale)",
        yscale="log",
        title=f"Optimizer race on {data_name}: same start, same mini-batches",
    )
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    plain_log_ticks(left.yaxis)
    ranked = table.sort_values("test loss", ascending=False)  # lowest test loss drawn at the top
    bars = right.barh(ranked["optimizer"], ranked["test loss"], color=[colors[name] for name in ranked["optimizer"]])
    right.bar_label(bars, labels=[f" accuracy {a:.3f}" for a in ranked["test accuracy"]], fontsize="small")
    right.set_xlim(0, 1.45 * float(ranked["test loss"].max()))  # room for the accuracy labels
    right.set(
        xlabel="test cross-entropy (lower is better); label: test accuracy",
        title="On the test rows, after the last epoch",
    )
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize="small")
    return fig


def _reached(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _faster(epochs_a: int | None, epochs_b: int | None) -> bool:
    """a got under the target first (or b never did while a did)."""
    return epochs_a is not None and (epochs_b is None or epochs_a < epochs_b)


def _share(fraction: float) -> str:
    return "all" if fraction >= 1 else f"{max(fraction, 0.0):.0%}"


def claims(
    table: pd.DataFrame,
    *,
    sgd: str,
    momentum: str,
    sgd_at_effective_rate: str,
    adaptive: Sequence[str],
    target: float,
    test_rows: int,
) -> list[Claim]:
    """The lesson's points to remember, from its ``race_table``.

    Args:
        table: ``race_table``.
        sgd, momentum, sgd_at_effective_rate: the rows of plain SGD at lr, SGD with momentum at the same lr,
            and plain SGD at lr / (1 - momentum).
        adaptive: the rows of optimizers that divide by a gradient RMS (RMSprop, Adam), at their own lr.
        target: the train loss of the "epochs to" column.
        test_rows: how many test rows the accuracies count.
    """
    by = table.set_index("optimizer")
    reach = by[f"epochs to train loss < {target:g}"]
    loss, test_loss, test_accuracy = by["train loss"], by["test loss"], by["test accuracy"]
    lr, lr_effective = float(by.loc[sgd, "learning rate"]), float(by.loc[sgd_at_effective_rate, "learning rate"])
    beta = float(by.loc[momentum, "momentum"])

    # 1. How much of momentum's lead is its larger step: SGD at lr / (1 - momentum) against both.
    gap = float(loss[sgd] - loss[momentum])
    effective_finite = math.isfinite(float(loss[sgd_at_effective_rate]))
    closed = float(loss[sgd] - loss[sgd_at_effective_rate]) / gap if gap > 0 and effective_finite else math.nan
    compared = (
        f"plain SGD at lr {lr_effective:g} reached train loss {loss[sgd_at_effective_rate]:.3g} against Momentum's "
        f"{loss[momentum]:.3g} at lr {lr:g} (SGD at {lr:g}: {loss[sgd]:.3g}); test cross-entropy "
        f"{test_loss[sgd_at_effective_rate]:.3g} vs {test_loss[momentum]:.3g}, test accuracy "
        f"{test_accuracy[sgd_at_effective_rate]:.3f} vs {test_accuracy[momentum]:.3f}"
    )
    advice = (
        f"Adding momentum={beta:g} to keras.optimizers.SGD makes its steps about 1/(1 - {beta:g}) = "
        f"{1 / (1 - beta):.3g}x larger: compare it with plain SGD at lr/(1 - momentum), not at the same lr, and "
        "re-tune the learning rate whenever you change momentum"
    )
    if gap <= 0:
        step_verdict = Verdict.NOT_MEASURED
        step_words = f"{advice}. In this run Momentum did not lead SGD at lr {lr:g} at all, so there was no gain to explain: {compared}."
    elif not effective_finite:
        step_verdict = Verdict.FAILS
        step_words = f"{advice}. Here SGD at lr {lr_effective:g} diverged (its loss is not finite), so momentum's averaging bought a step size plain SGD could not take: {compared}."
    else:
        step_verdict = verdict_of(closed >= GAP_CLOSED_HOLDS, partly=closed >= GAP_CLOSED_PARTLY)
        step_words = f"{advice}. Here {compared}: the larger step accounts for {_share(closed)} of momentum's gain" + (
            ", momentum itself added nothing."
            if closed >= 1
            else ", momentum itself little."
            if closed >= GAP_CLOSED_HOLDS
            else "; the rest is what momentum adds beyond the step size on this problem."
        )

    # 2. The classic headline, momentum vs SGD at the same lr, and lesson 08's bowl where momentum 0.9 lost.
    lower, first = bool(loss[momentum] < loss[sgd]), _faster(_reached(reach[momentum]), _reached(reach[sgd]))
    when = {name: _reached(reach[name]) for name in (sgd, momentum)}
    if when[sgd] is None and when[momentum] is None:
        race_words = f"neither got under {target:g} in this run"
    else:
        race_words = f"under {target:g} " + " vs ".join(
            f"after {when[name]} epochs" if when[name] is not None else "not in this run" for name in (momentum, sgd)
        )
    tolerated = effective_finite and bool(loss[sgd_at_effective_rate] < loss[sgd])
    why = (
        f"Both are true: lesson 08's SGD already took the largest step its noise-free bowl allowed, so momentum's "
        f"{1 / (1 - beta):.3g}x step could only overshoot and ring; "
        + (
            f"here SGD at lr {lr:g} is far below what Digits tolerates (SGD at {lr_effective:g} trains too), so "
            "the larger step is pure gain."
            if tolerated
            else f"here even SGD at {lr_effective:g} did no better, so the step size is not the whole story."
        )
    )
    same_rate_words = (
        f"Momentum {beta:g} beat plain SGD at the same lr {lr:g} here (train loss {loss[momentum]:.3g} vs "
        f"{loss[sgd]:.3g}; {race_words}), while lesson 08 found momentum {beta:g} slower than SGD on a noise-free "
        f"bowl. {why}"
        if lower
        else f"Momentum {beta:g} did not beat plain SGD at the same lr {lr:g} here (train loss {loss[momentum]:.3g} vs "
        f"{loss[sgd]:.3g}), as on lesson 08's noise-free bowl; the race's headline does not hold in this run."
    )

    # 3. Test cross-entropy next to accuracy: do they crown the same optimizer?
    best_loss, best_accuracy = str(test_loss.idxmin()), str(test_accuracy.idxmax())
    agree = bool(test_accuracy[best_loss] >= test_accuracy[best_accuracy])
    names = list(by.index)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    alike = sum(
        (test_loss[a] - test_loss[b]) * (test_accuracy[b] - test_accuracy[a]) >= 0 for a, b in pairs
    )  # lower loss with higher (or equal) accuracy
    rows_apart = int(round(abs(test_accuracy[best_accuracy] - test_accuracy[best_loss]) * test_rows))
    runner_up = str(test_loss.drop(best_loss).idxmin())
    runner_rows = int(round(abs(test_accuracy[best_loss] - test_accuracy[runner_up]) * test_rows))
    metric_words = (
        f"Read test cross-entropy next to accuracy: both crowned {best_loss} here (test loss {test_loss[best_loss]:.3g}, "
        f"accuracy {test_accuracy[best_loss]:.3f}), and they ordered {alike} of {len(pairs)} pairs of optimizers alike. "
        f"Accuracy counts whole rows: the runner-up by cross-entropy, {runner_up} (test loss "
        f"{test_loss[runner_up]:.3g}), was {runner_rows} of {test_rows} test rows away."
        if agree
        else f"Test cross-entropy and accuracy disagree on the winner: {best_loss} has the lowest test cross-entropy "
        f"({test_loss[best_loss]:.3g}, accuracy {test_accuracy[best_loss]:.3f}) but {best_accuracy} the highest "
        f"accuracy ({test_accuracy[best_accuracy]:.3f}, cross-entropy {test_loss[best_accuracy]:.3g}), {rows_apart} of "
        f"{test_rows} test rows apart; report both, since accuracy alone names a different winner."
    )

    # 4. Learning rates do not carry over: the adaptive optimizers at a 10x smaller lr against SGD.
    ahead = [name for name in adaptive if loss[name] < loss[sgd]]
    adaptive_lr = float(by.loc[adaptive[0], "learning rate"])
    adaptive_losses = ", ".join(f"{name} {loss[name]:.3g}" for name in adaptive)
    rate_words = (
        f"Do not carry a learning rate from one optimizer to another: at lr {adaptive_lr:g}, "
        f"{lr / adaptive_lr:.3g}x smaller than SGD's {lr:g}, the adaptive optimizers reached train loss "
        f"{adaptive_losses} against SGD's {loss[sgd]:.3g}. In SGD's rule lr multiplies the gradient; in RMSprop's "
        "and Adam's it is each weight's step size, whatever the gradient's scale."
        if ahead
        else f"At lr {adaptive_lr:g}, {lr / adaptive_lr:.3g}x smaller than SGD's {lr:g}, no adaptive optimizer beat "
        f"SGD here (train loss {adaptive_losses} vs {loss[sgd]:.3g}); their lr is a step size, and this one was too "
        "small for this many epochs."
    )

    return [
        Claim(
            key="momentum_gain_is_its_larger_step",
            claim=f"momentum {beta:g}'s lead over SGD at the same lr is its 1/(1 - momentum) = {1 / (1 - beta):.3g}x larger step",
            verdict=step_verdict,
            numbers={
                "learning_rate": lr,
                "effective_learning_rate": lr_effective,
                "train_loss_sgd": float(loss[sgd]),
                "train_loss_momentum": float(loss[momentum]),
                "train_loss_sgd_effective_rate": float(loss[sgd_at_effective_rate]),
                "test_loss_momentum": float(test_loss[momentum]),
                "test_loss_sgd_effective_rate": float(test_loss[sgd_at_effective_rate]),
                "test_accuracy_momentum": float(test_accuracy[momentum]),
                "test_accuracy_sgd_effective_rate": float(test_accuracy[sgd_at_effective_rate]),
                "gap_closed": closed,
            },
            conclusion=step_words,
        ),
        Claim(
            key="momentum_beats_sgd_at_the_same_rate",
            claim=f"momentum {beta:g} trains faster than plain SGD at the same lr (lesson 08: slower on a noise-free bowl)",
            verdict=verdict_of(lower and first, partly=lower),
            numbers={
                "train_loss_sgd": float(loss[sgd]),
                "train_loss_momentum": float(loss[momentum]),
                "epochs_to_target_sgd": when[sgd],
                "epochs_to_target_momentum": when[momentum],
                "target": target,
            },
            conclusion=same_rate_words,
        ),
        Claim(
            key="test_loss_and_accuracy_agree",
            claim="the optimizer with the lowest test cross-entropy also has the highest test accuracy",
            verdict=verdict_of(agree),
            numbers={
                "test_loss_best": float(test_loss[best_loss]),
                "test_accuracy_of_lowest_loss": float(test_accuracy[best_loss]),
                "test_accuracy_best": float(test_accuracy[best_accuracy]),
                "pairs_ranked_alike": int(alike),
                "pairs": len(pairs),
                "test_rows": int(test_rows),
            },
            conclusion=metric_words,
        ),
        Claim(
            key="adaptive_rates_do_not_compare_with_sgd",
            claim=f"RMSprop and Adam at a {lr / adaptive_lr:.3g}x smaller lr train faster than SGD: an lr means a different thing in each rule",
            verdict=verdict_of(len(ahead) == len(adaptive), partly=bool(ahead)),
            numbers={
                "learning_rate_sgd": lr,
                "learning_rate_adaptive": adaptive_lr,
                "train_loss_sgd": float(loss[sgd]),
                **{f"train_loss_{name.lower()}": float(loss[name]) for name in adaptive},
            },
            conclusion=rate_words,
        ),
    ]
