# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the keras-cookbook authors
# Requires keras>=3.10,<4 (the oldest Keras its tests run under: .ci/keras_floor.py).
"""Yogi for Keras 3, ported from the Keras 2 optimizer in ``keras2_yogi.py``.

This file imports only ``keras`` and the standard library: copy it alone into
a project (TensorFlow, JAX or PyTorch backend). It is the "after" of lesson 16,
which ports it step by step from Keras 2's ``OptimizerV2``; the tests prove
both take the same steps, dense and sparse, with a schedule.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import keras
from keras import ops

_ACTIVATIONS = ("sign", "tanh")


def _is_indexed_slices(gradient: Any) -> bool:
    """True for TensorFlow's sparse gradient of a gather (``Embedding``).

    Checked by name so this file needs no TensorFlow import: on JAX and
    PyTorch gradients are always dense.
    """
    return type(gradient).__name__ == "IndexedSlices"


# Legal ranges: (text for the error message, test). NaN and infinity fail every test.
_NON_NEGATIVE = ("a finite number >= 0", lambda x: x >= 0)
_UNIT_OPEN = ("in [0, 1)", lambda x: 0 <= x < 1)


def _as_number(value):
    """``value`` as a float if it is a plain number or holds one (a 0-d array,
    tensor or variable); ``None`` for schedules, callables, ``None`` itself and
    symbolic tensors, which are not checked."""
    if isinstance(value, numbers.Real):
        return float(value)
    try:
        return float(value) if tuple(value.shape) == () else None
    except (AttributeError, TypeError, ValueError):  # no shape, unknown rank, or symbolic
        return None


def _refuse_impossible(**checks):
    """Raise ``ValueError`` naming any number outside its legal range."""
    for name, (value, (legal, ok)) in checks.items():
        if isinstance(value, bool):  # True == 1 and False == 0 would pass as numbers
            raise ValueError(f"{name}={value!r} is a bool: `{name}` must be {legal}. Pass a number.")
        number = _as_number(value)
        if number is not None and not (math.isfinite(number) and ok(number)):
            raise ValueError(f"{name}={value!r} is impossible: `{name}` must be {legal}. Pass a value in that range.")


@keras.saving.register_keras_serializable(package="cookbook")
class Yogi(keras.optimizers.Optimizer):
    """Yogi: Adam whose second moment moves additively, by at most ``(1 - beta_2) g^2`` a step.

    ``lr`` is ``learning_rate``, ``b1``/``b2`` are ``beta_1``/``beta_2``,
    ``eps`` is ``epsilon``, ``t`` the step number (1, 2, ...), ``g`` the
    gradient of weight ``w``; ``m`` starts at 0 and ``v`` at
    ``initial_accumulator_value``::

        m <- b1 * m + (1 - b1) * g
        v <- v + (1 - b2) * sign(g^2 - v) * g^2     (activation="sign")
        v <- v + (1 - b2) * tanh(10 (g^2 - v)) * g^2 (activation="tanh")
        a  = lr * sqrt(1 - b2^t) / (1 - b1^t)
        u  = w - a / (sqrt(v) + eps) * m
        w <- sign(u) * max(|u| - l1 * a', 0) / (1 + l2 * a')   with a' = a / (sqrt(v) + eps)

    Adam's ``v <- v + (1 - b2) * (g^2 - v)`` can shrink ``v`` quickly after a
    burst of large gradients and let the step grow; Yogi's ``sign`` bounds that
    change. On a sparse gradient (TensorFlow's ``IndexedSlices`` from an
    ``Embedding``) only the rows it touches change ``v`` and ``w`` ("lazy"
    rows), every row of ``m`` decays: the Keras 2 original's behaviour, kept.
    That needs ``update_step`` to receive the ``IndexedSlices``: Keras hands
    it a dense gradient instead with ``global_clipnorm`` or
    ``gradient_accumulation_steps`` (and JAX and PyTorch always do), and then
    every row moves as in the dense rule (``clipnorm`` and ``clipvalue`` keep
    it sparse).

    The coefficients are computed in the weight's dtype, as in Keras's Adam:
    in bfloat16 ``beta_2=0.999`` rounds to 1 and nothing trains, so keep the
    weights in float32 (``mixed_bfloat16`` and ``mixed_float16`` do).

    Args:
        learning_rate: a float >= 0, a
            ``keras.optimizers.schedules.LearningRateSchedule`` or a callable
            returning the rate. Defaults to `0.01`.
        beta_1: decay of ``m``, in [0, 1). Defaults to `0.9`.
        beta_2: decay rate of ``v``, in [0, 1). Defaults to `0.999`.
        epsilon: added to ``sqrt(v)``, >= 0. Defaults to `1e-3` (Yogi's
            authors use a larger epsilon than Adam's).
        l1_regularization_strength: l1 of the proximal step, >= 0. Defaults to `0.0`.
        l2_regularization_strength: l2 of the proximal step, >= 0. Defaults to `0.0`.
        initial_accumulator_value: where ``v`` starts, >= 0. Defaults to `1e-6`.
        activation: ``"sign"`` or ``"tanh"`` (a smooth sign). Defaults to `"sign"`.
        name, **kwargs: passed to ``keras.optimizers.Optimizer`` (``clipnorm``,
            ``weight_decay``, ``use_ema``, ``gradient_accumulation_steps``...).
            Keras 2's ``lr`` and ``decay`` are refused with what to pass instead.

    Reference:
        Zaheer, Reddi, Sachan, Kale and Kumar, "Adaptive Methods for Nonconvex
        Optimization", NeurIPS 2018 (Algorithm 2).
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | Callable[[], float] = 0.01,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-3,
        l1_regularization_strength: float = 0.0,
        l2_regularization_strength: float = 0.0,
        initial_accumulator_value: float = 1e-6,
        activation: str = "sign",
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        # Keras 2 took these two in **kwargs; Keras 3 would refuse `lr` and silently ignore `decay`.
        if "lr" in kwargs:
            raise ValueError("`lr` is Keras 2's name: pass `learning_rate` instead.")
        if kwargs.get("decay"):
            raise ValueError(
                f"`decay={kwargs['decay']!r}` is Keras 2's inverse-time decay, which Keras 3 ignores: pass "
                f"`learning_rate=keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=1, "
                f"decay_rate={kwargs['decay']!r})` instead."
            )
        kwargs.pop("decay", None)
        _refuse_impossible(
            learning_rate=(learning_rate, _NON_NEGATIVE),
            beta_1=(beta_1, _UNIT_OPEN),
            beta_2=(beta_2, _UNIT_OPEN),
            epsilon=(epsilon, _NON_NEGATIVE),
            l1_regularization_strength=(l1_regularization_strength, _NON_NEGATIVE),
            l2_regularization_strength=(l2_regularization_strength, _NON_NEGATIVE),
            initial_accumulator_value=(initial_accumulator_value, _NON_NEGATIVE),
        )
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation={activation!r} is not one of {_ACTIVATIONS}. Pass one of them.")
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        # Plain attributes: Keras 3 has no _set_hyper; get_config writes each one back.
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.l1_regularization_strength = l1_regularization_strength
        self.l2_regularization_strength = l2_regularization_strength
        self.initial_accumulator_value = initial_accumulator_value
        self.activation = activation

    def build(self, var_list: list[keras.Variable]) -> None:
        """Create ``m`` (zeros) and ``v`` (``initial_accumulator_value``) for every weight."""
        if self.built:
            return
        super().build(var_list)
        # Keras 2's add_slot, made here where the variables are known (never in __init__).
        start_of_v = keras.initializers.Constant(self.initial_accumulator_value)
        self._m = [self.add_variable_from_reference(w, "m") for w in var_list]
        self._v = [self.add_variable_from_reference(w, "v", initializer=start_of_v) for w in var_list]

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        """Apply one step to ``variable``; see the class docstring for the rule."""
        dtype = variable.dtype
        # Keras 2's _prepare_local, inline: `learning_rate` already went through the schedule.
        t = self._step_number(dtype)
        b1 = ops.cast(self.beta_1, dtype)
        b2 = ops.cast(self.beta_2, dtype)
        lr = ops.cast(learning_rate, dtype)
        alpha = lr * ops.sqrt(1 - ops.power(b2, t)) / (1 - ops.power(b1, t))
        m, v = self._slots(variable)
        if _is_indexed_slices(gradient):
            self._sparse_step(gradient, variable, m, v, alpha, b1, b2)
            return
        g = ops.cast(gradient, dtype)
        self.assign(m, b1 * m + (1 - b1) * g)
        g2 = g * g
        self.assign_add(v, (1 - b2) * self._sign(g2 - v) * g2)
        per_coord_lr = alpha / (ops.sqrt(v) + ops.cast(self.epsilon, dtype))
        self.assign(variable, self._prox(variable - per_coord_lr * m, per_coord_lr))

    def _step_number(self, dtype):
        """This step's ``t`` (1, 2, ...): ``iterations`` counts finished steps, in Keras 2 and 3 alike."""
        return ops.cast(self.iterations + 1, dtype)

    def _slots(self, variable):
        """Keras 2's ``get_slot(var, "m"), get_slot(var, "v")``."""
        i = self._get_variable_index(variable)
        return self._m[i], self._v[i]

    def _sparse_step(self, gradient, variable, m, v, alpha, b1, b2):
        """Keras 2's ``_resource_apply_sparse``: ``v`` and ``w`` change on the touched rows only."""
        dtype = variable.dtype
        rows = gradient.indices
        # Keras 3 passes repeated rows on (two tokens in a batch, or two replicas); Keras 2 summed
        # them first. Sum them here (a table-sized temporary: simple, and the writes below stay
        # per row), then every repeat of a row computes the same new values.
        summed = ops.segment_sum(ops.cast(gradient.values, dtype), rows, num_segments=variable.shape[0])
        g = ops.take(summed, rows, axis=0)
        self.assign(m, b1 * m)
        m_rows = ops.take(m, rows, axis=0) + (1 - b1) * g
        g2 = g * g
        v_rows = ops.take(v, rows, axis=0)
        v_rows = v_rows + (1 - b2) * self._sign(g2 - v_rows) * g2
        per_coord_lr = alpha / (ops.sqrt(v_rows) + ops.cast(self.epsilon, dtype))
        w_rows = self._prox(ops.take(variable, rows, axis=0) - per_coord_lr * m_rows, per_coord_lr)
        # self.assign with an IndexedSlices scatters those rows (Keras's TensorFlow optimizer);
        # the gradient's own class builds them, so no TensorFlow import is needed here.
        sparse = type(gradient)
        for slot, new_rows in ((m, m_rows), (v, v_rows), (variable, w_rows)):
            self.assign(slot, sparse(new_rows, rows, gradient.dense_shape))

    def _sign(self, x):
        return ops.tanh(10 * x) if self.activation == "tanh" else ops.sign(x)

    def _prox(self, new_w, per_coord_lr):
        """The proximal l1/l2 step; nothing when both strengths are 0 (decided once, in Python)."""
        dtype = new_w.dtype
        l1 = ops.cast(self.l1_regularization_strength, dtype)
        l2 = ops.cast(self.l2_regularization_strength, dtype)
        if self.l1_regularization_strength > 0:
            shrunk = ops.sign(new_w) * ops.maximum(ops.abs(new_w) - l1 * per_coord_lr, 0)
            return shrunk / (1 + l2 * per_coord_lr)
        if self.l2_regularization_strength > 0:
            return new_w / (1 + l2 * per_coord_lr)
        return new_w

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument, so ``.keras`` files rebuild the same optimizer."""
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "initial_accumulator_value": self.initial_accumulator_value,
                "activation": self.activation,
            }
        )
        return config
