"""Evidence for lesson 03 (binary classification, sigmoid vs softmax head): tables, the figure, the claims.

The lesson builds, trains, converts and evaluates the heads; this module
measures what it got back: the comparison table, the largest gap between
training curves that should coincide, how far a conversion moves
``P(class 1)``, and the points to remember. Everything is NumPy and pandas
on what the lesson passes in (plus reading a model's head and compile
settings), so each piece is tested on tiny inputs in
``tests/test_binary_sigmoid_vs_softmax.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from cookbook.binary_heads import final_dense, head_parameter_count, roc_auc
from cookbook.claims import Claim, Verdict, verdict_of
from cookbook.figures import plain_log_ticks
from cookbook.heads import activation_name
from cookbook.settings import stop

import keras
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CURVE_TOLERANCE",
    "PROBABILITY_TOLERANCE",
    "claims",
    "conversion_table",
    "curve_gaps",
    "decisions",
    "heads_table",
    "history_table",
    "hidden_units",
    "plot_heads",
]

CURVE_TOLERANCE = 1e-5  # largest per-epoch gap between two training losses that still counts as "the same curve"
PROBABILITY_TOLERANCE = 1e-5  # largest change of P(class 1) that still counts as "the same prediction" (float32)
LOG_SCALE_RATIO = 3.0  # losses spanning more than this factor are drawn on a log axis
THRESHOLD = 0.5  # a one-unit sigmoid head calls class 1 when P(class 1) > THRESHOLD


def hidden_units(units: int) -> int:
    """The ``--hidden`` setting, checked: 0 (no body, logistic regression) or a positive number of relu units.

    A negative number ends the lesson with one line on stderr and exit status 2.
    """
    if units < 0:
        stop(f"--hidden must be 0 (no body) or a positive number of relu units, got {units}")
    return units


def decisions(outputs: np.ndarray) -> np.ndarray:
    """Each row's predicted class: a one-unit head thresholds ``P(class 1)`` at 0.5, a softmax head takes the argmax."""
    outputs = np.asarray(outputs)
    if outputs.shape[1] == 1:
        return (outputs[:, 0] > THRESHOLD).astype(int)
    return outputs.argmax(axis=1)


def _head(model: keras.Model) -> str:
    layer = final_dense(model)
    return f"Dense({layer.units}, {activation_name(layer.activation)})"


def heads_table(
    models: Mapping[str, keras.Model],
    scores: Mapping[str, Mapping[str, Mapping[str, float]]],
    p_class1: Mapping[str, np.ndarray],
    y_test: np.ndarray,
) -> pd.DataFrame:
    """One row per run: its head, loss, learning rate, head parameters, losses, accuracy and ROC AUC.

    Args:
        models: ``{run: compiled keras model}``.
        scores: ``{run: {"train": evaluate dict, "test": evaluate dict}}`` with ``loss`` and ``accuracy``.
        p_class1: ``{run: P(class 1) of every test row}``.
        y_test: the test rows' 0/1 labels.
    """
    y_test = np.asarray(y_test).reshape(-1)
    majority = float(max(np.mean(y_test), 1 - np.mean(y_test)))
    return pd.DataFrame(
        [
            {
                "run": name,
                "head": _head(model),
                "loss": model.loss if isinstance(model.loss, str) else type(model.loss).__name__,
                "learning rate": float(model.optimizer.learning_rate),
                "head params": head_parameter_count(model),
                "train loss": float(scores[name]["train"]["loss"]),
                "test loss": float(scores[name]["test"]["loss"]),
                "test accuracy": float(scores[name]["test"]["accuracy"]),
                "majority-class accuracy": majority,
                "test ROC AUC": roc_auc(y_test, p_class1[name]),
            }
            for name, model in models.items()
        ]
    )


def history_table(losses: Mapping[str, Sequence[float]]) -> pd.DataFrame:
    """Training loss per epoch of each run (``{run: History.history["loss"]}``), long format."""
    return pd.concat(
        [
            pd.DataFrame({"run": name, "epoch": np.arange(1, len(loss) + 1), "train loss": np.asarray(loss, float)})
            for name, loss in losses.items()
        ],
        ignore_index=True,
    )


def curve_gaps(losses: Mapping[str, Sequence[float]], pairs: Sequence[tuple[str, str]]) -> pd.DataFrame:
    """The largest per-epoch gap between two runs' training losses, for each pair of run names."""
    return pd.DataFrame(
        [
            {
                "first": first,
                "second": second,
                "max |d loss| over epochs": float(
                    np.max(np.abs(np.asarray(losses[first], float) - np.asarray(losses[second], float)))
                ),
            }
            for first, second in pairs
        ]
    )


def conversion_table(outputs: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """How far each conversion moved the predictions: ``{conversion: (outputs before, outputs after)}``.

    The outputs are ``model.predict`` of either head on the same rows;
    ``P(class 1)`` is the last column of both.
    """
    rows = []
    for name, (before, after) in outputs.items():
        before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
        rows.append(
            {
                "conversion": name,
                "rows": len(before),
                "head units": f"{before.shape[1]} -> {after.shape[1]}",
                "max |dP(class 1)|": float(np.max(np.abs(before[:, -1] - after[:, -1]))),
                "different decisions": int(np.sum(decisions(before) != decisions(after))),
            }
        )
    return pd.DataFrame(rows)


def plot_heads(
    p_class1: Mapping[str, np.ndarray], losses: Mapping[str, Sequence[float]], table: pd.DataFrame, data_name: str
) -> Figure:
    """Left: B's P(class 1) against A's, trained apart and converted. Right: every run's training loss.

    Args:
        p_class1: test rows' ``P(class 1)`` of runs ``"A"``, ``"B"`` and of ``"A -> B"`` (A converted).
        losses: ``{run: training loss per epoch}`` of the runs in ``table``.
        table: ``heads_table`` (for each run's head, loss and learning rate).
        data_name: for the title.
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(12, 5.2), layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=(1, 1.25))
    left.plot([0, 1], [0, 1], color="grey", linewidth=1, label="diagonal: the same prediction")
    left.scatter(p_class1["A"], p_class1["B"], s=16, alpha=0.6, label="B, trained on its own")
    left.scatter(p_class1["A"], p_class1["A -> B"], s=5, color="black", label="A converted to a softmax head")
    left.set(xlabel="A: sigmoid P(class 1)", ylabel="softmax P(class 1)", title=f"{data_name}, test rows: A vs B")
    left.legend(loc="upper left", fontsize="small")
    styles = {"A": ("-", None, 2.5), "B": ("-", None, 4.0), "C": ("--", None, 2.0), "A, 2x lr": (":", "o", 2.0)}
    for run in table.to_dict("records"):
        loss = np.asarray(losses[run["run"]], float)
        line, marker, width = styles.get(run["run"], ("-", None, 1.5))
        right.plot(
            np.arange(1, len(loss) + 1),
            loss,
            linestyle=line,
            marker=marker,
            linewidth=width,
            label=f"{run['run']}: {run['head']} + {run['loss']}, lr {run['learning rate']:g}",
        )
    every_loss = np.concatenate([np.asarray(loss, float) for loss in losses.values()])
    log = bool(every_loss.min() > 0 and every_loss.max() / every_loss.min() > LOG_SCALE_RATIO)
    right.set(
        xlabel="epoch",
        ylabel="training loss (mean over the epoch" + (", log scale)" if log else ")"),
        yscale="log" if log else "linear",
        title="Training loss of the four runs",
    )
    right.xaxis.set_major_locator(MaxNLocator(integer=True))
    if log:
        plain_log_ticks(right.yaxis)
    fig.legend(*right.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize="small")
    return fig


def _gap(gaps: pd.DataFrame, first: str, second: str) -> float:
    rows = gaps[(gaps["first"] == first) & (gaps["second"] == second)]
    return float(rows["max |d loss| over epochs"].iloc[0])


def claims(table: pd.DataFrame, gaps: pd.DataFrame, conversions: pd.DataFrame, *, hidden: int) -> list[Claim]:
    """The lesson's points to remember, from its heads table, curve gaps and conversion table.

    ``table`` has runs ``"A"``, ``"B"``, ``"C"``, ``"A, 2x lr"``; ``gaps`` the pairs (B, C),
    (B, A at 2x lr) and (A, B); ``conversions`` the rows A -> B, B -> A and the common shift, in that order.
    """
    runs = table.set_index("run")
    a, b, c = runs.loc["A"], runs.loc["B"], runs.loc["C"]
    majority = float(a["majority-class accuracy"])
    converted, shifted = conversions.iloc[:2], conversions.iloc[2]
    exact = bool(
        (converted["max |dP(class 1)|"] <= PROBABILITY_TOLERANCE).all()
        and (converted["different decisions"] == 0).all()
    )
    both_learn = bool(a["test accuracy"] > majority and b["test accuracy"] > majority)
    params_a, params_b = int(a["head params"]), int(b["head params"])
    same_words = (
        f"For two classes, use Dense(1, activation='sigmoid') with binary_crossentropy and 0/1 labels: "
        f"Dense(2, activation='softmax') with sparse_categorical_crossentropy is the same classifier with twice the "
        f"head parameters ({params_b} vs {params_a}). Converting a trained head into the other moved P(class 1) by "
        f"at most {converted['max |dP(class 1)|'].max():.2g} and changed {int(converted['different decisions'].sum())} "
        f"of {int(converted['rows'].iloc[0])} decisions"
    )
    if exact and both_learn:
        same_words += (
            f"; trained apart, both beat always naming the commonest class (test accuracy "
            f"{a['test accuracy']:.3f} and {b['test accuracy']:.3f} vs {majority:.3f})."
        )
    elif exact:
        same_words += (
            f", but this run did not learn: test accuracy {a['test accuracy']:.3f} and {b['test accuracy']:.3f} "
            f"against {majority:.3f} for always naming the commonest class."
        )
    else:
        same_words = (
            f"The conversion was not exact in this run: P(class 1) moved by up to "
            f"{converted['max |dP(class 1)|'].max():.2g} and {int(converted['different decisions'].sum())} decisions "
            "changed; check the heads' activations and dtypes."
        )

    lr = float(b["learning rate"])
    twice, same_lr = _gap(gaps, "B", "A, 2x lr"), _gap(gaps, "A", "B")
    why_body = (
        "only the output layer's logit difference moves twice as fast; the hidden layer gets the same gradient "
        "from both heads and moves at the rate you set"
    )
    if twice <= CURVE_TOLERANCE:
        rate_verdict = Verdict.HOLDS
        rate_words = (
            f"Swapping heads changes the effective learning rate: B (softmax) at lr {lr:g} followed A (sigmoid) at "
            f"{2 * lr:g} along one training curve (largest gap {twice:.2g}), while A at {lr:g} ended at training "
            f"loss {a['train loss']:.4g} against B's {b['train loss']:.4g}. Moving a tuned sigmoid model to a "
            "softmax head, halve its learning rate (and double it going back)."
        )
    elif hidden > 0:
        rate_verdict = verdict_of(False, partly=twice < same_lr)
        near, far = (2 * lr, lr) if twice < same_lr else (lr, 2 * lr)
        rate_words = (
            f"With a hidden layer of {hidden} relu units the factor of two holds for the head only: B at lr "
            f"{lr:g} stayed closer to A at {near:g} (largest gap {min(twice, same_lr):.2g}) than to A at {far:g} "
            f"({max(twice, same_lr):.2g}), because {why_body}. Without a hidden layer the match is exact."
        )
    else:
        rate_verdict = Verdict.FAILS
        rate_words = (
            f"B at lr {lr:g} did not follow A at {2 * lr:g} in this run (largest gap {twice:.2g}, against "
            f"{same_lr:.2g} for A at the same lr): without a hidden layer they should agree to float32 rounding, "
            "so check that both runs started from the same weights and saw the same batches."
        )

    one_loss = _gap(gaps, "B", "C")
    redundant = bool(shifted["max |dP(class 1)|"] <= PROBABILITY_TOLERANCE and shifted["different decisions"] == 0)
    return [
        Claim(
            key="heads_are_one_model",
            claim="Dense(1, sigmoid) + binary_crossentropy and Dense(2, softmax) + "
            "sparse_categorical_crossentropy are two ways to classify two classes",
            verdict=Verdict.HOLDS if exact and both_learn else verdict_of(False, partly=exact),
            numbers={
                "head_params_sigmoid": params_a,
                "head_params_softmax": params_b,
                "max_dp_conversion": float(converted["max |dP(class 1)|"].max()),
                "different_decisions": int(converted["different decisions"].sum()),
                "test_accuracy_sigmoid": float(a["test accuracy"]),
                "test_accuracy_softmax": float(b["test accuracy"]),
                "majority_accuracy": majority,
            },
            conclusion=same_words,
        ),
        Claim(
            key="softmax_trains_like_sigmoid_at_twice_the_lr",
            claim="a 2-unit softmax head at learning rate lr trains like a 1-unit sigmoid head at 2 lr",
            verdict=rate_verdict,
            numbers={
                "learning_rate": lr,
                "hidden_units": hidden,
                "gap_softmax_vs_sigmoid_2x_lr": twice,
                "gap_softmax_vs_sigmoid_same_lr": same_lr,
                "train_loss_sigmoid": float(a["train loss"]),
                "train_loss_softmax": float(b["train loss"]),
            },
            conclusion=rate_words,
        ),
        Claim(
            key="sparse_and_one_hot_are_one_loss",
            claim="sparse_categorical_crossentropy on integer labels and categorical_crossentropy on one-hot "
            "labels train the same model",
            verdict=verdict_of(one_loss <= CURVE_TOLERANCE),
            numbers={
                "gap_sparse_vs_one_hot": one_loss,
                "test_loss_sparse": float(b["test loss"]),
                "test_loss_one_hot": float(c["test loss"]),
            },
            conclusion=(
                f"Pick the softmax loss by the labels you have, not by the result: integer labels with "
                f"sparse_categorical_crossentropy and one-hot labels with categorical_crossentropy gave one training "
                f"curve (largest gap {one_loss:.2g}) and test loss {b['test loss']:.4g} vs {c['test loss']:.4g}."
                if one_loss <= CURVE_TOLERANCE
                else f"Sparse and one-hot labels gave different curves here (largest gap {one_loss:.2g}); they should "
                "not, so check that both runs started from the same weights and saw the same batches."
            ),
        ),
        Claim(
            key="softmax_extra_parameters_add_nothing",
            claim="the softmax head's second set of weights adds no capacity: only the logit difference matters",
            verdict=verdict_of(redundant),
            numbers={
                "head_params_sigmoid": params_a,
                "head_params_softmax": params_b,
                "max_dp_common_shift": float(shifted["max |dP(class 1)|"]),
                "different_decisions_common_shift": int(shifted["different decisions"]),
            },
            conclusion=(
                f"Half of the softmax head is redundant: adding one random vector to both columns of its kernel "
                f"(and one number to both biases) moved P(class 1) by at most {shifted['max |dP(class 1)|']:.2g} "
                f"and changed {int(shifted['different decisions'])} of {int(shifted['rows'])} decisions, because "
                "softmax([z0, z1])[1] = sigmoid(z1 - z0): only w1 - w0 and b1 - b0 matter, and they are the "
                "sigmoid head's w and b."
                if redundant
                else f"Shifting both logits moved P(class 1) by {shifted['max |dP(class 1)|']:.2g} here; in exact "
                "arithmetic it moves nothing, so float32 rounding or very large logits are at work."
            ),
        ),
    ]
