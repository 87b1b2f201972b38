"""Recipe 10's claims: without bias correction Adam's step 1 is 3.16x larger for any gradient, later steps only
follow (1 - b1^t)/sqrt(1 - b2^t) for a constant gradient."""

from cookbook import optimizers, reference
from cookbook.lessons import bias_correction, landscapes

import numpy as np
import pytest

B1, B2 = 0.9, 0.999
FIRST_STEP_RATIO = (1 - B1) / np.sqrt(1 - B2)  # 3.1623


def _closed_form(t):
    t = np.asarray(t, dtype=float)
    return (1 - B1**t) / np.sqrt(1 - B2**t)


@pytest.fixture(scope="module")
def table(quick_run):
    table, _ = quick_run("adam_bias_correction")
    return table


@pytest.mark.slow
def test_step_1_is_3_16x_larger_on_both_losses(table):
    """Step 1 uncorrected / corrected = (1-b1)/sqrt(1-b2) = 3.162 on the straight line AND on the curved loss."""
    first = table.iloc[0]
    assert first["constant g: ratio"] == pytest.approx(FIRST_STEP_RATIO, rel=1e-3)
    assert first["curved: ratio"] == pytest.approx(FIRST_STEP_RATIO, rel=1e-3)
    assert first["constant g: corrected step / lr"] == pytest.approx(1.0, rel=1e-4)
    assert first["curved: corrected step / lr"] == pytest.approx(1.0, rel=1e-4)


@pytest.mark.slow
def test_constant_gradient_ratio_follows_the_closed_form_and_peaks_at_step_12(table):
    """Over 20 steps the measured ratio is (1-b1^t)/sqrt(1-b2^t) to 1e-3; it peaks at 6.57 at step 12."""
    t = table["step"].to_numpy()
    np.testing.assert_allclose(table["constant g: ratio"], _closed_form(t), rtol=1e-3)
    np.testing.assert_allclose(table["closed form (1-b1^t)/sqrt(1-b2^t)"], _closed_form(t), rtol=1e-12)
    np.testing.assert_allclose(table["constant g: corrected step / lr"], 1.0, rtol=1e-4)
    assert t[table["constant g: ratio"].argmax()] == 12
    assert table["constant g: ratio"].max() == pytest.approx(6.57, abs=0.01)
    assert table["constant g: ratio"].min() == pytest.approx(3.16, abs=0.01)


@pytest.mark.slow
def test_curved_loss_ratio_leaves_the_closed_form_after_step_1(table):
    """On w^2/2 the ratio is 3.16 at step 1 but later falls far below the formula (under half of it at some step)."""
    relative = table["curved: ratio"] / _closed_form(table["step"]) - 1
    assert abs(relative.iloc[0]) < 1e-3
    assert relative.iloc[1:].abs().max() > 0.5
    assert table["curved: ratio"].iloc[8] == pytest.approx(0.47, abs=0.05), "the header's step-9 example"
    assert table["curved: corrected step / lr"].iloc[-1] < 0.9, "the corrected step shrinks as w nears 0"


@pytest.mark.slow
def test_half_corrections_go_opposite_ways(table):
    """Leaving only m uncorrected makes step 1 10x smaller; leaving only v uncorrected, 31.6x larger."""
    first = table.iloc[0]
    assert first["m only uncorrected (NumPy)"] == pytest.approx(0.1, rel=1e-3)
    assert first["v only uncorrected (NumPy)"] == pytest.approx(np.sqrt(1000), rel=1e-3)


def _numpy_steps(gradient_of, bias_correction, lr=0.05, start=1.0, steps=20):
    """|step| / lr of a float64 Adam walk (cookbook.reference, Keras's convention) with a hand gradient."""
    w, state, sizes = np.array(start), {}, []
    for t in range(1, steps + 1):
        new = reference.adam(w, gradient_of(w), state, t, learning_rate=lr, bias_correction=bias_correction)
        sizes.append(abs(new - w) / lr)
        w = new
    return np.array(sizes)


@pytest.mark.parametrize("loss, gradient_of", [("constant g", lambda w: 0.5), ("curved", lambda w: w)])
@pytest.mark.slow
def test_the_recipes_loop_follows_the_float64_numpy_update_rule(table, loss, gradient_of):
    """Both runs of the recipe (Keras Adam, and Keras Adam with the undo-correction schedule) match float64 NumPy."""
    for column, corrected in ((f"{loss}: corrected step / lr", True), (f"{loss}: uncorrected step / lr", False)):
        np.testing.assert_allclose(
            table[column], _numpy_steps(gradient_of, corrected), rtol=2e-3, atol=1e-4, err_msg=column
        )


@pytest.mark.slow
def test_the_schedule_trick_equals_the_cookbooks_uncorrected_adam(table):
    """cookbook.optimizers.Adam(bias_correction=False) on w^2/2 takes the same steps as the recipe's schedule."""
    path = landscapes.run_path(optimizers.Adam(0.05, bias_correction=False), 1.0, lambda w: w**2 / 2, 20)
    np.testing.assert_allclose(
        np.abs(path.steps[:, 0]) / 0.05, table["curved: uncorrected step / lr"], rtol=2e-3, atol=1e-4
    )


def test_any_gradient_sequence_gives_3_16x_at_step_1_but_not_the_constant_form_later():
    """For a noisy gradient sequence the uncorrected step 1 is 3.162 lr; later steps / lr are off the closed form.

    Fed the SAME sequence, the uncorrected / corrected ratio is still the closed form (Keras folds the correction
    into one factor): the constant-gradient numbers only fail when the two runs see different gradients.
    """
    g = np.random.default_rng(0).normal(loc=0.5, scale=1.0, size=50)
    uncorrected = bias_correction.adam_step_sizes(g, 0.05, correct_m=False, correct_v=False)
    corrected = bias_correction.adam_step_sizes(g, 0.05)
    t = np.arange(1, 51)
    assert uncorrected[0] / 0.05 == pytest.approx(FIRST_STEP_RATIO, rel=1e-5)
    assert np.abs(uncorrected[1:] / 0.05 / _closed_form(t[1:]) - 1).max() > 0.3
    np.testing.assert_allclose(uncorrected / corrected, _closed_form(t), rtol=1e-4)


def test_ratio_returns_to_one_only_after_thousands_of_steps():
    """Simulated in float64 for 5000 steps: ratio 3.24 at t=100, 1.26 at t=1000, within 1% of 1 at t=5000."""
    g = np.full(5000, 0.5)
    ratio = bias_correction.adam_step_sizes(g, correct_m=False, correct_v=False) / bias_correction.adam_step_sizes(g)
    np.testing.assert_allclose(ratio, bias_correction.bias_correction_ratio(np.arange(1, 5001)), rtol=1e-4)
    assert ratio[99] == pytest.approx(3.24, abs=0.01)
    assert ratio[999] == pytest.approx(1.258, abs=0.001)
    assert 1.0 < ratio[4999] < 1.01


def test_numpy_adam_step_sizes_match_keras_and_the_cookbook_switch():
    """adam_step_sizes equals keras Adam (corrected) and cookbook Adam(bias_correction=False) on a varying gradient."""
    import keras

    paths = landscapes.run_paths(
        {"keras": keras.optimizers.Adam(0.05), "uncorrected": optimizers.Adam(0.05, bias_correction=False)},
        -1.5,
        landscapes.double_well,
        25,
    )
    for name, switch in (("keras", {}), ("uncorrected", {"correct_m": False, "correct_v": False})):
        path = paths[name]
        expected = bias_correction.adam_step_sizes(path.gradients[:-1, 0], 0.05, **switch)
        np.testing.assert_allclose(np.abs(path.steps[:, 0]), expected, rtol=2e-3)
