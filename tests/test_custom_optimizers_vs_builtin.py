"""Recipe 14's claims: the cookbook optimizers equal Keras's built-ins and a float64 NumPy reference."""

import cookbook  # first: TensorFlow imported with its start-up log lines hidden
import cookbook.optimizers
import cookbook.reference
from cookbook import curriculum

import keras
import numpy as np
import pandas as pd
import pytest

RECIPE = "14_custom_optimizers_vs_builtin"
TWIN_TOLERANCE = 1e-6  # |cookbook - built-in|, float32 weights
REFERENCE_TOLERANCE = 1e-5  # relative to the float64 reference
OPTIMIZERS = {"SGD", "Momentum", "Adagrad", "RMSprop", "Adam", "AdamW", "Nadam", "Lion"}


@pytest.fixture(scope="module")
def recipe14(recipes):
    return curriculum.load(curriculum.resolve(recipes, "custom_optimizers_vs_builtin"))


@pytest.fixture(scope="module")
def run(quick_run):
    return quick_run("custom_optimizers_vs_builtin")


@pytest.mark.slow
def test_quick_run_compares_every_optimizer_and_the_weights_move(run):
    """One row per method of the curriculum at least, each after real movement of the weights."""
    table, _ = run
    assert set(table["method"]) >= OPTIMIZERS
    assert (table["steps"] >= 10).all()
    assert (table["weights_moved"] > 0.1).all(), "agreement means little if nothing moved"


def test_each_row_is_named_by_the_method_the_builtin_runs(recipe14):
    """'SGD' only where the Keras built-in's get_config() has momentum 0; 'Momentum' where it has momentum > 0,
    '(Nesterov)' exactly where nesterov=True; other rows keep the built-in's class name."""
    names = []
    for name, config in recipe14.SETTINGS:
        _, builtin = recipe14.build_optimizers(name, config)
        keras_config = builtin.get_config()
        if type(builtin).__name__ == "SGD":
            expected = (
                "SGD"
                if keras_config["momentum"] == 0
                else "Momentum (Nesterov)"
                if keras_config["nesterov"]
                else "Momentum"
            )
        else:
            expected = type(builtin).__name__
        assert recipe14.method_name(name, config) == expected, (name, config)
        names.append(expected)
    assert {"SGD", "Momentum", "Momentum (Nesterov)"} <= set(names)


@pytest.mark.slow
def test_every_twin_equals_its_builtin(run):
    """Largest |cookbook - keras.optimizers| over all steps: 0 or at most 1e-6, for every setting."""
    table, _ = run
    assert (table["max_custom_vs_builtin"] <= TWIN_TOLERANCE).all(), table


@pytest.mark.slow
def test_twins_and_builtins_match_the_float64_reference(run):
    """Both stay within 1e-5 relative of float64 NumPy: an independent check, not an echo of Keras."""
    table, _ = run
    assert (table["max_rel_custom_vs_numpy"] <= REFERENCE_TOLERANCE).all(), table
    assert (table["max_rel_builtin_vs_numpy"] <= REFERENCE_TOLERANCE).all(), table


@pytest.mark.slow
def test_compile_and_fit_with_the_twin_gives_the_builtins_weights(run):
    """model.compile(optimizer=cookbook.optimizers.Adam) + fit ends where keras.optimizers.Adam does."""
    _, out = run
    fit = pd.read_csv(out / f"{RECIPE}_fit.csv")
    assert list(fit["optimizer"]) == ["cookbook.optimizers.Adam", "keras.optimizers.Adam"]
    assert (fit["max |weight - cookbook's|"] <= TWIN_TOLERANCE).all()
    assert fit["final train loss"].iloc[0] == pytest.approx(fit["final train loss"].iloc[1], abs=1e-6)
    assert fit["test accuracy"].iloc[0] > 0.5, "a few epochs on Digits beat chance (0.1) by far"


@pytest.mark.slow
def test_impossible_settings_are_accepted_by_keras_and_refused_by_the_cookbook(run):
    """Every impossible setting trains in Keras (two go NaN); every twin raises a ValueError naming the range."""
    _, out = run
    impossible = pd.read_csv(out / f"{RECIPE}_impossible_settings.csv")
    assert len(impossible) == 4
    assert not impossible["what the built-in did"].str.startswith("refused").any()
    assert (impossible["what the built-in did"] == "weights became NaN").sum() == 2
    assert impossible["cookbook.optimizers says"].str.contains("is impossible: `").all()


@pytest.mark.slow
def test_clipnorm_0_row_matches_an_independent_unclipped_run(run):
    """The table says clipnorm=0 gave the weights of no clipping: Keras Adagrad(0.1, clipnorm=0) and Adagrad(0.1),
    stepped here on a gradient of norm > 1, end bit-for-bit equal, while clipnorm=1 would change them."""
    _, out = run
    impossible = pd.read_csv(out / f"{RECIPE}_impossible_settings.csv").set_index("settings")
    assert impossible.loc["learning_rate=0.1, clipnorm=0.0", "what the built-in did"] == (
        "same weights as without clipnorm (no clipping)"
    )
    ends = {}
    for key, extra in (("clipnorm 0", {"clipnorm": 0.0}), ("none", {}), ("clipnorm 1", {"clipnorm": 1.0})):
        w = keras.Variable(np.array([3.0, -4.0], dtype="float32"))
        optimizer = keras.optimizers.Adagrad(0.1, **extra)
        for _ in range(3):
            optimizer.apply_gradients([(keras.ops.convert_to_tensor(2.0 * w.numpy()), w)])
        ends[key] = w.numpy()
    np.testing.assert_array_equal(ends["clipnorm 0"], ends["none"])
    assert np.max(np.abs(ends["clipnorm 1"] - ends["none"])) > 1e-3


@pytest.mark.slow
def test_the_lesson_names_the_setting_with_the_largest_float64_error(run, recipe14):
    """The remembered 'largest relative error' is the table's maximum, quoted with that row's call."""
    table, out = run
    remembered = (out / f"{RECIPE}_remember.md").read_text(encoding="utf-8")
    worst = table.loc[table["max_rel_custom_vs_numpy"].idxmax()]
    line = next(line for line in remembered.splitlines() if "largest relative error" in line)
    assert f"{worst['max_rel_custom_vs_numpy']:.2g} ({recipe14.row_name(worst)})" in line


def test_api_table_labels_the_legacy_column_as_optimizer_v2(recipe14):
    """The left column is Keras 2's legacy OptimizerV2, not every TF 2.x optimizer (2.11+ had build/update_step)."""
    columns = list(recipe14.keras_2_to_3().columns)
    assert "legacy" in columns[0] and "OptimizerV2" in columns[0] and "before TF 2.11" in columns[0]
    assert columns[1] == "Keras 3"


def test_walkthrough_loop_matches_the_reference_for_adam(recipe14):
    """The recipe's eager apply_gradients loop, re-run here: Adam twin = built-in = NumPy within tolerance."""
    rng = np.random.default_rng(1)
    w0 = rng.normal(size=(3, 2)).astype("float32")
    target = rng.normal(size=(3, 2)).astype("float32")
    w_custom, w_builtin = keras.Variable(w0), keras.Variable(w0)
    custom = cookbook.optimizers.Adam(**recipe14.WALK_SETTINGS)
    builtin = keras.optimizers.Adam(**recipe14.WALK_SETTINGS)
    reference = cookbook.reference.from_optimizer(custom)
    w_ref = w0.astype("float64")
    for _ in range(15):
        custom.apply_gradients([((w_custom.numpy() - target), w_custom)])
        builtin.apply_gradients([((w_builtin.numpy() - target), w_builtin)])
        w_ref = reference.apply([w_ref - target], [w_ref])[0]
    assert np.max(np.abs(w_custom.numpy() - w_builtin.numpy())) <= TWIN_TOLERANCE
    assert np.max(np.abs(w_custom.numpy() - w_ref)) / np.max(np.abs(w_ref)) <= REFERENCE_TOLERANCE
    assert np.max(np.abs(w_ref - w0)) > 0.1


def test_a_wrong_update_would_be_caught_by_the_reference(recipe14):
    """The reference is sensitive: textbook Adagrad (accumulator 0, eps outside) differs from Keras's by far more than 1e-5."""
    w, g = np.array([1.0, -2.0]), np.array([0.05, 0.3])
    keras_style = cookbook.reference.adagrad(w, g, {}, 1, learning_rate=0.1)
    textbook = cookbook.reference.adagrad_textbook(w, g, {}, 1, learning_rate=0.1)
    assert np.max(np.abs(keras_style - textbook)) / np.max(np.abs(w)) > 100 * REFERENCE_TOLERANCE
