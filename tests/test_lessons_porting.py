"""cookbook.lessons.porting: ink tokens, Keras 2 on demand, schedules in float64, the float64 Yogi beside a run."""

import importlib
import sys

from cookbook import reference
from cookbook.errors import LessonError
from cookbook.lessons import porting

import keras
import numpy as np
import pytest
import tensorflow as tf


def test_ink_tokens_are_pixel_index_times_levels_plus_ink_level():
    """Ink 0, 5, 6, 16 in 3 levels (0-5, 6-11, 12-16) at pixels 0-3 give tokens 0, 3, 7, 11."""
    tokens = porting.ink_tokens(np.array([[0, 5, 6, 16]]), levels=3)
    assert tokens.dtype == np.int32 and tokens.tolist() == [[0, 3, 7, 11]]


@pytest.mark.parametrize(
    "images, levels, says",
    [
        (np.array([[0.5, -1.0]]), 3, "raw ink values"),  # standardized pixels
        (np.zeros(4), 3, "(rows, pixels)"),
        (np.zeros((1, 4)), 0, "ink levels >= 1"),
    ],
)
def test_ink_tokens_refuse_what_is_not_raw_digits(images, levels, says):
    """Standardized pixels, a flat array or 0 levels: LessonError saying what to pass."""
    with pytest.raises(LessonError, match=says.replace("(", r"\(").replace(")", r"\)")):
        porting.ink_tokens(images, levels)


def test_load_keras2_without_tf_keras_names_the_pip_command(monkeypatch):
    """With tf_keras not importable: ModuleNotFoundError for tf_keras, naming the pip command of TensorFlow's X.Y."""
    import tensorflow as tf

    monkeypatch.setitem(sys.modules, "tf_keras", None)  # `import tf_keras` now raises ModuleNotFoundError
    monkeypatch.delitem(sys.modules, "cookbook.porting.keras2_yogi", raising=False)
    with pytest.raises(ModuleNotFoundError) as missing:
        porting.load_keras2()
    version = ".".join(tf.__version__.split(".")[:2])
    assert missing.value.name == "tf_keras"
    assert f'python -m pip install "tf_keras=={version}.*"' in str(missing.value)


def test_load_keras2_gives_keras2_and_the_original_optimizer():
    """Installed (a core dependency): the tf_keras module itself and the lesson's Keras 2 original, Keras2Yogi."""
    from cookbook.porting.keras2_yogi import Keras2Yogi

    tf_keras, keras2_yogi = porting.load_keras2()
    assert tf_keras is importlib.import_module("tf_keras")
    assert keras2_yogi is Keras2Yogi


@pytest.mark.parametrize(
    "schedule",
    [
        keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=10, decay_rate=0.5),
        keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=0.05),
    ],
    ids=["ExponentialDecay", "InverseTimeDecay"],
)
def test_rate_at_matches_the_keras_schedule(schedule):
    """rate_at(schedule, i) = the schedule's own float32 value at i = 0, 7, 49 (to float32 rounding)."""
    for i in (0, 7, 49):
        assert porting.rate_at(schedule, i) == pytest.approx(float(schedule(i)), rel=1e-6)
    assert porting.rate_at(0.01, 12) == 0.01


def test_rate_at_refuses_a_staircase_and_unknown_schedules():
    """A staircase and a CosineDecay have no formula here: LessonError, not a wrong rate."""
    with pytest.raises(LessonError, match="staircase"):
        porting.rate_at(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5, staircase=True), 3)
    with pytest.raises(LessonError, match="CosineDecay"):
        porting.rate_at(keras.optimizers.schedules.CosineDecay(0.1, 10), 3)


def test_float64_yogi_sparse_step_sums_repeated_rows_and_leaves_the_others():
    """IndexedSlices rows [1, 1, 3]: = reference.yogi with the dense gradient (row 1 summed); rows 0, 2 unchanged."""
    start = np.arange(8.0).reshape(4, 2) / 10
    values = np.array([[1.0, -2.0], [0.5, 0.5], [3.0, 1.0]])
    sparse = tf.IndexedSlices(tf.constant(values), tf.constant([1, 1, 3]), dense_shape=tf.constant([4, 2]))
    weights = porting.Float64Yogi([start]).step([sparse], learning_rate=0.1)[0]
    dense = np.zeros((4, 2))
    dense[1], dense[3] = values[0] + values[1], values[2]
    expected = reference.yogi(start, dense, {}, 1, learning_rate=0.1)
    np.testing.assert_allclose(weights, expected, rtol=1e-12)
    np.testing.assert_array_equal(weights[[0, 2]], start[[0, 2]])
    assert np.all(weights[[1, 3]] != start[[1, 3]])


def test_float64_yogi_refuses_mismatched_lists():
    """Lists of different lengths are a mistake of the caller: LessonError, not a silent zip."""
    with pytest.raises(LessonError, match="one per weight"):
        porting.Float64Yogi([np.zeros(2)]).step([np.zeros(2), np.zeros(2)], 0.01)
