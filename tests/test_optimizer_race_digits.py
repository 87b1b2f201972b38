"""Recipe 11's claims: one start for all five optimizers, a table read from the curves, settings named."""

import argparse
import re

import cookbook  # noqa: F401  (first: TensorFlow imported quietly)
import cookbook.recipe
from cookbook import curriculum
from cookbook.datasets import load_dataset
from cookbook.lessons import race as race_tools

import keras
import numpy as np
import pandas as pd
import pytest

NAMES = ["SGD", "Momentum", "Adagrad", "RMSprop", "Adam"]


@pytest.fixture(scope="module")
def recipe11(recipes):
    return curriculum.load(curriculum.resolve(recipes, "optimizer_race_digits"))


@pytest.fixture(scope="module")
def race(quick_run):
    """The quick run's key table (indexed by optimizer) and its per-epoch curves."""
    table, out = quick_run("optimizer_race_digits")
    curves = pd.read_csv(out / "11_optimizer_race_digits_curves.csv")
    return table.set_index("optimizer"), curves


@pytest.mark.slow
def test_every_optimizer_lowers_the_loss_from_the_same_start(race):
    """All five start from one epoch-0 loss (~ln 10 for 10 classes) and end at least 10% lower."""
    _, curves = race
    assert list(curves["optimizer"].unique()) == NAMES
    start = curves[curves["epoch"] == 0]["train loss"]
    assert start.nunique() == 1
    assert 1.5 < start.iloc[0] < 4.0
    for name, curve in curves.groupby("optimizer"):
        assert curve["train loss"].iloc[-1] < 0.9 * curve["train loss"].iloc[0], name


def _seeded_split_and_mlp(recipe11):
    """The recipe's Digits split and its MLP as built with seed 0, rebuilt here independently of the recipe run."""
    X, y = load_dataset("digits")
    split = cookbook.recipe.split(argparse.Namespace(seed=0, dataset="digits", csv=None), X, y, stratify=True)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(recipe11.HIDDEN_UNITS, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    return split, model


@pytest.mark.slow
def test_epoch_0_loss_is_the_numpy_cross_entropy_of_the_seeded_model(race, recipe11):
    """Rebuilt with seed 0, the race's MLP has the epoch-0 train loss -mean(log p[label]), computed in float64."""
    _, curves = race
    split, model = _seeded_split_and_mlp(recipe11)
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
    loss, accuracy = race_tools.evaluate_classifier(model, X, y)
    p = np.asarray(model(X), dtype=np.float64)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(len(p)), y])), rel=1e-5)
    assert accuracy == pytest.approx(np.mean(p.argmax(axis=1) == y))


@pytest.mark.slow
def test_retrained_model_s_numpy_cross_entropy_equals_the_table(race, recipe11):
    """Momentum retrained here (seed 0, 3 epochs, batches of 64): -mean(log p[label]) and argmax hits of its
    test-set predictions, in float64 NumPy, equal the table's test loss and accuracy; its last-epoch train loss
    and 'epochs to train loss < 0.3' equal the table's."""
    table, _ = race
    split, model = _seeded_split_and_mlp(recipe11)
    model.compile(optimizer=recipe11.OPTIMIZERS["Momentum"](), loss="sparse_categorical_crossentropy")
    history = model.fit(split.X_train, split.y_train, epochs=recipe11.QUICK_EPOCHS, batch_size=64, verbose=0)
    p = np.asarray(model.predict(split.X_test, verbose=0), dtype=np.float64)
    row = table.loc["Momentum"]
    assert row["test loss"] == pytest.approx(-np.mean(np.log(p[np.arange(len(p)), split.y_test])), rel=1e-4)
    assert row["test accuracy"] == pytest.approx(np.mean(p.argmax(axis=1) == split.y_test), abs=1 / len(p))
    assert row["train loss"] == pytest.approx(history.history["loss"][-1], rel=1e-4)
    below = np.flatnonzero(np.array(history.history["loss"]) < 0.3)
    assert str(row["epochs to train loss < 0.3"]) == (
        str(below[0] + 1) if len(below) else f"not within {recipe11.QUICK_EPOCHS}"
    )


def _legend_number(label, key):
    """The number after ``key`` in a legend entry such as 'Adam: lr 0.001, beta_1 0.9, ...', or None."""
    found = re.search(rf"(?:^|[ ,:]){re.escape(key)} ([-0-9.e]+)(?:,|$)", label)
    return float(found.group(1)) if found else None


@pytest.mark.slow
def test_legend_numbers_are_the_optimizers_own_settings(race, recipe11):
    """Parsed back from the legend the recipe draws (its settings column), every lr, momentum, rho, beta and G0
    equals get_config() of a fresh optimizer from the recipe's OPTIMIZERS dict; SGD's lr is 10x Adam's; the
    epoch axis has whole-number ticks."""
    table, curves = race
    fig = recipe11.plot_race(curves, dict(table["settings"]))
    labels = {text.get_text().split(":")[0]: text.get_text() for text in fig.axes[0].get_legend().get_texts()}
    keys = {
        "learning_rate": "lr",
        "momentum": "momentum",
        "initial_accumulator_value": "G0",
        "rho": "rho",
        "beta_1": "beta_1",
        "beta_2": "beta_2",
    }
    lrs = {}
    for name in NAMES:
        config = recipe11.OPTIMIZERS[name]().get_config()
        for key, short in keys.items():
            shown = _legend_number(labels[name], short)
            if config.get(key):
                assert shown == pytest.approx(float(config[key])), (name, key, labels[name])
            else:
                assert shown is None, (name, key, labels[name])
        assert "mini-batches of 64" in labels[name]
        lrs[name] = _legend_number(labels[name], "lr")
    assert lrs["SGD"] == pytest.approx(10 * lrs["Adam"])
    ticks = [t for t in fig.axes[0].get_xticks() if curves["epoch"].min() <= t <= curves["epoch"].max()]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_describe_names_momentum_and_betas_and_omits_a_zero_momentum(recipe11):
    """SGD's label has no momentum; Momentum's says 0.9; Adam's names both betas."""
    assert recipe11.describe(keras.optimizers.SGD(0.01), 64) == "lr 0.01, mini-batches of 64"
    assert "momentum 0.9" in recipe11.describe(keras.optimizers.SGD(0.01, momentum=0.9), 64)
    assert "beta_1 0.9, beta_2 0.999" in recipe11.describe(keras.optimizers.Adam(), 64)


def test_epochs_to_reach_is_one_based_and_none_when_never_reached():
    """epochs_to_reach counts epochs from 1 and returns None when the target is never reached."""
    assert race_tools.epochs_to_reach([0.9, 0.5, 0.2, 0.1], 0.3) == 3
    assert race_tools.epochs_to_reach([0.9, 0.5], 0.3) is None
