"""Lesson 01 (regression with MSE): its evidence on tiny inputs, and its claims from one quick run."""

from cookbook import claims
from cookbook.claims import Verdict
from cookbook.lessons import regression_mse as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "01_regression_mse"


def test_mse_mae_is_the_mean_of_squared_and_absolute_residuals():
    """mse_mae is the textbook mean of squared and absolute residuals."""
    assert evidence.mse_mae([1.0, 2.0, 4.0], [1.5, 2.0, 1.0]) == pytest.approx(((0.25 + 0 + 9) / 3, (0.5 + 0 + 3) / 3))


def test_target_scaler_round_trips_and_standardizes():
    """scale gives mean 0 and std 1 on the training target; unscale undoes it."""
    y = np.array([10.0, 20.0, 30.0, 60.0])
    scaler = evidence.TargetScaler(y)
    scaled = scaler.scale(y)
    assert scaled.mean() == pytest.approx(0.0, abs=1e-6) and scaled.std() == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(scaler.unscale(scaled), y, rtol=1e-6)
    assert evidence.TargetScaler([5.0, 5.0]).std == 1.0, "a constant target is not divided by zero"


def _errors(stopped_mse_gap=-1.0, stopped_mae_gap=-1.0, stopped_epochs=12, epochs=50):
    """An errors_table where the early-stopped model differs from the full one by the given residual gaps."""
    truth = {"train": np.zeros(4), "test": np.zeros(4)}
    full = np.array([2.0, 2.0, 2.0, 2.0])  # MSE 4, MAE 2
    # stopped: one residual changed so MSE and MAE move by chosen amounts (kept simple: all equal residuals).
    r = 2.0 + stopped_mae_gap
    stopped = np.full(4, r)
    if stopped_mse_gap * stopped_mae_gap < 0:  # opposite directions: one large miss, three small ones
        stopped = np.array([0.5, 0.5, 0.5, 5.5])  # MAE 1.75 < 2, MSE 7.75 > 4
    predictions = {"all": {"train": full, "test": full}, "stopped": {"train": stopped, "test": stopped}}
    return evidence.errors_table(predictions, truth, {"all": epochs, "stopped": stopped_epochs}, train_mean=3.0)


def test_errors_table_adds_the_mean_baseline_in_the_targets_units():
    """The baseline row is the training mean's error: MSE 9, RMSE 3, MAE 3 for mean 3 and targets 0."""
    table = _errors().set_index(["model", "part"])
    assert table.loc[("predict the mean", "test"), ["MSE", "RMSE", "MAE", "epochs run"]].tolist() == [9, 3, 3, 0]
    assert table.loc[("stopped", "test"), "MSE"] == pytest.approx(1.0)


def test_claims_follow_the_numbers_not_the_wording():
    """Stopping early and lowering both errors holds; MSE and MAE agree; all keys present."""
    found = claims.by_key(evidence.claims(_errors(), "all", "stopped", epochs=50))
    assert found["early_stopping_helps"].verdict is Verdict.HOLDS
    assert found["early_stopping_helps"].numbers["test_mse_stopped"] == pytest.approx(1.0)
    assert found["mse_regression_beats_the_mean"].verdict is Verdict.HOLDS
    assert found["mse_and_mae_rank_alike"].verdict is Verdict.HOLDS
    assert (
        found["mse_punishes_large_errors"].numbers["mse_one_large"]
        > 3 * found["mse_punishes_large_errors"].numbers["mse_spread"]
    )


def test_mse_and_mae_disagree_when_one_large_miss_replaces_small_ones():
    """Lower MAE but higher MSE: the ranking claim fails, which is what the lesson must say."""
    found = claims.by_key(evidence.claims(_errors(stopped_mse_gap=1, stopped_mae_gap=-1), "all", "stopped", 50))
    claim = found["mse_and_mae_rank_alike"]
    assert claim.verdict is Verdict.FAILS
    assert claim.numbers["test_mse_stopped"] > claim.numbers["test_mse_all_epochs"]
    assert claim.numbers["test_mae_stopped"] < claim.numbers["test_mae_all_epochs"]


def test_early_stopping_is_not_measured_when_it_never_stopped():
    """A run that used every epoch cannot tell whether stopping early helps."""
    found = claims.by_key(evidence.claims(_errors(stopped_epochs=50), "all", "stopped", epochs=50))
    assert found["early_stopping_helps"].verdict is Verdict.NOT_MEASURED


def test_same_mae_different_mse_shows_one_large_error_costing_more():
    """Equal MAE, but the set with one error of 10 has about three times the MSE; e^2 is the MSE term."""
    table = evidence.same_mae_different_mse()
    assert table["MAE"].iloc[0] == pytest.approx(table["MAE"].iloc[1])
    assert table["MSE"].iloc[1] > 3 * table["MSE"].iloc[0]
    contributions = evidence.error_contributions()
    np.testing.assert_allclose(contributions["MSE term e^2"], contributions["error"] ** 2)


def test_restore_best_weights_keeps_the_epoch_with_the_lowest_validation_loss():
    """The restored model's validation MSE equals the lowest val_loss of its history (not the last one)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=2.0, size=120)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mean_squared_error")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(X, y, epochs=60, validation_split=0.2, callbacks=[stop], verbose=0)
    assert len(history.history["val_loss"]) < 60, "this noisy problem overfits, so the run stops early"
    assert model.evaluate(X[-24:], y[-24:], verbose=0) == pytest.approx(min(history.history["val_loss"]), rel=1e-5)


@pytest.mark.slow
def test_quick_run_beats_the_mean_and_its_claims_match_its_table(quick_run):
    """The quick run's model cuts the mean baseline's test MSE by a quarter; the claims quote the table."""
    out = quick_run(LESSON)
    table = pd.read_csv(out / f"{LESSON}.csv").set_index(["model", "part"])
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    beats = found["mse_regression_beats_the_mean"]
    assert beats.verdict is Verdict.HOLDS
    assert beats.numbers["test_mse"] < 0.75 * beats.numbers["test_mse_mean_baseline"]
    assert beats.numbers["test_mse_mean_baseline"] == pytest.approx(table.loc[("predict the mean", "test"), "MSE"])
    history = pd.read_csv(out / f"{LESSON}_history.csv")
    stopped, full = history[history["run"] == "EarlyStopping"], history[history["run"] == "all epochs"]
    # Same seed, same start, same batches: until it stops, the EarlyStopping run is the full run.
    np.testing.assert_allclose(stopped["train MSE"].to_numpy(), full["train MSE"].to_numpy()[: len(stopped)], rtol=1e-5)
