"""Recipe 01's claims: MSE regression beats the mean, early stopping uses validation, MSE punishes large errors."""

from cookbook import curriculum

import numpy as np
import pytest


@pytest.fixture(scope="module")
def recipe01(recipes):
    return curriculum.load(curriculum.resolve(recipes, "01"))


@pytest.fixture(scope="module")
def table(quick_run):
    table, _ = quick_run("01")
    return table.set_index(["model", "part"])


@pytest.mark.slow
def test_mse_trained_model_beats_predicting_the_mean(table):
    """Even a quick run cuts the test MSE of predicting the training mean by over a quarter."""
    assert table.loc[("MLP, EarlyStopping", "test"), "MSE"] < 0.75 * table.loc[("predict the mean", "test"), "MSE"]


@pytest.mark.slow
def test_table_reports_the_mean_baseline_as_numpy_computes_it(table, recipe01):
    """The baseline row is the MSE of the training mean, in the target's units (RMSE = sqrt(MSE))."""
    row = table.loc[("predict the mean", "test")]
    assert row["RMSE"] == pytest.approx(np.sqrt(row["MSE"]))
    assert row["epochs run"] == 0


@pytest.mark.slow
def test_early_stopping_stops_patience_epochs_after_the_best_or_at_the_limit(quick_run, recipe01):
    """The recipe's EarlyStopping run ends PATIENCE epochs after its lowest val_loss, or at the epoch limit."""
    import pandas as pd

    table, out = quick_run("01")
    history = pd.read_csv(out / "01_regression_mse_history.csv")
    stopped = history[history["run"] == "EarlyStopping"]
    full = history[history["run"] == "all epochs"]
    epochs_run = table.set_index(["model", "part"]).loc[("MLP, EarlyStopping", "test"), "epochs run"]
    assert len(stopped) == epochs_run
    best = int(stopped["epoch"].iloc[int(np.argmin(stopped["validation MSE"].to_numpy()))])
    assert len(stopped) == len(full) or len(stopped) == best + recipe01.PATIENCE
    # Same seed, same start, same batches: until it stops, the EarlyStopping run is the full run.
    np.testing.assert_allclose(stopped["train MSE"].to_numpy(), full["train MSE"].to_numpy()[: len(stopped)], rtol=1e-5)


def test_restore_best_weights_keeps_the_epoch_with_the_lowest_validation_loss(recipe01, tmp_path):
    """The restored model's validation MSE equals the lowest val_loss of its history (not the last one)."""
    import keras

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3)).astype("float32")
    y = (X @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=2.0, size=120)).astype("float32")
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="mean_squared_error")
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(X, y, epochs=60, validation_split=recipe01.VALIDATION_SPLIT, callbacks=[stop], verbose=0)
    X_val, y_val = X[-24:], y[-24:]
    assert len(history.history["val_loss"]) < 60, "this noisy problem overfits, so the run stops early"
    val = model.evaluate(X_val, y_val, verbose=0)
    assert val == pytest.approx(min(history.history["val_loss"]), rel=1e-5)


def test_mse_mae_helper_matches_numpy(recipe01):
    """mse_mae is the textbook mean of squared and absolute residuals."""
    y, p = np.array([1.0, 2.0, 4.0]), np.array([1.5, 2.0, 1.0])
    assert recipe01.mse_mae(y, p) == pytest.approx(((0.25 + 0 + 9) / 3, (0.5 + 0 + 3) / 3))


def test_same_mae_table_shows_mse_punishing_one_large_error(recipe01):
    """Equal MAE, but the set with one error of 10 has about three times the MSE."""
    table = recipe01.same_mae_different_mse()
    assert table["MAE"].iloc[0] == pytest.approx(table["MAE"].iloc[1])
    assert table["MSE"].iloc[1] > 3 * table["MSE"].iloc[0]
    contributions = recipe01.error_contributions()
    np.testing.assert_allclose(contributions["MSE term e^2"], contributions["error"] ** 2)
