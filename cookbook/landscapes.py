"""Small test functions for optimizers, and a helper that walks an optimizer across them.

A landscape is a plain Python function of one or two numbers written with
arithmetic operators only, so the same function evaluates a NumPy grid (for
contour plots) and Keras variables (for gradients)::

    from cookbook import landscapes, optimizers

    path = landscapes.run_path(optimizers.Adam(0.3), landscapes.BOWL_START,
                               landscapes.anisotropic_bowl, steps=100)
    path.points[-1], landscapes.steps_to_tolerance(path, 1e-3)

``run_path`` trains two (or one) ``keras.Variable`` scalars with the
optimizer's own ``apply_gradients``: the same code path ``model.fit`` uses,
so what you see on these toy surfaces is what the optimizer does to weights.
"""

import dataclasses

import numpy as np

import keras
import tensorflow as tf  # only for tf.GradientTape and tf.function: Keras 3 runs on TensorFlow here

from cookbook.errors import CookbookError

__all__ = [
    "BOWL_START",
    "DOUBLE_WELL_START",
    "DOUBLE_WELL_TILT",
    "LandscapeError",
    "Path",
    "anisotropic_bowl",
    "double_well",
    "double_well_critical_points",
    "path_length",
    "run_path",
    "run_paths",
    "sign_changes",
    "steps_to_tolerance",
]

BOWL_START = (-7.0, 2.0)
DOUBLE_WELL_TILT = 0.2
DOUBLE_WELL_START = -1.5


class LandscapeError(CookbookError):
    """A start point, step count or optimizer that ``run_path`` cannot use."""


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


def double_well(x, tilt=DOUBLE_WELL_TILT):
    """A tilted double well ``f(x) = x**4 / 4 - x**2 / 2 - tilt * x``.

    With the default ``tilt=0.2`` it has a shallow local minimum at
    x = -0.879 (f = -0.061), a hump at x = -0.209 (f = +0.020) and the global
    minimum at x = +1.088 (f = -0.459). Starting at x = -1.5 and rolling
    right, a ball meets the shallow minimum first: the barrier in front of
    it is only 0.081 high, but plain gradient descent has no speed to carry
    it over.

    Args:
        x: position (a number, NumPy array or Keras variable).
        tilt: slope added to the symmetric well; positive makes the right
            minimum the deeper one. Defaults to `0.2`.
    """
    return x**4 / 4.0 - x**2 / 2.0 - tilt * x


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
        raise LandscapeError(f"tilt={tilt} leaves the double well with one minimum; "
                             f"pass a tilt between 0 and 0.38")
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


def run_paths(optimizers, start, f, steps):
    """Walk several optimizers from the same start for ``steps`` steps each.

    Each optimizer gets its own ``keras.Variable`` per coordinate; one
    compiled step (``tf.function``) advances all of them, which is ~20x
    faster than eager mode on these tiny problems.

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
    start = tuple(float(c) for c in np.atleast_1d(np.asarray(start, dtype=float)))
    if not isinstance(steps, (int, np.integer)) or steps < 1:
        raise LandscapeError(f"steps={steps!r}: pass a whole number of optimizer steps >= 1")
    for name, optimizer in optimizers.items():
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise LandscapeError(f"{name!r} is a {type(optimizer).__name__}, not an optimizer: pass an "
                                 f"instance such as cookbook.optimizers.Adam(0.1)")
        if optimizer.built:
            raise LandscapeError(f"optimizer {name!r} has already been used: create a fresh one for each "
                                 f"path, so no momentum or accumulator carries over")
    names = list(optimizers)
    weights = {name: [keras.Variable(c, dtype="float32", name=f"coordinate_{i}") for i, c in enumerate(start)]
               for name in names}
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
