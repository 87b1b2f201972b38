"""cookbook.check_fit: each fit mistake of issue 28 is found with its fix, correct setups give [], nothing changes.

Every test starts from ``keras.utils.set_random_seed(0)`` (conftest's autouse
fixture), as a reproducible user script would: on TensorFlow that seed is
what freezes the shuffle, so multi-epoch setups meant to be correct use the
fix (``ReshuffledArrays``) or one epoch. Expectations that differ by backend
read ``keras.backend.backend()``.
"""

import random
import time

import cookbook
from cookbook import CookbookError, Finding, FitError, ReshuffledArrays, check_fit
from cookbook.fit_check import CODES, _read_fit

import keras
import numpy as np
import pandas as pd
import pytest
from _row_orders import recording_model

pytestmark = pytest.mark.backend_agnostic  # runs again under JAX in .ci/run

ON_TENSORFLOW = keras.backend.backend() == "tensorflow"
FEATURES = 4
_rng = np.random.default_rng(0)


def codes(findings):
    return [finding.code for finding in findings]


def binary_model(metrics=None, weighted_metrics=None, *middle):
    """Dense(8) -> *middle -> Dense(1, sigmoid) with binary cross-entropy."""
    model = keras.Sequential(
        [keras.Input((FEATURES,)), keras.layers.Dense(8, "relu"), *middle, keras.layers.Dense(1, "sigmoid")]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=metrics, weighted_metrics=weighted_metrics)
    return model


def multiclass_model(classes=3, loss="sparse_categorical_crossentropy", metrics=None):
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(classes, "softmax")])
    model.compile(optimizer="adam", loss=loss, metrics=metrics)
    return model


def regression_model(*middle):
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(8), *middle, keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    return model


def features(rows):
    return _rng.normal(size=(rows, FEATURES)).astype("float32")


def shuffled(y, seed=0):
    return y[np.random.default_rng(seed).permutation(len(y))]


def forget_tensorflow_seed():
    """No global seed on TensorFlow (conftest sets one again before the next test)."""
    if ON_TENSORFLOW:
        import tensorflow as tf

        tf.random.set_seed(None)


# breast-cancer-like binary labels, sorted: 212 of class 0, then 357 of class 1
Y_SORTED = np.r_[np.zeros(212), np.ones(357)].astype("int64")


# ---------------------------------------------------------------- 1. frozen shuffle


def test_seeded_shuffle_repeats_its_order_on_tensorflow_only_and_check_fit_says_so():
    """8 rows, fit(batch_size=1, epochs=3) after set_random_seed(0): one order 3 times on TF (reported), 3 on JAX."""
    x, y = np.arange(8, dtype="float32")[:, None], np.zeros(8, "float32")
    keras.utils.set_random_seed(0)
    model, recorder = recording_model()
    findings = check_fit(model, x, y, batch_size=1, epochs=3)
    model.fit(x, y, batch_size=1, epochs=3, verbose=0)
    orders = {tuple(order) for order in np.reshape(recorder.seen, (3, 8)).tolist()}
    if ON_TENSORFLOW:
        assert len(orders) == 1  # Keras 3.15.1, TF 2.21: (6, 4, 7, 3, 2, 1, 5, 0) each epoch
        assert codes(findings) == ["frozen_shuffle"] and findings[0].backends == ("tensorflow",)
        assert "ReshuffledArrays(x, y, batch_size=1, seed=0)" in findings[0].fix
    else:
        assert len(orders) == 3
        assert findings == []


def test_the_fix_reshuffles_every_epoch_and_check_fit_is_silent():
    """The finding's fix, ReshuffledArrays with shuffle=False, visits 3 orders in 3 epochs on any backend."""
    x, y = np.arange(8, dtype="float32")[:, None], np.zeros(8, "float32")
    model, recorder = recording_model()
    data = ReshuffledArrays(x, y, batch_size=1, seed=0)
    assert check_fit(model, data, epochs=3, shuffle=False) == []
    model.fit(data, epochs=3, shuffle=False, verbose=0)
    assert len({tuple(order) for order in np.reshape(recorder.seen, (3, 8)).tolist()}) == 3


def test_steps_per_epoch_repeats_the_order_once_the_rows_run_out():
    """4 epochs of 4 steps over 8 one-row batches: 2 passes, reported on TF; 2 epochs of 4 steps: 1 pass."""
    x, y = np.arange(8, dtype="float32")[:, None], np.zeros(8, "float32")
    model, recorder = recording_model()
    findings = check_fit(model, x, y, batch_size=1, epochs=4, steps_per_epoch=4)
    assert codes(findings) == (["frozen_shuffle"] if ON_TENSORFLOW else [])
    assert check_fit(model, x, y, batch_size=1, epochs=2, steps_per_epoch=4) == []
    model.fit(x, y, batch_size=1, epochs=4, steps_per_epoch=4, verbose=0)
    halves = np.reshape(recorder.seen, (4, 4)).tolist()
    assert (halves[:2] == halves[2:]) == ON_TENSORFLOW  # the second pass replays the first on TF


@pytest.mark.parametrize(
    "fit_kwargs",
    [
        {"epochs": 1},
        {"epochs": 5, "shuffle": False},
        {"epochs": 5, "shuffle": "batch"},  # the same contiguous batches on every backend, by design
        {"epochs": 5, "initial_epoch": 4},  # one epoch run
    ],
    ids=["one_epoch", "no_shuffle", "shuffle_batch", "resumed_last_epoch"],
)
def test_frozen_shuffle_needs_several_shuffled_passes(fit_kwargs):
    """One pass, no shuffle or shuffle="batch": nothing to repeat."""
    assert check_fit(regression_model(), features(64), np.zeros(64), **fit_kwargs) == []


def test_no_frozen_shuffle_without_a_tensorflow_seed():
    """Unseeded, tf.random.shuffle draws a new order each epoch: silent on every backend."""
    forget_tensorflow_seed()
    assert check_fit(regression_model(), features(64), np.zeros(64), epochs=5) == []


def test_frozen_shuffle_reads_tensorflows_seed_not_keras_record():
    """keras.backend.clear_session() forgets Keras's seed record, not TensorFlow's seed: still reported on TF."""
    keras.utils.set_random_seed(3)
    keras.backend.clear_session(free_memory=False)
    findings = check_fit(regression_model(), features(64), np.zeros(64), epochs=5)
    assert codes(findings) == (["frozen_shuffle"] if ON_TENSORFLOW else [])
    if ON_TENSORFLOW:
        assert "seed is 3" in findings[0].evidence and "seed=3" in findings[0].fix


def _dict_input_model():
    inputs = keras.Input((FEATURES,), name="a")
    model = keras.Model({"a": inputs}, keras.layers.Dense(1)(inputs))
    model.compile(optimizer="sgd", loss="mean_squared_error")
    return model


@pytest.mark.parametrize(
    "build, x, fix",
    [
        (
            regression_model,
            pd.DataFrame(_rng.normal(size=(64, FEATURES)).astype("float32")),
            "ReshuffledArrays(x.to_numpy(), y",
        ),
        (_dict_input_model, {"a": np.zeros((64, FEATURES), "float32")}, "tf.data.Dataset.from_tensor_slices((x, y))"),
    ],
    ids=["dataframe", "dict"],
)
def test_frozen_shuffle_fix_fits_the_input_type(build, x, fix):
    """A DataFrame goes to ReshuffledArrays as NumPy; a dict of inputs gets the tf.data fix."""
    findings = check_fit(build(), x, np.zeros(64), epochs=3)
    if ON_TENSORFLOW:
        assert fix in findings[0].fix
    else:
        assert findings == []


# ---------------------------------------------------------------- 2. validation_split on sorted rows


def test_validation_split_takes_the_last_rows_as_check_fit_computes():
    """fit(validation_split=0.2) on 569 sorted rows trains on x[:455] and validates on x[455:] (labels' mean)."""

    def label_mean(y_true, y_pred):
        return keras.ops.mean(keras.ops.cast(y_true, "float32"))

    x = np.arange(569, dtype="float32")[:, None] / 569
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, "sigmoid")])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="binary_crossentropy", metrics=[label_mean])
    history = model.fit(x, Y_SORTED, validation_split=0.2, epochs=1, batch_size=569, shuffle=False, verbose=0)
    split = _read_fit(model, x, Y_SORTED, {"validation_split": 0.2}).train_rows
    assert split == 455
    assert history.history["label_mean"][0] == pytest.approx(Y_SORTED[:split].mean())  # 243 / 455
    assert history.history["val_label_mean"][0] == 1.0  # only class 1


def test_sorted_binary_rows_validate_on_one_class():
    """The last 20% of 569 sorted rows hold only class 1: found, with a shuffle and a stratified split as fix."""
    findings = check_fit(binary_model(["auc"]), features(569), Y_SORTED, validation_split=0.2)
    assert codes(findings) == ["sorted_validation_split"]
    (finding,) = findings
    assert "x[455:]" in finding.evidence and "212 of class 0, 243 of class 1" in finding.evidence
    assert "permutation(len(y))" in finding.fix and "stratify=True" in finding.fix
    assert finding.backends == ("tensorflow", "jax")


def test_validation_classes_missing_from_training_raise():
    """3 sorted classes, validation_split=0.4: validation holds all of class 2, training none of it -> FitError."""
    y = np.repeat([0, 1, 2], 40)
    model = multiclass_model(metrics=[keras.metrics.MeanIoU(3, sparse_y_pred=False)])
    with pytest.raises(FitError, match=r"never sees: the last 40% of rows \(x\[72:\], 48 rows\) hold 40 of class 2"):
        check_fit(model, features(120), y, validation_split=0.4)
    assert issubclass(FitError, CookbookError) and issubclass(FitError, ValueError)


def test_one_hot_labels_are_read_by_argmax():
    """The same sorted classes, one-hot: the same FitError."""
    y = np.eye(3, dtype="float32")[np.repeat([0, 1, 2], 40)]
    with pytest.raises(FitError, match="class 2"):
        check_fit(multiclass_model(loss="categorical_crossentropy"), features(120), y, validation_split=0.4)


def test_drifting_class_shares_are_found_without_sorted_rows():
    """Shuffled rows whose last fifth is 90% class 1 (first four fifths 50%): total variation 0.4, far beyond chance."""
    rng = np.random.default_rng(1)
    y = np.r_[rng.permutation(np.repeat([0, 1], 400)), rng.permutation(np.r_[np.zeros(20), np.ones(180)])]
    findings = check_fit(binary_model(["auc"]), features(1000), y.astype("int64"), validation_split=0.2)
    assert codes(findings) == ["sorted_validation_split"]
    assert "0.40 apart" in findings[0].evidence and "z = " in findings[0].evidence


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(
    "counts, validation_split",
    [((50, 50), 0.2), ((95, 5), 0.1), ((950, 50), 0.2), ((400, 300, 200, 99, 1), 0.2)],
    ids=["balanced", "imbalanced_small", "imbalanced", "rare_class"],
)
def test_shuffled_rows_give_no_split_finding(counts, validation_split, seed):
    """Shuffled labels: no split finding, even where validation holds one class or a singleton class by chance."""
    y = shuffled(np.repeat(np.arange(len(counts)), counts), seed)
    model = multiclass_model(len(counts), metrics=[keras.metrics.MeanIoU(len(counts), sparse_y_pred=False)])
    assert check_fit(model, features(len(y)), y, validation_split=validation_split) == []


def test_validation_data_replaces_validation_split():
    """fit ignores validation_split when validation_data is given: so does check_fit."""
    x = features(569)
    validation = (x[:10], Y_SORTED[:10])
    assert check_fit(binary_model(["auc"]), x, Y_SORTED, validation_split=0.2, validation_data=validation) == []


def test_regression_targets_are_not_read_as_classes():
    """Sorted real-valued targets under MSE: no split finding (a chronological split is often meant)."""
    assert check_fit(regression_model(), features(100), np.arange(100.0), validation_split=0.2) == []


# ---------------------------------------------------------------- 3. accuracy on imbalanced classes

Y_IMBALANCED = shuffled(np.r_[np.zeros(90), np.ones(10)].astype("int64"))


@pytest.mark.parametrize(
    "metrics",
    [
        None,
        ["accuracy"],
        ["acc"],
        ["binary_accuracy"],
        [keras.metrics.binary_accuracy],
        [keras.metrics.BinaryAccuracy()],
        {"output": ["accuracy"]},
    ],
    ids=["no_metrics", "accuracy", "acc", "binary_accuracy", "function", "object", "per_output_dict"],
)
def test_accuracy_alone_on_imbalanced_classes_is_found(metrics):
    """90/10 labels with only accuracy-like metrics (any form) or none: always predicting 0 scores 0.900."""
    findings = check_fit(binary_model(metrics), features(100), Y_IMBALANCED)
    assert codes(findings) == ["accuracy_on_imbalanced"]
    assert "scores accuracy 0.900" in findings[0].evidence
    assert "keras.metrics.Precision()" in findings[0].fix and "class_weight=" in findings[0].fix


def test_weighted_accuracy_only_is_found_too():
    """weighted_metrics=["accuracy"] without weights sees the raw 90/10 shares."""
    findings = check_fit(binary_model(weighted_metrics=["accuracy"]), features(100), Y_IMBALANCED)
    assert codes(findings) == ["accuracy_on_imbalanced"]


@pytest.mark.parametrize(
    "metrics",
    [
        [keras.metrics.Precision(), keras.metrics.Recall(), keras.metrics.AUC(curve="PR")],
        ["accuracy", keras.metrics.AUC()],
        ["mse"],
        [lambda y_true, y_pred: keras.ops.mean(y_pred)],
    ],
    ids=["the_fix", "accuracy_and_auc", "other_string", "custom_function"],
)
def test_any_metric_beyond_accuracy_is_silent(metrics):
    """Metrics that are not all accuracy-like are the user's choice."""
    assert check_fit(binary_model(metrics), features(100), Y_IMBALANCED) == []


def test_class_weight_does_not_change_what_accuracy_reports():
    """Measured: a majority-class model under balancing class_weight reports accuracy 0.9, weighted accuracy 0.5."""
    y = np.r_[np.zeros(90), np.ones(10)].astype("float32")
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, "sigmoid", bias_initializer=keras.initializers.Constant(-5.0))]
    )
    model.compile(keras.optimizers.SGD(0.0), "binary_crossentropy", metrics=["accuracy"], weighted_metrics=["accuracy"])
    balancing = {0: 1 / 0.9, 1: 1 / 0.1}
    history = model.fit(np.zeros((100, 1), "float32"), y, class_weight=balancing, batch_size=100, verbose=0).history
    assert history["accuracy"][0] == pytest.approx(0.9) and history["weighted_accuracy"][0] == pytest.approx(0.5)

    unweighted = check_fit(binary_model(["accuracy"]), features(100), Y_IMBALANCED, class_weight=balancing)
    assert codes(unweighted) == ["accuracy_on_imbalanced"] and "class_weight" in unweighted[0].evidence
    assert "class_weight=" not in unweighted[0].fix  # already given
    weighted = binary_model(weighted_metrics=["accuracy"])
    assert check_fit(weighted, features(100), Y_IMBALANCED, class_weight=balancing) == []


@pytest.mark.parametrize(
    "loss, y, fix",
    [
        ("sparse_categorical_crossentropy", None, "keras.metrics.MeanIoU(num_classes=3, sparse_y_pred=False)"),
        ("categorical_crossentropy", "one_hot", "keras.metrics.F1Score(average='macro')"),
    ],
    ids=["sparse", "one_hot"],
)
@pytest.mark.filterwarnings("ignore:Explicitly requested dtype int64")  # MeanIoU's own int64 cast, on JAX
def test_multiclass_fix_is_a_metric_that_reads_those_labels(loss, y, fix):
    """80/15/5 classes: the fix's metric reads those labels and scores the majority model (accuracy 0.8) under 0.3."""
    labels = shuffled(np.repeat([0, 1, 2], [80, 15, 5]).astype("int32"))
    labels = np.eye(3, dtype="float32")[labels] if y == "one_hot" else labels
    x = features(100)
    findings = check_fit(multiclass_model(loss=loss, metrics=["accuracy"]), x, labels)
    assert codes(findings) == ["accuracy_on_imbalanced"] and fix in findings[0].fix
    metric = eval(fix)  # the fix as written: a Keras metric
    fixed = multiclass_model(loss=loss, metrics=[metric])
    assert check_fit(fixed, x, labels) == []
    always_class_0 = np.tile(np.array([[1.0, 0.0, 0.0]], "float32"), (100, 1))
    metric.update_state(labels, always_class_0)  # as fit calls it on each batch
    assert float(metric.result()) < 0.3  # MeanIoU (0.8 + 0 + 0) / 3, macro F1 (0.889 + 0 + 0) / 3


def test_balanced_labels_with_accuracy_are_silent():
    """60/40 binary labels: accuracy is fine."""
    y = shuffled(np.r_[np.zeros(60), np.ones(40)].astype("int64"))
    assert check_fit(binary_model(["accuracy"]), features(100), y) == []


# ---------------------------------------------------------------- 4. BatchNormalization at batch size 1


def test_batchnorm_outputs_beta_for_every_one_row_batch():
    """Measured: Dense(4) -> BatchNormalization, training mode, batch of 1: beta for 5 different inputs."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4), keras.layers.BatchNormalization()])
    beta = np.array([0.5, -1.0, 2.0, 0.25], "float32")
    model.layers[-1].beta.assign(beta)
    x = features(5)[:, :3]
    outputs = [keras.ops.convert_to_numpy(model(x[i : i + 1], training=True))[0] for i in range(5)]
    np.testing.assert_allclose(outputs, np.tile(beta, (5, 1)), atol=1e-5)
    pair = keras.ops.convert_to_numpy(model(x[:2], training=True))
    assert not np.allclose(pair[0], pair[1])  # two rows: the inputs show


@pytest.mark.parametrize(
    "rows, fit_kwargs, fix",
    [
        (64, {"batch_size": 1}, "batch_size=32"),
        (33, {}, "batch_size=33"),  # 33 = 32 + 1: the last batch holds 1 row
        (42, {"validation_split": 0.2}, "batch_size=33"),  # 33 training rows after the split
        (65, {"batch_size": 16}, "batch_size=17"),
    ],
    ids=["batch_size_1", "last_batch_of_1", "after_validation_split", "batch_16"],
)
def test_batchnorm_in_a_batch_of_one_is_found(rows, fit_kwargs, fix):
    """A one-row batch, every step or the last of each epoch: found, with a batch size that leaves none."""
    model = regression_model(keras.layers.BatchNormalization())
    findings = check_fit(model, features(rows), np.zeros(rows), **fit_kwargs)
    assert codes(findings) == ["batchnorm_batch_of_one"]
    assert fix in findings[0].fix and "LayerNormalization" in findings[0].fix


def test_batchnorm_in_a_nested_model_is_found():
    """A BatchNormalization inside a nested Sequential block counts too."""
    block = keras.Sequential([keras.Input((8,)), keras.layers.BatchNormalization()])
    inputs = keras.Input((FEATURES,))
    model = keras.Model(inputs, keras.layers.Dense(1)(block(keras.layers.Dense(8)(inputs))))
    model.compile(optimizer="sgd", loss="mean_squared_error")
    assert codes(check_fit(model, features(64), np.zeros(64), batch_size=1)) == ["batchnorm_batch_of_one"]


def _frozen_batchnorm():
    layer = keras.layers.BatchNormalization()
    layer.trainable = False  # Keras 3 runs a frozen BatchNormalization in inference mode
    return regression_model(layer)


def _conv_batchnorm():
    model = keras.Sequential(
        [keras.Input((4, 4, 1)), keras.layers.Conv2D(2, 3), keras.layers.BatchNormalization(), keras.layers.Flatten()]
    )
    model.compile(optimizer="sgd", loss="mean_squared_error")
    return model


@pytest.mark.parametrize(
    "build, x, fit_kwargs",
    [
        (lambda: regression_model(keras.layers.BatchNormalization()), features(34), {}),
        (lambda: regression_model(keras.layers.LayerNormalization()), features(64), {"batch_size": 1}),
        (_frozen_batchnorm, features(64), {"batch_size": 1}),
        (_conv_batchnorm, _rng.normal(size=(8, 4, 4, 1)).astype("float32"), {"batch_size": 1}),
    ],
    ids=["no_batch_of_one", "layer_normalization", "frozen", "after_conv"],
)
def test_batchnorm_cases_that_work_are_silent(build, x, fit_kwargs):
    """No one-row batch; LayerNormalization; a frozen BN; a BN after Conv2D (spatial statistics) at batch 1."""
    assert check_fit(build(), x, np.zeros((len(x), 1)), **fit_kwargs) == []


# ---------------------------------------------------------------- correct setups, inputs, guarantees


def _balanced_multiclass():
    y = shuffled(np.repeat([0, 1, 2], 40))
    return multiclass_model(metrics=["accuracy"]), features(120), y, {}


def _breast_cancer_stratified():
    X, y = cookbook.load_dataset("breast_cancer")
    split = cookbook.split_and_standardize(X, y, stratify=True)
    model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(16, "relu"), keras.layers.Dense(1, "sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model, split.X_train, split.y_train, {"validation_split": 0.2}


def _reshuffled_many_epochs():
    x, y = features(100), shuffled(np.r_[np.zeros(50), np.ones(50)])
    return (
        binary_model(["accuracy"]),
        ReshuffledArrays(x, y, batch_size=32, seed=0),
        None,
        {"epochs": 10, "shuffle": False},
    )


def _pandas_frame_and_series():
    x = pd.DataFrame(features(120))
    y = pd.Series(shuffled(np.repeat([0, 1, 2], 40)))
    return multiclass_model(metrics=["accuracy"]), x, y, {"validation_split": 0.25}


def _backend_tensors():
    x = keras.ops.convert_to_tensor(features(120))
    y = keras.ops.convert_to_tensor(shuffled(np.repeat([0, 1, 2], 40)))
    return multiclass_model(metrics=["accuracy"]), x, y, {"validation_split": 0.25}


def _two_inputs():
    a, b = keras.Input((2,)), keras.Input((2,))
    model = keras.Model([a, b], keras.layers.Dense(1, "sigmoid")(keras.layers.Concatenate()([a, b])))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    y = shuffled(np.r_[np.zeros(50), np.ones(50)].astype("int64"))
    return model, [features(100)[:, :2], features(100)[:, :2]], y, {"validation_split": 0.2}


def _bn_regression():
    return regression_model(keras.layers.BatchNormalization()), features(100), np.zeros(100), {"batch_size": 32}


@pytest.mark.parametrize(
    "setup",
    [
        _balanced_multiclass,
        _breast_cancer_stratified,
        _reshuffled_many_epochs,
        _pandas_frame_and_series,
        _backend_tensors,
        _two_inputs,
        _bn_regression,
    ],
    ids=lambda setup: setup.__name__.strip("_"),
)
def test_correct_setups_give_no_findings(setup):
    """Balanced classes, stratified or shuffled rows, the shuffle fix, several input types: []."""
    model, x, y, fit_kwargs = setup()
    assert check_fit(model, x, y, **fit_kwargs) == []


def _keras_seed_state():
    """The state of Keras's global SeedGenerator (unseeded keras.random draws), read without drawing.

    Compared within one run rather than by a draw after two seeded runs: before Keras 3.11 (the floor is
    3.10), ``set_random_seed`` does not reset that generator, so two seeded runs draw differently anyway.
    """
    from keras.src.random.seed_generator import global_seed_generator

    return keras.ops.convert_to_numpy(global_seed_generator().state)


def test_check_fit_changes_no_random_state_and_not_the_model():
    """A seeded fit after check_fit trains to the same weights as without; no generator moved; the model as it was."""
    x, y = features(64), shuffled(np.r_[np.zeros(60), np.ones(4)].astype("int64"))

    def seeded_fit(check):
        keras.utils.set_random_seed(0)
        # Random: the initial weights (Keras's SeedGenerator) and the shuffle (TensorFlow's op seeds, NumPy on JAX).
        model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(8), keras.layers.Dense(1, "sigmoid")])
        # Traced on TensorFlow, eager on JAX: the faster of the two for 8 steps on each.
        model.compile(optimizer="sgd", loss="binary_crossentropy", metrics=["accuracy"], run_eagerly=not ON_TENSORFLOW)
        if check:
            before = [w.copy() for w in model.get_weights()]
            keras_state = _keras_seed_state()  # first: reading it may create the generator, from Python's random
            states = (random.getstate(), np.random.get_state()[1].copy())
            assert check_fit(model, x, y, batch_size=1, epochs=2, validation_split=0.25)  # findings, so every check ran
            assert random.getstate() == states[0] and np.array_equal(np.random.get_state()[1], states[1])
            assert np.array_equal(_keras_seed_state(), keras_state)  # Keras's global SeedGenerator did not move
            assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
            assert model._compile_metrics._user_metrics == ["accuracy"] and not model._compile_metrics.built
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)  # validation would cost seconds eagerly on JAX
        draws = []
        if ON_TENSORFLOW:
            import tensorflow as tf

            draws.append(tf.random.uniform((3,)).numpy())  # TensorFlow's op-seed counter
        return model.get_weights(), draws

    (weights, draws), (weights_checked, draws_checked) = seeded_fit(False), seeded_fit(True)
    assert all(np.array_equal(a, b) for a, b in zip(weights, weights_checked))
    assert all(np.array_equal(a, b) for a, b in zip(draws, draws_checked))


def test_ten_thousand_rows_take_under_50_ms():
    """Every check on 10k one-hot rows, with a split and a BatchNormalization: the fastest of 5 calls < 50 ms."""
    model = keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(3, "softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    x, y = features(10_000), np.eye(3, dtype="float32")[np.random.default_rng(0).choice(3, 10_000, p=[0.9, 0.08, 0.02])]
    times = []
    for _ in range(5):
        start = time.perf_counter()
        check_fit(model, x, y, validation_split=0.2, epochs=5, batch_size=1)
        times.append(time.perf_counter() - start)
    assert min(times) < 0.05


class _Batches(keras.utils.PyDataset):
    """A PyDataset check_fit cannot look into: one batch of one row."""

    def __len__(self):
        return 1

    def __getitem__(self, index):
        return features(1), Y_IMBALANCED[:1]


def test_datasets_get_only_the_checks_that_read_no_rows():
    """A PyDataset or generator: check_fit reads no rows, so no label or batch finding, and no error."""
    model = binary_model(["accuracy"], None, keras.layers.BatchNormalization())
    assert check_fit(model, _Batches(), epochs=3) == []
    assert check_fit(model, (batch for batch in [])) == []


def test_reshuffled_arrays_are_read_as_the_arrays_and_batch_size_they_serve():
    """ReshuffledArrays: its rows and batch size are checked; it reshuffles, so no frozen_shuffle on any backend."""
    model = binary_model(["accuracy"], None, keras.layers.BatchNormalization())
    data = ReshuffledArrays(features(64), Y_IMBALANCED[:64], batch_size=1, seed=0)
    assert codes(check_fit(model, data, epochs=3, shuffle=False)) == [
        "accuracy_on_imbalanced",
        "batchnorm_batch_of_one",
    ]
    with pytest.raises(FitError, match="validation_data"):
        check_fit(model, data, epochs=3, validation_split=0.2)
    with pytest.raises(FitError, match="pass no y"):
        check_fit(model, data, Y_IMBALANCED[:64])


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda m: check_fit(m, features(4), np.zeros(4), epoch=3), "did you mean 'epochs'"),
        (lambda m: check_fit(m, features(4), np.zeros(5)), "x has 4 rows but y has 5"),
        (lambda m: check_fit(m, features(4), np.zeros(4), sample_weight=np.ones(3)), "sample_weight has 3"),
        (lambda m: check_fit(m, {"a": features(4), "b": features(5)}, np.zeros(4)), "different numbers of rows"),
        (lambda m: check_fit(m, features(4), np.zeros(4), validation_split=1.5), "validation_split=1.5"),
        (lambda m: check_fit(m, features(4), np.zeros(4), batch_size=0), "batch_size=0"),
    ],
    ids=["typo", "x_y_rows", "sample_weight_rows", "x_dict_rows", "validation_split", "batch_size"],
)
def test_arguments_check_fit_cannot_read_raise_with_the_fix(call, words):
    """Each bad argument raises FitError naming it."""
    with pytest.raises(FitError, match=words):
        call(regression_model())


def test_an_uncompiled_model_is_refused():
    """check_fit reads the compiled loss and metrics: it asks for compile first."""
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(1)])
    with pytest.raises(FitError, match=r"not compiled: call model.compile"):
        check_fit(model, features(4), np.zeros(4))


def test_finding_prints_each_part_on_its_line_and_is_frozen():
    """str(finding): code and problem, then evidence, fix, backends; the codes are the documented ones."""
    (finding,) = check_fit(binary_model(), features(100), Y_IMBALANCED)
    lines = str(finding).splitlines()
    assert lines[0].startswith("accuracy_on_imbalanced: ")
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["evidence", "fix", "happens on"]
    assert finding.code in CODES and isinstance(finding, Finding)
    with pytest.raises(AttributeError):
        finding.code = "other"
