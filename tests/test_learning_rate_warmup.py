"""Lesson 14 (learning-rate schedules and warmup): its evidence on tiny inputs, and its claims from one quick run."""

from cookbook import claims
from cookbook.claims import Verdict
from cookbook.errors import LessonError
from cookbook.lessons import learning_rate_warmup as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "14_learning_rate_warmup"
HIGH, LOW, W = 0.05, 0.001, 2
C, WU, COS, WCOS = "constant", "warmup", "cosine", "warmup + cosine"


def test_flat_weights_ravels_every_array_in_order_as_float64():
    """A kernel and a bias become one float64 vector, kernel first."""
    kernel, bias = keras.Variable(np.arange(6.0).reshape(2, 3)), keras.Variable(np.array([7.0, 8.0]))
    flat = evidence.flat_weights([kernel, bias])
    assert flat.dtype == np.float64
    np.testing.assert_array_equal(flat, [0, 1, 2, 3, 4, 5, 7, 8])


def test_step_sizes_divides_each_steps_change_by_its_rate():
    """|w_t - w_(t-1)| / lr_t per weight: a hand-computed 2-step, 2-weight case."""
    snapshots = [[0.0, 1.0], [0.1, 0.8], [0.1, 1.2]]
    np.testing.assert_allclose(evidence.step_sizes(snapshots, [0.1, 0.2]), [[1.0, 2.0], [0.0, 2.0]])


@pytest.mark.parametrize(
    ("snapshots", "rates", "message"),
    [([[0.0, 1.0]], [], "at least two weight vectors"), ([[0.0], [1.0]], [0.0], "one positive rate per step")],
)
def test_step_sizes_refuses_what_it_cannot_measure(snapshots, rates, message):
    """One snapshot, or a rate of 0, is refused with the fix named."""
    with pytest.raises(LessonError, match=message):
        evidence.step_sizes(snapshots, rates)


def test_peak_and_first_step_below_read_a_curve_by_step():
    """peak's window is inclusive and clipped; first_step_below looks only after the given step."""
    curve = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert evidence.peak(curve, 1, 3) == (3.0, 2)
    assert evidence.peak(curve, 3, 99) == (4.0, 4)
    value, step = evidence.peak(curve, 9, 12)
    assert np.isnan(value) and step is None
    assert evidence.first_step_below(curve, 2.5, after=2) == 3
    assert evidence.first_step_below(curve, 0.5, after=0) is None


def test_keras_schedules_follow_the_formulas_the_lesson_quotes():
    """CosineDecay with warmup (linear, then cosine on i - W) and ExponentialDecay equal their float64 formulas."""
    i = np.arange(0, 40)
    warm = keras.optimizers.schedules.CosineDecay(0.01, decay_steps=25, alpha=0.1, warmup_target=0.05, warmup_steps=10)
    j = np.minimum(i, 35) - 10
    cosine = 0.05 * (0.9 * (1 + np.cos(np.pi * j / 25)) / 2 + 0.1)
    expected = np.where(i < 10, 0.01 + (0.05 - 0.01) * i / 10, cosine)
    got = [float(keras.ops.convert_to_numpy(warm(k))) for k in i]
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    exponential = keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=22, decay_rate=0.5)
    got = [float(keras.ops.convert_to_numpy(exponential(k))) for k in (0, 11, 22, 44)]
    np.testing.assert_allclose(got, [0.05, 0.05 * 0.5**0.5, 0.025, 0.0125], rtol=1e-5)
    constant_after = keras.optimizers.schedules.CosineDecay(0.0, 30, alpha=1.0, warmup_target=0.05, warmup_steps=10)
    assert [float(keras.ops.convert_to_numpy(constant_after(k))) for k in (0, 5, 10, 29)] == pytest.approx(
        [0.0, 0.025, 0.05, 0.05]
    ), "alpha=1.0: warmup, then constant"


def test_schedules_table_reads_each_schedules_config():
    """A float is a constant rate; a schedule's numeric settings come from get_config (bools left out)."""
    table = evidence.schedules_table(
        {"flat": 0.05, "exp": keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=22, decay_rate=0.5)}
    )
    assert table["class"].tolist() == ["float", "ExponentialDecay"]
    assert "decay_steps=22" in table["settings"].iloc[1] and "staircase" not in table["settings"].iloc[1]


def test_adams_step_one_is_lr_for_every_gradient_above_epsilons_reach():
    """Keras's Adam, one apply_gradients: |dw| = lr within 1% for |g| >= 1e-3, less for |g| = 1e-6, 0 for g = 0."""
    variable = keras.Variable(np.zeros(4, dtype="float32"))
    optimizer = keras.optimizers.Adam(learning_rate=HIGH)
    before = evidence.flat_weights([variable])
    optimizer.apply_gradients([(keras.ops.convert_to_tensor([5.0, -1e-3, 1e-6, 0.0]), variable)])
    table = evidence.first_steps_table({C: [before, evidence.flat_weights([variable])]}, {C: [HIGH]}, HIGH)
    np.testing.assert_allclose(
        evidence.step_sizes([before, evidence.flat_weights([variable])], [HIGH])[0, :2], 1.0, rtol=1e-2
    )
    row = table.iloc[0]
    assert row["share of weights moved"] == pytest.approx(0.75)
    assert row["share of moved within 1% of lr used"] == pytest.approx(2 / 3), "g = 1e-6 is within epsilon's reach"
    threshold = 99 * 1e-7 / np.sqrt(1 - 0.999)
    assert 1e-6 < threshold < 1e-3


def test_first_steps_table_reads_steps_in_both_units_and_skips_rate_zero():
    """A step at rate 0 has no 'lr used' unit (NaN); a step at half the peak reads 1.0 in its own units."""
    snapshots = {WU: [np.zeros(2), np.zeros(2), np.array([0.025, -0.025])]}
    table = evidence.first_steps_table(snapshots, {WU: [0.0, 0.025, 0.05]}, HIGH)
    assert table["lr used / peak lr"].tolist() == [0.0, 0.5]
    assert np.isnan(table["median |dw| / lr used"].iloc[0]) and table["share of weights moved"].iloc[0] == 0.0
    assert table["median |dw| / peak lr"].iloc[1] == pytest.approx(0.5)
    assert table["median |dw| / lr used"].iloc[1] == pytest.approx(1.0)


def _summary(warmup_final=0.8, low_warmup=(1.95, 1.4), with_decays=True):
    """A summary_table from hand-made curves with a W=2 warmup window; by default warmup hurt, as in the lesson."""
    losses = {
        (HIGH, C): [2.0, 3.0, 1.0, 0.5, 0.6, 0.4],  # spike at step 1, back below 2.0 at step 2
        (HIGH, WU): [2.0, 2.0, 1.8, 1.9, 0.9, warmup_final],  # no spike, behind, its own jump at step 3
        (LOW, C): [2.0, 1.9, 1.7, 1.5, 1.3, 1.1],
        (LOW, WU): [2.0, 2.0, low_warmup[0], 1.8, 1.6, low_warmup[1]],
    }
    if with_decays:
        losses[HIGH, COS] = [2.0, 3.0, 1.0, 0.4, 0.3, 0.2]
        losses[HIGH, WCOS] = [2.0, 2.0, 1.5, 1.0, 0.5, 0.25]
    curves = evidence.curves_table({key: ([0.01] * 5, curve) for key, curve in losses.items()})
    return evidence.summary_table(curves, {key: 0.9 for key in losses}, W)


def _first_steps(step_one=0.05):
    """A constant run's snapshots: two weights move by ``step_one`` at step 1, one has no gradient."""
    snapshots = [np.zeros(3), np.array([step_one, -step_one, 0.0]), np.array([0.07, -0.06, 0.0])]
    return evidence.first_steps_table({C: snapshots}, {C: [HIGH, HIGH]}, HIGH)


def _claims(summary, first_steps=None):
    return claims.by_key(
        evidence.claims(
            summary,
            _first_steps() if first_steps is None else first_steps,
            high_lr=HIGH,
            low_lr=LOW,
            constant=C,
            warmup=WU,
            decays=[COS, WCOS, "never ran"],
            decay_pair=(WCOS, COS),
            test_rows=100,
        )
    )


def test_summary_table_reads_each_curve_at_its_landmarks():
    """Window peak, the step back below the start, the loss after the window, the later peak and the end."""
    row = _summary().set_index(["peak lr", "schedule"]).loc[(HIGH, C)]
    assert row[["highest loss in warmup window", "step of that", "back below start at step"]].tolist() == [3, 1, 2]
    assert row[["loss after warmup window", "highest loss after warmup window", "final train loss"]].tolist() == [
        1.0,
        0.6,
        0.4,
    ]
    assert row["step of highest after window"] == 4


def test_warmup_that_ends_higher_fails_and_its_numbers_say_what_it_avoided_and_cost():
    """Warmup behind at the end in both pairs: FAILS, with the constant run's spike and the warmup's late jump."""
    found = _claims(_summary())
    warmup = found["warmup_helps_at_high_lr"]
    assert warmup.verdict is Verdict.FAILS
    assert warmup.numbers["highest_in_window_constant"] == 3.0 and warmup.numbers["highest_in_window_warmup"] == 2.0
    assert warmup.numbers["back_below_start_constant"] == 2 and warmup.numbers["spike_step_constant"] == 1
    assert warmup.numbers["highest_after_window_warmup"] > warmup.numbers["highest_after_window_constant"]
    assert (warmup.numbers["final_loss_warmup"], warmup.numbers["final_loss_constant"]) == (0.8, 0.4)


def test_warmup_verdict_follows_the_final_loss_of_each_pair():
    """Warmup lower in both pairs: HOLDS; lower against the constant rate only: PARTLY, and its words say so."""
    assert _claims(_summary(warmup_final=0.3, with_decays=False))["warmup_helps_at_high_lr"].verdict is Verdict.HOLDS
    partly = _claims(_summary(warmup_final=0.3))["warmup_helps_at_high_lr"]
    assert partly.verdict is Verdict.PARTLY
    assert "ended below the constant rate" in partly.conclusion and "again ended higher" not in partly.conclusion
    assert "again ended higher" in _claims(_summary())["warmup_helps_at_high_lr"].conclusion


@pytest.mark.parametrize(
    ("low_warmup", "verdict"),
    [((1.95, 1.4), Verdict.HOLDS), ((1.95, 1.0), Verdict.PARTLY), ((1.5, 1.4), Verdict.FAILS)],
)
def test_warmup_at_the_default_rate_only_delays_when_it_is_behind(low_warmup, verdict):
    """Behind after the window and at the end: HOLDS; behind, then ahead: PARTLY; ahead after the window: FAILS."""
    claim = _claims(_summary(low_warmup=low_warmup))["warmup_at_default_lr_only_delays"]
    assert claim.verdict is verdict
    assert claim.numbers["loss_after_window_warmup"] == low_warmup[0]


def test_step_one_claim_holds_only_when_the_median_weight_moved_by_lr():
    """A median step-1 move of lr HOLDS (weights without a gradient excluded from the 1% share); half of lr FAILS."""
    claim = _claims(_summary())["adam_step_one_moves_every_weight_by_lr"]
    assert claim.verdict is Verdict.HOLDS
    assert claim.numbers["share_moved_step_1"] == pytest.approx(2 / 3)
    assert claim.numbers["share_of_moved_within_1pct_step_1"] == 1.0
    assert claim.numbers["median_last_step_over_lr"] == pytest.approx(0.2)
    half = _claims(_summary(), _first_steps(step_one=0.025))["adam_step_one_moves_every_weight_by_lr"]
    assert half.verdict is Verdict.FAILS


def test_decay_claim_is_measured_only_on_the_decays_that_ran():
    """Both decays end lower: HOLDS with their final losses; no decay ran: NOT_MEASURED."""
    decay = _claims(_summary())["decay_ends_lower"]
    assert decay.verdict is Verdict.HOLDS
    assert {k: v for k, v in decay.numbers.items() if k.startswith("final")} == {
        "final_loss_constant": 0.4,
        "final_loss_cosine": 0.2,
        "final_loss_warmup_+_cosine": 0.25,
    }
    assert _claims(_summary(with_decays=False))["decay_ends_lower"].verdict is Verdict.NOT_MEASURED


@pytest.mark.slow
def test_quick_run_claims_match_its_tables_and_fit_used_the_schedules(quick_run):
    """Step 1 moved weights by lr; the claims quote the summary; the warmup's rate was i / W of the peak."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    summary = pd.read_csv(out / f"{LESSON}.csv").set_index(["peak lr", "schedule"])
    assert found["adam_step_one_moves_every_weight_by_lr"].verdict is Verdict.HOLDS
    warmup = found["warmup_helps_at_high_lr"]
    assert warmup.numbers["final_loss_constant"] == pytest.approx(summary.loc[(HIGH, "constant"), "final train loss"])
    assert warmup.numbers["highest_in_window_constant"] > warmup.numbers["start_loss"], "the step-2 spike"
    curves = pd.read_csv(out / f"{LESSON}_curves.csv")
    run = curves[(curves["peak lr"] == HIGH) & (curves["schedule"] == "warmup, then constant")]
    i = run["step"].to_numpy()[1:] - 1  # the step counter when step t runs
    np.testing.assert_allclose(run["lr used"].to_numpy()[1:], HIGH * np.minimum(i / 20, 1.0), rtol=1e-5, atol=1e-9)
