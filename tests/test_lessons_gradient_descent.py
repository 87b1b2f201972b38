"""Measuring batch, stochastic and mini-batch gradient descent run by ``model.fit`` (cookbook.lessons.gradient_descent).

References are independent of Keras: float64 NumPy for the updates and the
loss, ``numpy.linalg.lstsq`` for the minimum, closed-form eigenvalues for
the Hessian.
"""

import itertools
import math

import cookbook  # noqa: F401  (imports TensorFlow quietly first)
from cookbook.errors import LessonError
from cookbook.lessons import gradient_descent

import keras
import numpy as np
import pytest

LEARNING_RATE = 0.05
SMALL_N = 70  # not a multiple of 32: the mini-batch epoch ends with a partial batch of 6


@pytest.fixture(scope="module")
def data():
    """SMALL_N rows of the lesson's synthetic linear-regression data."""
    return gradient_descent.make_linear_data(SMALL_N, seed=3)


def _linear_model(learning_rate, steps_per_execution=1, seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss="mean_squared_error",
        steps_per_execution=steps_per_execution,
    )
    return model


def _numpy_minibatch_gd(X, y, kernel, bias, learning_rate, batch_size, epochs):
    """Unshuffled mini-batch gradient descent on the MSE in float64: (batch losses, full losses after each update)."""
    X, y = np.asarray(X, np.float64), np.asarray(y, np.float64)
    kernel, batch_losses, full_losses = np.asarray(kernel, np.float64).copy(), [], []
    for _ in range(epochs):
        for start in range(0, len(X), batch_size):
            rows = slice(start, start + batch_size)
            residual = X[rows] @ kernel + bias - y[rows]
            batch_losses.append(np.mean(residual**2))
            kernel = kernel - learning_rate * 2 / len(residual) * X[rows].T @ residual
            bias = bias - learning_rate * 2 / len(residual) * residual.sum()
            full_losses.append(np.mean((X @ kernel + bias - y) ** 2))
    return np.array(batch_losses), np.array(full_losses)


@pytest.mark.parametrize(
    "batch_size, expected", [(SMALL_N, 1), (1, SMALL_N), (32, 3)], ids=["batch GD", "stochastic GD", "mini-batch GD"]
)
def test_optimizer_iterations_per_epoch_are_ceil_n_over_batch_size(data, batch_size, expected):
    """optimizer.iterations grows by ceil(N / batch_size) every epoch, the partial last batch included."""
    X, y = data
    model = _linear_model(LEARNING_RATE)
    recorder = gradient_descent.UpdateRecorder(X, y)
    model.fit(X, y, batch_size=batch_size, epochs=2, callbacks=[recorder], verbose=0)
    assert gradient_descent.updates_per_epoch(SMALL_N, batch_size) == expected == math.ceil(SMALL_N / batch_size)
    assert recorder.epoch_updates == [0, expected, 2 * expected]
    assert recorder.updates == list(range(2 * expected + 1)), "one record per update at steps_per_execution=1"


@pytest.mark.parametrize("batch_size", [SMALL_N, 32, 1], ids=["batch GD", "mini-batch GD", "stochastic GD"])
def test_recorder_losses_match_numpy_gradient_descent(data, batch_size):
    """Unshuffled fit equals float64 NumPy gradient descent: each batch's loss and the full loss after each update."""
    X, y = data
    model = _linear_model(LEARNING_RATE)
    kernel, bias = gradient_descent.linear_weights(model)
    recorder = gradient_descent.UpdateRecorder(X, y)
    model.fit(X, y, batch_size=batch_size, epochs=2, shuffle=False, callbacks=[recorder], verbose=0)
    batch_losses, full_losses = _numpy_minibatch_gd(X, y, kernel, bias, LEARNING_RATE, batch_size, epochs=2)
    assert full_losses[-1] < 0.5 * full_losses[0] or batch_size == SMALL_N, "the runs must learn something"
    np.testing.assert_allclose(recorder.batch_loss, batch_losses, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(recorder.train_loss[1:], full_losses, rtol=2e-5, atol=1e-6)


def test_one_full_batch_fit_step_is_the_analytic_gradient_step(data):
    """fit(batch_size=len(X), epochs=1) moves w by -lr * 2/N * X^T (Xw + b - y), as full_batch_step computes."""
    X, y = data
    model = _linear_model(0.1)
    kernel, bias = gradient_descent.linear_weights(model)
    model.fit(X, y, batch_size=len(X), epochs=1, shuffle=False, verbose=0)
    fit_kernel, fit_bias = gradient_descent.linear_weights(model)
    residual = X.astype(np.float64) @ kernel + bias - y.astype(np.float64)
    expected_kernel = kernel - 0.1 * 2 / len(X) * X.astype(np.float64).T @ residual
    expected_bias = bias - 0.1 * 2 / len(X) * residual.sum()
    assert np.abs(fit_kernel - kernel).max() > 1e-3, "the step must actually move the weights"
    np.testing.assert_allclose(fit_kernel, expected_kernel, rtol=0, atol=1e-6)
    assert fit_bias == pytest.approx(expected_bias, abs=1e-6)
    lib_kernel, lib_bias = gradient_descent.full_batch_step(X, y, kernel, bias, 0.1)
    np.testing.assert_allclose(lib_kernel, expected_kernel, rtol=0, atol=1e-12)
    assert lib_bias == pytest.approx(expected_bias, abs=1e-12)


def test_recorder_clock_never_runs_backward_and_epochs_line_up(data):
    """Training seconds are non-decreasing, start at 0, and the epoch records sit on the update records."""
    X, y = data
    model = _linear_model(LEARNING_RATE)
    recorder = gradient_descent.UpdateRecorder(X, y, X, y)
    model.fit(X, y, batch_size=8, epochs=3, callbacks=[recorder], verbose=0)
    seconds = np.asarray(recorder.seconds)
    assert seconds[0] == 0.0 and np.all(np.diff(seconds) >= 0)
    assert np.all(np.diff(recorder.epoch_seconds) >= 0)
    assert recorder.epoch_train_loss == pytest.approx(recorder.epoch_val_loss)  # validation = training rows here
    positions = [recorder.updates.index(u) for u in recorder.epoch_updates]
    assert recorder.epoch_train_loss == pytest.approx([recorder.train_loss[i] for i in positions])
    assert recorder.kernel is not None and recorder.bias == pytest.approx(gradient_descent.linear_weights(model)[1])


def test_recorder_stops_a_diverging_run(data):
    """A rate far above 2 / lambda_max blows the loss up; the recorder stops fit and marks the run diverged."""
    X, y = data
    limit = 2 / gradient_descent.hessian_eigenvalues(X)[-1]
    model = _linear_model(5 * limit)
    recorder = gradient_descent.UpdateRecorder(X, y)
    model.fit(X, y, batch_size=len(X), epochs=100, shuffle=False, callbacks=[recorder], verbose=0)
    assert recorder.diverged
    assert recorder.updates[-1] < 20, "stopped early, not after all 100 epochs"
    assert recorder.train_loss[-1] > gradient_descent.DIVERGENCE_FACTOR * recorder.train_loss[0]


def test_recorder_refuses_a_model_that_is_not_a_linear_regression(data):
    """The recorder computes losses from Dense(1) weights; another model gets a LessonError naming the fix."""
    X, y = data
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mean_squared_error")
    with pytest.raises(LessonError, match="only layer is Dense\\(1\\)"):
        model.fit(X, y, epochs=1, callbacks=[gradient_descent.UpdateRecorder(X, y)], verbose=0)


def _row_gradients(X, y, kernel, bias):
    """Each row's gradient of (x w + b - y)**2, written out independently: d/dw = 2 r x, d/db = 2 r."""
    X, y = np.asarray(X, np.float64), np.asarray(y, np.float64)
    residual = X @ np.asarray(kernel, np.float64) + bias - y
    return np.column_stack([2 * residual[:, None] * X, 2 * residual])


def _exhaustive_noise(grads, batch_size):
    """E ||g_B - g||**2 averaged over every one of the C(N, b) batches of distinct rows."""
    full = grads.mean(axis=0)
    batches = itertools.combinations(range(len(grads)), batch_size)
    return float(np.mean([np.sum((grads[list(rows)].mean(axis=0) - full) ** 2) for rows in batches]))


@pytest.mark.parametrize("batch_size", [1, 2, 3, 5, 7])
def test_sampling_noise_equals_the_mean_over_every_possible_batch(batch_size):
    """sigma^2 / b (N - b) / (N - 1) is exactly the average over all C(7, b) batches, 0 for the full batch."""
    X, y = gradient_descent.make_linear_data(7, 3, seed=4)
    kernel, bias = np.array([0.3, -0.2, 0.5]), 0.1
    expected = _exhaustive_noise(_row_gradients(X, y, kernel, bias), batch_size)
    assert gradient_descent.sampling_noise(X, y, kernel, bias, batch_size) == pytest.approx(
        expected, rel=1e-12, abs=1e-15
    )
    np.testing.assert_allclose(
        gradient_descent.per_sample_gradients(X, y, kernel, bias), _row_gradients(X, y, kernel, bias), rtol=1e-12
    )


def test_gradient_noise_lands_within_its_standard_errors_of_the_exhaustive_mean():
    """Random batches of 3 of 12 rows: the measured mean is within 4 standard errors of the exact average."""
    X, y = gradient_descent.make_linear_data(12, 3, seed=5)
    grads = _row_gradients(X, y, np.array([0.4, 0.1, -0.3]), -0.2)
    seen = []

    def batch_gradients(rows):
        seen.append(rows)
        return grads[rows].mean(axis=1)

    result = gradient_descent.gradient_noise(batch_gradients, 12, 3, draws=4000, seed=1)
    exact = _exhaustive_noise(grads, 3)
    assert result["draws"] == 4000 and 0 < result["standard_error"] < 0.05 * exact
    assert abs(result["mean"] - exact) < 4 * result["standard_error"]
    full, drawn = seen
    assert full.tolist() == [list(range(12))], "the full gradient comes from one batch of every row"
    assert drawn.shape == (4000, 3) and all(len(set(batch)) == 3 for batch in drawn.tolist()), "distinct rows"
    assert np.bincount(drawn.ravel(), minlength=12).min() > 0.8 * 1000, "every row drawn about equally often"


def test_gradient_noise_of_the_full_batch_is_zero_from_one_draw():
    """A batch of all N rows is the full gradient: one draw, noise 0, standard error 0."""
    grads = _row_gradients(*gradient_descent.make_linear_data(10, 3, seed=6), np.zeros(3), 0.0)
    result = gradient_descent.gradient_noise(lambda rows: grads[rows].mean(axis=1), 10, 10, draws=500)
    assert result == {"mean": pytest.approx(0.0, abs=1e-24), "standard_error": 0.0, "draws": 1}
    with pytest.raises(LessonError, match="larger than the 10 rows"):
        gradient_descent.gradient_noise(lambda rows: grads[rows].mean(axis=1), 10, 11, draws=5)


def test_trajectory_wobble_removes_a_straight_trend_and_counts_real_rises():
    """Window 1, 3, 1, 3, 1 on a falling line: std around the trend is std([1, 3, 1, 3, 1]); rises below 1e-9 do not count."""
    wiggle = np.array([1.0, 3.0, 1.0, 3.0, 1.0])
    window = wiggle + 10 - 0.5 * np.arange(5)  # a straight descent plus the wiggle
    loss = np.concatenate([[20.0, 19.0, 18.0, 17.0, 16.0, 12.0], window])  # 10 updates; the last 5 are the window
    result = gradient_descent.trajectory_wobble(loss, last=0.5)
    assert result["updates"] == 5
    assert result["mean"] == pytest.approx(window.mean())
    assert result["std_around_trend"] == pytest.approx(np.std(wiggle), rel=1e-9)  # the wiggle has no linear part
    # changes of the window's updates: 12 -> 11, 11 -> 12.5, 12.5 -> 10, 10 -> 11.5, 11.5 -> 9: two rises in five
    assert result["rises"] == pytest.approx(2 / 5)
    flat = gradient_descent.trajectory_wobble([1.0, 1.0, 1.0 + 1e-12, 1.0, 1.0 + 1e-12])
    assert flat["rises"] == 0 and flat["std_around_trend"] < 1e-12
    with pytest.raises(LessonError, match="at least 2 updates"):
        gradient_descent.trajectory_wobble([1.0, 0.5])


def test_warm_up_restores_the_weights_and_the_step_counter(data):
    """After warm_up the weights are the starting ones and optimizer.iterations is 0 again."""
    X, y = data
    model = _linear_model(LEARNING_RATE)
    before = [w.copy() for w in model.get_weights()]
    gradient_descent.warm_up(model, X, y, batch_size=1)
    assert int(model.optimizer.iterations) == 0
    for restored, original in zip(model.get_weights(), before):
        np.testing.assert_array_equal(restored, original)


def test_step_timer_counts_updates_with_steps_per_execution(data):
    """With steps_per_execution=10 the timer still counts single updates, from optimizer.iterations."""
    X, y = data
    model = _linear_model(LEARNING_RATE, steps_per_execution=10)
    timer = gradient_descent.StepTimer()
    model.fit(X, y, batch_size=1, epochs=2, steps_per_epoch=30, callbacks=[timer], verbose=0)
    assert timer.updates == int(model.optimizer.iterations) == 60
    assert timer.call_updates == [10] * 6
    assert len(timer.epoch_seconds) == 2 and timer.seconds_per_update > 0


def test_fit_repeats_its_shuffle_order_every_epoch_under_a_global_seed():
    """After keras.utils.set_random_seed, fit(shuffle=True) visits the rows in one order every epoch (TF backend).

    If this fails, Keras now reshuffles each epoch under a seed: update the
    lesson's cell and claim row about it (recipe 06).
    """
    orders = gradient_descent.fit_shuffle_orders(n_rows=8, epochs=3, seed=0)
    assert all(sorted(order) == list(range(8)) for order in orders), "each epoch visits every row once"
    assert orders[0] != list(range(8)), "the order is shuffled"
    assert orders[0] == orders[1] == orders[2]


def test_linear_data_has_exact_moments_and_the_stated_hessian():
    """Features: sample mean 0, variance 1, pairwise correlation exactly rho; Hessian eigenvalues 2(1+(D-1)rho), 2(1-rho), 2."""
    X, y = gradient_descent.make_linear_data(50, 4, correlation=0.3, seed=1)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(X64.mean(axis=0), 0, atol=1e-6)
    expected = np.full((4, 4), 0.3) + 0.7 * np.eye(4)
    np.testing.assert_allclose(X64.T @ X64 / 50, expected, atol=1e-5)
    np.testing.assert_allclose(gradient_descent.hessian_eigenvalues(X), [1.4, 1.4, 1.4, 2.0, 2 * 1.9], atol=1e-5)
    assert gradient_descent.optimal_learning_rate(X) == pytest.approx(2 / (1.4 + 3.8), abs=1e-5)
    assert X.dtype == y.dtype == np.float32 and y.shape == (50,)


def test_least_squares_recovers_exact_linear_data():
    """least_squares returns the weights that generated noiseless linear data, like numpy.linalg.lstsq."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 4))
    kernel, bias = gradient_descent.least_squares(X, X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.25)
    np.testing.assert_allclose(kernel, [1.0, -2.0, 0.5, 3.0], atol=1e-10)
    assert bias == pytest.approx(0.25, abs=1e-10)
    assert gradient_descent.mse(X, X @ kernel + bias, kernel, bias) == pytest.approx(0.0, abs=1e-20)


def test_optimal_learning_rate_is_two_over_sum_of_extreme_hessian_eigenvalues():
    """For orthogonal centred features the Hessian 2/N [X 1]^T [X 1] is diagonal, so its eigenvalues are known."""
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 2.0], [0.0, -2.0]])  # column sums 0, orthogonal
    np.testing.assert_allclose(gradient_descent.hessian_eigenvalues(X), [1.0, 2.0, 4.0])  # 2/4 * (2, 8, 4)
    assert gradient_descent.optimal_learning_rate(X) == pytest.approx(2 / 5)


def test_variant_batch_sizes_name_the_notes_three_patterns():
    """batch GD uses len(X), stochastic GD 1, mini-batch GD 32 (capped at N for tiny data)."""
    assert gradient_descent.variant_batch_sizes(332) == {"batch GD": 332, "stochastic GD": 1, "mini-batch GD": 32}
    assert gradient_descent.variant_batch_sizes(20)["mini-batch GD"] == 20


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True])
def test_bad_batch_size_is_refused_with_the_fix(batch_size):
    """A batch size below 1 or not a whole number raises a LessonError naming the valid choices."""
    with pytest.raises(LessonError, match="len\\(X\\) for batch GD"):
        gradient_descent.updates_per_epoch(100, batch_size)
    with pytest.raises(LessonError, match="len\\(X\\) for batch GD"):
        gradient_descent.peak_fit_memory(batch_size, 100, 5)  # refused before any process starts


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 5, "n_features": 5}, "more rows than features"),
        ({"n_samples": 50, "correlation": 1.0}, "correlation"),
    ],
)
def test_bad_data_settings_are_refused(kwargs, match):
    """Too few rows to standardize, or a correlation of 1, raise a LessonError."""
    with pytest.raises(LessonError, match=match):
        gradient_descent.make_linear_data(**kwargs)
