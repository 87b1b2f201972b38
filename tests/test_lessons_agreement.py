"""cookbook.lessons.agreement: the largest gap between two lists of weights, the measure of lessons 13-19."""

import cookbook  # noqa: F401  (imports Keras quietly first)
from cookbook.errors import LessonError
from cookbook.lessons import agreement

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.backend_agnostic


def test_max_difference_is_the_largest_entry_gap_over_every_array():
    """max |a - b| over all arrays of the two lists, float32 inputs compared in float64."""
    a = [np.zeros((2, 2)), np.array([1.0, 2.0])]
    b = [np.full((2, 2), 0.25), np.array([1.0, 1.5])]
    assert agreement.max_difference(a, b) == 0.5
    a32 = [np.zeros((2, 2), np.float32), np.ones(3, np.float32)]
    b32 = [np.zeros((2, 2), np.float32), np.array([1.0, 1.5, 1.0], np.float32)]
    assert agreement.max_difference(a32, b32) == 0.5


def test_max_difference_reads_keras_variables_and_keeps_a_nan():
    """Keras variables compare like their arrays; a NaN is not hidden behind a smaller gap."""
    variables = [keras.Variable(np.array([1.0, 2.0], "float32")), keras.Variable(np.zeros(2, "float32"))]
    assert agreement.max_difference(variables, [np.array([1.0, 2.5]), np.zeros(2)]) == 0.5
    assert np.isnan(agreement.max_difference([np.array([1.0]), np.array([np.nan])], [np.zeros(1), np.zeros(1)]))


def test_max_difference_refuses_lists_of_other_models():
    """A length or shape mismatch is a LessonError naming the fix, not a silent zip."""
    a = [np.zeros((2, 2)), np.array([1.0, 2.0])]
    with pytest.raises(LessonError, match="compare the same model's weights .two models of one architecture."):
        agreement.max_difference(a, a[:1])
    with pytest.raises(LessonError, match="shapes"):
        agreement.max_difference(a, [np.zeros(4), a[1]])
