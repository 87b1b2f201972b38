"""Lesson 12's measuring tools (cookbook.lessons.weight_decay), checked against NumPy by hand."""

import cookbook  # noqa: F401  (imports TensorFlow quietly first)
from cookbook.datasets import load_dataset, split_and_standardize
from cookbook.errors import LessonError
from cookbook.lessons import weight_decay

import keras
import numpy as np
import pytest


def test_to_unit_range_maps_blank_digits_pixels_to_exactly_zero():
    """Training pixels land in [0, 1] with each column's min at 0; a blank pixel (0 ink) feeds exactly 0."""
    X, y = load_dataset("digits")
    split = split_and_standardize(X, y, seed=0, stratify=True)
    train, test = weight_decay.to_unit_range(split)
    assert train.dtype == test.dtype == np.float32
    assert train.min() == 0.0 and train.max() == pytest.approx(1.0) and test.min() >= 0.0
    raw_train = np.asarray(X, dtype=np.float64)
    blank_everywhere = (raw_train == 0).all(axis=0)  # never inked in the whole set
    assert blank_everywhere.any() and (train[:, blank_everywhere] == 0).all()


def test_input_groups_partition_the_inputs_by_activity():
    """Never / rare / sometimes / busy by the share of nonzero rows; every input in exactly one group."""
    X = np.zeros((10, 5))
    X[:1, 1] = 1  # nonzero in 10% of rows -> rare (under 20%)
    X[:5, 2] = 1  # 50% -> busy
    X[:, 3] = 2  # 100% -> busy; columns 0 and 4 stay 0 -> never
    groups = weight_decay.input_groups(X, rare_below=0.2, busy_from=0.5)
    assert [np.flatnonzero(groups[g]).tolist() for g in ("never", "rare", "sometimes", "busy")] == [
        [0, 4],
        [1],
        [],
        [2, 3],
    ]
    assert sum(mask.astype(int) for mask in groups.values()).tolist() == [1] * 5


@pytest.mark.parametrize("rare_below, busy_from", [(0.0, 0.5), (0.6, 0.5), (0.1, 1.5)])
def test_input_groups_refuses_thresholds_out_of_order(rare_below, busy_from):
    """Thresholds must satisfy 0 < rare_below <= busy_from <= 1; the error says so."""
    with pytest.raises(LessonError, match="0 < rare_below <= busy_from <= 1"):
        weight_decay.input_groups(np.ones((2, 2)), rare_below, busy_from)


def test_group_rms_is_the_rms_of_the_groups_rows():
    """RMS over the selected kernel rows, NaN for an empty group."""
    kernel = np.arange(12, dtype=np.float32).reshape(4, 3)
    masks = {"a": np.array([True, False, True, False]), "none": np.zeros(4, bool)}
    rms = weight_decay.group_rms(kernel, masks)
    assert rms["a"] == pytest.approx(np.sqrt(np.mean(kernel[[0, 2]].astype(float) ** 2)))
    assert np.isnan(rms["none"])


def _one_adam_step(gradient, optimizer):
    w = keras.Variable(np.ones((2, 2), "float32"), name="kernel")
    optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), w)])
    return w


def test_adam_gradient_rms_is_abs_g_after_one_step_and_l2_share_follows_the_formula():
    """After one step v_hat = g^2, so sqrt(v_hat) = |g|; the L2 share is lr * 2 l2 / (|g| + eps)."""
    g = np.array([[0.5, -0.01], [2.0, 0.0]], "float32")
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    w = _one_adam_step(g, optimizer)
    np.testing.assert_allclose(weight_decay.adam_gradient_rms(optimizer, w), np.abs(g), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(
        weight_decay.l2_decay_per_step(optimizer, w, 1e-3), 0.01 * 2e-3 / (np.abs(g) + 1e-7), rtol=1e-5
    )


def test_adam_gradient_rms_refuses_an_unrelated_weight_or_an_unstepped_optimizer():
    """A weight the optimizer never saw, or an optimizer with no step yet: LessonError naming the fix."""
    optimizer = keras.optimizers.Adam()
    w = _one_adam_step(np.ones((2, 2), "float32"), optimizer)
    other = keras.Variable(np.ones(3, "float32"), name="other")
    with pytest.raises(LessonError, match="no single optimizer variable"):
        weight_decay.adam_gradient_rms(optimizer, other)
    fresh = keras.optimizers.Adam()
    fresh.build([w])
    with pytest.raises(LessonError, match="no step yet"):
        weight_decay.adam_gradient_rms(fresh, w)
