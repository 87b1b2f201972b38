"""Recipe 05's claims: what Keras does with each wrong setup, and that check_setup names every one."""

from cookbook import curriculum

import numpy as np
import pandas as pd
import pytest

BINARY_CONTROL = "control: Dense(1, 'sigmoid') + binary_crossentropy"
MULTICLASS_CONTROL = "control: Dense(C, 'softmax') + sparse_categorical_crossentropy"


@pytest.fixture(scope="module")
def run03(quick_run):
    """Recipe 05's table and output folder from the session's one quick run."""
    table, out = quick_run("wrong_setups")
    return table.set_index("setup"), out


@pytest.fixture(scope="module")
def recipe05(recipes):
    return curriculum.load(curriculum.resolve(recipes, "wrong_setups"))


@pytest.mark.slow
def test_check_setup_refuses_every_mistake_and_passes_the_controls(run03):
    """Every mistake row carries a SetupError; both controls are silent."""
    table, _ = run03
    assert {BINARY_CONTROL, MULTICLASS_CONTROL} <= set(table.index)
    for setup, verdict in table["check_setup"].items():
        if setup.startswith("control"):
            assert verdict.startswith("silent"), setup
        else:
            assert verdict.startswith("SetupError: "), setup


@pytest.mark.slow
def test_measures_what_keras_does_silently(run03):
    """The measured claims: loss 0.0, constant 1.0 predictions, a negative 'loss', a NaN loss."""
    table, _ = run03
    zero = table.loc["one sigmoid unit + categorical_crossentropy"]
    assert zero["first_loss"] == 0.0 and zero["last_loss"] == 0.0
    softmax = table.loc["softmax on one unit + binary_crossentropy"]
    assert softmax["output_min"] == pytest.approx(1.0, abs=1e-6)  # every prediction is 1.0
    assert softmax["output_max"] == pytest.approx(1.0, abs=1e-6)
    # Keras computes that loss from the logit it cached before the softmax: the sigmoid model's loss.
    assert softmax["last_loss"] == pytest.approx(table.loc[BINARY_CONTROL, "last_loss"])
    assert softmax["test_accuracy"] < table.loc[BINARY_CONTROL, "test_accuracy"]
    assert table.loc["C classes into one sigmoid unit", "last_loss"] < 0
    # On TensorFlow, Keras warns about softmax + from_logits=True and reuses the cached logits.
    assert table.loc["softmax + loss with from_logits=True", "last_loss"] == pytest.approx(
        table.loc[MULTICLASS_CONTROL, "last_loss"]
    )
    assert np.isnan(table.loc["NaN in the labels", "last_loss"])
    silent = table[table["keras_does"].str.startswith("trains silently") & ~table.index.str.startswith("control")]
    assert "2-unit softmax + binary_crossentropy, one-hot labels" in silent.index
    assert len(silent) >= 4, "at least four mistakes train without a word from Keras"


@pytest.mark.slow
def test_wrong_loss_table_shows_keras_number_next_to_the_true_one(run03):
    """Softmax + BCE: Keras's loss differs from the NumPy BCE of the probabilities; the twin equals NumPy."""
    _, out = run03
    wrong = pd.read_csv(out / "03_wrong_setups_wrong_loss.csv").set_index("softmax units")
    assert list(wrong.index) == [2, 3]
    for units, row in wrong.iterrows():
        assert row["cookbook twin"] == pytest.approx(row["true BCE of the probabilities"], rel=1e-5)
        assert abs(row["Keras binary_crossentropy"] - row["true BCE of the probabilities"]) > 1e-3, units
    # With two units the true BCE (mean over both columns) is the categorical cross-entropy.
    assert wrong.loc[2, "true BCE of the probabilities"] == pytest.approx(wrong.loc[2, "true CCE"], rel=1e-5)


def test_numpy_cross_entropies_helper_is_the_textbook_formula(recipe05):
    """The independent reference: BCE averages over every entry, CCE sums over classes then averages."""
    y = np.array([[1.0, 0.0], [0.0, 1.0]])
    p = np.array([[0.8, 0.2], [0.4, 0.6]])
    bce, cce = recipe05.numpy_cross_entropies(y, p)
    assert cce == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2)
    assert bce == pytest.approx(-(2 * np.log(0.8) + 2 * np.log(0.6)) / 4)
