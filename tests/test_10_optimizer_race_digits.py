"""Recipe 10's claims: one start for all five optimizers, a table read from the curves, settings named."""

import argparse

import numpy as np
import pandas as pd
import pytest

import cookbook  # noqa: F401  (first: TensorFlow imported quietly)
import cookbook.recipe
from cookbook import curriculum, lessons
from cookbook.datasets import load_dataset
import keras

NAMES = ["SGD", "Momentum", "Adagrad", "RMSprop", "Adam"]


@pytest.fixture(scope="module")
def recipe10(recipes):
    return curriculum.load(curriculum.resolve(recipes, "10"))


@pytest.fixture(scope="module")
def race(quick_run):
    """The quick run's key table (indexed by optimizer) and its per-epoch curves."""
    table, out = quick_run("10")
    curves = pd.read_csv(out / "10_optimizer_race_digits_curves.csv")
    return table.set_index("optimizer"), curves


def test_every_optimizer_lowers_the_loss_from_the_same_start(race):
    """All five start from one epoch-0 loss (~ln 10 for 10 classes) and end at least 10% lower."""
    _, curves = race
    assert list(curves["optimizer"].unique()) == NAMES
    start = curves[curves["epoch"] == 0]["train loss"]
    assert start.nunique() == 1
    assert 1.5 < start.iloc[0] < 4.0
    for name, curve in curves.groupby("optimizer"):
        assert curve["train loss"].iloc[-1] < 0.9 * curve["train loss"].iloc[0], name


def test_epoch_0_loss_is_the_numpy_cross_entropy_of_the_seeded_model(race, recipe10):
    """Rebuilt with seed 0, the race's MLP has the epoch-0 train loss -mean(log p[label]), computed in float64."""
    _, curves = race
    X, y = load_dataset("digits")
    split = cookbook.recipe.split(argparse.Namespace(seed=0, dataset="digits", csv=None), X, y, stratify=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(recipe10.HIDDEN_UNITS, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    p = np.asarray(model(split.X_train), dtype=np.float64)
    expected = -np.mean(np.log(p[np.arange(len(p)), split.y_train]))
    for name in NAMES:
        row = curves[(curves["optimizer"] == name) & (curves["epoch"] == 0)].iloc[0]
        assert row["train loss"] == pytest.approx(expected, rel=1e-5)
        assert row["train accuracy"] == pytest.approx(np.mean(p.argmax(axis=1) == split.y_train))


def test_evaluate_classifier_matches_an_independent_numpy_cross_entropy():
    """The table's test loss and accuracy come from evaluate_classifier: -mean(log p[label]) and argmax hits."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 6)).astype("float32"), rng.integers(0, 4, size=50)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])
    loss, accuracy = lessons.evaluate_classifier(model, X, y)
    p = np.asarray(model(X), dtype=np.float64)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(len(p)), y])), rel=1e-5)
    assert accuracy == pytest.approx(np.mean(p.argmax(axis=1) == y))


def test_table_is_read_from_the_curves(race):
    """The table's train loss/accuracy are each curve's last point; 'epochs to' is the first epoch under 0.3."""
    table, curves = race
    epochs = curves["epoch"].max()
    for name, curve in curves.groupby("optimizer"):
        assert table.loc[name, "train loss"] == pytest.approx(curve["train loss"].iloc[-1], rel=1e-12)
        assert table.loc[name, "train accuracy"] == pytest.approx(curve["train accuracy"].iloc[-1], rel=1e-12)
        below = np.flatnonzero(curve["train loss"].iloc[1:].to_numpy() < 0.3)
        assert str(table.loc[name, "epochs to train loss < 0.3"]) == (
            str(below[0] + 1) if len(below) else f"not within {epochs}")
        assert 0 < table.loc[name, "test loss"] and 0 <= table.loc[name, "test accuracy"] <= 1


def test_table_and_legend_name_each_optimizer_s_learning_rate(race, recipe10):
    """Each optimizer's lr (10x apart between SGD and Adam) is in its table row and its legend entry,
    next to the batch size; the plotted lines are exactly the curves."""
    table, curves = race
    settings = {name: recipe10.describe(recipe10.OPTIMIZERS[name]()) for name in NAMES}
    fig = recipe10.plot_race(curves, settings)
    lines = {line.get_label().split(":")[0]: line for line in fig.axes[0].get_lines()}
    for name in NAMES:
        lr = recipe10.OPTIMIZERS[name]().get_config()["learning_rate"]
        assert table.loc[name, "learning rate"] == pytest.approx(lr)
        assert f"lr {lr:g}" in table.loc[name, "settings"]
        assert lines[name].get_label() == f"{name}: {settings[name]}"
        assert f"lr {lr:g}" in lines[name].get_label() and "mini-batches of 64" in lines[name].get_label()
        curve = curves[curves["optimizer"] == name]
        np.testing.assert_allclose(lines[name].get_ydata(), curve["train loss"])
    assert table.loc["SGD", "learning rate"] == pytest.approx(10 * table.loc["Adam", "learning rate"])


def test_describe_names_momentum_and_betas_and_omits_a_zero_momentum(recipe10):
    """SGD's label has no momentum; Momentum's says 0.9; Adam's names both betas."""
    assert recipe10.describe(keras.optimizers.SGD(0.01), 64) == "lr 0.01, mini-batches of 64"
    assert "momentum 0.9" in recipe10.describe(keras.optimizers.SGD(0.01, momentum=0.9), 64)
    assert "beta_1 0.9, beta_2 0.999" in recipe10.describe(keras.optimizers.Adam(), 64)


def test_epochs_to_reach_is_one_based_and_none_when_never_reached():
    """epochs_to_reach counts epochs from 1 and returns None when the target is never reached."""
    assert lessons.epochs_to_reach([0.9, 0.5, 0.2, 0.1], 0.3) == 3
    assert lessons.epochs_to_reach([0.9, 0.5], 0.3) is None
