"""Lesson 03 (binary classification, sigmoid vs softmax head): its evidence on tiny inputs, its claims from one quick run."""

from cookbook import binary_heads, claims
from cookbook.claims import Verdict
from cookbook.lessons import binary_sigmoid_vs_softmax as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "03_binary_sigmoid_vs_softmax"
RUNS = ("A", "B", "C", "A, 2x lr")


def test_a_negative_hidden_ends_the_lesson_with_exit_2(capsys):
    """--hidden -1 is refused with one line on stderr and exit status 2; 0 and 8 pass through."""
    assert (evidence.hidden_units(0), evidence.hidden_units(8)) == (0, 8)
    with pytest.raises(SystemExit) as stopped:
        evidence.hidden_units(-1)
    assert stopped.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_decisions_threshold_one_unit_and_argmax_two():
    """A one-unit head calls class 1 above 0.5 (0.5 itself is class 0); a softmax head takes the argmax."""
    np.testing.assert_array_equal(evidence.decisions(np.array([[0.2], [0.5], [0.51]])), [0, 0, 1])
    np.testing.assert_array_equal(evidence.decisions(np.array([[0.8, 0.2], [0.3, 0.7]])), [0, 1])


def test_curve_gaps_is_the_largest_per_epoch_difference():
    """|[1, 0.5, 0.25] - [1, 0.4, 0.3]| peaks at 0.1, in the second epoch."""
    gaps = evidence.curve_gaps({"x": [1.0, 0.5, 0.25], "y": [1.0, 0.4, 0.3]}, [("x", "y"), ("x", "x")])
    assert gaps["max |d loss| over epochs"].tolist() == pytest.approx([0.1, 0.0])
    assert gaps[["first", "second"]].values.tolist() == [["x", "y"], ["x", "x"]]


def test_conversion_table_reads_p_class1_from_the_last_column_of_either_head():
    """A sigmoid output 0.7 and a softmax output [0.3, 0.7] are the same prediction; 0.4 vs [0.4, 0.6] is not."""
    sigmoid = np.array([[0.7], [0.4]])
    softmax = np.array([[0.3, 0.7], [0.4, 0.6]])
    table = evidence.conversion_table({"A -> B": (sigmoid, softmax)})
    assert table["max |dP(class 1)|"].iloc[0] == pytest.approx(0.2)
    assert table["different decisions"].iloc[0] == 1
    assert table[["rows", "head units"]].iloc[0].tolist() == [2, "1 -> 2"]


def _head_models(d=3, lr=0.01):
    a = keras.Sequential([keras.Input((d,)), keras.layers.Dense(1, activation="sigmoid")])
    a.compile(optimizer=keras.optimizers.Adam(lr), loss="binary_crossentropy", metrics=["accuracy"])
    b = keras.Sequential([keras.Input((d,)), keras.layers.Dense(2, activation="softmax")])
    b.compile(optimizer=keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return a, b


def test_heads_table_reads_heads_compile_settings_and_scores():
    """Head parameters d+1 and 2(d+1), the compiled lr and loss, the majority share and the rank AUC."""
    a, b = _head_models(d=3, lr=0.01)
    scores = {name: {"train": {"loss": 0.5, "accuracy": 0.8}, "test": {"loss": 0.6, "accuracy": 0.75}} for name in "AB"}
    y_test = np.array([0, 0, 0, 1])
    p = {"A": np.array([0.1, 0.4, 0.35, 0.8]), "B": np.array([0.9, 0.1, 0.2, 0.3])}
    table = evidence.heads_table({"A": a, "B": b}, scores, p, y_test).set_index("run")
    assert table["head params"].tolist() == [4, 8]
    assert table.loc["B", "loss"] == "sparse_categorical_crossentropy"
    assert table["learning rate"].tolist() == pytest.approx([0.01, 0.01])
    assert table["majority-class accuracy"].tolist() == [0.75, 0.75]
    assert table["test ROC AUC"].tolist() == pytest.approx([1.0, 2 / 3])
    assert table.loc["A", "test accuracy"] == 0.75


@pytest.mark.parametrize("optimizer", [keras.optimizers.SGD, keras.optimizers.Adam])
def test_a_softmax_head_at_lr_trains_like_a_sigmoid_head_at_twice_the_lr(optimizer):
    """The lesson's rule, on 40 rows: B at lr and A at 2 lr, from one function, keep predicting alike."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)).astype("float32")
    y = (X[:, 0] + 0.5 * rng.normal(size=40) > 0).astype("int32")
    a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    a.compile(optimizer=optimizer(0.1), loss="binary_crossentropy")
    b = binary_heads.sigmoid_to_softmax(a)
    b.compile(optimizer=optimizer(0.05), loss="sparse_categorical_crossentropy")
    for model, labels in ((a, y.astype("float32")), (b, y)):
        keras.utils.set_random_seed(0)
        model.fit(X, labels, epochs=3, batch_size=8, verbose=0)
    np.testing.assert_allclose(b.predict(X, verbose=0)[:, 1], a.predict(X, verbose=0)[:, 0], atol=1e-5)


def test_sparse_and_categorical_crossentropy_are_one_loss():
    """Keras's sparse loss on integer labels equals its categorical loss on the same labels one-hot."""
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]], "float32")
    y = np.array([0, 1, 1])
    sparse = keras.losses.sparse_categorical_crossentropy(y, p)
    dense = keras.losses.categorical_crossentropy(keras.utils.to_categorical(y, 2), p)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(sparse), -np.log([0.9, 0.8, 0.4]), rtol=1e-6)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(sparse), keras.ops.convert_to_numpy(dense), rtol=1e-6)


def _results(accuracy=(0.95, 0.95), twice=1e-8, same_lr=0.03, one_hot=1e-8, dp=(1e-7, 1e-7, 5e-7), changed=0):
    """Hand-made heads table, curve gaps and conversion table in the shapes the lesson passes to claims."""
    table = pd.DataFrame(
        {
            "run": list(RUNS),
            "learning rate": [0.02, 0.02, 0.02, 0.04],
            "head params": [31, 62, 62, 31],
            "train loss": [0.045, 0.036, 0.036, 0.036],
            "test loss": [0.11, 0.12, 0.12, 0.12],
            "test accuracy": [accuracy[0], accuracy[1], accuracy[1], accuracy[1]],
            "majority-class accuracy": [0.63] * 4,
        }
    )
    gaps = pd.DataFrame(
        {
            "first": ["B", "B", "A"],
            "second": ["C", "A, 2x lr", "B"],
            "max |d loss| over epochs": [one_hot, twice, same_lr],
        }
    )
    conversions = pd.DataFrame(
        {
            "conversion": ["A -> B", "B -> A", "shift"],
            "rows": [569] * 3,
            "max |dP(class 1)|": list(dp),
            "different decisions": [changed, 0, 0],
        }
    )
    return table, gaps, conversions


def test_claims_hold_when_conversions_are_exact_and_curves_coincide():
    """Exact conversions, both heads above the majority class, coinciding curves: every claim holds."""
    found = claims.by_key(evidence.claims(*_results(), hidden=0))
    assert [c.verdict for c in found.values()] == [Verdict.HOLDS] * 4
    assert found["heads_are_one_model"].numbers["head_params_softmax"] == 62
    assert found["softmax_trains_like_sigmoid_at_twice_the_lr"].numbers["gap_softmax_vs_sigmoid_2x_lr"] == 1e-8
    assert found["softmax_extra_parameters_add_nothing"].numbers["max_dp_common_shift"] == 5e-7


@pytest.mark.parametrize(
    "results, verdict",
    [
        ({"accuracy": (0.6, 0.95)}, Verdict.PARTLY),  # exact conversion, but one head did not beat the majority
        ({"dp": (1e-2, 1e-7, 5e-7)}, Verdict.FAILS),  # a conversion moved P(class 1)
        ({"changed": 1}, Verdict.FAILS),  # a conversion changed a decision
    ],
)
def test_heads_are_one_model_fails_or_is_partly_from_the_numbers(results, verdict):
    """Not learning makes the first claim partly; an inexact conversion makes it fail."""
    found = claims.by_key(evidence.claims(*_results(**results), hidden=0))
    assert found["heads_are_one_model"].verdict is verdict


@pytest.mark.parametrize(
    "hidden, twice, same_lr, verdict",
    [
        (0, 1e-8, 0.03, Verdict.HOLDS),
        (0, 0.01, 0.03, Verdict.FAILS),  # without a hidden layer the match must be exact
        (8, 0.01, 0.03, Verdict.PARTLY),  # a hidden layer: closer to A at 2 lr, not on it
        (8, 0.06, 0.02, Verdict.FAILS),  # a hidden layer: closer to A at the same lr
    ],
)
def test_twice_the_lr_verdict_follows_the_gaps(hidden, twice, same_lr, verdict):
    """Exact without a hidden layer holds; with one, partly when B is nearer A at 2 lr, else fails."""
    claim = claims.by_key(evidence.claims(*_results(twice=twice, same_lr=same_lr), hidden=hidden))
    found = claim["softmax_trains_like_sigmoid_at_twice_the_lr"]
    assert found.verdict is verdict
    assert (found.numbers["hidden_units"], found.numbers["gap_softmax_vs_sigmoid_same_lr"]) == (hidden, same_lr)


def test_one_hot_and_shift_claims_fail_when_their_numbers_say_so():
    """Sparse and one-hot curves apart, or a common shift that moves P(class 1): those claims fail."""
    found = claims.by_key(evidence.claims(*_results(one_hot=1e-3, dp=(1e-7, 1e-7, 1e-3)), hidden=0))
    assert found["sparse_and_one_hot_are_one_loss"].verdict is Verdict.FAILS
    assert found["softmax_extra_parameters_add_nothing"].verdict is Verdict.FAILS


@pytest.mark.parametrize("losses, scale", [([0.5, 0.1, 0.02], "log"), ([0.71, 0.69, 0.68], "linear")])
def test_plot_heads_draws_the_scatter_and_one_curve_per_run(losses, scale):
    """Left: two scatters; right: one line per run, on a log axis only when the losses span over 3x."""
    table, _, _ = _results()
    table["head"], table["loss"] = "Dense(1, sigmoid)", "binary_crossentropy"
    p = {"A": np.array([0.1, 0.9]), "B": np.array([0.2, 0.8]), "A -> B": np.array([0.1, 0.9])}
    fig = evidence.plot_heads(p, {run: losses for run in RUNS}, table, "tiny")
    left, right = fig.axes
    assert len(left.collections) == 2 and len(right.get_lines()) == 4 and right.get_yscale() == scale


@pytest.mark.slow
def test_quick_run_claims_match_its_tables(quick_run):
    """The quick run holds its claims, and their numbers are the ones in its CSV tables."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    assert all(claim.verdict is Verdict.HOLDS for claim in found.values())
    table = pd.read_csv(out / f"{LESSON}.csv").set_index("run")
    same = found["heads_are_one_model"].numbers
    assert same["test_accuracy_sigmoid"] == pytest.approx(table.loc["A", "test accuracy"])
    assert (same["head_params_sigmoid"], same["head_params_softmax"]) == (31, 62)
    history = pd.read_csv(out / f"{LESSON}_history.csv")
    b, a2 = (history[history["run"] == run]["train loss"].to_numpy() for run in ("B", "A, 2x lr"))
    gap = found["softmax_trains_like_sigmoid_at_twice_the_lr"].numbers["gap_softmax_vs_sigmoid_2x_lr"]
    assert np.abs(b - a2).max() == pytest.approx(gap, abs=1e-9) and gap < evidence.CURVE_TOLERANCE
