"""Recipe 13's claims: fit used each schedule's closed form step by step, Adam's step 1 moves every weight by lr
(none by more), the warmup's step 1 moves nothing, and at the high rate only the runs without warmup rose above
the start early on.
"""

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

HIGH_LR, LOW_LR, WARMUP = 0.05, 0.001, 20


@pytest.fixture(scope="module")
def run(quick_run):
    table, out = quick_run("learning_rate_warmup")
    curves = pd.read_csv(out / "13_learning_rate_warmup_curves.csv")
    steps = pd.read_csv(out / "13_learning_rate_warmup_first_steps.csv")
    return table.set_index(["peak lr", "schedule"]), curves, steps


def _closed_form(name, lr, i, total):
    """The rate of Keras's schedules at counter i (0 at the first update), from their documented formulas, float64."""
    i = np.asarray(i, dtype=np.float64)
    if name == "constant":
        return np.full_like(i, lr)
    if name == "cosine decay":
        return lr * 0.5 * (1 + np.cos(np.pi * np.minimum(i, total) / total))
    if name == "warmup, then constant":  # CosineDecay(0, alpha=1, warmup_target=lr): linear, then flat
        return np.where(i < WARMUP, lr * i / WARMUP, lr)
    raise AssertionError(name)


def test_fit_used_each_schedule_as_its_formula_says(run):
    """The rate read before every batch equals the float64 closed form of that step, to float32 rounding."""
    _, curves, _ = run
    checked = 0
    for (lr, name), curve in curves.groupby(["peak lr", "schedule"]):
        used = curve["lr used"].to_numpy()[1:]  # step 0 is before training
        total = len(used)
        np.testing.assert_allclose(used, _closed_form(name, lr, np.arange(total), total), rtol=1e-5, atol=1e-9)
        checked += 1
    assert checked >= 5


def test_adams_first_step_is_lr_per_weight_and_never_more(run):
    """Step 1 at a constant rate: median |dw| = lr within 0.5% (recipe 10's corrected step), no weight above lr."""
    _, _, steps = run
    first = steps.iloc[0]
    assert first["constant: median |dw| / lr"] == pytest.approx(1.0, abs=5e-3)
    assert first["constant: max |dw| / lr"] <= 1.0 + 1e-5, "Adam's step 1 is lr |g| / (|g| + eps'): at most lr"
    assert first["09: uncorrected / corrected (constant g)"] == pytest.approx(0.1 / np.sqrt(0.001), rel=1e-9)


def test_later_steps_shrink_below_lr_on_a_real_model(run):
    """Mini-batch gradients change sign: by step 20 the median step is under half of lr (09's constant g keeps lr)."""
    _, _, steps = run
    median = steps["constant: median |dw| / lr"].to_numpy()
    assert median[-1] < 0.5
    assert median[-1] < median[0]


def test_warmup_step_1_moves_nothing_then_follows_the_rate(run):
    """Warmup from 0: step 1 uses rate 0 and |dw| = 0; step t uses (t-1)/W of lr and no weight moves more than that."""
    _, _, steps = run
    assert steps["warmup: lr used / lr"].iloc[0] == 0.0
    assert steps["warmup: max |dw| / lr"].iloc[0] == 0.0
    expected = (steps["step"] - 1) / WARMUP
    np.testing.assert_allclose(steps["warmup: lr used / lr"], expected, atol=1e-6)
    # Adam's factor |m_hat|/sqrt(v_hat) is ~1 at most in these steps: each step is bounded by its rate (5% slack).
    later = steps.iloc[1:]
    assert (later["warmup: max |dw| / lr"] <= 1.05 * later["warmup: lr used / lr"]).all()


def test_only_the_runs_without_warmup_rise_above_the_start_in_the_warmup_window(run):
    """At lr 0.05 the loss in steps 1-20 peaks >= 1.2x the start without warmup, never above it with warmup."""
    table, _, _ = run
    start = table.loc[(HIGH_LR, "constant"), "loss at step 0"]
    early = f"highest loss, steps 1-{WARMUP}"
    assert table.loc[(HIGH_LR, "constant"), early] > 1.2 * start
    assert table.loc[(HIGH_LR, "cosine decay"), early] > 1.2 * start
    assert table.loc[(HIGH_LR, "warmup, then constant"), early] == pytest.approx(start, rel=1e-5)
    assert table.loc[(HIGH_LR, "warmup, then constant"), "loss after step 1"] == pytest.approx(start, rel=1e-5)
    assert table.loc[(LOW_LR, "constant"), early] < start, "at the default rate the loss falls from step 1"


def test_at_the_default_rate_warmup_only_delays(run):
    """At lr 0.001 the warmup run is behind the constant one after the warmup window (loss higher by > 10%)."""
    table, _, _ = run
    after = f"loss after step {WARMUP}"
    assert table.loc[(LOW_LR, "warmup, then constant"), after] > 1.1 * table.loc[(LOW_LR, "constant"), after]
