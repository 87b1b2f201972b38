"""Recipe 12's claims: under Adam an L2 penalty shrinks small-gradient weights far more than large-gradient ones,
AdamW shrinks them alike; under SGD, L2(l2) in the loss and weight_decay = 2 * l2 are one rule.

The quick run's tables are checked against closed forms (AdamW on a weight with no gradient), and the update
rules the lesson states are checked against float64 NumPy replays (``cookbook.reference``, hand-written
softmax-regression gradients), independent of Keras.
"""

import cookbook  # noqa: F401  (first: TensorFlow imported quietly)
import cookbook.optimizers
from cookbook import curriculum, reference

import keras
import numpy as np
import pandas as pd
import pytest

LEARNING_RATE, WEIGHT_DECAY, L2 = 0.003, 0.5, 1e-3  # the recipe's constants
QUICK_STEPS = 66  # 3 epochs of ceil(1347 / 64) = 22 mini-batches


@pytest.fixture(scope="module")
def recipe12(recipes):
    return curriculum.load(curriculum.resolve(recipes, "decoupled_weight_decay"))


@pytest.fixture(scope="module")
def run(quick_run):
    """The quick run's three tables: per method, per pixel group, and the equivalence pairs."""
    table, out = quick_run("decoupled_weight_decay")
    groups = pd.read_csv(out / "12_decoupled_weight_decay_groups.csv").set_index("pixels")
    pairs = pd.read_csv(out / "12_decoupled_weight_decay_equivalence.csv")
    return table.set_index("method"), groups, pairs


def test_the_recipes_constants_are_the_ones_tested(recipe12):
    """The tests' copies of the settings match the recipe (a change there must be reflected here)."""
    assert (recipe12.LEARNING_RATE, recipe12.WEIGHT_DECAY, recipe12.L2) == (LEARNING_RATE, WEIGHT_DECAY, L2)
    assert (recipe12.QUICK_EPOCHS, recipe12.BATCH_SIZE) == (3, 64)


@pytest.mark.slow
def test_adam_l2_shrinks_rare_pixels_far_more_than_busy_ones(run):
    """Adam + L2 leaves rare pixels' weights < 0.75x Adam's RMS, busy ones > 0.9x; AdamW shrinks both alike."""
    _, groups, _ = run
    l2, adamw = groups["Adam + L2 RMS / Adam RMS"], groups["AdamW RMS / Adam RMS"]
    assert l2["never"] < 0.5 and l2["rare"] < 0.75 and l2["busy"] > 0.9
    assert l2["rare"] / l2["busy"] < 0.75, "L2 under Adam concentrates its shrink on small-gradient weights"
    assert abs(adamw["rare"] - adamw["busy"]) < 0.05, "AdamW shrinks both groups by about the same share"
    assert (np.diff(l2[["never", "rare", "sometimes", "busy"]]) > 0).all(), "the busier the pixel, the less shrunk"


@pytest.mark.slow
def test_adamw_on_a_never_inked_pixel_is_pure_decay(run):
    """No gradient reaches those weights, so AdamW leaves exactly (1 - lr * wd)^steps of them (Adam leaves all)."""
    _, groups, _ = run
    expected = (1 - LEARNING_RATE * WEIGHT_DECAY) ** QUICK_STEPS
    assert groups.loc["never", "AdamW RMS / Adam RMS"] == pytest.approx(expected, rel=1e-4)
    assert groups.loc["never", "Adam: median sqrt(v_hat)"] == 0.0
    assert groups.loc["never", "AdamW: share removed per step"] == pytest.approx(LEARNING_RATE * WEIGHT_DECAY)


@pytest.mark.slow
def test_the_l2_share_falls_as_the_gradient_grows(run):
    """Median sqrt(v_hat) rises from rare to busy pixels and the L2 term's share per step falls, past AdamW's."""
    _, groups, _ = run
    order = ["rare", "sometimes", "busy"]
    assert (np.diff(groups.loc[order, "Adam: median sqrt(v_hat)"]) > 0).all()
    share = groups.loc[order, "Adam + L2: median share of w removed per step"]
    assert (np.diff(share) < 0).all()
    assert share["rare"] > LEARNING_RATE * WEIGHT_DECAY > share["busy"]


@pytest.mark.slow
def test_the_table_scores_are_sane_and_all_three_learned(run):
    """Each method beats chance (10 classes) by far on the test images; rare / busy RMS matches its columns."""
    table, _, _ = run
    assert (table["test accuracy"] > 0.7).all()
    ratio = table["weight RMS: rare"] / table["weight RMS: busy"]
    np.testing.assert_allclose(table["rare / busy RMS"], ratio, rtol=1e-12)


@pytest.mark.slow
def test_sgd_l2_and_decay_coincide_to_rounding(run):
    """SGD pairs: float32 gap ~1e-7, float64 ~1e-16; wd = l2 (factor 2 forgotten) and the Adam pair differ really."""
    _, _, pairs = run
    assert pairs["weights' dtype"].tolist() == ["float32", "float64", "float32", "float32"]
    float32, float64, forgotten, adam = pairs["max gap, any step"].to_numpy()
    assert float32 < 2e-6
    assert float64 < 1e-13
    assert float32 / float64 > 1e6, "the gap scales with the precision: rounding, not the rule"
    assert forgotten > 100 * float32
    assert adam > 1e-2 and adam > 10 * forgotten


# Independent references: the update rules the lesson states, replayed in float64 NumPy.


def _softmax_regression(l2=None, seed=0):
    """A single Dense softmax layer on 6 inputs (bias too), so its gradient has a closed form."""
    keras.utils.set_random_seed(seed)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    return keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, "softmax", kernel_regularizer=regularizer)])


def _data(rows=24, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, 6)).astype("float32"), rng.integers(0, 3, rows)


def _gradient(W, b, X, y):
    """Mean cross-entropy gradient of softmax(X W + b): X^T (p - onehot) / N, float64."""
    z = X @ W + b
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return X.T @ p / len(y), p.mean(axis=0)


def _fit(model, optimizer, X, y, steps):
    """``steps`` full-batch steps of ``fit``, no shuffling."""
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=steps, batch_size=len(X), shuffle=False, verbose=0)
    return [np.asarray(keras.ops.convert_to_numpy(w), dtype=np.float64) for w in model.weights]


def test_sgd_l2_and_decoupled_decay_both_follow_the_float64_rule():
    """SGD + L2(l2): w <- w (1 - 2 lr l2) - lr g; SGD(weight_decay=2 l2, biases excluded) lands on the same w."""
    X, y = _data()
    lr, l2, steps = 0.1, 0.01, 5
    W, b = (np.asarray(keras.ops.convert_to_numpy(w), np.float64) for w in _softmax_regression().weights)
    for _ in range(steps):
        gW, gb = _gradient(W, b, X.astype(np.float64), y)
        W, b = W * (1 - 2 * lr * l2) - lr * gW, b - lr * gb
    with_l2 = _fit(_softmax_regression(l2), keras.optimizers.SGD(lr), X, y, steps)
    decay = keras.optimizers.SGD(lr, weight_decay=2 * l2)
    decay.exclude_from_weight_decay(var_names=["bias"])
    decoupled = _fit(_softmax_regression(), decay, X, y, steps)
    for got in (with_l2, decoupled):
        np.testing.assert_allclose(got[0], W, atol=1e-6)
        np.testing.assert_allclose(got[1], b, atol=1e-6)


@pytest.mark.parametrize(
    "make", [lambda **k: cookbook.optimizers.AdamW(**k), lambda **k: keras.optimizers.AdamW(**k)], ids=["twin", "keras"]
)
def test_adamw_decays_first_then_takes_adams_step_on_the_old_gradient(make):
    """AdamW: w <- w (1 - lr wd), then Adam's step with g computed at the old w (reference.adam, float64)."""
    X, y = _data()
    lr, wd, steps = 0.01, 0.5, 4
    W, b = (np.asarray(keras.ops.convert_to_numpy(w), np.float64) for w in _softmax_regression().weights)
    state_W, state_b = {}, {}
    for t in range(1, steps + 1):
        gW, gb = _gradient(W, b, X.astype(np.float64), y)
        W = reference.adam(W * (1 - lr * wd), gW, state_W, t, learning_rate=lr)
        b = reference.adam(b, gb, state_b, t, learning_rate=lr)
    optimizer = make(learning_rate=lr, weight_decay=wd)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    got = _fit(_softmax_regression(), optimizer, X, y, steps)
    np.testing.assert_allclose(got[0], W, atol=1e-6)
    np.testing.assert_allclose(got[1], b, atol=1e-6)


def test_adam_with_l2_feeds_the_penalty_gradient_into_m_and_v():
    """Adam + L2(l2): Adam's step on g + 2 l2 w (reference.adam, float64), which is not AdamW's rule."""
    X, y = _data()
    lr, l2, steps = 0.01, 0.05, 4
    W0, b0 = (np.asarray(keras.ops.convert_to_numpy(w), np.float64) for w in _softmax_regression().weights)
    W, b, state_W, state_b = W0, b0, {}, {}
    for t in range(1, steps + 1):
        gW, gb = _gradient(W, b, X.astype(np.float64), y)
        W = reference.adam(W, gW + 2 * l2 * W, state_W, t, learning_rate=lr)
        b = reference.adam(b, gb, state_b, t, learning_rate=lr)
    got = _fit(_softmax_regression(l2), keras.optimizers.Adam(lr), X, y, steps)
    np.testing.assert_allclose(got[0], W, atol=1e-6)
    # The decoupled rule with wd = 2 l2 (SGD's correspondence) lands elsewhere under Adam.
    Wd, bd, state_W, state_b = W0, b0, {}, {}
    for t in range(1, steps + 1):
        gW, gb = _gradient(Wd, bd, X.astype(np.float64), y)
        Wd = reference.adam(Wd * (1 - lr * 2 * l2), gW, state_W, t, learning_rate=lr)
        bd = reference.adam(bd, gb, state_b, t, learning_rate=lr)
    assert np.abs(Wd - W).max() > 100 * 1e-6, "far beyond the tolerance the Keras run met"
