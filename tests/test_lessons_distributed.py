"""cookbook.lessons.distributed: batch arithmetic, scope errors, the optimizers a strategy trains.

Everything here runs in this process on a one-device ``MirroredStrategy``.
The worker processes of lesson 16 are ``cookbook.lessons.cluster``'s
(``test_lessons_cluster.py``); the supervisor that starts them is
``cookbook.processes`` (``test_processes.py``).
"""

from cookbook import errors
from cookbook.errors import LessonError
from cookbook.lessons import distributed

import keras
import numpy as np
import pytest
import tensorflow as tf

# --- batch arithmetic ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows, batch, per_replica, steps, last, split, even",
    [
        (427, 32, 16, 14, 11, "6+5", False),  # the odd last step that makes mirrored fit drift
        (426, 32, 16, 14, 10, "5+5", True),
        (426, 426, 213, 1, 426, "213+213", True),  # batch_size=len(X): full batch, halved
        (427, 427, 213.5, 1, 427, "214+213", False),
        (64, 32, 16, 2, 32, "16+16", True),
    ],
)
def test_batch_arithmetic_spells_out_the_split(rows, batch, per_replica, steps, last, split, even):
    """Global batch = per-replica batch x replicas; the last step's split is what fit really sees."""
    plan = distributed.batch_arithmetic(rows, batch, 2)
    assert plan == {
        "global_batch": batch,
        "per_replica": per_replica,
        "steps": steps,
        "last_batch": last,
        "last_split": split,
        "even": even,
    }
    assert (plan["steps"] - 1) * batch + plan["last_batch"] == rows


def test_batch_arithmetic_refuses_zero_counts():
    """A zero batch size is a LessonError (a ValueError) that names the fix."""
    with pytest.raises(LessonError, match="positive"):
        distributed.batch_arithmetic(10, 0, 2)


# --- scope errors (one-device MirroredStrategy: works in this process) ---------------------------


def _tiny_model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])


def test_check_scope_names_an_optimizer_created_outside_the_scope():
    """check_scope raises StrategyScopeError (a ValueError) saying to create it inside the scope."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    optimizer = keras.optimizers.Adam()  # outside
    with strategy.scope():
        model = _tiny_model()
        model.compile(optimizer=optimizer, loss="mse")
    with pytest.raises(errors.StrategyScopeError, match=r"outside strategy\.scope\(\).*inside `with strategy"):
        distributed.check_scope(strategy, model)
    assert issubclass(errors.StrategyScopeError, ValueError)


def test_check_scope_accepts_model_and_optimizer_made_inside_and_names_a_model_made_outside():
    """Everything inside passes; a model built outside is named as the culprit."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        good = _tiny_model()
        good.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    distributed.check_scope(strategy, good)  # no error
    outside = _tiny_model()
    with strategy.scope():
        outside.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    with pytest.raises(errors.StrategyScopeError, match="was built outside"):
        distributed.check_scope(strategy, outside)


def test_explain_scope_errors_translates_the_error_fit_raises():
    """fit's "Mixing different tf.distribute.Strategy objects" becomes a StrategyScopeError with the fix."""
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    optimizer = keras.optimizers.Adam()  # its slot variables are what fit trips over
    with strategy.scope():
        model = _tiny_model()
        model.compile(optimizer=optimizer, loss="mse")
    X = np.zeros((8, 3), np.float32)
    with pytest.raises(errors.StrategyScopeError, match="create the model AND the optimizer inside") as info:
        with distributed.explain_scope_errors():
            model.fit(X, X[:, :1], epochs=1, verbose=0)
    assert "Mixing different tf.distribute.Strategy objects" in str(info.value.__cause__)


def test_explain_scope_errors_lets_other_errors_through():
    """An unrelated RuntimeError is re-raised unchanged."""
    with pytest.raises(RuntimeError, match="^something else$"):
        with distributed.explain_scope_errors():
            raise RuntimeError("something else")


@pytest.mark.parametrize("name", distributed.OPTIMIZER_NAMES)
def test_make_optimizer_keras_source_is_the_builtin_with_the_same_settings(name):
    """source="keras" gives keras.optimizers.<name> (Momentum: SGD, momentum 0.9); the default a same-named twin."""
    builtin = distributed.make_optimizer(name, 0.05, source="keras")
    expected = "SGD" if name == "Momentum" else name
    assert type(builtin) is getattr(keras.optimizers, expected)
    assert float(builtin.learning_rate) == pytest.approx(0.05)
    if name == "Momentum":
        assert builtin.momentum == 0.9
    twin = distributed.make_optimizer(name, 0.05)
    assert type(twin).__name__ in (name, expected)
    assert float(twin.learning_rate) == pytest.approx(0.05)


def test_make_optimizer_refuses_an_unknown_name():
    """A typo names the legal choices."""
    with pytest.raises(LessonError, match="choose one of SGD"):
        distributed.make_optimizer("Adamm", 0.1)
