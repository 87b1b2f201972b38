"""Evidence for lesson 15 (writing a Keras 3 optimizer and checking it against the built-in).

The lesson writes an optimizer, steps it next to Keras's own and a float64
NumPy reference, fits with it and hands the built-ins impossible settings;
this module supplies the problem they step on (a noisy quadratic bowl),
turns the weights that come back into tables, draws the figure and words
the claims. Everything is NumPy and pandas on what the lesson passes in, so
each piece is tested on tiny inputs in ``tests/test_custom_optimizers_vs_builtin.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.figures import log_line

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "FLOAT32_EPSILON",
    "REFERENCE_TOLERANCE",
    "TWIN_TOLERANCE",
    "NoisyBowl",
    "call_text",
    "claims",
    "fit_row",
    "impossible_row",
    "plot_agreement",
    "relative_difference",
    "summarize",
    "walk_row",
]

FLOAT32_EPSILON = float(np.finfo(np.float32).eps)
TWIN_TOLERANCE = 1e-6  # |cookbook - built-in| on float32 weights: "the same steps"
REFERENCE_TOLERANCE = 1e-5  # |float32 - float64| / max |w|: "the same rule, up to float32 rounding"


@dataclasses.dataclass(frozen=True)
class NoisyBowl:
    """``loss(w) = sum(c * (w - w_star)**2) / 2`` with a fixed noise added to each step's gradient.

    Every trajectory computes its own gradient from its own weights, so two
    optimizers that differ at one step see different gradients after it and
    the difference can grow, as in training. All arrays are float32-exact.
    """

    start: np.ndarray
    optimum: np.ndarray
    curvature: np.ndarray
    noise: np.ndarray  # one array of the weights' shape per step

    @classmethod
    def make(
        cls,
        shape: tuple[int, ...],
        steps: int,
        seed: int,
        curvature: tuple[float, float] = (0.5, 2.0),
        noise: float = 0.1,
    ) -> NoisyBowl:
        """A random bowl for ``steps`` steps: start and optimum N(0, 1), curvature uniform in ``curvature``."""
        rng = np.random.default_rng(seed)
        as32 = lambda a: np.asarray(a, np.float32)  # noqa: E731
        return cls(
            start=as32(rng.normal(size=shape)),
            optimum=as32(rng.normal(size=shape)),
            curvature=as32(rng.uniform(*curvature, size=shape)),
            noise=as32(noise * rng.normal(size=(steps, *shape))),
        )

    def gradient(self, w: np.ndarray, step: int) -> np.ndarray:
        """The noisy gradient at ``w`` for step ``step`` (0-based), in ``w``'s dtype (float32 or float64)."""
        w = np.asarray(w)
        dtype = w.dtype
        return self.curvature.astype(dtype) * (w - self.optimum.astype(dtype)) + self.noise[step].astype(dtype)

    def loss(self, w: np.ndarray) -> float:
        """The noise-free loss at ``w``, in float64."""
        return float(0.5 * np.sum(self.curvature * (np.asarray(w, np.float64) - self.optimum) ** 2))


def relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """``max |a - b| / max |b|`` in float64: a difference in units of the weights' size (NaN stays NaN)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def call_text(name: str, config: Mapping[str, Any]) -> str:
    """``SGD(learning_rate=0.05, momentum=0.9)``: one setting of the grid as the call both classes get."""
    return f"{name}({', '.join(f'{key}={value}' for key, value in config.items())})"


def walk_row(
    step: int, epsilon: float, start: np.ndarray, ours: np.ndarray, builtin: np.ndarray, paper: np.ndarray
) -> dict[str, float]:
    """One step of the walk-through: the lesson's Adam against Keras's and against the paper's rule in float64.

    Args:
        step: the step number, 1-based.
        epsilon: the ``epsilon`` all three got.
        start: the weights before step 1.
        ours, builtin: the float32 weights of the lesson's Adam and of ``keras.optimizers.Adam``.
        paper: the float64 weights of Algorithm 1 (``cookbook.reference.adam_textbook``).
    """
    return {
        "epsilon": epsilon,
        "step": step,
        "ours vs keras": relative_difference(ours, builtin),
        "ours vs float64 paper": relative_difference(ours, paper),
        "moved (ours)": float(np.max(np.abs(np.asarray(ours, np.float64) - start))),
        "moved (keras)": float(np.max(np.abs(np.asarray(builtin, np.float64) - start))),
    }


def _worst(values: pd.Series) -> float:
    """The largest value, NaN if any is NaN (pandas' ``max`` would skip it and hide a NaN step)."""
    return float(values.max(skipna=False))


def summarize(per_step: pd.DataFrame) -> pd.DataFrame:
    """One row per setting of ``compare_optimizers`` runs stacked with a ``setting`` column.

    Columns: ``steps``, ``exact steps`` (cookbook = keras bit for bit),
    ``max |cookbook - keras|``, ``max rel. error cookbook`` and ``max rel.
    error keras`` (against float64 NumPy), ``weights moved`` (at the end).
    """
    grouped = per_step.groupby("setting", sort=False)
    return pd.DataFrame(
        {
            "steps": grouped["step"].max(),
            "exact steps": grouped["custom_vs_builtin"].agg(lambda d: int((d == 0).sum())),
            "max |cookbook - keras|": grouped["custom_vs_builtin"].agg(_worst),
            "max rel. error cookbook": grouped["custom_vs_reference"].agg(_worst),
            "max rel. error keras": grouped["builtin_vs_reference"].agg(_worst),
            "weights moved": grouped["custom_moved"].last(),
        }
    ).reset_index()


def fit_row(
    name: str,
    history: Mapping[str, Sequence[float]],
    test: Mapping[str, float],
    weights: Sequence[np.ndarray],
    builtin_weights: Sequence[np.ndarray],
) -> dict[str, Any]:
    """One run of ``model.fit``: final train loss, test cross-entropy and accuracy, distance from the built-in's weights."""
    return {
        "optimizer": name,
        "final train loss": float(history["loss"][-1]),
        "test cross-entropy": float(test["loss"]),
        "test accuracy": float(test["accuracy"]),
        "max |weight - keras Adam's|": float(
            max(np.max(np.abs(np.asarray(a, np.float64) - b)) for a, b in zip(weights, builtin_weights))
        ),
    }


def impossible_row(
    setting: str, start: np.ndarray, after: np.ndarray, unguarded: np.ndarray | None, refusal: str | None
) -> dict[str, Any]:
    """What the built-in did with an impossible setting, from the weights it left, and what the twin said.

    Args:
        setting: the call, ``Adam(beta_1=1.0)``.
        start, after: the weights before and after the built-in's steps.
        unguarded: the weights the same optimizer reached without the setting
            that should have acted (``clipnorm``), or ``None``.
        refusal: the ``ValueError`` message of the cookbook twin, ``None`` if it accepted.
    """
    after = np.asarray(after, np.float64)
    moved = float(np.max(np.abs(after - start)))
    if not np.all(np.isfinite(after)):
        happened = "weights became NaN"
    elif unguarded is not None and np.array_equal(after, unguarded):
        happened = "no effect: the same weights as without it"
    else:
        happened = f"trained, weights moved {moved:.3g}"
    return {
        "setting": setting,
        "built-in accepted": True,
        "what the built-in did": happened,
        "weights moved": moved,
        "cookbook twin refused": refusal is not None,
        "cookbook twin says": refusal or "(accepted)",
    }


def plot_agreement(table: pd.DataFrame, walk: pd.DataFrame) -> Figure:
    """Left: each grid setting's largest relative error against float64. Right: the lesson's Adam against Keras's, per step.

    Args:
        table: ``summarize``'s table, one row per setting.
        walk: ``walk_row`` rows of the walk-through, for two or more epsilons.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(12.5, 0.32 * len(table) + 3.6), layout="constrained")
    grid_ax, walk_ax = fig.subplots(1, 2, width_ratios=(1.15, 1))
    y = np.arange(len(table))[::-1]
    for column, style in (
        ("max rel. error cookbook", {"marker": "o", "color": "C0", "label": "cookbook twin"}),
        (
            "max rel. error keras",
            {"marker": "o", "markerfacecolor": "none", "markersize": 11, "color": "C1", "label": "keras built-in"},
        ),
    ):
        values = table[column].to_numpy(float)
        grid_ax.plot(np.where(values > 0, values, np.nan), y, linestyle="none", **style)
    grid_ax.axvline(FLOAT32_EPSILON, color="grey", linestyle=":", label="float32 epsilon")
    grid_ax.axvline(REFERENCE_TOLERANCE, color="grey", linestyle="--", label=f"tolerance {REFERENCE_TOLERANCE:g}")
    exact, total = int(table["exact steps"].sum()), int(table["steps"].sum())
    grid_ax.set(
        xscale="log",
        yticks=y,
        yticklabels=table["setting"],
        xlabel="largest |float32 - float64 NumPy| / max |w| over the steps",
        title=f"Each setting against float64 NumPy\n(cookbook = keras bit for bit at {exact} of {total} steps)",
    )
    grid_ax.tick_params(axis="y", labelsize=8)
    grid_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8)

    for i, (epsilon, part) in enumerate(walk.groupby("epsilon", sort=True)):
        color = f"C{i + 2}"
        log_line(
            walk_ax, part["step"], part["ours vs keras"], zero_label=f"epsilon={epsilon:g}: exactly 0 (bottom edge)",
            color=color, linewidth=2, label=f"epsilon={epsilon:g}: ours vs keras.optimizers.Adam",
        )  # fmt: skip
        log_line(
            walk_ax, part["step"], part["ours vs float64 paper"],
            color=color, linestyle=":", label=f"epsilon={epsilon:g}: ours vs the paper in float64",
        )  # fmt: skip
    walk_ax.axhline(REFERENCE_TOLERANCE, color="grey", linestyle="--", label=f"tolerance {REFERENCE_TOLERANCE:g}")
    walk_ax.set(
        yscale="log",
        xlabel="step (apply_gradients calls)",
        ylabel="max |weight difference| / max |w| (relative)",
        title="Adam written from the paper vs Keras's Adam",
    )
    walk_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    walk_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2, fontsize=8)
    return fig


def claims(
    table: pd.DataFrame,
    walk: pd.DataFrame,
    fits: pd.DataFrame,
    impossible: pd.DataFrame,
    *,
    twin: str,
    ours: str,
    builtin: str,
    fit_loss_gap: float,
) -> list[Claim]:
    """The lesson's points to remember, from its four measurements.

    Args:
        table: ``summarize``'s grid table.
        walk: ``walk_row`` rows for two epsilons: the smaller is Keras's default, the larger one Keras's
            docstring suggests for some networks.
        fits: ``fit_row`` rows, indexed by ``optimizer`` name: ``twin`` (the cookbook's Adam), ``ours``
            (the lesson's) and ``builtin`` (Keras's).
        impossible: ``impossible_row`` rows.
        fit_loss_gap: the relative gap in final train loss within which the lesson's Adam "trained like" Keras's.
    """
    return [
        _twins_claim(table),
        _epsilon_claim(walk),
        _fit_claim(fits.set_index("optimizer"), twin=twin, ours=ours, builtin=builtin, gap=fit_loss_gap),
        _impossible_claim(impossible),
    ]


def _twins_claim(table: pd.DataFrame) -> Claim:
    twin_worst = _worst(table["max |cookbook - keras|"])
    ours_worst = _worst(table["max rel. error cookbook"])
    keras_worst = _worst(table["max rel. error keras"])
    moved = float(table["weights moved"].min())
    exact, total = int(table["exact steps"].sum()), int(table["steps"].sum())
    equal = twin_worst <= TWIN_TOLERANCE
    close = ours_worst <= REFERENCE_TOLERANCE and keras_worst <= REFERENCE_TOLERANCE
    worst = table.loc[table["max |cookbook - keras|"].fillna(np.inf).idxmax(), "setting"]
    if equal and close:
        words = (
            "Before you train with an optimizer you wrote, step it next to the built-in with apply_gradients "
            "(cookbook.compare_optimizers does it) and next to the rule in float64 NumPy: the cookbook's twins "
            f"took keras.optimizers' steps bit for bit at {exact} of {total} steps over {len(table)} settings "
            f"(largest difference {twin_worst:.2g}), and both stayed within {ours_worst / FLOAT32_EPSILON:.0f}x "
            f"float32's epsilon of float64 ({max(ours_worst, keras_worst):.2g} of the weights' size), while the "
            f"weights moved at least {moved:.2g}."
        )
    else:
        words = (
            "Before you train with an optimizer you wrote, step it next to the built-in and next to float64 NumPy: "
            f"here they parted, by up to {twin_worst:.3g} from keras.optimizers ({worst}) and "
            f"{ours_worst:.3g} of the weights' size from float64; find the first step where they differ."
        )
    return Claim(
        key="twins_take_the_builtins_steps",
        claim="each cookbook optimizer takes the same steps as its keras.optimizers twin and as the rule in float64",
        verdict=verdict_of(equal and close, partly=equal or close),
        numbers={
            "settings": len(table),
            "steps_compared": total,
            "steps_bit_for_bit": exact,
            "max_cookbook_vs_keras": twin_worst,
            "max_relative_error_cookbook": ours_worst,
            "max_relative_error_keras": keras_worst,
            "min_weights_moved": moved,
        },
        conclusion=words,
    )


def _epsilon_claim(walk: pd.DataFrame) -> Claim:
    last = walk.sort_values("step").groupby("epsilon").last()
    worst = walk.groupby("epsilon").agg(_worst)
    small, large = float(last.index.min()), float(last.index.max())
    steps = int(last.loc[small, "step"])
    d_small, d_large = float(worst.loc[small, "ours vs keras"]), float(worst.loc[large, "ours vs keras"])
    ours_vs_paper = _worst(walk["ours vs float64 paper"])
    ratio = float(last.loc[large, "moved (keras)"] / last.loc[large, "moved (ours)"])
    agree_small, agree_large = d_small <= REFERENCE_TOLERANCE, d_large <= REFERENCE_TOLERANCE
    if not ours_vs_paper <= REFERENCE_TOLERANCE:
        verdict = Verdict.NOT_MEASURED
        words = (
            f"The lesson's Adam did not follow the paper's rule in float64 (relative error {ours_vs_paper:.3g}), "
            "so this run cannot say how Keras's Adam differs from the paper; fix the class first."
        )
    elif agree_small and not agree_large:
        verdict = Verdict.PARTLY
        words = (
            "Keras's Adam epsilon is not the epsilon of the paper's Algorithm 1 (nor PyTorch's): Keras adds it to "
            "the uncorrected sqrt(v), which acts as epsilon / sqrt(1 - beta_2^t) in the paper's formula. At the "
            f"default {small:g} it hardly matters (Adam written from the paper stayed within {d_small:.2g} of the "
            f"weights' size over {steps} steps); at epsilon={large:g}, the size Keras's docstring suggests for "
            f"Inception on ImageNet, the two parted by {d_large:.2g}, Keras's weights moving {ratio:.2f}x as far "
            "as the paper's. Carry a large epsilon between frameworks only after converting it."
        )
    else:
        verdict = verdict_of(agree_small and agree_large)
        words = (
            f"Adam written from the paper and Keras's Adam parted by {d_small:.2g} of the weights' size at "
            f"epsilon={small:g} and by {d_large:.2g} at epsilon={large:g} over {steps} steps"
            + (
                ": the two epsilon conventions made no difference on this problem."
                if verdict is Verdict.HOLDS
                else f", more than the {REFERENCE_TOLERANCE:g} float32 rounding explains even at Keras's default."
            )
        )
    return Claim(
        key="adam_from_the_paper_is_keras_adam",
        claim="Adam written from the paper's Algorithm 1 takes Keras's Adam's steps, whatever epsilon",
        verdict=verdict,
        numbers={
            "epsilon_default": small,
            "epsilon_large": large,
            "steps": steps,
            "ours_vs_keras_default_epsilon": d_small,
            "ours_vs_keras_large_epsilon": d_large,
            "ours_vs_float64_paper": ours_vs_paper,
            "keras_over_paper_distance_large_epsilon": ratio,
        },
        conclusion=words,
    )


def _fit_claim(fits: pd.DataFrame, *, twin: str, ours: str, builtin: str, gap: float) -> Claim:
    distance = "max |weight - keras Adam's|"
    twin_diff, ours_diff = float(fits.loc[twin, distance]), float(fits.loc[ours, distance])
    loss = fits["final train loss"]
    loss_gap = abs(float(loss[ours]) - float(loss[builtin])) / float(loss[builtin])
    equal, alike = twin_diff <= TWIN_TOLERANCE, loss_gap <= gap
    words = (
        "An optimizer you write goes where a built-in goes, model.compile(optimizer=...): "
        + (
            f"fit with the cookbook's Adam ended on keras.optimizers.Adam's weights (largest difference {twin_diff:.2g})"
            if equal
            else f"fit with the cookbook's Adam ended {twin_diff:.3g} away from keras.optimizers.Adam's weights"
        )
        + f", and the lesson's own Adam {'trained like it' if alike else 'trained differently'} "
        f"(final train loss {loss[ours]:.4g} vs {loss[builtin]:.4g}, test cross-entropy "
        f"{fits.loc[ours, 'test cross-entropy']:.4g} vs {fits.loc[builtin, 'test cross-entropy']:.4g}, "
        f"test accuracy {fits.loc[ours, 'test accuracy']:.3f} vs {fits.loc[builtin, 'test accuracy']:.3f})."
    )
    return Claim(
        key="your_optimizer_drops_into_fit",
        claim="an optimizer class you write trains a model through compile and fit like the built-in",
        verdict=verdict_of(equal and alike, partly=equal or alike),
        numbers={
            "max_weight_difference_twin": twin_diff,
            "max_weight_difference_ours": ours_diff,
            "final_train_loss_keras": float(loss[builtin]),
            "final_train_loss_twin": float(loss[twin]),
            "final_train_loss_ours": float(loss[ours]),
            "relative_loss_gap_ours": loss_gap,
            "test_cross_entropy_keras": float(fits.loc[builtin, "test cross-entropy"]),
            "test_cross_entropy_ours": float(fits.loc[ours, "test cross-entropy"]),
            "test_accuracy_keras": float(fits.loc[builtin, "test accuracy"]),
            "test_accuracy_ours": float(fits.loc[ours, "test accuracy"]),
        },
        conclusion=words,
    )


def _impossible_claim(impossible: pd.DataFrame) -> Claim:
    n = len(impossible)
    accepted = int(impossible["built-in accepted"].sum())
    refused = int(impossible["cookbook twin refused"].sum())
    happened = impossible["what the built-in did"]
    nan = int((happened == "weights became NaN").sum())
    no_effect = int(happened.str.startswith("no effect").sum())
    words = "Check hyperparameters in your optimizer's __init__ and raise a ValueError that names the legal range: " + (
        f"Keras's built-ins accepted {accepted} of {n} impossible settings without a word ({nan} turned the "
        f"weights to NaN, {no_effect} silently did nothing, {accepted - nan - no_effect} trained anyway), "
        f"and the cookbook's twins refused {refused} of {n}."
        if accepted
        else f"Keras's built-ins refused all {n} impossible settings here, and the cookbook's twins {refused} of {n}."
    )
    return Claim(
        key="builtins_accept_impossible_settings",
        claim="keras.optimizers accept settings no optimizer can use (beta_1=1, rho=1, a negative rate, clipnorm=0)",
        verdict=verdict_of(accepted == n and n > 0, partly=accepted > 0),
        numbers={
            "settings": n,
            "accepted_by_keras": accepted,
            "turned_nan": nan,
            "no_effect": no_effect,
            "refused_by_cookbook": refused,
        },
        conclusion=words,
    )
