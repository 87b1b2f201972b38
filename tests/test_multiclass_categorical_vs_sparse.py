"""Recipe 02's claims: one-hot + categorical and integers + sparse cross-entropy train the same model."""

import types

from cookbook import curriculum

import numpy as np
import pandas as pd
import pytest

RECIPE = "02_multiclass_categorical_vs_sparse"
CURVE_TOLERANCE = 1e-5  # float32 rounding between two ways of computing -log p(true class)


@pytest.fixture(scope="module")
def recipe02(recipes):
    return curriculum.load(curriculum.resolve(recipes, "multiclass_categorical_vs_sparse"))


@pytest.fixture(scope="module")
def run(quick_run):
    table, out = quick_run("multiclass_categorical_vs_sparse")
    return table.set_index("run"), out


@pytest.mark.slow
def test_the_four_runs_store_labels_both_ways(run):
    """Two runs train on one-hot rows, two on integers; Keras's losses and the cookbook twins."""
    table, _ = run
    assert len(table) == 4
    assert sorted(table["labels per sample"]) == ["integer", "integer", "one-hot row", "one-hot row"]
    assert table.index[0] == "one-hot + keras categorical_crossentropy"


@pytest.mark.slow
def test_loss_curves_coincide_within_float_rounding(run):
    """Every epoch's training loss (and accuracy) is within 1e-5 of the one-hot run's."""
    table, _ = run
    assert table["max |Δ train loss| vs run 1"].max() < CURVE_TOLERANCE
    assert table["max |Δ train accuracy| vs run 1"].max() < CURVE_TOLERANCE
    assert table["final train loss"].max() - table["final train loss"].min() < CURVE_TOLERANCE


@pytest.mark.slow
def test_test_accuracy_is_identical_and_predictions_agree(run):
    """Same test accuracy in all four runs, every test prediction the same class, probabilities within 1e-5."""
    table, _ = run
    assert table["test accuracy"].nunique() == 1
    assert (table["same predicted class as run 1"] == 1.0).all()
    assert table["max |Δ test probability| vs run 1"].max() < CURVE_TOLERANCE
    assert table["test accuracy"].iloc[0] > 0.5, "two quick epochs already beat chance (0.1) by far"


@pytest.mark.slow
def test_both_losses_equal_minus_log_p_of_the_true_class(run):
    """The per-sample table: both Keras losses equal float64 NumPy's -log p(true class)."""
    _, out = run
    samples = pd.read_csv(out / f"{RECIPE}_per_sample.csv")
    assert len(samples) >= 3
    reference = -np.log(samples["p(true class)"])
    np.testing.assert_allclose(samples["categorical_crossentropy"], reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(samples["sparse_categorical_crossentropy"], reference, rtol=1e-5, atol=1e-6)


def test_largest_curve_difference_measures_the_worst_epoch(recipe02):
    """The helper returns the largest per-epoch gap, so a curve that drifts would fail the claim."""
    a = types.SimpleNamespace(history={"loss": [1.0, 0.5, 0.25]})
    b = types.SimpleNamespace(history={"loss": [1.0, 0.4, 0.26]})
    assert recipe02.largest_curve_difference(a, b) == pytest.approx(0.1)
    assert recipe02.largest_curve_difference(a, a) == 0.0


def test_label_table_shows_one_hot_rows_matching_the_integers(recipe02):
    """Each printed one-hot row has its single 1 in the column of the integer label."""
    import keras

    y = np.array([3, 0, 9, 5])
    table = recipe02.label_table(y, keras.utils.to_categorical(y, 10))
    for label, row in zip(table.iloc[:, 0], table.iloc[:, 1]):
        assert row.split().index("1") == label and row.split().count("1") == 1
