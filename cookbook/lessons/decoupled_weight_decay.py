"""Evidence for lesson 13 (L2 in the loss vs decoupled weight decay): pixel groups, Adam's state, tables, claims.

The lesson trains Adam, Adam + ``keras.regularizers.L2`` and
``keras.optimizers.AdamW`` on Digits; this module measures what they did:

- ``to_unit_range`` and ``input_groups``: pixels scaled to [0, 1] (a blank
  pixel feeds exactly 0, so its weights get no data gradient) and grouped by
  how often they are inked: never, rare, sometimes, busy.
- ``group_rms``, ``adam_gradient_rms``, ``l2_decay_per_step``: the weights'
  size per group, Adam's ``sqrt(v_hat)`` read back from the optimizer, and
  the share of a weight the L2 term removes per Adam step.
- ``strength_table``, ``rms_table``, ``mechanism_table``,
  ``equivalence_table``: the lesson's tables; ``plot_weight_decay`` its
  figure; ``claims`` its points to remember.

Each piece is tested on tiny inputs in ``tests/test_decoupled_weight_decay.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.datasets import Split
from cookbook.errors import LessonError

import keras
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "GROUPS",
    "adam_gradient_rms",
    "claims",
    "cross_entropy_gap",
    "empty_groups",
    "equivalence_table",
    "group_rms",
    "input_groups",
    "l2_decay_per_step",
    "mechanism_table",
    "plot_weight_decay",
    "rms_table",
    "strength_table",
    "to_unit_range",
]

GROUPS = ("never", "rare", "sometimes", "busy")
CROSS_ENTROPY = "sparse_categorical_crossentropy"  # the metric's name: the data loss without the penalty
UNEVEN = 0.75  # L2 "shrinks rare pixels' weights far more": their kept size below 0.75x the busy ones'
ALIKE = 0.9  # AdamW "shrinks them alike": rare and busy kept sizes within 10% of each other
ROUNDING = 1e-5  # "one rule" under SGD: the float32 gap below 1e-5 of the largest weight


def to_unit_range(split: Split) -> tuple[np.ndarray, np.ndarray]:
    """Training and test features scaled to [0, 1] by each feature's training min and max.

    ``cookbook.loading.split`` standardizes; this undoes it, so that a blank
    Digits pixel (its minimum, 0 ink) feeds exactly 0 to the network. Test
    values below the training minimum are clipped to 0.

    Returns:
        ``(X_train, X_test)``, float32.
    """
    raw_train = split.X_train * split.std + split.mean
    raw_test = split.X_test * split.std + split.mean
    low, high = raw_train.min(axis=0), raw_train.max(axis=0)
    width = np.where(high > low, high - low, 1.0)  # a constant column stays 0, not NaN
    return (
        ((raw_train - low) / width).astype("float32"),
        np.clip((raw_test - low) / width, 0.0, None).astype("float32"),
    )


def input_groups(X: np.ndarray, rare_below: float, busy_from: float) -> dict[str, np.ndarray]:
    """The inputs split by activity, the share of rows in which each is nonzero.

    Args:
        X: the training features, shape (rows, inputs).
        rare_below: an input nonzero in fewer than this share of rows (but some) is "rare".
        busy_from: an input nonzero in at least this share of rows is "busy"; in between is "sometimes".

    Returns:
        ``{"never": mask, "rare": mask, "sometimes": mask, "busy": mask}``:
        boolean masks over the inputs that partition them.

    Raises:
        LessonError: ``0 < rare_below <= busy_from <= 1`` does not hold.
    """
    if not 0 < rare_below <= busy_from <= 1:
        raise LessonError(
            f"rare_below={rare_below!r}, busy_from={busy_from!r}: need 0 < rare_below <= busy_from <= 1 "
            f"(shares of rows), e.g. 0.1 and 0.5"
        )
    activity = (np.asarray(X) != 0).mean(axis=0)
    return {
        "never": activity == 0,
        "rare": (activity > 0) & (activity < rare_below),
        "sometimes": (activity >= rare_below) & (activity < busy_from),
        "busy": activity >= busy_from,
    }


def empty_groups(groups: Mapping[str, np.ndarray], rare_below: float, busy_from: float) -> str | None:
    """Why the lesson cannot compare these groups (rare, sometimes or busy is empty), or ``None``."""
    sizes = {name: int(np.sum(groups[name])) for name in GROUPS[1:]}
    if min(sizes.values()) > 0:
        return None
    return (
        f"{sizes['rare']} rare, {sizes['sometimes']} sometimes and {sizes['busy']} busy features (nonzero in "
        f"< {rare_below:.0%}, in between, >= {busy_from:.0%} of rows): this lesson needs all three; use a table "
        "with sparse features (like blank pixels), scaled so that 'off' is exactly 0"
    )


def group_rms(kernel: Any, groups: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Root-mean-square of the kernel's entries in the rows of each group (NaN for an empty group).

    Args:
        kernel: a first-layer kernel, shape (inputs, units): row i holds the weights leaving input i.
        groups: ``{name: boolean mask over the inputs}``.
    """
    kernel = np.asarray(keras.ops.convert_to_numpy(kernel), dtype=np.float64)
    return {name: float(np.sqrt(np.mean(kernel[mask] ** 2))) if mask.any() else np.nan for name, mask in groups.items()}


def _adam_slot(optimizer: keras.optimizers.Optimizer, weight: keras.Variable, slot: str) -> keras.Variable:
    """The optimizer variable holding ``weight``'s ``slot``, found by its public ``.path``.

    Keras names it ``<optimizer>/<weight path with _>_<slot>``, e.g. ``adam/sequential_dense_kernel_velocity``.
    """
    suffix = "/" + weight.path.replace("/", "_") + "_" + slot
    found = [v for v in optimizer.variables if v.path.endswith(suffix)]
    if len(found) != 1:
        raise LessonError(
            f"no single optimizer variable ending in {suffix!r} among {[v.path for v in optimizer.variables]}: "
            f"pass an Adam-family optimizer that has trained {weight.path!r}"
        )
    return found[0]


def _to_float(value: Any) -> float:
    return float(keras.ops.convert_to_numpy(value))


def adam_gradient_rms(optimizer: keras.optimizers.Optimizer, weight: keras.Variable) -> np.ndarray:
    """Each entry of ``weight``'s recent gradient RMS as Adam sees it: ``sqrt(v_hat) = sqrt(v / (1 - b2^t))``.

    Args:
        optimizer: an Adam (or AdamW) that has taken ``t >= 1`` steps on ``weight``.
        weight: one of the model's trainable variables.

    Raises:
        LessonError: the optimizer has no ``velocity`` for ``weight`` or has not stepped yet.
    """
    velocity = np.asarray(keras.ops.convert_to_numpy(_adam_slot(optimizer, weight, "velocity")), dtype=np.float64)
    t = int(keras.ops.convert_to_numpy(optimizer.iterations))
    if t < 1:
        raise LessonError("the optimizer has taken no step yet: train first (its v is still all zeros)")
    return np.sqrt(velocity / (1 - _to_float(optimizer.beta_2) ** t))


def l2_decay_per_step(optimizer: keras.optimizers.Optimizer, weight: keras.Variable, l2: float) -> np.ndarray:
    """The share of each entry of ``weight`` that an L2 penalty ``l2 * sum(w^2)`` removes per Adam step.

    The penalty adds ``2 * l2 * w`` to the gradient; Adam divides it by
    ``sqrt(v_hat) + eps``, so the step loses ``lr * 2 * l2 / (sqrt(v_hat) +
    eps)`` of ``w``. A value of 1 or more is overshoot: the penalty's step
    alone is larger than ``w`` and throws it past 0 (a weight with no data
    gradient rattles around 0 with steps of about ``lr``). AdamW's share is
    ``lr * weight_decay`` for every weight.
    """
    lr = _to_float(optimizer.learning_rate)
    return lr * 2 * l2 / (adam_gradient_rms(optimizer, weight) + _to_float(optimizer.epsilon))


def strength_table(
    runs: Mapping[str, tuple[float | None, float | None, str]],
    validation: Mapping[str, Mapping[str, float]],
    test: Mapping[str, Mapping[str, float]],
) -> pd.DataFrame:
    """One row per run: its strength and why, validation and test cross-entropy and accuracy, the validated pick.

    Args:
        runs: ``{run: (l2 or None, weight_decay or None, why this strength)}``; a run with ``l2`` is
            Adam + L2, with ``weight_decay`` AdamW, with neither plain Adam.
        validation, test: ``{run: {"accuracy": ..., "sparse_categorical_crossentropy": ...}}`` (the
            metric, not ``loss``: Keras's ``loss`` includes the L2 penalty).

    The column "chosen on validation" marks, within Adam + L2 and within
    AdamW, the run with the lowest validation cross-entropy.
    """
    rows = []
    for name, (l2, weight_decay, why) in runs.items():
        method = "Adam + L2" if l2 else "AdamW" if weight_decay else "Adam"
        rows.append(
            {
                "run": name,
                "method": method,
                "l2": l2 if l2 else np.nan,
                "weight_decay": weight_decay if weight_decay else np.nan,
                "why this strength": why,
                "validation cross-entropy": float(validation[name][CROSS_ENTROPY]),
                "validation accuracy": float(validation[name]["accuracy"]),
                "test cross-entropy": float(test[name][CROSS_ENTROPY]),
                "test accuracy": float(test[name]["accuracy"]),
            }
        )
    table = pd.DataFrame(rows)
    best = table.groupby("method")["validation cross-entropy"].transform("min")
    table["chosen on validation"] = (table["method"] != "Adam") & (table["validation cross-entropy"] == best)
    return table


def cross_entropy_gap(p_a: np.ndarray, p_b: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Mean per-row cross-entropy of model a minus model b on the same rows, and its standard error.

    A paired comparison: each test row's ``-log p_a[y] - (-log p_b[y])``, so
    rows that are hard for both cancel out. A mean within about two standard
    errors of 0 is no difference this test set can see.

    Args:
        p_a, p_b: predicted class probabilities, shape (rows, classes).
        y: integer labels, shape (rows,).
    """
    rows = np.arange(len(y))
    eps = 1e-7  # Keras clips probabilities to [eps, 1 - eps] in its cross-entropy
    ce_a = -np.log(np.clip(np.asarray(p_a, np.float64)[rows, y], eps, 1 - eps))
    ce_b = -np.log(np.clip(np.asarray(p_b, np.float64)[rows, y], eps, 1 - eps))
    difference = ce_a - ce_b
    return float(difference.mean()), float(difference.std(ddof=1) / np.sqrt(len(difference)))


def rms_table(
    kernels: Mapping[str, Any], groups: Mapping[str, np.ndarray], strengths: pd.DataFrame, reference: str = "Adam"
) -> pd.DataFrame:
    """First-layer weight RMS per pixel group and run, and as a multiple of the ``reference`` run's (long format).

    Args:
        kernels: ``{run: first-layer kernel}``, including ``reference``.
        groups: ``input_groups``.
        strengths: ``strength_table`` (for each run's method, l2 and weight_decay).
    """
    base = group_rms(kernels[reference], groups)
    by_run = strengths.set_index("run")
    rows = []
    for name, kernel in kernels.items():
        rms = group_rms(kernel, groups)
        for group in GROUPS:
            rows.append(
                {
                    "run": name,
                    "method": by_run.loc[name, "method"],
                    "l2": by_run.loc[name, "l2"],
                    "weight_decay": by_run.loc[name, "weight_decay"],
                    "pixels": group,
                    "count": int(np.sum(groups[group])),
                    "weight RMS": rms[group],
                    "RMS / Adam's": rms[group] / base[group] if base[group] > 0 else np.nan,
                }
            )
    return pd.DataFrame(rows)


def mechanism_table(
    groups: Mapping[str, np.ndarray], data_rms: np.ndarray, l2_rms: np.ndarray, l2_share: np.ndarray
) -> pd.DataFrame:
    """Per pixel group: Adam's gradient RMS, and the share of w the L2 term removes per step (overshoot counted).

    Args:
        groups: ``input_groups``.
        data_rms: ``adam_gradient_rms`` of the first kernel in the run without penalty (data gradient alone).
        l2_rms, l2_share: ``adam_gradient_rms`` and ``l2_decay_per_step`` in the Adam + L2 run.
    """
    rows = []
    for group in GROUPS:
        mask = groups[group]
        share = l2_share[mask]
        rows.append(
            {
                "pixels": group,
                "count": int(np.sum(mask)),
                "weights": int(share.size),
                "Adam: median sqrt(v_hat)": float(np.median(data_rms[mask])) if share.size else np.nan,
                "Adam + L2: median sqrt(v_hat)": float(np.median(l2_rms[mask])) if share.size else np.nan,
                "Adam + L2: median share of w removed per step": float(np.median(share)) if share.size else np.nan,
                "Adam + L2: weights overshooting (share >= 1)": int(np.sum(share >= 1)),
            }
        )
    return pd.DataFrame(rows)


def equivalence_table(gaps: Mapping[str, np.ndarray], largest_weight: float) -> pd.DataFrame:
    """Per pair of runs: steps, the gap after step 1, the largest gap, and that gap over the largest ``|w|``.

    Args:
        gaps: ``{pair: max |w_a - w_b| after each step}`` (``agreement.max_difference`` per step).
        largest_weight: the largest ``|w|`` in the runs, to read a gap against.
    """
    return pd.DataFrame(
        [
            {
                "pair": pair,
                "steps": len(gap),
                "max gap after step 1": float(gap[0]),
                "max gap, any step": float(np.max(gap)),
                "gap / largest |w|": float(np.max(gap)) / largest_weight,
            }
            for pair, gap in gaps.items()
        ]
    )


def _styled_runs(strengths: pd.DataFrame) -> list[tuple[dict[str, Any], Any, str]]:
    """Each regularized run with a colour and marker: oranges for Adam + L2, greens for AdamW, darker = stronger."""
    from matplotlib import colormaps

    styled = []
    for method, cmap, marker in (("Adam + L2", "Oranges", "o"), ("AdamW", "Greens", "s")):
        runs = strengths[strengths["method"] == method].to_dict("records")
        for i, run in enumerate(runs):
            styled.append((run, colormaps[cmap](0.4 + 0.55 * i / max(len(runs) - 1, 1)), marker))
    return styled


def plot_weight_decay(
    strengths: pd.DataFrame,
    rms: pd.DataFrame,
    groups: Mapping[str, np.ndarray],
    l2_share: np.ndarray,
    l2: float,
    learning_rate: float,
    gaps: Mapping[str, np.ndarray],
) -> Figure:
    """Four panels: validation cross-entropy by strength; weight size per pixel group; shrink per step; SGD check.

    Args:
        strengths: ``strength_table``.
        rms: ``rms_table``.
        groups: ``input_groups``.
        l2_share: ``l2_decay_per_step`` of the first kernel in the Adam + L2(``l2``) run.
        l2: the penalty of the run in ``shares``.
        learning_rate: Adam's and AdamW's (AdamW removes ``learning_rate * weight_decay`` per step).
        gaps: ``{pair: gap per step}`` as in ``equivalence_table``.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(14, 10.5), layout="constrained")
    (choose, size), (shrink, check) = fig.subplots(2, 2)
    styled = _styled_runs(strengths)

    # (a) validation cross-entropy against the strength, both on SGD's scale (2 l2 for L2, weight_decay for AdamW).
    adam = strengths[strengths["method"] == "Adam"]["validation cross-entropy"]
    choose.axhline(float(adam.iloc[0]), color="black", linestyle="--", label="Adam, no decay")
    for method, color, marker, x_of in (("Adam + L2", "C1", "o", "l2"), ("AdamW", "C2", "s", "weight_decay")):
        rows = strengths[strengths["method"] == method].sort_values(x_of)
        x = rows[x_of].to_numpy() * (2 if x_of == "l2" else 1)
        choose.plot(x, rows["validation cross-entropy"], marker=marker, color=color, label=method)
        for xi, row in zip(x, rows.to_dict("records")):
            if row["why this strength"] != "grid":
                choose.annotate(
                    row["why this strength"],
                    (xi, row["validation cross-entropy"]),
                    fontsize="small",
                    xytext=(4, 8),
                    textcoords="offset points",
                    rotation=30,
                )
        chosen = rows[rows["chosen on validation"]]
        choose.plot(
            chosen[x_of] * (2 if x_of == "l2" else 1),
            chosen["validation cross-entropy"],
            "*",
            markersize=16,
            color=color,
            markeredgecolor="black",
            label=f"{method}: chosen (lowest)",
        )
    choose.set(
        xscale="log",
        xlabel="strength on SGD's scale: 2 x l2 for L2(l2), weight_decay for AdamW (log scale)",
        ylabel="validation cross-entropy (no penalty)",
        title="(a) Choosing the strength on the validation split",
    )
    choose.legend(fontsize="small", loc="upper left")

    # (b) weight RMS per pixel group, as a multiple of Adam's (no decay).
    positions = np.arange(len(GROUPS))
    counts = rms.drop_duplicates("pixels").set_index("pixels")["count"]
    ticks = [f"{g}\n({counts[g]} pixels)" for g in GROUPS]
    for run, color, marker in styled:
        ratio = rms[rms["run"] == run["run"]].set_index("pixels").loc[list(GROUPS), "RMS / Adam's"]
        size.plot(positions, ratio, marker=marker, color=color, label=run["run"])
    size.axhline(1.0, color="black", linestyle="--", linewidth=1, label="Adam, no decay")
    size.set_xticks(positions, ticks)
    size.set_ylim(0, 1.1 * max(1.0, float(np.nanmax(rms["RMS / Adam's"]))))
    size.set(ylabel="first-layer weight RMS / Adam's", title="(b) What each run left of the weights, per pixel group")
    size.legend(fontsize="small", ncols=3, loc="upper center", bbox_to_anchor=(0.5, -0.12))

    # (c) the share of w removed per step: L2 per weight (overshoot at the top edge), AdamW lr x wd for all.
    jitter = np.random.default_rng(0)  # spread the dots sideways so they do not hide each other
    overshoot = 0
    for i, group in enumerate(GROUPS):
        share = np.asarray(l2_share[groups[group]]).ravel()
        x = i + jitter.uniform(-0.3, 0.3, share.size)
        below = share < 1
        overshoot += int(np.sum(~below))
        shrink.plot(x[below], share[below], ".", markersize=3, alpha=0.4, color="C1")
        shrink.plot(x[~below], np.ones(int(np.sum(~below))), "^", markersize=5, color="C3", clip_on=False)
        if below.any() and np.median(share) < 1:
            shrink.plot([i - 0.35, i + 0.35], [np.median(share)] * 2, color="black", linewidth=2)
    shrink.plot([], [], ".", color="C1", label=f"Adam + L2({l2:g}): one dot per weight")
    shrink.plot([], [], color="black", linewidth=2, label="its median per group (where below 1)")
    shrink.plot(
        [], [], "^", color="C3", label=f"share >= 1: overshoot, w pushed past 0 ({overshoot} weights, at the top)"
    )
    for run, color, _ in styled:
        if run["method"] == "AdamW":
            shrink.axhline(
                learning_rate * run["weight_decay"],
                color=color,
                linewidth=2,
                label=f"{run['run']}: lr x weight_decay = {learning_rate * run['weight_decay']:.2g}",
            )
    shrink.set_xticks(positions, ticks)
    shrink.set_yscale("log")
    shrink.set_ylim(top=1)
    shrink.set(
        ylabel="share of w removed per step (log scale, at most 1)",
        title="(c) At the end: L2's pull, lr 2 l2 / (sqrt(v_hat) + eps), vs AdamW's lr x wd",
    )
    shrink.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=2)

    # (d) the SGD check: the gap between two runs after every step; an exact 0 is marked on the bottom edge.
    for i, (pair, gap) in enumerate(gaps.items()):
        gap = np.asarray(gap, dtype=float)
        steps = np.arange(1, gap.size + 1)
        positive = gap > 0
        check.plot(steps[positive], gap[positive], color=f"C{i}", label=pair)
        if not positive.all():
            check.plot(
                steps[~positive],
                np.zeros(int(np.sum(~positive))),
                "v",
                color=f"C{i}",
                clip_on=False,
                transform=check.get_xaxis_transform(),
                label=f"{pair}: gap exactly 0 (bottom edge)",
            )
    check.set(
        yscale="log",
        xlabel="optimizer step",
        ylabel="max |w_L2 - w_decay| over all weights (log scale)",
        title="(d) L2 in the loss vs decoupled decay: same start, same batches",
    )
    check.xaxis.set_major_locator(MaxNLocator(integer=True))
    check.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return fig


def _row(table: pd.DataFrame, column: str, value: float) -> pd.Series:
    return table[np.isclose(table[column].astype(float), value)].iloc[0]


def claims(
    strengths: pd.DataFrame,
    rms: pd.DataFrame,
    mechanism: pd.DataFrame,
    equivalence: pd.DataFrame,
    *,
    l2: float,
    learning_rate: float,
    steps: int,
    default_weight_decay: float,
    test_rows: int,
    gap: tuple[float, float],
) -> list[Claim]:
    """The lesson's points to remember.

    Args:
        strengths, rms, mechanism: ``strength_table``, ``rms_table``, ``mechanism_table`` (its Adam + L2 run at ``l2``).
        equivalence: ``equivalence_table`` with its rows in this order: SGD + L2(l2) vs SGD(weight_decay=2 l2),
            the same vs weight_decay=l2 (factor 2 forgotten), Adam + L2(l2) vs AdamW(weight_decay=2 l2).
        l2: the penalty of the mechanism run; learning_rate: Adam's and AdamW's; steps: optimizer steps per run.
        default_weight_decay: Keras's default ``AdamW(weight_decay=...)``, among the AdamW runs.
        test_rows: test images, to say an accuracy gap in images.
        gap: ``cross_entropy_gap`` of the validated AdamW run minus the validated Adam + L2 run on the test rows.
    """
    kept = rms.pivot_table(index="run", columns="pixels", values="RMS / Adam's")
    l2_run = _row(strengths[strengths["method"] == "Adam + L2"], "l2", l2)["run"]
    adamw = strengths[strengths["method"] == "AdamW"]
    strongest = adamw.loc[adamw["weight_decay"].idxmax()]
    mech = mechanism.set_index("pixels")

    # 1. Where each shrinks.
    l2_rare, l2_busy = kept.loc[l2_run, "rare"], kept.loc[l2_run, "busy"]
    w_rare, w_busy = kept.loc[strongest["run"], "rare"], kept.loc[strongest["run"], "busy"]
    uneven = l2_rare < UNEVEN * l2_busy
    alike = min(w_rare, w_busy) >= ALIKE * max(w_rare, w_busy)
    share_rare = mech.loc["rare", "Adam + L2: median share of w removed per step"]
    share_busy = mech.loc["busy", "Adam + L2: median share of w removed per step"]
    overshooting = int(mech["Adam + L2: weights overshooting (share >= 1)"].sum())
    where = (
        f"Adam + L2({l2:g}) kept {l2_rare:.2f}x of Adam's weight size on rarely inked pixels but {l2_busy:.2f}x on "
        f"busy ones; {strongest['run']} kept {w_rare:.2f}x and {w_busy:.2f}x. Adam divides the penalty's pull by "
        f"each weight's gradient RMS: its median share of w per step was {share_rare:.2g} (rare) vs "
        f"{share_busy:.2g} (busy), and on {overshooting} weights it was 1 or more (overshoot: w thrown past 0)"
    )
    first = Claim(
        key="l2_under_adam_shrinks_idle_weights_most",
        claim="under Adam, an L2 penalty shrinks rarely active inputs' weights far more than busy ones; "
        "AdamW shrinks them alike",
        verdict=verdict_of(uneven and alike, partly=uneven or alike),
        numbers={
            "l2": l2,
            "l2_kept_rare": l2_rare,
            "l2_kept_busy": l2_busy,
            "adamw_weight_decay": float(strongest["weight_decay"]),
            "adamw_kept_rare": w_rare,
            "adamw_kept_busy": w_busy,
            "l2_share_per_step_rare": share_rare,
            "l2_share_per_step_busy": share_busy,
            "overshooting_weights": overshooting,
        },
        conclusion=(
            "With Adam, choose where the decay goes: keras.optimizers.AdamW(weight_decay=...) with "
            "optimizer.exclude_from_weight_decay(var_names=['bias']) shrinks every weight by the same share, "
            "kernel_regularizer=L2 shrinks the weights of rarely active inputs hardest; pick the strength on a "
            f"validation split either way. {where}."
            if uneven and alike
            else f"This run did not show the whole contrast (L2 uneven: {uneven}, AdamW alike: {alike}); the rule "
            f"still holds that under Adam an L2 penalty's pull is divided by the gradient RMS. {where}."
        ),
    )

    # 2. AdamW's strength is lr x weight_decay per step.
    default = _row(adamw, "weight_decay", default_weight_decay)
    predicted = (1 - learning_rate * default_weight_decay) ** steps
    measured = kept.loc[default["run"], "never"] if "never" in kept.columns else np.nan
    strongest_predicted = (1 - learning_rate * strongest["weight_decay"]) ** steps
    strongest_measured = kept.loc[strongest["run"], "never"] if "never" in kept.columns else np.nan
    exact = bool(
        np.isclose(measured, predicted, rtol=1e-4) and np.isclose(strongest_measured, strongest_predicted, rtol=1e-4)
    )
    per_step = f"{learning_rate:g} x {default_weight_decay:g} = {learning_rate * default_weight_decay:.2g}"
    second = Claim(
        key="adamw_removes_lr_times_weight_decay_per_step",
        claim="AdamW removes the share lr * weight_decay of every weight per step",
        verdict=Verdict.NOT_MEASURED if np.isnan(measured) else verdict_of(exact),
        numbers={
            "learning_rate": learning_rate,
            "steps": steps,
            "default_weight_decay": default_weight_decay,
            "default_kept_predicted": predicted,
            "default_kept_never_inked": measured,
            "strongest_weight_decay": float(strongest["weight_decay"]),
            "strongest_kept_predicted": strongest_predicted,
            "strongest_kept_never_inked": strongest_measured,
        },
        conclusion=(
            f"weight_decay is multiplied by the learning rate: Keras's default {default_weight_decay:g} at lr "
            f"{learning_rate:g} removes {per_step} of a weight per step, {1 - predicted:.2%} over this run's "
            f"{steps} steps, too little to matter here; retune it when lr or the run length changes. Measured on "
            f"never-inked pixels (no gradient, pure decay): {measured:.5f} kept against (1 - lr x wd)^steps = "
            f"{predicted:.5f}, and {strongest_measured:.4f} vs {strongest_predicted:.4f} at weight_decay "
            f"{strongest['weight_decay']:g}."
            if exact
            else f"Never-inked pixels' weights did not follow (1 - lr x wd)^steps (kept {measured:.5f} vs "
            f"{predicted:.5f} at weight_decay {default_weight_decay:g}): check that no gradient reaches them."
        ),
    )

    # 3. Which did better, each at its validated strength; and at SGD's matching strength.
    chosen = strengths[strengths["chosen on validation"]].set_index("method")
    base = strengths[strengths["method"] == "Adam"].iloc[0]
    ce_l2, ce_w = chosen.loc["Adam + L2", "test cross-entropy"], chosen.loc["AdamW", "test cross-entropy"]
    acc_l2, acc_w = chosen.loc["Adam + L2", "test accuracy"], chosen.loc["AdamW", "test accuracy"]
    images = round((acc_w - acc_l2) * test_rows)
    mean_gap, standard_error = gap
    adamw_better, l2_better = mean_gap < -2 * standard_error, mean_gap > 2 * standard_error
    at_l2 = _row(strengths[strengths["method"] == "Adam + L2"], "l2", l2)
    at_match = _row(adamw, "weight_decay", 2 * l2)
    weakest = (
        chosen.loc["Adam + L2", "l2"] == strengths["l2"].min()
        and chosen.loc["AdamW", "weight_decay"] == adamw["weight_decay"].min()
    )
    helped = min(ce_l2, ce_w) < base["test cross-entropy"]
    picks = (
        f"validation chose L2({chosen.loc['Adam + L2', 'l2']:g}) and weight_decay "
        f"{chosen.loc['AdamW', 'weight_decay']:g}" + (", the weakest of each grid" if weakest else "")
    )
    scores = (
        f"Test cross-entropy {ce_w:.4f} (AdamW) vs {ce_l2:.4f} (Adam + L2), a paired difference of "
        f"{mean_gap:+.4f} +- {standard_error:.4f} per image; accuracy {acc_w:.4f} vs {acc_l2:.4f} ({abs(images)} of "
        f"{test_rows} images {'more' if images >= 0 else 'fewer'} right with AdamW); plain Adam "
        f"{base['test cross-entropy']:.4f} and {base['test accuracy']:.4f}"
    )
    matched = (
        f"At SGD's matching strength, L2({l2:g}) against weight_decay {2 * l2:g}, test cross-entropy was "
        f"{at_l2['test cross-entropy']:.4f} vs {at_match['test cross-entropy']:.4f}: the same nominal strength "
        "is a different regularizer under Adam"
    )
    if adamw_better or l2_better:
        verdict_words = f"{'AdamW' if adamw_better else 'Adam + L2'} did better here, beyond two standard errors"
    else:
        verdict_words = "Neither did better here: the difference is within two standard errors of the paired test"
    third = Claim(
        key="adamw_beats_adam_l2",
        claim="AdamW generalizes better than Adam with an L2 penalty, each at a strength chosen on validation",
        verdict=verdict_of(adamw_better),  # a tie within the noise does not support "better" either
        numbers={
            "chosen_l2": float(chosen.loc["Adam + L2", "l2"]),
            "chosen_weight_decay": float(chosen.loc["AdamW", "weight_decay"]),
            "test_cross_entropy_l2": ce_l2,
            "test_cross_entropy_adamw": ce_w,
            "paired_difference": mean_gap,
            "paired_standard_error": standard_error,
            "test_accuracy_l2": acc_l2,
            "test_accuracy_adamw": acc_w,
            "test_cross_entropy_adam": float(base["test cross-entropy"]),
            "test_accuracy_adam": float(base["test accuracy"]),
            "test_cross_entropy_l2_at_l2": float(at_l2["test cross-entropy"]),
            "test_cross_entropy_adamw_at_2_l2": float(at_match["test cross-entropy"]),
        },
        conclusion=(
            f"{verdict_words}; {picks}"
            + ("" if helped else ", and neither beat plain Adam: decay did not pay on this data and run length")
            + f". {scores}. {matched}."
        ),
    )

    # 4. Under SGD the two rules coincide (with the factor 2).
    gap = equivalence["gap / largest |w|"].to_numpy()
    raw = equivalence["max gap, any step"].to_numpy()
    one_rule = gap[0] < ROUNDING and raw[1] > 100 * raw[0] and raw[2] > 100 * raw[0]
    fourth = Claim(
        key="l2_is_weight_decay_under_sgd",
        claim="with SGD, L2(l2) in the loss and weight_decay = 2 * l2 are one rule; with Adam they are not",
        verdict=verdict_of(one_rule),
        numbers={
            "steps": int(equivalence["steps"].iloc[0]),
            "sgd_gap": raw[0],
            "sgd_gap_relative": gap[0],
            "sgd_factor_2_forgotten_gap": raw[1],
            "adam_gap": raw[2],
        },
        conclusion=(
            f"Moving an L2 penalty into SGD(weight_decay=...) keeps the training only with the factor 2 "
            f"(Keras's L2(l2) adds l2 * w^2, gradient 2 l2 w): L2({l2:g}) and weight_decay {2 * l2:g} stayed "
            f"within {raw[0]:.2g} of each other over {int(equivalence['steps'].iloc[0])} steps (float32 rounding, "
            f"{gap[0]:.1g} of the largest weight), weight_decay {l2:g} drifted to {raw[1]:.2g}, and the same pair "
            f"under Adam to {raw[2]:.2g}: no weight_decay reproduces L2 under Adam."
            if one_rule
            else f"The SGD pair did not stay within rounding (gap {raw[0]:.2g}, {gap[0]:.2g} of the largest "
            f"weight; factor 2 forgotten {raw[1]:.2g}, Adam {raw[2]:.2g}): check the two runs share start and batches."
        ),
    )
    return [first, second, third, fourth]
