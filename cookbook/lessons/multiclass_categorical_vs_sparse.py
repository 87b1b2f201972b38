"""Evidence for lesson 02 (categorical vs sparse categorical cross-entropy): tables, the figure, the claims.

The lesson trains the same model on one-hot rows and on integer labels; this
module measures what it trained. Everything here is NumPy and pandas on
arrays the lesson passes in (a Keras ``History.history`` is a plain dict), so
each piece is tested on tiny inputs in
``tests/test_multiclass_categorical_vs_sparse.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from cookbook.claims import Claim, verdict_of

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CURVE_TOLERANCE",
    "EPSILON",
    "claims",
    "label_table",
    "largest_gap",
    "minus_log_p",
    "per_class_table",
    "per_sample_table",
    "plot_curves",
    "results_table",
]

CURVE_TOLERANCE = 1e-5  # "the same": within this of each other (float32 rounding is about 1e-7)
EPSILON = 1e-7  # keras.config.epsilon(): Keras clips probabilities to [EPSILON, 1 - EPSILON] before the log
GAP = "max |Δ train loss| vs run 1"


def largest_gap(values: Sequence[float] | np.ndarray, reference: Sequence[float] | np.ndarray) -> float:
    """max over positions of ``|values - reference|``: 0.0 when the two curves coincide exactly."""
    return float(np.max(np.abs(np.subtract(np.asarray(values, np.float64), np.asarray(reference, np.float64)))))


def minus_log_p(y_int: Sequence[int] | np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``-log p(true class)`` per sample in float64, with p clipped to ``[EPSILON, 1 - EPSILON]`` as Keras does."""
    p = np.asarray(probabilities, np.float64)
    y = np.asarray(y_int, int)
    return -np.log(np.clip(p[np.arange(len(y)), y], EPSILON, 1 - EPSILON))


def label_table(y_int: np.ndarray, y_onehot: np.ndarray, rows: int = 4) -> pd.DataFrame:
    """The first ``rows`` labels stored both ways: one integer, or a one-hot row of C numbers."""
    return pd.DataFrame(
        {
            "integer label (sparse_categorical_crossentropy)": np.asarray(y_int[:rows], int),
            "one-hot row (categorical_crossentropy)": [" ".join(str(int(v)) for v in row) for row in y_onehot[:rows]],
        }
    )


def results_table(
    histories: Mapping[str, Mapping[str, Sequence[float]]],
    probabilities: Mapping[str, np.ndarray],
    stored: Mapping[str, str],
    y_test: np.ndarray,
) -> pd.DataFrame:
    """One row per run, each compared with the first run (the reference).

    Args:
        histories: ``{run: keras History.history}`` with ``"loss"`` and ``"accuracy"`` per epoch.
        probabilities: ``{run: predicted test probabilities, shape (N, C)}``.
        stored: ``{run: how its labels were stored}`` ("integer" or "one-hot row").
        y_test: the test labels as integers 0..C-1.
    """
    first = next(iter(histories))
    reference = np.asarray(probabilities[first], np.float64)
    y_test = np.asarray(y_test, int)
    majority = float(np.bincount(y_test).max() / len(y_test))
    rows = []
    for name, history in histories.items():
        p = np.asarray(probabilities[name], np.float64)
        rows.append(
            {
                "run": name,
                "labels per sample": stored[name],
                "final train loss": float(history["loss"][-1]),
                "test loss": float(np.mean(minus_log_p(y_test, p))),
                "test accuracy": float(np.mean(p.argmax(axis=1) == y_test)),
                GAP: largest_gap(history["loss"], histories[first]["loss"]),
                "max |Δ train accuracy| vs run 1": largest_gap(history["accuracy"], histories[first]["accuracy"]),
                "max |Δ test probability| vs run 1": largest_gap(p, reference),
                "same predicted class as run 1": float(np.mean(p.argmax(axis=1) == reference.argmax(axis=1))),
                "majority-class accuracy": majority,  # the bar to beat: always name the commonest test class
            }
        )
    return pd.DataFrame(rows)


def per_class_table(y_test: np.ndarray, predicted: np.ndarray, classes: Sequence[object]) -> pd.DataFrame:
    """Test rows, accuracy and the commonest wrong answer of each class (``classes[k]`` names label ``k``)."""
    y_test, predicted = np.asarray(y_test, int), np.asarray(predicted, int)
    rows = []
    for label, name in enumerate(classes):
        mine = y_test == label
        wrong = predicted[mine & (predicted != label)]
        rows.append(
            {
                "label": label,
                "class": str(name),
                "test rows": int(mine.sum()),
                "test accuracy": float(np.mean(predicted[mine] == label)) if mine.any() else float("nan"),
                "most often mistaken for": str(classes[int(np.bincount(wrong).argmax())]) if len(wrong) else "",
            }
        )
    return pd.DataFrame(rows)


def per_sample_table(
    y_int: np.ndarray, probabilities: np.ndarray, keras_losses: Mapping[str, np.ndarray]
) -> pd.DataFrame:
    """Each test row's true class, p(true class), the Keras losses given, and float64 ``-log p(true class)``."""
    y = np.asarray(y_int, int)
    p = np.asarray(probabilities, np.float64)
    table = pd.DataFrame({"true class": y, "p(true class)": p[np.arange(len(y)), y]})
    for name, values in keras_losses.items():
        table[name] = np.asarray(values, np.float64).ravel()
    table["-log p(true class), NumPy"] = minus_log_p(y, p)
    return table


def plot_curves(histories: Mapping[str, Mapping[str, Sequence[float]]], caption: str) -> Figure:
    """Left: each run's training loss per epoch. Right: its distance from the first run, exact zeros in a strip.

    A log axis has no 0, so an epoch whose loss equals the first run's exactly
    is not drawn on it: it gets a marker in the "exactly 0" strip under the
    log axis, one row per run, and the line on the log axis breaks there.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(12, 5.6), layout="constrained")
    grid = fig.add_gridspec(2, 2, height_ratios=(4, 1))
    left = fig.add_subplot(grid[:, 0])
    right = fig.add_subplot(grid[0, 1])
    strip = fig.add_subplot(grid[1, 1], sharex=right)
    names = list(histories)
    first = np.asarray(histories[names[0]]["loss"], np.float64)
    # Widest line first, so curves lying exactly on top of each other stay visible as nested stripes.
    widths, markers = (7, 4.5, 2.5, 1), ("o", "s", "^", "x")
    gaps = {}
    for index, name in enumerate(names):
        loss = np.asarray(histories[name]["loss"], np.float64)
        epochs = np.arange(1, len(loss) + 1)
        style: dict[str, Any] = {"color": f"C{index}", "marker": markers[index % 4]}
        left.plot(epochs, loss, linewidth=widths[index % 4], markersize=4, label=name, **style)
        if index == 0:
            continue
        gaps[name] = gap = np.abs(loss - first)
        right.plot(epochs, np.where(gap > 0, gap, np.nan), linewidth=widths[index % 4] / 2, markersize=7, **style)
        row = len(gaps) - 1
        strip.plot(epochs[gap == 0], np.full(int((gap == 0).sum()), row), linestyle="none", markersize=7, **style)
    largest = max((g.max() for g in gaps.values()), default=0.0)
    nonzero = np.concatenate([g[g > 0] for g in gaps.values()] or [np.zeros(0)])
    low = min(nonzero.min() / 10, 1e-9) if nonzero.size else 1e-9
    left.set(
        xlabel="epoch",
        ylabel="training loss (cross-entropy, nats)",
        title=f"Training loss per epoch: the curves differ by at most {largest:.2g}",
    )
    right.axhline(CURVE_TOLERANCE, color="grey", linestyle="--", label=f"'the same' tolerance {CURVE_TOLERANCE:g}")
    right.set(
        ylabel="|Δ training loss| vs run 1\n(nats, log scale)",
        yscale="log",
        ylim=(low, max(1e-3, largest * 10)),
        title=f"Distance from '{names[0]}'\n(exact zeros cannot sit on a log axis: they are marked in the strip below)",
    )
    right.legend(fontsize=8, loc="upper right")
    right.tick_params(labelbottom=False)
    strip.set(xlabel="epoch", ylim=(-0.6, max(len(gaps), 1) - 0.4), yticks=[])
    strip.set_ylabel("exactly 0", rotation=0, ha="right", va="center")
    for ax in (left, right, strip):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8)
    fig.suptitle(caption, fontsize=9)
    return fig


def claims(
    results: pd.DataFrame,
    samples: pd.DataFrame,
    per_class: pd.DataFrame,
    y_int: np.ndarray,
    y_onehot: np.ndarray,
    one_hot: str,
    sparse: str,
    epochs: int,
) -> list[Claim]:
    """The lesson's points to remember, from its tables and the two label arrays.

    Args:
        results: ``results_table`` (its first run is the reference); ``one_hot`` and ``sparse``
            name the Keras runs, every other row is a from-scratch twin of a loss.
        samples: ``per_sample_table`` with columns ``categorical_crossentropy`` and
            ``sparse_categorical_crossentropy``.
        per_class: ``per_class_table`` of the reference run.
        y_int, y_onehot: the training labels, stored both ways.
        epochs: the epochs each run trained.
    """
    runs = results.set_index("run")
    gap = float(runs.loc[sparse, GAP])
    accuracy_one_hot, accuracy_sparse = (
        float(runs.loc[one_hot, "test accuracy"]),
        float(runs.loc[sparse, "test accuracy"]),
    )
    same_curve, same_accuracy = gap <= CURVE_TOLERANCE, accuracy_one_hot == accuracy_sparse
    curve_words = (
        f"the training loss was exactly the one-hot run's at every one of {epochs} epochs"
        if gap == 0
        else f"the training loss stayed within {gap:.2g} of the one-hot run's over {epochs} epochs"
    )
    same_words = curve_words + (
        f" and test accuracy was the same ({accuracy_sparse:.4f})"
        if same_accuracy
        else f", yet test accuracy moved from {accuracy_one_hot:.4f} to {accuracy_sparse:.4f} "
        f"({runs.loc[sparse, 'same predicted class as run 1']:.1%} of test predictions agree)"
    )
    if same_curve and same_accuracy:
        first = (
            "In your own code, keep the labels as integers 0..C-1 and write loss='sparse_categorical_crossentropy': "
            f"no to_categorical needed. From the same seed, {same_words}."
        )
    elif same_curve or same_accuracy:
        first = (
            "Integer labels with loss='sparse_categorical_crossentropy' trained almost, not exactly, like one-hot "
            f"labels with 'categorical_crossentropy' here: {same_words}; float rounding grows over many steps."
        )
    else:
        first = (
            "Here integer labels with 'sparse_categorical_crossentropy' did not train like one-hot labels with "
            f"'categorical_crossentropy' ({same_words}): check that both runs start from the same seed and that "
            "the labels are 0..C-1."
        )

    columns = ("categorical_crossentropy", "sparse_categorical_crossentropy")
    reference = samples["-log p(true class), NumPy"]
    formula_gaps = {name: largest_gap(samples[name], reference) for name in columns}
    twins = [name for name in runs.index if name not in (one_hot, sparse)]
    twin_gap = max((float(runs.loc[name, GAP]) for name in twins), default=float("nan"))
    formula_holds = max(formula_gaps.values()) <= CURVE_TOLERANCE
    twins_hold = bool(twins) and twin_gap <= CURVE_TOLERANCE

    integer_bytes, one_hot_bytes = int(np.asarray(y_int).nbytes), int(np.asarray(y_onehot).nbytes)
    numbers_per_row = np.asarray(y_onehot).size / max(np.asarray(y_int).size, 1)
    num_classes = int(np.asarray(y_onehot).shape[-1])

    overall, majority = float(runs.loc[one_hot, "test accuracy"]), float(runs.loc[one_hot, "majority-class accuracy"])
    scored = per_class.dropna(subset=["test accuracy"])
    weakest, best = scored.loc[scored["test accuracy"].idxmin()], scored.loc[scored["test accuracy"].idxmax()]
    chance = 1 / len(per_class)
    learned, every_class = overall > majority, float(weakest["test accuracy"]) > chance
    spread = (
        f"overall test accuracy {overall:.4f} (always naming the commonest class: {majority:.4f}) hides a spread "
        f"from {weakest['test accuracy']:.3f} on class {weakest['class']!r} (most often mistaken for "
        f"{weakest['most often mistaken for'] or 'nothing'!r}) to {best['test accuracy']:.3f} on "
        f"class {best['class']!r}"
    )
    return [
        Claim(
            key="sparse_labels_train_the_same",
            claim="from the same seed, integer labels + sparse_categorical_crossentropy train the same model as "
            "one-hot labels + categorical_crossentropy",
            verdict=verdict_of(same_curve and same_accuracy, partly=same_curve or same_accuracy),
            numbers={
                "epochs": epochs,
                "max_train_loss_gap": gap,
                "tolerance": CURVE_TOLERANCE,
                "test_accuracy_one_hot": accuracy_one_hot,
                "test_accuracy_integers": accuracy_sparse,
            },
            conclusion=first,
        ),
        Claim(
            key="both_losses_are_minus_log_p",
            claim="categorical and sparse categorical cross-entropy both compute -log p(true class)",
            verdict=verdict_of(formula_holds and twins_hold, partly=formula_holds),
            numbers={
                "test_rows": len(samples),
                "max_gap_categorical": formula_gaps["categorical_crossentropy"],
                "max_gap_sparse": formula_gaps["sparse_categorical_crossentropy"],
                "max_train_loss_gap_twins": twin_gap,
            },
            conclusion=(
                f"Both losses are -log p(true class) and nothing more: on all {len(samples)} test rows each Keras "
                f"loss is within {max(formula_gaps.values()):.1g} of a float64 NumPy -log p"
                + (
                    ", and the same formula written from scratch (cookbook.losses) trained along the same curve "
                    + ("(exactly)." if twin_gap == 0 else f"(within {twin_gap:.2g}).")
                    if twins_hold
                    else f"; the from-scratch twins (cookbook.losses) drifted by {twin_gap:.2g}, more than "
                    f"{CURVE_TOLERANCE:g}."
                )
                if formula_holds
                else f"The Keras losses differed from float64 NumPy's -log p(true class) by up to "
                f"{max(formula_gaps.values()):.2g} on {len(samples)} test rows: more than float rounding."
            ),
        ),
        Claim(
            key="one_hot_labels_cost_c_times_the_memory",
            claim="sparse labels are cheaper: one number per sample instead of a row of C",
            verdict=verdict_of(one_hot_bytes > integer_bytes and numbers_per_row == num_classes),
            numbers={
                "num_classes": num_classes,
                "numbers_per_one_hot_row": numbers_per_row,
                "integer_label_bytes": integer_bytes,
                "one_hot_label_bytes": one_hot_bytes,
            },
            conclusion=(
                f"The one real difference is storage: one-hot rows hold {numbers_per_row:.0f} numbers per sample "
                f"where an integer label holds one, {one_hot_bytes:,} bytes against {integer_bytes:,} for these "
                f"training labels ({one_hot_bytes / max(integer_bytes, 1):.0f}x); with many classes that is what "
                "sparse labels save."
            ),
        ),
        Claim(
            key="every_class_is_learned",
            claim="softmax on C units learns every class, not just the common ones",
            verdict=verdict_of(learned and every_class, partly=learned),
            numbers={
                "test_accuracy": overall,
                "majority_class_accuracy": majority,
                "weakest_class_accuracy": float(weakest["test accuracy"]),
                "best_class_accuracy": float(best["test accuracy"]),
                "chance": chance,
            },
            conclusion=(
                f"Read accuracy per class, not only overall: the {spread}."
                if learned and every_class
                else f"Not every class was learned: the {spread}, at or below guessing (1/{len(per_class)})."
                if learned
                else f"This model did not beat always naming the commonest class: the {spread}; check the data and "
                "the learning rate first."
            ),
        ),
    ]
