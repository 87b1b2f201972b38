"""Recipe 07's claims: who zig-zags on the stretched bowl, who arrives first, and the heavy-ball theory."""

import sys

from cookbook import curriculum, processes, reference

import numpy as np
import pandas as pd
import pytest

ARRIVE = "steps to grad norm < 0.001"
SHARE = "share of steps reversing"
CURVATURES = np.array([0.1, 2.0])  # of x**2/20 + y**2, written out here rather than imported


@pytest.fixture(scope="module")
def recipe07(recipes):
    return curriculum.load(curriculum.resolve(recipes, "optimizer_paths"))


@pytest.fixture(scope="module")
def run(quick_run):
    table, out = quick_run("optimizer_paths")
    return table.set_index("optimizer"), out


@pytest.fixture(scope="module")
def table(run):
    return run[0]


def _csv(run, name):
    return pd.read_csv(run[1] / f"07_optimizer_paths_{name}.csv")


@pytest.mark.slow
def test_sgd_rmsprop_and_tuned_momentum_zig_zag_on_most_steps(table):
    """The title: SGD, RMSprop and Momentum reverse their y-step on > 80% of their steps (SGD 69 of 70)."""
    assert 60 <= table.loc["SGD", ARRIVE] <= 80
    assert table.loc["SGD", "y-step reversals"] >= table.loc["SGD", ARRIVE] - 2
    for name in ("SGD", "RMSprop", "Momentum"):
        assert table.loc[name, SHARE] > 0.8, name


@pytest.mark.slow
def test_adagrad_and_adam_reverse_far_less(table):
    """The title: Adagrad and Adam (beta_1 0.5) reverse on under 40% of their steps, at most half SGD's share."""
    for name in ("Adagrad", "Adam"):
        assert table.loc[name, SHARE] < 0.4, name
        assert table.loc[name, SHARE] < 0.5 * table.loc["SGD", SHARE], name


@pytest.mark.slow
def test_momentum_and_adam_arrive_in_under_half_of_sgds_steps_and_stay(table):
    """Tuned Momentum and Adam reach grad norm < 1e-3 in <= 1/2 of SGD's steps (22 and 21 vs 70) and stay."""
    for name in ("Momentum", "Adam", "Adagrad"):
        assert table.loc[name, ARRIVE] < table.loc["SGD", ARRIVE], name
        assert table.loc[name, "stays at the minimum"], name
    for name in ("Momentum", "Adam"):
        assert table.loc[name, ARRIVE] <= 0.5 * table.loc["SGD", ARRIVE], name


@pytest.mark.slow
def test_rmsprop_passes_the_minimum_but_rattles_around_it(table):
    """RMSprop reaches the tolerance first but ends with f far above the others' (its steps stay ~lr)."""
    assert table.loc["RMSprop", ARRIVE] == min(v for v in table[ARRIVE] if isinstance(v, (int, np.integer)))
    assert not table.loc["RMSprop", "stays at the minimum"]
    assert table.loc["RMSprop", "final f"] > 1e3 * table.drop(index="RMSprop")["final f"].max()


@pytest.mark.slow
def test_momentum_0_9_rings_and_is_slower_than_sgd(table):
    """With Keras's usual 0.9, Momentum and Adam swing along the valley (x-step reversals) and need more steps than SGD."""
    assert table.loc["SGD", "x-step reversals"] == 0
    for name in ("Momentum 0.9", "Adam beta_1 0.9"):
        assert table.loc[name, "x-step reversals"] >= 3, name
        assert table.loc[name, ARRIVE] > table.loc["SGD", ARRIVE], name


@pytest.mark.slow
def test_heavy_ball_theory_table_matches_the_formula(run):
    """beta* = ((sqrt 20 - 1)/(sqrt 20 + 1))^2 = 0.4026, lr* = 1.336, rate sqrt(beta*) = 0.6345, SGD's 19/21."""
    theory = _csv(run, "theory")["value"].to_numpy()
    k = 20.0
    expected = [
        ((np.sqrt(k) - 1) / (np.sqrt(k) + 1)) ** 2,
        4 / (np.sqrt(0.1) + np.sqrt(2.0)) ** 2,
        (np.sqrt(k) - 1) / (np.sqrt(k) + 1),
        19 / 21,
        2 / 2.1,
        np.sqrt(0.9),
    ]
    np.testing.assert_allclose(theory, expected, rtol=1e-12)
    assert theory[0] == pytest.approx(0.40, abs=0.005)
    assert theory[5] == pytest.approx(0.95, abs=0.002)


def _iteration_rate(lr, momentum):
    """Spectral radius of the heavy-ball iteration on (v, w) for both curvatures, from a 2x2 matrix's eigenvalues."""
    return max(np.abs(np.linalg.eigvals([[momentum, -lr * h], [momentum, 1 - lr * h]])).max() for h in CURVATURES)


@pytest.mark.slow
def test_predicted_rates_are_the_iterations_eigenvalues_and_the_paths_follow_them(run):
    """Each run's predicted rate is the spectral radius of its 2x2 iteration; the fitted rate is within 4% of it."""
    rates = _csv(run, "rates").set_index("run")
    for name, row in rates.iterrows():
        assert row["predicted rate per step"] == pytest.approx(
            _iteration_rate(row["learning rate"], row["momentum"]), rel=1e-9
        ), name
        assert row["fitted rate per step"] == pytest.approx(row["predicted rate per step"], rel=0.04), name
    assert rates.loc["SGD", "predicted rate per step"] == pytest.approx(0.91)
    assert rates.loc["Momentum 0.9", "predicted rate per step"] == pytest.approx(np.sqrt(0.9))
    assert rates.loc["Momentum 0.9", "roots along x"].startswith("complex")
    assert rates.loc["Momentum 0.9", "roots along y"].startswith("complex")
    assert rates.loc["SGD", "roots along y"].startswith("real, negative")


@pytest.mark.slow
def test_grid_search_lands_next_to_the_theorys_optimum(run, table):
    """The grid's fastest cell has momentum 0.3-0.6 (theory 0.40) and beats every plain-SGD cell by 2x or more."""
    grid = _csv(run, "momentum_grid")
    best = grid.loc[grid["steps to the tolerance"].idxmin()]
    assert 0.3 <= best["momentum"] <= 0.6
    assert 0.9 <= best["learning rate"] <= 1.3
    sgd_best = grid[grid["momentum"] == 0]["steps to the tolerance"].min()
    assert best["steps to the tolerance"] <= 0.5 * sgd_best
    assert table.loc["Momentum", "settings"] == f"lr {best['learning rate']:.3g}, momentum {best['momentum']:.3g}"
    # The grid's predicted rate is lowest near the theory's optimum too.
    assert grid.loc[grid["predicted rate per step"].idxmin(), "momentum"] == pytest.approx(0.4, abs=0.15)


REFERENCE_RULES = {  # the recipe's run -> (float64 rule, its hyperparameters), written out from the recipe's constants
    "SGD": lambda r: (reference.sgd, {"learning_rate": r.SGD_LR}),
    "Adagrad": lambda r: (reference.adagrad, {"learning_rate": r.ADAGRAD_LR}),
    "RMSprop": lambda r: (reference.rmsprop, {"learning_rate": r.RMSPROP_LR}),
    "Adam": lambda r: (reference.adam, {"learning_rate": r.ADAM_LR, "beta_1": r.ADAM_BETA_1}),
    "Momentum 0.9": lambda r: (reference.sgd, {"learning_rate": r.RINGING_LR, "momentum": r.RINGING_MOMENTUM}),
    "Adam beta_1 0.9": lambda r: (reference.adam, {"learning_rate": r.RINGING_LR, "beta_1": r.RINGING_MOMENTUM}),
}


@pytest.mark.parametrize("name", [*REFERENCE_RULES, "Momentum"])
@pytest.mark.slow
def test_the_recipes_loop_follows_the_float64_numpy_update_rule(run, recipe07, name):
    """The first 12 recorded points equal a float64 NumPy walk with the hand gradient (x/10, 2y), to 1e-4."""
    points = _csv(run, "points")
    recorded = points[points["optimizer"] == name][["x", "y"]].to_numpy()
    if name == "Momentum":
        rates = _csv(run, "rates").set_index("run")
        rule, hyper = (
            reference.sgd,
            {"learning_rate": rates.loc["Momentum", "learning rate"], "momentum": rates.loc["Momentum", "momentum"]},
        )
    else:
        rule, hyper = REFERENCE_RULES[name](recipe07)
    w, state = np.array(recipe07.START), {}
    for t in range(1, 13):
        w = rule(w, CURVATURES * w, state, t, **hyper)
        # atol: float32 rounding of numbers of size 7 (the start) is ~1e-6 per step; a path crossing 0 keeps it.
        np.testing.assert_allclose(recorded[t], w, rtol=1e-4, atol=1e-4, err_msg=f"{name}, step {t}")


def test_fitted_rate_recovers_a_known_geometric_decay(recipe07):
    """fitted_rate on points shrinking by exactly 0.8 per step returns 0.8; settings reads the optimizer's config."""
    from cookbook.lessons import landscapes

    import keras

    points = np.array([[-7.0, 2.0]]) * 0.8 ** np.arange(30)[:, None]
    path = landscapes.Path.from_points(points, lambda x, y: x**2 / 20 + y**2, landscapes.anisotropic_bowl_gradient)
    assert recipe07.fitted_rate(path, 29) == pytest.approx(0.8)
    assert recipe07.settings(keras.optimizers.SGD(0.5, momentum=0.9)) == "lr 0.5, momentum 0.9"
    assert recipe07.settings(keras.optimizers.Adam(1.0, beta_1=0.5)) == "lr 1, beta_1 0.5, beta_2 0.999"


@pytest.mark.slow
def test_on_jax_the_script_stops_with_one_line_before_importing_tensorflow(tmp_path, recipe07):
    """`KERAS_BACKEND=jax python 07_optimizer_paths.py`: exit 2, one stderr line with the reason and the fix.

    One line also means TensorFlow was never imported (with the user's logging, it would print its start-up
    lines), so a JAX-only install gets the same message instead of an ImportError.
    """
    script = curriculum.resolve(curriculum.list_recipes(), "optimizer_paths").path
    result = processes.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path / "out")],
        env={"KERAS_BACKEND": "jax", "TF_CPP_MIN_LOG_LEVEL": None},
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == (
        f"07_optimizer_paths.py: error: this lesson needs TensorFlow ({recipe07.NEEDS_TENSORFLOW}) and Keras "
        "runs on jax here; run it with KERAS_BACKEND=tensorflow\n"
    )
    assert not (tmp_path / "out").exists()
