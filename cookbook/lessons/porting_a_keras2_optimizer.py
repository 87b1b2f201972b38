"""Lesson 15's tools: Digits as ink tokens, Keras 2 on demand, a float64 Yogi beside the run, the figure.

- ``ink_tokens``: each 8x8 Digits image as 64 integer tokens, ``pixel index x
  ink level``, so an ``Embedding`` reads it (and TensorFlow hands the
  optimizer a sparse ``IndexedSlices`` gradient).
- ``load_keras2``: Keras 2 (``tf_keras``) and ``Keras2Yogi``; without ``tf_keras``
  a ``ModuleNotFoundError`` that names the pip command.
- ``Float64Yogi``: ``cookbook.reference.yogi`` applied in float64 to the same
  gradients the Keras 3 model got, one call per step; dense and sparse.
- ``rate_at``: a schedule's rate at step ``i`` in float64, from its config.
- ``plot_differences``: the figure (gaps measured with ``agreement.max_difference``).

They only measure and load (the models, ``apply_gradients``, ``fit`` and the
saving are in the recipe); checked in ``tests/test_lessons_porting.py``.
"""

from __future__ import annotations

from cookbook import reference
from cookbook.errors import LessonError
from cookbook.porting.yogi import _is_indexed_slices  # one test for TensorFlow's sparse gradient

import keras
import numpy as np

__all__ = ["Float64Yogi", "ink_tokens", "load_keras2", "plot_differences", "rate_at"]

MAX_INK = 16  # Digits' pixels count ink from 0 to 16


def ink_tokens(images, levels):
    """Each image row (64 pixels, ink 0-16) as 64 tokens ``pixel * levels + ink level``.

    Args:
        images: array of shape ``(rows, pixels)`` with values in ``[0, 16]``.
        levels: ink levels per pixel (>= 1); ink ``x`` falls in level
            ``min(x * levels // 17, levels - 1)``.

    Returns:
        An int32 array of the same shape, values in ``[0, pixels * levels)``.
    """
    images = np.asarray(images)
    if images.ndim != 2 or images.size == 0:
        raise LessonError(f"images has shape {images.shape}: pass a (rows, pixels) array of Digits pixels")
    if images.min() < 0 or images.max() > MAX_INK:
        raise LessonError(
            f"pixel values span [{images.min()}, {images.max()}]: pass Digits' raw ink values 0-{MAX_INK} "
            "(not standardized)"
        )
    if int(levels) != levels or levels < 1:
        raise LessonError(f"levels={levels!r}: pass a whole number of ink levels >= 1")
    level = np.minimum(images.astype(np.int64) * levels // (MAX_INK + 1), levels - 1)
    return (np.arange(images.shape[1]) * levels + level).astype("int32")


def load_keras2():
    """``(tf_keras, Keras2Yogi)``, imported on demand (``import cookbook`` never loads Keras 2).

    Raises:
        ModuleNotFoundError: ``tf_keras`` is missing (a core dependency, so the
            install is broken); the message names the pip command that adds the
            ``tf_keras`` matching the installed TensorFlow. The lesson's main
            proof is Keras 2 against Keras 3, so it stops rather than half-runs.
    """
    from cookbook.porting.keras2_yogi import Keras2Yogi

    import tf_keras

    return tf_keras, Keras2Yogi


def rate_at(schedule, i):
    """The learning rate ``schedule`` gives at iteration ``i`` (0 for step 1), in float64.

    Args:
        schedule: a float, or a Keras 2 or Keras 3 ``ExponentialDecay`` or
            ``InverseTimeDecay`` (``staircase=False``), read from its config.
        i: the optimizer's ``iterations`` before the step.
    """
    if isinstance(schedule, (int, float)):
        return float(schedule)
    kind, config = type(schedule).__name__, schedule.get_config()
    if kind not in ("ExponentialDecay", "InverseTimeDecay"):
        raise LessonError(f"no float64 formula for {kind}: pass ExponentialDecay or InverseTimeDecay")
    if config.get("staircase"):
        raise LessonError(f"{kind} with staircase=True: pass a smooth schedule (staircase=False)")
    start, rate, steps = (float(config[k]) for k in ("initial_learning_rate", "decay_rate", "decay_steps"))
    if kind == "ExponentialDecay":
        return start * rate ** (i / steps)
    return start / (1 + rate * i / steps)


class Float64Yogi:
    """``reference.yogi`` in float64 on a copy of the weights, fed the gradients a Keras 3 model got.

    ``step(gradients, learning_rate)`` takes the list ``tape.gradient``
    returned: dense arrays, or TensorFlow ``IndexedSlices`` (an
    ``Embedding``'s), applied as a sparse step on their rows.
    """

    def __init__(self, weights, **hyperparameters):
        self.weights = [np.array(keras.ops.convert_to_numpy(w), dtype=np.float64) for w in weights]
        self.reference = reference.ReferenceOptimizer(reference.yogi, **hyperparameters)

    def step(self, gradients, learning_rate):
        """One step with ``learning_rate`` (a float: evaluate a schedule with ``rate_at`` first)."""
        if len(gradients) != len(self.weights):
            raise LessonError(f"{len(gradients)} gradients for {len(self.weights)} weights: pass one per weight")
        rows, values = [], []
        for gradient in gradients:
            sparse = _is_indexed_slices(gradient)
            rows.append(keras.ops.convert_to_numpy(gradient.indices) if sparse else None)
            values.append(keras.ops.convert_to_numpy(gradient.values if sparse else gradient))
        self.weights = self.reference.apply(values, self.weights, learning_rate=learning_rate, rows=rows)
        return self.weights


def plot_differences(curves, floor, settings, tolerances=(1e-6, 1e-5)):
    """Per step and case: max |Keras 2 - Keras 3| (left) and max |Keras 3 - float64| / max |w| (right), log y.

    Args:
        curves: DataFrame with ``case``, ``step``, ``Keras 2 vs Keras 3``
            (NaN when Keras 2 did not run) and ``Keras 3 vs float64``.
        floor: value drawn for an exact 0 (a log axis has no 0).
        settings: one line of run settings for the title.
        tolerances: the dotted line of each panel (absolute, relative).
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(13, 5.4), layout="constrained")
    axes = fig.subplots(1, 2)
    panels = (
        ("Keras 2 vs Keras 3", "Keras2Yogi (tf_keras) vs Yogi (Keras 3), same start", "max |w_keras2 - w_keras3|"),
        ("Keras 3 vs float64", "Yogi (float32) vs reference.yogi (float64)", "max |w_keras3 - w_float64| / max |w|"),
    )
    markers = "osD^v"
    for ax, (column, title, ylabel), tolerance in zip(axes, panels, tolerances):
        drawn = False
        for k, (case, run) in enumerate(curves.groupby("case", sort=False)):
            values = run[column].to_numpy(dtype=float)
            if np.isnan(values).all():
                continue
            zeros = int((values == 0).sum())
            label = f"{case}" + (f": {zeros} of {len(values)} steps exactly 0, drawn at {floor:g}" if zeros else "")
            # Hollow markers of shrinking size, so lines lying on one another (all at the floor) stay visible.
            ax.plot(
                run["step"],
                np.maximum(values, floor),
                f"{markers[k % len(markers)]}-",
                markersize=7 - 2 * (k % 3),
                markerfacecolor="none",
                markevery=max(1, len(values) // 25),
                color=f"C{k}",
                label=label,
            )
            drawn = True
        if not drawn:
            ax.text(0.5, 0.5, "not run: tf_keras is not installed", ha="center", transform=ax.transAxes)
        ax.axhline(tolerance, color="grey", linestyle=":", linewidth=1.5, label=f"{tolerance:g} (the tolerance)")
        ax.set(xlabel="optimizer step", ylabel=ylabel, yscale="log", title=title)
        ax.set_ylim(floor / 10, max(10 * tolerance, float(np.nanmax(curves[column])) * 10 if drawn else 0))
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.13))
    fig.suptitle(settings)
    return fig
