"""Lesson 04 (multi-label sigmoid): its evidence on tiny inputs, and its claims from one quick run."""

from cookbook import claims
from cookbook.claims import Verdict
from cookbook.lessons import multilabel_sigmoid as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "04_multilabel_sigmoid"
SIGMOID, SOFTMAX, TUNED = "sig", "soft", "soft tuned"


def test_digit_labels_are_even_greater_than_4_and_closed_loop():
    """Each digit's row is (even, > 4, in 0/6/8/9), checked against the rule for all ten digits."""
    y = evidence.digit_labels(np.arange(10))
    assert y.shape == (10, 3) and y.dtype == np.float32
    for d in range(10):
        assert y[d].tolist() == [d % 2 == 0, d > 4, d in (0, 6, 8, 9)]
    assert y.sum(axis=1).tolist() == [2, 0, 1, 0, 1, 1, 3, 1, 3, 2]


def test_label_count_table_gives_shares_of_images_by_labels_on():
    """Digits 1, 6, 6, 9: one image with 0 labels, two with 3, one with 2; shares sum to 1."""
    table = evidence.label_count_table({"train": evidence.digit_labels([1, 6, 6, 9])}).iloc[0]
    assert table["images"] == 4
    assert [table[f"{n} labels on"] for n in range(4)] == [0.25, 0.0, 0.25, 0.5]


def test_binary_crossentropy_float64_is_the_textbook_formula():
    """y = (1, 0), p = (0.8, 0.3): -log 0.8 and -log 0.7; p = 0 and 1 are clipped at 1e-7 as Keras does."""
    np.testing.assert_allclose(
        evidence.binary_crossentropy_float64([[1, 0]], [[0.8, 0.3]]), [[-np.log(0.8), -np.log(0.7)]]
    )
    assert evidence.binary_crossentropy_float64([[1.0]], [[0.0]])[0, 0] == pytest.approx(-np.log(1e-7))


def test_keras_binary_crossentropy_on_k_units_is_the_mean_of_one_unit_values():
    """keras.losses.binary_crossentropy on 3 units = mean of its 3 one-column values = float64 formula mean."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, (20, 3)).astype("float32")
    p = rng.uniform(0.01, 0.99, (20, 3)).astype("float32")
    on_k = keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(y, p))
    one = np.stack(
        [keras.ops.convert_to_numpy(keras.losses.binary_crossentropy(y[:, [j]], p[:, [j]])) for j in range(3)], 1
    )
    table = evidence.bce_check_table(y, p, on_k, one)
    np.testing.assert_allclose(on_k, evidence.binary_crossentropy_float64(y, p).mean(axis=1), rtol=1e-5)
    assert table["max abs difference"].max() < 1e-6
    assert float(keras.losses.BinaryCrossentropy()(y, p)) == pytest.approx(on_k.mean(), rel=1e-5)


def test_bce_check_table_reports_a_difference_it_is_fed():
    """A Keras value off by 0.1 on one row shows as a 0.1 difference on that row."""
    y, p = np.array([[1.0, 0.0]]), np.array([[0.8, 0.3]])
    one = evidence.binary_crossentropy_float64(y, p)
    table = evidence.bce_check_table(y, p, one.mean(axis=1) + 0.1, one)
    assert table["max abs difference"].iloc[0] == pytest.approx(0.1)


def test_compiled_binary_crossentropy_is_the_mean_float64_bce_over_labels_and_rows():
    """A tiny Dense(3, sigmoid) model: evaluate's loss equals the float64 BCE averaged over labels and rows."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(32, 4)).astype("float32")
    y = evidence.digit_labels(rng.integers(0, 10, 32))
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(X, y, epochs=2, batch_size=8, verbose=0)
    expected = evidence.binary_crossentropy_float64(y, model.predict(X, verbose=0)).mean()
    assert model.evaluate(X, y, verbose=0) == pytest.approx(expected, rel=1e-4)


def test_scores_count_labels_exact_matches_and_images_with_several_labels():
    """Four images, hand-counted: per-label accuracy, exact match, and the 2+-label images' scores."""
    y = np.array([[1, 0, 1], [1, 1, 1], [0, 0, 0], [0, 1, 0]])
    p = np.array([[0.9, 0.2, 0.7], [0.9, 0.4, 0.6], [0.1, 0.6, 0.2], [0.3, 0.8, 0.1]])
    got = evidence.scores(y, p)
    assert [got[f"accuracy: {label}"] for label in evidence.LABELS] == [1.0, 0.5, 1.0]
    assert got["mean per-label accuracy"] == pytest.approx(10 / 12)
    assert got["exact match"] == 0.5  # rows 0 and 3
    assert got["2+ predicted on 2+-label images"] == 1.0  # rows 0 and 1 both get 2 or more
    assert got["all right on 2+-label images"] == 0.5  # row 1 misses its middle label
    assert evidence.scores(y, p, threshold=0.35)["exact match"] == 0.75  # rows 0, 1 and 3; row 2 misses


def test_a_softmax_never_puts_two_of_three_labels_above_one_half():
    """Any softmax over 3 units: no image gets 2+ labels at 0.5, so the 2+-label images all count 0 or 1."""
    logits = np.random.default_rng(2).normal(scale=3.0, size=(500, 3)).astype("float32")
    p = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    y = np.ones((500, 3))
    shares = evidence.predicted_label_counts(y, p)
    assert shares[2] == 0 and shares[3] == 0 and shares.sum() == pytest.approx(1.0)
    assert evidence.scores(y, p)["2+ predicted on 2+-label images"] == 0.0


def test_no_threshold_lets_a_softmax_get_both_the_no_label_and_the_all_label_images_right():
    """The best softmax for the ten digits: exact match 0.8 at most (1s and 3s, or 6s and 8s, always wrong)."""
    y = evidence.digit_labels(np.arange(10)).astype(np.float64)
    p = _softmax_of_labels(y)
    exact = [evidence.scores(y, p, t)["exact match"] for t in evidence.THRESHOLDS]
    assert max(exact) == pytest.approx(0.8)
    assert evidence.best_threshold(y, p) == 0.45  # 1/3 <= t < 1/2 works; 0.45 is the nearest to 0.5


def test_best_threshold_maximizes_exact_match_and_prefers_one_half_on_ties():
    """Perfect probabilities tie at every threshold, so 0.5 wins; shifted ones get the working threshold nearest 0.5."""
    y = evidence.digit_labels(np.arange(10)).astype(np.float64)  # float32 0.6 is above 0.6
    assert evidence.best_threshold(y, y) == 0.5
    assert evidence.best_threshold(y, 0.6 + 0.3 * y) == 0.6  # "off" at 0.6, "on" at 0.9: 0.6 to 0.85 all work
    assert evidence.best_threshold(y, 0.1 + 0.3 * y) == 0.35  # "off" at 0.1, "on" at 0.4: 0.1 to 0.35 all work


def test_majority_labels_and_the_baseline_row():
    """The baseline predicts each label's more frequent training value; its exact match is that row's share."""
    y_train = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0]])
    assert evidence.majority_labels(y_train).tolist() == [1, 0, 0]
    y_test = np.array([[1, 0, 0], [0, 0, 0]])
    table = evidence.results_table(
        {"m": y_test}, {"m": ("m", 0.5), "m at 0.3": ("m", 0.3)}, {"m": 1.0}, y_test, y_train
    )
    baseline = table[table["model"] == evidence.BASELINE].iloc[0]
    assert baseline["exact match"] == 0.5 and baseline["mean per-label accuracy"] == pytest.approx(5 / 6)
    assert table["Keras BinaryAccuracy"].iloc[0] == 1.0
    assert np.isnan(table["Keras BinaryAccuracy"].iloc[1]), "Keras's metric is at 0.5 only"


def test_check_each_passes_the_sigmoid_head_and_refuses_the_softmax_on_multi_hot_labels():
    """check_setup: silent on Dense(3, sigmoid) + binary CE, refuses Dense(3, softmax) + categorical CE."""
    y = evidence.digit_labels([0, 1, 6, 9])

    def compiled(activation, loss):
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=activation)])
        model.compile(optimizer="adam", loss=loss)
        return model

    models = {
        SIGMOID: compiled("sigmoid", "binary_crossentropy"),
        SOFTMAX: compiled("softmax", "categorical_crossentropy"),
    }
    assert evidence.check_each(models, y) == {SIGMOID: False, SOFTMAX: True}


def test_examples_table_shows_one_image_per_digit_and_each_heads_row_sum():
    """Digits 6 and 9, two heads: four rows; the sum column is the row's sum; predictions at 0.5."""
    digits = np.array([1, 6, 9, 6])
    p = {
        SIGMOID: np.array([[0.1, 0.2, 0.3], [0.9, 0.8, 0.7], [0.2, 0.9, 0.6], [0, 0, 0]]),
        SOFTMAX: np.full((4, 3), 1 / 3),
    }
    table = evidence.examples_table(digits, p, (6, 9))
    assert table["digit"].tolist() == [6, 6, 9, 9]
    np.testing.assert_allclose(table["sum"], [2.4, 1.0, 1.7, 1.0])
    assert table["predicted"].tolist() == ["1 1 1", "0 0 0", "0 1 1", "0 0 0"]


def _results(sigmoid_p, softmax_p, tuned_threshold=0.5):
    """A results_table on the ten digits, one image each, with the given probabilities."""
    y = evidence.digit_labels(np.arange(10))
    rows = {SIGMOID: (SIGMOID, 0.5), SOFTMAX: (SOFTMAX, 0.5), TUNED: (SOFTMAX, tuned_threshold)}
    table = evidence.results_table({SIGMOID: sigmoid_p, SOFTMAX: softmax_p}, rows, {}, y, y)
    return table, y


def _bce_check(difference=0.0):
    y = evidence.digit_labels(np.arange(10))
    p = np.clip(y, 0.1, 0.9)
    one = evidence.binary_crossentropy_float64(y, p)
    return evidence.bce_check_table(y, p, one.mean(axis=1) + difference, one)


def _softmax_of_labels(y):
    """What a softmax learns from multi-hot rows: each row's labels share 1 (a row with none: a third each)."""
    on = y.sum(axis=1, keepdims=True)
    return np.where(on > 0, y / np.maximum(on, 1), 1 / 3)


def test_claims_when_the_sigmoid_head_learns_and_the_softmax_cannot():
    """Perfect sigmoid, label-sharing softmax: 'needs one unit' fails, softmax fails, the rest hold."""
    y = evidence.digit_labels(np.arange(10))
    table, y = _results(np.clip(y, 0.05, 0.95), _softmax_of_labels(y))
    found = claims.by_key(
        evidence.claims(table, SIGMOID, SOFTMAX, TUNED, _bce_check(), {SIGMOID: False, SOFTMAX: True}, y)
    )
    one_unit = found["binary_crossentropy_needs_one_unit"]
    assert one_unit.verdict is Verdict.FAILS
    assert one_unit.numbers["exact_match_sigmoid"] == 1.0 and one_unit.numbers["units"] == 3
    several = found["sigmoid_predicts_several_labels"]
    assert several.verdict is Verdict.HOLDS and several.numbers["test_images_with_2plus_labels"] == 4
    softmax = found["softmax_over_labels_learns_them"]
    assert softmax.verdict is Verdict.FAILS
    assert softmax.numbers["share_2plus_predicted_softmax"] == 0.0
    assert softmax.numbers["exact_match_ceiling_softmax_any_threshold"] == pytest.approx(0.8)  # 1s and 3s, or 6s and 8s
    assert softmax.numbers["exact_match_softmax"] <= 0.8
    assert found["bce_on_k_units_is_mean_of_one_unit_bces"].verdict is Verdict.HOLDS
    assert found["check_setup_tells_them_apart"].verdict is Verdict.HOLDS


def test_claims_when_nothing_was_learned_and_the_checks_disagree():
    """A sigmoid head stuck at 0.4 cannot refute 'one unit'; the softmax then ties it; bad BCE and check fail."""
    y = evidence.digit_labels(np.arange(10))
    table, y = _results(np.full((10, 3), 0.4), _softmax_of_labels(y), tuned_threshold=0.95)
    found = claims.by_key(
        evidence.claims(table, SIGMOID, SOFTMAX, TUNED, _bce_check(0.01), {SIGMOID: True, SOFTMAX: True}, y)
    )
    assert found["binary_crossentropy_needs_one_unit"].verdict is Verdict.NOT_MEASURED
    assert found["sigmoid_predicts_several_labels"].verdict is Verdict.FAILS
    assert found["softmax_over_labels_learns_them"].verdict is Verdict.HOLDS  # both 0.2: predict nothing
    bce = found["bce_on_k_units_is_mean_of_one_unit_bces"]
    assert bce.verdict is Verdict.FAILS and bce.numbers["max_abs_difference"] == pytest.approx(0.01)
    check = found["check_setup_tells_them_apart"]
    assert check.verdict is Verdict.FAILS and check.numbers == {"sigmoid_refused": 1, "softmax_refused": 1}


def test_plot_results_draws_two_panels_with_shares_within_zero_and_one():
    """Two axes, every bar between 0 and 1, one legend for the figure."""
    y = evidence.digit_labels(np.arange(10))
    table, y = _results(np.clip(y, 0.05, 0.95), _softmax_of_labels(y))
    fig = evidence.plot_results(table, [SIGMOID, SOFTMAX, evidence.BASELINE], {SIGMOID: y, SOFTMAX: y / 3}, y)
    left, right = fig.axes
    heights = [bar.get_height() for ax in (left, right) for bar in ax.patches]
    assert all(0 <= h <= 1 for h in heights) and len(fig.legends) == 1


@pytest.mark.slow
def test_quick_run_learns_the_labels_and_its_claims_match_its_table(quick_run):
    """The quick run's sigmoid head beats the baseline; Keras's BinaryAccuracy = the table's mean accuracy."""
    out = quick_run(LESSON)
    table = pd.read_csv(out / f"{LESSON}.csv")
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    assert found["binary_crossentropy_needs_one_unit"].verdict is Verdict.FAILS
    assert found["softmax_over_labels_learns_them"].numbers["share_2plus_predicted_softmax"] == 0.0
    assert found["bce_on_k_units_is_mean_of_one_unit_bces"].numbers["max_abs_difference"] < 1e-5
    assert found["check_setup_tells_them_apart"].verdict is Verdict.HOLDS
    keras_rows = table.dropna(subset=["Keras BinaryAccuracy"])
    assert len(keras_rows) == 2
    np.testing.assert_allclose(keras_rows["Keras BinaryAccuracy"], keras_rows["mean per-label accuracy"], atol=1e-6)
    exact = found["binary_crossentropy_needs_one_unit"].numbers["exact_match_sigmoid"]
    assert np.isclose(table["exact match"], exact).any() and exact > 0.8
