"""Recipe 03's claims, read from its quick run: two binary heads, one model; the near misses caught."""

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # every test reads the recipe's --quick run


@pytest.fixture(scope="module")
def run04(quick_run):
    table, out = quick_run("binary_sigmoid_vs_softmax")
    return table.set_index("setup"), out


def _read(out, name):
    return pd.read_csv(out / f"04_binary_sigmoid_vs_softmax_{name}.csv")


def test_sigmoid_and_softmax_heads_score_alike_and_well(run04):
    """A and B each beat 0.9 test accuracy and ROC AUC 0.95, within 2 test rows of each other."""
    table, _ = run04
    assert table.loc["A", "test accuracy"] > 0.9 and table.loc["B", "test accuracy"] > 0.9
    assert abs(table.loc["A", "test accuracy"] - table.loc["B", "test accuracy"]) <= 2 / 143
    assert (table["test ROC AUC"] > 0.95).all()
    assert table.loc["A", "head params"] == 31 and table.loc["B", "head params"] == 62


def test_curves_that_should_coincide_do(run04):
    """Sparse vs one-hot labels, and B vs A at twice the lr (no hidden layer): the same curve to 1e-5."""
    _, out = run04
    gaps = _read(out, "curves")
    assert (gaps["max |d loss| over epochs"] < 1e-5).all()


def test_conversions_change_no_prediction(run04):
    """A -> B, B -> A and a common logit shift move P(class 1) by < 1e-6 and change no decision."""
    _, out = run04
    conversions = _read(out, "conversions")
    assert len(conversions) == 3 and (conversions["rows"] == 569).all()
    assert (conversions["max |dP(class 1)|"] < 1e-6).all()
    assert (conversions["different decisions"] == 0).all()
    assert conversions["head params"].tolist() == ["31 -> 62", "62 -> 31", "62 -> 62"]


def test_near_misses_are_all_refused_and_the_silent_one_reports_a_wrong_loss(run04):
    """check_setup refuses all four; softmax + BCE on one-hot trains, but Keras's loss is not the true BCE."""
    _, out = run04
    misses = _read(out, "near_misses").set_index("setup")
    assert (misses["check_setup"] == "SetupError").all() and len(misses) == 4
    silent = misses.loc["2-unit softmax + binary CE, one-hot labels"]
    assert silent["Keras"] == "fit trains"
    assert abs(silent["Keras test loss"] - silent["true test BCE"]) > 1e-3
    one_unit = misses.loc["softmax on one unit"]
    assert one_unit["min P(class 1)"] == pytest.approx(1.0)  # every prediction is 1.0 ...
    assert one_unit["last loss"] < one_unit["first loss"]  # ... while the loss Keras reports falls
    assert misses.loc["2-unit softmax + binary CE", "Keras"].startswith("fit raises ValueError")
