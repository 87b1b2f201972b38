"""cookbook.heads: the output-head table, output_head, encode_labels."""

import dataclasses
import pathlib

import cookbook
from cookbook import heads, losses
from cookbook.display import to_markdown
from cookbook.errors import SetupError
from cookbook.heads import HEAD_RULES, encode_labels, head_rules_table, output_head
from cookbook.setup_check import check_setup

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs on any Keras backend (.ci/run: again under JAX)

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


# --- the table's prose copies ---------------------------------------------------------------------

README = pathlib.Path(cookbook.__file__).resolve().parents[1] / "README.md"
PROSE_COLUMNS = ("task", "units", "activation", "loss", "labels")
PROSE_COPIES = {"README.md": lambda: README.read_text(encoding="utf-8"), "cookbook.losses": lambda: losses.__doc__}


def _table_in(text, header):
    """The Markdown table in ``text`` that starts at the line ``header``: its consecutive ``|`` lines."""
    lines = text.splitlines()
    start = lines.index(header)  # ValueError (test failure) when the table is gone
    block = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        block.append(line)
    return "\n".join(block)


def _rendered():
    """HEAD_RULES as the Markdown the prose copies show: the columns a reader needs, one row per task."""
    return to_markdown(head_rules_table()[list(PROSE_COLUMNS)])


@pytest.mark.parametrize("copy", PROSE_COPIES)
def test_every_prose_copy_of_the_head_table_is_head_rules(copy):
    """README.md and the losses docstring show exactly HEAD_RULES, rendered: one row per task, every label rule."""
    rendered = _rendered()
    assert _table_in(PROSE_COPIES[copy](), rendered.splitlines()[0]) == rendered
    rows = rendered.splitlines()[2:]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == TASKS
    assert all(HEAD_RULES[task].labels in row for task, row in zip(TASKS, rows))


def test_a_drifted_head_rule_no_longer_matches_its_copies(monkeypatch):
    """Change one HEAD_RULES row and the rendered table differs from every prose copy: they cannot drift."""
    changed = dataclasses.replace(HEAD_RULES["binary"], loss="hinge")
    monkeypatch.setitem(HEAD_RULES, "binary", changed)
    rendered = _rendered()
    assert "| binary | 1 | sigmoid | hinge |" in rendered
    for text in PROSE_COPIES.values():
        assert _table_in(text(), rendered.splitlines()[0]) != rendered


# --- the helpers other modules read heads with ----------------------------------------------------


@pytest.mark.parametrize("name", ["linear", "sigmoid", "softmax", "relu", "tanh"])
def test_activation_name_reads_builtin_activations_of_a_dense_layer(name):
    """A Dense layer's built-in activation reads back as the name it was built with."""
    assert heads.activation_name(keras.layers.Dense(2, activation=name).activation) == name


def test_activation_name_calls_other_functions_custom_even_with_a_builtin_name():
    """A function of your own is "custom", also when it is named like a built-in; None-activation is linear."""

    def sigmoid(x):  # same __name__ as keras.activations.sigmoid, not the same function
        return x

    assert heads.activation_name(sigmoid) == "custom"
    assert heads.activation_name(lambda x: x) == "custom"
    assert heads.activation_name(object()) == "custom"
    assert heads.activation_name(keras.layers.Dense(1).activation) == "linear"


@pytest.mark.parametrize("use_bias", [True, False])
def test_dense_weights_returns_the_set_weights_in_float64(use_bias):
    """dense_weights gives back exactly the kernel and bias set on the layer (None without a bias)."""
    layer = keras.layers.Dense(2, use_bias=use_bias)
    layer.build((None, 3))
    kernel = np.arange(6, dtype="float32").reshape(3, 2) / 4
    layer.set_weights([kernel, np.array([0.5, -1.5], "float32")] if use_bias else [kernel])
    got_kernel, got_bias = heads.dense_weights(layer)
    assert got_kernel.dtype == np.float64
    np.testing.assert_array_equal(got_kernel, kernel)
    if use_bias:
        np.testing.assert_array_equal(got_bias, [0.5, -1.5])
    else:
        assert got_bias is None


def test_check_class_labels_accepts_every_class_and_integer_valued_floats():
    """Labels 0..C-1, as integers or whole floats, any shape, pass silently; so do empty labels."""
    heads.check_class_labels(np.array([0, 1, 2, 2]), 3)
    heads.check_class_labels(np.array([[0.0], [2.0]]), 3)
    heads.check_class_labels(np.array([], dtype=int), 3)
    heads.check_class_labels(np.array([7, 9]), None)  # the unit count is unknown: only integers checked


@pytest.mark.parametrize(
    "labels, match",
    [
        (
            [0, 1, 3],
            r"the model gets labels from 0 to 3 for 3 output units \(classes 0\.\.2\).*renumber.*give the last layer 4 units",
        ),
        ([-1, 0, 2], r"labels from -1 to 2 for 3 output units.*renumber the classes to 0\.\.C-1 \(pandas"),
        ([0, 1.5, 2], r"non-integer labels \(e\.g\. 1\.5\).*pandas\.factorize"),
        ([0, float("nan")], r"non-integer labels \(e\.g\. nan\)"),
    ],
)
def test_check_class_labels_refuses_what_a_softmax_cannot_index(labels, match):
    """A label outside 0..C-1 or not a whole number is a SetupError naming the range and the fix."""
    with pytest.raises(SetupError, match=match) as info:
        heads.check_class_labels(np.array(labels), 3)
    if min(labels) < 0:
        assert "give the last layer" not in str(info.value), "more units cannot fix a negative label"
