"""cookbook.lessons.schedules: step sizes from weight snapshots and the peak of a curve, on hand-made inputs."""

from cookbook.errors import LessonError
from cookbook.lessons import schedules

import keras
import numpy as np
import pytest


def test_flat_weights_ravels_every_array_in_order_as_float64():
    """A kernel and a bias become one float64 vector, kernel first."""
    kernel, bias = keras.Variable(np.arange(6.0).reshape(2, 3)), keras.Variable(np.array([7.0, 8.0]))
    flat = schedules.flat_weights([kernel, bias])
    assert flat.dtype == np.float64
    np.testing.assert_array_equal(flat, [0, 1, 2, 3, 4, 5, 7, 8])


def test_step_sizes_divides_each_steps_change_by_its_rate():
    """|w_t - w_(t-1)| / lr_t per weight: a hand-computed 2-step, 2-weight case."""
    snapshots = [[0.0, 1.0], [0.1, 0.8], [0.1, 1.2]]
    np.testing.assert_allclose(schedules.step_sizes(snapshots, [0.1, 0.2]), [[1.0, 2.0], [0.0, 2.0]])


@pytest.mark.parametrize(
    ("snapshots", "rates", "message"),
    [([[0.0, 1.0]], [], "at least two weight vectors"), ([[0.0], [1.0]], [0.0], "one positive rate per step")],
)
def test_step_sizes_refuses_what_it_cannot_measure(snapshots, rates, message):
    """One snapshot, or a rate of 0, is refused with the fix named."""
    with pytest.raises(LessonError, match=message):
        schedules.step_sizes(snapshots, rates)


def test_peak_finds_the_highest_value_and_its_step_in_a_range():
    """The window is inclusive at both ends; an empty window gives nan and None."""
    curve = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert schedules.peak(curve, 1, 3) == (3.0, 2)
    assert schedules.peak(curve, 3, 99) == (4.0, 4)
    value, step = schedules.peak(curve, 9, 12)
    assert np.isnan(value) and step is None
