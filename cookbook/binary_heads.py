"""Two classes, two heads: turn a sigmoid model into a softmax model and back, exactly.

A two-class problem can end in either head:

* **A** ``Dense(1, activation="sigmoid")`` with ``binary_crossentropy`` and
  0/1 labels: one logit ``z``, ``P(class 1) = sigmoid(z)``;
* **B** ``Dense(2, activation="softmax")`` with
  ``sparse_categorical_crossentropy`` and integer labels (or **C**, the
  same head with ``categorical_crossentropy`` and one-hot labels): two
  logits ``[z0, z1]``, ``P(class 1) = softmax([z0, z1])[1]``.

They are the same model in different clothes, because::

    softmax([z0, z1])[1] = exp(z1) / (exp(z0) + exp(z1))
                         = 1 / (1 + exp(-(z1 - z0)))
                         = sigmoid(z1 - z0)

so only the difference ``z1 - z0`` matters. With ``x`` the input of the
last layer, A computes ``z = x @ w + b`` and B computes
``z_k = x @ W[:, k] + b2[k]``; the two conversions are

* A -> B: ``W = [0, w]``, ``b2 = [0, b]`` (``z0 = 0``, ``z1 = z``);
* B -> A: ``w = W[:, 1] - W[:, 0]``, ``b = b2[1] - b2[0]``.

B has twice the head parameters but no more capacity: adding the same
vector to both columns of ``W`` (and the same number to both biases)
adds the same number to both logits and leaves every prediction unchanged,
so ``d + 1`` of B's ``2 (d + 1)`` head parameters are redundant:

>>> import cookbook
>>> import keras
>>> import numpy as np
>>> model_a = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, "sigmoid")])
>>> model_b = cookbook.binary_heads.sigmoid_to_softmax(model_a)
>>> model_a2 = cookbook.binary_heads.softmax_to_sigmoid(model_b)
>>> model_b.layers[-1].units, model_b.layers[-1].activation.__name__
(2, 'softmax')
>>> x = np.array([[0.5, -1.0, 2.0], [1.0, 0.0, -3.0]], "float32")
>>> p_a, p_b, p_a2 = (keras.ops.convert_to_numpy(model(x)) for model in (model_a, model_b, model_a2))
>>> np.allclose(p_b[:, 1], p_a[:, 0]), np.allclose(p_a2, p_a)  # the same P(class 1)
(True, True)

Both functions return a new, uncompiled model whose other layers are
copies of the original's (training the new model leaves the old one
alone). Heads without an activation (``from_logits=True`` losses) convert
the same way, logits to logits. ``roc_auc`` scores either head's
probabilities without scikit-learn.
"""

from __future__ import annotations

from cookbook.errors import CookbookError, HeadConversionError
from cookbook.heads import activation_name, dense_weights

import keras
import numpy as np
import numpy.typing as npt

__all__ = [
    "HeadConversionError",
    "final_dense",
    "head_parameter_count",
    "roc_auc",
    "sigmoid_to_softmax",
    "softmax_to_sigmoid",
]

# Output activations each conversion accepts, and what the new head uses instead.
# "linear" is a logits head (the loss has from_logits=True): logits stay logits.
_TO_SOFTMAX = {"sigmoid": "softmax", "linear": "linear"}
_TO_SIGMOID = {"softmax": "sigmoid", "linear": "linear"}


def final_dense(model: keras.Model) -> keras.layers.Dense:
    """The ``Dense`` layer that produces a single-output model's output.

    Args:
        model: a built ``keras.Sequential`` or functional ``keras.Model``
            with one output.

    Returns:
        The final ``keras.layers.Dense`` layer.

    Raises:
        HeadConversionError: not a Keras model, several outputs, a
            subclassed model, or a last layer that is not ``Dense`` (e.g. a
            separate ``Activation`` layer); the message says what to change.
    """
    if not isinstance(model, keras.Model):
        raise HeadConversionError(f"expected a keras.Model, got {type(model).__name__}; pass the trained model")
    if isinstance(model, keras.Sequential):
        if not model.layers:
            raise HeadConversionError("the Sequential model has no layers; add the body and the output Dense")
        layer = model.layers[-1]
    elif _is_functional(model):
        if len(model.outputs) != 1:
            raise HeadConversionError(
                f"the model has {len(model.outputs)} outputs; head conversion works on a "
                "single-output model (build one per output and convert each)"
            )
        layer = model.outputs[0]._keras_history[0]
    else:
        raise HeadConversionError(
            f"{type(model).__name__} is a subclassed model, whose layers cannot be "
            "rebuilt from the outside; rebuild it as keras.Sequential or a functional "
            "keras.Model"
        )
    if not isinstance(layer, keras.layers.Dense):
        raise HeadConversionError(
            f"the last layer is {type(layer).__name__} {layer.name!r}, not a Dense layer; "
            "put the activation inside the output layer, e.g. Dense(1, activation="
            "'sigmoid') instead of Dense(1) followed by Activation('sigmoid')"
        )
    if not layer.built:
        raise HeadConversionError(
            f"the output layer {layer.name!r} has no weights yet; build the model (give it "
            "a keras.Input or call it on data) before converting its head"
        )
    return layer


def head_parameter_count(model: keras.Model) -> int:
    """Trainable parameters of the model's final ``Dense`` layer (kernel plus bias).

    Args:
        model: a single-output Sequential or functional model.

    Returns:
        An ``int``: ``d + 1`` for head A on ``d`` inputs, ``2 (d + 1)`` for B.
    """
    layer = final_dense(model)
    return int(sum(np.prod(w.shape) for w in layer.trainable_weights))


def sigmoid_to_softmax(model: keras.Model) -> keras.Model:
    """Turn a ``Dense(1, "sigmoid")`` model into the equal ``Dense(2, "softmax")`` model.

    The new head is ``W = [0, w]``, ``b2 = [0, b]``: its class-0 logit is 0
    and its class-1 logit is A's logit ``z``, so
    ``softmax([0, z])[1] = sigmoid(z)`` and the two models predict the same
    ``P(class 1)`` (to float32 rounding) on every input.

    Args:
        model: a built single-output Sequential or functional model ending
            in ``Dense(1, activation="sigmoid")``, or ``Dense(1)`` without an
            activation (a logits head, which becomes ``Dense(2)`` without
            one).

    Returns:
        A new, uncompiled ``keras.Model`` of the same kind whose other
        layers hold copies of the original weights. Compile it with
        ``sparse_categorical_crossentropy`` (integer labels) or
        ``categorical_crossentropy`` (one-hot labels), with
        ``from_logits=True`` for a logits head.

    Raises:
        HeadConversionError: the last layer is not ``Dense`` with one unit
            and a sigmoid (or no) activation.
    """
    head = final_dense(model)
    activation = activation_name(head.activation)
    if head.units != 1 or activation not in _TO_SOFTMAX:
        raise HeadConversionError(
            f"sigmoid_to_softmax needs a last layer Dense(1, activation='sigmoid'), got Dense({head.units}, "
            f"activation={activation!r}); for a 2-unit softmax model use softmax_to_sigmoid instead"
        )
    w, b = dense_weights(head)  # float64: w: (d, 1), b: (1,) or None
    kernel = np.concatenate([np.zeros_like(w), w], axis=1)
    bias = None if b is None else np.concatenate([np.zeros_like(b), b])
    return _replace_head(model, head, units=2, activation=_TO_SOFTMAX[activation], kernel=kernel, bias=bias)


def softmax_to_sigmoid(model: keras.Model) -> keras.Model:
    """Turn a ``Dense(2, "softmax")`` model into the equal ``Dense(1, "sigmoid")`` model.

    Only the difference of the two logits matters (``softmax([z0, z1])[1] =
    sigmoid(z1 - z0)``), so the new head is ``w = W[:, 1] - W[:, 0]``,
    ``b = b2[1] - b2[0]``, and both models predict the same ``P(class 1)``.
    Converting the result back with ``sigmoid_to_softmax`` gives B in its
    canonical form (class-0 column all zeros), which predicts the same.

    Args:
        model: a built single-output Sequential or functional model ending
            in ``Dense(2, activation="softmax")``, or ``Dense(2)`` without an
            activation (a logits head, which becomes ``Dense(1)`` without
            one).

    Returns:
        A new, uncompiled ``keras.Model`` of the same kind whose other
        layers hold copies of the original weights. Compile it with
        ``binary_crossentropy`` (0/1 labels), with ``from_logits=True`` for
        a logits head.

    Raises:
        HeadConversionError: the last layer is not ``Dense`` with two units
            and a softmax (or no) activation.
    """
    head = final_dense(model)
    activation = activation_name(head.activation)
    if head.units != 2 or activation not in _TO_SIGMOID:
        hint = (
            "only a 2-class softmax has a sigmoid twin; with more classes keep the softmax"
            if head.units > 2 and activation == "softmax"
            else "for a 1-unit sigmoid model use sigmoid_to_softmax instead"
        )
        raise HeadConversionError(
            f"softmax_to_sigmoid needs a last layer Dense(2, activation='softmax'), got Dense({head.units}, "
            f"activation={activation!r}); {hint}"
        )
    w, b = dense_weights(head)  # float64: w: (d, 2), b: (2,) or None
    kernel = w[:, 1:2] - w[:, 0:1]
    bias = None if b is None else b[1:2] - b[0:1]
    return _replace_head(model, head, units=1, activation=_TO_SIGMOID[activation], kernel=kernel, bias=bias)


def roc_auc(y_true: npt.ArrayLike, scores: npt.ArrayLike) -> float:
    """Area under the ROC curve, by the rank (Mann-Whitney) formula, in NumPy.

    The AUC is the probability that a random positive scores higher than a
    random negative (ties count one half). With ``R+`` the sum of the
    positives' ranks among all scores (tied scores share their average
    rank), ``n+`` positives and ``n-`` negatives::

        AUC = (R+ - n+ (n+ + 1) / 2) / (n+ n-)

    Args:
        y_true: 0/1 labels, shape ``(N,)`` (or ``(N, 1)``).
        scores: any score that grows with the chance of class 1, e.g.
            ``P(class 1)`` from either head, shape ``(N,)`` or ``(N, 1)``.

    Returns:
        A ``float`` in ``[0, 1]``; 0.5 is chance, 1.0 a perfect ranking.

    Raises:
        CookbookError: mismatched lengths, labels other than 0/1, only one
            class present, or NaN scores.

    Example:
        >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])  # 3 of the 4 positive-negative pairs ranked right
        0.75
    """
    y = np.asarray(y_true).reshape(-1)
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(y) != len(s):
        raise CookbookError(
            f"roc_auc got {len(y)} labels but {len(s)} scores; pass one score per sample "
            "(for a 2-unit softmax, the class-1 column probs[:, 1])"
        )
    if not np.isin(y, (0, 1)).all():
        raise CookbookError("roc_auc needs 0/1 labels; recode them, e.g. (y == positive_class).astype(int)")
    positive = y == 1
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        raise CookbookError(
            "roc_auc needs both classes among the labels; use a (stratified) split whose test "
            "part holds positives and negatives"
        )
    if np.isnan(s).any():
        raise CookbookError("roc_auc got NaN scores; the model diverged: lower the learning rate")
    # Average rank (1-based) of each distinct score, then each sample's rank.
    _, group, counts = np.unique(s, return_inverse=True, return_counts=True)
    ranks = (np.cumsum(counts) - (counts - 1) / 2.0)[group.reshape(-1)]
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


# --- helpers --------------------------------------------------------------------------------------


def _is_functional(model):
    """True for a functional model (built from keras.Input), False for a subclassed one."""
    try:
        return bool(model.outputs) and hasattr(model.outputs[0], "_keras_history")
    except (AttributeError, ValueError):
        return False


def _replace_head(model, head, *, units, activation, kernel, bias):
    """Clone ``model`` with ``head`` swapped for a Dense(units, activation) holding kernel/bias."""
    clones = {}

    def clone_layer(layer):
        config = layer.get_config()
        if layer is head:
            config.update(units=units, activation=activation)
        clone = layer.__class__.from_config(config)
        clones[id(layer)] = (layer, clone)
        return clone

    try:
        new_model = keras.models.clone_model(model, clone_function=clone_layer)
    except (ValueError, TypeError, NotImplementedError) as exc:
        raise HeadConversionError(
            f"cannot rebuild {model.name!r} with a new head ({exc}); build it as "
            "keras.Sequential or a functional keras.Model of built-in layers"
        ) from None
    for layer, clone in clones.values():
        if layer is head:
            weights = [kernel] + ([] if bias is None else [bias])
            clone.set_weights([w.astype(np.dtype(v.dtype)) for w, v in zip(weights, clone.weights)])
        else:
            clone.set_weights(layer.get_weights())  # copies: the new model trains independently
    return new_model
