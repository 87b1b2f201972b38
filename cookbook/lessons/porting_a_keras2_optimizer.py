"""Evidence for lesson 16 (porting a Keras 2 optimizer): a float64 Yogi beside the run, the tables, the figure, claims.

The lesson trains the Keras 2 original and the Keras 3 port side by side,
saves and reloads the port, and runs the four half-ports of
``cookbook.porting.half_ports``; this module supplies what only measures:

- ``ink_tokens``, ``digits_as_tokens``: each 8x8 Digits image as 64 integer
  tokens, ``pixel index x ink level``, so an ``Embedding`` reads it (and
  TensorFlow hands the optimizer a sparse ``IndexedSlices`` gradient).
- ``load_keras2``: Keras 2 (``tf_keras``) and ``Keras2Yogi``, imported on demand.
- ``Float64Yogi`` and ``rate_at``: ``cookbook.reference.yogi`` applied in
  float64 to the gradients the Keras 3 model got, at the rate its schedule gave.
- ``gaps``, ``relative_gap``, ``not_finite``, ``resumed``, ``rates_used``: the measures.
- ``proof_table``, ``half_ports_table``, ``plot_gaps`` and ``claims``.

Everything is NumPy and pandas on what the lesson passes in, tested on tiny
inputs in ``tests/test_porting_a_keras2_optimizer.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cookbook import reference
from cookbook.claims import Claim, verdict_of
from cookbook.datasets import load_dataset
from cookbook.errors import LessonError
from cookbook.figures import log_line
from cookbook.lessons.agreement import max_difference

import keras
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "HALF_PORTS",
    "Float64Yogi",
    "Resumed",
    "claims",
    "digits_as_tokens",
    "gaps",
    "half_ports_table",
    "ink_tokens",
    "load_keras2",
    "not_finite",
    "plot_gaps",
    "proof_table",
    "rate_at",
    "rates_used",
    "relative_gap",
    "resumed",
]

MAX_INK = 16  # Digits' pixels count ink from 0 to 16
SKIPPED = "Skipping variable loading"  # the start of Keras's warning when it cannot restore an optimizer
RATE_MATCH = 0.01  # two rates "agree" within 1% (the rates are read off float64 weights)
# name: (the mistake, how the lesson measures it). The order is the lesson's.
HALF_PORTS = {
    "SlotsOutsideBuild": ("m and v made on first use, not in build", "max |resumed - uninterrupted| weights"),
    "VariableAssign": (
        "variable.assign(value), not self.assign(variable, value)",
        "max |w - w_float64| / max |w_float64|",
    ),
    "ForgottenHyperparameter": ("beta_2 left out of get_config", "max |resumed - uninterrupted| weights"),
    "StepFromZero": ("t = iterations, not iterations + 1", "weights not finite after step 1"),
}


def ink_tokens(images: Any, levels: int) -> np.ndarray:
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


def digits_as_tokens(levels: int) -> tuple[np.ndarray, np.ndarray]:
    """The bundled Digits as ``(tokens, labels)``: ``ink_tokens`` of every image and its digit, both int32."""
    images, digits = load_dataset("digits")
    return ink_tokens(images.to_numpy(), levels), digits.to_numpy().astype("int32")


def load_keras2() -> tuple[Any, type]:
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


def rate_at(schedule: Any, i: int) -> float:
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


def _is_indexed_slices(gradient: Any) -> bool:
    """True for TensorFlow's sparse gradient of a gather (an ``Embedding``'s), checked by class name."""
    return type(gradient).__name__ == "IndexedSlices"


class Float64Yogi:
    """``reference.yogi`` in float64 on a copy of the weights, fed the gradients a Keras 3 model got.

    ``step(gradients, learning_rate)`` takes the list ``tape.gradient``
    returned: dense arrays, or TensorFlow ``IndexedSlices`` (an
    ``Embedding``'s), applied as a sparse step on their rows.
    """

    def __init__(self, weights: Sequence[Any], **hyperparameters: Any) -> None:
        self.weights = [np.array(keras.ops.convert_to_numpy(w), dtype=np.float64) for w in weights]
        self.reference = reference.ReferenceOptimizer(reference.yogi, **hyperparameters)

    def step(self, gradients: Sequence[Any], learning_rate: float) -> list[np.ndarray]:
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


def relative_gap(weights: Sequence[Any], reference_weights: Sequence[Any]) -> float:
    """``max |w - w_ref|`` over all weights, divided by the largest ``|w_ref|``: float32 rounding is ~1e-7."""
    scale = max(float(np.max(np.abs(np.asarray(w, dtype=np.float64)))) for w in reference_weights)
    if scale == 0:
        raise LessonError("every reference weight is 0: a relative gap needs a reference that is not all zeros")
    return max_difference(weights, reference_weights) / scale


def gaps(
    case: str, step: int, keras2_weights: Sequence[Any], keras3_weights: Sequence[Any], reference: Sequence[Any]
) -> dict[str, Any]:
    """One row of the side-by-side run: ``max |Keras 2 - Keras 3|`` and each one's ``relative_gap`` to float64."""
    return {
        "case": case,
        "step": step,
        "Keras 2 vs Keras 3": max_difference(keras2_weights, keras3_weights),
        "Keras 3 vs float64": relative_gap(keras3_weights, reference),
        "Keras 2 vs float64": relative_gap(keras2_weights, reference),
    }


def not_finite(weights: Sequence[Any]) -> int:
    """How many entries of ``weights`` are NaN or infinite."""
    return int(sum(np.size(w) - np.isfinite(keras.ops.convert_to_numpy(w)).sum() for w in weights))


def rates_used(positions: Sequence[float]) -> np.ndarray:
    """The rate of each SGD step on a gradient of 1, read off the weight's positions: ``w_(t-1) - w_t``."""
    array = np.asarray(positions, dtype=np.float64)
    if array.ndim != 1 or len(array) < 2:
        raise LessonError("pass the weight's position before the first step and after every step (2 or more)")
    return -np.diff(array)


@dataclasses.dataclass(frozen=True)
class Resumed:
    """One run saved to ``.keras``, loaded and trained on, against the run that never stopped.

    Attributes:
        gap: the largest ``|resumed - uninterrupted|`` weight at the end.
        warnings: the messages ``load_model`` warned with.
        beta_2: the reloaded optimizer's ``beta_2``.
        iterations: the reloaded optimizer's step count after it trained on.
    """

    gap: float
    warnings: tuple[str, ...]
    beta_2: float
    iterations: int

    @property
    def skipped(self) -> bool:
        """Keras warned that it skipped loading the optimizer's variables."""
        return any(SKIPPED in text for text in self.warnings)


def resumed(uninterrupted: Any, model: Any, caught: Sequence[Any] = ()) -> Resumed:
    """Measure a resumed ``model`` (loaded, then trained) against ``uninterrupted``; ``caught`` from load_model."""
    return Resumed(
        gap=max_difference(uninterrupted.get_weights(), model.get_weights()),
        warnings=tuple(str(getattr(w, "message", w)) for w in caught),
        beta_2=float(model.optimizer.beta_2),
        iterations=int(keras.ops.convert_to_numpy(model.optimizer.iterations)),
    )


def proof_table(per_step: pd.DataFrame, moved: Mapping[str, float]) -> pd.DataFrame:
    """One row per case of the side-by-side run: its steps, the largest gaps, how far the weights moved.

    Args:
        per_step: ``case``, ``step``, ``Keras 2 vs Keras 3`` (absolute) and
            ``Keras 3 vs float64`` (relative) after every step.
        moved: per case, how far the Keras 3 weights went from the start (``max |w - w_0|``).
    """
    rows = []
    for case, run in per_step.groupby("case", sort=False):
        rows.append(
            {
                "case": case,
                "steps": len(run),
                "max |Keras 2 - Keras 3|": float(run["Keras 2 vs Keras 3"].max()),
                "steps exactly equal": int((run["Keras 2 vs Keras 3"] == 0).sum()),
                "max |Keras 3 - float64| / max |w|": float(run["Keras 3 vs float64"].max()),
                "weights moved": float(moved[case]),
            }
        )
    return pd.DataFrame(rows)


def half_ports_table(
    resumes: Mapping[str, Resumed],
    float64_gaps: Mapping[str, float],
    not_finite: Mapping[str, int],
    saved_beta_2: float,
) -> pd.DataFrame:
    """The four half-ports, each with its symptom and the number that shows it next to the correct ``Yogi``'s.

    Args:
        resumes: ``Resumed`` records of ``Yogi``, ``SlotsOutsideBuild`` and ``ForgottenHyperparameter``.
        float64_gaps: ``relative_gap`` to the float64 reference of ``Yogi`` and ``VariableAssign``.
        not_finite: weights not finite after one step, of ``Yogi`` and ``StepFromZero``.
        saved_beta_2: the ``beta_2`` the resumed runs were saved with.
    """
    yogi, slots, forgot = resumes["Yogi"], resumes["SlotsOutsideBuild"], resumes["ForgottenHyperparameter"]
    symptoms = {
        "SlotsOutsideBuild": (
            f"load_model warned '{SKIPPED}' and restarted at step 1 ({slots.iterations} steps counted, Yogi "
            f"{yogi.iterations})"
            if slots.skipped
            else "load_model gave no warning"
        ),
        "VariableAssign": "the Embedding's IndexedSlices made dense: other rows set to 0, repeated rows summed",
        "ForgottenHyperparameter": f"reloaded with beta_2={forgot.beta_2:g}, saved with {saved_beta_2:g}, "
        f"{'no' if not forgot.warnings else len(forgot.warnings)} warning(s)",
        "StepFromZero": "1 - beta_1**0 = 0 in the bias correction",
    }
    values = {
        "SlotsOutsideBuild": (slots.gap, yogi.gap),
        "VariableAssign": (float64_gaps["VariableAssign"], float64_gaps["Yogi"]),
        "ForgottenHyperparameter": (forgot.gap, yogi.gap),
        "StepFromZero": (not_finite["StepFromZero"], not_finite["Yogi"]),
    }
    return pd.DataFrame(
        [
            {
                "half-port": name,
                "mistake": mistake,
                "symptom": symptoms[name],
                "measure": measure,
                "half-port value": values[name][0],
                "Yogi value": values[name][1],
            }
            for name, (mistake, measure) in HALF_PORTS.items()
        ]
    )


def plot_gaps(
    per_step: pd.DataFrame,
    half_port: Sequence[float],
    rates: Mapping[str, Sequence[float]],
    tolerance: float,
    title: str,
) -> Figure:
    """Left: each run's weights against float64 per step (log); right: the rate each optimizer used per step.

    Args:
        per_step: ``case``, ``step``, ``Keras 3 vs float64``, ``Keras 2 vs float64`` (relative gaps).
        half_port: the ``VariableAssign`` half-port's ``relative_gap`` after each step of its own short run.
        rates: ``{label: rate per step}``; the first is drawn as markers, the others as lines.
        tolerance: the relative gap a correct port stays under (a dotted line).
        title: one line of run settings.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 4.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.set_yscale("log")
    for k, (case, run) in enumerate(per_step.groupby("case", sort=False)):
        color = f"C{k}"
        log_line(left, run["step"], run["Keras 3 vs float64"], color=color, label=f"Yogi (Keras 3), {case}")
        log_line(
            left,
            run["step"],
            run["Keras 2 vs float64"],
            color=color,
            marker="o",
            markerfacecolor="none",
            linestyle="none",
            markevery=max(1, len(run) // 20),
            label=f"Keras2Yogi (Keras 2), {case}",
        )
    log_line(
        left,
        np.arange(1, len(half_port) + 1),
        half_port,
        color="C3",
        marker="s",
        label=f"half-port VariableAssign, defaults ({len(half_port)} steps)",
    )
    left.axhline(tolerance, color="grey", linestyle=":", label=f"tolerance {tolerance:g}")
    left.set(
        xlabel="optimizer step",
        ylabel="max |w - w_float64| / max |w_float64|",
        title="Weights against Yogi in float64, same gradients",
    )
    left.legend(fontsize="small", loc="center right", framealpha=0.9)
    for k, (label, used) in enumerate(rates.items()):
        steps = np.arange(1, len(used) + 1)
        style: dict[str, Any] = (
            {"marker": "o", "markerfacecolor": "none", "linestyle": "none", "markevery": max(1, len(used) // 20)}
            if k == 0
            else {"linestyle": "-" if k == 1 else "--"}
        )
        right.plot(steps, used, color=f"C{k + 4}", label=label, **style)
    right.set_ylim(bottom=0)
    right.set(xlabel="optimizer step", ylabel="learning rate used", title="Keras 2's decay= in Keras 3 (SGD)")
    right.legend(fontsize="small", loc="lower left", framealpha=0.9)
    fig.suptitle(title)
    return fig


def claims(
    proof: pd.DataFrame,
    resumes: Mapping[str, Resumed],
    float64_gaps: Mapping[str, float],
    not_finite: Mapping[str, int],
    rates: Mapping[str, Sequence[float]],
    *,
    tolerance: float,
    relative_tolerance: float,
    fit_steps: int,
    fit_moved: float,
) -> list[Claim]:
    """The lesson's points to remember.

    Args:
        proof: ``proof_table``.
        resumes, float64_gaps, not_finite: as for ``half_ports_table``.
        rates: ``{"Keras 2 decay=": ..., "Keras 3 InverseTimeDecay": ..., "Keras 3 decay=": ...}``, the rate of
            every step (``rates_used``).
        tolerance: Keras 2 vs Keras 3, and resumed vs uninterrupted (absolute).
        relative_tolerance: Keras 3 vs float64, relative to the largest weight.
        fit_steps, fit_moved: the resumed ``fit``'s steps in all, and how far its weights moved.
    """
    yogi, slots, forgot = resumes["Yogi"], resumes["SlotsOutsideBuild"], resumes["ForgottenHyperparameter"]
    broken = {
        "SlotsOutsideBuild": slots.gap > tolerance,
        "VariableAssign": float64_gaps["VariableAssign"] > relative_tolerance,
        "ForgottenHyperparameter": forgot.gap > tolerance,
        "StepFromZero": not_finite["StepFromZero"] > 0,
    }
    yogi_fine = yogi.gap <= tolerance and float64_gaps["Yogi"] <= relative_tolerance and not_finite["Yogi"] == 0
    n_broken = sum(broken.values())
    shortcut_words = (
        "all 4 shortcuts broke the port, none with an error"
        if n_broken == 4
        else f"{n_broken} of the 4 shortcuts broke the port, none with an error"
        if n_broken
        else "none of the 4 shortcuts broke the port in this run"
    )
    first = Claim(
        key="four_shortcuts_break_a_port",
        claim="a port that runs without an error can still be wrong; four one-line shortcuts each break it",
        verdict=verdict_of(n_broken == 4 and yogi_fine, partly=n_broken > 0 and yogi_fine),
        numbers={
            "shortcuts_that_broke": n_broken,
            "slots_outside_build_resume_gap": slots.gap,
            "slots_outside_build_iterations": slots.iterations,
            "variable_assign_float64_gap": float64_gaps["VariableAssign"],
            "forgotten_beta_2_resume_gap": forgot.gap,
            "step_from_zero_not_finite": not_finite["StepFromZero"],
            "yogi_resume_gap": yogi.gap,
            "yogi_float64_gap": float64_gaps["Yogi"],
            "yogi_iterations": yogi.iterations,
        },
        conclusion=(
            "When you port an optimizer to Keras 3, make its slots in build with add_variable_from_reference, "
            "change state only through self.assign/assign_add, take t = iterations + 1, and write every "
            f"constructor argument into get_config: {shortcut_words}. Slots made outside build were skipped on "
            f"load (the optimizer counted {slots.iterations} steps instead of {yogi.iterations}) and the resumed "
            f"weights ended {slots.gap:.3g} off; variable.assign on the Embedding's sparse gradient ended "
            f"{float64_gaps['VariableAssign']:.3g} of the largest weight from float64 (Yogi "
            f"{float64_gaps['Yogi']:.2g}); a beta_2 missing from get_config came back as {forgot.beta_2:g} and "
            f"drifted {forgot.gap:.3g}; t = iterations left {not_finite['StepFromZero']} weights NaN after one step."
        ),
    )
    worst = float(proof["max |Keras 2 - Keras 3|"].max())
    equal, steps = int(proof["steps exactly equal"].sum()), int(proof["steps"].sum())
    same = worst <= tolerance
    bitwise = "bit for bit" if equal == steps else f"bit for bit in {equal} of {steps} steps, within rounding else"
    keras2 = Claim(
        key="keras2_and_keras3_take_the_same_steps",
        claim="the Keras 3 port takes the Keras 2 original's steps, dense and sparse (an Embedding)",
        verdict=verdict_of(same),
        numbers={
            "max_keras2_keras3_difference": worst,
            "steps_exactly_equal": equal,
            "steps": steps,
            "cases": len(proof),
            "least_weights_moved": float(proof["weights moved"].min()),
        },
        conclusion=(
            f"The port is the same optimizer: fed the same batches, Keras2Yogi and Yogi stayed together ({bitwise}) "
            f"over {steps} steps in {len(proof)} case(s), largest difference {worst:.3g} (tolerance {tolerance:g}), "
            f"while the weights moved {float(proof['weights moved'].min()):.3g} or more."
            if same
            else f"The port is NOT the Keras 2 optimizer: the weights parted by up to {worst:.3g} (tolerance "
            f"{tolerance:g}) over {steps} steps."
        ),
    )
    drift = float(proof["max |Keras 3 - float64| / max |w|"].max())
    float64 = Claim(
        key="port_matches_float64_reference",
        claim="the port matches Yogi's formula computed in float64 on the same gradients",
        verdict=verdict_of(drift <= relative_tolerance),
        numbers={"max_relative_float64_gap": drift, "relative_tolerance": relative_tolerance},
        conclusion=(
            "Check a port against the formula as well as against the original, since both could share a bug: "
            + (
                f"in float32 the port stayed within {drift:.2g} of the largest weight from float64 (float32 "
                f"rounding; tolerance {relative_tolerance:g}), while the VariableAssign half-port was "
                f"{float64_gaps['VariableAssign']:.3g} off."
                if drift <= relative_tolerance
                else f"here the port drifted {drift:.3g} from float64, above {relative_tolerance:g}."
            )
        ),
    )
    exact = yogi.gap <= tolerance and not yogi.skipped
    silent_drift = not forgot.warnings and forgot.gap > tolerance
    resume = Claim(
        key="keras_file_resumes_exactly",
        claim="a .keras file of the port loads without custom_objects and resumes as if never stopped",
        verdict=verdict_of(exact),
        numbers={
            "resume_gap": yogi.gap,
            "fit_steps": fit_steps,
            "weights_moved": fit_moved,
            "resumed_iterations": yogi.iterations,
            "forgotten_beta_2_warnings": len(forgot.warnings),
            "forgotten_beta_2_gap": forgot.gap,
        },
        conclusion=(
            (
                f"Register the class and the .keras file is enough: fit, save, load_model, fit ended {yogi.gap:.3g} "
                f"from the run that never stopped ({fit_steps} steps, weights moved {fit_moved:.3g}). "
                if exact
                else f"The port did NOT resume exactly: {yogi.gap:.3g} from the uninterrupted run. "
            )
            + (
                "A clean load proves nothing, though: the half-port missing beta_2 in get_config loaded with no "
                f"warning at all and ended {forgot.gap:.3g} off, so compare a resumed run with an uninterrupted one."
                if silent_drift
                else "The half-port missing beta_2 in get_config did not drift silently here."
            )
        ),
    )
    keras2_rate, schedule_rate, dropped_rate = (
        np.asarray(rates[name], dtype=float)
        for name in ("Keras 2 decay=", "Keras 3 InverseTimeDecay", "Keras 3 decay=")
    )

    def agree(a: float, b: float) -> bool:
        return abs(a - b) <= RATE_MATCH * max(abs(a), abs(b))

    honoured = agree(dropped_rate[-1], keras2_rate[-1])
    schedule_matches = agree(schedule_rate[-1], keras2_rate[-1])
    decay = Claim(
        key="keras3_honours_keras2_decay",
        claim="a Keras 3 optimizer still decays its rate when given Keras 2's decay= argument",
        verdict=verdict_of(honoured),
        numbers={
            "steps": len(keras2_rate),
            "keras2_last_rate": float(keras2_rate[-1]),
            "keras3_decay_last_rate": float(dropped_rate[-1]),
            "inverse_time_decay_last_rate": float(schedule_rate[-1]),
        },
        conclusion=(
            (
                f"Keras 3 drops Keras 2's decay= with only a warning, so replace it with a schedule: SGD(decay=) kept its "
                f"first rate, {dropped_rate[-1]:.3g} at step {len(keras2_rate)}, where Keras 2 had decayed to "
                f"{keras2_rate[-1]:.3g}"
                if not honoured
                else f"Here Keras 3 honoured decay= (rate {dropped_rate[-1]:.3g} vs Keras 2's {keras2_rate[-1]:.3g})"
            )
            + (
                f"; InverseTimeDecay(lr, decay_steps=1, decay_rate=decay) gave Keras 2's rate ({schedule_rate[-1]:.3g})."
                if schedule_matches
                else f"; InverseTimeDecay gave {schedule_rate[-1]:.3g}, not Keras 2's rate."
            )
        ),
    )
    return [first, keras2, float64, resume, decay]
