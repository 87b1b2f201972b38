"""Small test functions for optimizers, their exact gradients, and measures of a path.

A landscape is a plain Python function of one or two numbers written with
arithmetic operators only, so the same function evaluates a NumPy grid (for
contour plots) and Keras variables (for gradients). Each has its gradient
written out by hand, in float64, so a path recorded by a Keras training loop
can be measured (and checked) independently of that loop. Here the
positions come from plain gradient descent in NumPy (learning rate 0.9),
standing in for those your own ``apply_gradients`` loop records:

>>> from cookbook.lessons import landscapes
>>> points = [(-7.0, 2.0)]  # one row per step, the start first
>>> for _ in range(100):
...     x, y = points[-1]
...     gx, gy = landscapes.anisotropic_bowl_gradient(x, y)
...     points.append((x - 0.9 * gx, y - 0.9 * gy))
>>> path = landscapes.Path.from_points(points, landscapes.anisotropic_bowl, landscapes.anisotropic_bowl_gradient)
>>> landscapes.steps_to_tolerance(path, 1e-3), landscapes.sign_changes(path, axis=1)  # y zig-zags every step
(70, 99)

The lessons (recipes 08 and 09) write that loop themselves. ``run_paths``
walks many optimizers at once in one compiled step, for grid searches over
hyperparameters where only the measures matter; ``heavy_ball_roots`` is the
theory of SGD and Momentum on a quadratic, to compare with those measures.
"""

import dataclasses

from cookbook.errors import LandscapeError, WrongBackendError

import keras
import numpy as np

__all__ = [
    "BOWL_CURVATURES",
    "BOWL_START",
    "DOUBLE_WELL_START",
    "DOUBLE_WELL_TILT",
    "LandscapeError",
    "Path",
    "anisotropic_bowl",
    "anisotropic_bowl_gradient",
    "double_well",
    "double_well_critical_points",
    "double_well_gradient",
    "heavy_ball_roots",
    "path_length",
    "run_path",
    "run_paths",
    "sign_changes",
    "steps_to_tolerance",
]

BOWL_START = (-7.0, 2.0)
BOWL_CURVATURES = (0.1, 2.0)  # second derivatives of anisotropic_bowl along x and y
DOUBLE_WELL_TILT = 0.2
DOUBLE_WELL_START = -1.5


def anisotropic_bowl(x, y):
    """The stretched bowl ``f(x, y) = x**2 / 20 + y**2``, minimum 0 at (0, 0).

    Its curvature is 0.1 along x and 2 along y (condition number 20): a
    learning rate large enough to make progress along x overshoots along y,
    which is where plain gradient descent zig-zags.

    Args:
        x: first coordinate (a number, NumPy array or Keras variable).
        y: second coordinate, same kind as ``x``.
    """
    return x**2 / 20.0 + y**2


def anisotropic_bowl_gradient(x, y):
    """The exact gradient of ``anisotropic_bowl``: ``(x / 10, 2 y)``.

    Args:
        x: first coordinate (a number or NumPy array).
        y: second coordinate, same kind as ``x``.

    Returns:
        The tuple ``(df/dx, df/dy)``.
    """
    return x / 10.0, 2.0 * y


def double_well(x, tilt=DOUBLE_WELL_TILT):
    """A tilted double well ``f(x) = x**4 / 4 - x**2 / 2 - tilt * x``.

    With the default ``tilt=0.2`` it has a shallow local minimum at
    x = -0.879 (f = -0.061), a hump at x = -0.209 (f = +0.020) and the global
    minimum at x = +1.088 (f = -0.459). The hump is 0.082 above the local
    minimum and 0.480 above the global one. A ball started at x = -1.5
    (``DOUBLE_WELL_START``) meets the shallow minimum first; one started at
    x = +2.0 meets the deep one first. Plain gradient descent stops in the
    first minimum it meets; with momentum, a ball can cross the hump in
    whichever direction it is moving.

    Args:
        x: position (a number, NumPy array or Keras variable).
        tilt: slope added to the symmetric well; positive makes the right
            minimum the deeper one. Defaults to `0.2`.
    """
    return x**4 / 4.0 - x**2 / 2.0 - tilt * x


def double_well_gradient(x, tilt=DOUBLE_WELL_TILT):
    """The exact derivative of ``double_well``: ``x**3 - x - tilt``.

    Args:
        x: position (a number or NumPy array).
        tilt: the well's tilt. Defaults to `0.2`.

    Returns:
        A one-element tuple ``(df/dx,)``, like ``anisotropic_bowl_gradient``.
    """
    return (x**3 - x - tilt,)


def double_well_critical_points(tilt=DOUBLE_WELL_TILT):
    """The (local minimum, hump, global minimum) of ``double_well``, in float64.

    They are the three real roots of ``f'(x) = x**3 - x - tilt``, computed
    independently of any optimizer so tests and tables can compare with them.

    Args:
        tilt: the well's tilt, between 0 and 0.38 (beyond that the local
            minimum disappears). Defaults to `0.2`.
    """
    roots = np.roots([1.0, 0.0, -1.0, -tilt])
    real = np.sort(roots[np.abs(roots.imag) < 1e-9].real)
    if len(real) != 3:
        raise LandscapeError(f"tilt={tilt} leaves the double well with one minimum; pass a tilt between 0 and 0.38")
    return tuple(float(r) for r in real)


@dataclasses.dataclass(frozen=True)
class Path:
    """Where an optimizer went: one row per step, the start included.

    Attributes:
        points: positions, shape ``(steps + 1, dims)``, float64.
        values: ``f`` at each position, shape ``(steps + 1,)``.
        gradients: gradient of ``f`` at each position, shape ``(steps + 1, dims)``.
    """

    points: np.ndarray
    values: np.ndarray
    gradients: np.ndarray

    @property
    def steps(self):
        """The position changes, shape ``(steps, dims)``."""
        return np.diff(self.points, axis=0)

    @classmethod
    def from_points(cls, points, f, gradient):
        """A ``Path`` from recorded positions, with ``f`` and its gradient evaluated in float64.

        Args:
            points: positions, one row per step (the start first), shape
                ``(steps + 1, dims)``; a 1-D sequence is one coordinate.
            f: the landscape, ``f(*coordinates)``.
            gradient: its exact gradient, ``gradient(*coordinates)`` -> a
                tuple with one entry per coordinate (e.g.
                ``anisotropic_bowl_gradient``).
        """
        points = np.asarray(points, dtype=np.float64)
        if points.ndim == 1:
            points = points[:, None]
        if points.ndim != 2 or len(points) < 1:
            raise LandscapeError(f"points has shape {points.shape}: pass one row of coordinates per step")
        coordinates = tuple(points.T)
        return cls(
            points=points,
            values=np.asarray(f(*coordinates), dtype=np.float64),
            gradients=np.stack(gradient(*coordinates), axis=1).astype(np.float64),
        )


def run_paths(optimizers, start, f, steps):
    """Walk several optimizers from the same start for ``steps`` steps each (a grid search).

    Each optimizer gets its own ``keras.Variable`` per coordinate; one
    compiled step (``tf.function``) advances all of them together, so a grid
    of dozens of settings costs about a second. A lesson shows its own
    ``apply_gradients`` loop for the runs it draws; this is for the grids
    around them. The step is TensorFlow code: it needs the TensorFlow
    backend (``LandscapeError`` under another).

    Args:
        optimizers: a dict ``{name: keras optimizer}``, each unused (a built
            optimizer carries its state from an earlier run).
        start: the starting point, a number or a tuple of numbers (one per
            argument of ``f``).
        f: the landscape, ``f(*coordinates)`` -> a scalar.
        steps: how many optimizer steps to take (>= 1).

    Returns:
        A dict ``{name: Path}`` in the order of ``optimizers``.
    """
    # Here, not at the top: only this walk is TensorFlow code (tf.GradientTape, tf.function), so the
    # landscapes and measures import under any Keras backend, and a recipe's NEEDS_TENSORFLOW check
    # runs before TensorFlow is loaded.
    if keras.backend.backend() != "tensorflow":
        raise WrongBackendError.needs_tensorflow(
            "run_paths", "it takes its gradients with tf.GradientTape", keras.backend.backend()
        )
    import tensorflow as tf

    start = tuple(float(c) for c in np.atleast_1d(np.asarray(start, dtype=float)))
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise LandscapeError(f"steps={steps!r}: pass a whole number of optimizer steps >= 1")
    for name, optimizer in optimizers.items():
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise LandscapeError(
                f"{name!r} is a {type(optimizer).__name__}, not an optimizer: pass an "
                f"instance such as cookbook.optimizers.Adam(0.1)"
            )
        if optimizer.built:
            raise LandscapeError(
                f"optimizer {name!r} has already been used: create a fresh one for each "
                f"path, so no momentum or accumulator carries over"
            )
    names = list(optimizers)
    weights = {
        name: [keras.Variable(c, dtype="float32", name=f"coordinate_{i}") for i, c in enumerate(start)]
        for name in names
    }
    for name in names:
        optimizers[name].build(weights[name])

    def record(name):
        # Where optimizer `name` is, f there, and the gradient there.
        variables = weights[name]
        with tf.GradientTape() as tape:
            value = f(*variables)
        grads = tape.gradient(value, variables)
        return tf.stack([v.value for v in variables]), value, tf.stack(grads), grads

    # autograph=False: nothing here branches on a tensor, and AutoGraph would print a warning
    # for a landscape whose source it cannot read (a lambda in a recipe run by the CLI).
    @tf.function(autograph=False)
    def step():
        recorded = []
        for name in names:
            position, value, gradient, grads = record(name)
            recorded.append((position, value, gradient))
            optimizers[name].apply_gradients(zip(grads, weights[name]))
        return recorded

    @tf.function(autograph=False)
    def where():
        return [record(name)[:3] for name in names]

    history = [step() for _ in range(steps)] + [where()]
    paths = {}
    for i, name in enumerate(names):
        rows = [record[i] for record in history]
        paths[name] = Path(
            points=np.array([r[0].numpy() for r in rows], dtype=np.float64),
            values=np.array([float(r[1]) for r in rows], dtype=np.float64),
            gradients=np.array([r[2].numpy() for r in rows], dtype=np.float64),
        )
    return paths


def run_path(optimizer, start, f, steps):
    """Walk one optimizer from ``start`` down ``f`` with ``apply_gradients``.

    Args:
        optimizer: an unused Keras optimizer, e.g. ``cookbook.optimizers.SGD(0.9)``.
        start: the starting point, a number or a tuple of numbers.
        f: the landscape, ``f(*coordinates)`` -> a scalar.
        steps: how many optimizer steps to take (>= 1).

    Returns:
        A ``Path`` with ``steps + 1`` rows (the start is row 0).
    """
    return run_paths({"path": optimizer}, start, f, steps)["path"]


def heavy_ball_roots(learning_rate, momentum, curvature):
    """The two roots of Momentum's (and SGD's) iteration along one direction of a quadratic.

    On ``f = h w**2 / 2`` Keras's Momentum (``v <- momentum * v - lr * h * w``,
    ``w <- w + v``) is a linear recurrence, ``w_{t+1} = (1 + momentum - lr h) w_t
    - momentum w_{t-1}``, whose solutions are ``a z1**t + b z2**t`` with ``z1``,
    ``z2`` the roots of ``z**2 - (1 + momentum - lr h) z + momentum = 0``. The
    larger ``|z|`` is the rate per step: below 1 the iteration converges,
    complex roots make it swing back and forth (``|z| = sqrt(momentum)``
    then), a negative real root makes it flip sign every step. With
    ``momentum=0`` (SGD) the roots are ``1 - lr h`` and 0.

    Args:
        learning_rate: ``lr`` (> 0).
        momentum: Keras's ``momentum``, in [0, 1).
        curvature: ``h``, the second derivative along the direction (> 0).

    Returns:
        A complex NumPy array of the two roots, largest ``|z|`` first.
    """
    for name, value, ok in (
        ("learning_rate", learning_rate, learning_rate > 0),
        ("momentum", momentum, 0 <= momentum < 1),
        ("curvature", curvature, curvature > 0),
    ):
        if not ok:
            raise LandscapeError(
                f"{name}={value!r} is outside its range: pass learning_rate > 0, 0 <= momentum < 1 and curvature > 0"
            )
    trace = 1.0 + momentum - learning_rate * curvature
    root = np.sqrt(complex(trace**2 - 4.0 * momentum))
    roots = np.array([(trace + root) / 2.0, (trace - root) / 2.0])
    return roots[np.argsort(-np.abs(roots), kind="stable")]


def steps_to_tolerance(path, tolerance=1e-3):
    """The first step at which ``|grad f| < tolerance``, or ``None`` if never reached.

    Args:
        path: a ``Path`` from ``run_path``.
        tolerance: gradient norm that counts as "at the minimum". Defaults to `1e-3`.
    """
    reached = np.flatnonzero(np.linalg.norm(path.gradients, axis=1) < tolerance)
    return int(reached[0]) if len(reached) else None


def path_length(path, until=None):
    """Total distance travelled: the sum of the step lengths.

    Args:
        path: a ``Path`` from ``run_path``.
        until: count only the first ``until`` steps; ``None`` counts all. Defaults to `None`.
    """
    return float(np.linalg.norm(path.steps[:until], axis=1).sum())


def sign_changes(path, axis=1, until=None):
    """How often the step along one coordinate reverses direction: the zig-zag count.

    Steps of exactly zero carry no direction and are skipped.

    Args:
        path: a ``Path`` from ``run_path``.
        axis: the coordinate to look at (1 is y on a two-argument landscape). Defaults to `1`.
        until: count only the first ``until`` steps; ``None`` counts all. Defaults to `None`.
    """
    signs = np.sign(path.steps[:until, axis])
    signs = signs[signs != 0]
    return int(np.count_nonzero(signs[1:] != signs[:-1]))
