"""Lesson 11 (Adam's bias correction): its evidence on tiny inputs, and its claims from one quick run."""

from cookbook import claims, reference
from cookbook.claims import Verdict
from cookbook.errors import LessonError
from cookbook.lessons import adam_bias_correction as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "11_adam_bias_correction"
LR, B1, B2, EPS = 0.05, 0.9, 0.999, 1e-7
C, U = evidence.CORRECTED, evidence.UNCORRECTED
SIZES = 10.0 ** np.arange(-9.0, 0.25, 0.5)  # the lesson's gradient sizes


def _closed_form(t):
    t = np.asarray(t, dtype=float)
    return (1 - B1**t) / np.sqrt(1 - B2**t)


def _constant_paths(sizes, steps=20):
    """Float64 Keras-convention paths from w = 0 under constant positive gradients: (steps + 1, sizes)."""
    paths = {}
    for key in (C, U):
        sizes_per_step = LR * evidence.reference_steps(sizes, steps, LR, bias_correction=key == C)
        paths[key] = np.vstack([np.zeros(len(sizes)), -np.cumsum(sizes_per_step, axis=0)])
    return paths


def _curved_paths(steps=20, start=1.0):
    """Float64 Keras-convention paths on w^2/2 (gradient w) from ``start``."""
    paths = {}
    for key in (C, U):
        w, state, path = np.array(start), {}, [start]
        for t in range(1, steps + 1):
            w = reference.adam(w, w, state, t, learning_rate=LR, bias_correction=key == C)
            path.append(float(w))
        paths[key] = np.array(path)
    return paths


def _tables(sizes=SIZES, curved=None, smaller_epsilon=None):
    constant = _constant_paths(sizes)
    steps = evidence.steps_table(constant, curved or _curved_paths(), LR, B1, B2, EPS)
    smaller = None
    if smaller_epsilon is not None:
        step_1 = LR * evidence.reference_steps(sizes, 1, LR, epsilon=smaller_epsilon)
        smaller = (smaller_epsilon, np.vstack([np.zeros(len(sizes)), -step_1]))
    return steps, evidence.gradient_size_table(sizes, constant, LR, B1, B2, EPS, smaller_epsilon=smaller)


def test_step_sizes_are_absolute_differences_and_need_two_points():
    """step_sizes is |diff| along the path; a single weight has no step."""
    np.testing.assert_array_equal(evidence.step_sizes([1.0, 0.5, 0.75]), [0.5, 0.25])
    with pytest.raises(LessonError, match="at least one step"):
        evidence.step_sizes([1.0])


def test_constant_gradient_steps_follow_the_closed_form():
    """For g = 1 the corrected step is lr and the uncorrected one (1-b1^t)/sqrt(1-b2^t) lr: 3.162 then 6.569 at 12.

    Up to eps: at g = 1 it shortens step 1 by eps / (sqrt(1-b2) g) = 3.2e-6 of itself.
    """
    t = np.arange(1, 21)
    np.testing.assert_allclose(evidence.reference_steps([1.0], 20, LR)[:, 0], 1.0, rtol=4e-6)
    uncorrected = evidence.reference_steps([1.0], 20, LR, bias_correction=False)[:, 0]
    np.testing.assert_allclose(uncorrected, _closed_form(t), rtol=4e-6)
    assert uncorrected[0] == pytest.approx(0.1 / np.sqrt(0.001), rel=4e-6) and np.argmax(uncorrected) == 11
    with pytest.raises(LessonError, match="'keras' or 'paper'"):
        evidence.reference_steps([1.0], 1, LR, convention="pytorch")


def test_epsilon_halves_keras_step_1_at_eps_over_sqrt_1_minus_b2():
    """At |g| = eps/sqrt(1-b2) = 3.162e-6 Keras's corrected step 1 is lr/2; the paper's is lr/2 at |g| = eps."""
    half = evidence.half_step_gradient(EPS, B2)
    assert half == pytest.approx(3.16228e-6, rel=1e-5)
    assert evidence.reference_steps([half], 1, LR)[0, 0] == pytest.approx(0.5)
    assert evidence.reference_steps([EPS], 1, LR, convention="paper")[0, 0] == pytest.approx(0.5)


def test_paper_ratio_crosses_one_where_the_formula_says():
    """In the paper's convention, uncorrected = corrected step 1 at |g| = b1 eps / ((1-b1) - sqrt(1-b2)) = 1.316e-6."""
    crossing = evidence.paper_ratio_crossing(EPS, B1, B2)
    assert crossing == pytest.approx(0.9e-7 / (0.1 - np.sqrt(0.001)))
    off = evidence.reference_steps([crossing], 1, LR, bias_correction=False)[0, 0]
    assert off == pytest.approx(evidence.reference_steps([crossing], 1, LR, convention="paper")[0, 0])


def test_keras_adam_puts_epsilon_on_the_uncorrected_root():
    """One step of keras Adam equals the Keras-convention formula, and with eps * sqrt(1-b2) the paper's step 1."""
    g = np.array([1e-9, 1e-6, 3e-6, 1.0], "float32")
    for epsilon, convention in ((EPS, "keras"), (EPS * np.sqrt(1 - B2), "paper")):
        w = keras.Variable(np.zeros(4, "float32"))
        keras.optimizers.Adam(LR, epsilon=epsilon).apply_gradients([(keras.ops.convert_to_tensor(g), w)])
        expected = evidence.reference_steps(g, 1, LR, epsilon=EPS, convention=convention)[0]
        np.testing.assert_allclose(-keras.ops.convert_to_numpy(w) / LR, expected, rtol=1e-4)


def test_steps_table_ratios_and_half_corrections():
    """Ratio columns divide the runs' steps; step 1 is 31.6 lr with only m corrected and 0.1 lr with only v."""
    steps, _ = _tables()
    np.testing.assert_allclose(steps["constant g: ratio"], steps["closed form (1-b1^t)/sqrt(1-b2^t)"], rtol=1e-9)
    first = steps.iloc[0]
    assert first["only m corrected: step / lr"] == pytest.approx(np.sqrt(1000), rel=4e-6)
    assert first["only v corrected: step / lr"] == pytest.approx(0.1, rel=1e-5)
    assert first["curved: ratio"] == pytest.approx(_closed_form(1), rel=1e-9)
    assert steps["curved: ratio"].iloc[8] == pytest.approx(0.47, abs=0.01), "w^2/2 overshoots: ratio 0.47 at step 9"


def test_gradient_size_table_keras_ratio_is_flat_the_papers_is_not():
    """Keras's step-1 ratio is 3.162 at every |g|; the paper's falls to about 0.1 at |g| = 1e-9."""
    _, sizes = _tables()
    np.testing.assert_allclose(sizes["Keras: ratio at step 1"], _closed_form(1), rtol=1e-6)
    assert sizes["Keras: largest gap from the closed form"].max() < 1e-9
    assert sizes["paper: ratio at step 1"].iloc[0] == pytest.approx(0.101, abs=0.001)
    assert sizes["paper: ratio at step 1"].iloc[-1] == pytest.approx(_closed_form(1), rel=4e-6)


def test_claims_from_the_lessons_inputs():
    """Keep both corrections holds; 'any gradient' and 'step is lr' hold partly; constant holds; curved fails."""
    found = claims.by_key(evidence.claims(*_tables(smaller_epsilon=1e-10), smaller_epsilon=1e-10))
    assert found["keep_both_corrections"].verdict is Verdict.HOLDS
    any_g = found["first_step_ratio_for_any_gradient"]
    assert any_g.verdict is Verdict.PARTLY
    assert any_g.numbers["keras_ratio_min"] == pytest.approx(any_g.numbers["keras_ratio_max"])
    assert any_g.numbers["paper_ratio_smallest_gradient"] < 0.11
    assert any_g.numbers["paper_crossing_gradient"] == pytest.approx(1.316e-6, rel=1e-3)
    assert any_g.numbers["paper_within_1pct_from_gradient"] == pytest.approx(10**-3.5), "3.132 at 3.2e-4, 3.068 below"
    full = found["corrected_step_is_lr_for_any_gradient"]
    assert full.verdict is Verdict.PARTLY
    assert full.numbers["step_1_at_half_step_gradient"] == pytest.approx(0.5, abs=1e-6)
    assert full.numbers["smallest_gradient_with_full_step"] == pytest.approx(10**-3.5)
    assert full.numbers["smallest_gradient_with_full_step_smaller_epsilon"] == pytest.approx(10**-6.5)
    constant = found["constant_gradient_steps_3_to_6_6x"]
    assert constant.verdict is Verdict.HOLDS and constant.numbers["peak_step"] == 12
    assert (constant.numbers["ratio_min"], constant.numbers["ratio_max"]) == pytest.approx((3.1623, 6.5686), abs=1e-4)
    curved = found["curved_loss_follows_the_closed_form"]
    assert curved.verdict is Verdict.FAILS and curved.numbers["curved_ratio_worst"] < 0.5


def test_claims_other_branches():
    """Large gradients only: 'any gradient' and 'step is lr' hold; a curved run that follows the formula holds."""
    big = np.array([0.1, 1.0])
    constant = _constant_paths(big)
    steps, sizes = _tables(big, curved={key: path[:, -1] for key, path in constant.items()})
    found = claims.by_key(evidence.claims(steps, sizes))
    assert found["first_step_ratio_for_any_gradient"].verdict is Verdict.HOLDS
    assert found["corrected_step_is_lr_for_any_gradient"].verdict is Verdict.HOLDS
    assert found["curved_loss_follows_the_closed_form"].verdict is Verdict.HOLDS


def test_claims_fail_when_the_measurements_disagree():
    """Tiny gradients only: no full step; a broken uncorrected run fails the ratio and ordering claims."""
    tiny = np.array([1e-9, 1e-8])
    steps, sizes = _tables(tiny)
    found = claims.by_key(evidence.claims(steps, sizes))
    assert found["corrected_step_is_lr_for_any_gradient"].verdict is Verdict.FAILS
    assert (
        found["corrected_step_is_lr_for_any_gradient"].to_dict()["numbers"]["smallest_gradient_with_full_step"] is None
    )
    steps, sizes = _tables()
    steps["constant g: uncorrected step / lr"] = 0.5  # an "uncorrected" run smaller than the corrected one
    steps["constant g: ratio"] = 0.5
    sizes["Keras: ratio at step 1"] *= 1.01
    found = claims.by_key(evidence.claims(steps, sizes))
    assert found["keep_both_corrections"].verdict is Verdict.FAILS
    assert found["first_step_ratio_for_any_gradient"].verdict is Verdict.FAILS
    assert found["constant_gradient_steps_3_to_6_6x"].verdict is Verdict.FAILS


def test_figures_draw_every_run_on_positive_log_axes():
    """Both figures build; their log axes hold only positive values (no fake zeros)."""
    steps, sizes = _tables()
    curved = _curved_paths()
    figures = [evidence.plot_steps(steps, curved, 1.0, LR), evidence.plot_gradient_sizes(sizes, EPS, B2)]
    assert [len(f.axes) for f in figures] == [3, 2]
    for ax in (figures[0].axes[0], *figures[1].axes):
        assert all((line.get_ydata() > 0).all() for line in ax.get_lines() if len(line.get_ydata()) > 2)


@pytest.mark.slow
def test_quick_run_matches_the_float64_rules_and_its_claims_quote_its_tables(quick_run):
    """Keras's two Adams (the schedule undoes the correction) match float64 NumPy; the claims quote the CSVs."""
    out = quick_run(LESSON)
    steps = pd.read_csv(out / f"{LESSON}.csv")
    sizes = pd.read_csv(out / f"{LESSON}_gradient_size.csv")
    t = steps["step"].to_numpy()
    np.testing.assert_allclose(steps["constant g: uncorrected step / lr"], _closed_form(t), rtol=1e-4)
    curved = _curved_paths(len(t))
    for key in (C, U):
        expected = evidence.step_sizes(curved[key]) / LR
        np.testing.assert_allclose(steps[f"curved: {key} step / lr"], expected, rtol=2e-3, atol=1e-4)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    assert found["constant_gradient_steps_3_to_6_6x"].verdict is Verdict.HOLDS
    assert found["constant_gradient_steps_3_to_6_6x"].numbers["ratio_max"] == pytest.approx(
        steps["constant g: ratio"].max()
    )
    any_g = found["first_step_ratio_for_any_gradient"]
    assert any_g.verdict is Verdict.PARTLY
    assert any_g.numbers["keras_ratio_min"] == pytest.approx(sizes["Keras: ratio at step 1"].min())
    assert found["curved_loss_follows_the_closed_form"].verdict is Verdict.FAILS
