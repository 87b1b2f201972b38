"""Run two optimizers side by side (and a float64 NumPy reference) and tabulate how far apart they drift.

``compare_optimizers(custom, builtin)`` gives both the same weights and the
same stream of gradients, steps them, and reports after every step the
largest weight difference between them and against
``cookbook.reference``:

>>> import cookbook
>>> import keras
>>> table = cookbook.compare_optimizers(cookbook.optimizers.Adam(0.01), keras.optimizers.Adam(0.01), steps=50)
>>> list(table.columns)
['step', 'custom_vs_builtin', 'custom_moved', 'custom_vs_reference', 'builtin_vs_reference', 'reference_scale']
>>> float(table["custom_vs_builtin"].max())  # 0.0 when the twin is exact
0.0
>>> bool(table["custom_vs_reference"].max() < 1e-5)  # float32 against float64: a relative error
True

The problem is a noisy quadratic bowl, ``loss = sum(c * (w - w_star)**2) / 2``
with a fixed random curvature ``c`` in [0.5, 2], plus fixed random noise on
each gradient (as a mini-batch would add): every trajectory computes its own
gradients from its own weights, so differences can grow and show up.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Sequence

from cookbook import reference as _reference
from cookbook.errors import CookbookError

import keras
import numpy as np
import pandas as pd

__all__ = ["compare_optimizers"]

DEFAULT_SHAPES = ((4, 3), (3,))  # a small kernel and a bias: two variables of two ranks
CURVATURE_RANGE = (0.5, 2.0)
GRADIENT_NOISE = 0.1


def _problem(shapes, steps, seed):
    """Initial weights, optimum, curvature and per-step noise; all float32-exact."""
    rng = np.random.default_rng(seed)
    as32 = lambda a: np.asarray(a, np.float32)  # noqa: E731  (start both sides from float32 values)
    w0 = [as32(rng.normal(size=s)) for s in shapes]
    w_star = [as32(rng.normal(size=s)) for s in shapes]
    curvature = [as32(rng.uniform(*CURVATURE_RANGE, size=s)) for s in shapes]
    noise = [[as32(GRADIENT_NOISE * rng.normal(size=s)) for s in shapes] for _ in range(steps)]
    return w0, w_star, curvature, noise


def _gradients(weights, w_star, curvature, noise, dtype):
    """The gradient of the noisy bowl at ``weights``, computed in ``dtype``."""
    return [
        (c.astype(dtype) * (w.astype(dtype) - s.astype(dtype)) + n.astype(dtype))
        for w, s, c, n in zip(weights, w_star, curvature, noise)
    ]


def _apply(optimizer, variables, grads):
    # Tensors of the running backend, not NumPy arrays: TensorFlow and JAX
    # accept both, Keras's torch optimizers only torch tensors.
    optimizer.apply([keras.ops.convert_to_tensor(g) for g in grads], variables)


def _compiled_apply(optimizer, variables):
    """``optimizer.apply(grads, variables)`` as one compiled graph when the backend allows it.

    An eager step runs each small op separately (tens of milliseconds per
    step); a ``tf.function`` is traced once, then runs a step in about a
    millisecond. Both optimizers of a comparison always run the same way.
    """
    # A partial, not a closure: TensorFlow counts traces per code object, and a
    # closure would make every new comparison look like an accidental retrace.
    apply = functools.partial(_apply, optimizer, variables)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.function(apply)
    return apply


def _max_abs(a, b):
    """Largest absolute difference over lists of arrays; NaN if any entry is NaN."""
    return float(np.max([np.max(np.abs(np.asarray(x, np.float64) - y)) for x, y in zip(a, b)]))


def compare_optimizers(
    custom: keras.optimizers.Optimizer,
    builtin: keras.optimizers.Optimizer,
    steps: int = 50,
    *,
    seed: int = 0,
    shapes: Sequence[tuple[int, ...]] = DEFAULT_SHAPES,
    reference: bool = True,
) -> pd.DataFrame:
    """Step two fresh optimizers on the same problem and tabulate their differences.

    Args:
        custom: an unbuilt ``keras.optimizers.Optimizer`` (usually a
            ``cookbook.optimizers`` twin).
        builtin: an unbuilt optimizer to compare it with (usually Keras's own).
        steps: number of update steps, >= 1. Defaults to `50`.
        seed: seed of the weights, optimum, curvature and noise. Defaults to `0`.
        shapes: shapes of the weight variables. Defaults to `((4, 3), (3,))`.
        reference: also run the float64 NumPy reference that follows
            ``custom``'s class and config (see ``cookbook.reference``).
            Defaults to `True`.

    Returns:
        A ``pandas.DataFrame``, one row per step: ``step``,
        ``custom_vs_builtin`` (largest absolute weight difference),
        ``custom_moved`` (largest distance of a custom weight from its start:
        agreement means little if nothing moved), and with
        ``reference=True`` ``custom_vs_reference`` and ``builtin_vs_reference``
        (largest absolute difference divided by the largest absolute
        reference weight: a relative error), and ``reference_scale`` (that
        largest weight).

    Raises:
        CookbookError: a non-optimizer, an optimizer already built on other
            weights, ``steps < 1``, or a setting the reference cannot model.
    """
    for role, optimizer in (("custom", custom), ("builtin", builtin)):
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise CookbookError(
                f"{role} must be a keras.optimizers.Optimizer, got "
                f"{type(optimizer).__name__}; pass e.g. keras.optimizers.Adam()"
            )
        if optimizer.built:
            raise CookbookError(
                f"{role} optimizer {optimizer.name!r} is already built on other "
                f"weights; pass a freshly constructed optimizer"
            )
    if custom is builtin:
        raise CookbookError("custom and builtin are the same object; pass two optimizers")
    if not isinstance(steps, numbers.Integral) or steps < 1:
        raise CookbookError(f"steps must be an integer >= 1, got {steps!r}")
    ref = _reference.from_optimizer(custom) if reference else None

    w0, w_star, curvature, noise = _problem(shapes, steps, seed)
    sides = {}
    for role, optimizer in (("custom", custom), ("builtin", builtin)):
        variables = [keras.Variable(w, dtype="float32", name=f"w{i}") for i, w in enumerate(w0)]
        optimizer.build(variables)
        sides[role] = (_compiled_apply(optimizer, variables), variables)
    w_ref = [w.astype(np.float64) for w in w0]

    rows = []
    for step in range(steps):
        current = {}
        for role, (apply, variables) in sides.items():
            weights = [v.numpy() for v in variables]
            apply(_gradients(weights, w_star, curvature, noise[step], np.float32))
            current[role] = [v.numpy() for v in variables]
        row = {
            "step": step + 1,
            "custom_vs_builtin": _max_abs(current["custom"], current["builtin"]),
            "custom_moved": _max_abs(current["custom"], w0),
        }
        if ref is not None:
            w_ref = ref.apply(_gradients(w_ref, w_star, curvature, noise[step], np.float64), w_ref)
            scale = float(np.max([np.max(np.abs(w)) for w in w_ref]))
            row["custom_vs_reference"] = _max_abs(current["custom"], w_ref) / scale
            row["builtin_vs_reference"] = _max_abs(current["builtin"], w_ref) / scale
            row["reference_scale"] = scale
        rows.append(row)
    return pd.DataFrame(rows)
