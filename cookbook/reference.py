"""The update rules in float64 NumPy: the independent answer the optimizers are checked against.

Each rule is a plain function ``rule(w, g, state, t, **hyperparameters) -> w``:
``w`` and ``g`` are float64 arrays, ``state`` a dict the rule fills with its
buffers (empty at the start), ``t`` the step number 1, 2, ... Nothing here
imports Keras, so an agreement between the two is evidence, not an echo.

``sgd``, ``adagrad``, ``rmsprop``, ``adam``, ``nadam`` and ``lion`` follow
Keras 3's conventions (epsilon inside the root for Adagrad and RMSprop,
Adagrad's 0.1 initial accumulator, Adam's "epsilon hat", Nadam's ``0.96^t``
momentum schedule); AdamW is ``adam`` with the decoupled decay that
``ReferenceOptimizer`` applies for every rule. ``adagrad_textbook``, ``rmsprop_textbook``
and ``adam_textbook`` are the forms the docstrings compare them with.
``yogi`` is the optimizer ported from Keras 2 in lesson 16 (``rows=`` makes
its step sparse, as on an ``Embedding``). ``ReferenceOptimizer`` adds what ``keras.optimizers.Optimizer`` does around
the rule (gradient clipping, decoupled weight decay) and follows an
optimizer's ``get_config()``:

>>> import keras
>>> import numpy as np
>>> from cookbook import reference
>>> ref = reference.from_optimizer(keras.optimizers.Adam(0.01))
>>> ref.rule.__name__, ref.hyperparameters["beta_1"], round(ref.learning_rate, 6)  # Keras keeps lr in float32
('adam', 0.9, 0.01)
>>> weights = [np.array([0.5, 0.5])]  # lists of float64 arrays, one per variable
>>> for _ in range(2):
...     weights = ref.apply([np.array([1.0, -2.0])], weights)
>>> [w.round(6) for w in weights]  # Adam's first steps are about lr * sign(g)
[array([0.48, 0.52])]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from cookbook.errors import CookbookError

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # for the hints only: this module never imports Keras
    import keras

__all__ = [
    "RULES",
    "ReferenceOptimizer",
    "adagrad",
    "adagrad_textbook",
    "adam",
    "adam_textbook",
    "from_optimizer",
    "lion",
    "nadam",
    "rmsprop",
    "rmsprop_textbook",
    "sgd",
    "yogi",
]


def sgd(
    w: np.ndarray,
    g: np.ndarray,
    state: dict[str, Any],
    t: int,
    learning_rate: float = 0.01,
    momentum: float = 0.0,
    nesterov: bool = False,
) -> np.ndarray:
    """SGD; the velocity includes the learning rate (Keras and Sutskever et al. 2013)."""
    if momentum == 0:
        return w - learning_rate * g
    v = state["velocity"] = momentum * state.get("velocity", 0.0) - learning_rate * g
    return w + momentum * v - learning_rate * g if nesterov else w + v


def adagrad(
    w: np.ndarray,
    g: np.ndarray,
    state: dict[str, Any],
    t: int,
    learning_rate: float = 0.001,
    initial_accumulator_value: float = 0.1,
    epsilon: float = 1e-7,
) -> np.ndarray:
    """Adagrad as Keras 3 does it: accumulator starts at 0.1, epsilon inside the root."""
    G = state["accumulator"] = state.get("accumulator", initial_accumulator_value) + g**2
    return w - learning_rate * g / np.sqrt(G + epsilon)


def adagrad_textbook(
    w: np.ndarray,
    g: np.ndarray,
    state: dict[str, Any],
    t: int,
    learning_rate: float = 0.001,
    initial_accumulator_value: float = 0.0,
    epsilon: float = 1e-7,
) -> np.ndarray:
    """Adagrad as Duchi et al. 2011 (plus PyTorch's epsilon): starts at 0, epsilon outside."""
    G = state["accumulator"] = state.get("accumulator", initial_accumulator_value) + g**2
    return w - learning_rate * g / (np.sqrt(G) + epsilon)


def rmsprop(
    w: np.ndarray,
    g: np.ndarray,
    state: dict[str, Any],
    t: int,
    learning_rate: float = 0.001,
    rho: float = 0.9,
    momentum: float = 0.0,
    epsilon: float = 1e-7,
    centered: bool = False,
) -> np.ndarray:
    """RMSprop as Keras 3 does it: epsilon inside the root, momentum on lr-scaled steps."""
    v = state["velocity"] = rho * state.get("velocity", 0.0) + (1 - rho) * g**2
    denominator = v + epsilon
    if centered:
        mg = state["average_gradient"] = rho * state.get("average_gradient", 0.0) + (1 - rho) * g
        denominator = v - mg**2 + epsilon
    step = learning_rate * g / np.sqrt(denominator)
    if momentum > 0:
        step = state["momentum"] = momentum * state.get("momentum", 0.0) + step
    return w - step


def rmsprop_textbook(
    w: np.ndarray,
    g: np.ndarray,
    state: dict[str, Any],
    t: int,
    learning_rate: float = 0.001,
    rho: float = 0.9,
    epsilon: float = 1e-7,
) -> np.ndarray:
    """RMSprop with epsilon outside the root, as PyTorch's ``torch.optim.RMSprop``."""
    v = state["velocity"] = rho * state.get("velocity", 0.0) + (1 - rho) * g**2
    return w - learning_rate * g / (np.sqrt(v) + epsilon)


def adam(
    w: np.ndarray,
    g: np.ndarray,
    state: dict[str, Any],
    t: int,
    learning_rate: float = 0.001,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    amsgrad: bool = False,
    bias_correction: bool = True,
) -> np.ndarray:
    """Adam as Keras 3 does it: corrections folded into the step, "epsilon hat" on raw v."""
    m = state["momentum"] = beta_1 * state.get("momentum", 0.0) + (1 - beta_1) * g
    v = state["velocity"] = beta_2 * state.get("velocity", 0.0) + (1 - beta_2) * g**2
    if amsgrad:
        v = state["velocity_hat"] = np.maximum(state.get("velocity_hat", 0.0), v)
    alpha = learning_rate
    if bias_correction:
        alpha = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    return w - alpha * m / (np.sqrt(v) + epsilon)


def adam_textbook(
    w: np.ndarray,
    g: np.ndarray,
    state: dict[str, Any],
    t: int,
    learning_rate: float = 0.001,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-8,
) -> np.ndarray:
    """Adam as Algorithm 1 of Kingma and Ba 2014: epsilon on the corrected ``sqrt(v_hat)``."""
    m = state["momentum"] = beta_1 * state.get("momentum", 0.0) + (1 - beta_1) * g
    v = state["velocity"] = beta_2 * state.get("velocity", 0.0) + (1 - beta_2) * g**2
    m_hat, v_hat = m / (1 - beta_1**t), v / (1 - beta_2**t)
    return w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)


def nadam(
    w: np.ndarray,
    g: np.ndarray,
    state: dict[str, Any],
    t: int,
    learning_rate: float = 0.001,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
) -> np.ndarray:
    """Nadam as Keras 3 does it: momentum schedule u_t = b1 (1 - 0.5 0.96^t), epsilon on sqrt(v_hat).

    ``state["u_product"]`` is the running product ``u_1 ... u_t``: it depends
    on every step so far, so it lives in the state like the moments (each
    weight keeps its own copy; all copies are equal).
    """
    u_t = beta_1 * (1 - 0.5 * 0.96**t)
    u_next = beta_1 * (1 - 0.5 * 0.96 ** (t + 1))
    product = state["u_product"] = state.get("u_product", 1.0) * u_t
    m = state["momentum"] = beta_1 * state.get("momentum", 0.0) + (1 - beta_1) * g
    v = state["velocity"] = beta_2 * state.get("velocity", 0.0) + (1 - beta_2) * g**2
    m_hat = u_next * m / (1 - product * u_next) + (1 - u_t) * g / (1 - product)
    v_hat = v / (1 - beta_2**t)
    return w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)


def lion(
    w: np.ndarray,
    g: np.ndarray,
    state: dict[str, Any],
    t: int,
    learning_rate: float = 0.001,
    beta_1: float = 0.9,
    beta_2: float = 0.99,
) -> np.ndarray:
    """Lion (Chen et al. 2023): step lr * sign(b1 m + (1 - b1) g), then m <- b2 m + (1 - b2) g."""
    m = state.get("momentum", 0.0)
    direction = np.sign(beta_1 * m + (1 - beta_1) * g)
    state["momentum"] = beta_2 * m + (1 - beta_2) * g
    return w - learning_rate * direction


def yogi(
    w: np.ndarray,
    g: np.ndarray,
    state: dict[str, Any],
    t: int,
    learning_rate: float = 0.01,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-3,
    l1_regularization_strength: float = 0.0,
    l2_regularization_strength: float = 0.0,
    initial_accumulator_value: float = 1e-6,
    activation: str = "sign",
    rows: npt.ArrayLike | None = None,
) -> np.ndarray:
    """Yogi (Zaheer et al. 2018) as ``cookbook.porting`` and TensorFlow Addons write it.

    ``rows`` makes the step sparse: ``g`` then holds one row per index (repeats
    are summed), only those rows of ``v`` and ``w`` change, and every row of
    ``m`` decays, as Keras 2's ``_resource_apply_sparse`` did.
    """
    m = state.get("m", np.zeros_like(w))
    v = state.get("v", np.full_like(w, initial_accumulator_value))
    touched: np.ndarray | slice = slice(None)  # the rows this step changes: all of them when dense
    if rows is not None:  # a sparse gradient: sum repeated rows into a dense one, remember which rows
        touched = np.unique(np.asarray(rows))
        dense = np.zeros_like(w)
        np.add.at(dense, np.asarray(rows), g)
        g = dense
    a = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    m = beta_1 * m
    m[touched] += (1 - beta_1) * g[touched]
    g2 = g[touched] ** 2
    sign = np.tanh(10 * (g2 - v[touched])) if activation == "tanh" else np.sign(g2 - v[touched])
    v = v.copy()
    v[touched] += (1 - beta_2) * sign * g2
    per_coord = a / (np.sqrt(v[touched]) + epsilon)
    u = w[touched] - per_coord * m[touched]
    if l1_regularization_strength > 0:
        u = np.sign(u) * np.maximum(np.abs(u) - l1_regularization_strength * per_coord, 0)
    u = u / (1 + l2_regularization_strength * per_coord)
    state["m"], state["v"] = m, v
    w = w.copy()
    w[touched] = u
    return w


# Optimizer class name -> the rule that follows its get_config(). AdamW is Adam's rule: its
# decoupled decay is the base class's, which ReferenceOptimizer applies for every rule.
RULES = {
    "SGD": sgd,
    "Momentum": sgd,
    "Adagrad": adagrad,
    "RMSprop": rmsprop,
    "Adam": adam,
    "AdamW": adam,
    "Nadam": nadam,
    "Lion": lion,
    "Yogi": yogi,
}

_BASE_KEYS = (
    "name",
    "learning_rate",
    "weight_decay",
    "clipnorm",
    "clipvalue",
    "global_clipnorm",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "loss_scale_factor",
    "gradient_accumulation_steps",
)


class ReferenceOptimizer:
    """A float64 optimizer: clip, decay, then apply ``rule``, as ``keras.optimizers.Optimizer``.

    Args:
        rule: one of the rule functions above.
        learning_rate: a constant float (schedules are not modelled). Defaults to `0.001`.
        weight_decay: decoupled decay ``w <- w - w * weight_decay * lr`` before
            the rule, or None. Defaults to `None`.
        clipnorm: per-gradient norm limit, or None. Defaults to `None`.
        clipvalue: per-entry limit, or None. Defaults to `None`.
        global_clipnorm: joint norm limit over all gradients, or None. Defaults to `None`.
        **hyperparameters: the rule's own arguments (``momentum``, ``beta_1`` ...).
    """

    def __init__(
        self,
        rule: Callable[..., np.ndarray],
        learning_rate: float = 0.001,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        **hyperparameters: Any,
    ) -> None:
        self.rule, self.learning_rate = rule, float(learning_rate)
        self.weight_decay, self.clipnorm = weight_decay, clipnorm
        self.clipvalue, self.global_clipnorm = clipvalue, global_clipnorm
        self.hyperparameters = hyperparameters
        self.states: list[dict[str, Any]] | None = None  # one rule state per weight, from the first step
        self.t = 0

    def clip(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        """Gradients clipped the way Keras's base optimizer clips them."""
        if self.clipnorm:
            return [g * self.clipnorm / max(float(np.linalg.norm(g)), self.clipnorm) for g in grads]
        if self.global_clipnorm:
            norm = np.sqrt(sum(np.sum(g**2) for g in grads))
            return [g * self.global_clipnorm / max(norm, self.global_clipnorm) for g in grads]
        if self.clipvalue:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    def apply(
        self,
        grads: Sequence[npt.ArrayLike],
        weights: Sequence[npt.ArrayLike],
        *,
        learning_rate: float | None = None,
        rows: Sequence[npt.ArrayLike | None] | None = None,
    ) -> list[np.ndarray]:
        """One step for every weight; returns the new weights (float64 arrays).

        Args:
            grads, weights: one array per weight.
            learning_rate: this step's rate, for a schedule the caller
                evaluates; `None` uses ``self.learning_rate``. Defaults to `None`.
            rows: one entry per weight, `None` for a dense gradient or the row
                indices of a sparse one (its ``grads`` entry then holds one row
                per index), for rules that take ``rows=`` (``yogi``). Defaults
                to `None` (all dense).
        """
        lr = self.learning_rate if learning_rate is None else float(learning_rate)
        rows = [None] * len(grads) if rows is None else list(rows)
        sparse = any(r is not None for r in rows)
        if sparse and (self.clipnorm or self.global_clipnorm or self.clipvalue):
            raise CookbookError("the NumPy reference does not model clipping of sparse gradients; turn clipping off")
        grads64 = [np.asarray(g, np.float64) for g in grads]
        clipped = grads64 if sparse else self.clip(grads64)
        arrays = [np.asarray(w, np.float64) for w in weights]
        if self.states is None:
            self.states = [{} for _ in arrays]
        self.t += 1
        if self.weight_decay:
            arrays = [w - w * self.weight_decay * lr for w in arrays]
        return [
            self.rule(
                w, g, state, self.t, learning_rate=lr, **self.hyperparameters, **({"rows": r} if r is not None else {})
            )
            for w, g, state, r in zip(arrays, clipped, self.states, rows)
        ]


def from_optimizer(optimizer: keras.optimizers.Optimizer) -> ReferenceOptimizer:
    """The ``ReferenceOptimizer`` that follows a Keras optimizer's class and ``get_config()``.

    Args:
        optimizer: a ``keras.optimizers.Optimizer`` whose class is named
            ``SGD``, ``Momentum``, ``Adagrad``, ``RMSprop``, ``Adam``,
            ``AdamW``, ``Nadam``, ``Lion`` (Keras's built-in or the cookbook's
            twin) or ``Yogi`` (``cookbook.porting.Yogi``).

    Raises:
        CookbookError: for another class, or for a feature the reference does
            not model (a learning-rate schedule, EMA, gradient accumulation,
            loss scaling, weights excluded from weight decay).
    """
    kind = type(optimizer).__name__
    if kind not in RULES:
        raise CookbookError(
            f"no NumPy reference for optimizer class {kind!r}; "
            f"use one of {sorted(RULES)} or compare without a reference"
        )
    config = optimizer.get_config()
    unsupported = [key for key in ("use_ema", "gradient_accumulation_steps", "loss_scale_factor") if config.get(key)]
    if not isinstance(config["learning_rate"], float):
        unsupported.append("a learning-rate schedule")
    if getattr(optimizer, "_exclude_from_weight_decay", None) or getattr(
        optimizer, "_exclude_from_weight_decay_pattern", None
    ):  # set by exclude_from_weight_decay()
        unsupported.append("weights excluded from weight decay")
    if unsupported:
        raise CookbookError(
            f"the NumPy reference does not model {', '.join(unsupported)}; "
            f"turn it off or compare without a reference (reference=False)"
        )
    base = {key: config[key] for key in ("learning_rate", "weight_decay", "clipnorm", "clipvalue", "global_clipnorm")}
    own = {key: value for key, value in config.items() if key not in _BASE_KEYS}
    return ReferenceOptimizer(RULES[kind], **base, **own)
