"""Evidence for lesson 04 (multi-label classification): the labels, the scores, the figure, the claims.

The lesson trains a sigmoid head and a softmax head on the same multi-hot
labels; this module derives those labels from the Digits classes and
measures what the two heads predict. Everything here is NumPy and pandas on
arrays the lesson passes in, so each piece is tested on tiny inputs in
``tests/test_multilabel_sigmoid.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.errors import SetupError
from cookbook.setup_check import check_setup

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    import keras
    from matplotlib.figure import Figure

__all__ = [
    "BASELINE",
    "CLOSED_LOOP_DIGITS",
    "EPSILON",
    "LABELS",
    "THRESHOLDS",
    "binary_crossentropy_float64",
    "bce_check_table",
    "best_threshold",
    "check_each",
    "claims",
    "digit_labels",
    "examples_table",
    "label_count_table",
    "label_table",
    "majority_labels",
    "plot_results",
    "predicted_label_counts",
    "results_table",
    "scores",
]

LABELS = ("even", "greater than 4", "closed loop")  # the k = 3 yes/no labels of one digit image
CLOSED_LOOP_DIGITS = (0, 6, 8, 9)  # digits drawn with a closed loop (4 is usually drawn open)
BASELINE = "majority label, each label alone"
EPSILON = 1e-7  # Keras's backend epsilon: binary_crossentropy clips probabilities to [EPSILON, 1 - EPSILON]
THRESHOLDS = tuple(np.round(np.arange(0.05, 0.951, 0.05), 2))  # candidates for best_threshold


def digit_labels(digits: npt.ArrayLike) -> np.ndarray:
    """The multi-hot labels of digit classes 0-9: columns ``LABELS`` (even, > 4, closed loop), float32 0/1.

    >>> digit_labels([0, 1, 6, 9]).astype(int).tolist()
    [[1, 0, 1], [0, 0, 0], [1, 1, 1], [0, 1, 1]]
    """
    d = np.asarray(digits).astype(int).ravel()
    columns = (d % 2 == 0, d > 4, np.isin(d, CLOSED_LOOP_DIGITS))
    return np.stack(columns, axis=1).astype("float32")


def label_table() -> pd.DataFrame:
    """Each digit's three labels and how many of them are on."""
    y = digit_labels(np.arange(10)).astype(int)
    table = pd.DataFrame(y, columns=list(LABELS))
    table.insert(0, "digit", np.arange(10))
    table["labels on"] = y.sum(axis=1)
    return table


def label_count_table(parts: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """Share of images with 0, 1, 2 and 3 labels on, per part (``{part: multi-hot labels}``)."""
    k = len(LABELS)
    rows = []
    for part, y in parts.items():
        on = np.asarray(y).sum(axis=1).round().astype(int)
        rows.append(
            {"part": part, "images": len(on), **{f"{n} labels on": float(np.mean(on == n)) for n in range(k + 1)}}
        )
    return pd.DataFrame(rows)


def binary_crossentropy_float64(y_true: npt.ArrayLike, p: npt.ArrayLike, epsilon: float = EPSILON) -> np.ndarray:
    """The one-unit binary cross-entropy of every label, float64, shape (N, k): -(y log p + (1 - y) log(1 - p)).

    Probabilities are clipped to ``[epsilon, 1 - epsilon]`` as Keras does.
    """
    y = np.asarray(y_true, np.float64)
    q = np.clip(np.asarray(p, np.float64), epsilon, 1.0 - epsilon)
    return -(y * np.log(q) + (1.0 - y) * np.log(1.0 - q))


def bce_check_table(
    y_true: npt.ArrayLike, p: npt.ArrayLike, keras_k_units: npt.ArrayLike, keras_one_unit: npt.ArrayLike
) -> pd.DataFrame:
    """Keras's binary_crossentropy on k units next to the mean of its k one-unit values and a float64 formula.

    Args:
        y_true, p: multi-hot labels and predicted probabilities, shape (N, k).
        keras_k_units: ``keras.losses.binary_crossentropy(y_true, p)``, one value per image, shape (N,).
        keras_one_unit: the same function on each label column alone, shape (N, k).
    """
    one_unit = np.asarray(keras_one_unit, np.float64).reshape(len(np.asarray(p)), -1)
    table = pd.DataFrame(one_unit, columns=[f"BCE {label}" for label in LABELS[: one_unit.shape[1]]])
    table["mean of the k"] = one_unit.mean(axis=1)
    table["Keras, k units"] = np.asarray(keras_k_units, np.float64).ravel()
    table["float64 formula"] = binary_crossentropy_float64(y_true, p).mean(axis=1)
    table["max abs difference"] = (
        table[["mean of the k", "float64 formula"]].sub(table["Keras, k units"], axis=0).abs().max(axis=1)
    )
    return table


def check_each(models: Mapping[str, keras.Model], y_train: npt.ArrayLike) -> dict[str, bool]:
    """``cookbook.check_setup(model, y_train)`` on each model: print what it says, return ``{name: refused}``."""
    refused = {}
    for name, model in models.items():
        try:
            check_setup(model, y_train)
        except SetupError as error:
            refused[name] = True
            print(f"{name}: check_setup refuses it: {error}")
        else:
            refused[name] = False
            print(f"{name}: check_setup is silent")
    return refused


def examples_table(
    digits: npt.ArrayLike,
    probabilities: Mapping[str, np.ndarray],
    show_digits: Sequence[int] = (0, 6, 8, 9),
    threshold: float = 0.5,
) -> pd.DataFrame:
    """Each model's probabilities on the first image of each of ``show_digits``, with their sum and labels predicted.

    Args:
        digits: the digit class of every row the probabilities are for.
        probabilities: ``{model: probabilities, shape (N, k)}``.
        show_digits: the digits to show, one image each.
        threshold: a label is predicted when its probability is above it.
    """
    digits = np.asarray(digits).astype(int).ravel()
    rows = []
    for digit in show_digits:
        hits = np.flatnonzero(digits == digit)
        if len(hits) == 0:
            continue
        i = int(hits[0])
        truth = digit_labels([digit])[0].astype(int)
        for model, p in probabilities.items():
            row = np.asarray(p, np.float64)[i]
            rows.append(
                {
                    "digit": digit,
                    "true labels": " ".join(map(str, truth)),
                    "head": model,
                    **{f"P({label})": float(value) for label, value in zip(LABELS, row)},
                    "sum": float(row.sum()),
                    "predicted": " ".join(str(int(value > threshold)) for value in row),
                }
            )
    return pd.DataFrame(rows)


def majority_labels(y_train: npt.ArrayLike) -> np.ndarray:
    """The baseline's prediction: each label's more frequent value in the training rows (1 on a tie)."""
    return (np.asarray(y_train, np.float64).mean(axis=0) >= 0.5).astype("float32")


def scores(y_true: npt.ArrayLike, p: npt.ArrayLike, threshold: float = 0.5) -> dict[str, float]:
    """What a multi-label model got right, with each probability thresholded on its own.

    Returns:
        ``accuracy: <label>`` for each label, ``mean per-label accuracy``,
        ``exact match`` (all k labels right), and on the images with 2 or more
        labels on: ``2+ predicted on 2+-label images`` (2 or more
        probabilities above the threshold) and ``all right on 2+-label images``.
    """
    y = np.asarray(y_true, np.float64).round().astype(int)
    predicted = (np.asarray(p, np.float64) > threshold).astype(int)
    right = predicted == y
    several = y.sum(axis=1) >= 2
    result = {f"accuracy: {label}": float(right[:, j].mean()) for j, label in enumerate(LABELS[: y.shape[1]])}
    result["mean per-label accuracy"] = float(right.mean())
    result["exact match"] = float(right.all(axis=1).mean())
    result["2+ predicted on 2+-label images"] = (
        float((predicted[several].sum(axis=1) >= 2).mean()) if several.any() else float("nan")
    )
    result["all right on 2+-label images"] = float(right[several].all(axis=1).mean()) if several.any() else float("nan")
    return result


def best_threshold(y_true: npt.ArrayLike, p: npt.ArrayLike, candidates: Sequence[float] = THRESHOLDS) -> float:
    """The threshold with the highest exact match on these rows (on a tie, the one nearest 0.5)."""
    nearest_first = sorted(candidates, key=lambda t: (abs(t - 0.5), t))
    exact = [scores(y_true, p, t)["exact match"] for t in nearest_first]
    return float(nearest_first[int(np.argmax(exact))])


def results_table(
    probabilities: Mapping[str, np.ndarray],
    thresholds: Mapping[str, tuple[str, float]],
    keras_accuracy: Mapping[str, float],
    y_test: np.ndarray,
    y_train: np.ndarray,
) -> pd.DataFrame:
    """One row per model and threshold, plus the majority baseline: the ``scores`` on the test rows.

    Args:
        probabilities: ``{model: test probabilities, shape (N, k)}``.
        thresholds: ``{row name: (model, threshold)}``, the rows to score.
        keras_accuracy: ``{model: Keras BinaryAccuracy on the test rows}`` (threshold 0.5).
        y_test, y_train: multi-hot labels; the baseline is learned from ``y_train``.
    """
    rows = []
    for row, (model, threshold) in thresholds.items():
        keras_value = keras_accuracy.get(model, float("nan")) if threshold == 0.5 else float("nan")
        rows.append(
            {
                "model": row,
                "threshold": threshold,
                **scores(y_test, probabilities[model], threshold),
                "Keras BinaryAccuracy": keras_value,
            }
        )
    baseline = np.tile(majority_labels(y_train), (len(y_test), 1))
    rows.append({"model": BASELINE, "threshold": 0.5, **scores(y_test, baseline), "Keras BinaryAccuracy": float("nan")})
    return pd.DataFrame(rows)


def predicted_label_counts(y_true: npt.ArrayLike, p: npt.ArrayLike, threshold: float = 0.5) -> np.ndarray:
    """On the images with 2 or more labels on: the share predicting 0, 1, ..., k labels above the threshold."""
    y = np.asarray(y_true, np.float64)
    predicted = (np.asarray(p, np.float64)[y.sum(axis=1) >= 2] > threshold).sum(axis=1)
    return np.bincount(predicted, minlength=y.shape[1] + 1) / max(len(predicted), 1)


def plot_results(
    results: pd.DataFrame, rows: Sequence[str], probabilities: Mapping[str, np.ndarray], y_test: np.ndarray
) -> Figure:
    """Left: per-label and exact-match test accuracy of ``rows``; right: labels predicted on 2+-label images.

    Args:
        results: a ``results_table``.
        rows: its ``model`` values to draw on the left, in order.
        probabilities: ``{model: test probabilities}`` for the right panel (threshold 0.5).
        y_test: the test rows' multi-hot labels.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.4), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[1.5, 1])
    colors = {row: f"C{i}" for i, row in enumerate(dict.fromkeys([*rows, *probabilities]))}
    measures = [f"accuracy: {label}" for label in LABELS] + ["exact match"]
    table = results.set_index("model")
    width = 0.8 / len(rows)
    for i, row in enumerate(rows):
        x = np.arange(len(measures)) + (i - (len(rows) - 1) / 2) * width
        bars = left.bar(x, table.loc[row, measures].to_numpy(float), width, label=row, color=colors[row])
        left.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    left.set_xticks(np.arange(len(measures)), [*LABELS, "all 3 right\n(exact match)"])
    left.set(ylim=(0, 1.1), ylabel="share of the test images", title="Labels right on the test images (threshold 0.5)")

    k = len(LABELS)
    counts = {model: predicted_label_counts(y_test, p) for model, p in probabilities.items()}
    width = 0.8 / len(counts)
    for i, (model, share) in enumerate(counts.items()):
        x = np.arange(k + 1) + (i - (len(counts) - 1) / 2) * width
        bars = right.bar(x, share, width, color=colors[model])
        right.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    right.set_xticks(np.arange(k + 1), [str(n) for n in range(k + 1)])
    right.set(
        ylim=(0, 1.1),
        xlabel="labels predicted (probability > 0.5)",
        ylabel="share of these images",
        title="Test images with 2 or 3 labels on",
    )
    fig.legend(loc="outside lower center", ncol=len(colors), fontsize="small", frameon=False)
    return fig


def claims(
    results: pd.DataFrame,
    sigmoid: str,
    softmax: str,
    softmax_tuned: str,
    bce_check: pd.DataFrame,
    refused: Mapping[str, bool],
    y_test: np.ndarray,
) -> list[Claim]:
    """The lesson's points to remember, from its ``results_table`` and ``bce_check_table``.

    Args:
        results: the ``results_table`` of the test rows.
        sigmoid, softmax, softmax_tuned: its rows of the sigmoid head, the softmax head at 0.5 and at its
            best threshold.
        bce_check: a ``bce_check_table``.
        refused: ``{sigmoid: bool, softmax: bool}``: whether ``cookbook.check_setup`` refused each setup.
        y_test: the test rows' multi-hot labels.
    """
    table = results.set_index("model")
    a, b, tuned, base = (table.loc[row] for row in (sigmoid, softmax, softmax_tuned, BASELINE))
    per_label = [f"accuracy: {label}" for label in LABELS]
    on = np.asarray(y_test).sum(axis=1)
    several = int(np.sum(on >= 2))
    # A softmax's k probabilities sum to 1: all k above a threshold t needs t < 1/k, none above it needs
    # t >= 1/k. So at one threshold it misses every image with no label on or every one with all k on.
    ceiling = 1.0 - min(float(np.mean(on == 0)), float(np.mean(on == len(LABELS))))

    learned = bool((a[per_label] > base[per_label]).all())
    if learned:
        unit_verdict = Verdict.FAILS
        unit_words = (
            "For k yes/no labels that can be on together, use Dense(k, activation='sigmoid') with "
            "loss='binary_crossentropy' on a 0/1 label matrix of shape (N, k), and threshold each probability "
            "on its own: binary_crossentropy does not need one unit, the note's 'exactly 1 unit' is the "
            f"single-label binary case. Here {len(LABELS)} sigmoid units learned {len(LABELS)} labels at once: "
            f"mean per-label test accuracy {a['mean per-label accuracy']:.3f} against "
            f"{base['mean per-label accuracy']:.3f} for the majority baseline, all {len(LABELS)} labels right on "
            f"{a['exact match']:.1%} of the test images (baseline {base['exact match']:.1%})."
        )
    else:
        unit_verdict = Verdict.NOT_MEASURED
        unit_words = (
            f"This run did not train the {len(LABELS)}-unit sigmoid head past the majority baseline on every label "
            f"(mean per-label test accuracy {a['mean per-label accuracy']:.3f} vs "
            f"{base['mean per-label accuracy']:.3f}), so it cannot show how well it learns; train more epochs. "
            "Dense(k, 'sigmoid') with binary_crossentropy on a 0/1 matrix of shape (N, k) is still the multi-label "
            "setup Keras supports."
        )

    share_a = float(a["2+ predicted on 2+-label images"])
    several_verdict = verdict_of(share_a > 0.5, partly=share_a > 0)
    several_words = (
        f"One sigmoid per label says yes to several labels at once: on the {several} test images with 2 or 3 "
        f"labels on, the sigmoid head predicted 2 or more on {share_a:.1%} and got all labels right on "
        f"{a['all right on 2+-label images']:.1%}."
        if several_verdict is Verdict.HOLDS
        else f"The sigmoid head predicted 2 or more labels on only {share_a:.1%} of the {several} test images with "
        f"2 or 3 labels on (all right on {a['all right on 2+-label images']:.1%}): it can, but this run did not "
        "learn to; train longer."
    )

    softmax_works = bool(tuned["exact match"] >= a["exact match"])
    softmax_words = (
        "Do not put a softmax over independent labels: its probabilities sum to 1, so at most one can pass 0.5; "
        f"it predicted 2 or more labels on {b['2+ predicted on 2+-label images']:.0%} of the {several} test "
        f"images that have them, and got all {len(LABELS)} labels right on {b['exact match']:.1%} of the test "
        f"images against {a['exact match']:.1%} for the sigmoid head. Moving the threshold does not fix it: its "
        f"best threshold on the training rows ({tuned['threshold']:.2f}) gave {tuned['exact match']:.1%}, and no "
        f"threshold can give more than {ceiling:.1%} here, because saying yes to all {len(LABELS)} labels needs "
        f"a threshold below 1/{len(LABELS)} and saying no to all needs one at or above it."
        if not softmax_works
        else f"The softmax head matched the sigmoid head here ({tuned['exact match']:.1%} vs {a['exact match']:.1%} "
        f"all labels right at threshold {tuned['threshold']:.2f}), which a softmax over labels that are often on "
        "together should not do: check the labels."
    )

    difference = float(bce_check["max abs difference"].max())
    same_loss = difference < 1e-5
    bce_words = (
        "Read binary_crossentropy on k units as k one-unit losses averaged: each label is scored by the loss "
        "a Dense(1, 'sigmoid') classifier uses, and the k scores are averaged (the hidden layers are shared). "
        f"Keras's value on {len(LABELS)} units matched the mean of its {len(LABELS)} one-unit values and a float64 "
        f"formula on {len(bce_check)} test images (largest difference {difference:.1e})."
        if same_loss
        else f"Keras's binary_crossentropy on {len(LABELS)} units differed from the mean of its one-unit values by "
        f"up to {difference:.1e} on {len(bce_check)} test images, more than float32 rounding explains."
    )

    tells_apart = not refused[sigmoid] and refused[softmax]
    check_words = (
        "cookbook.check_setup(model, y) tells the two apart before training: silent on the sigmoid head with "
        "binary_crossentropy and a 0/1 matrix, it refuses the softmax head because its multi-hot label rows "
        "are not one-hot, and names the multi-label fix."
        if tells_apart
        else f"cookbook.check_setup did not tell the two apart (refused the sigmoid head: {refused[sigmoid]}, "
        f"the softmax head: {refused[softmax]}); trust the measured scores above, not the check."
    )
    return [
        Claim(
            key="binary_crossentropy_needs_one_unit",
            claim="binary_crossentropy needs a sigmoid output with exactly 1 unit",
            verdict=unit_verdict,
            numbers={
                "units": len(LABELS),
                "mean_label_accuracy_sigmoid": a["mean per-label accuracy"],
                "mean_label_accuracy_baseline": base["mean per-label accuracy"],
                "lowest_label_margin_over_baseline": float((a[per_label] - base[per_label]).min()),
                "exact_match_sigmoid": a["exact match"],
                "exact_match_baseline": base["exact match"],
            },
            conclusion=unit_words,
        ),
        Claim(
            key="sigmoid_predicts_several_labels",
            claim="one sigmoid unit per label can say yes to several labels on the same sample",
            verdict=several_verdict,
            numbers={
                "test_images_with_2plus_labels": several,
                "share_2plus_predicted_sigmoid": share_a,
                "share_all_right_on_2plus_sigmoid": a["all right on 2+-label images"],
            },
            conclusion=several_words,
        ),
        Claim(
            key="softmax_over_labels_learns_them",
            claim="a softmax over the labels with categorical_crossentropy learns the same multi-hot labels",
            verdict=verdict_of(softmax_works),
            numbers={
                "share_2plus_predicted_softmax": b["2+ predicted on 2+-label images"],
                "exact_match_softmax": b["exact match"],
                "exact_match_softmax_best_threshold": tuned["exact match"],
                "softmax_best_threshold": tuned["threshold"],
                "exact_match_ceiling_softmax_any_threshold": ceiling,
                "exact_match_sigmoid": a["exact match"],
            },
            conclusion=softmax_words,
        ),
        Claim(
            key="bce_on_k_units_is_mean_of_one_unit_bces",
            claim="binary_crossentropy on k units is the mean over the k labels of the one-unit binary cross-entropy",
            verdict=verdict_of(same_loss),
            numbers={"rows_checked": len(bce_check), "max_abs_difference": difference},
            conclusion=bce_words,
        ),
        Claim(
            key="check_setup_tells_them_apart",
            claim="cookbook.check_setup passes the multi-label sigmoid setup and refuses the softmax one",
            verdict=verdict_of(tells_apart),
            numbers={"sigmoid_refused": int(refused[sigmoid]), "softmax_refused": int(refused[softmax])},
            conclusion=check_words,
        ),
    ]
