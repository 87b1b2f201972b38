"""Recipe 01's claims: an MSE-trained model beats the mean, and MSE punishes large errors."""

import numpy as np
import pytest

from cookbook import curriculum


@pytest.fixture(scope="module")
def recipe01(recipes):
    return curriculum.load(curriculum.resolve(recipes, "01"))


def test_mse_trained_model_beats_predicting_the_mean(quick_run):
    """Even a quick run cuts the test MSE of predicting the training mean by over a quarter."""
    table, _ = quick_run("01")
    table = table.set_index(["model", "part"])
    model_mse = table.loc[("MLP + MSE loss", "test"), "MSE"]
    mean_mse = table.loc[("predict the mean", "test"), "MSE"]
    assert model_mse < 0.75 * mean_mse


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
