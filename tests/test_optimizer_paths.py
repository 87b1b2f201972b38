"""Lesson 08 (optimizer paths on a stretched bowl): its evidence on tiny inputs, and its claims from one quick run."""

from cookbook import claims
from cookbook.claims import Verdict
from cookbook.lessons import optimizer_paths as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "08_optimizer_paths"
START = (-7.0, 2.0)
CURVATURES = np.array([0.1, 2.0])  # of x**2/20 + y**2, written out here rather than imported
SETTLE = "steps to settle"
FINAL = "final |grad f|"


def test_gradient_norms_are_the_norm_of_x_over_10_and_2y():
    """|grad f| at (10, 0) is 1, at (0, 1) is 2, at (3, 0.2) is sqrt(0.09 + 0.16) = 0.5."""
    np.testing.assert_allclose(evidence.gradient_norms([[10.0, 0.0], [0.0, 1.0], [3.0, 0.2]]), [1.0, 2.0, 0.5])


def test_steps_to_settle_counts_from_the_last_swing_out():
    """A run that dips below the tolerance and swings out settles at its last entry below; one ending above: NaN."""
    dips = [5.0, 5e-4, 2e-3, 5e-4, 1e-4]  # below at step 1, out at step 2, below from step 3 on
    ends_above = [5.0, 5e-4, 2e-3]
    starts_below = [1e-4, 1e-5, 1e-6]
    assert float(evidence.steps_to_settle(dips, 1e-3)) == 3.0
    assert np.isnan(evidence.steps_to_settle(ends_above, 1e-3))
    assert float(evidence.steps_to_settle(starts_below, 1e-3)) == 0.0
    columns = np.array([dips[:3], ends_above, [np.nan, np.nan, np.nan]]).T  # a diverged (NaN) run never settles
    np.testing.assert_array_equal(evidence.steps_to_settle(columns, 1e-3), [np.nan, np.nan, np.nan])
    np.testing.assert_array_equal(evidence.steps_to_settle(np.array([dips, dips[::-1]]).T, 1e-3), [3.0, np.nan])


def test_walk_rates_follows_sgds_closed_form_at_every_rate():
    """Plain SGD multiplies x by (1 - lr/10) and y by (1 - 2 lr) per step, at each rate of the grid at once."""
    rates = np.array([0.1, 0.5, 0.9, 1.2])
    points = evidence.walk_rates(keras.optimizers.SGD(), rates, START, steps=6)
    t = np.arange(7)[:, None]
    np.testing.assert_allclose(points[:, :, 0], START[0] * (1 - rates / 10) ** t, rtol=1e-12)
    np.testing.assert_allclose(points[:, :, 1], START[1] * (1 - 2 * rates) ** t, rtol=1e-12)


def _keras_walk(optimizer, steps):
    xy = keras.Variable(START, dtype="float32")
    points = [keras.ops.convert_to_numpy(xy)]
    for _ in range(steps):
        optimizer.apply_gradients([(keras.ops.multiply(xy, keras.ops.convert_to_tensor(CURVATURES, "float32")), xy)])
        points.append(keras.ops.convert_to_numpy(xy))
    return np.array(points, np.float64)


@pytest.mark.parametrize(
    "make, lr",
    [
        (lambda lr: keras.optimizers.SGD(lr, momentum=0.9), 0.3),
        (lambda lr: keras.optimizers.Adagrad(lr), 2.0),
        (lambda lr: keras.optimizers.RMSprop(lr, rho=0.5), 0.7),
        (lambda lr: keras.optimizers.Adam(lr, beta_1=0.4), 1.0),
    ],
    ids=["momentum", "adagrad", "rmsprop", "adam"],
)
def test_the_float64_grid_walks_what_keras_walks(make, lr):
    """walk_rates (the grid) and a Keras apply_gradients loop agree for 12 steps, to float32 rounding."""
    grid = evidence.walk_rates(make(0.001), [0.5 * lr, lr], START, steps=12)[:, 1]  # the rate is replaced
    np.testing.assert_allclose(_keras_walk(make(lr), 12), grid, rtol=1e-4, atol=1e-4)


def test_tune_and_best_cells_pick_the_fastest_rate_and_count_the_cells():
    """SGD at 0.5, 0.9 and 1.2 for 150 steps: 1.2 diverges (|1 - 2.4| > 1), 0.9 settles first (70 steps)."""
    grid = evidence.tune({"plain": [keras.optimizers.SGD()]}, [0.5, 0.9, 1.2], START, 150, 1e-3)
    assert grid[SETTLE].isna().tolist() == [False, False, True]
    best = evidence.best_cells(grid).iloc[0]
    assert (best["learning rate"], best[SETTLE], best["cells tried"], best["knob"]) == (0.9, 70.0, 3, "momentum")
    two = evidence.tune({"knob": [keras.optimizers.Adam(beta_1=b) for b in (0.0, 0.9)]}, [0.5], START, 100, 1e-3)
    assert two["knob value"].tolist() == [0.0, 0.9] and two["variant"].tolist() == [0, 1]


def test_best_cells_breaks_ties_by_the_smaller_rate_and_falls_back_to_the_lowest_final_gradient():
    """Equal steps: the smaller learning rate wins; when nothing settles, the lowest final |grad f| does."""
    grid = pd.DataFrame(
        {
            "optimizer": ["a", "a", "a", "b", "b"],
            "variant": 0,
            "knob": "",
            "knob value": np.nan,
            "learning rate": [2.0, 1.0, 3.0, 1.0, 2.0],
            SETTLE: [7.0, 7.0, 9.0, np.nan, np.nan],
            FINAL: [1e-9, 1e-5, 1e-12, 0.5, 0.04],
        }
    )
    best = evidence.best_cells(grid).set_index("optimizer")
    assert best.loc["a", "learning rate"] == 1.0 and best.loc["b", "learning rate"] == 2.0
    assert best["cells tried"].tolist() == [3, 2]


def test_heavy_ball_numbers_match_their_closed_forms():
    """k = 20: best momentum ((sqrt 20 - 1)/(sqrt 20 + 1))^2 = 0.4026 at lr 1.336, rate 0.6345; SGD's 19/21."""
    theory = evidence.HeavyBall(0.1, 2.0)
    root = np.sqrt(20.0)
    assert theory.condition_number == pytest.approx(20.0)
    assert theory.best_momentum == pytest.approx(((root - 1) / (root + 1)) ** 2) == pytest.approx(0.4026, abs=1e-4)
    assert theory.best_learning_rate == pytest.approx(4 / (np.sqrt(0.1) + np.sqrt(2.0)) ** 2)
    assert theory.best_rate == pytest.approx((root - 1) / (root + 1))
    assert theory.sgd_best_rate == pytest.approx(19 / 21) and theory.sgd_best_learning_rate == pytest.approx(2 / 2.1)
    assert theory.rate_floor(0.9) == pytest.approx(0.9486833)
    assert theory.table()["value"].iloc[1] == pytest.approx(theory.best_momentum)


def _iteration_eigenvalues(lr, momentum, h):
    """Eigenvalues of Keras's Momentum on h w^2 / 2 as a map of (v, w): v' = m v - lr h w, w' = w + v'."""
    return np.linalg.eigvals([[momentum, -lr * h], [momentum, 1 - lr * h]])


@pytest.mark.parametrize("lr, momentum", [(0.9, 0.0), (1.3, 0.4), (0.05, 0.9), (1.15, 0.45)])
def test_predicted_rate_and_swing_period_are_the_iterations_eigenvalues(lr, momentum):
    """predicted_rate is the spectral radius of the 2x2 iteration; swing_period is 2 pi / its eigenvalues' angle."""
    eigenvalues = {h: _iteration_eigenvalues(lr, momentum, h) for h in CURVATURES}
    radius = max(np.abs(e).max() for e in eigenvalues.values())
    assert evidence.predicted_rate(lr, momentum) == pytest.approx(radius, rel=1e-9)
    for h, values in eigenvalues.items():
        period = evidence.swing_period(lr, momentum, h)
        if abs(values[0].imag) > 1e-9:
            assert period == pytest.approx(2 * np.pi / abs(np.angle(values[0])), rel=1e-9)
        else:
            assert np.isnan(period)
    if momentum == 0.9:  # complex roots: exactly sqrt(momentum), whatever the rate
        assert evidence.predicted_rate(lr, momentum) == pytest.approx(np.sqrt(0.9))


def test_fitted_rate_recovers_a_geometric_decay_and_skips_exact_zeros():
    """Points shrinking by 0.8 per step give 0.8; a trailing exact zero (float32 underflow) is left out."""
    points = np.array([START]) * 0.8 ** np.arange(30)[:, None]
    assert evidence.fitted_rate(points) == pytest.approx(0.8)
    assert evidence.fitted_rate(np.vstack([points, [[0.0, 0.0]]])) == pytest.approx(0.8)
    assert evidence.fitted_rate(points, until=10) == pytest.approx(0.8)


def test_path_table_counts_sgds_zig_zag_and_agrees_with_the_float64_rule():
    """SGD at lr 0.9 (walked in NumPy here): settles at step 70, its y-step reverses on all 69 steps before, x never."""
    sgd = keras.optimizers.SGD(0.9)
    path = evidence.walk_rates(sgd, [0.9], START, 100)[:, 0]
    row = evidence.path_table({"sgd": path}, {"sgd": sgd}, START, 1e-3).iloc[0]
    assert row[SETTLE] == row[f"{SETTLE} (float64 NumPy)"] == 70.0
    assert (row["y-step reversals"], row["x-step reversals"], row["share of steps reversing"]) == (69, 0, 1.0)
    assert row[FINAL] == pytest.approx(np.linalg.norm(path[-1] * CURVATURES))
    rates = evidence.rates_table({"sgd": path, "adam": path}, {"sgd": sgd, "adam": keras.optimizers.Adam()}, 1e-3)
    assert len(rates) == 1, "only SGD runs have a heavy-ball rate"
    assert rates["predicted rate per step"].iloc[0] == pytest.approx(0.91)
    assert rates["fitted rate per step"].iloc[0] == pytest.approx(0.91, rel=2e-3)


def test_describe_reads_the_optimizers_config():
    """The settings that matter, from get_config: a zero momentum is not mentioned."""
    assert evidence.describe(keras.optimizers.SGD(0.5, momentum=0.9)) == "lr 0.5, momentum 0.9"
    assert evidence.describe(keras.optimizers.SGD(0.5)) == "lr 0.5"
    assert evidence.describe(keras.optimizers.Adam(1.0, beta_1=0.4)) == "lr 1, beta_1 0.4"
    assert evidence.describe(keras.optimizers.Adagrad(10.0)) == "lr 10"


NAMES = {
    "sgd": "SGD",
    "momentum": "Momentum 0.9",
    "tuned_momentum": "tuned",
    "adaptive": ("Adagrad", "RMSprop", "Adam"),
    "tuned_adam": "Adam tuned",
    "tuned_rmsprop": "RMSprop tuned",
    "fixed": ("slow", "fast", "effective"),
}


def _tables(
    momentum_steps=152.0,
    tuned_value=0.45,
    rmsprop_steps=np.nan,
    fast_final=2e-5,
    effective_final=2e-5,
    effective_steps=128.0,
):
    """Hand-made best, measured and rates tables shaped like the lesson's."""
    steps = {
        "SGD": 73.0,
        "Momentum 0.9": momentum_steps,
        "Adagrad": 7.0,
        "RMSprop": rmsprop_steps,
        "Adam": 152.0,
        "tuned": 21.0,
        "Adam tuned": 20.0,
        "RMSprop tuned": rmsprop_steps,
    }
    best = pd.DataFrame(
        {
            "optimizer": list(steps),
            "cells tried": [65, 65, 65, 65, 65, 1235, 1235, 1235],
            "learning rate": [0.866, 0.0422, 10.0, 0.0422, 0.422, 1.15, 0.866, 0.0365],
            "knob": ["momentum", "momentum", "", "rho", "beta_1", "momentum", "beta_1", "rho"],
            "knob value": [0.0, 0.9, np.nan, 0.9, 0.9, tuned_value, 0.4, 0.5],
            SETTLE: list(steps.values()),
            FINAL: [1e-8, 7e-5, 1e-100, 0.042, 2e-5, 1e-30, 1e-20, 0.037],
        }
    )
    measured = pd.DataFrame(
        {
            "optimizer": ["SGD", "Momentum 0.9", "Adagrad", "RMSprop", "Adam", "slow", "fast", "effective"],
            SETTLE: [73.0, momentum_steps, 7.0, rmsprop_steps, 152.0, np.nan, 158.0, effective_steps],
            "y-step reversals": [72, 14, 6, 104, 15, 0, 16, 0],
            FINAL: [1e-8, 7e-5, 1e-39, 0.042, 2e-5, 0.26, fast_final, effective_final],
        }
    )
    rates = pd.DataFrame(
        {
            "optimizer": ["SGD", "Momentum 0.9", "tuned"],
            "learning rate": [0.866, 0.0422, 1.15],
            "momentum": [0.0, 0.9, tuned_value],
            "fitted rate per step": [0.913, 0.944, 0.688],
        }
    )
    return best, measured, rates


def _claims(**changes):
    return claims.by_key(evidence.claims(*_tables(**changes), evidence.HeavyBall(0.1, 2.0), **NAMES))


def test_claims_from_a_run_where_momentum_0_9_rings():
    """Momentum 0.9 slower than SGD, tuned momentum faster: partly / fails / holds / partly / holds, numbers quoted."""
    found = _claims()
    assert [c.verdict for c in found.values()] == [
        Verdict.PARTLY,
        Verdict.FAILS,
        Verdict.HOLDS,
        Verdict.PARTLY,
        Verdict.HOLDS,
    ]
    tune = found["tune_momentum_with_the_rate"].numbers
    assert (tune["sgd_steps"], tune["momentum_0_9_steps"], tune["tuned_momentum_steps"]) == (73.0, 152.0, 21.0)
    assert (tune["rates_tried"], tune["tuned_cells"]) == (65, 1235)
    rings = found["momentum_0_9_rings"].numbers
    assert rings["rate_floor"] == pytest.approx(np.sqrt(0.9)) and rings["sgd_best_rate"] == pytest.approx(19 / 21)
    assert rings["swing_period_across"] == pytest.approx(evidence.swing_period(0.0422, 0.9, 2.0))
    heavy = found["heavy_ball_best_momentum"].numbers
    assert heavy["grid_predicted_rate"] == pytest.approx(evidence.predicted_rate(1.15, 0.45))
    assert np.isnan(found["per_coordinate_steps_beat_the_stretch"].numbers["rmsprop_steps"])  # never settled


def test_claims_when_momentum_0_9_wins_and_the_grid_misses_the_theory():
    """Momentum 0.9 faster than SGD: the first two hold; a tuned momentum of 0.9 is far from the theory's 0.40."""
    found = _claims(momentum_steps=60.0, tuned_value=0.9)
    assert found["tune_momentum_with_the_rate"].verdict is Verdict.HOLDS
    assert found["momentum_0_9_rings"].verdict is Verdict.HOLDS
    assert found["heavy_ball_best_momentum"].verdict is Verdict.PARTLY  # still faster than SGD, not near 0.40


def test_adaptive_claim_holds_only_when_all_three_beat_sgd():
    """RMSprop settling and Adam faster than SGD would make the per-coordinate claim hold; here Adam is slower."""
    assert _claims(rmsprop_steps=30.0)["per_coordinate_steps_beat_the_stretch"].verdict is Verdict.PARTLY


def test_fixed_rate_claim_fails_when_momentum_is_not_ahead_and_is_partly_when_the_larger_step_does_worse():
    """Momentum no better than SGD at the same rate: fails; ahead but SGD at lr/(1-m) far behind it: partly."""
    assert _claims(fast_final=0.5)["fixed_rate_momentum_wins"].verdict is Verdict.FAILS
    assert _claims(effective_final=1e-2)["fixed_rate_momentum_wins"].verdict is Verdict.HOLDS  # settled sooner
    lagging = _claims(effective_final=1e-2, effective_steps=np.nan)["fixed_rate_momentum_wins"]
    assert lagging.verdict is Verdict.PARTLY
    assert lagging.numbers["effective_sgd_final_gradient_norm"] > 3 * lagging.numbers["momentum_final_gradient_norm"]


def test_the_figures_draw_every_path_and_mark_what_leaves_the_frame():
    """plot_paths has one panel per path; plot_tuning two panels; plot_rates one panel per group."""
    sgd, jumpy = keras.optimizers.SGD(0.9), keras.optimizers.Adagrad(10.0)
    paths = {
        name: evidence.walk_rates(opt, [lr], START, 20)[:, 0] for name, opt, lr in (("s", sgd, 0.9), ("a", jumpy, 10.0))
    }
    table = evidence.path_table(paths, {"s": sgd, "a": jumpy}, START, 1e-3)
    figure = evidence.plot_paths(paths, table, START)
    assert sum(ax.has_data() for ax in figure.axes) == 2
    assert len(figure.axes[1].texts) == 1 and len(figure.axes[0].texts) == 0, "Adagrad's first step leaves the frame"
    grid = evidence.tune(
        {"s": [sgd], "m": [keras.optimizers.SGD(momentum=m) for m in (0.0, 0.5)]}, [0.5, 0.9], START, 20, 1e-3
    )
    assert len(evidence.plot_tuning(grid, evidence.HeavyBall(0.1, 2.0), 20).axes) == 2
    assert (
        len(evidence.plot_rates(paths, {"s": sgd, "a": keras.optimizers.SGD(0.5)}, {"one": ["s"], "two": ["a"]}).axes)
        == 2
    )


@pytest.mark.slow
def test_quick_run_keras_paths_match_the_float64_rule_and_its_claims_match_its_tables(quick_run):
    """Every Keras path settles when the float64 rule says; momentum 0.9 rings; the claims quote the CSVs."""
    out = quick_run(LESSON)
    paths = pd.read_csv(out / f"{LESSON}_paths.csv")
    np.testing.assert_array_equal(paths[SETTLE].to_numpy(), paths[f"{SETTLE} (float64 NumPy)"].to_numpy())
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    assert found["momentum_0_9_rings"].verdict is Verdict.FAILS
    assert found["heavy_ball_best_momentum"].verdict is Verdict.HOLDS
    assert found["fixed_rate_momentum_wins"].verdict is Verdict.HOLDS
    grid = pd.read_csv(out / f"{LESSON}_grid.csv")
    tune = found["tune_momentum_with_the_rate"].numbers
    assert tune["rates_tried"] == grid["learning rate"].nunique()
    plain = grid[(grid["knob"] == "momentum") & (grid["knob value"] == 0)]  # plain SGD, wherever it was tried
    assert tune["sgd_steps"] == plain[SETTLE].min()
    assert tune["momentum_0_9_steps"] > tune["sgd_steps"] > tune["tuned_momentum_steps"]
