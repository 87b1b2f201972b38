"""Lesson 07 (batch, stochastic and mini-batch GD): its evidence on tiny inputs, and its claims from one quick run.

References are independent of Keras: float64 NumPy for the updates and the
loss, ``numpy.linalg.lstsq`` for the minimum, closed-form Hessian
eigenvalues, ``numpy.random.default_rng`` for the fix's orders.
"""

import math

from cookbook import claims
from cookbook.claims import Verdict
from cookbook.errors import LessonError
from cookbook.lessons import gradient_descent_variants as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "07_gradient_descent_variants"
SMALL_N = 40  # not a multiple of 16: the mini-batch epoch ends with a partial batch of 8
SGD, MINI = "stochastic GD", "mini-batch GD"


@pytest.fixture(scope="module")
def data():
    """SMALL_N rows of the lesson's synthetic linear-regression data."""
    return evidence.make_linear_data(SMALL_N, seed=3)


def _linear_model(learning_rate):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=learning_rate), loss="mean_squared_error")
    return model


def _numpy_gd(X, y, kernel, bias, learning_rate, batch_size, epochs):
    """Unshuffled mini-batch gradient descent on the MSE in float64: the full loss after each update."""
    X, y, kernel, losses = X.astype(np.float64), y.astype(np.float64), kernel.astype(np.float64).ravel(), []
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            rows = slice(start, start + batch_size)
            residual = X[rows] @ kernel + bias - y[rows]
            kernel = kernel - learning_rate * 2 / len(residual) * X[rows].T @ residual
            bias = bias - learning_rate * 2 / len(residual) * residual.sum()
            losses.append(np.mean((X @ kernel + bias - y) ** 2))
    return np.array(losses)


@pytest.mark.parametrize("batch_size, expected", [(SMALL_N, 1), (1, SMALL_N), (16, 3)])
def test_recorder_follows_fit_update_by_update_like_numpy_gradient_descent(data, batch_size, expected):
    """ceil(N / batch_size) updates per epoch, and after each one the full MSE that float64 NumPy GD gives."""
    X, y = data
    model = _linear_model(0.05)
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in model.layers[0].weights)
    recorder = evidence.UpdateRecorder(X, y)
    model.fit(X, y, batch_size=batch_size, epochs=2, shuffle=False, callbacks=[recorder], verbose=0)
    assert evidence.updates_per_epoch(SMALL_N, batch_size) == expected == math.ceil(SMALL_N / batch_size)
    assert recorder.epoch_updates == [expected, 2 * expected]
    reference = _numpy_gd(X, y, kernel, float(bias[0]), 0.05, batch_size, epochs=2)
    np.testing.assert_allclose(recorder.train_loss[1:], reference, rtol=2e-5, atol=1e-6)
    assert recorder.train_loss[0] == pytest.approx(evidence.mse(X, y, kernel, bias))


def test_recorder_stops_a_diverging_run(data):
    """A rate 5x above 2 / lambda_max blows the loss up; the recorder stops fit and marks the run diverged."""
    X, y = data
    model = _linear_model(5 * 2 / evidence.hessian_eigenvalues(X)[-1])
    recorder = evidence.UpdateRecorder(X, y)
    model.fit(X, y, batch_size=len(X), epochs=100, callbacks=[recorder], verbose=0)
    assert recorder.diverged and len(recorder.train_loss) < 20, "stopped early, not after 100 epochs"
    assert recorder.train_loss[-1] > evidence.DIVERGENCE_FACTOR * recorder.train_loss[0]


def test_linear_data_has_exact_moments_and_the_stated_hessian():
    """Features: mean 0, covariance rho off the diagonal; Hessian eigenvalues 2(1-rho) x3, 2, 2(1+3 rho)."""
    X, y = evidence.make_linear_data(50, 4, correlation=0.3, seed=1)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(X64.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(X64.T @ X64 / 50, np.full((4, 4), 0.3) + 0.7 * np.eye(4), atol=1e-5)
    np.testing.assert_allclose(evidence.hessian_eigenvalues(X), [1.4, 1.4, 1.4, 2.0, 3.8], atol=1e-5)
    assert X.dtype == y.dtype == np.float32 and y.shape == (50,)
    with pytest.raises(LessonError, match="more rows than features"):
        evidence.make_linear_data(5, 5)


def test_least_squares_gives_dense_weights_that_recover_exact_data():
    """Noiseless data y = X w + 0.25: the weights come back in Dense(1)'s shapes and the MSE is 0."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    kernel, bias = evidence.least_squares(X, X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.25)
    assert kernel.shape == (4, 1) and bias.shape == (1,) and kernel.dtype == np.float32
    np.testing.assert_allclose(kernel.ravel(), [1.0, -2.0, 0.5, 3.0], atol=1e-6)
    assert bias[0] == pytest.approx(0.25, abs=1e-6)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.set_weights([kernel, bias])  # accepted as they are
    assert evidence.mse(X, X @ kernel.ravel() + bias[0], kernel, bias) == pytest.approx(0.0, abs=1e-20)


def test_paired_difference_is_the_mean_and_standard_error_of_row_differences():
    """Differences 1, 2, 3: mean 2, standard error std(ddof=1)/sqrt(3) = 1/sqrt(3)."""
    assert evidence.paired_difference([2.0, 4.0, 6.0], [1.0, 2.0, 3.0]) == pytest.approx((2.0, 1 / math.sqrt(3)))


def test_rate_table_takes_the_largest_rate_within_the_validation_noise():
    """Rates 0.01 (lowest), 0.1 (gap 1 SE) and 1 (gap far above): 0.1 is chosen; a diverged run is never chosen."""
    base = np.array([1.0, 1.0, 1.0, 1.0])
    table = evidence.rate_table(
        {
            SGD: {0.01: base, 0.1: base + np.array([0.0, 0.2, 0.0, 0.2]), 1.0: base + 5.0, 3.0: None},
            MINI: {0.01: base + 1.0, 0.1: base},
        },
        {SGD: 1, MINI: 32},
    ).set_index(["variant", "learning_rate"])
    assert table.loc[(SGD, 0.01), "lowest"] and table.loc[(SGD, 0.1), "within noise"]
    assert table.loc[(SGD, 0.1), "gap to lowest"] == pytest.approx(0.1)
    assert table.loc[(SGD, 0.1), "paired SE"] == pytest.approx(np.std([0, 0.2, 0, 0.2], ddof=1) / 2)
    assert not table.loc[(SGD, 1.0), "within noise"] and table.loc[(SGD, 3.0), "diverged"]
    assert table[table["chosen"]].index.tolist() == [(SGD, 0.1), (MINI, 0.1)]
    with pytest.raises(LessonError, match="every learning rate diverged"):
        evidence.rate_table({SGD: {0.1: None}}, {SGD: 1})


def test_wobble_measures_the_last_half_above_the_minimum_and_per_update():
    """Loss 9, 5 | 1.5, 1, 1.5, 1 over minimum 1: after the last 3 updates excess 0, 0.5, 0 (mean 1/6); changes 0.5."""
    result = evidence.wobble([9.0, 5.0, 1.5, 1.0, 1.5, 1.0], minimum=1.0)
    assert result == {"excess": pytest.approx(1 / 6), "jump": pytest.approx(0.5)}
    with pytest.raises(LessonError, match="at least 2 updates"):
        evidence.wobble([1.0, 0.5], 0.0)


def test_repeat_runs_trains_a_repeated_combination_once():
    """Two settings sharing stochastic GD's rate: 3 runs per seed, 4 records per seed, the same loss reused."""
    calls = []

    def run(variant, learning_rate, seed):
        calls.append((variant, learning_rate, seed))
        return [1.0, 0.5 * seed, learning_rate]

    records = evidence.repeat_runs(
        run, {"same rate": {SGD: 0.01, MINI: 0.01}, "own rate": {SGD: 0.01, MINI: 0.1}}, [0, 1]
    )
    assert len(calls) == 6 and len(records) == 8
    assert records[0]["train_loss"] is records[2]["train_loss"], "stochastic GD's run serves both settings"
    stability = evidence.stability_table(records, minimum=0.0)
    assert list(stability.columns) == [
        "variant",
        "setting",
        "learning_rate",
        "seed",
        "excess (last half)",
        "jump (last half)",
    ]


def _orders(fit_data, epochs=3, n_rows=8):
    """Rows each epoch of fit visits, read by RowOrderRecorder from X = arange(n_rows)."""
    recorder = evidence.RowOrderRecorder()
    model = keras.Sequential([keras.Input((1,)), recorder, keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mean_squared_error", run_eagerly=True)
    X, y = np.arange(n_rows, dtype="float32")[:, None], np.zeros(n_rows, "float32")
    fit_data(model, X, y)
    return np.reshape(recorder.seen, (epochs, n_rows)).tolist()


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="the repeated order is TensorFlow's")
def test_seeded_fit_repeats_its_order_every_epoch_on_tensorflow():
    """After set_random_seed, fit(shuffle=True) on TensorFlow visits one order every epoch (issue 26).

    If this fails, Keras now reshuffles under a seed: lesson 07's claim
    ``seeded_fit_reshuffles_every_epoch`` then holds, and its prose must say so.
    """
    keras.utils.set_random_seed(0)
    orders = _orders(lambda model, X, y: model.fit(X, y, batch_size=1, epochs=3, shuffle=True, verbose=0))
    assert sorted(orders[0]) == list(range(8)) and orders[0] != list(range(8))
    assert orders[0] == orders[1] == orders[2]


def _claims(jump_mini_own=0.5, excess_mini_own=0.5, tied=False, seeded=None):
    """The lesson's claims on hand-made results; stochastic GD's jump and excess are 1."""
    per = {"batch GD": [1, 2], SGD: [40, 80], MINI: [3, 6]}
    sizes = {"batch GD": 40, SGD: 1, MINI: 16}
    rates = pd.DataFrame(
        {
            "variant": ["batch GD", SGD, SGD, MINI],
            "learning_rate": [0.3, 0.01, 0.03, 0.1],
            "diverged": [False] * 4,
            "val MSE": [0.26, 0.27, 0.271, 0.26],
            "lowest": [True, True, False, True],
            "gap to lowest": [0.0, 0.0, 0.001 if tied else 0.01, 0.0],
            "paired SE": [0.0, 0.0, 0.002, 0.0],
            "within noise": [True, True, tied, True],
            "chosen": [True, not tied, tied, True],
        }
    )
    rows = []
    for seed in (0, 1):
        rows += [
            {
                "variant": SGD,
                "setting": s,
                "learning_rate": 0.01,
                "seed": seed,
                "excess (last half)": 1.0,
                "jump (last half)": 1.0,
            }
            for s in ("same rate", "own rate")
        ]
        rows.append(
            {
                "variant": MINI,
                "setting": "same rate",
                "learning_rate": 0.01,
                "seed": seed,
                "excess (last half)": 0.05,
                "jump (last half)": 0.05,
            }
        )
        rows.append(
            {
                "variant": MINI,
                "setting": "own rate",
                "learning_rate": 0.1,
                "seed": seed,
                "excess (last half)": excess_mini_own,
                "jump (last half)": jump_mini_own,
            }
        )
    repeated = [[6, 4, 7, 3, 2, 1, 5, 0]] * 3
    orders = {
        "seeded": seeded or repeated,
        "seeded again": seeded or repeated,
        "unseeded": [[0, 1, 2, 3, 4, 5, 6, 7], [1, 0, 2, 3, 4, 5, 6, 7], [2, 1, 0, 3, 4, 5, 6, 7]],
        "fix": [[0, 1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1, 0], [1, 0, 3, 2, 5, 4, 7, 6]],
    }
    orders["fix again"] = orders["fix"]
    found = evidence.claims(per, sizes, 40, rates, 1000, 0.265, pd.DataFrame(rows), orders, "tensorflow")
    return claims.by_key(found)


def test_claims_hold_when_mini_batch_is_steadier_and_validation_separates_the_rates():
    """Updates ceil(N/b) hold; mini-batch steadier at both rates holds; one rate within noise holds; TF order fails."""
    found = _claims()
    assert found["batch_size_picks_the_variant"].verdict is Verdict.HOLDS
    assert found["batch_size_picks_the_variant"].numbers["updates_per_epoch_b16"] == 3
    stable = found["mini_batch_is_more_stable"]
    assert stable.verdict is Verdict.HOLDS and stable.numbers["jump_same_mini"] == pytest.approx(0.05)
    assert stable.numbers["mini_steadier_seeds_own_rate"] == 2 == stable.numbers["seeds"]
    assert found["validation_picks_one_rate"].verdict is Verdict.HOLDS
    assert found["validation_picks_one_rate"].numbers["closest_gap_in_standard_errors"] == pytest.approx(5.0)
    shuffle = found["seeded_fit_reshuffles_every_epoch"]
    assert shuffle.verdict is Verdict.FAILS
    assert shuffle.numbers["distinct_orders_seeded"] == 1 and shuffle.numbers["distinct_orders_unseeded"] == 3
    assert found["reshuffled_arrays_fix"].verdict is Verdict.HOLDS


def test_claims_say_partly_when_mini_batch_is_calmer_only_at_the_same_rate():
    """At its own, larger rate mini-batch jumps more and sits higher: the stability claim is only partly true."""
    found = _claims(
        jump_mini_own=2.0,
        excess_mini_own=3.0,
        tied=True,
        seeded=[[0, 1, 2, 3, 4, 5, 6, 7], [1, 0, 2, 3, 4, 5, 6, 7], [2, 1, 0, 3, 4, 5, 6, 7]],
    )
    stable = found["mini_batch_is_more_stable"]
    assert stable.verdict is Verdict.PARTLY and stable.numbers["mini_steadier_seeds_own_rate"] == 0
    assert stable.numbers["excess_own_mini"] > stable.numbers["excess_own_sgd"]
    tied = found["validation_picks_one_rate"]
    assert tied.verdict is Verdict.PARTLY and tied.numbers["rates_within_noise_stochastic"] == 2
    assert found["seeded_fit_reshuffles_every_epoch"].verdict is Verdict.HOLDS


@pytest.mark.slow
def test_quick_run_claims_match_its_tables(quick_run):
    """The quick run's claims quote its tables: updates per epoch, the chosen rates, the stability means."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    progress = pd.read_csv(out / f"{LESSON}_progress.csv").set_index("batch_size")
    n = int(found["batch_size_picks_the_variant"].numbers["n_train"])
    assert found["batch_size_picks_the_variant"].verdict is Verdict.HOLDS
    assert progress["updates/epoch"].to_dict() == {n: 1, 1: n, 32: math.ceil(n / 32)}
    assert found["batch_size_picks_the_variant"].numbers["chosen_lr_b1"] == progress.loc[1, "learning_rate"]
    stability = pd.read_csv(out / f"{LESSON}_stability.csv")
    same = stability[(stability["setting"] == "same rate") & (stability["variant"] == SGD)]["jump (last half)"].mean()
    assert found["mini_batch_is_more_stable"].numbers["jump_same_sgd"] == pytest.approx(same)
    assert found["reshuffled_arrays_fix"].verdict is Verdict.HOLDS
    expected = Verdict.FAILS if keras.backend.backend() == "tensorflow" else Verdict.HOLDS
    assert found["seeded_fit_reshuffles_every_epoch"].verdict is expected
