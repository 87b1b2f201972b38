"""Lesson 10 (Adagrad vs RMSprop): its evidence on tiny inputs, the update rules against Keras, one quick run."""

import math

from cookbook import claims
from cookbook.claims import Verdict
from cookbook.datasets import Split
from cookbook.errors import LessonError
from cookbook.lessons import adagrad_vs_rmsprop as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "10_adagrad_vs_rmsprop"
PAPER, DEFAULT, RMS = "ada0", "ada01", "rms"  # the tests' own run names

RULES = [  # (optimizer, float64 update of the squared-gradient state, its start, the state variable's suffix)
    pytest.param(
        lambda: keras.optimizers.Adagrad(0.1, initial_accumulator_value=0.0),
        lambda s, g: s + g**2,
        0.0,
        "_accumulator",
        id="Adagrad, start 0",
    ),
    pytest.param(lambda: keras.optimizers.Adagrad(0.1), lambda s, g: s + g**2, 0.1, "_accumulator", id="Adagrad"),
    pytest.param(
        lambda: keras.optimizers.RMSprop(0.01, rho=0.9),
        lambda s, g: 0.9 * s + 0.1 * g**2,
        0.0,
        "_velocity",
        id="RMSprop",
    ),
]


@pytest.mark.parametrize("make_optimizer, accumulate, start, suffix", RULES)
def test_keras_follows_the_update_rules_shown_next_to_the_figure(make_optimizer, accumulate, start, suffix):
    """Keras's state and weights equal the float64 rules with eps inside the root, ``w -= lr g / sqrt(s + eps)``."""
    rng = np.random.default_rng(0)
    gradients = rng.normal(size=(5, 2, 3)) * np.array([[1.0], [1e-3]])  # second row: tiny gradients
    w = keras.Variable(np.ones((2, 3)), dtype="float32", name="kernel")
    optimizer = make_optimizer()
    state, expected_w = np.full((2, 3), start), np.ones((2, 3))
    lr, eps = float(optimizer.get_config()["learning_rate"]), optimizer.epsilon
    for g in gradients:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), w)])
        state = accumulate(state, g)
        expected_w -= lr * g / np.sqrt(state + eps)
    slot = next(v for v in optimizer.variables if v.path.endswith(suffix))  # how the lesson's recorder finds it
    np.testing.assert_allclose(keras.ops.convert_to_numpy(slot), state, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), expected_w, rtol=1e-5)


def test_to_unit_range_keeps_blank_pixels_at_exactly_zero():
    """Raw ink 0 -> 0.0 exactly, the training maximum -> 1.0, test values below the training minimum clipped to 0."""
    raw_train = np.array([[0.0, 4.0], [8.0, 4.0], [16.0, 6.0]])
    raw_test = np.array([[0.0, 2.0], [12.0, 5.0]])
    mean, std = raw_train.mean(axis=0), raw_train.std(axis=0)
    split = Split(
        X_train=((raw_train - mean) / std).astype("float32"),
        X_test=((raw_test - mean) / std).astype("float32"),
        y_train=np.zeros(3),
        y_test=np.zeros(2),
        mean=mean,
        std=std,
        feature_names=("a", "b"),
    )
    train, test = evidence.to_unit_range(split)
    np.testing.assert_array_equal(train, np.array([[0.0, 0.0], [0.5, 0.0], [1.0, 1.0]], "float32"))
    np.testing.assert_allclose(test, [[0.0, 0.0], [0.75, 0.5]], atol=1e-6)


def test_input_groups_split_rare_busy_and_never_nonzero_inputs():
    """Activity is the share of nonzero rows; never-nonzero inputs are in neither group."""
    X = np.zeros((10, 4))
    X[0, 1] = 1.0  # input 1: nonzero in 10% of rows
    X[:6, 2] = 1.0  # input 2: 60%
    X[:, 3] = 0.5  # input 3: every row
    groups = evidence.input_groups(X, rare_below=0.2, busy_from=0.5)
    np.testing.assert_allclose(groups.activity, [0.0, 0.1, 0.6, 1.0])
    assert groups.rare.tolist() == [False, True, False, False]
    assert groups.busy.tolist() == [False, False, True, True]


def test_input_groups_stop_the_lesson_without_sparse_inputs(capsys):
    """Dense data (no rarely nonzero input) ends the lesson with one line and exit status 2."""
    with pytest.raises(SystemExit) as stopped:
        evidence.input_groups(np.ones((5, 3)), 0.1, 0.5, source="dense.csv")
    assert stopped.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_recorded_steps_are_log_spaced_and_include_every_epoch_end():
    """Step 1, the last step and each epoch's last step are recorded; early steps are denser than late ones."""
    steps = evidence.recorded_steps(steps_per_epoch=10, epochs=20, points=12)
    assert steps[0] == 1 and steps[-1] == 200 and steps == sorted(set(steps))
    assert {10 * e for e in range(1, 21)} <= set(steps)
    assert sum(s < 10 for s in steps) >= 4


def test_steps_per_epoch_counts_the_batches_fit_takes():
    """fit(validation_split=0.2, batch_size=8) on 47 rows takes ceil(floor(37.6) / 8) = 5 steps per epoch."""

    class CountBatches(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            self.batches += 1

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    counter = CountBatches()
    model.fit(
        np.zeros((47, 2)), np.zeros(47), batch_size=8, validation_split=0.2, epochs=1, verbose=0, callbacks=[counter]
    )
    assert evidence.fit_rows(47, 0.2) == 37
    assert counter.batches == evidence.steps_per_epoch(47, 0.2, 8) == 5


def _grid(validation, rates=(0.1, 0.3, 1.0), test=None):
    rows = [
        {"optimizer": name, "learning rate": lr, "train loss": 0.1, "validation loss": v}
        for name, losses in validation.items()
        for lr, v in zip(rates, losses)
    ]
    grid = pd.DataFrame(rows)
    if test is not None:
        grid["test loss"] = test
    return grid


def test_each_optimizer_keeps_its_rate_of_lowest_validation_loss():
    """Per optimizer the validation argmin is chosen, whatever a test-loss column says."""
    grid = evidence.choose_rates(
        _grid({"A": [0.5, 0.2, 0.4], "B": [0.3, 0.6, 0.9]}, test=[0.1, 0.9, 0.9, 0.9, 0.1, 0.1])
    )
    assert grid["chosen"].tolist() == [False, True, False, True, False, False]
    assert evidence.chosen_rates(grid) == {"A": 0.3, "B": 0.1}


def test_a_diverged_run_is_never_chosen_and_a_tie_goes_to_the_smaller_rate():
    """NaN validation loss is skipped; equal losses choose the smaller learning rate."""
    grid = evidence.choose_rates(_grid({"A": [np.nan, 0.4, np.nan], "B": [0.3, 0.3, np.nan]}))
    assert evidence.chosen_rates(grid) == {"A": 0.3, "B": 0.1}


def test_an_optimizer_whose_runs_all_diverged_is_an_error():
    """Nothing to choose from: a LessonError that names the optimizer."""
    with pytest.raises(LessonError, match="B"):
        evidence.choose_rates(_grid({"A": [0.2, 0.1, 0.3], "B": [np.nan, np.nan, np.nan]}))


def _run(busy_rates, rare_rates, losses, lr=0.1, test_loss=0.2):
    """A run recorded at the end of each epoch (2 steps per epoch): kernel row 0 rare, rows 1-2 busy."""
    rates = {2 * (e + 1): np.array([[r], [b], [b]]) for e, (b, r) in enumerate(zip(busy_rates, rare_rates))}
    history = {"loss": list(losses), "val_loss": [x * 1.1 for x in losses]}
    return {"rates": rates, "history": history, "learning rate": lr, "test loss": test_loss}


GROUPS = evidence.InputGroups(
    activity=np.array([0.05, 0.9, 0.8]),
    rare=np.array([True, False, False]),
    busy=np.array([False, True, True]),
    rare_below=0.1,
    busy_from=0.5,
)


def test_summary_table_reads_the_rates_at_epoch_one_half_way_and_the_end():
    """Four epochs: half-way is epoch 2; ratios are end / epoch 1 and end / half-way, rare / busy at the end."""
    runs = {"a": _run([4.0, 2.0, 1.5, 1.0], [40.0, 40.0, 30.0, 20.0], [1.0, 0.5, 0.4, 0.25])}
    rates = evidence.rates_table(runs, GROUPS, steps_per_epoch=2)
    assert rates["median rate, busy"].tolist() == [4.0, 2.0, 1.5, 1.0]
    assert rates["epoch"].tolist() == [1.0, 2.0, 3.0, 4.0]
    row = evidence.summary_table(runs, rates, steps_per_epoch=2).iloc[0]
    assert row["busy rate, end / epoch 1"] == pytest.approx(0.25)
    assert row["busy rate, end / half"] == pytest.approx(0.5)
    assert row["rare / busy, end"] == pytest.approx(20.0)
    assert row["train loss, end / half"] == pytest.approx(0.5)


def _summary(epochs=20, paper=None, default=None, rms=None):
    """A summary table with the columns claims() reads; each run's values overridable by name."""
    base = {
        "epochs": epochs,
        "learning rate": 0.1,
        "train loss": 0.01,
        "test loss": 0.12,
        "train loss, end / half": 0.45,
        "busy rate, end / epoch 1": 0.45,
        "busy rate, end / half": 0.94,
        "rare / busy, end": 100.0,
    }
    rows = [
        {"run": PAPER, **base, **(paper or {})},
        {"run": DEFAULT, **base, "rare / busy, end": 1.3, "busy rate, end / epoch 1": 0.9, **(default or {})},
        {"run": RMS, **base, "busy rate, end / epoch 1": 40.0, "busy rate, end / half": 3.0, **(rms or {})},
    ]
    return pd.DataFrame(rows)


def _claims(summary):
    return claims.by_key(evidence.claims(summary, PAPER, DEFAULT, RMS))


def test_a_rate_that_levelled_off_and_a_loss_that_kept_falling_answer_the_note_no():
    """Rate kept 94% over the second half, loss halved: decay fails, no stall, RMSprop's fix only partly."""
    found = _claims(_summary())
    assert [c.verdict for c in found.values()] == [Verdict.PARTLY, Verdict.FAILS, Verdict.FAILS, Verdict.PARTLY]
    decay = found["adagrad_rate_decays_toward_zero"]
    assert decay.numbers["busy_rate_end_over_half_start_0"] == pytest.approx(0.94)
    assert decay.numbers["constant_gradient_end_over_epoch_1"] == pytest.approx(1 / math.sqrt(20))
    assert decay.numbers["constant_gradient_end_over_half"] == pytest.approx(1 / math.sqrt(2))
    accumulator = found["accumulator_start_sets_the_rare_input_rates"]
    assert accumulator.numbers["rare_over_busy_start_0"] == 100.0
    assert accumulator.numbers["rare_over_busy_start_0_1"] == 1.3


@pytest.mark.parametrize("second_half, verdict", [(0.72, Verdict.HOLDS), (0.85, Verdict.PARTLY), (0.95, Verdict.FAILS)])
def test_the_decay_verdict_follows_the_second_half_fall(second_half, verdict):
    """Falling like 1/sqrt(step) holds, still falling slowly is partly, levelled off fails."""
    summary = _summary(paper={"busy rate, end / half": second_half, "busy rate, end / epoch 1": 0.2})
    assert _claims(summary)["adagrad_rate_decays_toward_zero"].verdict is verdict


def test_a_stalled_adagrad_beaten_by_rmsprop_is_the_fix_the_note_promises():
    """Adagrad's loss flat over the second half and RMSprop's test loss 20% lower: both claims hold."""
    stalled = {"train loss, end / half": 0.97, "test loss": 0.20}
    found = _claims(_summary(paper=stalled, default=stalled, rms={"test loss": 0.16}))
    assert found["adagrad_learning_stalls"].verdict is Verdict.HOLDS
    assert found["rmsprop_fixes_adagrads_shrinking_rate"].verdict is Verdict.HOLDS
    assert found["rmsprop_fixes_adagrads_shrinking_rate"].numbers["test_loss_best_adagrad"] == 0.20


def test_an_rmsprop_rate_that_shrank_fails_the_fix():
    """RMSprop's busy-input rate ending below its epoch-1 value contradicts 'it keeps the rate up'."""
    found = _claims(_summary(rms={"busy rate, end / epoch 1": 0.8}))
    assert found["rmsprop_fixes_adagrads_shrinking_rate"].verdict is Verdict.FAILS


@pytest.mark.parametrize(
    "paper_ratio, default_ratio, verdict",
    [(100.0, 3.0, Verdict.HOLDS), (100.0, 1.2, Verdict.PARTLY), (1.5, 1.2, Verdict.FAILS)],
)
def test_the_accumulator_verdict_asks_whether_keras_default_separates_rare_inputs(paper_ratio, default_ratio, verdict):
    """Holds if Keras's start 0.1 gives rare inputs 2x the busy rate; partly if only start 0.0 does."""
    summary = _summary(paper={"rare / busy, end": paper_ratio}, default={"rare / busy, end": default_ratio})
    assert _claims(summary)["accumulator_start_sets_the_rare_input_rates"].verdict is verdict


def test_a_short_run_does_not_measure_the_long_run_claims():
    """Under MIN_EPOCHS epochs (--quick) decay, stall and fix are not measured; the start claim still is."""
    found = _claims(_summary(epochs=evidence.MIN_EPOCHS - 1))
    assert found["accumulator_start_sets_the_rare_input_rates"].verdict is Verdict.PARTLY
    for key in ("adagrad_rate_decays_toward_zero", "adagrad_learning_stalls", "rmsprop_fixes_adagrads_shrinking_rate"):
        assert found[key].verdict is Verdict.NOT_MEASURED


def test_the_figures_draw_tiny_runs():
    """Both figures build from two recorded epochs without error, one rate line per run and group."""
    runs = {"a": _run([4.0, 2.0], [40.0, 30.0], [1.0, 0.5]), "b": _run([1.0, 2.0], [10.0, 20.0], [1.2, 0.6])}
    rates = evidence.rates_table(runs, GROUPS, steps_per_epoch=2)
    over_training = evidence.plot_rates_over_training(rates, runs, steps_per_epoch=2)
    assert len(over_training.axes[0].lines) == 2 * len(runs) + 1  # plus the 1/sqrt(step) reference
    by_activity = evidence.plot_rate_by_activity(runs, GROUPS)
    assert len(by_activity.axes[0].collections) >= len(runs)


@pytest.mark.slow
def test_quick_run_claims_match_its_tables(quick_run):
    """The quick run: each chosen rate is its grid's validation argmin, and the claims quote the summary table."""
    out = quick_run(LESSON)
    grid = pd.read_csv(out / f"{LESSON}_grid.csv")
    summary = pd.read_csv(out / f"{LESSON}.csv").set_index("run")
    for name, rows in grid.groupby("optimizer"):
        best = rows.loc[rows["validation loss"].idxmin()]
        assert best["chosen"] and rows["chosen"].sum() == 1
        assert summary.loc[name, "learning rate"] == best["learning rate"]
        assert summary.loc[name, "validation loss"] == pytest.approx(best["validation loss"])
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    accumulator = found["accumulator_start_sets_the_rare_input_rates"]
    assert accumulator.numbers["rare_over_busy_start_0"] > 10 * accumulator.numbers["rare_over_busy_start_0_1"]
    assert accumulator.numbers["rare_over_busy_start_0"] == pytest.approx(summary["rare / busy, end"].max())
    assert np.isclose(summary["test loss"], accumulator.numbers["test_loss_start_0"]).sum() == 1
    assert found["adagrad_rate_decays_toward_zero"].verdict is Verdict.NOT_MEASURED  # 2 epochs
