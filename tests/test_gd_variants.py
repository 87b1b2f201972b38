"""Batch, stochastic and mini-batch gradient descent through ``model.fit`` (cookbook.gd_variants).

References are independent of Keras: float64 NumPy for the gradient step
and ``numpy.linalg.lstsq`` for the minimum of the convex MSE.
"""

import math

import numpy as np
import pytest

import cookbook
from cookbook import gd_variants
from cookbook.errors import CookbookError

LEARNING_RATE = 0.01
SMALL_N = 70  # not a multiple of 32: the mini-batch epoch ends with a partial batch


@pytest.fixture(scope="module")
def diabetes():
    """Standardized Diabetes training features and target, float32 (as recipe 05 uses them)."""
    X, y = cookbook.load_dataset("diabetes")
    split = cookbook.split_and_standardize(X, y, seed=0)
    y_train = np.asarray(split.y_train, np.float64)
    return split.X_train, ((y_train - y_train.mean()) / y_train.std()).astype("float32")


@pytest.fixture(scope="module")
def small(diabetes):
    """The first SMALL_N rows, for runs that only need a few updates."""
    X, y = diabetes
    return X[:SMALL_N], y[:SMALL_N]


@pytest.mark.parametrize("batch_size, expected", [(SMALL_N, 1), (1, SMALL_N), (32, 3)],
                         ids=["batch GD", "SGD", "mini-batch GD"])
def test_optimizer_iterations_per_epoch_are_ceil_n_over_batch_size(small, batch_size, expected):
    """optimizer.iterations grows by ceil(N / batch_size) every epoch, partial last batch included."""
    X, y = small
    run = gd_variants.train_variant(X, y, batch_size, epochs=2, learning_rate=LEARNING_RATE,
                                    steps_per_execution=100, warm_up=False)
    assert gd_variants.updates_per_epoch(SMALL_N, batch_size) == expected == math.ceil(SMALL_N / batch_size)
    assert run.updates_per_epoch == expected
    assert list(run.iterations) == [0, expected, 2 * expected]


def test_warm_up_epoch_is_not_counted(small):
    """After the untimed warm-up epoch, iterations start again from 0."""
    X, y = small
    run = gd_variants.train_variant(X, y, 32, epochs=1, learning_rate=LEARNING_RATE, warm_up=True)
    assert list(run.iterations) == [0, 3]


def test_one_full_batch_fit_step_matches_the_analytic_gradient_step(diabetes):
    """fit(batch_size=len(X), epochs=1, shuffle=False) moves w by -lr * 2/N * X^T (Xw + b - y) to 1e-6."""
    X, y = diabetes
    (kernel, bias), (fit_kernel, fit_bias) = gd_variants.fit_one_full_batch_step(
        X, y, learning_rate=0.1, seed=3)
    residual = X.astype(np.float64) @ kernel + bias - y.astype(np.float64)
    expected_kernel = kernel - 0.1 * 2 / len(X) * X.astype(np.float64).T @ residual
    expected_bias = bias - 0.1 * 2 / len(X) * residual.sum()
    assert np.abs(fit_kernel - kernel).max() > 1e-3, "the step must actually move the weights"
    np.testing.assert_allclose(fit_kernel, expected_kernel, rtol=0, atol=1e-6)
    assert abs(fit_bias - expected_bias) <= 1e-6
    # The library's own hand-computed step is the same formula.
    lib_kernel, lib_bias = gd_variants.full_batch_step(X, y, kernel, bias, 0.1)
    np.testing.assert_allclose(lib_kernel, expected_kernel, rtol=0, atol=1e-12)
    assert lib_bias == pytest.approx(expected_bias, abs=1e-12)


def test_batch_gd_on_linear_regression_reaches_the_lstsq_solution(diabetes):
    """1500 full-batch fit updates land within 1e-3 of numpy.linalg.lstsq on Diabetes (convex MSE)."""
    X, y = diabetes
    design = np.hstack([X.astype(np.float64), np.ones((len(X), 1))])
    reference = np.linalg.lstsq(design, y.astype(np.float64), rcond=None)[0]
    kernel, bias, iterations = gd_variants.batch_gd_to_least_squares(X, y, updates=1500)
    assert iterations == 1500
    np.testing.assert_allclose(np.append(kernel, bias), reference, rtol=0, atol=1e-3)
    lib_kernel, lib_bias = gd_variants.least_squares(X, y)
    np.testing.assert_allclose(np.append(lib_kernel, lib_bias), reference, rtol=0, atol=1e-10)


def test_lstsq_helper_recovers_exact_linear_data():
    """least_squares returns the weights that generated noiseless linear data."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    kernel, bias = gd_variants.least_squares(X, X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.25)
    np.testing.assert_allclose(kernel, [1.0, -2.0, 0.5, 3.0], atol=1e-10)
    assert bias == pytest.approx(0.25, abs=1e-10)


def test_optimal_learning_rate_is_two_over_sum_of_extreme_hessian_eigenvalues():
    """For orthogonal centred features the Hessian 2/N [X 1]^T [X 1] is diagonal, so its eigenvalues are known."""
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])  # column sums 0, orthogonal
    # diagonal 2/4 * (sum x1^2, sum x2^2, N) = (1, 4, 2)
    np.testing.assert_allclose(gd_variants.hessian_eigenvalues(X), [1.0, 2.0, 4.0])
    assert gd_variants.optimal_learning_rate(X) == pytest.approx(2 / 5)


def test_two_full_batch_runs_from_one_seed_are_bit_identical(small):
    """Batch GD has no sampling noise: the same seed gives exactly the same weights and losses."""
    X, y = small
    runs = [gd_variants.train_variant(X, y, SMALL_N, epochs=3, learning_rate=0.1, seed=7, warm_up=False)
            for _ in range(2)]
    assert np.array_equal(runs[0].kernel, runs[1].kernel) and runs[0].bias == runs[1].bias
    assert np.array_equal(runs[0].train_loss, runs[1].train_loss)
    assert runs[0].train_loss[-1] < runs[0].train_loss[0]


def test_steps_per_execution_leaves_the_weights_unchanged(small):
    """SGD (batch_size=1) with steps_per_execution=100, with and without XLA, ends at the default's weights."""
    X, y = small
    runs = {spe_jit: gd_variants.train_variant(X, y, 1, epochs=1, learning_rate=LEARNING_RATE,
                                               shuffle=False, steps_per_execution=spe_jit[0],
                                               jit_compile=spe_jit[1], warm_up=False)
            for spe_jit in [(1, False), (100, False), (100, True)]}
    default = runs[(1, False)]
    assert default.updates_per_epoch == SMALL_N
    for run in runs.values():
        assert run.updates_per_epoch == SMALL_N
        np.testing.assert_allclose(run.kernel, default.kernel, rtol=0, atol=1e-6)
        assert abs(run.bias - default.bias) <= 1e-6


def test_loss_at_time_is_the_last_loss_recorded_within_the_budget():
    """The budget lookup takes the latest point at or before the time, the start if none."""
    run = gd_variants.VariantRun(
        name="x", batch_size=1, n_samples=4, epoch_seconds=np.array([1.0, 1.0]),
        elapsed=np.array([0.0, 1.0, 2.0]), iterations=np.array([0, 4, 8]),
        train_loss=np.array([3.0, 2.0, 1.0]), test_loss=np.full(3, np.nan),
        kernel=np.zeros(1), bias=0.0,
        trace_seconds=np.array([0.0, 0.5, 1.0, 2.0]), trace_loss=np.array([3.0, 2.5, 2.0, 1.0]))
    assert gd_variants.loss_at_time(run, 0.4) == 3.0
    assert gd_variants.loss_at_time(run, 0.5) == 2.5
    assert gd_variants.loss_at_time(run, 1.9) == 2.0
    assert gd_variants.loss_at_time(run, 10.0) == 1.0


def test_variant_batch_sizes_name_the_notes_three_patterns():
    """batch GD uses len(X), SGD 1, mini-batch 32 (capped at N for tiny data)."""
    assert gd_variants.variant_batch_sizes(332) == {"batch GD": 332, "SGD": 1, "mini-batch GD": 32}
    assert gd_variants.variant_batch_sizes(20)["mini-batch GD"] == 20


@pytest.mark.parametrize("batch_size", [0, -1, 2.5])
def test_bad_batch_size_is_refused_with_the_fix(batch_size):
    """A batch size below 1 or not whole raises a CookbookError naming the valid choices."""
    with pytest.raises(CookbookError, match="len\\(X\\) for batch GD"):
        gd_variants.updates_per_epoch(100, batch_size)


def test_batch_size_above_n_is_refused(small):
    """batch_size larger than the data is refused: len(X) already is batch GD."""
    X, y = small
    with pytest.raises(CookbookError, match="at most len\\(X\\)"):
        gd_variants.train_variant(X, y, SMALL_N + 1, epochs=1, learning_rate=LEARNING_RATE)
