"""cookbook.heads: the output-head table, output_head, encode_labels."""

from cookbook.errors import SetupError
from cookbook.heads import HEAD_RULES, encode_labels, head_rules_table, output_head
from cookbook.setup_check import check_setup

import keras
import numpy as np
import pandas as pd
import pytest

TASKS = ["regression", "binary", "binary_softmax", "multiclass", "multiclass_onehot", "multilabel"]
NUM_CLASSES = {
    "regression": 3,
    "binary": None,
    "binary_softmax": None,
    "multiclass": 4,
    "multiclass_onehot": 4,
    "multilabel": 3,
}
# What the table promises for each task: (units, activation, loss class).
EXPECTED = {
    "regression": (3, "linear", keras.losses.MeanSquaredError),
    "binary": (1, "sigmoid", keras.losses.BinaryCrossentropy),
    "binary_softmax": (2, "softmax", keras.losses.SparseCategoricalCrossentropy),
    "multiclass": (4, "softmax", keras.losses.SparseCategoricalCrossentropy),
    "multiclass_onehot": (4, "softmax", keras.losses.CategoricalCrossentropy),
    "multilabel": (3, "sigmoid", keras.losses.BinaryCrossentropy),
}
N, FEATURES = 96, 6


def _labels(task, rng):
    """Labels as a user would load them for each task (before encode_labels)."""
    if task == "regression":
        return rng.normal(size=(N, 3))
    if task in ("binary", "binary_softmax"):
        return rng.integers(0, 2, N)
    if task == "multilabel":
        return rng.integers(0, 2, (N, 3))
    return rng.integers(0, 4, N)


def test_table_covers_the_six_tasks_of_the_issue():
    """HEAD_RULES has one row per task, and head_rules_table() shows them all as a DataFrame."""
    assert list(HEAD_RULES) == TASKS
    table = head_rules_table()
    assert isinstance(table, pd.DataFrame)
    assert list(table["task"]) == TASKS
    assert {"units", "activation", "loss", "labels"} <= set(table.columns)


@pytest.mark.parametrize("task", TASKS)
def test_output_head_follows_the_table(task):
    """output_head gives the units, activation and loss class of its table row."""
    layer, loss = output_head(task, NUM_CLASSES[task])
    units, activation, loss_class = EXPECTED[task]
    assert isinstance(layer, keras.layers.Dense)
    assert layer.units == units
    assert layer.activation is keras.activations.get(activation)
    assert activation == HEAD_RULES[task].activation
    assert type(loss) is loss_class
    assert loss.get_config()["name"] == HEAD_RULES[task].loss


@pytest.mark.parametrize("task", [t for t in TASKS if t != "regression"])
def test_from_logits_moves_the_activation_into_the_loss(task):
    """from_logits=True gives a linear layer and a loss with from_logits=True."""
    layer, loss = output_head(task, NUM_CLASSES[task], from_logits=True)
    assert layer.activation is keras.activations.linear
    assert loss.get_config()["from_logits"] is True


@pytest.mark.parametrize(
    "task,from_logits", [(t, False) for t in TASKS] + [(t, True) for t in TASKS if t != "regression"]
)
def test_every_head_passes_check_setup_and_learns(task, from_logits):
    """Each table row, with encode_labels' labels, is silent under check_setup and its loss falls in training."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, FEATURES)).astype("float32")
    y = encode_labels(task, _labels(task, rng), NUM_CLASSES[task])
    layer, loss = output_head(
        task, NUM_CLASSES[task], from_logits=from_logits, kernel_initializer=keras.initializers.GlorotUniform(0)
    )
    model = keras.Sequential([keras.Input((FEATURES,)), layer])
    # Eager: four full-batch steps cost less than tracing a graph for them.
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss=loss, run_eagerly=True)
    check_setup(model, y)  # raises on a mismatch
    history = model.fit(X, y, epochs=4, batch_size=N, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_encode_labels_one_hot_and_integer():
    """multiclass_onehot gives to_categorical rows; multiclass gives int32 class numbers."""
    y = pd.Series([0, 2, 1, 2])
    onehot = encode_labels("multiclass_onehot", y, 3)
    np.testing.assert_array_equal(onehot, np.eye(3)[[0, 2, 1, 2]])
    assert onehot.dtype == np.float32
    sparse = encode_labels("multiclass", y)
    assert sparse.dtype == np.int32 and sparse.tolist() == [0, 2, 1, 2]


def test_output_head_passes_dense_arguments_through():
    """Extra keyword arguments reach the Dense layer (here its name and initializer)."""
    layer, _ = output_head("binary", name="head", kernel_initializer="zeros")
    assert layer.name == "head"
    assert isinstance(layer.kernel_initializer, keras.initializers.Zeros)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"task": "classification"}, "unknown task 'classification'.*multiclass"),
        ({"task": "multiclass"}, "needs num_classes"),
        ({"task": "multiclass", "num_classes": 1}, "task='binary'"),
        ({"task": "binary", "num_classes": 3}, "task='multiclass'"),
        ({"task": "multilabel", "num_classes": 0}, "positive integer"),
        ({"task": "regression", "from_logits": True}, "drop from_logits"),
        ({"task": "binary", "activation": "relu"}, "drop units=/activation="),
    ],
)
def test_output_head_refuses_bad_arguments_with_the_fix(kwargs, match):
    """Bad task, class count or arguments raise SetupError (a ValueError) saying what to pass instead."""
    with pytest.raises(SetupError, match=match) as info:
        output_head(**kwargs)
    assert isinstance(info.value, ValueError)
