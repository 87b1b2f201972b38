"""cookbook.check_setup: every mistake of issue 3 raises with its fix; every correct setup is silent.

One table drives the suite: a case is a compiled model, its labels, and
either the words the SetupError must contain or ``None`` for silence.
"""

import functools

from cookbook import losses as cookbook_losses
from cookbook.errors import SetupError
from cookbook.setup_check import check_setup, describe_heads, fit_checked

import keras
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.backend_agnostic  # runs on any Keras backend (.ci/run: again under JAX)

N, FEATURES = 8, 4
_rng = np.random.default_rng(0)
Y_BINARY = np.array([0, 1, 1, 0, 1, 0, 0, 1])
Y_3CLASS = np.array([0, 1, 2, 1, 0, 2, 2, 1])
Y_3CLASS_VOID = np.array([0, 1, -1, 1, 0, 2, -1, 1])  # -1: a "void" label a loss with ignore_class=-1 skips
ONE_HOT_3 = np.eye(3)[Y_3CLASS]
MULTI_HOT_3 = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 1, 1], [0, 0, 0]])
Y_REGRESSION_3 = _rng.normal(size=(N, 3))


def seq(units, activation, loss, *after):
    """A compiled Sequential ending in Dense(units, activation), then the layers in `after`."""
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(units, activation=activation), *after])
    model.compile(optimizer="sgd", loss=loss)
    return model


def functional(units, activation, loss, *after):
    """The same head as a functional model."""
    inputs = keras.Input((FEATURES,))
    x = keras.layers.Dense(units, activation=activation)(keras.layers.Dense(5, activation="relu")(inputs))
    for layer in after:
        x = layer(x)
    model = keras.Model(inputs, x)
    model.compile(optimizer="sgd", loss=loss)
    return model


def nested(units, activation, loss):
    """A functional model whose output comes from a nested Sequential block."""
    block = keras.Sequential([keras.Input((5,)), keras.layers.Dense(units, activation=activation)])
    inputs = keras.Input((FEATURES,))
    model = keras.Model(inputs, block(keras.layers.Dense(5)(inputs)))
    model.compile(optimizer="sgd", loss=loss)
    return model


def two_outputs(loss):
    """A functional model with a 3-target regression output and a 3-class softmax output."""
    inputs = keras.Input((FEATURES,))
    model = keras.Model(
        inputs,
        {
            "amount": keras.layers.Dense(3, name="amount")(inputs),
            "kind": keras.layers.Dense(3, activation="softmax", name="kind")(inputs),
        },
    )
    model.compile(optimizer="sgd", loss=loss)
    return model


SCCE, CCE, BCE = "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy"
SCCE_LOGITS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
BCE_LOGITS = keras.losses.BinaryCrossentropy(from_logits=True)
CCE_LOGITS = keras.losses.CategoricalCrossentropy(from_logits=True)
SCCE_IGNORE = keras.losses.SparseCategoricalCrossentropy(ignore_class=-1)
SCCE_IGNORE_PARTIAL = functools.partial(cookbook_losses.sparse_categorical_crossentropy, ignore_class=-1)
BFCE, CFCE = "binary_focal_crossentropy", "categorical_focal_crossentropy"
# Every form a focal loss reaches compile in: string, Keras function, Keras class, cookbook twin.
FOCAL_FORMS = {
    "string": (BFCE, CFCE),
    "keras_function": (keras.losses.binary_focal_crossentropy, keras.losses.categorical_focal_crossentropy),
    "keras_class": (keras.losses.BinaryFocalCrossentropy(), keras.losses.CategoricalFocalCrossentropy()),
    "cookbook_twin": (cookbook_losses.binary_focal_crossentropy, cookbook_losses.categorical_focal_crossentropy),
}
FOCAL_KEEP = "to keep the focal loss"

# (id, build the compiled model, labels, words the error must contain; None = must stay silent)
CASES = [
    # --- the mistakes the issue lists --------------------------------------------------------------
    (
        "softmax_on_one_unit",
        lambda: seq(1, "softmax", BCE),
        Y_BINARY,
        r"softmax on a single unit.*Dense\(1, 'sigmoid'\)",
    ),
    (
        "softmax_layer_on_one_unit",
        lambda: seq(1, None, BCE, keras.layers.Softmax()),
        Y_BINARY,
        "softmax on a single unit",
    ),
    (
        "one_unit_categorical",
        lambda: seq(1, "sigmoid", CCE),
        Y_BINARY,
        r"single output unit with categorical_crossentropy.*binary_crossentropy",
    ),
    (
        "one_unit_sparse",
        lambda: seq(1, "sigmoid", SCCE),
        Y_BINARY,
        r"single output unit with sparse_categorical_crossentropy.*Dense\(2, 'softmax'\)",
    ),
    (
        "one_hot_with_sparse",
        lambda: seq(3, "softmax", SCCE),
        ONE_HOT_3,
        r"one-hot labels.*use categorical_crossentropy",
    ),
    (
        "integers_with_categorical",
        lambda: seq(3, "softmax", CCE),
        Y_3CLASS,
        r"integer labels.*sparse_categorical_crossentropy.*to_categorical\(y, 3\)",
    ),
    ("labels_above_units", lambda: seq(3, "softmax", SCCE), Y_3CLASS + 1, r"from 1 to 3 for 3 output units.*renumber"),
    ("negative_labels", lambda: seq(3, "softmax", SCCE), Y_3CLASS - 1, r"from -1 to 1.*renumber"),
    # ignore_class skips only its own label: any other label outside 0..C-1 is still refused.
    (
        "ignore_class_keras_loss_stray_label",
        lambda: seq(3, "softmax", SCCE_IGNORE),
        np.where(Y_3CLASS_VOID == 2, 3, Y_3CLASS_VOID),
        r"from 0 to 3 for 3 output units.*renumber",
    ),
    (
        "ignore_class_partial_stray_label",
        lambda: seq(3, "softmax", SCCE_IGNORE_PARTIAL),
        np.where(Y_3CLASS_VOID == 2, -2, Y_3CLASS_VOID),
        r"from -2 to 1 for 3 output units.*renumber",
    ),
    (
        "three_classes_one_sigmoid",
        lambda: seq(1, "sigmoid", BCE),
        Y_3CLASS,
        r"3 classes into one sigmoid unit.*Dense\(num_classes, 'softmax'\)",
    ),
    (
        "two_unit_softmax_bce_integers",
        lambda: seq(2, "softmax", BCE),
        Y_BINARY,
        r"2-unit softmax.*binary_crossentropy.*use sparse_categorical_crossentropy",
    ),
    # Keras scores a softmax's kept logits as sigmoid logits under binary_crossentropy: a silent wrong loss.
    (
        "two_unit_softmax_bce_one_hot",
        lambda: seq(2, "softmax", BCE),
        np.eye(2)[Y_BINARY],
        r"2-unit softmax.*not the cross-entropy.*categorical_crossentropy.*Dense\(1, 'sigmoid'\)",
    ),
    (
        "three_unit_softmax_bce_one_hot",
        lambda: seq(3, "softmax", BCE),
        ONE_HOT_3,
        r"3-unit softmax.*categorical_crossentropy",
    ),
    ("bce_on_linear", lambda: seq(1, None, BCE), Y_BINARY, r"linear output.*activation='sigmoid'.*from_logits=True"),
    (
        "sparse_on_linear",
        lambda: seq(3, None, SCCE),
        Y_3CLASS,
        r"linear output.*activation='softmax'.*from_logits=True",
    ),
    ("categorical_on_relu", lambda: seq(3, "relu", CCE), ONE_HOT_3, r"relu output.*from_logits=True"),
    ("cookbook_loss_on_linear", lambda: seq(1, None, cookbook_losses.binary_crossentropy), Y_BINARY, "linear output"),
    (
        "logits_after_softmax",
        lambda: seq(3, "softmax", SCCE_LOGITS),
        Y_3CLASS,
        r"double activation.*activation=None.*from_logits=False",
    ),
    ("logits_after_sigmoid", lambda: seq(1, "sigmoid", BCE_LOGITS), Y_BINARY, "double activation"),
    (
        "logits_after_softmax_layer_functional",
        lambda: functional(3, None, CCE_LOGITS, keras.layers.Softmax()),
        ONE_HOT_3,
        "double activation",
    ),
    (
        "nan_labels",
        lambda: seq(1, "sigmoid", BCE),
        np.array([0, 1, np.nan, 0, 1, 0, 0, 1]),
        r"1 NaN and 0 inf.*drop or fill",
    ),
    (
        "inf_labels_regression",
        lambda: seq(1, None, "mse"),
        np.array([0.5, np.inf, 1, 2, 3, 4, 5, 6]),
        r"0 NaN and 1 inf",
    ),
    # --- further mistakes it catches ---------------------------------------------------------------
    ("sigmoid_units_with_categorical", lambda: seq(3, "sigmoid", CCE), ONE_HOT_3, r"expects one softmax"),
    ("multi_hot_with_categorical", lambda: seq(3, "softmax", CCE), MULTI_HOT_3, r"not one-hot.*multi-label"),
    ("minus_one_plus_one_labels", lambda: seq(1, "sigmoid", BCE), 2 * Y_BINARY - 1, r"labels from -1 to 1.*recode"),
    ("fractional_sparse_labels", lambda: seq(3, "softmax", SCCE), Y_3CLASS + 0.5, "non-integer labels"),
    ("text_labels", lambda: seq(3, "softmax", SCCE), np.array(list("abcabcab")), r"not numbers.*factorize"),
    ("regression_columns_mismatch", lambda: seq(1, None, "mse"), Y_REGRESSION_3, r"1 output unit\(s\).*3 column"),
    ("multilabel_wrong_width", lambda: seq(3, "sigmoid", BCE), MULTI_HOT_3[:, :2], r"3 output unit\(s\).*2 column"),
    (
        "multi_output_bad_second_head",
        lambda: two_outputs({"amount": "mse", "kind": CCE}),
        {"amount": Y_REGRESSION_3, "kind": Y_3CLASS},
        r"output 'kind' gets integer labels",
    ),
    (
        "partial_with_logits_after_softmax",
        lambda: seq(3, "softmax", functools.partial(cookbook_losses.categorical_crossentropy, from_logits=True)),
        ONE_HOT_3,
        "double activation",
    ),
    ("nested_sequential_one_unit_softmax", lambda: nested(1, "softmax", BCE), Y_BINARY, "softmax on a single unit"),
    (
        "one_loss_for_two_outputs_mismatch",
        lambda: two_outputs("mse"),
        [Y_REGRESSION_3, Y_REGRESSION_3[:, :1]],
        r"output 'kind' has 3 output unit\(s\) but the labels have 1 column",
    ),
    ("two_outputs_y_not_split", lambda: two_outputs("mse"), Y_REGRESSION_3, "one label array per output"),
    # --- the focal losses: checked as the cross-entropy they refine, their fixes keeping them focal --------
    (
        "focal_two_unit_softmax_integers",
        lambda: seq(2, "softmax", BFCE),
        Y_BINARY,
        rf"2-unit softmax.*binary_focal_crossentropy on integer labels.*{FOCAL_KEEP}.*binary_focal_crossentropy",
    ),
    (
        "focal_two_unit_softmax_one_hot",
        lambda: seq(2, "softmax", keras.losses.BinaryFocalCrossentropy()),
        np.eye(2)[Y_BINARY],
        rf"2-unit softmax.*not the cross-entropy.*{FOCAL_KEEP}.*categorical_focal_crossentropy with one-hot",
    ),
    (
        "focal_integers_with_categorical_twin",
        lambda: seq(3, "softmax", cookbook_losses.categorical_focal_crossentropy),
        Y_3CLASS,
        rf"integer labels.*to_categorical\(y, 3\).*{FOCAL_KEEP}.*no sparse focal loss",
    ),
    (
        "focal_one_unit_categorical",
        lambda: seq(1, "sigmoid", CFCE),
        Y_BINARY,
        rf"single output unit with categorical_focal_crossentropy.*{FOCAL_KEEP}.*binary_focal_crossentropy",
    ),
    (
        "focal_three_classes_one_sigmoid_twin",
        lambda: seq(1, "sigmoid", cookbook_losses.binary_focal_crossentropy),
        Y_3CLASS,
        rf"3 classes into one sigmoid unit.*{FOCAL_KEEP}.*categorical_focal_crossentropy",
    ),
    (
        "focal_sigmoid_units_with_categorical",
        lambda: seq(3, "sigmoid", keras.losses.categorical_focal_crossentropy),
        ONE_HOT_3,
        rf"expects one softmax.*{FOCAL_KEEP}",
    ),
    (
        "focal_binary_on_linear",
        lambda: seq(1, None, keras.losses.binary_focal_crossentropy),
        Y_BINARY,
        r"linear output.*activation='sigmoid'.*from_logits=True",
    ),
    (
        "focal_logits_after_softmax",
        lambda: seq(3, "softmax", keras.losses.CategoricalFocalCrossentropy(from_logits=True)),
        ONE_HOT_3,
        r"double activation; Keras's focal losses really apply it twice.*activation=None",
    ),
    (
        "focal_twin_logits_after_sigmoid",
        lambda: seq(1, "sigmoid", functools.partial(cookbook_losses.binary_focal_crossentropy, from_logits=True)),
        Y_BINARY,
        "double activation; Keras's focal losses",
    ),
    # --- correct setups: silence --------------------------------------------------------------------
    ("binary_sigmoid", lambda: seq(1, "sigmoid", BCE), Y_BINARY, None),
    (
        "binary_sigmoid_n1_labels",
        lambda: seq(1, "sigmoid", keras.losses.BinaryCrossentropy()),
        Y_BINARY.reshape(-1, 1),
        None,
    ),
    ("binary_logits", lambda: seq(1, None, BCE_LOGITS), Y_BINARY, None),
    ("binary_soft_labels", lambda: seq(1, "sigmoid", BCE), np.linspace(0, 1, N), None),
    ("binary_two_way_softmax", lambda: seq(2, "softmax", SCCE), Y_BINARY, None),
    ("multiclass_sparse", lambda: seq(3, "softmax", SCCE), Y_3CLASS, None),
    ("multiclass_sparse_pandas", lambda: seq(3, "softmax", SCCE), pd.Series(Y_3CLASS), None),
    ("multiclass_sparse_logits", lambda: seq(3, None, SCCE_LOGITS), Y_3CLASS, None),
    ("multiclass_ignore_class_keras_loss", lambda: seq(3, "softmax", SCCE_IGNORE), Y_3CLASS_VOID, None),
    ("multiclass_ignore_class_partial", lambda: seq(3, "softmax", SCCE_IGNORE_PARTIAL), Y_3CLASS_VOID, None),
    ("multiclass_one_hot", lambda: seq(3, "softmax", CCE), ONE_HOT_3, None),
    ("multiclass_smoothed_rows", lambda: seq(3, "softmax", CCE), ONE_HOT_3 * 0.9 + 0.1 / 3, None),
    ("multiclass_one_hot_logits", lambda: seq(3, None, CCE_LOGITS), ONE_HOT_3, None),
    ("multiclass_softmax_layer_functional", lambda: functional(3, None, SCCE, keras.layers.Softmax()), Y_3CLASS, None),
    ("multiclass_dropout_after_softmax", lambda: seq(3, "softmax", SCCE, keras.layers.Dropout(0.1)), Y_3CLASS, None),
    (
        "multiclass_cookbook_loss",
        lambda: seq(3, "softmax", cookbook_losses.sparse_categorical_crossentropy),
        Y_3CLASS,
        None,
    ),
    ("multilabel_sigmoid_bce", lambda: seq(3, "sigmoid", BCE), MULTI_HOT_3, None),
    ("multilabel_logits", lambda: functional(3, None, BCE_LOGITS), MULTI_HOT_3, None),
    ("multilabel_focal", lambda: seq(3, "sigmoid", keras.losses.BinaryFocalCrossentropy()), MULTI_HOT_3, None),
    ("multilabel_focal_twin", lambda: seq(3, "sigmoid", cookbook_losses.binary_focal_crossentropy), MULTI_HOT_3, None),
    (
        "binary_focal_logits",
        lambda: seq(1, None, keras.losses.BinaryFocalCrossentropy(from_logits=True, apply_class_balancing=True)),
        Y_BINARY,
        None,
    ),
    (
        "binary_focal_twin_logits",
        lambda: seq(1, None, functools.partial(cookbook_losses.binary_focal_crossentropy, from_logits=True)),
        Y_BINARY,
        None,
    ),
    (
        "multiclass_focal_logits",
        lambda: seq(3, None, keras.losses.CategoricalFocalCrossentropy(from_logits=True, alpha=[0.2, 0.3, 0.5])),
        ONE_HOT_3,
        None,
    ),
    ("multiclass_focal_smoothed_rows", lambda: seq(3, "softmax", CFCE), ONE_HOT_3 * 0.9 + 0.1 / 3, None),
    ("regression_one_target", lambda: seq(1, None, "mean_squared_error"), Y_REGRESSION_3[:, 0], None),
    ("regression_three_targets", lambda: functional(3, None, keras.losses.MeanSquaredError()), Y_REGRESSION_3, None),
    ("regression_huber", lambda: seq(1, None, keras.losses.Huber()), Y_REGRESSION_3[:, 0], None),
    (
        "multi_output_correct",
        lambda: two_outputs({"amount": "mse", "kind": SCCE}),
        {"amount": Y_REGRESSION_3, "kind": Y_3CLASS},
        None,
    ),
    ("nested_sequential_correct", lambda: nested(3, "softmax", SCCE), Y_3CLASS, None),
    (
        "unknown_final_layer_stays_silent_on_activation",
        lambda: seq(3, None, SCCE, keras.layers.Lambda(lambda t: keras.ops.softmax(t))),
        Y_3CLASS,
        None,
    ),
    ("unrecognised_loss_stays_silent", lambda: seq(1, None, lambda t, p: keras.ops.mean(p)), Y_3CLASS, None),
    ("auto_crossentropy_stays_silent", lambda: seq(1, None, "crossentropy"), Y_BINARY, None),
]


@pytest.mark.parametrize("build,labels,match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_check_setup(build, labels, match):
    """A wrong setup raises SetupError (a ValueError) naming the problem and fix; a correct one returns None."""
    model = build()
    if match is None:
        assert check_setup(model, labels) is None
    else:
        with pytest.raises(SetupError, match=match) as info:
            check_setup(model, labels)
        assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("form", list(FOCAL_FORMS))
def test_every_form_of_a_focal_loss_is_checked_like_its_cross_entropy(form):
    """String, Keras function, Keras class, cookbook twin: silent on the right head, refused on the wrong one."""
    binary, categorical = FOCAL_FORMS[form]
    assert check_setup(seq(1, "sigmoid", binary), Y_BINARY) is None
    assert check_setup(seq(3, "softmax", categorical), ONE_HOT_3) is None
    with pytest.raises(SetupError, match=rf"2-unit softmax.*{FOCAL_KEEP}"):
        check_setup(seq(2, "softmax", binary), Y_BINARY)
    with pytest.raises(SetupError, match=rf"integer labels.*{FOCAL_KEEP}.*no sparse focal loss"):
        check_setup(seq(3, "softmax", categorical), Y_3CLASS)


def test_plain_losses_get_no_focal_fix():
    """The focal hint goes only to focal losses: the same mistake with binary_crossentropy keeps its message."""
    with pytest.raises(SetupError) as info:
        check_setup(seq(2, "softmax", BCE), Y_BINARY)
    assert FOCAL_KEEP not in str(info.value)


def test_every_refusal_names_a_fix():
    """Every error message in the table proposes something to do (use/add/pass/remove/...)."""
    fix_words = ("use ", "add ", "pass ", "remove ", "renumber", "recode", "encode", "drop ", "give ", "set ")
    for case_id, build, labels, match in CASES:
        if match is None:
            continue
        with pytest.raises(SetupError) as info:
            check_setup(build(), labels)
        assert any(word in str(info.value) for word in fix_words), case_id


def test_uncompiled_model_asks_to_compile_first():
    """A model that was never compiled raises SetupError saying to compile first."""
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(1, activation="sigmoid")])
    with pytest.raises(SetupError, match=r"not compiled.*model\.compile"):
        check_setup(model, Y_BINARY)


def test_describe_heads_reads_units_activation_and_loss():
    """describe_heads reports what check_setup reads: a trailing Softmax layer, the loss name, from_logits."""
    model = seq(3, None, SCCE_LOGITS, keras.layers.Softmax())
    (row,) = describe_heads(model)
    assert (row["units"], row["activation"], row["loss"], row["from_logits"]) == (
        3,
        "softmax",
        "sparse_categorical_crossentropy",
        True,
    )


def test_fit_checked_refuses_before_training():
    """fit_checked raises on a wrong setup before any weight changes."""
    model = seq(1, "sigmoid", CCE)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(SetupError):
        fit_checked(model, np.zeros((N, FEATURES), "float32"), Y_BINARY, epochs=1, verbose=0)
    for old, new in zip(before, model.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_fit_checked_trains_a_correct_setup():
    """fit_checked returns model.fit's History for a correct setup."""
    model = seq(1, "sigmoid", BCE)
    history = fit_checked(model, _rng.normal(size=(N, FEATURES)).astype("float32"), Y_BINARY, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize("loss", [SCCE_IGNORE, SCCE_IGNORE_PARTIAL], ids=["keras_loss", "cookbook_partial"])
def test_ignore_class_setup_passes_and_trains(loss):
    """The ignore_class setups check_setup lets through really train: Keras skips the -1 labels, a finite loss."""
    keras.utils.set_random_seed(0)
    model = seq(3, "softmax", loss)
    history = fit_checked(model, _rng.normal(size=(N, FEATURES)).astype("float32"), Y_3CLASS_VOID, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
