"""Lesson 09 (momentum and a local minimum): its evidence on hand-made paths, and its claims from one quick run."""

from cookbook import claims, reference
from cookbook.claims import Verdict
from cookbook.errors import LandscapeError
from cookbook.lessons import momentum_local_minimum as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "09_momentum_local_minimum"
WELL = evidence.Well.with_tilt(0.2)
S, D, X, M = evidence.SHALLOW, evidence.DEEP, evidence.DIVERGED, evidence.MOVING


def test_the_wells_critical_points_are_the_roots_of_its_derivative():
    """shallow < hump < deep solve x^3 - x - 0.2 = 0, and the right minimum is the deeper one."""
    points = (WELL.shallow, WELL.hump, WELL.deep)
    assert points == tuple(sorted(points))
    for x in points:
        assert x**3 - x - 0.2 == pytest.approx(0.0, abs=1e-12)
    assert WELL.f(WELL.deep) < WELL.f(WELL.shallow) < WELL.f(WELL.hump)
    assert WELL.f(2.0) == pytest.approx(16 / 4 - 4 / 2 - 0.4)
    climbs = WELL.landmarks([-1.5, 2.0]).set_index("x")["climb to the hump"]
    assert float(climbs[WELL.shallow]) == pytest.approx(WELL.f(WELL.hump) - WELL.f(WELL.shallow), abs=5e-4)


@pytest.mark.parametrize("tilt", [0.0, -0.2, 1.0])
def test_a_well_without_a_deeper_right_minimum_is_refused(tilt):
    """Tilt 0 or below (no deeper right minimum) and beyond 0.38 (one minimum) raise LandscapeError."""
    with pytest.raises(LandscapeError, match="tilt"):
        evidence.Well.with_tilt(tilt)


@pytest.mark.parametrize(
    "x, expected",
    [(-0.879 + 0.04, S), (1.088 - 0.04, D), (0.3, M), (np.nan, X), (np.inf, X), (-10.5, X), (-0.879 + 0.06, M)],
)
def test_ending_names_where_a_final_position_lies(x, expected):
    """Within 0.05 of a minimum is in it; NaN, infinite or beyond |x| = 10 diverged; anything else still moving."""
    assert WELL.ending(x) == expected


def test_first_minimum_is_the_side_of_the_hump():
    """Left of the hump the slope leads to the shallow minimum, right of it to the deep one."""
    assert [WELL.first_minimum(x) for x in (-1.5, -0.3, -0.1, 2.0)] == [S, S, D, D]


def test_hump_crossings_counts_sign_changes_skipping_nan_and_exact_hits():
    """Left, right, (exactly on the hump: skipped), left, NaN: two crossings."""
    assert evidence.hump_crossings([-1.5, 0.5, -0.2, -0.5, np.nan], hump=-0.2) == 2
    assert evidence.hump_crossings([2.0, 1.5, 1.1], hump=-0.2) == 0


def _positions():
    """Two settings from starts -1.5 and 2.0: SGD stays on each side; momentum crosses from each side."""
    return {
        (0.1, 0.0): np.array([[-1.5, 2.0], [-1.0, 1.3], [-0.88, 1.09]]),
        (0.1, 0.9): np.array([[-1.5, 2.0], [0.5, -0.5], [1.09, -0.87]]),
    }


def test_endings_table_on_hand_made_paths():
    """Endings, first minima, crossings and f at the end, one row per setting and start."""
    table = evidence.endings_table(_positions(), [-1.5, 2.0], WELL).set_index(["momentum", "start"])
    assert table["ends in"].tolist() == [S, D, D, S]
    assert table["first minimum"].tolist() == [S, D, S, D]
    assert table["hump crossings"].tolist() == [0, 0, 1, 1]
    assert table.loc[(0.9, -1.5), "final f"] == pytest.approx(1.09**4 / 4 - 1.09**2 / 2 - 0.2 * 1.09)
    assert set(table["optimizer"]) == {"SGD", "Momentum"}


def test_endings_table_refuses_positions_of_the_wrong_shape():
    """One column per start, or LandscapeError naming the shape."""
    with pytest.raises(LandscapeError, match="one column per start"):
        evidence.endings_table({(0.1, 0.0): np.zeros((3, 3))}, [-1.5, 2.0], WELL)


def test_positions_and_endings_counts_tables():
    """positions_table is long (a row per setting and step); endings_counts counts runs per side."""
    long = evidence.positions_table(_positions(), [-1.5, 2.0])
    assert list(long.columns) == ["learning rate", "momentum", "step", "x from -1.5", "x from 2"]
    assert len(long) == 6 and long["step"].max() == 2
    counts = evidence.endings_counts(evidence.endings_table(_positions(), [-1.5, 2.0], WELL))
    momentum = counts[counts["momentum"] == 0.9].set_index("first minimum")
    assert momentum.loc[S, D] == 1 and momentum.loc[D, S] == 1 and momentum.loc[S, X] == 0


def test_velocity_table_gives_the_geometric_sum_of_keras_momentum():
    """A float64 walk of v = m v - lr g under g = 1: the n-th step is lr (1 - m^n) / (1 - m)."""
    lr, walks = 0.03, {}
    for m in (0.0, 0.9):
        w, v, trail = 0.0, 0.0, [0.0]
        for _ in range(50):
            v = m * v - lr * 1.0
            w += v
            trail.append(w)
        walks[m] = trail
    table = evidence.velocity_table(walks, lr, 1.0).set_index("momentum")
    assert table.loc[0.0, "last step / SGD step"] == pytest.approx(1.0)
    assert table.loc[0.9, "last step / SGD step"] == pytest.approx((1 - 0.9**50) / 0.1)
    assert table.loc[0.9, "first step"] == pytest.approx(lr)
    assert table.loc[0.9, "1 / (1 - momentum)"] == pytest.approx(10)


def test_keras_sgd_follows_the_update_rules_next_to_the_figure():
    """keras.optimizers.SGD on the exact gradient = Keras's velocity form = the textbook form, for 40 steps."""
    lr, m = 0.03, 0.9
    optimizer = keras.optimizers.SGD(learning_rate=lr, momentum=m)
    x = keras.Variable([-1.5, 2.0], dtype="float32")
    keras_form, textbook, state = np.array([-1.5, 2.0]), np.array([-1.5, 2.0]), {}
    v_textbook = np.zeros(2)
    for t in range(1, 41):
        optimizer.apply_gradients([(x**3 - x - 0.2, x)])
        keras_form = reference.sgd(keras_form, keras_form**3 - keras_form - 0.2, state, t, lr, m)
        v_textbook = m * v_textbook + (textbook**3 - textbook - 0.2)
        textbook = textbook - lr * v_textbook
        np.testing.assert_allclose(keras.ops.convert_to_numpy(x), keras_form, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(keras_form, textbook, rtol=1e-12)


def _table(rows):
    """An endings table from (learning rate, momentum, start, ends in, hump crossings) rows."""
    frame = pd.DataFrame(rows, columns=["learning rate", "momentum", "start", "ends in", "hump crossings"])
    frame["first minimum"] = [WELL.first_minimum(s) for s in frame["start"]]
    return frame


def _grid(momentum_endings, sgd_endings=(S, D), crossings=None, lr=0.03, momentum=0.9):
    """SGD at lr and at lr / (1 - momentum), Momentum at lr, from starts -1.5 and 2.0."""
    sgd_crossings = crossings or (0, 0)
    rows = []
    for rate in (lr, lr / (1 - momentum)):
        rows += [(rate, 0.0, s, e, c) for s, e, c in zip((-1.5, 2.0), sgd_endings, sgd_crossings)]
    rows += [(lr, momentum, s, e, int(e != WELL.first_minimum(s))) for s, e in zip((-1.5, 2.0), momentum_endings)]
    return _table(rows)


def _velocity(ratio=(1 - 0.9**50) / 0.1):
    return pd.DataFrame(
        {
            "momentum": [0.9],
            "last step / SGD step": [ratio],
            "(1 - momentum^n) / (1 - momentum)": [(1 - 0.9**50) / 0.1],
            "1 / (1 - momentum)": [10.0],
        }
    )


def _claims(table, velocity=None):
    return claims.by_key(evidence.claims(table, _velocity() if velocity is None else velocity, WELL))


def test_against_sgd_and_the_effective_rate_pairs():
    """Momentum deep where SGD is shallow is deeper, and the reverse shallower; 0.03 / (1 - 0.9) pairs with 0.3."""
    compared = evidence.against_sgd(_grid((D, S))).set_index("start")
    assert compared["outcome"].tolist() == [evidence.DEEPER, evidence.SHALLOWER]
    assert evidence.against_sgd(_grid((S, X)))["outcome"].tolist() == [evidence.SAME, X]
    assert evidence.against_sgd(_grid((M, D)))["outcome"].tolist() == [evidence.UNSETTLED, evidence.SAME]
    assert evidence.effective_rate_pairs(_grid((D, S))) == [(0.03, 0.9, pytest.approx(0.3))]
    with pytest.raises(LandscapeError, match="add momentum 0.0"):
        evidence.against_sgd(_table([(0.1, 0.9, -1.5, D, 1)]))


@pytest.mark.parametrize(
    "endings, verdict, numbers",
    [
        ((D, S), Verdict.PARTLY, {"deeper": 1, "shallower": 1, "diverged": 0}),
        ((D, D), Verdict.HOLDS, {"deeper": 1, "same": 1}),
        ((S, X), Verdict.FAILS, {"deeper": 0, "same": 1, "diverged": 1}),
    ],
)
def test_momentum_finds_the_deeper_minimum_only_partly_when_it_also_leaves_the_deep_one(endings, verdict, numbers):
    """Deeper and shallower endings: partly; only deeper: holds; never deeper: fails."""
    claim = _claims(_grid(endings))["momentum_finds_the_deeper_minimum"]
    assert claim.verdict is verdict
    assert claim.numbers["runs"] == 2
    assert {k: claim.numbers[k] for k in numbers} == numbers


def test_batch_gd_stops_in_the_first_minimum_unless_a_step_jumps_the_hump():
    """Every SGD run in its start's minimum: holds; one jumping the hump: partly, with the counts."""
    claim = _claims(_grid((D, S)))["batch_gd_stops_in_the_first_minimum"]
    assert claim.verdict is Verdict.HOLDS
    assert claim.numbers == {
        "runs": 4,
        "starts": 2,
        "starts_left_of_hump": 1,
        "stayed_in_first_minimum": 4,
        "ended_shallow": 2,
        "ended_deep": 2,
    }
    jumped = _claims(_grid((D, S), sgd_endings=(D, D), crossings=(1, 0)))["batch_gd_stops_in_the_first_minimum"]
    assert jumped.verdict is Verdict.PARTLY
    assert jumped.numbers["stayed_in_first_minimum"] == 2 and jumped.numbers["ended_deep"] == 4


@pytest.mark.parametrize(
    "endings, verdict, left_to_deep, right_to_shallow, both",
    [((D, S), Verdict.HOLDS, 1, 1, 1), ((D, D), Verdict.PARTLY, 1, 0, 0), ((S, D), Verdict.FAILS, 0, 0, 0)],
)
def test_momentum_rolls_out_of_either_minimum(endings, verdict, left_to_deep, right_to_shallow, both):
    """Out of both wells: holds; only out of the shallow one (the note's claim): partly; neither: fails."""
    claim = _claims(_grid(endings))["momentum_rolls_out_of_either_minimum"]
    assert claim.verdict is verdict
    assert claim.numbers["left_to_deep"] == left_to_deep and claim.numbers["right_to_shallow"] == right_to_shallow
    assert claim.numbers["settings_both_ways"] == both and claim.numbers["runs_from_left"] == 1


def test_carried_speed_compares_momentum_with_sgd_at_its_effective_rate():
    """Momentum crossing where SGD at lr / (1 - m) does not: holds; no such SGD run: not measured."""
    claim = _claims(_grid((D, S)))["momentum_crosses_by_carried_speed"]
    assert claim.verdict is Verdict.HOLDS
    assert claim.numbers["momentum_runs_crossed"] == 2 and claim.numbers["sgd_effective_rate_runs_crossed"] == 0
    assert claim.numbers["step_ratio"] == pytest.approx(9.948, abs=1e-3)
    off = _claims(_grid((D, S)), _velocity(ratio=5.0))["momentum_crosses_by_carried_speed"]
    assert off.verdict is Verdict.PARTLY, "a step that did not grow as the rule says"
    table = _grid((D, S))
    alone = table[~((table["momentum"] == 0) & (table["learning rate"] > 0.1))]
    assert _claims(alone)["momentum_crosses_by_carried_speed"].verdict is Verdict.NOT_MEASURED


def test_the_figures_draw_every_run():
    """plot_paths: the landscape and one panel per drawn start; plot_endings: one cell per run."""
    paths = evidence.plot_paths(_positions(), [-1.5, 2.0], [-1.5, 2.0], 0.1, WELL)
    assert len(paths.axes) == 3 and len(paths.axes[1].lines) == 2 + 3  # two runs, three landmark lines
    endings = evidence.plot_endings(evidence.endings_table(_positions(), [-1.5, 2.0], WELL), WELL, 2)
    assert endings.axes[0].images[0].get_array().shape == (2, 2)


@pytest.mark.slow
def test_quick_run_claims_match_its_tables(quick_run):
    """The quick run's claims count the rows of its endings table, and its recorded paths follow the float64 rule."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    table = pd.read_csv(out / f"{LESSON}.csv")
    sgd = table[table["momentum"] == 0]
    batch = found["batch_gd_stops_in_the_first_minimum"]
    assert batch.verdict is Verdict.HOLDS
    assert batch.numbers["runs"] == len(sgd) == 16
    assert batch.numbers["ended_shallow"] == int((sgd["ends in"] == S).sum()) == 8
    assert found["momentum_rolls_out_of_either_minimum"].verdict is Verdict.HOLDS
    assert found["momentum_finds_the_deeper_minimum"].verdict is Verdict.PARTLY
    speed = found["momentum_crosses_by_carried_speed"]
    velocity = pd.read_csv(out / f"{LESSON}_velocity.csv").set_index("momentum")
    assert speed.numbers["step_ratio"] == pytest.approx(velocity.loc[0.9, "last step / SGD step"])
    assert speed.numbers["sgd_effective_rate_runs_crossed"] == 0 < speed.numbers["momentum_runs_crossed"]
    positions = pd.read_csv(out / f"{LESSON}_positions.csv")
    starts = [c for c in positions.columns if c.startswith("x from ")]
    for (lr, m), rows in positions.groupby(["learning rate", "momentum"]):
        recorded = rows.sort_values("step")[starts].to_numpy()
        x, state = recorded[0], {}
        for t in range(1, 41):
            with np.errstate(over="ignore", invalid="ignore"):  # the diverging run overflows float64 too
                x = reference.sgd(x, x**3 - x - 0.2, state, t, learning_rate=lr, momentum=m)
            inside = np.abs(x) < 100  # a diverging run is compared while float32 still holds it
            np.testing.assert_allclose(recorded[t][inside], x[inside], rtol=1e-4, atol=1e-5, err_msg=f"{lr}, {m}, {t}")
