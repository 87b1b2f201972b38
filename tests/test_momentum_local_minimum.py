"""Recipe 08's claims: SGD stops in the first minimum it meets; Momentum crosses the hump in either direction."""

from cookbook import curriculum, reference
from cookbook.lessons import landscapes

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def recipe08(recipes):
    return curriculum.load(curriculum.resolve(recipes, "momentum_local_minimum"))


@pytest.fixture(scope="module")
def run(quick_run):
    return quick_run("momentum_local_minimum")


@pytest.fixture(scope="module")
def table(run):
    return run[0].set_index(["optimizer", "learning rate", "momentum", "start"])


def _minima():
    """(shallow, deep) minima of x^4/4 - x^2/2 - 0.2x, from numpy.roots of the derivative."""
    roots = np.sort(np.roots([1.0, 0.0, -1.0, -0.2]).real)
    return roots[0], roots[2]


@pytest.mark.slow
def test_sgd_ends_in_the_first_minimum_it_meets_from_either_side(table):
    """From x = -1.5 SGD ends at the shallow minimum -0.879, from x = +2 at the deep one +1.088; it never crosses."""
    shallow, deep = _minima()
    sgd = table.loc["SGD"]
    assert len(sgd) == 4
    for (lr, _momentum, start), row in sgd.iterrows():
        expected = shallow if start < 0 else deep
        assert row["final x"] == pytest.approx(expected, abs=0.01), (lr, start)
        assert row["ends in"] == ("local minimum" if start < 0 else "global minimum")
        assert row["hump crossings"] == 0


@pytest.mark.slow
def test_momentum_0_9_reaches_the_deep_minimum_from_the_left(table):
    """From x = -1.5 Momentum 0.9 crosses the hump once and ends at x = +1.088, at lr 0.03 and 0.3."""
    _, deep = _minima()
    for lr in (0.03, 0.3):
        row = table.loc[("Momentum", lr, 0.9, -1.5)]
        assert row["final x"] == pytest.approx(deep, abs=0.01), lr
        assert row["ends in"] == "global minimum"
        assert row["hump crossings"] == 1


@pytest.mark.slow
def test_momentum_0_9_rolls_out_of_the_deep_minimum_from_the_right(table):
    """From x = +2 Momentum 0.9 at lr 0.03 rolls through the deep minimum into the shallow one; at lr 0.3 it diverges."""
    shallow, _ = _minima()
    row = table.loc[("Momentum", 0.03, 0.9, 2.0)]
    assert row["final x"] == pytest.approx(shallow, abs=0.01)
    assert row["ends in"] == "local minimum"
    assert row["hump crossings"] == 1
    diverged = table.loc[("Momentum", 0.3, 0.9, 2.0)]
    assert diverged["ends in"] == "diverged" and np.isnan(diverged["final x"])


def _float64_walk(lr, momentum, steps=300):
    """All positions of the float64 NumPy walk with f'(x) = x^3 - x - 0.2 from both starts, shape (steps + 1, 2)."""
    x, state, xs = np.array([-1.5, 2.0]), {}, [np.array([-1.5, 2.0])]
    for t in range(1, steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            x = reference.sgd(x, x**3 - x - 0.2, state, t, learning_rate=lr, momentum=momentum)
        xs.append(x)
    return np.array(xs)


@pytest.mark.slow
def test_endings_and_crossings_match_an_independent_float64_walk(table):
    """Each run's 'ends in', final x and hump crossings equal those of a float64 NumPy walk of all 300 steps.

    Endings and crossings are recomputed here from the walk (minima and hump from numpy.roots, 0.05 tolerance),
    not with the recipe's helpers; a diverged run is only checked to diverge (its crossings depend on when
    float32 overflows).
    """
    shallow, hump, deep = np.sort(np.roots([1.0, 0.0, -1.0, -0.2]).real)
    settings = {(lr, momentum) for (_, lr, momentum, _) in table.index}
    assert len(settings) == 4
    for lr, momentum in settings:
        walk = _float64_walk(lr, momentum)
        for column, start in enumerate((-1.5, 2.0)):
            row = table.xs((lr, momentum, start), level=["learning rate", "momentum", "start"]).iloc[0]
            path, final = walk[:, column], walk[-1, column]
            if not np.isfinite(final) or abs(final) > 10:
                assert row["ends in"] == "diverged", (lr, momentum, start)
                continue
            expected = (
                "local minimum"
                if abs(final - shallow) < 0.05
                else "global minimum"
                if abs(final - deep) < 0.05
                else "still moving"
            )
            assert row["ends in"] == expected, (lr, momentum, start)
            assert row["final x"] == pytest.approx(final, abs=1e-3), (lr, momentum, start)
            above = path > hump
            assert row["hump crossings"] == int(np.count_nonzero(above[1:] != above[:-1])), (lr, momentum, start)


@pytest.mark.slow
def test_paired_endings_count_each_momentum_setting_from_both_starts(run):
    """The paired table of the quick run: Momentum 0.9 ends deep from -1.5 at both rates; from +2 once shallow,
    once diverged (the lesson's 'same setting, opposite direction')."""
    paired = pd.read_csv(run[1] / "08_momentum_local_minimum_paired_endings.csv")
    counts = {(a, b): n for a, b, n in paired.itertuples(index=False)}
    assert counts == {("global minimum", "local minimum"): 1, ("global minimum", "diverged"): 1}


@pytest.mark.slow
def test_the_recipes_loop_follows_the_float64_numpy_update_rule(run):
    """The first 40 recorded positions of every run equal a float64 walk with f'(x) = x^3 - x - 0.2.

    A diverging run is compared while it stays within |x| < 100 (float32 overflows soon after).
    """
    positions = pd.read_csv(run[1] / "08_momentum_local_minimum_positions.csv")
    assert set(positions.columns) >= {"learning rate", "momentum", "step", "x from -1.5", "x from 2"}
    for (lr, momentum), rows in positions.groupby(["learning rate", "momentum"]):
        recorded = rows.sort_values("step")[["x from -1.5", "x from 2"]].to_numpy()
        x, state = np.array([-1.5, 2.0]), {}
        for t in range(1, 41):
            with np.errstate(over="ignore", invalid="ignore"):
                x = reference.sgd(x, x**3 - x - 0.2, state, t, learning_rate=lr, momentum=momentum)
            inside = np.abs(x) < 100
            np.testing.assert_allclose(
                recorded[t][inside], x[inside], rtol=1e-4, atol=1e-5, err_msg=f"lr {lr}, momentum {momentum}, step {t}"
            )


def test_the_header_claims_outside_the_quick_grid():
    """Default-grid claims of the header, with Keras's SGD: 0.95 at lr 0.1 from +2 ends in the shallow minimum."""
    import keras

    shallow, deep = _minima()
    paths = landscapes.run_paths(
        {"0.95": keras.optimizers.SGD(0.1, momentum=0.95), "sgd": keras.optimizers.SGD(0.3)},
        2.0,
        landscapes.double_well,
        300,
    )
    assert paths["0.95"].points[-1, 0] == pytest.approx(shallow, abs=0.01)
    assert paths["sgd"].points[-1, 0] == pytest.approx(deep, abs=0.01)


def test_where_it_ended_and_hump_crossings(recipe08):
    """The classifier's four answers, and crossings counted on a hand-made path (NaN ignored)."""
    shallow, deep = _minima()
    assert recipe08.where_it_ended(shallow + 0.01, shallow, deep) == "local minimum"
    assert recipe08.where_it_ended(deep - 0.01, shallow, deep) == "global minimum"
    assert recipe08.where_it_ended(0.3, shallow, deep) == "still moving"
    assert recipe08.where_it_ended(np.nan, shallow, deep) == "diverged"
    assert recipe08.where_it_ended(50.0, shallow, deep) == "diverged"
    assert recipe08.hump_crossings(np.array([-1.5, -0.5, 0.5, -0.5, np.nan]), -0.2) == 2
