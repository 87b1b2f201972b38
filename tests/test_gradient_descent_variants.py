"""Recipe 06's claims, from the session's one ``--quick`` run: updates per epoch, tuned rates, noise, the minimum.

The references are computed here, not read from the recipe: ``math.ceil`` for
the update counts, ``numpy.linalg.lstsq`` on the regenerated training rows
for the minimum, per-sample gradients and sampling theory in float64 NumPy
for the gradient noise, full-batch steps in NumPy for the timed batch GD run,
and the grid table for the choice of each rate. The verdicts are checked
against the numbers of their own tables, so a verdict written as a fixed
sentence would fail.
"""

import math
import re

from cookbook import curriculum
from cookbook.lessons import gradient_descent

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # every test reads the recipe's --quick run


@pytest.fixture(scope="module")
def recipe06(recipes):
    return curriculum.load(curriculum.resolve(recipes, "gradient_descent_variants"))


@pytest.fixture(scope="module")
def run(quick_run):
    table, out = quick_run("gradient_descent_variants")
    return table.set_index("variant"), out


def _csv(run, name):
    return pd.read_csv(run[1] / f"06_gradient_descent_variants_{name}.csv")


@pytest.fixture(scope="module")
def grid(run):
    return _csv(run, "lr_grid")


@pytest.fixture(scope="module")
def verdicts(run):
    return _csv(run, "claims").set_index("the note says")["verdict"]


@pytest.fixture(scope="module")
def train_rows(recipe06):
    """The quick run's training rows, regenerated, in float64."""
    X, y = gradient_descent.make_linear_data(
        recipe06.QUICK_N_TRAIN, recipe06.N_FEATURES, correlation=recipe06.CORRELATION, noise=recipe06.NOISE, seed=0
    )
    return X.astype(np.float64), y.astype(np.float64)


def _verdict(verdicts, start):
    """The verdict of the one claim whose text starts with ``start``."""
    matches = [v for claim, v in verdicts.items() if claim.startswith(start)]
    assert len(matches) == 1, f"expected one claim starting {start!r}, got {len(matches)}"
    return matches[0]


def test_updates_per_epoch_read_from_optimizer_iterations_are_ceil_n_over_batch_size(run, recipe06):
    """optimizer.iterations per epoch is 1 for batch GD, N for stochastic GD, ceil(N/32) for mini-batch GD."""
    table, _ = run
    n = recipe06.QUICK_N_TRAIN
    assert table.loc["batch GD", "batch_size"] == n
    for variant, row in table.iterrows():
        assert row["updates/epoch"] == math.ceil(n / row["batch_size"]), variant
    assert list(table["updates/epoch"]) == [1, n, math.ceil(n / 32)]


def test_each_variant_keeps_the_grid_rate_with_the_lowest_validation_loss(run, grid, recipe06):
    """The chosen rate is the argmin of the final validation MSE over the whole grid, for every variant."""
    table, _ = run
    assert sorted(grid["learning_rate"].unique()) == sorted(recipe06.QUICK_LEARNING_RATES)
    for variant, rows in grid.groupby("variant"):
        assert len(rows) == len(recipe06.QUICK_LEARNING_RATES), "every rate of the grid was tried"
        finite = rows[~rows["diverged"]]
        best = finite.loc[finite["val MSE"].idxmin(), "learning_rate"]
        assert rows.loc[rows["chosen"], "learning_rate"].tolist() == [best]
        assert table.loc[variant, "learning_rate"] == best


def test_the_best_rate_grows_with_the_batch_size(run):
    """Validation picks a rate at least 10 times larger for batch GD than for stochastic GD (batch_size=1)."""
    rates = run[0]["learning_rate"]
    assert rates["batch GD"] >= rates["mini-batch GD"] >= rates["stochastic GD"]
    assert rates["batch GD"] >= 10 * rates["stochastic GD"]


def test_gradient_noise_matches_sampling_theory_computed_in_numpy(run, train_rows):
    """At the lstsq minimum, Keras's batch gradients scatter around the full gradient as sigma^2/b (N-b)/(N-1) predicts.

    sigma^2 comes from per-sample gradients 2 r_i [x_i, 1] written out here;
    the measured means must lie within 4 standard errors (plus 2% for float32)
    of the prediction, and the standard errors must be small enough to tell
    1/b from, say, 1/sqrt(b).
    """
    X, y = train_rows
    n = len(X)
    design = np.hstack([X, np.ones((n, 1))])
    weights = np.linalg.lstsq(design, y, rcond=None)[0]
    per_sample = 2 * (design @ weights - y)[:, None] * design
    sigma2 = np.mean(np.sum((per_sample - per_sample.mean(axis=0)) ** 2, axis=1))
    noise = _csv(run, "noise")
    at_minimum = noise[noise["weights"] == "lstsq minimum"].set_index("batch_size")
    assert sorted(at_minimum.index) == [1, 32, n]
    for b in (1, 32):
        measured, error = at_minimum.loc[b, ["E||g_B - g||^2 measured", "standard error"]]
        expected = sigma2 / b * (n - b) / (n - 1)
        assert error < 0.1 * expected, "enough draws for the comparison to mean something"
        assert abs(measured - expected) < 4 * error + 0.02 * expected, (b, measured, expected)
    assert at_minimum.loc[n, "E||g_B - g||^2 measured"] < 1e-9 * at_minimum.loc[1, "E||g_B - g||^2 measured"]


def test_a_batch_of_32_carries_the_predicted_share_of_one_rows_noise_at_the_start_too(run, train_rows):
    """At the starting weights the ratio of the 32-row to the 1-row noise is (N - 32) / (32 (N - 1)), not 1/sqrt(32)."""
    n = len(train_rows[0])
    noise = _csv(run, "noise")
    start = noise[noise["weights"] == "starting weights"].set_index("batch_size")
    one, mini = start.loc[1], start.loc[32]
    ratio = mini["E||g_B - g||^2 measured"] / one["E||g_B - g||^2 measured"]
    relative_error = math.hypot(
        one["standard error"] / one["E||g_B - g||^2 measured"], mini["standard error"] / mini["E||g_B - g||^2 measured"]
    )
    expected = (n - 32) / (32 * (n - 1))
    assert abs(ratio / expected - 1) < 4 * relative_error + 0.02, (ratio, expected)
    assert ratio < 0.5 / math.sqrt(32), "far below the 1/sqrt(b) a standard deviation would give"


def test_at_one_shared_rate_mini_batch_gd_wobbles_far_less_than_stochastic_gd(run, train_rows):
    """Same rate, same start (the minimum): the training MSE's std is >10x smaller at batch_size=32 than at 1, ~0 for batch GD."""
    same = _csv(run, "same_rate").set_index("variant")
    assert same["learning_rate"].nunique() == 1, "all three share one learning rate"
    std = same["std of train MSE around trend"]
    floor = same["mean excess MSE, last half"]
    assert std["stochastic GD"] > 10 * std["mini-batch GD"] > 0
    assert std["batch GD"] < 1e-12 and abs(floor["batch GD"]) < 1e-9, "the exact gradient is 0 there: it stays"
    assert floor["stochastic GD"] > 10 * floor["mini-batch GD"] > 0


def test_the_shared_rate_is_stable_for_all_three(run, train_rows):
    """The shared rate is below 2 / lambda_max (batch GD) and below 2 / max_i 2(||x_i||^2 + 1) (one row)."""
    X, _ = train_rows
    design = np.hstack([X, np.ones((len(X), 1))])
    lambda_max = np.linalg.eigvalsh(2 / len(X) * design.T @ design)[-1]
    row_curvature = 2 * np.sum(design**2, axis=1)
    lr = _csv(run, "same_rate")["learning_rate"].iloc[0]
    assert lr < 2 / lambda_max and lr < 2 / row_curvature.max()


def test_only_the_stochastic_variants_go_uphill(run):
    """At the shared rate some single-row updates raise the whole training set's MSE; no batch GD update does."""
    rises = _csv(run, "same_rate").set_index("variant")["share of updates raising train MSE"]
    assert rises["batch GD"] == 0
    assert rises["stochastic GD"] > 0.2


def test_batch_gd_reaches_the_lstsq_minimum_and_the_others_stay_above_it(run, recipe06, train_rows):
    """Batch GD ends within 0.1% of numpy.linalg.lstsq's minimum MSE, 10 times closer than either stochastic variant."""
    table, _ = run
    X, y = train_rows
    design = np.hstack([X, np.ones((len(X), 1))])
    solution = np.linalg.lstsq(design, y, rcond=None)[0]
    minimum = np.mean((design @ solution - y) ** 2)
    excess = table["excess MSE at end"]
    assert 0 <= excess["batch GD"] <= recipe06.MINIMUM_TOLERANCE * minimum
    assert excess["batch GD"] * 10 < min(excess["stochastic GD"], excess["mini-batch GD"])
    assert table.loc["batch GD", "max |w - w_lstsq|"] < 0.01


def test_timed_batch_gd_made_exactly_the_numpy_full_batch_steps(run, recipe06):
    """On the timing rows, batch GD's excess MSE equals 2 full-batch steps from the seeded start, done in NumPy.

    That the timed run starts from the same weights after warm_up and makes
    one update per epoch is checked against an independent computation.
    """
    table, _ = run
    timing = _csv(run, "timing").set_index("variant")
    rows = recipe06.QUICK_TIMING_ROWS
    X, y = gradient_descent.make_linear_data(
        rows, recipe06.N_FEATURES, correlation=recipe06.CORRELATION, noise=recipe06.NOISE, seed=2
    )
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((recipe06.N_FEATURES,)), keras.layers.Dense(1)])
    kernel, bias = model.layers[-1].get_weights()
    w, b = kernel.astype(np.float64).ravel(), float(bias[0])
    X64, y64 = X.astype(np.float64), y.astype(np.float64)
    lr = table.loc["batch GD", "learning_rate"]
    for _ in range(recipe06.TIMED_EPOCHS):
        residual = X64 @ w + b - y64
        w, b = w - lr * 2 / rows * X64.T @ residual, b - lr * 2 / rows * residual.sum()
    design = np.hstack([X64, np.ones((rows, 1))])
    minimum = np.mean((design @ np.linalg.lstsq(design, y64, rcond=None)[0] - y64) ** 2)
    expected = np.mean((X64 @ w + b - y64) ** 2) - minimum
    assert timing.loc["batch GD", "updates timed"] == recipe06.TIMED_EPOCHS
    assert timing.loc["batch GD", "excess MSE after them"] == pytest.approx(expected, rel=1e-3)


def test_every_claim_has_a_measurement_and_a_verdict_with_its_reason(run, verdicts):
    """No bare True/False: each of the note's claims says how it was measured and why the verdict is what it is."""
    claims = _csv(run, "claims")
    assert list(claims.columns) == ["the note says", "measured how", "measured", "verdict"]
    assert len(claims) >= 11
    for claim, verdict in zip(claims["the note says"], claims["verdict"]):
        assert not re.search(r"\bSGD\b", claim), f"'SGD' is keras.optimizers.SGD; say stochastic GD: {claim}"
        outcome, _, reason = verdict.partition(": ")
        assert outcome.startswith(("holds", "partly", "does not hold", "not measured", "not shown", "not yet")), verdict
        assert len(reason) > 10, f"no reason given: {verdict}"
    assert _verdict(verdicts, "batch GD makes one update per epoch").startswith("holds")
    assert _verdict(verdicts, "batch GD reaches the minimum").startswith("holds")


def test_the_stability_verdicts_follow_their_numbers(run, verdicts):
    """'More stable' holds exactly when the tables say so, and quotes the ratio the tables give."""
    same = _csv(run, "same_rate").set_index("variant")
    std = same["std of train MSE around trend"]
    deciding = _verdict(
        verdicts, "mini-batch GD is more stable than stochastic GD (batch_size=1) -- read as the training loss"
    )
    assert deciding.startswith("holds") == bool(std["mini-batch GD"] < std["stochastic GD"])
    quoted = float(re.search(r"wobbled ([\d,.]+)x less", deciding).group(1).replace(",", ""))
    assert quoted == pytest.approx(std["stochastic GD"] / std["mini-batch GD"], rel=0.05)

    noise = _csv(run, "noise").pivot(index="weights", columns="batch_size", values="E||g_B - g||^2 measured")
    reason = _verdict(verdicts, "mini-batch GD is more stable than stochastic GD (batch_size=1) -- read as the noise")
    assert reason.startswith("holds") == bool((noise[32] < noise[1]).all())

    rises = same["share of updates raising train MSE"]
    zigzag = _verdict(verdicts, "stochastic GD (batch_size=1) zig-zags")
    assert zigzag.startswith("holds") == bool(rises["stochastic GD"] > rises["batch GD"])
    assert f"{rises['stochastic GD']:.0%}" in zigzag


def test_the_timing_verdicts_report_what_each_variant_did(run, verdicts):
    """The big-data progress verdict names each variant with the comparison its numbers give; the wall-time one too."""
    timing = _csv(run, "timing").set_index("variant")
    excess = timing["excess MSE after them"]
    progress = _verdict(verdicts, "batch GD has slow epochs -- read as progress per epoch, big data")
    below = [v for v in ("stochastic GD", "mini-batch GD") if excess[v] < excess["batch GD"]]
    expected = "holds" if len(below) == 2 else "partly" if below else "not shown"
    assert progress.startswith(expected), progress
    for variant in ("stochastic GD", "mini-batch GD"):
        said = "got below" if variant in below else "did not get below"
        assert f"{variant} {said} it within {timing.loc[variant, 'epochs of data']:.2g} epochs" in progress

    epoch = timing["s/epoch"]
    wall = _verdict(verdicts, "batch GD has slow epochs -- read as wall time")
    if epoch["batch GD"] > epoch.drop("batch GD").max():
        assert wall.startswith("holds")
        return
    assert wall.startswith("does not hold" if epoch["batch GD"] < epoch.drop("batch GD").min() else "partly")
    per_row_us = 1e6 * timing.loc["batch GD", "s/update"] / timing.loc["batch GD", "rows"]
    assert f"{per_row_us:.2g} us per row" in wall, "the overhead sentence quotes the measured price of a row"
    slower = timing.loc["mini-batch GD", "s/update"] / timing.loc["stochastic GD", "s/update"]
    assert f"took {slower:.2g}x the time of a batch_size=1 update" in wall
