"""cookbook.binary_heads: a sigmoid head and a 2-unit softmax head are one model, converted exactly.

The conversions are checked on really trained models: one module-scoped
training run of lesson 03's three correct setups (A, B, C and A at twice the
learning rate on the Breast Cancer split), written out here so these library
tests do not depend on the lesson's code; the mechanics use tiny untrained
models. check_setup's verdicts on the binary near misses are here too.
"""

import types
import warnings

import cookbook  # first: TensorFlow imported with its start-up noise hidden
from cookbook import loading
from cookbook.binary_heads import (
    HeadConversionError,
    final_dense,
    head_parameter_count,
    roc_auc,
    sigmoid_to_softmax,
    softmax_to_sigmoid,
)
from cookbook.errors import CookbookError, SetupError
from cookbook.settings import Settings
from cookbook.setup_check import check_setup

import keras
import numpy as np
import pandas as pd
import pytest

TOL = 1e-6  # the tolerance for converted probabilities and per-sample losses


# Lesson 03's three correct setups, (output units, activation, loss, label encoding), and its runs (setup,
# learning-rate factor); "A, 2x lr" follows B's path exactly without a hidden layer.
SETUPS = {
    "A": (1, "sigmoid", "binary_crossentropy", "0/1"),
    "B": (2, "softmax", "sparse_categorical_crossentropy", "integer"),
    "C": (2, "softmax", "categorical_crossentropy", "one-hot"),
}
RUNS = {"A": ("A", 1.0), "B": ("B", 1.0), "C": ("C", 1.0), "A, 2x lr": ("A", 2.0)}
LEARNING_RATE, EPOCHS, BATCH_SIZE = 0.02, 10, 32
# Near misses: one piece of a correct setup swapped for the other head's (lesson 05 trains them).
NEAR_MISSES = {
    "softmax on one unit": (1, "softmax", "binary_crossentropy", "0/1"),
    "2-unit softmax + binary CE": (2, "softmax", "binary_crossentropy", "integer"),
    "2-unit softmax + binary CE, one-hot labels": (2, "softmax", "binary_crossentropy", "one-hot"),
    "sigmoid head + one-hot labels": (1, "sigmoid", "binary_crossentropy", "one-hot"),
}


def encode(y01):
    """One 0/1 label vector in the three encodings the setups use."""
    y01 = np.asarray(y01)
    return {
        "0/1": y01.astype("float32"),
        "integer": y01.astype("int32"),
        "one-hot": keras.utils.to_categorical(y01, 2).astype("float32"),
    }


def _build(setup, num_features, seed=0):
    """A linear model ending in ``setup``'s head (units, activation, loss, encoding), compiled with its loss."""
    units, activation, loss, _ = setup
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((num_features,)), keras.layers.Dense(units, activation=activation)])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss=loss)
    return model


@pytest.fixture(scope="module")
def trained():
    """Lesson 03's default setups trained here (seed 0, EPOCHS epochs, no hidden layer), once for the module.

    Built with Keras and cookbook.sigmoid_to_softmax directly, as the recipe's cells do, so these tests
    check the library's conversions on a really trained model.
    """
    X, y = cookbook.load_dataset("breast_cancer")
    split = cookbook.split_and_standardize(X, np.asarray(y).astype("int32"), seed=0, stratify=True)
    labels = {part: encode(y_part) for part, y_part in (("train", split.y_train), ("test", split.y_test))}
    model_a = _build(SETUPS["A"], split.X_train.shape[1])
    models = {"A": model_a}
    for name, (setup, lr_factor) in RUNS.items():
        if name == "A":
            continue
        if setup == "A":
            model = keras.models.clone_model(model_a)
            model.set_weights(model_a.get_weights())
        else:
            model = sigmoid_to_softmax(model_a)
        model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE * lr_factor), loss=SETUPS[setup][2])
        models[name] = model
    models["A"].compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="binary_crossentropy")
    histories = {}
    for name, model in models.items():
        keras.utils.set_random_seed(0)
        encoding = SETUPS[RUNS[name][0]][3]
        histories[name] = model.fit(
            split.X_train, labels["train"][encoding], epochs=EPOCHS, batch_size=BATCH_SIZE, verbose=0
        )
    X_all = np.concatenate([split.X_train, split.X_test])
    y_all = np.concatenate([split.y_train, split.y_test])
    return types.SimpleNamespace(
        split=split,
        labels=labels,
        models=models,
        histories=histories,
        seconds={name: 0.0 for name in models},
        X=X_all,
        y=y_all,
    )


def _outputs(model, X):
    return keras.ops.convert_to_numpy(model(X, training=False)).astype(np.float64)


def _bce(y, p):
    """Keras's binary cross-entropy, one number per sample."""
    return keras.ops.convert_to_numpy(
        keras.losses.binary_crossentropy(
            np.asarray(y, "float32").reshape(-1, 1), np.asarray(p, "float32").reshape(-1, 1), from_logits=False
        )
    )


def _sparse_ce(y, probs):
    """Keras's sparse categorical cross-entropy, one number per sample."""
    return keras.ops.convert_to_numpy(
        keras.losses.sparse_categorical_crossentropy(np.asarray(y, "int32"), np.asarray(probs, "float32"))
    )


# --- the exact conversions, on the real data ------------------------------------------------------


@pytest.mark.slow
def test_trained_sigmoid_model_converts_to_softmax_exactly(trained):
    """A -> B: same P(class 1), same per-sample loss and same decisions on all 569 rows, to 1e-6."""
    model_a = trained.models["A"]
    model_b = sigmoid_to_softmax(model_a)
    p_a = _outputs(model_a, trained.X)[:, 0]
    probs_b = _outputs(model_b, trained.X)
    assert probs_b.shape == (len(trained.X), 2)
    np.testing.assert_allclose(probs_b[:, 1], p_a, rtol=0, atol=TOL)
    np.testing.assert_allclose(probs_b.sum(axis=1), 1.0, atol=TOL)
    # Losses run up to ~10 here, where a float32 ulp is ~1e-6: relative and absolute 1e-6.
    np.testing.assert_allclose(_sparse_ce(trained.y, probs_b), _bce(trained.y, p_a), rtol=TOL, atol=TOL)
    np.testing.assert_array_equal(probs_b.argmax(axis=1), (p_a > 0.5).astype(int))


@pytest.mark.slow
def test_trained_softmax_model_converts_to_sigmoid_exactly(trained):
    """B -> A: w = w1 - w0, b = b1 - b0 gives the same P(class 1), losses and decisions to 1e-6."""
    model_b = trained.models["B"]
    model_a = softmax_to_sigmoid(model_b)
    probs_b = _outputs(model_b, trained.X)
    p_a = _outputs(model_a, trained.X)[:, 0]
    np.testing.assert_allclose(p_a, probs_b[:, 1], rtol=0, atol=TOL)
    np.testing.assert_allclose(_bce(trained.y, p_a), _sparse_ce(trained.y, probs_b), rtol=TOL, atol=TOL)
    np.testing.assert_array_equal((p_a > 0.5).astype(int), probs_b.argmax(axis=1))


@pytest.mark.slow
def test_conversion_weights_follow_the_formulas(trained):
    """The new heads hold exactly [0, w], [0, b] and w1 - w0, b1 - b0 (float64 reference)."""
    head_a = final_dense(trained.models["A"])
    w, b = (keras.ops.convert_to_numpy(v).astype(np.float64) for v in (head_a.kernel, head_a.bias))
    head_ab = final_dense(sigmoid_to_softmax(trained.models["A"]))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(head_ab.kernel), np.hstack([np.zeros_like(w), w]))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(head_ab.bias), np.concatenate([[0.0], b]))
    head_b = final_dense(trained.models["B"])
    W, b2 = (keras.ops.convert_to_numpy(v).astype(np.float64) for v in (head_b.kernel, head_b.bias))
    head_ba = final_dense(softmax_to_sigmoid(trained.models["B"]))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head_ba.kernel), W[:, 1:] - W[:, :1], rtol=1e-7)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(head_ba.bias), [b2[1] - b2[0]], rtol=1e-7)
    assert head_ab.get_config()["activation"] == "softmax" and head_ba.get_config()["activation"] == "sigmoid"


@pytest.mark.slow
def test_round_trip_gives_the_canonical_softmax_head(trained):
    """B -> A -> B zeroes the class-0 column yet predicts what B predicted."""
    model_b = trained.models["B"]
    canonical = sigmoid_to_softmax(softmax_to_sigmoid(model_b))
    head = final_dense(canonical)
    assert not np.any(keras.ops.convert_to_numpy(head.kernel)[:, 0])
    assert keras.ops.convert_to_numpy(head.bias)[0] == 0.0
    np.testing.assert_allclose(_outputs(canonical, trained.X), _outputs(model_b, trained.X), atol=TOL)


@pytest.mark.slow
def test_twice_the_parameters_but_no_more_capacity(trained):
    """B's head has 2 (d + 1) parameters, A's d + 1; a common shift of both logits changes nothing."""
    d = trained.split.X_train.shape[1]
    assert head_parameter_count(trained.models["A"]) == d + 1
    assert head_parameter_count(trained.models["B"]) == 2 * (d + 1)
    assert head_parameter_count(trained.models["B"]) == trained.models["B"].layers[-1].count_params()
    shifted = keras.models.clone_model(trained.models["B"])
    shifted.set_weights(trained.models["B"].get_weights())
    kernel, bias = (keras.ops.convert_to_numpy(w) for w in shifted.layers[-1].weights)
    common = np.random.default_rng(0).normal(size=(kernel.shape[0], 1))
    shifted.layers[-1].set_weights([kernel + common, bias + 1.0])
    moved = keras.ops.convert_to_numpy(shifted.layers[-1].kernel) - keras.ops.convert_to_numpy(
        trained.models["B"].layers[-1].kernel
    )
    assert np.abs(moved).min() > 0 and np.allclose(moved[:, 0], moved[:, 1])  # a real, common shift
    np.testing.assert_allclose(_outputs(shifted, trained.X), _outputs(trained.models["B"], trained.X), atol=TOL)


# --- training: curves and accuracy with the recipe's defaults --------------------------------------


@pytest.mark.slow
def test_sparse_and_one_hot_setups_give_the_same_curve(trained):
    """B (integer labels) and C (one-hot labels) train along the same loss curve, to 1e-5."""
    b, c = (trained.histories[k].history["loss"] for k in ("B", "C"))
    assert len(b) == len(c) and b[-1] < b[0]
    np.testing.assert_allclose(c, b, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        _outputs(trained.models["C"], trained.X), _outputs(trained.models["B"], trained.X), atol=1e-5
    )


@pytest.mark.slow
def test_softmax_head_trains_like_sigmoid_head_at_twice_the_learning_rate(trained):
    """Linear model: B with Adam(lr) follows A with Adam(2 lr), curve and predictions, to 1e-5."""
    b, a2 = (trained.histories[k].history["loss"] for k in ("B", "A, 2x lr"))
    np.testing.assert_allclose(a2, b, rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        _outputs(trained.models["A, 2x lr"], trained.X)[:, 0], _outputs(trained.models["B"], trained.X)[:, 1], atol=1e-5
    )
    a = trained.histories["A"].history["loss"]
    assert np.abs(np.subtract(a, b)).max() > 1e-3  # at the same learning rate A is slower: a real difference


# --- near-miss setups -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["A", "B", "C"])
@pytest.mark.backend_agnostic
def test_check_setup_accepts_the_three_correct_setups(name):
    """check_setup is silent on A, B and C with their label encodings."""
    setup = SETUPS[name]
    model = _build(setup, 4)
    check_setup(model, encode(np.array([0, 1, 1, 0]))[setup[3]])


@pytest.mark.parametrize(
    "name",
    [
        "softmax on one unit",
        "2-unit softmax + binary CE",
        "2-unit softmax + binary CE, one-hot labels",
        "sigmoid head + one-hot labels",
    ],
)
@pytest.mark.backend_agnostic
def test_check_setup_flags_each_near_miss(name):
    """check_setup raises SetupError (a ValueError) with a fix for every near-miss setup."""
    setup = NEAR_MISSES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras's own build-time warning for softmax on one unit
        model = _build(setup, 4)
    with pytest.raises(SetupError) as info:
        check_setup(model, encode(np.array([0, 1, 1, 0]))[setup[3]])
    assert isinstance(info.value, ValueError) and "use" in str(info.value)


@pytest.mark.parametrize("name, task", [("A", "binary"), ("B", "binary_softmax")])
@pytest.mark.backend_agnostic
def test_the_setups_are_the_rows_of_the_head_rules_table(name, task):
    """Setups A and B are HEAD_RULES' "binary" and "binary_softmax" rows (units, activation, loss)."""
    from cookbook.heads import HEAD_RULES

    units, activation, loss, _ = SETUPS[name]
    rule = HEAD_RULES[task]
    assert (str(units), activation, loss) == (rule.units, rule.activation, rule.loss)


@pytest.mark.backend_agnostic
def test_softmax_on_one_unit_predicts_one_for_everyone():
    """Dense(1, softmax) outputs 1.0 (to float32 rounding) whatever the input: every row is called class 1."""
    X = np.random.default_rng(0).normal(size=(20, 3)).astype("float32") * 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Keras warns about it at build time, and that is all
        model = _build(NEAR_MISSES["softmax on one unit"], 3)
        out = _outputs(model, X)
    np.testing.assert_allclose(out, 1.0, rtol=0, atol=1e-6)


@pytest.mark.parametrize("name", ["2-unit softmax + binary CE", "sigmoid head + one-hot labels"])
@pytest.mark.backend_agnostic
def test_keras_refuses_the_shape_mismatched_near_misses_at_fit(name):
    """Keras 3 itself raises ValueError at the first batch for the two shape mismatches."""
    setup = NEAR_MISSES[name]
    model = _build(setup, 3)
    X = np.random.default_rng(0).normal(size=(8, 3)).astype("float32")
    y = encode(np.array([0, 1] * 4))[setup[3]]
    with pytest.raises(ValueError, match="target"):
        model.fit(X, y, epochs=1, verbose=0)


# --- the conversion functions on whole models -----------------------------------------------------


def _functional(units, activation, hidden=5):
    inputs = keras.Input((3,))
    h = keras.layers.Dense(hidden, activation="tanh", name="body")(inputs)
    h = keras.layers.Dropout(0.1)(h)
    outputs = keras.layers.Dense(units, activation=activation, name="head")(h)
    return keras.Model(inputs, outputs)


def _sequential(units, activation, hidden=5):
    return keras.Sequential(
        [
            keras.Input((3,)),
            keras.layers.Dense(hidden, activation="tanh", name="body"),
            keras.layers.Dense(units, activation=activation, name="head"),
        ]
    )


@pytest.mark.parametrize("build", [_functional, _sequential], ids=["functional", "sequential"])
@pytest.mark.backend_agnostic
def test_conversion_copies_the_body_and_keeps_the_model_kind(build):
    """A body's weights are copied, not shared: changing the converted model's body leaves the original alone."""
    model_a = build(1, "sigmoid")
    X = np.random.default_rng(1).normal(size=(16, 3)).astype("float32")
    model_b = sigmoid_to_softmax(model_a)
    assert type(model_b) is type(model_a)
    np.testing.assert_allclose(_outputs(model_b, X)[:, 1], _outputs(model_a, X)[:, 0], atol=TOL)
    np.testing.assert_array_equal(
        model_b.get_layer("body").get_weights()[0], model_a.get_layer("body").get_weights()[0]
    )
    before = [w.copy() for w in model_a.get_weights()]
    body_b = model_b.get_layer("body")
    body_b.kernel.assign(body_b.kernel + 1.0)  # what a training step on B would do to its body
    for old, new in zip(before, model_a.get_weights()):
        np.testing.assert_array_equal(new, old)  # A's weights did not move
    assert np.abs(_outputs(model_b, X)[:, 1] - _outputs(model_a, X)[:, 0]).max() > 1e-3


@pytest.mark.backend_agnostic
def test_logits_heads_convert_logits_to_logits():
    """Dense(1) for BCE(from_logits=True) <-> Dense(2) for sparse CE(from_logits=True): equal per-sample losses."""
    model_a = _functional(1, None)
    X = np.random.default_rng(2).normal(size=(32, 3)).astype("float32") * 3
    y = np.arange(32) % 2
    model_b = sigmoid_to_softmax(model_a)
    assert final_dense(model_b).get_config()["activation"] == "linear"
    z, logits = _outputs(model_a, X), _outputs(model_b, X)
    np.testing.assert_allclose(logits[:, 1] - logits[:, 0], z[:, 0], atol=TOL)
    bce = keras.losses.BinaryCrossentropy(from_logits=True, reduction=None)(y.reshape(-1, 1).astype("float32"), z)
    sce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)(y, logits)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(sce), keras.ops.convert_to_numpy(bce), atol=TOL)
    back = softmax_to_sigmoid(model_b)
    np.testing.assert_allclose(_outputs(back, X), z, atol=TOL)


@pytest.mark.backend_agnostic
def test_head_without_bias_converts():
    """use_bias=False heads convert too (only the kernel moves)."""
    model_a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid", use_bias=False)])
    X = np.random.default_rng(3).normal(size=(10, 3)).astype("float32")
    model_b = sigmoid_to_softmax(model_a)
    assert head_parameter_count(model_b) == 6
    np.testing.assert_allclose(_outputs(model_b, X)[:, 1], _outputs(model_a, X)[:, 0], atol=TOL)


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__()
        self.head = keras.layers.Dense(1, activation="sigmoid")

    def call(self, x):
        return self.head(x)


def _two_outputs():
    inputs = keras.Input((3,))
    return keras.Model(
        inputs,
        [keras.layers.Dense(1, activation="sigmoid")(inputs), keras.layers.Dense(1, activation="sigmoid")(inputs)],
    )


@pytest.mark.parametrize(
    "convert, make, words",
    [
        (sigmoid_to_softmax, lambda: _sequential(2, "softmax"), "use softmax_to_sigmoid"),
        (softmax_to_sigmoid, lambda: _sequential(1, "sigmoid"), "use sigmoid_to_softmax"),
        (softmax_to_sigmoid, lambda: _sequential(3, "softmax"), "only a 2-class softmax"),
        (sigmoid_to_softmax, lambda: _sequential(1, "relu"), "Dense\\(1, activation='sigmoid'\\)"),
        (
            sigmoid_to_softmax,
            lambda: keras.Sequential([keras.Input((3,)), keras.layers.Dense(1), keras.layers.Activation("sigmoid")]),
            "inside the output layer",
        ),
        (sigmoid_to_softmax, _two_outputs, "single-output"),
        (sigmoid_to_softmax, _Subclassed, "subclassed"),
        (softmax_to_sigmoid, lambda: "model.keras", "expected a keras.Model"),
    ],
)
@pytest.mark.backend_agnostic
def test_conversion_refuses_the_wrong_head_with_the_fix(convert, make, words):
    """A model whose last layer is not the expected head raises HeadConversionError naming the fix."""
    with pytest.raises(HeadConversionError, match=words) as info:
        convert(make())
    assert isinstance(info.value, CookbookError) and isinstance(info.value, ValueError)


# --- ROC AUC --------------------------------------------------------------------------------------


def _pairwise_auc(y, s):
    """Reference: the share of (positive, negative) pairs ranked right, ties counting 1/2, float64."""
    pos, neg = s[y == 1][:, None], s[y == 0][None, :]
    return float(np.mean((pos > neg) + 0.5 * (pos == neg)))


@pytest.mark.parametrize("seed, ties", [(0, False), (1, True), (2, True)])
@pytest.mark.backend_agnostic
def test_roc_auc_matches_pairwise_counting(seed, ties):
    """The rank formula equals counting correctly ordered pairs, with ties."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 200)
    s = rng.normal(size=200) + y
    if ties:
        s = np.round(s, 1)
    assert roc_auc(y, s) == pytest.approx(_pairwise_auc(y, s), abs=1e-12)


@pytest.mark.backend_agnostic
def test_roc_auc_edge_values_and_keras_agreement():
    """1 for a perfect ranking, 0 reversed, 0.5 for constant scores; Keras's AUC agrees to 1e-3."""
    y = np.array([0, 0, 1, 1, 0, 1])
    s = np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.7])
    assert roc_auc(y, s) == 1.0 and roc_auc(y, -s) == 0.0 and roc_auc(y, np.zeros(6)) == 0.5
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 300)
    p = 1 / (1 + np.exp(-(rng.normal(size=300) + 1.5 * y)))
    metric = keras.metrics.AUC(num_thresholds=2000)
    metric.update_state(y, p)
    assert roc_auc(y, p) == pytest.approx(float(metric.result()), abs=1e-3)


@pytest.mark.parametrize(
    "y, s, words",
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], "both classes"),
        ([0, 1], [0.1, 0.2, 0.3], "one score per sample"),
        ([0, 2, 1], [0.1, 0.2, 0.3], "0/1 labels"),
        ([0, 1], [0.1, np.nan], "NaN"),
    ],
)
@pytest.mark.backend_agnostic
def test_roc_auc_refuses_bad_input(y, s, words):
    """roc_auc raises CookbookError naming the problem."""
    with pytest.raises(CookbookError, match=words):
        roc_auc(y, s)


# --- a binary table ------------------------------------------------------------------------------


@pytest.mark.backend_agnostic
def test_a_two_class_csv_target_becomes_0_1_labels(tmp_path):
    """--csv with classes 2 and 4 becomes 0/1 labels (4 = class 1, the last in sorted order)."""
    path = tmp_path / "two.csv"
    rng = np.random.default_rng(5)
    pd.DataFrame({"a": rng.normal(size=40), "b": rng.normal(size=40), "label": [2, 4] * 20}).to_csv(path, index=False)
    settings = Settings("03_lesson", data="breast_cancer", csv=path, target="label")
    table = loading.load_table(settings, "binary")
    assert table.classes == (2, 4) and set(np.unique(table.target)) == {0, 1}


@pytest.mark.backend_agnostic
def test_a_csv_target_with_three_classes_ends_with_one_line(tmp_path, capsys, monkeypatch):
    """--csv whose target has 3 classes exits 2 with one line saying a binary lesson needs two classes."""
    monkeypatch.setattr("sys.argv", ["03_lesson.py"])
    path = tmp_path / "three.csv"
    pd.DataFrame({"a": np.arange(9.0), "label": [0, 1, 2] * 3}).to_csv(path, index=False)
    with pytest.raises(SystemExit) as info:
        loading.load_table(Settings("03_lesson", data="breast_cancer", csv=path, target="label"), "binary")
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "two classes" in err
