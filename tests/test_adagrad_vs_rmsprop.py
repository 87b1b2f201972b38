"""Recipe 09's claims: per-weight rates read from the optimizer's variables, large for rarely active inputs."""

import cookbook  # noqa: F401  (first: TensorFlow imported quietly)
from cookbook import curriculum

import keras
import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def recipe09(recipes):
    return curriculum.load(curriculum.resolve(recipes, "adagrad_vs_rmsprop"))


@pytest.fixture(scope="module")
def table(quick_run):
    table, _ = quick_run("adagrad_vs_rmsprop")
    return table.set_index("run")


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


RULES = [  # (optimizer, float64 update of the squared-gradient state, its start)
    pytest.param(
        lambda: keras.optimizers.Adagrad(0.1, initial_accumulator_value=0.0),
        lambda s, g: s + g**2,
        0.0,
        id="Adagrad, start 0",
    ),
    pytest.param(lambda: keras.optimizers.Adagrad(0.1), lambda s, g: s + g**2, 0.1, id="Adagrad, Keras start 0.1"),
    pytest.param(lambda: keras.optimizers.RMSprop(0.01, rho=0.9), lambda s, g: 0.9 * s + 0.1 * g**2, 0.0, id="RMSprop"),
]


@pytest.mark.parametrize("make_optimizer, accumulate, start", RULES)
def test_recorded_rates_equal_the_rule_replayed_in_float64(recipe09, make_optimizer, accumulate, start):
    """RateRecorder's rates equal lr / sqrt(start + squared gradients + eps), gradients derived analytically.

    A softmax regression trained full-batch for 4 epochs is replayed in float64
    NumPy (gradient X^T (p - Y) / n, the optimizer's rule by hand). One input is
    always 0: its weights never get a gradient and sit at lr / sqrt(start + eps),
    which also pins where Keras puts eps (inside the root, 316 x lr for start 0).
    """
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 4))
    X[:, 3] = 0.0  # never active
    X[:, 2] = np.where(rng.random(12) < 0.25, 2.0, 0.0)  # rarely active
    y = rng.integers(0, 3, size=12)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    optimizer = make_optimizer()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    kernel, bias = (w.astype(np.float64) for w in model.get_weights())
    recorder = recipe09.RateRecorder(model.layers[0])
    model.fit(X.astype("float32"), y, batch_size=12, epochs=4, shuffle=False, verbose=0, callbacks=[recorder])

    lr, eps = float(optimizer.get_config()["learning_rate"]), optimizer.epsilon
    state_k, state_b = np.full_like(kernel, start), np.full_like(bias, start)
    expected = []
    for _ in range(4):
        error = (_softmax(X @ kernel + bias) - np.eye(3)[y]) / len(X)
        g_k, g_b = X.T @ error, error.sum(axis=0)
        state_k, state_b = accumulate(state_k, g_k), accumulate(state_b, g_b)
        kernel = kernel - lr * g_k / np.sqrt(state_k + eps)
        bias = bias - lr * g_b / np.sqrt(state_b + eps)
        expected.append(lr / np.sqrt(state_k + eps))
    np.testing.assert_allclose(np.array(recorder.rates), np.array(expected), rtol=1e-4)
    np.testing.assert_allclose(recorder.rates[-1][3], lr / np.sqrt(start + 1e-7), rtol=1e-6)
    np.testing.assert_allclose(recorder.kernels[-1], kernel, atol=1e-5)


def test_squared_gradient_state_is_found_by_its_path(recipe09):
    """Adagrad's accumulator / RMSprop's velocity of a kernel is the variable named after the kernel's path."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    for optimizer, slot in ((keras.optimizers.Adagrad(), "accumulator"), (keras.optimizers.RMSprop(), "velocity")):
        optimizer.build(model.trainable_weights)
        found = recipe09.squared_gradient_state(optimizer, model.layers[0].kernel)
        assert found.path.endswith(model.layers[0].kernel.path.replace("/", "_") + "_" + slot)
        assert tuple(found.shape) == (3, 2)
    with pytest.raises(KeyError):
        recipe09.squared_gradient_state(keras.optimizers.Adam(), model.layers[0].kernel)


def test_unit_range_keeps_blank_pixels_at_exactly_zero(recipe09):
    """Digits scaled by the training min/max: raw ink 0 -> 0.0, raw ink 16 -> 1.0, nothing below 0."""
    import argparse

    import cookbook.recipe
    from cookbook.datasets import load_dataset

    X, y = load_dataset("digits")
    split = cookbook.recipe.split(argparse.Namespace(seed=0, dataset="digits", csv=None), X, y, stratify=True)
    X_train, X_test = recipe09.to_unit_range(split)
    raw_train = np.rint(split.X_train * split.std + split.mean)
    assert np.all(X_train[raw_train == 0] == 0.0)
    assert np.all(X_train[raw_train == 16] == 1.0)
    assert X_train.min() == 0.0 and X_test.min() >= 0.0


@pytest.mark.slow
def test_rarely_active_inputs_keep_a_larger_adagrad_rate_than_busy_ones(table):
    """Measured in the quick run: Adagrad (start 0) gives rare-input weights a median rate > 10x busy ones'."""
    adagrad = next(label for label in table.index if label.startswith("Adagrad") and "start" not in label)
    assert table.loc[adagrad, "rare / busy"] > 10
    assert table.loc[adagrad, "median rate, rare"] > 10 * table.loc[adagrad, "median rate, busy"]


@pytest.mark.slow
def test_keras_default_start_flattens_the_per_weight_rates(table):
    """With initial_accumulator_value=0.1 the rare/busy ratio is under 1.5, over 10x below the start-0 ratio,
    and within 10% of what the floor predicts: 0.1 added to the start-0 run's median sums G = (lr / rate)^2."""
    adagrad = next(label for label in table.index if label.startswith("Adagrad") and "start" not in label)
    default = next(label for label in table.index if "start 0.1" in label)
    lr, eps = float(adagrad.split("lr ")[1]), 1e-7
    assert table.loc[default, "rare / busy"] < 1.5
    assert table.loc[adagrad, "rare / busy"] > 10 * table.loc[default, "rare / busy"]
    g_rare = (lr / table.loc[adagrad, "median rate, rare"]) ** 2 - eps
    g_busy = (lr / table.loc[adagrad, "median rate, busy"]) ** 2 - eps
    predicted = np.sqrt(0.1 + g_busy + eps) / np.sqrt(0.1 + g_rare + eps)
    assert table.loc[default, "rare / busy"] == pytest.approx(predicted, rel=0.1)


@pytest.fixture(scope="module")
def grid(quick_run):
    _, out = quick_run("adagrad_vs_rmsprop")
    return pd.read_csv(out / "09_adagrad_vs_rmsprop_grid.csv")


@pytest.mark.slow
def test_each_optimizer_keeps_the_rate_with_the_lowest_validation_loss_of_its_grid(table, grid, recipe09):
    """The quick run tries at least two rates per optimizer; the key table's run is the grid's validation argmin,
    and its train and validation losses are that grid row's."""
    for name, rows in grid.groupby("optimizer"):
        assert sorted(rows["learning rate"]) == sorted(recipe09.QUICK_LEARNING_RATES[name])
        assert len(rows) >= 2, "a grid of one rate chooses nothing"
        assert rows["validation loss"].nunique() == len(rows), "distinct rates give distinct validation losses"
        best = rows.loc[rows["validation loss"].idxmin()]
        assert rows["chosen"].tolist() == [lr == best["learning rate"] for lr in rows["learning rate"]]
        run = f"{name} lr {best['learning rate']:g}"
        assert table.loc[run, "validation loss"] == pytest.approx(best["validation loss"], rel=1e-9)
        assert table.loc[run, "train loss"] == pytest.approx(best["train loss"], rel=1e-9)
    for column in ("train loss", "validation loss", "test loss"):
        assert table[column].between(0, np.log(10) * 1.5).all(), column


@pytest.mark.slow
def test_the_test_rows_play_no_part_in_the_choice(recipe09, grid, table, monkeypatch, tmp_path):
    """Re-run --quick with the test labels scrambled: the grid and the chosen rates stay exactly the same,
    while the test losses change (so the scrambled rows were really the ones the lesson tests on)."""
    import dataclasses

    import cookbook.recipe

    real_split = cookbook.recipe.split

    def scrambled_test_labels(*args, **kwargs):
        split = real_split(*args, **kwargs)
        return dataclasses.replace(split, y_test=np.random.default_rng(1).permutation(split.y_test))

    monkeypatch.setattr(cookbook.recipe, "split", scrambled_test_labels)
    keras.utils.set_random_seed(0)
    scrambled = recipe09.main(["--quick", "--out", str(tmp_path)]).set_index("run")
    rerun = pd.read_csv(tmp_path / "09_adagrad_vs_rmsprop_grid.csv")
    assert rerun["chosen"].tolist() == grid["chosen"].tolist()
    np.testing.assert_allclose(rerun["validation loss"], grid["validation loss"], rtol=1e-6)
    assert list(scrambled.index) == list(table.index)
    assert (scrambled["test loss"] > table["test loss"] + 0.5).all()
