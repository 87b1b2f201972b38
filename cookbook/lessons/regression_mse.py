"""Evidence for lesson 01 (regression with mean squared error): errors, tables, the curve, the claims.

The lesson trains; this module measures what it trained. Everything here is
NumPy and pandas on arrays the lesson passes in, so each piece is tested on
tiny inputs in ``tests/test_regression_mse.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.figures import plain_log_ticks

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "TargetScaler",
    "claims",
    "error_contributions",
    "errors_table",
    "history_table",
    "mse_mae",
    "plot_loss_curves",
    "same_mae_different_mse",
]

ERRORS_TO_TABULATE = (0.5, 1.0, 2.0, 5.0, 10.0)  # residuals, in units of the target
BASELINE = "predict the mean"


class TargetScaler:
    """Standardize a regression target with its training mean and std, and map predictions back."""

    def __init__(self, y_train: Sequence[float] | np.ndarray) -> None:
        y_train = np.asarray(y_train, np.float64)
        self.mean = float(y_train.mean())
        self.std = float(y_train.std()) or 1.0

    def scale(self, y: Sequence[float] | np.ndarray) -> np.ndarray:
        return ((np.asarray(y, np.float64) - self.mean) / self.std).astype("float32")

    def unscale(self, y: Sequence[float] | np.ndarray) -> np.ndarray:
        return np.asarray(y, np.float64).ravel() * self.std + self.mean


def mse_mae(y_true: Sequence[float] | np.ndarray, y_pred: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean squared and mean absolute error, in float64 NumPy."""
    residual = np.asarray(y_true, np.float64).ravel() - np.asarray(y_pred, np.float64).ravel()
    return float(np.mean(residual**2)), float(np.mean(np.abs(residual)))


def errors_table(
    predictions: Mapping[str, Mapping[str, np.ndarray]],
    truth: Mapping[str, np.ndarray],
    epochs_run: Mapping[str, int],
    train_mean: float,
) -> pd.DataFrame:
    """MSE, RMSE and MAE of each model on each part, plus the baseline that predicts the training mean.

    Args:
        predictions: ``{model: {part: predictions in the target's units}}``.
        truth: ``{part: true targets}``.
        epochs_run: ``{model: epochs it trained}``.
        train_mean: the training rows' mean target, the baseline's prediction.
    """
    baseline = {part: np.full(len(y_true), train_mean) for part, y_true in truth.items()}
    rows = []
    for model, by_part in {**predictions, BASELINE: baseline}.items():
        for part, y_true in truth.items():
            mse, mae = mse_mae(y_true, by_part[part])
            rows.append(
                {
                    "model": model,
                    "epochs run": epochs_run.get(model, 0),
                    "part": part,
                    "MSE": mse,
                    "RMSE": float(np.sqrt(mse)),
                    "MAE": mae,
                }
            )
    return pd.DataFrame(rows)


def history_table(histories: Mapping[str, Mapping[str, Sequence[float]]]) -> pd.DataFrame:
    """Train and validation MSE per epoch of each run (``{run: keras History.history}``), long format."""
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "run": name,
                    "epoch": np.arange(1, len(history["loss"]) + 1),
                    "train MSE": history["loss"],
                    "validation MSE": history["val_loss"],
                }
            )
            for name, history in histories.items()
        ],
        ignore_index=True,
    )


def error_contributions(errors: Sequence[float] = ERRORS_TO_TABULATE) -> pd.DataFrame:
    """How one residual e adds to each loss: e**2 to MSE, |e| to MAE."""
    e = np.asarray(errors, dtype=float)
    return pd.DataFrame({"error": e, "MSE term e^2": e**2, "MAE term |e|": np.abs(e), "MSE / MAE": e**2 / np.abs(e)})


def same_mae_different_mse() -> pd.DataFrame:
    """Two sets of ten residuals with equal MAE: one large miss costs MSE far more."""
    spread = np.full(10, 1.9)  # ten moderate misses
    one_big = np.array([1.0] * 9 + [10.0])  # nine small misses and one large one
    return pd.DataFrame(
        {
            "residuals": ["ten errors of 1.9", "nine errors of 1, one of 10"],
            "MAE": [np.mean(np.abs(spread)), np.mean(np.abs(one_big))],
            "MSE": [np.mean(spread**2), np.mean(one_big**2)],
        }
    )


def plot_loss_curves(
    full: Mapping[str, Sequence[float]], stopped: Mapping[str, Sequence[float]], patience: int, data_name: str
) -> Figure:
    """Train and validation MSE per epoch of the full run, with the epoch EarlyStopping kept marked."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(7, 4.2))
    ax = fig.subplots()
    epochs = np.arange(1, len(full["loss"]) + 1)
    # Keras's "loss" is the mean over the epoch's batches while the weights still move;
    # "val_loss" is measured after the epoch.
    ax.plot(epochs, full["loss"], label="train MSE (mean during the epoch)")
    ax.plot(epochs, full["val_loss"], label="validation MSE (after the epoch)")
    best = int(np.argmin(stopped["val_loss"])) + 1
    ax.axvline(best, color="black", linestyle=":", label=f"EarlyStopping keeps epoch {best} (patience {patience})")
    ax.axhline(1.0, color="grey", linestyle="--", label="predict the mean (train MSE = 1)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    ax.set(
        xlabel="epoch",
        ylabel="MSE (standardized target, log scale)",
        yscale="log",
        title=f"Regression on {data_name}: training past the best epoch",
    )
    plain_log_ticks(ax.yaxis)
    ax.legend(fontsize="small")
    return fig


def claims(errors: pd.DataFrame, full_model: str, stopped_model: str, epochs: int) -> list[Claim]:
    """The lesson's points to remember, from its ``errors_table`` (the test rows decide)."""
    test = errors[errors["part"] == "test"].set_index("model")
    mse, mae = test["MSE"], test["MAE"]
    full_epochs, stopped_epochs = int(test.loc[full_model, "epochs run"]), int(test.loc[stopped_model, "epochs run"])
    same_mae = same_mae_different_mse()
    spread, one_big = same_mae["MSE"].iloc[0], same_mae["MSE"].iloc[1]

    early_helped = mse[stopped_model] < mse[full_model]
    stopped_early = stopped_epochs < epochs
    if not stopped_early:
        early_verdict, early_words = (
            Verdict.NOT_MEASURED,
            f"EarlyStopping never ran out of patience in {epochs} epochs, so this run cannot tell whether "
            f"stopping early helps (test MSE {mse[stopped_model]:.4g})",
        )
    else:
        early_verdict = verdict_of(early_helped)
        early_words = (
            f"Hold out a validation split and let EarlyStopping(restore_best_weights=True) pick the epoch: it "
            f"stopped after {stopped_epochs} of {epochs} epochs with test MSE {mse[stopped_model]:.4g}, against "
            f"{mse[full_model]:.4g} for training all {full_epochs}"
            if early_helped
            else f"Stopping early did not pay here: it stopped after {stopped_epochs} of {epochs} epochs with test "
            f"MSE {mse[stopped_model]:.4g}, against {mse[full_model]:.4g} for training all {full_epochs}; "
            "the validation split is small, so its best epoch is a noisy guess"
        )
    beats_mean = mse[stopped_model] < mse[BASELINE]
    mse_order, mae_order = mse[stopped_model] < mse[full_model], mae[stopped_model] < mae[full_model]
    agree = mse_order == mae_order
    better_mse, other = (stopped_model, full_model) if mse_order else (full_model, stopped_model)
    return [
        Claim(
            key="early_stopping_helps",
            claim="training past the best validation epoch makes the test error worse",
            verdict=early_verdict,
            numbers={
                "epochs": epochs,
                "stopped_epochs": stopped_epochs,
                "test_mse_stopped": mse[stopped_model],
                "test_mse_all_epochs": mse[full_model],
            },
            conclusion=early_words + ".",
        ),
        Claim(
            key="mse_regression_beats_the_mean",
            claim="Dense(1) with no activation and loss='mean_squared_error' learns a regression",
            verdict=verdict_of(beats_mean),
            numbers={"test_mse": mse[stopped_model], "test_mse_mean_baseline": mse[BASELINE]},
            conclusion=(
                f"A linear Dense(1) output with loss='mean_squared_error' learned the target: test MSE "
                f"{mse[stopped_model]:.4g}, against {mse[BASELINE]:.4g} for always predicting the training mean."
                if beats_mean
                else f"This model did not beat always predicting the training mean (test MSE "
                f"{mse[stopped_model]:.4g} vs {mse[BASELINE]:.4g}): check the data and the learning rate first."
            ),
        ),
        Claim(
            key="mse_and_mae_rank_alike",
            claim="the model with the lower test MSE also has the lower test MAE",
            verdict=verdict_of(agree),
            numbers={
                "test_mse_stopped": mse[stopped_model],
                "test_mse_all_epochs": mse[full_model],
                "test_mae_stopped": mae[stopped_model],
                "test_mae_all_epochs": mae[full_model],
            },
            conclusion=(
                f"Judge a model by the error you will be judged by: MSE and MAE ranked the two models differently "
                f"here. {better_mse!r} had the lower test MSE ({mse[better_mse]:.4g} vs {mse[other]:.4g}) but the "
                f"higher test MAE ({mae[better_mse]:.4g} vs {mae[other]:.4g})."
                if not agree
                else f"MSE and MAE ranked the two models alike here (test MSE {mse[better_mse]:.4g} vs "
                f"{mse[other]:.4g}, MAE {mae[better_mse]:.4g} vs {mae[other]:.4g}); they need not, because MSE "
                "weighs one large miss more than MAE does."
            ),
        ),
        Claim(
            key="mse_punishes_large_errors",
            claim="MSE punishes a few large errors more than many small ones",
            verdict=verdict_of(one_big > spread),
            numbers={"mae": same_mae["MAE"].iloc[0], "mse_spread": spread, "mse_one_large": one_big},
            conclusion=(
                f"Choose MSE when one large miss is worse than several small ones: residuals with the same MAE "
                f"({same_mae['MAE'].iloc[0]:.2g}) have MSE {spread:.3g} when spread out and {one_big:.3g} with "
                "one miss of 10."
            ),
        ),
    ]
