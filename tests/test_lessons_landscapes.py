"""cookbook.lessons.landscapes: the test functions, run_path against closed forms, the path measures."""

import cookbook  # noqa: F401  (first: TensorFlow imported quietly)
from cookbook import optimizers
from cookbook.errors import CookbookError, WrongBackendError
from cookbook.lessons import landscapes

import keras
import numpy as np
import pytest


def test_bowl_values_and_minimum():
    """f(x, y) = x^2/20 + y^2 at a few points, on NumPy arrays as well as numbers."""
    assert landscapes.anisotropic_bowl(0.0, 0.0) == 0.0
    assert landscapes.anisotropic_bowl(-7.0, 2.0) == pytest.approx(49 / 20 + 4)
    grid = landscapes.anisotropic_bowl(np.array([2.0, 10.0]), np.array([1.0, 0.0]))
    np.testing.assert_allclose(grid, [0.2 + 1.0, 5.0])


def test_double_well_critical_points_match_the_docstring():
    """Roots of f'(x) = x^3 - x - 0.2: local min -0.879, hump -0.209, global min 1.088, the global one deeper."""
    local, hump, glob = landscapes.double_well_critical_points()
    np.testing.assert_allclose([local, hump, glob], [-0.8789, -0.2091, 1.0880], atol=1e-4)
    for x in (local, hump, glob):
        assert x**3 - x - landscapes.DOUBLE_WELL_TILT == pytest.approx(0.0, abs=1e-12)
    f = landscapes.double_well
    assert f(glob) < f(local) < f(hump)
    assert f(hump) - f(local) == pytest.approx(0.081, abs=1e-3)  # the "shallow" barrier
    assert landscapes.DOUBLE_WELL_START < local, "a ball started there meets the shallow minimum first"


def test_double_well_with_one_minimum_is_refused():
    """A tilt too large to leave a local minimum raises a CookbookError naming the legal range."""
    with pytest.raises(CookbookError, match="between 0 and 0.38"):
        landscapes.double_well_critical_points(tilt=1.0)


def test_run_path_records_the_analytic_gradient():
    """The gradients recorded on the bowl are (x/10, 2y) at every point."""
    path = landscapes.run_path(optimizers.SGD(0.3), landscapes.BOWL_START, landscapes.anisotropic_bowl, 5)
    expected = path.points * np.array([0.1, 2.0])
    np.testing.assert_allclose(path.gradients, expected, rtol=1e-5)
    np.testing.assert_allclose(path.values, path.points[:, 0] ** 2 / 20 + path.points[:, 1] ** 2, rtol=1e-5)


@pytest.mark.parametrize("lr", [0.3, 0.9])
def test_sgd_path_matches_the_closed_form(lr):
    """SGD on the bowl: x_t = x0 (1 - lr/10)^t and y_t = y0 (1 - 2 lr)^t."""
    steps = 12
    path = landscapes.run_path(optimizers.SGD(lr), landscapes.BOWL_START, landscapes.anisotropic_bowl, steps)
    t = np.arange(steps + 1)
    np.testing.assert_allclose(path.points[:, 0], -7.0 * (1 - lr / 10) ** t, rtol=1e-5)
    np.testing.assert_allclose(path.points[:, 1], 2.0 * (1 - 2 * lr) ** t, rtol=1e-4, atol=1e-6)


def test_momentum_and_adam_paths_match_float64_numpy():
    """Momentum (heavy ball) and Adam, both through apply_gradients, follow the float64 NumPy update rules."""
    steps, h = 15, np.array([0.1, 2.0])
    paths = landscapes.run_paths(
        {"momentum": optimizers.Momentum(0.4, momentum=0.8), "adam": keras.optimizers.Adam(0.3)},
        landscapes.BOWL_START,
        landscapes.anisotropic_bowl,
        steps,
    )
    p, v = np.array(landscapes.BOWL_START), np.zeros(2)
    q, m, s = np.array(landscapes.BOWL_START), np.zeros(2), np.zeros(2)
    for t in range(1, steps + 1):
        v = 0.8 * v - 0.4 * h * p
        p = p + v
        g = h * q
        m, s = 0.9 * m + 0.1 * g, 0.999 * s + 0.001 * g**2
        q = q - 0.3 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t) * m / (np.sqrt(s) + 1e-7)
        np.testing.assert_allclose(paths["momentum"].points[t], p, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(paths["adam"].points[t], q, rtol=1e-4, atol=1e-5)


def test_one_dimensional_start_is_accepted():
    """A plain number starts a one-variable path (the double well)."""
    path = landscapes.run_path(optimizers.SGD(0.1), -1.5, landscapes.double_well, 3)
    assert path.points.shape == (4, 1)
    assert path.points[1, 0] == pytest.approx(-1.5 - 0.1 * ((-1.5) ** 3 + 1.5 - 0.2), rel=1e-6)


def _path(points):
    points = np.asarray(points, dtype=float)
    return landscapes.Path(points=points, values=np.zeros(len(points)), gradients=points.copy())


def test_path_measures_on_a_hand_made_path():
    """Steps to tolerance, path length and sign changes of a four-point zig-zag."""
    path = _path([[3.0, 4.0], [0.0, -1.0], [0.0, 1.0], [0.0, 0.0005]])
    assert landscapes.steps_to_tolerance(path, 1e-3) == 3
    assert landscapes.steps_to_tolerance(path, 1e-4) is None
    assert landscapes.path_length(path) == pytest.approx(np.hypot(3.0, 5.0) + 2.0 + 0.9995)
    assert landscapes.path_length(path, until=1) == pytest.approx(np.hypot(3.0, 5.0))
    assert landscapes.sign_changes(path, axis=1) == 2  # down, up, down
    assert landscapes.sign_changes(path, axis=0) == 0  # one step left, then zero steps (skipped)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": 0}, "steps >= 1"),
        ({"optimizer": "adam"}, "not an optimizer"),
    ],
)
def test_bad_arguments_raise_a_value_error_with_the_fix(kwargs, message):
    """A step count below 1 or a string instead of an optimizer is refused with the fix in the message."""
    args = {"optimizer": optimizers.SGD(0.1), "start": 1.0, "f": landscapes.double_well, "steps": 3, **kwargs}
    with pytest.raises(ValueError, match=message):
        landscapes.run_path(**args)


def test_a_used_optimizer_is_refused():
    """Reusing an optimizer would carry its momentum into the next path, so it is refused."""
    sgd = optimizers.Momentum(0.1)
    landscapes.run_path(sgd, 1.0, landscapes.double_well, 2)
    with pytest.raises(landscapes.LandscapeError, match="fresh one"):
        landscapes.run_path(sgd, 1.0, landscapes.double_well, 2)


def test_walking_needs_the_tensorflow_backend_and_says_so(monkeypatch):
    """Under another Keras backend run_paths (a tf.GradientTape step) is refused with the fix, not a TF error."""
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(WrongBackendError, match="runs on jax here; run it with KERAS_BACKEND=tensorflow"):
        landscapes.run_path(optimizers.SGD(0.1), 1.0, landscapes.double_well, 2)


def test_hand_gradients_match_central_differences():
    """anisotropic_bowl_gradient and double_well_gradient agree with float64 central differences."""
    h = 1e-6
    for x, y in [(-7.0, 2.0), (0.3, -1.1), (4.0, 0.0)]:
        gx, gy = landscapes.anisotropic_bowl_gradient(x, y)
        f = landscapes.anisotropic_bowl
        assert gx == pytest.approx((f(x + h, y) - f(x - h, y)) / (2 * h), rel=1e-6, abs=1e-9)
        assert gy == pytest.approx((f(x, y + h) - f(x, y - h)) / (2 * h), rel=1e-6, abs=1e-9)
    for x in (-1.5, -0.2, 2.0):
        (g,) = landscapes.double_well_gradient(x)
        f = landscapes.double_well
        assert g == pytest.approx((f(x + h) - f(x - h)) / (2 * h), rel=1e-6)


def test_path_from_points_evaluates_f_and_the_gradient_in_float64():
    """Path.from_points keeps the points, and fills values and gradients from f and the hand gradient."""
    points = np.array([[-7.0, 2.0], [-6.3, -1.6]], dtype=np.float32)
    path = landscapes.Path.from_points(points, landscapes.anisotropic_bowl, landscapes.anisotropic_bowl_gradient)
    assert path.points.dtype == np.float64 and path.points.shape == (2, 2)
    np.testing.assert_allclose(path.values, [49 / 20 + 4, 6.3**2 / 20 + 1.6**2], rtol=1e-6)
    np.testing.assert_allclose(path.gradients, path.points * np.array([0.1, 2.0]))
    one_d = landscapes.Path.from_points([-1.5, 0.0], landscapes.double_well, landscapes.double_well_gradient)
    assert one_d.points.shape == (2, 1)
    np.testing.assert_allclose(one_d.gradients[:, 0], [(-1.5) ** 3 + 1.5 - 0.2, -0.2])
    with pytest.raises(landscapes.LandscapeError, match="one row of coordinates per step"):
        landscapes.Path.from_points(
            np.zeros((2, 2, 2)), landscapes.anisotropic_bowl, landscapes.anisotropic_bowl_gradient
        )


@pytest.mark.parametrize(
    "lr, momentum, h",
    [(0.9, 0.0, 2.0), (1.3, 0.4, 0.1), (1.3, 0.4, 2.0), (0.5, 0.9, 0.1), (0.5, 0.9, 2.0), (2.0, 0.5, 2.0)],
)
def test_heavy_ball_roots_are_the_eigenvalues_of_the_iteration(lr, momentum, h):
    """The roots equal the eigenvalues of (v, w) -> (m v - lr h w, m v + (1 - lr h) w), largest |z| first."""
    roots = landscapes.heavy_ball_roots(lr, momentum, h)
    eig = np.linalg.eigvals(np.array([[momentum, -lr * h], [momentum, 1 - lr * h]]))
    np.testing.assert_allclose(np.sort_complex(roots), np.sort_complex(eig), atol=1e-9)
    assert abs(roots[0]) >= abs(roots[1])
    if momentum == 0:
        assert roots[0] == pytest.approx(1 - lr * h)


def test_heavy_ball_optimum_gives_sqrt_momentum_along_both_extreme_curvatures():
    """At momentum* = ((sqrt k - 1)/(sqrt k + 1))^2, lr* = 4/(sqrt mu + sqrt L)^2 both directions have |z| = sqrt(m*)."""
    mu, L = landscapes.BOWL_CURVATURES
    k = L / mu
    beta = ((np.sqrt(k) - 1) / (np.sqrt(k) + 1)) ** 2
    lr = 4 / (np.sqrt(mu) + np.sqrt(L)) ** 2
    for h in (mu, L):
        assert abs(landscapes.heavy_ball_roots(lr, beta, h)[0]) == pytest.approx(np.sqrt(beta), rel=1e-6)
    # Complex roots lie on the circle |z| = sqrt(momentum), whatever the learning rate.
    assert abs(landscapes.heavy_ball_roots(0.5, 0.9, 0.1)[0]) == pytest.approx(np.sqrt(0.9))


def test_heavy_ball_rate_predicts_a_float64_walk():
    """A float64 Momentum walk on h w^2/2 shrinks by the predicted rate per step (real roots: exactly, asymptotically)."""
    lr, momentum, h = 0.1, 0.1, 2.0  # real roots 0.77 and 0.13
    rate = abs(landscapes.heavy_ball_roots(lr, momentum, h)[0])
    w, v, ws = 1.0, 0.0, []
    for _ in range(60):
        v = momentum * v - lr * h * w
        w = w + v
        ws.append(abs(w))
    assert ws[-1] / ws[-2] == pytest.approx(rate, rel=1e-6)


@pytest.mark.parametrize("kwargs", [{"learning_rate": 0.0}, {"momentum": 1.0}, {"curvature": -1.0}])
def test_heavy_ball_roots_refuses_values_outside_their_range(kwargs):
    """lr <= 0, momentum outside [0, 1) or a negative curvature raise LandscapeError naming the ranges."""
    args = {"learning_rate": 0.5, "momentum": 0.5, "curvature": 1.0, **kwargs}
    with pytest.raises(landscapes.LandscapeError, match="0 <= momentum < 1"):
        landscapes.heavy_ball_roots(**args)
