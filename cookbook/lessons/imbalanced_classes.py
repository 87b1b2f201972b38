"""Evidence for lesson 06 (imbalanced binary classes): the split, the operating points, the figure, the claims.

The lesson trains the models (plain binary cross-entropy, ``class_weight``,
focal losses) and chooses thresholds; this module measures what it got
back: precision, recall, F1 and PR-AUC of each run on the test rows, the
threshold with the best F1 on the validation rows, paired bootstrap
intervals for the differences between runs, and the points to remember.
Everything is NumPy and pandas on the labels and scores the lesson passes
in, so each piece is tested on tiny inputs in
``tests/test_imbalanced_classes.py`` (against Keras's own metrics and
against sums written out by hand).

A row is called class 1 when its score is *above* the threshold
(``p > t``), the rule of ``keras.metrics.Precision(thresholds=t)`` and
``Recall``; a precision with nothing called class 1 is 0, as in Keras.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.datasets import split_indices
from cookbook.errors import CookbookError
from cookbook.settings import stop

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "ALWAYS_0",
    "COMPARISONS",
    "DEFAULT",
    "MIN_ROWS_PER_CLASS",
    "MISS_RATIO",
    "RESAMPLES",
    "TUNED",
    "average_precision",
    "best_f1_threshold",
    "claims",
    "class_counts",
    "comparison_table",
    "differences_table",
    "hides_table",
    "one_vs_rest",
    "operating_point",
    "plot_remedies",
    "pr_curve",
    "validation_rows",
]

DEFAULT, TUNED = "0.5 (default)", "best F1 on validation"  # where a run's threshold came from
DEFAULT_THRESHOLD = 0.5
ALWAYS_0 = "always class 0"  # the baseline that never names the rare class
MIN_ROWS_PER_CLASS = 4  # fewest rows of a class that still leave one in training, validation and test
RESAMPLES = 1000  # paired bootstrap resamples of the test rows
CONFIDENCE = 0.95  # the bootstrap interval's coverage
MISS_RATIO = 2.0  # "accuracy hides the rare class": its miss rate is at least this many times the error rate
_LINE_STYLES = ("-", "-", "--", ":")  # the runs' precision-recall curves, in order

# What the lesson compares, each (metric, (run, threshold from), (run, threshold from)): first minus second.
COMPARISONS = (
    ("PR-AUC", ("BCE + class_weight", DEFAULT), ("BCE", DEFAULT)),
    ("recall", ("BCE + class_weight", DEFAULT), ("BCE", DEFAULT)),
    ("precision", ("BCE + class_weight", DEFAULT), ("BCE", DEFAULT)),
    ("F1", ("BCE", TUNED), ("BCE", DEFAULT)),
    ("F1", ("BCE + class_weight", TUNED), ("BCE", TUNED)),
    ("recall", ("focal", DEFAULT), ("BCE", DEFAULT)),
    ("PR-AUC", ("focal", DEFAULT), ("BCE", DEFAULT)),
    ("recall", ("focal, alpha 0.25", DEFAULT), ("BCE", DEFAULT)),
)


def one_vs_rest(y: npt.ArrayLike, positive: object, source: str) -> np.ndarray:
    """Float32 labels: 1 where ``y == positive`` (the rare class), 0 elsewhere.

    Ends the lesson with one line (exit status 2) when ``positive`` is not a
    value of ``y``, is every row, or either class has fewer than
    ``MIN_ROWS_PER_CLASS`` rows (too few to put one in each of the three parts).
    """
    values = np.asarray(y)
    labels = (values == positive).astype("float32")
    rows, ones = len(labels), int(labels.sum())
    if ones == 0:
        shown = ", ".join(map(str, np.unique(values)[:12]))
        stop(f"{source}: no row's target is {positive!r}; pass --positive with one of its values ({shown})")
    if min(ones, rows - ones) < MIN_ROWS_PER_CLASS:
        stop(
            f"{source}: {ones} of {rows} rows have target {positive!r}; each class needs at least "
            f"{MIN_ROWS_PER_CLASS} rows for a training, a validation and a test part"
        )
    return labels


def validation_rows(y_train: npt.ArrayLike, share: float, seed: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Row numbers of ``y_train`` to train on and to validate on: ``share`` of each class for validation.

    The same stratified rule (``cookbook.datasets.split_indices``) as the
    train/test split; one line and exit status 2 if the rows cannot be split.
    """
    y_train = np.asarray(y_train)
    try:
        return split_indices(len(y_train), y_train, test_fraction=share, seed=seed, stratify=True)
    except CookbookError as exc:
        stop(f"{source}: {exc}")


def class_counts(parts: Mapping[str, npt.ArrayLike]) -> pd.DataFrame:
    """Rows, class-1 rows and the class-1 share of each part (``{part: 0/1 labels}``)."""
    rows = []
    for part, y in parts.items():
        y = np.asarray(y).reshape(-1)
        rows.append({"part": part, "rows": len(y), "class 1 rows": int(y.sum()), "class 1 share": float(y.mean())})
    return pd.DataFrame(rows)


def _flat(y: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(y).reshape(-1) > 0.5, np.asarray(scores, dtype=np.float64).reshape(-1)


def operating_point(y: npt.ArrayLike, scores: npt.ArrayLike, threshold: float) -> dict[str, float]:
    """Counts and rates when rows scoring above ``threshold`` are called class 1.

    Returns ``found`` (true positives), ``missed`` (false negatives),
    ``false alarms`` (false positives), ``precision``, ``recall``, ``F1`` and
    ``accuracy``; a rate whose denominator is 0 is 0, as in Keras's metrics.
    """
    y, scores = _flat(y, scores)
    called = scores > threshold
    tp, fp = int(np.sum(called & y)), int(np.sum(called & ~y))
    fn = int(np.sum(~called & y))
    return {
        "found": tp,
        "missed": fn,
        "false alarms": fp,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "F1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0,
        "accuracy": float(np.mean(called == y)),
    }


def _cuts(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each distinct score, highest first, with the rows and the class-1 rows scoring at least as much."""
    order = np.argsort(-scores, kind="stable")
    ranked, hits = scores[order], np.cumsum(y[order])
    last = np.r_[ranked[1:] != ranked[:-1], True]  # the last row of each run of tied scores
    return ranked[last], np.flatnonzero(last) + 1, hits[last]


def pr_curve(y: npt.ArrayLike, scores: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Recall and precision at every distinct score taken as the lowest one called class 1, highest first."""
    y, scores = _flat(y, scores)
    _, called, hits = _cuts(y, scores)
    return hits / max(int(y.sum()), 1), hits / called


def average_precision(y: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """The area under the precision-recall curve as a step function: ``sum_k (R_k - R_{k-1}) P_k``.

    The sum runs over the distinct scores, highest first, so tied scores
    count as one step (a constant score gets the class-1 share). It does not
    depend on any threshold. ``keras.metrics.AUC(curve="PR")`` estimates the
    same area from 200 fixed thresholds, interpolating between them, so the
    two differ a little. ``nan`` when ``y`` has no class-1 row.
    """
    y, scores = _flat(y, scores)
    if not y.any():
        return float("nan")
    recall, precision = pr_curve(y, scores)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def best_f1_threshold(y: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """The threshold with the highest F1 on these rows (``p > t`` is class 1).

    The candidates lie halfway between consecutive distinct scores (and
    below the lowest, calling every row class 1), so a threshold never sits
    on a score; on equal F1 the higher threshold wins (fewer false alarms).
    Choose it on validation rows and apply it to the test rows.
    """
    y, scores = _flat(y, scores)
    distinct, called, hits = _cuts(y, scores)
    f1 = 2 * hits / (called + y.sum())
    below = np.r_[distinct[1:], distinct[-1] - 1.0]
    best = int(np.argmax(f1))  # the first maximum: the highest threshold among equals
    return float((distinct[best] + below[best]) / 2)


def hides_table(evaluated: Mapping[str, float], y_test: npt.ArrayLike, run: str = "BCE") -> pd.DataFrame:
    """What ``evaluate`` reports for a trained model, next to always answering class 0, on the test rows.

    Args:
        evaluated: ``model.evaluate(..., return_dict=True)`` with ``accuracy``,
            ``precision``, ``recall`` and ``pr_auc``.
        y_test: the test rows' 0/1 labels.
        run: the model's name in the table.
    """
    y = np.asarray(y_test).reshape(-1)
    always = operating_point(y, np.zeros(len(y)), DEFAULT_THRESHOLD)
    return pd.DataFrame(
        [
            {
                "predictor": ALWAYS_0,
                "accuracy": always["accuracy"],
                "precision": always["precision"],
                "recall": always["recall"],
                "PR-AUC": average_precision(y, np.zeros(len(y))),
            },
            {
                "predictor": run,
                "accuracy": float(evaluated["accuracy"]),
                "precision": float(evaluated["precision"]),
                "recall": float(evaluated["recall"]),
                "PR-AUC": float(evaluated["pr_auc"]),
            },
        ]
    )


def comparison_table(
    p_test: Mapping[str, npt.ArrayLike], thresholds: Mapping[str, float], y_test: npt.ArrayLike
) -> pd.DataFrame:
    """Every run on the test rows at 0.5 and at its validation threshold, after always answering class 0.

    Args:
        p_test: ``{run: P(class 1) of every test row}``.
        thresholds: ``{run: threshold chosen on validation}``.
        y_test: the test rows' 0/1 labels.
    """
    y = np.asarray(y_test).reshape(-1)
    rows = [
        {
            "run": ALWAYS_0,
            "threshold from": "-",
            "threshold": np.nan,
            **operating_point(y, np.zeros(len(y)), DEFAULT_THRESHOLD),
        }
    ]
    rows[0]["PR-AUC"] = average_precision(y, np.zeros(len(y)))
    for source in (DEFAULT, TUNED):
        for run, scores in p_test.items():
            threshold = DEFAULT_THRESHOLD if source == DEFAULT else float(thresholds[run])
            point = operating_point(y, scores, threshold)
            rows.append(
                {
                    "run": run,
                    "threshold from": source,
                    "threshold": threshold,
                    **point,
                    "PR-AUC": average_precision(y, scores),
                }
            )
    return pd.DataFrame(rows)


_METRICS: dict[str, Callable[[np.ndarray, np.ndarray, float], float]] = {
    "PR-AUC": lambda y, s, t: average_precision(y, s),
    "precision": lambda y, s, t: operating_point(y, s, t)["precision"],
    "recall": lambda y, s, t: operating_point(y, s, t)["recall"],
    "F1": lambda y, s, t: operating_point(y, s, t)["F1"],
}


def differences_table(
    y_test: npt.ArrayLike,
    p_test: Mapping[str, npt.ArrayLike],
    thresholds: Mapping[str, float],
    *,
    comparisons: Sequence[tuple[str, tuple[str, str], tuple[str, str]]] = COMPARISONS,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> pd.DataFrame:
    """Differences between two runs' test scores, each with a paired bootstrap interval.

    The test rows are drawn with replacement ``resamples`` times; each draw
    scores both runs on the same rows, and the interval holds the middle
    ``CONFIDENCE`` of the differences. An interval that holds 0 means this
    test set cannot tell the two apart. Resamples without a class-1 row are
    skipped.

    Args:
        y_test, p_test, thresholds: as for ``comparison_table``.
        comparisons: ``(metric, (run, threshold from), (run, threshold from))``;
            metric is ``"PR-AUC"``, ``"precision"``, ``"recall"`` or ``"F1"``.
        resamples, seed: the bootstrap's draws and NumPy seed.
    """
    y = np.asarray(y_test).reshape(-1)
    rng = np.random.default_rng(seed)
    draws = [rows for rows in (rng.integers(0, len(y), len(y)) for _ in range(resamples)) if y[rows].sum() > 0]
    found = []
    for metric, first, second in comparisons:
        score = _METRICS[metric]
        (run_a, from_a), (run_b, from_b) = first, second
        a, b = np.asarray(p_test[run_a], np.float64).reshape(-1), np.asarray(p_test[run_b], np.float64).reshape(-1)
        t_a = DEFAULT_THRESHOLD if from_a == DEFAULT else float(thresholds[run_a])
        t_b = DEFAULT_THRESHOLD if from_b == DEFAULT else float(thresholds[run_b])
        spread = np.array([score(y[rows], a[rows], t_a) - score(y[rows], b[rows], t_b) for rows in draws])
        low, high = np.quantile(spread, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
        found.append(
            {
                "metric": metric,
                "first": f"{run_a}, {from_a}",
                "second": f"{run_b}, {from_b}",
                "first value": score(y, a, t_a),
                "second value": score(y, b, t_b),
                "difference": score(y, a, t_a) - score(y, b, t_b),
                "low": float(low),
                "high": float(high),
                "interval holds 0": bool(low <= 0 <= high),
            }
        )
    return pd.DataFrame(found)


def plot_remedies(
    y_test: npt.ArrayLike,
    p_test: Mapping[str, npt.ArrayLike],
    thresholds: Mapping[str, float],
    histograms: Sequence[str],
    data_name: str,
) -> Figure:
    """(a) Each run's precision-recall curve on the test rows, its 0.5 point a circle, its validation
    threshold a star; (b, c...) the test scores of the ``histograms`` runs by class, thresholds marked."""
    from matplotlib.figure import Figure

    y = np.asarray(y_test).reshape(-1) > 0.5
    fig = Figure(figsize=(5.2 + 3.6 * len(histograms), 4.8), layout="constrained")
    axes = fig.subplots(1, 1 + len(histograms), width_ratios=(1.45,) + (1,) * len(histograms))
    curves = axes[0]
    share = float(y.mean())
    curves.axhline(share, color="grey", linestyle=":", label=f"{ALWAYS_0} (class-1 share {share:.2f})")
    for i, (run, scores) in enumerate(p_test.items()):
        color, style = f"C{i}", _LINE_STYLES[i % len(_LINE_STYLES)]
        recall, precision = pr_curve(y, scores)
        curves.step(
            np.r_[0.0, recall],
            np.r_[precision[0], precision],
            where="pre",
            color=color,
            linestyle=style,
            linewidth=1.6,
            label=f"{run}: PR-AUC {average_precision(y, scores):.3f}",
        )
        at_default = operating_point(y, scores, DEFAULT_THRESHOLD)
        tuned = operating_point(y, scores, thresholds[run])
        curves.plot(
            at_default["recall"],
            at_default["precision"],
            "o",
            markersize=13,
            markerfacecolor="none",
            markeredgecolor=color,
            markeredgewidth=2.2,
            zorder=3,
        )
        curves.plot(
            tuned["recall"],
            tuned["precision"],
            "*",
            markersize=12,
            color=color,
            markeredgecolor="black",
            markeredgewidth=0.6,
            zorder=4,
        )
    curves.plot([], [], "o", markersize=10, markerfacecolor="none", markeredgecolor="black", label="threshold 0.5")
    curves.plot([], [], "*", color="white", markeredgecolor="black", markersize=12, label="threshold from validation")
    curves.set(
        xlabel="recall (share of class 1 found)",
        ylabel="precision (share of alarms that are class 1)",
        xlim=(0, 1.02),
        ylim=(0, 1.04),
        title=f"{data_name}, test rows: precision-recall curves",
    )
    curves.legend(loc="lower left", fontsize="small")
    bins = np.linspace(0, 1, 26)
    for ax, run in zip(axes[1:], histograms):
        scores = np.asarray(p_test[run], np.float64).reshape(-1)
        ax.hist(scores[~y], bins=bins, color="C7", alpha=0.7, label=f"class 0 ({int((~y).sum())} rows)")
        ax.hist(scores[y], bins=bins, color="C3", alpha=0.8, label=f"class 1 ({int(y.sum())} rows)")
        ax.axvline(DEFAULT_THRESHOLD, color="black", linestyle="--", linewidth=1, label="threshold 0.5")
        ax.axvline(thresholds[run], color="black", linewidth=1.5, label=f"from validation: {thresholds[run]:.2f}")
        ax.set(yscale="log", xlabel="P(class 1)", ylabel="test rows (log scale)", title=f"{run}: scores by class")
        ax.set_ylim(0.8, ax.get_ylim()[1] * 12)  # room for the legend above the bars
        ax.legend(loc="upper right", fontsize="small")
    return fig


def _row(table: pd.DataFrame, run: str, source: str) -> pd.Series:
    return table[(table["run"] == run) & (table["threshold from"] == source)].iloc[0]


def _difference(differences: pd.DataFrame, metric: str, first: str, second: str) -> pd.Series:
    rows = differences[
        (differences["metric"] == metric) & (differences["first"] == first) & (differences["second"] == second)
    ]
    return rows.iloc[0]


def _interval(row: pd.Series) -> str:
    return f"{row['difference']:+.3f}, 95% interval [{row['low']:+.3f}, {row['high']:+.3f}]"


def claims(
    table: pd.DataFrame, differences: pd.DataFrame, class_weight: Mapping[int, float], *, class_0_share: float
) -> list[Claim]:
    """The lesson's points to remember, from its comparison table and bootstrap differences.

    ``table`` is ``comparison_table`` with runs ``"BCE"``, ``"BCE + class_weight"``,
    ``"focal"`` and ``"focal, alpha 0.25"``; ``differences`` is ``differences_table``
    over ``COMPARISONS``; ``class_weight`` is the dict the lesson passed to ``fit``
    and ``class_0_share`` the share of class 0 in the training rows.
    """
    always, bce, weighted = (
        _row(table, ALWAYS_0, "-"),
        _row(table, "BCE", DEFAULT),
        _row(table, "BCE + class_weight", DEFAULT),
    )
    focal, alpha = _row(table, "focal", DEFAULT), _row(table, "focal, alpha 0.25", DEFAULT)
    bce_tuned, weighted_tuned = _row(table, "BCE", TUNED), _row(table, "BCE + class_weight", TUNED)
    plain, weighted_name = f"BCE, {DEFAULT}", f"BCE + class_weight, {DEFAULT}"
    class_1 = int(bce["found"] + bce["missed"])

    error, miss = 1 - float(bce["accuracy"]), 1 - float(bce["recall"])
    hides = bool(miss >= MISS_RATIO * error)
    first = (
        "In your own Keras code, compile an imbalanced classifier with keras.metrics.Precision(), Recall() and "
        "AUC(curve='PR'), and read accuracy only next to always answering class 0: "
    )
    if hides:
        first += (
            f"here plain binary cross-entropy scored accuracy {bce['accuracy']:.3f} against {always['accuracy']:.3f} "
            f"for never naming class 1, yet it missed {int(bce['missed'])} of the {class_1} class-1 test rows "
            f"(recall {bce['recall']:.3f}, precision {bce['precision']:.3f}): its miss rate on class 1 ({miss:.1%}) "
            f"was {miss / error:.1f}x its error rate over all rows ({error:.1%})."
        )
    else:
        first += (
            f"in this run accuracy hid little: accuracy {bce['accuracy']:.3f} (always class 0: "
            f"{always['accuracy']:.3f}) and recall {bce['recall']:.3f}, a miss rate on class 1 ({miss:.1%}) under "
            f"{MISS_RATIO:g}x the error rate over all rows ({error:.1%})."
        )

    auc_shift = _difference(differences, "PR-AUC", weighted_name, plain)
    recall_shift = _difference(differences, "recall", weighted_name, plain)
    precision_shift = _difference(differences, "precision", weighted_name, plain)
    moved = bool(recall_shift["difference"] > 0 and precision_shift["difference"] < 0)
    same_ranking = bool(auc_shift["interval holds 0"])
    w0, w1 = float(class_weight[0]), float(class_weight[1])
    weights = f"fit(class_weight={{0: {w0:.3g}, 1: {w1:.3g}}}) (rows / (2 x class rows))"
    if moved:
        weight_words = (
            f"Balanced class weights moved the operating point{', not the ranking' if same_ranking else ''}: "
            f"{weights} raised recall at 0.5 from {bce['recall']:.3f} to {weighted['recall']:.3f} and cut precision "
            f"from {bce['precision']:.3f} to {weighted['precision']:.3f}, while PR-AUC, which no threshold changes, "
            f"moved by {_interval(auc_shift)}"
            + (
                f", within what {class_1} class-1 test rows can tell apart. Reach for it when the threshold must stay "
                "at 0.5 and a missed class-1 row costs more than a false alarm."
                if same_ranking
                else ": in this run the weights changed the ranking too."
            )
        )
    else:
        weight_words = (
            f"Balanced class weights did not trade precision for recall in this run: {weights} gave recall "
            f"{weighted['recall']:.3f} and precision {weighted['precision']:.3f} at 0.5, against {bce['recall']:.3f} "
            f"and {bce['precision']:.3f} without them (train longer with --epochs before reading it)."
        )

    tuned_gain = _difference(differences, "F1", f"BCE, {TUNED}", plain)
    weight_gain = _difference(differences, "F1", f"BCE + class_weight, {TUNED}", f"BCE, {TUNED}")
    adds_nothing = bool(weight_gain["low"] <= 0)
    pushed = " (class_weight had pushed its scores up)" if weighted_tuned["threshold"] > bce_tuned["threshold"] else ""
    same_rows = bool(bce_tuned["found"] == bce["found"] and bce_tuned["false alarms"] == bce["false alarms"])
    threshold_words = (
        "Reach for a threshold chosen on validation rows first: it needs no retraining"
        + (", and here it left class_weight nothing to add. " if adds_nothing else ". ")
        + f"The best-F1 thresholds were {bce_tuned['threshold']:.2f} for plain BCE and "
        f"{weighted_tuned['threshold']:.2f} for the weighted run{pushed}, and with them test F1 was "
        f"{bce_tuned['F1']:.3f} vs {weighted_tuned['F1']:.3f} (weighted minus plain {_interval(weight_gain)}"
        + ("). " if adds_nothing else ": class_weight still helped after tuning in this run). ")
        + (
            f"Plain BCE's threshold called the same test rows as 0.5: trained on the true class shares, it was "
            f"already near its best F1 there (and the weighted run's F1 at 0.5 was {weighted['F1']:.3f})."
            if same_rows
            else f"Against 0.5, plain BCE's threshold changed test F1 by {_interval(tuned_gain)}."
        )
    )

    focal_recall = _difference(differences, "recall", f"focal, {DEFAULT}", plain)
    focal_auc = _difference(differences, "PR-AUC", f"focal, {DEFAULT}", plain)
    focal_finds_more = bool(focal_recall["low"] > 0)
    focal_words = (
        (
            "Focal loss is not a class weight, against the common advice to reach for it on imbalanced data: "
            if not focal_finds_more
            else "Focal loss found more of the rare class in this run, though it is not a class weight: "
        )
        + f"BinaryFocalCrossentropy(gamma=2.0) turns down the rows the model already gets right, whatever their "
        f"class, and at 0.5 it found {int(focal['found'])} of the {class_1} class-1 rows against plain BCE's "
        f"{int(bce['found'])} (recall {_interval(focal_recall)}; PR-AUC {_interval(focal_auc)}). With "
        f"apply_class_balancing=True, alpha weighs class-1 rows and 1 - alpha class-0 rows, so the paper's and "
        f"Keras's alpha=0.25 weighs the rare class down: recall fell to {alpha['recall']:.3f}. To weigh it up, set "
        f"alpha to class 0's share ({class_0_share:.2f} here; alpha / (1 - alpha) is then class_weight's ratio), "
        "or keep class_weight, which works with any loss."
    )
    return [
        Claim(
            key="accuracy_hides_the_rare_class",
            claim="on imbalanced classes accuracy looks good while the model misses much of the rare class",
            verdict=verdict_of(hides),
            numbers={
                "class_1_rows": class_1,
                "accuracy_bce": float(bce["accuracy"]),
                "accuracy_always_0": float(always["accuracy"]),
                "recall_bce": float(bce["recall"]),
                "precision_bce": float(bce["precision"]),
                "pr_auc_bce": float(bce["PR-AUC"]),
                "miss_rate_class_1": miss,
                "error_rate": error,
            },
            conclusion=first,
        ),
        Claim(
            key="class_weight_moves_the_operating_point",
            claim="class weighting mostly moves the operating point: recall up, precision down, PR-AUC unchanged",
            verdict=Verdict.HOLDS if moved and same_ranking else verdict_of(False, partly=moved),
            numbers={
                "class_weight_0": w0,
                "class_weight_1": w1,
                "recall_bce": float(bce["recall"]),
                "recall_weighted": float(weighted["recall"]),
                "precision_bce": float(bce["precision"]),
                "precision_weighted": float(weighted["precision"]),
                "pr_auc_bce": float(bce["PR-AUC"]),
                "pr_auc_weighted": float(weighted["PR-AUC"]),
                "pr_auc_difference_low": float(auc_shift["low"]),
                "pr_auc_difference_high": float(auc_shift["high"]),
            },
            conclusion=weight_words,
        ),
        Claim(
            key="a_validation_threshold_makes_class_weight_redundant",
            claim="once each model's threshold is chosen on validation, class_weight adds nothing over plain BCE",
            verdict=verdict_of(adds_nothing),
            numbers={
                "threshold_bce": float(bce_tuned["threshold"]),
                "threshold_weighted": float(weighted_tuned["threshold"]),
                "f1_bce_at_0_5": float(bce["F1"]),
                "f1_bce_tuned": float(bce_tuned["F1"]),
                "f1_weighted_at_0_5": float(weighted["F1"]),
                "f1_weighted_tuned": float(weighted_tuned["F1"]),
                "f1_difference_low": float(weight_gain["low"]),
                "f1_difference_high": float(weight_gain["high"]),
            },
            conclusion=threshold_words,
        ),
        Claim(
            key="focal_loss_is_not_a_class_weight",
            claim="focal loss (gamma=2) finds more of the rare class than binary cross-entropy at 0.5",
            verdict=verdict_of(focal_finds_more),
            numbers={
                "found_bce": int(bce["found"]),
                "found_focal": int(focal["found"]),
                "recall_bce": float(bce["recall"]),
                "recall_focal": float(focal["recall"]),
                "recall_difference_low": float(focal_recall["low"]),
                "recall_difference_high": float(focal_recall["high"]),
                "pr_auc_focal": float(focal["PR-AUC"]),
                "recall_focal_alpha_0_25": float(alpha["recall"]),
                "class_0_share": class_0_share,
            },
            conclusion=focal_words,
        ),
    ]
