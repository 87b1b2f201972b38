"""Catch an output layer, loss and labels that do not fit together, before training.

Keras trains several wrong setups without a word: ``Dense(1, "sigmoid")``
with ``categorical_crossentropy`` reports a loss of 0.0 every epoch, a
``Dense(1, "softmax")`` predicts 1.0 for every sample, a linear output
with ``binary_crossentropy`` sits on a constant loss. ``check_setup`` reads
the model's final units and activation, its compiled loss and the labels,
and raises ``cookbook.SetupError`` (a ``ValueError``) naming the mismatch
and the fix:

>>> import cookbook
>>> import keras
>>> import numpy as np
>>> X_train, y_train = np.ones((4, 3), "float32"), np.array([0, 1, 1, 0])
>>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, "sigmoid")])
>>> model.compile(optimizer="adam", loss="categorical_crossentropy")
>>> cookbook.check_setup(model, y_train)  # raises before a wasted fit
Traceback (most recent call last):
    ...
cookbook.errors.SetupError: the model has a single output unit with categorical_crossentropy: ...
>>> model.compile(optimizer="adam", loss="binary_crossentropy")
>>> cookbook.check_setup(model, y_train)  # silent: this setup is right

or, in one call, check then fit:

>>> history = cookbook.setup_check.fit_checked(model, X_train, y_train, epochs=1, verbose=0)

It stays silent on every setup of ``cookbook.HEAD_RULES`` (with or without
``from_logits=True``) and on losses it does not recognise: it refuses only
what it can prove wrong.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from cookbook import losses as cookbook_losses
from cookbook.errors import SetupError
from cookbook.heads import HEAD_RULES, activation_name, check_class_labels

import keras
import numpy as np
import numpy.typing as npt

__all__ = ["check_setup", "describe_heads", "fit_checked"]

# A loss's family is the HEAD_RULES loss whose output and labels it needs: what each
# cross-entropy needs is read from the table, not restated here.
_REGRESSION = HEAD_RULES["regression"].loss  # a linear output, real targets
_BINARY = HEAD_RULES["binary"].loss  # sigmoid units, 0/1 labels (one column per unit)
_CATEGORICAL = HEAD_RULES["multiclass_onehot"].loss  # one softmax, one-hot rows
_SPARSE = HEAD_RULES["multiclass"].loss  # one softmax, one integer label per sample
# Every loss of the table, as Keras's function and as the cookbook's twin, is its own family...
_FAMILIES = {
    function: rule.loss
    for rule in HEAD_RULES.values()
    for function in (keras.losses.get(rule.loss), getattr(cookbook_losses, rule.loss))
}
# The focal losses (Keras's and the cookbook's twins) refine binary_crossentropy and categorical_crossentropy:
# same output, same labels, checked as those; only the fixes a message proposes must keep them focal.
_FOCAL = {
    keras.losses.binary_focal_crossentropy: _BINARY,
    cookbook_losses.binary_focal_crossentropy: _BINARY,
    keras.losses.categorical_focal_crossentropy: _CATEGORICAL,
    cookbook_losses.categorical_focal_crossentropy: _CATEGORICAL,
}
_FOCAL_FIX = (
    "to keep the focal loss, read binary_focal_crossentropy for binary_crossentropy, and "
    "categorical_focal_crossentropy with one-hot labels (keras.utils.to_categorical) for "
    "categorical_crossentropy and sparse_categorical_crossentropy: Keras has no sparse focal loss"
)
# ...and the focal and the other Keras losses take the output and labels of one of them.
_FAMILIES.update(
    {
        **_FOCAL,
        keras.losses.mean_absolute_error: _REGRESSION,
        keras.losses.mean_absolute_percentage_error: _REGRESSION,
        keras.losses.mean_squared_logarithmic_error: _REGRESSION,
        keras.losses.huber: _REGRESSION,
        keras.losses.log_cosh: _REGRESSION,
    }
)
# The output activation each family's rows of the table use ("sigmoid" for binary_crossentropy...).
_FAMILY_ACTIVATION = {rule.loss: rule.activation for rule in HEAD_RULES.values()}

# Activations whose outputs are probabilities, and known ones whose outputs are not.
_PROBABILITY_ACTIVATIONS = {"sigmoid", "softmax", "hard_sigmoid"}
_NON_PROBABILITY_ACTIVATIONS = {
    "linear",
    "relu",
    "relu6",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "silu",
    "swish",
    "mish",
    "softplus",
    "softsign",
    "tanh",
    "exponential",
    "log_softmax",
    "log_sigmoid",
    "celu",
    "glu",
}
# Layers that pass their input through unchanged at inference: look behind them.
_PASS_THROUGH = (
    keras.layers.Dropout,
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.AlphaDropout,
    keras.layers.ActivityRegularization,
    keras.layers.Identity,
)
_ACTIVATION_LAYERS = {
    keras.layers.Softmax: "softmax",
    keras.layers.ReLU: "relu",
    keras.layers.LeakyReLU: "leaky_relu",
    keras.layers.ELU: "elu",
    keras.layers.PReLU: "leaky_relu",
}

_TWO_CLASS_FIX = (
    "for two classes use Dense(1, 'sigmoid') with binary_crossentropy and 0/1 labels, or "
    "Dense(2, 'softmax') with sparse_categorical_crossentropy and integer labels "
    "(cookbook.output_head('binary') or ('binary_softmax'))"
)


@dataclasses.dataclass(frozen=True)
class _Head:
    """What check_setup reads from one model output."""

    name: str
    units: int
    activation: str  # a Keras activation name, "custom" (your own function) or "unknown" (a layer not read)


@dataclasses.dataclass(frozen=True)
class _LossInfo:
    name: str
    family: str | None  # None: a loss check_setup does not recognise
    from_logits: bool
    ignore_class: int | None = None  # a sparse label the loss skips (Keras's ignore_class)
    focal: bool = False  # a focal loss, checked as its family's cross-entropy


@dataclasses.dataclass(frozen=True)
class _Labels:
    values: np.ndarray  # float64, shape (N, columns)
    columns: int
    integer: bool


def check_setup(model: keras.Model, y: npt.ArrayLike | Sequence[npt.ArrayLike] | Mapping[str, npt.ArrayLike]) -> None:
    """Check that a compiled model's output head, loss and labels fit together.

    Reads, for each model output, the number of units and the activation of
    the final layer (a ``Dense`` activation, or a trailing ``Activation``,
    ``Softmax`` or ``ReLU`` layer; ``Dropout`` and similar are looked
    through), and the compiled loss (a string alias, a function, or a
    ``keras.losses.Loss`` object including its ``from_logits`` and
    ``ignore_class``, or a ``functools.partial`` of a loss function with
    those keywords), then compares them with the labels. The focal losses
    (Keras's and the ``cookbook.losses`` twins) are checked as the
    cross-entropy they refine: ``binary_focal_crossentropy`` as
    ``binary_crossentropy``, ``categorical_focal_crossentropy`` as
    ``categorical_crossentropy``; where a fix names a plain cross-entropy,
    the message also names the focal one to use instead.

    Refused, each with a message naming the fix:

    * NaN or inf in the labels;
    * softmax on a single unit (its output is always 1.0);
    * a single-unit output with categorical or sparse categorical
      cross-entropy;
    * one-hot labels with sparse categorical cross-entropy, integer labels
      with categorical cross-entropy, label rows that are not one-hot;
    * class labels outside ``[0, units)`` other than the loss's
      ``ignore_class`` (outside ``[0, 1]`` for a sigmoid unit); more than
      two classes into one sigmoid unit;
    * a 2-unit softmax with binary cross-entropy and integer labels;
    * a softmax on 2 or more units with binary cross-entropy on one-hot (or
      any matrix) labels: Keras scores the softmax's kept logits as sigmoid
      logits, a silently wrong loss;
    * a probability loss (the cross-entropies) on a linear, relu or other
      non-probability output without ``from_logits=True``;
    * ``from_logits=True`` after a softmax or sigmoid (a double activation);
    * a sigmoid output with a categorical cross-entropy;
    * labels whose number of columns differs from the number of units.

    Silent on every setup of ``cookbook.HEAD_RULES`` (with probabilities
    or with ``from_logits=True``), on multi-label and multi-output
    regression, and on the loss checks when the loss is not one it
    recognises (a custom function, Keras's automatic ``"crossentropy"``).

    Args:
        model: a compiled ``keras.Model`` (Sequential or functional).
        y: the training labels, as passed to ``fit`` (a NumPy array, a
            pandas Series/DataFrame or a list); for a model with several
            outputs, a list or dict of label arrays, one per output.

    Raises:
        SetupError: the model is not compiled, or the setup is wrong; the
            message names the problem and the fix.
    """
    heads = _read_heads(model)
    losses = _per_output(model.loss, heads, "loss")
    labels = _per_output(y, heads, "y") if len(heads) > 1 else [y]
    for head, loss, y_head in zip(heads, losses, labels):
        where = "the model" if len(heads) == 1 else f"output {head.name!r}"
        info, y_info = _read_loss(loss), _read_labels(where, y_head)
        try:
            _check_one(where, head, info, y_info)
        except SetupError as error:
            # The rules' fixes name the plain cross-entropies; a focal user is told the focal ones too.
            if info.focal and ("binary_crossentropy" in str(error) or "categorical_crossentropy" in str(error)):
                raise SetupError(f"{error}; {_FOCAL_FIX}") from None
            raise


def fit_checked(model: keras.Model, x: Any, y: npt.ArrayLike, **fit_kwargs: Any) -> keras.callbacks.History:
    """``check_setup(model, y)``, then ``model.fit(x, y, **fit_kwargs)``.

    Args:
        model: a compiled ``keras.Model``.
        x: the training inputs.
        y: the training labels.
        **fit_kwargs: passed on to ``model.fit`` (``epochs``, ``verbose``...).

    Returns:
        The ``History`` returned by ``model.fit``.
    """
    check_setup(model, y)
    return model.fit(x, y, **fit_kwargs)


def describe_heads(model: keras.Model) -> list[dict[str, Any]]:
    """What ``check_setup`` reads from a compiled model, one dict per output.

    Args:
        model: a compiled ``keras.Model``.

    Returns:
        A list of dicts with keys ``output``, ``units``, ``activation``,
        ``loss``, ``from_logits`` (for printing in lessons).
    """
    heads = _read_heads(model)
    rows = []
    for head, loss in zip(heads, _per_output(model.loss, heads, "loss")):
        info = _read_loss(loss)
        rows.append(
            {
                "output": head.name,
                "units": head.units,
                "activation": head.activation,
                "loss": info.name,
                "from_logits": info.from_logits,
            }
        )
    return rows


# --- reading the model -------------------------------------------------------------------------


def _read_heads(model):
    """The units and activation of every output of a compiled model."""
    if not isinstance(model, keras.Model):
        raise SetupError(
            f"check_setup needs a keras.Model, got {type(model).__name__}; pass the model you compiled and will fit"
        )
    if not getattr(model, "compiled", False) or model.loss is None:
        raise SetupError(
            "the model is not compiled: call model.compile(optimizer=..., loss=...) first, then check_setup(model, y)"
        )
    if isinstance(model, keras.Sequential):
        return [_head_of_layers(model.name, list(model.layers))]
    return [_head_of_tensor(name, tensor) for name, tensor in zip(model.output_names, model.outputs)]


def _head_of_layers(name, layers):
    """Walk a Sequential's layers from the end to the last Dense."""
    activation = None
    for layer in reversed(layers):
        if isinstance(layer, keras.Model):  # a nested model as the last block
            inner = _read_inner_model(layer)
            return _Head(name, inner.units, activation or inner.activation)
        step = _step(layer)
        if step == "pass":
            continue
        if isinstance(layer, keras.layers.Dense):
            return _Head(name, layer.units, activation or activation_name(layer.activation))
        if step is None:  # a layer check_setup does not know: its output range is unknown
            return _Head(name, _last_dim(layer), activation or "unknown")
        activation = activation or step  # the outermost non-linear activation sets the output range
    return _Head(name, 0, "unknown")


def _head_of_tensor(name, tensor):
    """Walk a functional model's graph back from one output tensor to its Dense."""
    units = int(tensor.shape[-1]) if len(tensor.shape) >= 2 and tensor.shape[-1] is not None else 1
    activation = None
    while True:
        layer, node_index, tensor_index = tensor._keras_history
        if isinstance(layer, keras.Model):  # a nested model: read its own head
            inner = (
                _head_of_layers(name, list(layer.layers))
                if isinstance(layer, keras.Sequential)
                else _head_of_tensor(name, layer.outputs[tensor_index])
            )
            return _Head(name, units, activation or inner.activation)
        if isinstance(layer, keras.layers.Dense):
            return _Head(name, units, activation or activation_name(layer.activation))
        step = _step(layer)
        if step is None:
            return _Head(name, units, activation or "unknown")
        if step != "pass":
            activation = activation or step
        inputs = layer._inbound_nodes[node_index].input_tensors
        if len(inputs) != 1:
            return _Head(name, units, activation or "unknown")
        tensor = inputs[0]


def _read_inner_model(model):
    if isinstance(model, keras.Sequential):
        return _head_of_layers(model.name, list(model.layers))
    return _head_of_tensor(model.name, model.outputs[0])


def _step(layer):
    """``"pass"`` for a layer to look through, an activation name, or None for an unknown layer."""
    if isinstance(layer, _PASS_THROUGH):
        return "pass"
    if isinstance(layer, keras.layers.Activation):
        name = activation_name(layer.activation)
        return "pass" if name == "linear" else name
    for layer_class, name in _ACTIVATION_LAYERS.items():
        if isinstance(layer, layer_class):
            return name
    return None


def _last_dim(layer):
    try:
        return int(layer.output.shape[-1])
    except (AttributeError, ValueError, TypeError, IndexError):
        return 0


# --- reading the loss and the labels -----------------------------------------------------------


def _per_output(value, heads, what):
    """Split a per-output loss or label structure (list or dict) into one item per head."""
    if len(heads) == 1:
        if isinstance(value, (list, tuple)) and what == "loss" and len(value) == 1:
            return list(value)
        if isinstance(value, dict) and len(value) == 1:
            return list(value.values())
        return [value]
    names = [h.name for h in heads]
    if isinstance(value, dict):
        missing = [n for n in names if n not in value]
        if missing:
            raise SetupError(
                f"{what} has no entry for output(s) {missing}; give a dict keyed by the output names "
                f"{names}, or a list in that order"
            )
        return [value[n] for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(heads):
            raise SetupError(
                f"the model has {len(heads)} outputs {names} but {what} has {len(value)} entries; "
                f"give one per output, in that order"
            )
        return list(value)
    if what == "loss":
        return [value] * len(heads)  # one loss for every output
    raise SetupError(
        f"the model has {len(heads)} outputs {names}; pass y as a list or dict with one label array per output"
    )


def _read_loss(loss):
    """Which cross-entropy (or regression loss) this is, and its from_logits."""
    name = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(loss, "__name__", repr(loss))
    if isinstance(loss, str) and loss.lower() in ("crossentropy", "ce"):
        return _LossInfo(loss, None, False)  # Keras picks the loss from the label shape at fit time
    try:
        resolved = keras.losses.get(loss) if isinstance(loss, (str, dict)) else loss
    except ValueError:
        return _LossInfo(str(name), None, False)
    options: Mapping[str, Any] = {}  # the loss's keyword settings: from_logits, ignore_class
    function = resolved
    if isinstance(resolved, keras.losses.Loss):
        function = getattr(resolved, "fn", None)
        try:
            options = resolved.get_config()
        except (NotImplementedError, TypeError, AttributeError):
            options = {}
    elif isinstance(resolved, functools.partial):
        function = resolved.func
        options = resolved.keywords
    try:
        family, focal = _FAMILIES.get(function), function in _FOCAL
    except TypeError:  # an unhashable callable
        family, focal = None, False
    ignore_class = options.get("ignore_class")
    return _LossInfo(
        str(name),
        family,
        bool(options.get("from_logits", False)),
        None if ignore_class is None else int(ignore_class),
        focal,
    )


def _read_labels(where, y):
    """Labels as a float64 (N, columns) array, refusing text, NaN and inf."""
    try:
        values = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise SetupError(
            f"the labels for {where} cannot be read as an array ({exc}); pass a NumPy array or a "
            "pandas Series/DataFrame"
        ) from None
    if values.ndim == 0 or values.size == 0:
        raise SetupError(
            f"the labels for {where} are {'empty' if values.ndim else 'a single value'}; pass one "
            "label per training sample, as given to fit"
        )
    if values.dtype.kind not in "biuf":
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError):
            raise SetupError(
                f"the labels for {where} are not numbers (dtype {values.dtype}); encode classes as "
                "integers 0..C-1 first, e.g. with pandas.factorize(y)[0]"
            ) from None
    values = values.astype(np.float64).reshape(len(values), -1)
    bad = ~np.isfinite(values)
    if bad.any():
        raise SetupError(
            f"the labels for {where} contain {int(np.isnan(values).sum())} NaN and "
            f"{int(np.isinf(values).sum())} inf values: the loss would become NaN; drop or fill "
            "those rows before fit"
        )
    return _Labels(values, values.shape[1], bool(np.all(values == np.round(values))))


# --- the rules ---------------------------------------------------------------------------------


def _check_one(where, head, loss, labels):
    """Raise SetupError for the first rule this output, loss and labels break."""
    units, act = head.units, head.activation
    if act == "softmax" and units == 1:
        raise SetupError(
            f"{where} ends in a softmax on a single unit: softmax over one class is always 1.0, so "
            "every prediction is 1.0 whatever the training loss says (on TensorFlow Keras computes "
            f"that loss from the logit before the softmax); {_TWO_CLASS_FIX}"
        )
    if loss.family is None:
        return
    if loss.family == _REGRESSION:
        _check_columns(
            where,
            head,
            loss,
            labels,
            "give one target column per output unit, or set the units to the number of target columns",
        )
        return

    if loss.from_logits and act in ("softmax", "sigmoid"):
        if loss.focal:  # they apply it to the probabilities, on every backend: no cached logits are read
            how = "Keras's focal losses really apply it twice, on every backend"
        else:
            how = (
                "Keras on TensorFlow only warns and reuses the logits it cached, other backends and "
                "custom activations really apply it twice"
            )
        raise SetupError(
            f"{where} applies {act} and then {loss.name} with from_logits=True, which applies "
            f"{act} again (a double activation; {how}); "
            "remove the activation from the last layer (activation=None) or use from_logits=False"
        )
    if not loss.from_logits and act in _NON_PROBABILITY_ACTIVATIONS:
        expected = _FAMILY_ACTIVATION[loss.family]
        raise SetupError(
            f"{where} has a {act} output but {loss.name} expects probabilities: outputs outside "
            "[0, 1] are clipped, which zeroes their gradient, so training crawls or stalls; add "
            f"activation='{expected}' to the last layer, or keep it linear and pass "
            "from_logits=True to the loss"
        )
    if loss.family in (_CATEGORICAL, _SPARSE):
        _check_categorical(where, head, loss, labels)
    else:
        _check_binary(where, head, loss, labels)


def _check_categorical(where, head, loss, labels):
    units, act = head.units, head.activation
    if units == 1:
        raise SetupError(
            f"{where} has a single output unit with {loss.name}: with one class the loss is 0 for "
            f"every sample and nothing is learned; {_TWO_CLASS_FIX}; for C > 2 classes use "
            "Dense(C, 'softmax')"
        )
    if act == "sigmoid" and not loss.from_logits:
        raise SetupError(
            f"{where} ends in {units} sigmoid units but {loss.name} expects one softmax over the "
            f"classes; use activation='softmax' (single-label classes), or binary_crossentropy "
            "for multi-label targets"
        )
    if loss.family == _SPARSE:
        if labels.columns > 1:
            raise SetupError(
                f"{where} gets one-hot labels ({labels.columns} columns) with {loss.name}, which "
                "expects one integer label per sample; use categorical_crossentropy, or pass "
                "labels.argmax(axis=-1)"
            )
        values = labels.values
        if loss.ignore_class is not None:  # the loss skips those entries, whatever their number
            values = values[values != loss.ignore_class]
        check_class_labels(values, head.units or None, where)  # 0 units: not read, so not checked
        return
    if labels.columns == 1:
        raise SetupError(
            f"{where} gets integer labels (one column) with {loss.name}, which expects one-hot "
            "rows; use sparse_categorical_crossentropy with the integer labels, or one-hot encode "
            f"them with keras.utils.to_categorical(y, {units})"
        )
    _check_columns(where, head, loss, labels, f"one-hot encode with keras.utils.to_categorical(y, {units})")
    rows = labels.values
    if rows.min() < 0 or rows.max() > 1 or not np.allclose(rows.sum(axis=1), 1.0, atol=1e-3):
        raise SetupError(
            f"{where} gets label rows that are not one-hot (or probabilities summing to 1) with "
            f"{loss.name}; for several labels per sample (multi-label) use Dense({units}, "
            "'sigmoid') with binary_crossentropy, otherwise one-hot encode with "
            "keras.utils.to_categorical"
        )


def _check_binary(where, head, loss, labels):
    units, act = head.units, head.activation
    values = labels.values
    if units == 1:
        _check_columns(
            where,
            head,
            loss,
            labels,
            "one sigmoid unit takes one 0/1 label per sample; for C "
            "one-hot classes use Dense(C, 'softmax') with categorical_crossentropy",
        )
        distinct = np.unique(values)
        if labels.integer and len(distinct) > 2:
            raise SetupError(
                f"{where} sends {len(distinct)} classes into one sigmoid unit with {loss.name}, "
                "which only tells two classes apart; use Dense(num_classes, 'softmax') with "
                "sparse_categorical_crossentropy (cookbook.output_head('multiclass', num_classes))"
            )
        _check_unit_interval(where, loss, values)
        return
    if labels.columns == 1:
        if act == "softmax" and units == 2:
            raise SetupError(
                f"{where} is a 2-unit softmax trained with {loss.name} on integer labels, which "
                "needs one 0/1 column per unit; use sparse_categorical_crossentropy with the "
                f"integer labels, or a single unit: {_TWO_CLASS_FIX}"
            )
        raise SetupError(
            f"{where} has {units} output units but the labels have one column; for multi-label "
            f"targets pass a 0/1 matrix of shape (N, {units}), for single-label classes use "
            "Dense(num_classes, 'softmax') with sparse_categorical_crossentropy"
        )
    if act == "softmax":
        raise SetupError(
            f"{where} is a {units}-unit softmax trained with {loss.name}: Keras (TensorFlow backend) "
            "scores it from the softmax's logits as if each unit were a sigmoid, so the loss it "
            "reports and trains on is not the cross-entropy of your probabilities; use "
            "categorical_crossentropy with the one-hot labels (or sparse_categorical_crossentropy "
            "with integer labels), or for two classes Dense(1, 'sigmoid') with binary_crossentropy "
            "and 0/1 labels"
        )
    _check_columns(where, head, loss, labels, f"pass a 0/1 label matrix of shape (N, {units})")
    _check_unit_interval(where, loss, values)


def _check_columns(where, head, loss, labels, fix):
    if labels.columns != head.units and head.units > 0:
        raise SetupError(
            f"{where} has {head.units} output unit(s) but the labels have {labels.columns} "
            f"column(s) for {loss.name} (Keras then fails with a shape error, or broadcasts one "
            f"against the other instead of matching them); {fix}"
        )


def _check_unit_interval(where, loss, values):
    low, high = values.min(), values.max()
    if low < 0 or high > 1:
        raise SetupError(
            f"{where} gets labels from {low:g} to {high:g} with {loss.name}, which needs labels in "
            "[0, 1] (0 = no, 1 = yes); recode them, e.g. (y == positive_class).astype(int)"
        )
