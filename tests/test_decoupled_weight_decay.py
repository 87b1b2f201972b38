"""Lesson 13 (L2 in the loss vs decoupled weight decay): its evidence on tiny inputs, the update rules it states
replayed in float64 NumPy, and its claims from one quick run."""

from cookbook import claims, reference
from cookbook.claims import Verdict
from cookbook.datasets import load_dataset, split_and_standardize
from cookbook.errors import LessonError
from cookbook.lessons import decoupled_weight_decay as evidence

import keras
import numpy as np
import pandas as pd
import pytest

LESSON = "13_decoupled_weight_decay"
CE = "sparse_categorical_crossentropy"


def test_to_unit_range_maps_blank_digits_pixels_to_exactly_zero():
    """Training pixels land in [0, 1] with each column's min at 0; a never-inked pixel feeds exactly 0."""
    X, y = load_dataset("digits")
    split = split_and_standardize(X, y, seed=0, stratify=True)
    train, test = evidence.to_unit_range(split)
    assert train.dtype == test.dtype == np.float32
    assert train.min() == 0.0 and train.max() == pytest.approx(1.0) and test.min() >= 0.0
    blank_everywhere = (np.asarray(X) == 0).all(axis=0)
    assert blank_everywhere.any() and (train[:, blank_everywhere] == 0).all()


def test_input_groups_partition_the_inputs_by_activity():
    """Never / rare / sometimes / busy by the share of nonzero rows; every input in exactly one group."""
    X = np.zeros((10, 5))
    X[:1, 1] = 1  # nonzero in 10% of rows -> rare (under 20%)
    X[:5, 2] = 1  # 50% -> busy
    X[:, 3] = 2  # 100% -> busy; columns 0 and 4 stay 0 -> never
    groups = evidence.input_groups(X, rare_below=0.2, busy_from=0.5)
    assert [np.flatnonzero(groups[g]).tolist() for g in evidence.GROUPS] == [[0, 4], [1], [], [2, 3]]
    assert sum(mask.astype(int) for mask in groups.values()).tolist() == [1] * 5
    assert "0 sometimes" in evidence.empty_groups(groups, 0.2, 0.5), "an empty group is named"
    X[:3, 4] = 1  # 30% -> sometimes
    assert evidence.empty_groups(evidence.input_groups(X, 0.2, 0.5), 0.2, 0.5) is None


@pytest.mark.parametrize("rare_below, busy_from", [(0.0, 0.5), (0.6, 0.5), (0.1, 1.5)])
def test_input_groups_refuses_thresholds_out_of_order(rare_below, busy_from):
    """Thresholds must satisfy 0 < rare_below <= busy_from <= 1; the error says so."""
    with pytest.raises(LessonError, match="0 < rare_below <= busy_from <= 1"):
        evidence.input_groups(np.ones((2, 2)), rare_below, busy_from)


def test_group_rms_is_the_rms_of_the_groups_rows():
    """RMS over the selected kernel rows, NaN for an empty group."""
    kernel = np.arange(12, dtype=np.float32).reshape(4, 3)
    rms = evidence.group_rms(kernel, {"a": np.array([True, False, True, False]), "none": np.zeros(4, bool)})
    assert rms["a"] == pytest.approx(np.sqrt(np.mean(kernel[[0, 2]].astype(float) ** 2)))
    assert np.isnan(rms["none"])


def _one_adam_step(gradient, optimizer):
    w = keras.Variable(np.ones((2, 2), "float32"), name="kernel")
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), w)])
    return w


def test_adam_gradient_rms_is_abs_g_after_one_step_and_the_l2_share_follows_the_formula():
    """After one step v_hat = g^2, so sqrt(v_hat) = |g|; the L2 share is lr * 2 l2 / (|g| + eps), >= 1 at g = 0."""
    g = np.array([[0.5, -0.01], [2.0, 0.0]], "float32")
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    w = _one_adam_step(g, optimizer)
    np.testing.assert_allclose(evidence.adam_gradient_rms(optimizer, w), np.abs(g), rtol=1e-5, atol=1e-9)
    share = evidence.l2_decay_per_step(optimizer, w, 1e-3)
    np.testing.assert_allclose(share, 0.01 * 2e-3 / (np.abs(g) + 1e-7), rtol=1e-5)
    assert share[1, 1] >= 1, "no data gradient: the penalty's step overshoots w"


def test_adam_gradient_rms_refuses_an_unrelated_weight_or_an_unstepped_optimizer():
    """A weight the optimizer never saw, or an optimizer with no step yet: LessonError naming the fix."""
    optimizer = keras.optimizers.Adam()
    w = _one_adam_step(np.ones((2, 2), "float32"), optimizer)
    with pytest.raises(LessonError, match="no single optimizer variable"):
        evidence.adam_gradient_rms(optimizer, keras.Variable(np.ones(3, "float32"), name="other"))
    fresh = keras.optimizers.Adam()
    fresh.build([w])
    with pytest.raises(LessonError, match="no step yet"):
        evidence.adam_gradient_rms(fresh, w)


def test_cross_entropy_gap_is_the_paired_mean_and_its_standard_error():
    """Per row -log p_a[y] + log p_b[y]: mean and std / sqrt(n), by hand on three rows."""
    y = np.array([0, 1, 1])
    p_a = np.array([[0.5, 0.5], [0.25, 0.75], [0.5, 0.5]])
    p_b = np.array([[0.25, 0.75], [0.5, 0.5], [0.5, 0.5]])
    differences = np.array([np.log(0.25 / 0.5), np.log(0.5 / 0.75), 0.0])
    mean, se = evidence.cross_entropy_gap(p_a, p_b, y)
    assert mean == pytest.approx(differences.mean())
    assert se == pytest.approx(differences.std(ddof=1) / np.sqrt(3))


RUNS = {
    "Adam": (None, None, "no decay"),
    "L2 small": (1e-4, None, "grid"),
    "L2": (1e-3, None, "grid"),
    "W match": (None, 2e-3, "2 x L2"),
    "W default": (None, 4e-3, "default"),
    "W strong": (None, 0.4, "grid"),
}


def _strengths(val_ce, test_ce=None, test_acc=None):
    """A strength_table from per-run validation (and test) cross-entropies, in RUNS order."""
    test_ce = test_ce or val_ce
    test_acc = test_acc or [0.9] * len(RUNS)
    return evidence.strength_table(
        RUNS,
        validation={n: {CE: v, "accuracy": 0.9} for n, v in zip(RUNS, val_ce)},
        test={n: {CE: c, "accuracy": a} for n, c, a in zip(RUNS, test_ce, test_acc)},
    )


def test_strength_table_marks_the_lowest_validation_cross_entropy_of_each_method():
    """One pick within Adam + L2 and one within AdamW; plain Adam is never a pick."""
    table = _strengths([0.1, 0.3, 0.2, 0.25, 0.22, 0.4])
    picks = table[table["chosen on validation"]]
    assert sorted(zip(picks["l2"].fillna(0), picks["weight_decay"].fillna(0))) == [(0, 4e-3), (1e-3, 0)]


def _rms(l2_rare, l2_busy, w_rare, w_busy, lr=0.01, steps=10):
    """An rms_table-shaped frame: never-inked pixels keep exactly (1 - lr wd)^steps under AdamW, 0.3 under L2."""
    rows = []
    for run, (l2, wd, _) in RUNS.items():
        kept = {"never": 1.0, "rare": 1.0, "sometimes": 1.0, "busy": 1.0}
        if l2:
            kept = {"never": 0.3, "rare": l2_rare, "sometimes": 0.8, "busy": l2_busy}
        if wd:
            kept = {"never": (1 - lr * wd) ** steps, "rare": w_rare, "sometimes": w_rare, "busy": w_busy}
        method = "Adam + L2" if l2 else "AdamW" if wd else "Adam"
        rows += [{"run": run, "method": method, "l2": l2, "weight_decay": wd, "pixels": g, "RMS / Adam's": kept[g]}
                 for g in evidence.GROUPS]  # fmt: skip
    return pd.DataFrame(rows)


def _mechanism():
    groups = {g: np.eye(4, dtype=bool)[i] for i, g in enumerate(evidence.GROUPS)}
    share = np.array([[2.0, 0.5], [0.01, 0.02], [1e-3, 1e-3], [1e-4, 2e-4]])
    return evidence.mechanism_table(groups, np.ones((4, 2)), np.ones((4, 2)), share)


def _equivalence(sgd=1e-7, forgotten=1e-3, adam=0.1):
    gaps = {"sgd": np.array([0.0, sgd]), "forgotten": np.array([1e-5, forgotten]), "adam": np.array([0.01, adam])}
    return evidence.equivalence_table(gaps, largest_weight=1.0)


def _claims(rms=None, strengths=None, equivalence=None, gap=(-0.01, 0.002)):
    return claims.by_key(
        evidence.claims(
            _strengths([0.1, 0.3, 0.2, 0.25, 0.22, 0.4]) if strengths is None else strengths,
            _rms(0.5, 0.95, 0.8, 0.82) if rms is None else rms,
            _mechanism(),
            _equivalence() if equivalence is None else equivalence,
            l2=1e-3,
            learning_rate=0.01,
            steps=10,
            default_weight_decay=4e-3,
            test_rows=100,
            gap=gap,
        )
    )


def test_claims_hold_on_a_clear_run_and_quote_the_tables():
    """Uneven L2, even AdamW, exact pure decay, a significant AdamW win, SGD at rounding: all four hold."""
    found = _claims()
    assert [c.verdict for c in found.values()] == [Verdict.HOLDS] * 4
    where = found["l2_under_adam_shrinks_idle_weights_most"].numbers
    assert (where["l2_kept_rare"], where["adamw_kept_busy"], where["adamw_weight_decay"]) == (0.5, 0.82, 0.4)
    assert where["overshooting_weights"] == 1
    decay = found["adamw_removes_lr_times_weight_decay_per_step"].numbers
    assert decay["default_kept_predicted"] == pytest.approx((1 - 0.01 * 4e-3) ** 10)
    better = found["adamw_beats_adam_l2"].numbers
    assert (better["chosen_l2"], better["chosen_weight_decay"]) == (1e-3, 4e-3)
    assert better["test_cross_entropy_adamw_at_2_l2"] == 0.25
    assert found["l2_is_weight_decay_under_sgd"].numbers["sgd_gap"] == 1e-7


def test_claims_fail_when_the_run_shows_the_opposite():
    """L2 shrinking evenly with AdamW uneven fails; Adam + L2 winning fails; an SGD gap far above rounding fails."""
    found = _claims(rms=_rms(0.9, 0.95, 0.5, 0.9), gap=(0.02, 0.005), equivalence=_equivalence(sgd=1e-2))
    assert found["l2_under_adam_shrinks_idle_weights_most"].verdict is Verdict.FAILS
    assert found["adamw_beats_adam_l2"].verdict is Verdict.FAILS
    assert found["l2_is_weight_decay_under_sgd"].verdict is Verdict.FAILS


def test_a_gap_within_two_standard_errors_fails_and_half_a_contrast_is_partly():
    """No clear winner (|gap| < 2 SE) does not support "AdamW is better"; L2 uneven but AdamW uneven too: partly."""
    found = _claims(rms=_rms(0.5, 0.95, 0.5, 0.9), gap=(-0.001, 0.001))
    assert found["adamw_beats_adam_l2"].verdict is Verdict.FAILS
    assert found["adamw_beats_adam_l2"].numbers["paired_standard_error"] == 0.001
    assert found["l2_under_adam_shrinks_idle_weights_most"].verdict is Verdict.PARTLY


def test_pure_decay_that_misses_the_formula_fails_and_no_never_group_is_not_measured():
    """Never-inked weights off (1 - lr wd)^steps: fails; a table without never-inked pixels: not measured."""
    rms = _rms(0.5, 0.95, 0.8, 0.82)
    rms.loc[(rms["run"] == "W default") & (rms["pixels"] == "never"), "RMS / Adam's"] = 0.9
    assert _claims(rms=rms)["adamw_removes_lr_times_weight_decay_per_step"].verdict is Verdict.FAILS
    without_never = _rms(0.5, 0.95, 0.8, 0.82).query("pixels != 'never'")
    assert _claims(rms=without_never)["adamw_removes_lr_times_weight_decay_per_step"].verdict is Verdict.NOT_MEASURED


# The update rules the lesson states, replayed in float64 NumPy on a softmax regression (closed-form gradient).


def _softmax_regression(l2=None, seed=0):
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
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    model.fit(X, y, epochs=steps, batch_size=len(X), shuffle=False, verbose=0)
    return [np.asarray(keras.ops.convert_to_numpy(w), dtype=np.float64) for w in model.weights]


def _start():
    return (np.asarray(keras.ops.convert_to_numpy(w), np.float64) for w in _softmax_regression().weights)


def test_sgd_l2_and_decoupled_decay_both_follow_the_float64_rule():
    """SGD + L2(l2): w <- w (1 - 2 lr l2) - lr g; SGD(weight_decay=2 l2, biases excluded) lands on the same w."""
    X, y = _data()
    lr, l2, steps = 0.1, 0.01, 5
    W, b = _start()
    for _ in range(steps):
        gW, gb = _gradient(W, b, X.astype(np.float64), y)
        W, b = W * (1 - 2 * lr * l2) - lr * gW, b - lr * gb
    decay = keras.optimizers.SGD(lr, weight_decay=2 * l2)
    decay.exclude_from_weight_decay(var_names=["bias"])
    for got in (_fit(_softmax_regression(l2), keras.optimizers.SGD(lr), X, y, steps),
                _fit(_softmax_regression(), decay, X, y, steps)):  # fmt: skip
        np.testing.assert_allclose(got[0], W, atol=1e-6)
        np.testing.assert_allclose(got[1], b, atol=1e-6)


def test_adamw_decays_first_and_adam_l2_feeds_the_penalty_into_m_and_v():
    """AdamW: w (1 - lr wd), then Adam's step on g at the old w; Adam + L2: Adam's step on g + 2 l2 w (float64)."""
    X, y = _data()
    lr, wd, steps = 0.01, 0.5, 4
    W0, b0 = _start()
    (W, b), (Wl, bl), states = (W0, b0), (W0, b0), [{}, {}, {}, {}]
    for t in range(1, steps + 1):
        gW, gb = _gradient(W, b, X.astype(np.float64), y)
        W = reference.adam(W * (1 - lr * wd), gW, states[0], t, learning_rate=lr)
        b = reference.adam(b, gb, states[1], t, learning_rate=lr)
        gW, gb = _gradient(Wl, bl, X.astype(np.float64), y)
        Wl = reference.adam(Wl, gW + wd * Wl, states[2], t, learning_rate=lr)  # L2(wd / 2): gradient wd * w
        bl = reference.adam(bl, gb, states[3], t, learning_rate=lr)
    optimizer = keras.optimizers.AdamW(learning_rate=lr, weight_decay=wd)
    optimizer.exclude_from_weight_decay(var_names=["bias"])
    np.testing.assert_allclose(_fit(_softmax_regression(), optimizer, X, y, steps)[0], W, atol=1e-6)
    np.testing.assert_allclose(
        _fit(_softmax_regression(wd / 2), keras.optimizers.Adam(lr), X, y, steps)[0], Wl, atol=1e-6
    )
    assert np.abs(Wl - W).max() > 100 * 1e-6, "under Adam, L2(wd / 2) is not weight_decay wd"


@pytest.mark.slow
def test_quick_run_claims_match_its_tables(quick_run):
    """The quick run's claims quote its CSVs; AdamW's never-inked weights keep exactly (1 - lr wd)^steps."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    assert len(found) == 4
    strengths = pd.read_csv(out / f"{LESSON}.csv")
    adam = strengths[strengths["l2"].isna() & strengths["weight_decay"].isna()].iloc[0]
    better = found["adamw_beats_adam_l2"].numbers
    assert better["test_cross_entropy_adam"] == pytest.approx(adam["test cross-entropy"])
    assert better["chosen_weight_decay"] in set(strengths["weight_decay"].dropna())
    decay = found["adamw_removes_lr_times_weight_decay_per_step"]
    assert decay.verdict is Verdict.HOLDS
    rms = pd.read_csv(out / f"{LESSON}_rms.csv")
    never = rms[(rms["pixels"] == "never") & np.isclose(rms["weight_decay"], 0.004)]["RMS / Adam's"].iloc[0]
    assert decay.numbers["default_kept_never_inked"] == pytest.approx(never)
    assert never == pytest.approx((1 - 0.003 * 0.004) ** decay.numbers["steps"], rel=1e-5)
    assert found["l2_is_weight_decay_under_sgd"].verdict is Verdict.HOLDS
    where = found["l2_under_adam_shrinks_idle_weights_most"].numbers
    assert where["l2_kept_rare"] < where["l2_kept_busy"]
