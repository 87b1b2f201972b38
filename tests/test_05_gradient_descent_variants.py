"""Recipe 05's claims, from the session's one ``--quick`` run: updates per epoch, tuned rates, noise, the minimum.

The references are computed here, not read from the recipe: ``math.ceil`` for
the update counts, ``numpy.linalg.lstsq`` on the regenerated training rows
for the minimum, and the grid table for the choice of each rate.
"""

import math

import numpy as np
import pandas as pd
import pytest

from cookbook import curriculum, gd_variants


@pytest.fixture(scope="module")
def recipe05(recipes):
    return curriculum.load(curriculum.resolve(recipes, "05"))


@pytest.fixture(scope="module")
def run(quick_run):
    table, out = quick_run("05")
    return table.set_index("variant"), out


@pytest.fixture(scope="module")
def grid(run):
    _, out = run
    return pd.read_csv(out / "05_gradient_descent_variants_lr_grid.csv")


def test_updates_per_epoch_read_from_optimizer_iterations_are_ceil_n_over_batch_size(run, recipe05):
    """optimizer.iterations per epoch is 1 for batch GD, N for stochastic GD, ceil(N/32) for mini-batch GD."""
    table, _ = run
    n = recipe05.QUICK_N_TRAIN
    assert table.loc["batch GD", "batch_size"] == n
    for variant, row in table.iterrows():
        assert row["updates/epoch"] == math.ceil(n / row["batch_size"]), variant
    assert list(table["updates/epoch"]) == [1, n, math.ceil(n / 32)]


def test_each_variant_keeps_the_grid_rate_with_the_lowest_validation_loss(run, grid, recipe05):
    """The chosen rate is the argmin of the final validation MSE over the whole grid, for every variant."""
    table, _ = run
    assert sorted(grid["learning_rate"].unique()) == sorted(recipe05.QUICK_LEARNING_RATES)
    for variant, rows in grid.groupby("variant"):
        assert len(rows) == len(recipe05.QUICK_LEARNING_RATES), "every rate of the grid was tried"
        finite = rows[~rows["diverged"]]
        best = finite.loc[finite["val MSE"].idxmin(), "learning_rate"]
        assert rows.loc[rows["chosen"], "learning_rate"].tolist() == [best]
        assert table.loc[variant, "learning_rate"] == best


def test_the_best_rate_grows_with_the_batch_size(run):
    """Validation picks a rate at least 10 times larger for batch GD than for stochastic GD (batch_size=1)."""
    rates = run[0]["learning_rate"]
    assert rates["batch GD"] >= rates["mini-batch GD"] >= rates["stochastic GD"]
    assert rates["batch GD"] >= 10 * rates["stochastic GD"]


def test_loss_each_update_saw_jumps_most_for_one_row_and_least_for_the_full_batch(run):
    """Std of the change in the batch loss between updates: stochastic > 2 x mini-batch, mini-batch > 10 x batch GD."""
    jump = run[0]["batch-loss jump (std)"]
    assert jump["stochastic GD"] > 2 * jump["mini-batch GD"]
    assert jump["mini-batch GD"] > 10 * jump["batch GD"]


def test_only_the_stochastic_variants_go_uphill(run):
    """Some single-row updates raise the whole training set's MSE; no batch GD update does."""
    rises = run[0]["share of updates raising train MSE"]
    assert rises["batch GD"] == 0
    assert rises["stochastic GD"] > 0.2


def test_batch_gd_reaches_the_lstsq_minimum_and_the_others_stay_above_it(run, recipe05):
    """Batch GD ends within 0.1% of numpy.linalg.lstsq's minimum MSE, 10 times closer than either stochastic variant."""
    table, _ = run
    X, y = gd_variants.make_linear_data(recipe05.QUICK_N_TRAIN, recipe05.N_FEATURES,
                                        correlation=recipe05.CORRELATION, noise=recipe05.NOISE, seed=0)
    design = np.hstack([X.astype(np.float64), np.ones((len(X), 1))])
    solution = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)[0]
    minimum = np.mean((design @ solution - y) ** 2)
    excess = table["excess MSE at end"]
    assert 0 <= excess["batch GD"] <= recipe05.MINIMUM_TOLERANCE * minimum
    assert excess["batch GD"] * 10 < min(excess["stochastic GD"], excess["mini-batch GD"])
    assert table.loc["batch GD", "max |w - w_lstsq|"] < 0.01


def test_every_claim_has_a_measurement_and_a_verdict_with_its_reason(run):
    """No bare True/False: each of the note's claims says how it was measured and why the verdict is what it is."""
    _, out = run
    claims = pd.read_csv(out / "05_gradient_descent_variants_claims.csv")
    assert list(claims.columns) == ["the note says", "measured how", "measured", "verdict"]
    assert len(claims) >= 9
    for verdict in claims["verdict"]:
        outcome, _, reason = verdict.partition(": ")
        assert outcome.startswith(("holds", "partly", "does not hold", "not measured", "not shown", "not yet")), verdict
        assert len(reason) > 10, f"no reason given: {verdict}"
    verdicts = claims.set_index("the note says")["verdict"]
    assert verdicts["batch GD makes one update per epoch (SGD one per sample, mini-batch one per 32)"].startswith("holds")
    assert verdicts["batch GD reaches the minimum of a convex loss"].startswith("holds")
    assert verdicts["mini-batch GD is more stable than SGD"].startswith("holds")


def test_timing_table_counts_updates_per_epoch_on_the_big_rows(run, recipe05):
    """On the timing rows, updates/epoch is ceil(rows / batch_size) and s/epoch is that many updates' time."""
    _, out = run
    timing = pd.read_csv(out / "05_gradient_descent_variants_timing.csv")
    assert (timing["rows"] == recipe05.QUICK_TIMING_ROWS).all()
    assert (timing["updates/epoch"] == np.ceil(timing["rows"] / timing["batch_size"])).all()
    np.testing.assert_allclose(timing["s/epoch"], timing["updates/epoch"] * timing["s/update"])
