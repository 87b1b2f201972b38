"""cookbook.losses against keras.losses, float64 NumPy and the analytic gradient.

Inputs are NumPy arrays, except in the tests of Keras's own sigmoid/softmax
outputs: those carry their logits, which Keras's losses (and ours) read
instead of the probabilities on TensorFlow, so they get tests of their own.

Every test here runs on any Keras backend (``.ci/run`` runs them under JAX
too). On JAX, float64 arrays are computed in float32 unless JAX's 64-bit mode
is on, by Keras and the twins alike: the float64 tolerances below follow the
dtype the backend really computes in.
"""

import functools
import inspect
import itertools

from cookbook import losses
from cookbook.errors import SetupError

import keras
import numpy as np
import pytest
from _gradients import value_and_gradient

pytestmark = pytest.mark.backend_agnostic

RTOL = 1e-6
# float32 results near 0 are the difference of two numbers near 1 (x_k and the log-sum-exp), so
# two correct float32 implementations may differ by an ulp of 1.0 there: allow that much absolutely.
FLOAT32_ATOL = 2 * float(np.finfo(np.float32).eps)
ON_TENSORFLOW = keras.backend.backend() == "tensorflow"


def _computed_dtype(dtype):
    """The dtype the backend computes a NumPy array of ``dtype`` in (float64 -> float32 on JAX without x64)."""
    return keras.backend.standardize_dtype(keras.ops.convert_to_tensor(np.zeros(1, dtype)).dtype)


# Tolerances against a float64 NumPy formula: float64 round-off where the backend computes in float64,
# float32 round-off (1e-6 relative, two ulps of 1.0 absolute) where it computes float64 input in float32.
FLOAT64_TOLERANCE = (
    {"rtol": 1e-12, "atol": 1e-15} if _computed_dtype("float64") == "float64" else {"rtol": RTOL, "atol": FLOAT32_ATOL}
)
N, C = 64, 5
RNG_SEED = 0


def _rng():
    return np.random.default_rng(RNG_SEED)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# One row per loss: its name and how to draw (labels, outputs) for it.
# make(rng, outputs) turns an (N, C) array of outputs into a matching (y_true, y_pred).
def _regression(rng, out):
    return rng.normal(size=out.shape).astype(out.dtype), out


def _binary(rng, out):
    return rng.integers(0, 2, size=out.shape).astype(out.dtype), out


def _onehot(rng, out):
    return np.eye(out.shape[-1], dtype=out.dtype)[rng.integers(0, out.shape[-1], len(out))], out


def _sparse(rng, out):
    return rng.integers(0, out.shape[-1], len(out)), out


_LOSSES_UNDER_TEST = {
    "mean_squared_error": _regression,
    "binary_crossentropy": _binary,
    "categorical_crossentropy": _onehot,
    "sparse_categorical_crossentropy": _sparse,
}
_CROSS_ENTROPIES = [n for n in _LOSSES_UNDER_TEST if n != "mean_squared_error"]
_SMOOTHED = ["binary_crossentropy", "categorical_crossentropy"]
# The focal losses take the labels of the cross-entropy they refine; their own tests are at the end of the file.
_FOCAL_LOSSES = {"binary_focal_crossentropy": _binary, "categorical_focal_crossentropy": _onehot}


def _both(name, y_true, y_pred, **kwargs):
    """(cookbook, keras) per-sample losses for the same NumPy inputs, as float64 arrays."""
    ours = getattr(losses, name)(y_true, y_pred, **kwargs)
    theirs = getattr(keras.losses, name)(y_true, y_pred, **kwargs)
    return np.asarray(ours, np.float64), np.asarray(theirs, np.float64)


def _assert_close(ours, theirs, dtype="float32", err_msg=""):
    """Equal to 1e-6 relative; computed in float32, also within two float32 ulps of 1.0 absolute."""
    atol = FLOAT32_ATOL if _computed_dtype(dtype) == "float32" else 0.0
    np.testing.assert_allclose(ours, theirs, rtol=RTOL, atol=atol, err_msg=err_msg)


def _probabilities(rng, dtype, name):
    logits = rng.normal(scale=2.0, size=(N, C))
    if name.startswith("binary"):
        return (1 / (1 + np.exp(-logits))).astype(dtype)
    return _softmax(logits).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(_LOSSES_UNDER_TEST))
def test_matches_keras_on_random_probabilities(name, dtype):
    """Per-sample losses equal keras.losses to 1e-6 (relative) on random probabilities."""
    rng = _rng()
    y_true, y_pred = _LOSSES_UNDER_TEST[name](rng, _probabilities(rng, dtype, name))
    ours, theirs = _both(name, y_true, y_pred)
    assert ours.shape == theirs.shape == (N,)
    _assert_close(ours, theirs, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", [*_LOSSES_UNDER_TEST, *_FOCAL_LOSSES])
def test_result_dtype_is_the_keras_result_dtype(name, dtype):
    """float32 in, float32 out; float64 in, float64 out where the backend computes float64 (JAX: float32 unless x64)."""
    rng = _rng()
    y_true, y_pred = {**_LOSSES_UNDER_TEST, **_FOCAL_LOSSES}[name](rng, _probabilities(rng, dtype, name))
    ours = getattr(losses, name)(y_true, y_pred)
    theirs = getattr(keras.losses, name)(y_true, y_pred)
    standardize = keras.backend.standardize_dtype
    assert standardize(ours.dtype) == standardize(theirs.dtype) == _computed_dtype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", _CROSS_ENTROPIES)
def test_matches_keras_on_exact_zero_and_one_probabilities(name, dtype):
    """Probabilities of exactly 0 and 1 are clipped as Keras clips them: finite, equal losses."""
    rng = _rng()
    hard = np.eye(C, dtype=dtype)[rng.integers(0, C, N)]  # each row one 1, the rest 0
    y_true, y_pred = _LOSSES_UNDER_TEST[name](rng, hard)
    ours, theirs = _both(name, y_true, y_pred)
    assert np.all(np.isfinite(ours))
    assert ours.max() > 10, "a confident wrong answer costs about -log(1e-7) = 16.1"
    _assert_close(ours, theirs, dtype)


@pytest.mark.parametrize("name", _CROSS_ENTROPIES)
def test_matches_keras_on_random_logits(name):
    """from_logits=True equals keras.losses to 1e-6 on random logits."""
    rng = _rng()
    y_true, logits = _LOSSES_UNDER_TEST[name](rng, rng.normal(scale=3.0, size=(N, C)).astype("float32"))
    ours, theirs = _both(name, y_true, logits, from_logits=True)
    _assert_close(ours, theirs)


@pytest.mark.parametrize("name", _CROSS_ENTROPIES)
def test_extreme_logits_stay_finite_and_match_keras(name):
    """Logits of +-1e4 give finite losses (about 2e4 for a confident mistake), equal to Keras's."""
    rng = _rng()
    extreme = (np.where(rng.random((N, C)) < 0.5, -1.0, 1.0) * 1e4).astype("float32")
    y_true, logits = _LOSSES_UNDER_TEST[name](rng, extreme)
    ours, theirs = _both(name, y_true, logits, from_logits=True)
    assert np.all(np.isfinite(ours))
    assert ours.max() >= 1e4 - 1, "a confident mistake with logit 1e4 costs about 1e4 or more"
    _assert_close(ours, theirs)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("smoothing", [0.1, 0.3])
@pytest.mark.parametrize("name", _SMOOTHED)
def test_label_smoothing_matches_keras(name, smoothing, from_logits):
    """label_smoothing moves labels the way Keras does, for probabilities and logits."""
    rng = _rng()
    logits = rng.normal(scale=2.0, size=(N, C)).astype("float32")
    outputs = logits if from_logits else _probabilities(rng, "float32", name)
    y_true, y_pred = _LOSSES_UNDER_TEST[name](rng, outputs)
    ours, theirs = _both(name, y_true, y_pred, from_logits=from_logits, label_smoothing=smoothing)
    unsmoothed, _ = _both(name, y_true, y_pred, from_logits=from_logits)
    assert not np.allclose(ours, unsmoothed), "smoothing changes the loss"
    _assert_close(ours, theirs)


@pytest.mark.parametrize("label_shape", ["(N,)", "(N, 1)"])
@pytest.mark.parametrize(
    "name,keras_class",
    [
        ("mean_squared_error", keras.losses.MeanSquaredError),
        ("binary_crossentropy", keras.losses.BinaryCrossentropy),
        ("binary_focal_crossentropy", keras.losses.BinaryFocalCrossentropy),
    ],
)
def test_single_output_accepts_labels_shaped_n_or_n1(name, keras_class, label_shape):
    """(N,) and (N, 1) labels against an (N, 1) output give Keras's per-sample losses."""
    rng = _rng()
    y_pred = _probabilities(rng, "float32", "binary_crossentropy")[:, :1]
    y_true, _ = {**_LOSSES_UNDER_TEST, **_FOCAL_LOSSES}[name](rng, y_pred)
    y_true = y_true.reshape(-1) if label_shape == "(N,)" else y_true
    ours = np.asarray(getattr(losses, name)(y_true, y_pred))
    theirs = np.asarray(keras_class(reduction=None)(y_true, y_pred))
    assert ours.shape == (N,)
    _assert_close(ours, theirs)


@pytest.mark.parametrize("label_shape", ["(N,)", "(N, 1)"])
def test_sparse_accepts_labels_shaped_n_or_n1(label_shape):
    """Integer labels shaped (N,) or (N, 1) give the same per-sample losses as Keras."""
    rng = _rng()
    labels, y_pred = _sparse(rng, _probabilities(rng, "float32", "sparse_categorical_crossentropy"))
    labels = labels.reshape(-1) if label_shape == "(N,)" else labels.reshape(-1, 1)
    ours, theirs = _both("sparse_categorical_crossentropy", labels, y_pred)
    assert ours.shape == (N,)
    _assert_close(ours, theirs)


def test_sparse_and_categorical_give_the_same_number():
    """The two categorical cross-entropies differ only in how labels are stored."""
    rng = _rng()
    labels, probs = _sparse(rng, _probabilities(rng, "float64", "categorical_crossentropy"))
    sparse = np.asarray(losses.sparse_categorical_crossentropy(labels, probs))
    onehot = np.asarray(losses.categorical_crossentropy(np.eye(C)[labels], probs))
    np.testing.assert_allclose(sparse, onehot, rtol=1e-12)


def test_formulas_match_float64_numpy():
    """Each loss equals its textbook formula computed in float64 NumPy (probabilities away from the clip)."""
    rng = _rng()
    probs = _probabilities(rng, "float64", "categorical_crossentropy")
    labels = rng.integers(0, C, N)
    onehot = np.eye(C)[labels]
    expected_ce = -np.log(probs[np.arange(N), labels])
    close = functools.partial(np.testing.assert_allclose, **FLOAT64_TOLERANCE)
    close(losses.categorical_crossentropy(onehot, probs), expected_ce)
    close(losses.sparse_categorical_crossentropy(labels, probs), expected_ce)
    p = probs.clip(0.01, 0.99)
    y = rng.integers(0, 2, size=p.shape).astype(float)
    expected_bce = -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(axis=-1)
    close(losses.binary_crossentropy(y, p), expected_bce)
    close(losses.mean_squared_error(y, p), ((y - p) ** 2).mean(axis=-1))


@pytest.mark.parametrize("name", ["categorical_crossentropy", "binary_crossentropy"])
def test_gradient_with_respect_to_logits_is_prediction_minus_label(name):
    """d loss / d logits = softmax(x) - y (categorical) and (sigmoid(x) - y) / C (binary), in float64."""
    rng = _rng()
    logits = rng.normal(scale=2.0, size=(N, C))
    y_true, _ = _LOSSES_UNDER_TEST[name](rng, logits)
    _, grad = value_and_gradient(lambda x: getattr(losses, name)(y_true, x, from_logits=True), logits)
    if name == "categorical_crossentropy":
        expected = _softmax(logits) - y_true
    else:
        expected = (1 / (1 + np.exp(-logits)) - y_true) / C
    np.testing.assert_allclose(grad, expected, **_gradient_tolerance())


def _gradient_tolerance():
    """float64 round-off in float64; in float32 (float64 on JAX without x64) 1e-5 relative, 1e-7 absolute."""
    if _computed_dtype("float64") == "float64":
        return {"rtol": 1e-9, "atol": 1e-12}
    return {"rtol": 1e-5, "atol": 1e-7}


def _tiny_model(units, activation):
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=activation)])


@pytest.mark.parametrize(
    "name,units,activation,from_logits",
    [
        ("mean_squared_error", 2, None, False),
        ("binary_crossentropy", 1, "sigmoid", False),
        ("binary_crossentropy", 1, None, True),
        ("categorical_crossentropy", C, "softmax", False),
        ("categorical_crossentropy", C, None, True),
        ("sparse_categorical_crossentropy", C, "softmax", False),
        ("sparse_categorical_crossentropy", C, None, True),
    ],
)
def test_model_evaluate_gives_the_keras_loss(name, units, activation, from_logits):
    """model.evaluate with the cookbook loss equals model.evaluate with the Keras loss."""
    rng = _rng()
    X = rng.normal(size=(N, 4)).astype("float32")
    y, _ = _LOSSES_UNDER_TEST[name](rng, np.zeros((N, units), "float32"))
    if name == "binary_crossentropy":
        y = y.reshape(-1)  # labels shaped (N,) against a one-unit output, as users pass them
    model = _tiny_model(units, activation)
    kwargs = {"from_logits": True} if from_logits else {}
    results = {}
    for source in (keras.losses, losses):
        function = getattr(source, name)
        # Eager: one evaluation does not repay tracing a graph; the numbers are the same.
        model.compile(loss=lambda t, p, f=function: f(t, p, **kwargs), run_eagerly=True)
        results[source.__name__] = model.evaluate(X, y, batch_size=16, verbose=0)
    _assert_close(results["cookbook.losses"], results["keras.losses"])


def test_categorical_with_integer_labels_raises_with_the_fix():
    """(N,) labels into categorical_crossentropy raise SetupError naming to_categorical and the sparse loss."""
    with pytest.raises(SetupError, match="to_categorical.*sparse_categorical_crossentropy"):
        losses.categorical_crossentropy(np.array([0, 1, 2]), np.full((3, 3), 1 / 3))


def test_sparse_with_one_hot_labels_raises_with_the_fix():
    """One-hot labels into sparse_categorical_crossentropy raise SetupError naming categorical_crossentropy."""
    with pytest.raises(SetupError, match="categorical_crossentropy"):
        losses.sparse_categorical_crossentropy(np.eye(3), np.full((3, 3), 1 / 3))


def test_binary_with_mismatched_columns_raises():
    """Three label columns for a one-unit output raise instead of broadcasting."""
    with pytest.raises(SetupError, match="one 0/1 label per output unit"):
        losses.binary_crossentropy(np.eye(3), np.full((3, 1), 0.5))


def test_other_axis_is_refused_with_the_fix():
    """A class axis other than the last raises SetupError pointing to keras.ops.moveaxis."""
    with pytest.raises(SetupError, match="moveaxis"):
        losses.categorical_crossentropy(np.eye(3), np.full((3, 3), 1 / 3), axis=0)


@pytest.mark.parametrize("name", [*_CROSS_ENTROPIES, "mean_squared_error", *_FOCAL_LOSSES])
def test_positional_arguments_mean_what_they_mean_in_keras(name):
    """Same parameter names, order and defaults as the keras.losses function."""
    ours = inspect.signature(getattr(losses, name)).parameters
    theirs = inspect.signature(getattr(keras.losses, name)).parameters
    assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()]


# Saturated outputs: a confidently wrong sigmoid (logit -1e4 for a positive label) and softmax.
_SATURATED = {
    "binary_crossentropy": (
        keras.activations.sigmoid,
        np.array([[-1e4], [30.0], [-20.0], [0.0]]),
        np.array([[1.0], [1.0], [1.0], [0.0]]),
    ),
    "categorical_crossentropy": (
        keras.activations.softmax,
        np.array([[1e4, -1e4, 0.0], [50.0, 0.0, 0.0]]),
        np.eye(3)[[1, 1]],
    ),
    "sparse_categorical_crossentropy": (
        keras.activations.softmax,
        np.array([[1e4, -1e4, 0.0], [50.0, 0.0, 0.0]]),
        np.array([1, 1]),
    ),
}


@pytest.mark.parametrize("name", _CROSS_ENTROPIES)
def test_keras_activation_outputs_use_their_logits_like_keras(name):
    """On a Keras sigmoid/softmax output both losses read its logits on TensorFlow (1e4), clip it elsewhere (16.1)."""
    activation, logits, y_true = _SATURATED[name]
    y_pred = activation(keras.ops.convert_to_tensor(logits.astype("float32")))
    ours, theirs = _both(name, y_true, y_pred)
    _assert_close(ours, theirs)
    clipped, _ = _both(name, y_true, np.asarray(y_pred))  # the same numbers as plain NumPy
    assert clipped.max() < 17
    if ON_TENSORFLOW:
        assert ours.max() > 1000, "the logits were used, not the clipped probabilities"
    else:
        # An eager JAX array keeps _keras_logits too, but only Keras's TensorFlow backend reads them.
        np.testing.assert_array_equal(ours, clipped)


def test_a_saturated_sigmoid_model_keeps_its_gradient_like_keras():
    """Dense(1, "sigmoid") pushed to a logit of -100 on positives: same loss and same step as Keras.

    On TensorFlow both score the logit (loss 100, a real step); elsewhere both clip (loss 16.1, no step).
    """
    X = np.ones((8, 1), "float32")
    y = np.ones(8, "float32")
    weights = {}
    for source in (keras.losses, losses):
        model = keras.Sequential(
            [
                keras.Input((1,)),
                keras.layers.Dense(1, activation="sigmoid", kernel_initializer=keras.initializers.Constant(-100.0)),
            ]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss=source.binary_crossentropy)
        loss = model.evaluate(X, y, verbose=0)
        model.fit(X, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        weights[source.__name__] = (loss, model.get_weights()[0].item())
    (our_loss, our_w), (their_loss, their_w) = weights["cookbook.losses"], weights["keras.losses"]
    assert our_loss == pytest.approx(their_loss, rel=RTOL) and our_w == pytest.approx(their_w, rel=RTOL)
    if ON_TENSORFLOW:
        assert our_loss == pytest.approx(100.0, rel=1e-3) and our_w > -100.0, "the gradient was not zero"
    else:
        assert our_loss == pytest.approx(-np.log(keras.config.epsilon()), rel=1e-3) and our_w == -100.0


def test_sparse_labels_outside_the_classes_are_never_a_silent_zero():
    """NumPy labels outside 0..C-1 raise SetupError; inside a tensor they make the loss inf, not 0."""
    probabilities = np.full((2, 3), 1 / 3)
    with pytest.raises(SetupError, match=r"labels from -1 to 3 for 3 output units.*renumber"):
        losses.sparse_categorical_crossentropy(np.array([3, -1]), probabilities)
    result = np.asarray(losses.sparse_categorical_crossentropy(keras.ops.convert_to_tensor([3, 0]), probabilities))
    assert np.isinf(result[0]) and result[1] == pytest.approx(np.log(3))


# ignore_class cases: label shape and the ignored label. 1-D labels and (batch, h, w) segmentation maps; a void
# label outside the classes (-1, 255, as in segmentation) and a real class left out (2, 0).
_IGNORE_CASES = {
    "1d_void_-1": ((N,), -1),
    "1d_class_2": ((N,), 2),
    "2d_void_255": ((4, 3, 5), 255),
    "2d_class_0": ((4, 3, 5), 0),
}


def _ignore_case(case, from_logits, dtype):
    """(labels, y_pred, float64 logits) with every third entry labelled ignore_class."""
    label_shape, ignore_class = _IGNORE_CASES[case]
    rng = _rng()
    logits = rng.normal(scale=2.0, size=(*label_shape, C))
    labels = rng.integers(0, C, size=label_shape)
    labels.flat[::3] = ignore_class
    y_pred = logits if from_logits else _softmax(logits)
    return labels, y_pred.astype(dtype), logits


def _masked_reference(labels, logits, ignore_class):
    """float64 NumPy: -log softmax(x)_k per entry, 0 where the label is ignore_class; mean over the others."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    valid = labels != ignore_class
    picked = np.take_along_axis(log_p, np.where(valid, labels, 0)[..., None], axis=-1)[..., 0]
    per_entry = np.where(valid, -picked, 0.0)
    return per_entry, per_entry.sum() / valid.sum()


class _TwinLoss(keras.losses.Loss):
    """The twin as a Keras Loss: reduced by Keras's own "sum_over_batch_size", as model.compile reduces it."""

    def __init__(self, dtype=None, **kwargs):
        super().__init__(dtype=dtype)
        self.kwargs = kwargs

    def call(self, y_true, y_pred):
        return losses.sparse_categorical_crossentropy(y_true, y_pred, **self.kwargs)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("case", list(_IGNORE_CASES))
def test_ignore_class_matches_keras_per_entry_and_reduced(case, from_logits):
    """Per-entry losses (0 where ignored) and the batch mean equal Keras's function and class."""
    labels, y_pred, _ = _ignore_case(case, from_logits, "float32")
    ignore_class = _IGNORE_CASES[case][1]
    ours, theirs = _both(
        "sparse_categorical_crossentropy", labels, y_pred, from_logits=from_logits, ignore_class=ignore_class
    )
    assert ours.shape == labels.shape
    _assert_close(ours, theirs)
    assert np.all(ours[labels == ignore_class] == 0.0)
    kwargs = {"from_logits": from_logits, "ignore_class": ignore_class}
    our_mean = float(_TwinLoss(**kwargs)(labels, y_pred))
    their_mean = float(keras.losses.SparseCategoricalCrossentropy(**kwargs)(labels, y_pred))
    assert our_mean == pytest.approx(their_mean, rel=RTOL)


@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("case", list(_IGNORE_CASES))
def test_ignore_class_matches_float64_numpy(case, from_logits):
    """Per-entry losses and the mean over the entries not ignored equal a float64 NumPy formula."""
    labels, y_pred, logits = _ignore_case(case, from_logits, "float64")
    ignore_class = _IGNORE_CASES[case][1]
    expected, expected_mean = _masked_reference(labels, logits, ignore_class)
    kwargs = {"from_logits": from_logits, "ignore_class": ignore_class}
    ours = np.asarray(losses.sparse_categorical_crossentropy(labels, y_pred, **kwargs))
    np.testing.assert_allclose(ours, expected, **FLOAT64_TOLERANCE)
    # The mean is taken by Keras's Loss.__call__ from the mask the twin attaches. Under Keras 3.10 it is 3e-9
    # (relative) from the float64 formula, under 3.15 within 1e-12 (both measured; .ci/keras_floor.py runs this
    # file under 3.10). The per-entry values above are the twin's own and hold to 1e-12 under both.
    mean_rtol = 1e-7 if _computed_dtype("float64") == "float64" else RTOL
    assert float(_TwinLoss(dtype="float64", **kwargs)(labels, y_pred)) == pytest.approx(expected_mean, rel=mean_rtol)


def test_ignored_entries_are_left_out_of_the_mean():
    """Keras 3.15 divides by the entries not ignored (sample weights too); so do compile and fit with the twin."""
    rng = _rng()
    X = rng.normal(size=(N, 4)).astype("float32")
    y = rng.integers(0, C, N)
    y[: N // 2] = -1  # half the batch ignored: counting it would halve the mean
    weights = rng.uniform(0.5, 2.0, N).astype("float32")
    model = _tiny_model(C, None)
    logits = np.asarray(model(X), np.float64)
    per_entry, expected_mean = _masked_reference(y, logits, -1)
    assert expected_mean == pytest.approx(2 * per_entry.sum() / N)
    twin = functools.partial(losses.sparse_categorical_crossentropy, from_logits=True, ignore_class=-1)
    builtin = keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=-1)
    results = {}
    for name, loss in {"twin": twin, "keras": builtin}.items():
        model.compile(loss=loss)  # a traced train/test step, as users run it
        results[name] = model.evaluate(X, y, batch_size=N, verbose=0)
        results[name + "_weighted"] = model.evaluate(X, y, sample_weight=weights, batch_size=N, verbose=0)
    assert results["twin"] == pytest.approx(expected_mean, rel=1e-5)
    assert results["twin"] == pytest.approx(results["keras"], rel=RTOL)
    expected_weighted = (per_entry * weights).sum() / (y != -1).sum()
    assert results["twin_weighted"] == pytest.approx(expected_weighted, rel=1e-5)
    assert results["twin_weighted"] == pytest.approx(results["keras_weighted"], rel=RTOL)


def test_ignored_entries_get_a_zero_gradient_even_from_nan_outputs():
    """d loss / d logits is softmax - one-hot where scored and exactly 0 where ignored, NaN outputs there included."""
    labels, _, logits = _ignore_case("2d_void_255", True, "float64")
    ignored = labels == 255
    logits_with_nan = np.where(ignored[..., None], np.nan, logits)
    total, grad = value_and_gradient(
        lambda x: losses.sparse_categorical_crossentropy(labels, x, from_logits=True, ignore_class=255),
        logits_with_nan,
    )
    expected = np.where(ignored[..., None], 0.0, _softmax(logits) - np.eye(C)[np.where(ignored, 0, labels)])
    assert np.isfinite(total)
    assert np.all(grad[ignored] == 0.0)
    np.testing.assert_allclose(grad, expected, **_gradient_tolerance())


def test_ignore_class_passes_the_label_range_check_and_other_strays_still_fail():
    """NumPy labels equal to ignore_class are not "outside the classes"; any other stray label still raises."""
    probabilities = np.full((3, 3), 1 / 3)
    result = losses.sparse_categorical_crossentropy(np.array([255, 1, 255]), probabilities, False, 255)
    np.testing.assert_allclose(result, [0.0, np.log(3), 0.0], **FLOAT64_TOLERANCE)
    # The message names the range of the labels that count: -1 is not among them.
    with pytest.raises(SetupError, match=r"labels from 0 to 3 for 3 output units.*renumber"):
        losses.sparse_categorical_crossentropy(np.array([-1, 3, 0]), probabilities, ignore_class=-1)


def test_the_last_axis_may_be_named_by_its_positive_index():
    """axis=1 on (N, C) outputs is the last axis: accepted, as Keras accepts it."""
    y, p = np.eye(3)[[0, 2]], np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    np.testing.assert_allclose(
        losses.categorical_crossentropy(y, p, axis=1), losses.categorical_crossentropy(y, p), rtol=RTOL
    )


def test_losses_compile_and_train_a_model():
    """A cookbook loss passed to compile trains: the loss falls over a few epochs."""
    rng = _rng()
    X = rng.normal(size=(N, 4)).astype("float32")
    y = (X[:, 0] > 0).astype("int32")
    model = _tiny_model(2, "softmax")
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss=losses.sparse_categorical_crossentropy, run_eagerly=True)
    history = model.fit(X, y, epochs=5, batch_size=N, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("units", [2, 3])
def test_bce_twin_scores_a_softmax_output_by_its_probabilities_not_keras_kept_logits(units):
    """On Dense(k, "softmax") + BCE the twin gives the true BCE of the probabilities; Keras does not on TensorFlow."""
    rng = np.random.default_rng(units)
    X = rng.normal(size=(64, 4)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, units, 64), units)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation="softmax")])
    p = model.predict(X, verbose=0).astype("float64")
    true_bce = np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p)))
    model.compile(loss=losses.binary_crossentropy)
    assert model.evaluate(X, y, verbose=0) == pytest.approx(true_bce, rel=1e-5)
    model.compile(loss="binary_crossentropy")
    if ON_TENSORFLOW:
        assert abs(model.evaluate(X, y, verbose=0) - true_bce) > 0.01, "Keras scores the softmax's logits as sigmoids"
    else:  # Keras's other backends never read kept logits: their BCE is the true one too
        assert model.evaluate(X, y, verbose=0) == pytest.approx(true_bce, rel=1e-5)


def test_bce_twin_still_uses_a_sigmoids_kept_logits():
    """On Dense(2, "sigmoid") (multi-label) the twin still equals Keras, saturated outputs included."""
    X = np.array([[40.0], [-40.0], [0.3]], "float32")
    y = np.array([[0, 1], [1, 0], [1, 1]], "float32")
    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(2, activation="sigmoid", kernel_initializer="ones")]
    )
    model.compile(loss="binary_crossentropy")
    expected = model.evaluate(X, y, verbose=0)
    model.compile(loss=losses.binary_crossentropy)
    assert model.evaluate(X, y, verbose=0) == pytest.approx(expected, rel=1e-6)
    if ON_TENSORFLOW:
        assert expected > 10, "a confident wrong sigmoid is scored from its logit (about 40), not clipped to 16.1"
    else:  # Keras's other backends clip the probabilities (16.1 for the confident mistakes), and so does the twin
        eps = keras.config.epsilon()
        p = model.predict(X, verbose=0).clip(eps, 1 - eps).astype("float64")  # clipped in float32, as Keras clips
        assert expected == pytest.approx(np.mean(-(y * np.log(p) + (1 - y) * np.log(1 - p))), rel=1e-5)


# --- the focal losses ----------------------------------------------------------------------------
# One grid of settings drives the comparisons with Keras and with float64 NumPy: from_logits and label_smoothing
# are parametrized, alpha, gamma (and apply_class_balancing) looped over inside each test.
_FOCAL_ALPHAS = (0.25, 0.5, 0.9)
_FOCAL_GAMMAS = (0.0, 1.0, 2.0, 5.0)
_CLASS_ALPHA = (0.1, 0.2, 0.3, 0.2, 0.2)  # one weight per class, which the categorical loss also takes


def _focal_settings(name):
    """Every grid point of one focal loss but from_logits and label_smoothing, as keyword arguments.

    The binary loss reads alpha only with apply_class_balancing=True, so only there is it varied
    (test_gamma_zero_leaves_the_alpha_weighted_cross_entropy checks that it is ignored otherwise).
    """
    if name == "binary_focal_crossentropy":
        balanced = [
            {"alpha": a, "gamma": g, "apply_class_balancing": True} for a in _FOCAL_ALPHAS for g in _FOCAL_GAMMAS
        ]
        return [{"gamma": g} for g in _FOCAL_GAMMAS] + balanced
    return [{"alpha": a, "gamma": g} for a, g in itertools.product((*_FOCAL_ALPHAS, _CLASS_ALPHA), _FOCAL_GAMMAS)]


def _focal_inputs(name, from_logits, dtype):
    """(labels, outputs, float64 logits): logits within +-3, where float32 still resolves 1 - p to 1e-6."""
    rng = _rng()
    logits = np.clip(rng.normal(scale=1.5, size=(N, C)), -3.0, 3.0)
    y_true, _ = _FOCAL_LOSSES[name](rng, logits)
    if from_logits:
        y_pred = logits
    elif name == "binary_focal_crossentropy":
        y_pred = 1 / (1 + np.exp(-logits))
    else:
        y_pred = _softmax(logits)
    return y_true.astype(dtype), y_pred.astype(dtype), logits


def _focal_reference(name, y_true, logits, label_smoothing, alpha=0.25, gamma=2.0, apply_class_balancing=False):
    """Keras's focal loss of each sample, in float64 NumPy from the logits (no keras.ops, no clipping needed)."""
    if name == "binary_focal_crossentropy":
        y = y_true * (1 - label_smoothing) + 0.5 * label_smoothing
        p = 1 / (1 + np.exp(-logits))
        log_p, log_1_minus_p = -np.logaddexp(0, -logits), -np.logaddexp(0, logits)
        p_t = y * p + (1 - y) * (1 - p)
        alpha_t = y * alpha + (1 - y) * (1 - alpha) if apply_class_balancing else 1.0
        return np.mean(-alpha_t * (1 - p_t) ** gamma * (y * log_p + (1 - y) * log_1_minus_p), axis=-1)
    y = y_true * (1 - label_smoothing) + label_smoothing / y_true.shape[-1]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return np.sum(-np.asarray(alpha) * (1 - np.exp(log_p)) ** gamma * y * log_p, axis=-1)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("name", list(_FOCAL_LOSSES))
def test_focal_matches_keras_on_the_grid(name, from_logits, label_smoothing):
    """Every alpha, gamma (and class balancing) of the grid: per-sample losses equal keras.losses in float32."""
    y_true, y_pred, _ = _focal_inputs(name, from_logits, "float32")
    for settings in _focal_settings(name):
        ours, theirs = _both(name, y_true, y_pred, from_logits=from_logits, label_smoothing=label_smoothing, **settings)
        assert ours.shape == (N,)
        _assert_close(ours, theirs, err_msg=str(settings))


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("from_logits", [False, True])
@pytest.mark.parametrize("name", list(_FOCAL_LOSSES))
def test_focal_and_keras_match_float64_numpy_on_the_grid(name, from_logits, label_smoothing):
    """Every grid point: the twin and keras.losses, given float64, equal the float64 NumPy formula."""
    y_true, y_pred, logits = _focal_inputs(name, from_logits, "float64")
    for settings in _focal_settings(name):
        expected = _focal_reference(name, y_true, logits, label_smoothing=label_smoothing, **settings)
        ours, theirs = _both(name, y_true, y_pred, from_logits=from_logits, label_smoothing=label_smoothing, **settings)
        np.testing.assert_allclose(ours, expected, err_msg=f"cookbook {settings}", **FLOAT64_TOLERANCE)
        if settings.get("alpha") is _CLASS_ALPHA and ON_TENSORFLOW:
            continue  # Keras's TensorFlow backend turns a list of alphas into float32 first: 4e-8 off in float64
        np.testing.assert_allclose(theirs, expected, err_msg=f"keras {settings}", **FLOAT64_TOLERANCE)


@pytest.mark.parametrize("from_logits", [False, True])
def test_gamma_zero_leaves_the_alpha_weighted_cross_entropy(from_logits):
    """gamma=0: binary focal is BCE, whatever alpha (alpha_t times BCE with class balancing); categorical is alpha CCE."""
    y, p, _ = _focal_inputs("binary_focal_crossentropy", from_logits, "float32")
    y, p = y[:, :1], p[:, :1]  # one output per sample, so alpha_t multiplies the per-sample loss
    bce = np.asarray(losses.binary_crossentropy(y, p, from_logits=from_logits))
    unbalanced = losses.binary_focal_crossentropy(y, p, alpha=0.9, gamma=0.0, from_logits=from_logits)
    _assert_close(unbalanced, bce)  # alpha is ignored without apply_class_balancing
    alpha_t = np.where(y[:, 0] == 1, 0.9, 0.1)
    balanced = losses.binary_focal_crossentropy(
        y, p, apply_class_balancing=True, alpha=0.9, gamma=0.0, from_logits=from_logits
    )
    _assert_close(balanced, alpha_t * bce)
    y, p, _ = _focal_inputs("categorical_focal_crossentropy", from_logits, "float32")
    cce = np.asarray(losses.categorical_crossentropy(y, p, from_logits=from_logits))
    _assert_close(losses.categorical_focal_crossentropy(y, p, alpha=0.9, gamma=0.0, from_logits=from_logits), 0.9 * cce)


def test_focal_losses_compile_and_train_a_model():
    """One traced fit step with both twins (a head each): finite, the loss Keras's functions give, weights moved."""
    rng = _rng()
    X = rng.normal(size=(N, 4)).astype("float32")
    y = {"binary": rng.integers(0, 2, N).astype("float32"), "onehot": np.eye(C, dtype="float32")[rng.integers(0, C, N)]}
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4,))
    outputs = {
        "binary": keras.layers.Dense(1, activation="sigmoid", name="binary")(inputs),
        "onehot": keras.layers.Dense(C, activation="softmax", name="onehot")(inputs),
    }
    model = keras.Model(inputs, outputs)
    # One model for both losses: one traced step checks both, at the price of one compilation.
    model.compile(
        optimizer=keras.optimizers.SGD(0.5),
        loss={"binary": losses.binary_focal_crossentropy, "onehot": losses.categorical_focal_crossentropy},
    )
    before = model(X)
    expected = sum(
        float(
            keras.ops.mean(getattr(keras.losses, name)(y[head][:, None] if head == "binary" else y[head], before[head]))
        )
        for head, name in [("binary", "binary_focal_crossentropy"), ("onehot", "categorical_focal_crossentropy")]
    )
    kernels = [w.copy() for w in model.get_weights()]
    history = model.fit(X, y, batch_size=N, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert history.history["loss"][0] == pytest.approx(expected, rel=1e-5)
    assert all(np.isfinite(w).all() and not np.array_equal(w, k) for w, k in zip(model.get_weights(), kernels))


@pytest.mark.parametrize(
    "name,activation_of",
    [
        ("binary_focal_crossentropy", "binary_crossentropy"),
        ("categorical_focal_crossentropy", "categorical_crossentropy"),
    ],
)
def test_focal_on_keras_activation_outputs_matches_keras(name, activation_of):
    """Binary focal reads a Keras sigmoid's kept logits on TensorFlow as Keras does; categorical focal never reads them."""
    activation, logits, y_true = _SATURATED[activation_of]
    y_pred = activation(keras.ops.convert_to_tensor(logits.astype("float32")))
    ours, theirs = _both(name, y_true, y_pred, gamma=0.5)
    _assert_close(ours, theirs)
    clipped, _ = _both(name, y_true, np.asarray(y_pred), gamma=0.5)  # the same numbers as plain NumPy
    if name == "binary_focal_crossentropy" and ON_TENSORFLOW:
        assert ours.max() > 1000, "the logits were used, not the clipped probabilities"
    else:
        np.testing.assert_array_equal(ours, clipped)
    if name == "binary_focal_crossentropy":
        # from_logits=True on a sigmoid's output applies a second sigmoid, in Keras and here alike.
        twice, theirs_twice = _both(name, y_true, y_pred, from_logits=True)
        _assert_close(twice, theirs_twice)
        _assert_close(twice, _both(name, y_true, np.asarray(y_pred), from_logits=True)[0])


# Logits wrong by 20 or more, so that every p_k (sigmoid(x) for a label 1) is below eps = 1e-7.
_CONFIDENT_MISTAKES = {
    "binary_focal_crossentropy": (np.array([[-1e4], [-20.0], [-40.0]]), np.ones((3, 1))),
    "categorical_focal_crossentropy": (
        np.array([[1e4, -1e4, 0.0], [50.0, 0.0, 0.0], [20.0, 0.0, 0.0]]),
        np.eye(3)[[1, 1, 1]],
    ),
}


@pytest.mark.parametrize("name", list(_FOCAL_LOSSES))
def test_focal_from_logits_scores_a_confident_mistake_like_keras(name):
    """Categorical focal clips everywhere (16.1 alpha); binary focal is exact on TensorFlow, clipped elsewhere: as Keras."""
    logits, y_true = _CONFIDENT_MISTAKES[name]
    ours, theirs = _both(name, y_true, logits, from_logits=True)
    _assert_close(ours, theirs)
    clipped = -np.log(keras.config.epsilon())  # 16.1: the loss of a probability clipped to eps
    if name == "categorical_focal_crossentropy":
        np.testing.assert_allclose(ours, 0.25 * clipped, rtol=1e-5)
    elif ON_TENSORFLOW:
        np.testing.assert_allclose(ours, -logits[:, 0], rtol=1e-5)  # the exact -log sigmoid(x), about -x
    else:
        np.testing.assert_allclose(ours, clipped, rtol=1e-5)


def test_categorical_focal_gives_a_confident_mistake_no_gradient():
    """With every p_k clipped, the categorical focal loss from logits has a gradient of exactly 0 (CCE's is 1)."""
    logits, y_true = _CONFIDENT_MISTAKES["categorical_focal_crossentropy"]
    _, grad = value_and_gradient(lambda x: losses.categorical_focal_crossentropy(y_true, x, from_logits=True), logits)
    assert np.all(grad == 0.0)


def test_binary_focal_with_label_smoothing_is_lowest_beyond_the_smoothed_label():
    """Label 1 smoothed by 0.1: BCE is lowest at p = 0.95, binary focal (gamma=2) near p = 0.995."""
    p = np.linspace(0.94, 0.9999, N)[:, None]  # steps of 0.001
    y = np.ones_like(p)
    bce = np.asarray(losses.binary_crossentropy(y, p, label_smoothing=0.1))
    focal = np.asarray(losses.binary_focal_crossentropy(y, p, label_smoothing=0.1))
    assert p[bce.argmin(), 0] == pytest.approx(0.95, abs=1e-3)
    assert p[focal.argmin(), 0] == pytest.approx(0.995, abs=1e-3)


def test_focal_with_mismatched_labels_raises_with_the_fix():
    """Integer labels into categorical focal name to_categorical; extra label columns into binary focal raise."""
    with pytest.raises(SetupError, match="to_categorical.*no sparse focal loss"):
        losses.categorical_focal_crossentropy(np.array([0, 1, 2]), np.full((3, 3), 1 / 3))
    with pytest.raises(SetupError, match="one 0/1 label per output unit"):
        losses.binary_focal_crossentropy(np.eye(3), np.full((3, 1), 0.5))
