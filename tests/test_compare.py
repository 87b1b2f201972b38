"""compare_optimizers: its table, and the inputs it refuses with a message that says the fix."""

from cookbook.compare import compare_optimizers
from cookbook.errors import CookbookError

import keras
import numpy as np
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs on any Keras backend (.ci/run: again under JAX)


def test_table_has_one_row_per_step_and_reports_a_real_difference():
    """Two different learning rates drift apart; the reference follows the first optimizer."""
    table = compare_optimizers(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.05), steps=4)
    assert list(table["step"]) == [1, 2, 3, 4]
    assert list(table.columns) == [
        "step",
        "custom_vs_builtin",
        "custom_moved",
        "custom_vs_reference",
        "builtin_vs_reference",
        "reference_scale",
    ]
    assert (np.diff(table["custom_vs_builtin"]) > 0).all()  # the gap grows step by step
    assert table["custom_vs_reference"].max() < 1e-6 < table["builtin_vs_reference"].min()


def test_same_seed_same_table_and_identical_optimizers_agree_to_the_bit():
    """Two built-in SGDs agree exactly; the problem is a pure function of the seed."""
    first = compare_optimizers(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), steps=3, seed=3, reference=False)
    again = compare_optimizers(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1), steps=3, seed=3, reference=False)
    assert (first["custom_vs_builtin"] == 0).all()
    assert first.equals(again)


@pytest.mark.parametrize(
    "custom, builtin, steps, message",
    [
        ("adam", keras.optimizers.Adam(), 5, "custom must be a keras.optimizers.Optimizer"),
        (keras.optimizers.Adam(), keras.optimizers.Adam(), 0, "steps must be an integer >= 1"),
    ],
    ids=["not-an-optimizer", "zero-steps"],
)
def test_bad_input_is_refused_with_the_fix(custom, builtin, steps, message):
    """A string for an optimizer or zero steps raises a CookbookError (a ValueError)."""
    with pytest.raises(CookbookError, match=message):
        compare_optimizers(custom, builtin, steps=steps)


def test_a_built_optimizer_or_the_same_object_twice_is_refused():
    """An optimizer already built on other weights cannot be compared fairly."""
    used = keras.optimizers.SGD()
    used.build([keras.Variable(np.zeros(2, "float32"))])
    with pytest.raises(CookbookError, match="already built.*freshly constructed"):
        compare_optimizers(used, keras.optimizers.SGD())
    same = keras.optimizers.SGD()
    with pytest.raises(CookbookError, match="same object"):
        compare_optimizers(same, same)
