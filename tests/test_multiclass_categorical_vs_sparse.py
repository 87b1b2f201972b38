"""Lesson 02 (categorical vs sparse cross-entropy): its evidence on tiny inputs, and its claims from one quick run."""

from cookbook import claims
from cookbook.claims import Verdict
from cookbook.lessons import multiclass_categorical_vs_sparse as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "02_multiclass_categorical_vs_sparse"
ONE_HOT, SPARSE, TWIN = "one-hot", "integers", "twin"
Y_TEST = np.array([0, 0, 0, 1, 2, 2])  # class 0 is the commonest: majority-class accuracy 3/6
# Each row's largest probability is the predicted class: 0, 0, 1, 1, 2, 0 -> 4 of 6 right.
P_TEST = np.array(
    [[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8], [0.5, 0.2, 0.3]]
)


def _results(sparse_loss_gap=0.0, sparse_flips=0, probabilities=P_TEST):
    """A results_table of three runs; the sparse run's loss curve and predictions differ by the given amounts."""
    history = {"loss": [1.0, 0.5, 0.25], "accuracy": [0.5, 0.6, 0.7]}
    shifted = {"loss": [1.0, 0.5 + sparse_loss_gap, 0.25], "accuracy": history["accuracy"]}
    sparse_p = np.array(probabilities, dtype=float)
    sparse_p[:sparse_flips] = sparse_p[:sparse_flips, ::-1]  # reversed rows predict another class
    return evidence.results_table(
        {ONE_HOT: history, SPARSE: shifted, TWIN: {"loss": [1.0, 0.5 + 6e-8, 0.25], "accuracy": [0.5, 0.6, 0.7]}},
        {ONE_HOT: probabilities, SPARSE: sparse_p, TWIN: probabilities},
        {ONE_HOT: "one-hot row", SPARSE: "integer", TWIN: "integer"},
        Y_TEST,
    )


def _claims(results=None, probabilities=P_TEST):
    """The lesson's claims from hand-made tables: per-class from the one-hot run, losses equal to -log p."""
    results = _results() if results is None else results
    per_class = evidence.per_class_table(Y_TEST, np.asarray(probabilities).argmax(axis=1), ["a", "b", "c"])
    minus_log_p = evidence.minus_log_p(Y_TEST, probabilities)
    samples = evidence.per_sample_table(
        Y_TEST,
        probabilities,
        {"categorical_crossentropy": minus_log_p + 1e-7, "sparse_categorical_crossentropy": minus_log_p},
    )
    y_int = np.array([0, 1, 2, 2])
    found = evidence.claims(
        results, samples, per_class, y_int, keras.utils.to_categorical(y_int, 3), ONE_HOT, SPARSE, epochs=3
    )
    return claims.by_key(found)


def test_largest_gap_is_the_worst_position():
    """largest_gap returns the largest absolute per-epoch difference, 0.0 for identical curves."""
    assert evidence.largest_gap([1.0, 0.5, 0.25], [1.0, 0.4, 0.26]) == pytest.approx(0.1)
    assert evidence.largest_gap([1.0, 0.5], [1.0, 0.5]) == 0.0


def test_minus_log_p_matches_both_keras_losses_and_clips_like_keras():
    """float64 -log p(true class) equals Keras's two cross-entropies, and an exact 0 costs -log(1e-7), not inf."""
    y = np.array([0, 2, 1])
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.25, 0.5, 0.25]], "float32")
    expected = -np.log([0.7, 0.6, 0.5])
    np.testing.assert_allclose(evidence.minus_log_p(y, p), expected, rtol=1e-6)
    sparse = keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(y, p))
    categorical = keras.ops.convert_to_numpy(keras.losses.categorical_crossentropy(keras.utils.to_categorical(y, 3), p))
    np.testing.assert_allclose(sparse, expected, rtol=1e-5)
    np.testing.assert_allclose(categorical, expected, rtol=1e-5)
    assert evidence.minus_log_p([1], np.array([[1.0, 0.0]])) == pytest.approx([-np.log(1e-7)])


def test_label_table_puts_the_single_one_in_the_labels_column():
    """Each printed one-hot row has its single 1 in the column of the integer label."""
    y = np.array([3, 0, 9, 5])
    table = evidence.label_table(y, keras.utils.to_categorical(y, 10))
    for label, row in zip(table.iloc[:, 0], table.iloc[:, 1]):
        assert row.split().index("1") == label and row.split().count("1") == 1


def test_results_table_compares_every_run_with_the_first():
    """Accuracy 4/6, majority 3/6, the loss gap, and the share of predictions that agree with run 1."""
    table = _results(sparse_loss_gap=0.01, sparse_flips=2).set_index("run")
    assert table.loc[ONE_HOT, "test accuracy"] == pytest.approx(4 / 6)
    assert (table["majority-class accuracy"] == 0.5).all()
    assert table.loc[ONE_HOT, "max |Δ train loss| vs run 1"] == 0.0
    assert table.loc[SPARSE, "max |Δ train loss| vs run 1"] == pytest.approx(0.01)
    assert table.loc[SPARSE, "same predicted class as run 1"] == pytest.approx(4 / 6)
    assert table.loc[SPARSE, "max |Δ test probability| vs run 1"] == pytest.approx(0.7)
    assert table.loc[ONE_HOT, "test loss"] == pytest.approx(np.mean(-np.log([0.8, 0.6, 0.2, 0.8, 0.8, 0.3])))


def test_per_class_table_counts_rows_accuracy_and_the_commonest_mistake():
    """Class a: 2 of 3 right, its miss named b; class c: 1 of 2, its miss named a; class b: all right."""
    table = evidence.per_class_table(Y_TEST, P_TEST.argmax(axis=1), ["a", "b", "c"]).set_index("class")
    assert table["test rows"].tolist() == [3, 1, 2]
    np.testing.assert_allclose(table["test accuracy"], [2 / 3, 1.0, 0.5])
    assert table["most often mistaken for"].tolist() == ["b", "", "a"]
    assert table["label"].tolist() == [0, 1, 2]


def test_claims_hold_when_the_two_encodings_train_alike():
    """Same curve, same accuracy, losses equal to -log p, C numbers per one-hot row, every class beats chance."""
    found = _claims()
    same = found["sparse_labels_train_the_same"]
    assert same.verdict is Verdict.HOLDS and same.numbers["max_train_loss_gap"] == 0.0
    formula = found["both_losses_are_minus_log_p"]
    assert formula.verdict is Verdict.HOLDS
    assert formula.numbers["max_gap_categorical"] == pytest.approx(1e-7)
    assert formula.numbers["max_train_loss_gap_twins"] == pytest.approx(6e-8)
    memory = found["one_hot_labels_cost_c_times_the_memory"]
    assert memory.verdict is Verdict.HOLDS and memory.numbers["numbers_per_one_hot_row"] == 3
    assert memory.numbers["one_hot_label_bytes"] > memory.numbers["integer_label_bytes"]
    learned = found["every_class_is_learned"]
    assert learned.verdict is Verdict.HOLDS
    assert learned.numbers["weakest_class_accuracy"] == 0.5 and learned.numbers["best_class_accuracy"] == 1.0


@pytest.mark.parametrize(
    ("loss_gap", "flips", "verdict"),
    [(0.01, 0, Verdict.PARTLY), (0.0, 2, Verdict.PARTLY), (0.01, 2, Verdict.FAILS)],
)
def test_sparse_claim_follows_the_curve_and_the_accuracy(loss_gap, flips, verdict):
    """A drifting curve or a changed test accuracy makes it partly true; both make it fail."""
    found = _claims(_results(sparse_loss_gap=loss_gap, sparse_flips=flips))
    assert found["sparse_labels_train_the_same"].verdict is verdict


def test_every_class_claim_has_three_verdicts():
    """A class at chance makes it partly true; losing to the majority-class guess makes it fail."""
    at_chance = P_TEST.copy()
    at_chance[2:] = [[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.1, 0.8, 0.1], [0.6, 0.2, 0.2]]  # c: 0 of 2; all 4/6
    found = _claims(_results(probabilities=at_chance), probabilities=at_chance)
    assert found["every_class_is_learned"].verdict is Verdict.PARTLY
    all_wrong = np.roll(np.eye(3)[Y_TEST], 1, axis=1) * 0.8 + 0.1  # every row names the next class
    found = _claims(_results(probabilities=all_wrong), probabilities=all_wrong)
    assert found["every_class_is_learned"].verdict is Verdict.FAILS
    assert found["every_class_is_learned"].numbers["test_accuracy"] == 0.0


def test_figure_keeps_exact_zeros_off_the_log_axis():
    """On the log axis only positive gaps are drawn; each exact zero is a marker in the strip below."""
    histories = {
        "reference": {"loss": [1.0, 0.5, 0.25]},
        "exact": {"loss": [1.0, 0.5, 0.25]},
        "rounded": {"loss": [1.0, 0.5 + 1e-8, 0.25]},
    }
    figure = evidence.plot_curves(histories, "caption")
    _, log_axis, strip = figure.axes
    drawn = np.concatenate([line.get_ydata() for line in log_axis.get_lines()[:2]])
    assert np.all(np.isnan(drawn) | (drawn > 0)) and log_axis.get_yscale() == "log"
    assert np.nanmin(drawn) == pytest.approx(1e-8) and log_axis.get_ylim()[0] < 1e-8
    assert [len(line.get_xdata()) for line in strip.get_lines()] == [3, 2]


def test_both_losses_train_a_tiny_model_alike():
    """Same seed, 40 rows, 3 epochs: one-hot + categorical and integers + sparse give the same loss curve."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4)).astype("float32")
    y = rng.integers(0, 3, size=40)
    curves = []
    for loss, labels in (
        ("categorical_crossentropy", keras.utils.to_categorical(y, 3)),
        ("sparse_categorical_crossentropy", y),
    ):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss, run_eagerly=True)
        curves.append(model.fit(X, labels, epochs=3, batch_size=8, verbose=0).history["loss"])
    np.testing.assert_allclose(curves[0], curves[1], atol=1e-6)


@pytest.mark.slow
def test_quick_run_trains_alike_and_its_claims_match_its_tables(quick_run):
    """The quick run's claims hold, quote its results table, and its per-class table names every class."""
    out = quick_run(LESSON)
    results = pd.read_csv(out / f"{LESSON}.csv")
    per_class = pd.read_csv(out / f"{LESSON}_per_class.csv")
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    same = found["sparse_labels_train_the_same"]
    assert same.verdict is Verdict.HOLDS
    assert same.numbers["max_train_loss_gap"] == pytest.approx(results["max |Δ train loss| vs run 1"].iloc[1])
    assert same.numbers["test_accuracy_integers"] == pytest.approx(results["test accuracy"].iloc[1])
    assert results["max |Δ train loss| vs run 1"].max() < evidence.CURVE_TOLERANCE
    assert found["both_losses_are_minus_log_p"].verdict is Verdict.HOLDS
    assert found["one_hot_labels_cost_c_times_the_memory"].numbers["numbers_per_one_hot_row"] == len(per_class) == 10
    learned = found["every_class_is_learned"]
    assert learned.numbers["weakest_class_accuracy"] == pytest.approx(per_class["test accuracy"].min())
    assert learned.numbers["test_accuracy"] > 5 * learned.numbers["majority_class_accuracy"]
