"""Lesson 15 (writing a Keras 3 optimizer): its evidence on tiny inputs, its claims from one quick run.

That every cookbook optimizer equals its Keras built-in, setting by setting and under ``fit``, is proved in
``tests/test_optimizers.py``; here are the lesson's own measures and claims.
"""

import math

from cookbook import claims, reference
from cookbook.claims import Verdict
from cookbook.lessons import custom_optimizers_vs_builtin as evidence

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

LESSON = "15_custom_optimizers_vs_builtin"
TWIN, OURS, BUILTIN = "cookbook Adam", "our Adam", "keras Adam"


def test_noisy_bowl_gradient_is_the_loss_gradient_plus_that_steps_noise():
    """Central differences of the loss in float64, plus noise[step], give the gradient; float32 in, float32 out."""
    bowl = evidence.NoisyBowl.make((2, 3), steps=4, seed=1)
    w = bowl.start.astype(np.float64)
    h = 1e-6
    numeric = np.zeros_like(w)
    for index in np.ndindex(w.shape):
        up, down = w.copy(), w.copy()
        up[index] += h
        down[index] -= h
        numeric[index] = (bowl.loss(up) - bowl.loss(down)) / (2 * h)
    np.testing.assert_allclose(bowl.gradient(w, 2), numeric + bowl.noise[2], rtol=1e-6, atol=1e-8)
    assert bowl.gradient(bowl.start, 0).dtype == np.float32 and bowl.noise.shape == (4, 2, 3)


def test_noisy_bowl_is_the_same_for_the_same_seed_and_float32_exact():
    """One seed gives one bowl; every array holds float32 values."""
    a, b = evidence.NoisyBowl.make((3,), 2, seed=5), evidence.NoisyBowl.make((3,), 2, seed=5)
    np.testing.assert_array_equal(a.start, b.start)
    np.testing.assert_array_equal(a.noise, b.noise)
    assert all(x.dtype == np.float32 for x in (a.start, a.optimum, a.curvature, a.noise))
    assert ((0.5 <= a.curvature) & (a.curvature <= 2.0)).all()


def test_relative_difference_is_the_largest_gap_over_the_largest_weight():
    """max |a - b| / max |b|, and NaN when a holds NaN."""
    assert evidence.relative_difference([1.0, 2.0], [1.5, -4.0]) == pytest.approx(6.0 / 4.0)
    assert math.isnan(evidence.relative_difference([np.nan, 1.0], [1.0, 1.0]))


def test_call_text_writes_the_setting_as_the_call():
    """Class name and keyword arguments in order."""
    assert (
        evidence.call_text("SGD", {"learning_rate": 0.1, "nesterov": True}) == "SGD(learning_rate=0.1, nesterov=True)"
    )


def test_walk_row_measures_ours_against_keras_and_against_the_float64_rule():
    """Hand-made weights: differences relative to the other's largest weight, distances from the start."""
    start = np.zeros(2)
    row = evidence.walk_row(
        3, 1e-7, start, ours=np.array([1.0, -2.0]), builtin=np.array([1.0, -1.0]), paper=np.array([1.0, -2.5])
    )
    assert row["step"] == 3 and row["epsilon"] == 1e-7
    assert row["ours vs keras"] == pytest.approx(1.0)
    assert row["ours vs float64 paper"] == pytest.approx(0.5 / 2.5)
    assert (row["moved (ours)"], row["moved (keras)"]) == (2.0, 1.0)


def _per_step():
    """Two settings, three steps each, as compare_optimizers tables stacked with a setting column."""
    return pd.DataFrame(
        {
            "setting": ["A"] * 3 + ["B"] * 3,
            "step": [1, 2, 3] * 2,
            "custom_vs_builtin": [0.0, 0.0, 0.0, 0.0, 2e-7, 0.0],
            "custom_moved": [0.1, 0.2, 0.3, 0.5, 0.6, 0.7],
            "custom_vs_reference": [1e-8, 3e-8, 2e-8, 1e-7, 4e-7, 2e-7],
            "builtin_vs_reference": [1e-8, 3e-8, 2e-8, 1e-7, 5e-7, 2e-7],
        }
    )


def test_summarize_keeps_one_row_per_setting_with_its_worst_step():
    """Exact steps counted, maxima over steps, the distance moved at the last step; settings in order."""
    table = evidence.summarize(_per_step())
    assert table["setting"].tolist() == ["A", "B"]
    assert table["steps"].tolist() == [3, 3] and table["exact steps"].tolist() == [3, 2]
    assert table["max |cookbook - keras|"].tolist() == [0.0, 2e-7]
    assert table["max rel. error cookbook"].tolist() == [3e-8, 4e-7]
    assert table["max rel. error keras"].tolist() == [3e-8, 5e-7]
    assert table["weights moved"].tolist() == [0.3, 0.7]


def test_summarize_keeps_a_nan_step_as_nan():
    """A step where the weights became NaN makes the setting's maximum NaN, not the largest finite value."""
    per_step = _per_step()
    per_step.loc[4, "custom_vs_builtin"] = np.nan
    assert math.isnan(evidence.summarize(per_step)["max |cookbook - keras|"].iloc[1])


def test_fit_row_reads_the_last_epoch_the_test_scores_and_the_weight_gap():
    """Last train loss, evaluate's loss and accuracy, largest |weight - built-in's| over all arrays."""
    row = evidence.fit_row(
        "x",
        {"loss": [1.0, 0.4]},
        {"loss": 0.5, "accuracy": 0.9},
        [np.ones(2), np.zeros(1)],
        [np.ones(2), np.full(1, 0.25)],
    )
    assert (row["final train loss"], row["test cross-entropy"], row["test accuracy"]) == (0.4, 0.5, 0.9)
    assert row["max |weight - keras Adam's|"] == 0.25


def test_impossible_row_tells_nan_from_no_effect_from_training():
    """NaN weights, weights equal to the unguarded run's, or weights that moved; the twin's message kept."""
    start = np.zeros(2)
    nan = evidence.impossible_row("A", start, np.array([np.nan, 1.0]), None, "no")
    same = evidence.impossible_row("B", start, np.array([1.0, 2.0]), np.array([1.0, 2.0]), None)
    moved = evidence.impossible_row("C", start, np.array([3.0, -1.0]), None, "no")
    assert nan["what the built-in did"] == "weights became NaN"
    assert same["what the built-in did"].startswith("no effect") and same["cookbook twin says"] == "(accepted)"
    assert not same["cookbook twin refused"] and moved["cookbook twin refused"]
    assert moved["weights moved"] == 3.0


def test_keras_adam_epsilon_is_the_papers_epsilon_hat():
    """One Keras Adam step with epsilon e is the paper's step with epsilon e / sqrt(1 - beta_2) (31.6 e at step 1)."""
    epsilon, g = 0.5, np.array([0.3, -2.0])
    w = keras.Variable(np.zeros(2, "float32"))
    keras.optimizers.Adam(0.1, epsilon=epsilon).apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), w)])
    hat = reference.adam_textbook(np.zeros(2), g, {}, 1, learning_rate=0.1, epsilon=epsilon / math.sqrt(1 - 0.999))
    plain = reference.adam_textbook(np.zeros(2), g, {}, 1, learning_rate=0.1, epsilon=epsilon)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(w), hat, rtol=1e-5)
    assert np.max(np.abs(hat - plain)) > 0.01


def _table(twin=0.0, error=2e-6):
    return evidence.summarize(_per_step()).assign(
        **{"max |cookbook - keras|": [0.0, twin], "max rel. error cookbook": [1e-8, error]}
    )


@pytest.mark.parametrize(
    "twin, error, verdict",
    [
        (0.0, 2e-6, Verdict.HOLDS),
        (0.0, 1e-3, Verdict.PARTLY),
        (1e-3, 2e-6, Verdict.PARTLY),
        (1e-3, 1e-3, Verdict.FAILS),
        (math.nan, 2e-6, Verdict.PARTLY),
    ],
)
def test_twins_claim_needs_equal_steps_and_float64_agreement(twin, error, verdict):
    """Both within tolerance holds, one partly, neither fails; a NaN difference is not equal."""
    found = evidence.claims(
        _table(twin, error), _walk(), _fits(), _impossible(), twin=TWIN, ours=OURS, builtin=BUILTIN, fit_loss_gap=0.01
    )
    twins = claims.by_key(found)["twins_take_the_builtins_steps"]
    assert twins.verdict is verdict
    assert (twins.numbers["steps_compared"], twins.numbers["steps_bit_for_bit"]) == (6, 5)
    assert twins.numbers["min_weights_moved"] == 0.3


def _walk(small=1e-6, large=0.2, paper=2e-6):
    """Two steps at two epsilons; at the large one Keras's weights moved 0.4 against ours' 1.0."""
    rows = []
    for epsilon, gap, moved_keras in ((1e-7, small, 0.5), (1.0, large, 0.4)):
        for step in (1, 2):
            rows.append(
                {"epsilon": epsilon, "step": step, "ours vs keras": gap * step / 2, "ours vs float64 paper": paper,
                 "moved (ours)": 0.5 * step if epsilon < 1 else 1.0 * step / 2, "moved (keras)": moved_keras * step / 2}
            )  # fmt: skip
    return pd.DataFrame(rows)


def _fits(twin=0.0, ours_loss=0.402):
    return pd.DataFrame(
        [
            {"optimizer": BUILTIN, "final train loss": 0.4, "test cross-entropy": 0.5, "test accuracy": 0.9, "max |weight - keras Adam's|": 0.0},
            {"optimizer": TWIN, "final train loss": 0.4, "test cross-entropy": 0.5, "test accuracy": 0.9, "max |weight - keras Adam's|": twin},
            {"optimizer": OURS, "final train loss": ours_loss, "test cross-entropy": 0.51, "test accuracy": 0.89, "max |weight - keras Adam's|": 0.01},
        ]
    )  # fmt: skip


def _impossible(accepted=(True, True, True, True)):
    did = ["weights became NaN", "weights became NaN", "trained, weights moved 70", "no effect: the same weights"]
    return pd.DataFrame(
        {"built-in accepted": list(accepted), "what the built-in did": did, "cookbook twin refused": [True] * 4}
    )


def _claim(key, **parts):
    inputs = {"table": _table(), "walk": _walk(), "fits": _fits(), "impossible": _impossible(), **parts}
    found = evidence.claims(**inputs, twin=TWIN, ours=OURS, builtin=BUILTIN, fit_loss_gap=0.01)
    assert len(found) == 4
    return claims.by_key(found)[key]


@pytest.mark.parametrize(
    "small, large, paper, verdict",
    [
        (1e-6, 0.2, 2e-6, Verdict.PARTLY),  # the run's case: the conventions part only at a large epsilon
        (1e-6, 2e-6, 2e-6, Verdict.HOLDS),
        (1e-3, 0.2, 2e-6, Verdict.FAILS),
        (1e-6, 0.2, 1e-3, Verdict.NOT_MEASURED),  # our class is not the paper's rule: nothing to compare
    ],
)
def test_epsilon_claim_reads_the_largest_gap_at_each_epsilon(small, large, paper, verdict):
    """The worst step at each epsilon decides; the distance ratio is read at the last step of the large epsilon."""
    found = _claim("adam_from_the_paper_is_keras_adam", walk=_walk(small, large, paper))
    assert found.verdict is verdict
    assert (found.numbers["ours_vs_keras_default_epsilon"], found.numbers["ours_vs_keras_large_epsilon"]) == (
        small,
        large,
    )
    assert (found.numbers["epsilon_default"], found.numbers["epsilon_large"], found.numbers["steps"]) == (1e-7, 1.0, 2)
    assert found.numbers["keras_over_paper_distance_large_epsilon"] == pytest.approx(0.4)


@pytest.mark.parametrize(
    "twin, ours_loss, verdict",
    [
        (0.0, 0.402, Verdict.HOLDS),
        (0.0, 0.5, Verdict.PARTLY),
        (1e-3, 0.402, Verdict.PARTLY),
        (1e-3, 0.5, Verdict.FAILS),
    ],
)
def test_fit_claim_needs_the_twins_weights_and_our_loss_within_the_gap(twin, ours_loss, verdict):
    """Twin on Keras's weights and our loss within 1% holds; one of the two partly; neither fails."""
    found = _claim("your_optimizer_drops_into_fit", fits=_fits(twin, ours_loss))
    assert found.verdict is verdict
    assert found.numbers["relative_loss_gap_ours"] == pytest.approx(abs(ours_loss - 0.4) / 0.4)
    assert found.numbers["test_cross_entropy_ours"] == 0.51 and found.numbers["test_accuracy_keras"] == 0.9


@pytest.mark.parametrize(
    "accepted, verdict",
    [((True,) * 4, Verdict.HOLDS), ((True, False, False, False), Verdict.PARTLY), ((False,) * 4, Verdict.FAILS)],
)
def test_impossible_claim_counts_what_keras_accepted(accepted, verdict):
    """All accepted holds, some partly, none fails; NaN and no-effect rows are counted."""
    found = _claim("builtins_accept_impossible_settings", impossible=_impossible(accepted))
    assert found.verdict is verdict
    assert found.numbers["accepted_by_keras"] == sum(accepted) and found.numbers["refused_by_cookbook"] == 4
    assert (found.numbers["turned_nan"], found.numbers["no_effect"]) == (2, 1)


def test_plot_marks_exact_zeros_on_the_edge_instead_of_drawing_them_on_the_log_axis():
    """No point at or below 0 on a log axis; the exact zeros become markers in axes units; legends sit below."""
    walk = _walk()
    walk.loc[walk["epsilon"] < 1, "ours vs keras"] = 0.0
    fig = evidence.plot_agreement(_table(), walk)
    grid_ax, walk_ax = fig.axes
    assert grid_ax.get_xscale() == "log" and walk_ax.get_yscale() == "log"
    for line in walk_ax.get_lines():
        if line.get_transform() == walk_ax.transData:
            y = np.asarray(line.get_ydata(), float)
            assert not (y[np.isfinite(y)] <= 0).any()
    edge = [line for line in walk_ax.get_lines() if line.get_label().endswith("(bottom edge)")]
    assert len(edge) == 1 and list(edge[0].get_ydata()) == [0.0, 0.0]
    for ax in (grid_ax, walk_ax):
        assert ax.get_legend().get_bbox_to_anchor().y0 < ax.get_window_extent().y0


@pytest.mark.slow
def test_quick_run_claims_quote_its_tables(quick_run):
    """The claims' numbers are the grid's, the fit table's and the walk-through's; our Adam is the paper's rule."""
    out = quick_run(LESSON)
    found = claims.by_key(claims.load(out / f"{LESSON}_claims.json"))
    assert set(found) == {
        "twins_take_the_builtins_steps",
        "adam_from_the_paper_is_keras_adam",
        "your_optimizer_drops_into_fit",
        "builtins_accept_impossible_settings",
    }
    table = pd.read_csv(out / f"{LESSON}.csv")
    twins = found["twins_take_the_builtins_steps"].numbers
    assert twins["max_cookbook_vs_keras"] == pytest.approx(table["max |cookbook - keras|"].max())
    assert twins["steps_bit_for_bit"] == table["exact steps"].sum() and twins["settings"] == len(table)
    fit = pd.read_csv(out / f"{LESSON}_fit.csv").set_index("optimizer")
    drop_in = found["your_optimizer_drops_into_fit"].numbers
    assert drop_in["final_train_loss_keras"] == pytest.approx(fit.loc["keras.optimizers.Adam", "final train loss"])
    assert drop_in["max_weight_difference_twin"] == fit.loc["cookbook.optimizers.Adam", "max |weight - keras Adam's|"]
    paper = found["adam_from_the_paper_is_keras_adam"].numbers
    walk = pd.read_csv(out / f"{LESSON}_paper_adam.csv")
    assert paper["ours_vs_float64_paper"] == pytest.approx(walk["ours vs float64 paper"].max())
    assert paper["ours_vs_float64_paper"] <= evidence.REFERENCE_TOLERANCE, "the lesson's class is the paper's rule"
