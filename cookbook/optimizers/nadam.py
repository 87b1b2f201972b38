# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the keras-cookbook authors
# Requires keras>=3.10,<4 (Optimizer.add_optimizer_variables first appears in Keras 3.10).
"""Nadam: Adam with Nesterov momentum and Dozat's momentum schedule, for Keras 3.

This file imports only ``keras`` and the standard library: copy it alone into
a project and ``Nadam(**cfg)`` replaces ``keras.optimizers.Nadam(**cfg)``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import keras
from keras import ops

# Legal ranges: (text for the error message, test). NaN and infinity fail every test.
_NON_NEGATIVE = ("a finite number >= 0", lambda x: x >= 0)
_POSITIVE = ("a finite number > 0, or None to turn it off", lambda x: x > 0)
_UNIT_OPEN = ("in [0, 1)", lambda x: 0 <= x < 1)
_UNIT_CLOSED = ("in [0, 1]", lambda x: 0 <= x <= 1)


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
class Nadam(keras.optimizers.Optimizer):
    """Nadam: Adam whose momentum looks one step ahead, with a warming-up momentum.

    ``lr`` is ``learning_rate``, ``b1`` is ``beta_1``, ``b2`` is ``beta_2``,
    ``eps`` is ``epsilon``, ``t`` the step number (1, 2, ...), ``g`` the
    gradient of weight ``w``; ``m`` and ``v`` start at zero, the product
    ``P`` at one::

        u_t   = b1 * (1 - 0.5 * 0.96^t)                  (momentum schedule)
        P_t   = u_1 * u_2 * ... * u_t                    (running product)
        m    <- b1 * m + (1 - b1) * g
        v    <- b2 * v + (1 - b2) * g^2
        m_hat = u_{t+1} * m / (1 - P_t * u_{t+1})        (next step's momentum)
              + (1 - u_t) * g / (1 - P_t)                (this step's gradient)
        v_hat = v / (1 - b2^t)
        w    <- w - lr * m_hat / (sqrt(v_hat) + eps)

    ``u_t`` starts at ``b1 / 2`` and rises to ``b1`` within about 100
    steps: a momentum warm-up. The two terms of ``m_hat`` are Nesterov's
    look-ahead: the momentum part already uses the momentum coefficient of
    step ``t + 1``, each part divided by its own bias correction.

    Args:
        learning_rate: a float >= 0, a
            ``keras.optimizers.schedules.LearningRateSchedule`` or a callable
            returning the rate. Defaults to `0.001`.
        beta_1: decay of the first moment ``m`` and top of the schedule
            ``u_t``, in [0, 1). Defaults to `0.9`.
        beta_2: decay of the second moment ``v``, in [0, 1). Defaults to `0.999`.
        epsilon: small number >= 0 added to ``sqrt(v_hat)``. Defaults to `1e-7`.
        weight_decay: decoupled decay rate >= 0, or None. Defaults to `None`.
        clipnorm: clip each gradient to this norm (> 0), or None. Defaults to `None`.
        clipvalue: clip each gradient entry to +-this (> 0), or None. Defaults to `None`.
        global_clipnorm: clip all gradients to this joint norm (> 0), or None.
            Defaults to `None`.
        use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs: passed unchanged to
            ``keras.optimizers.Optimizer``. Defaults to Keras's.

    Keras convention versus elsewhere (checked in Keras 3.10 and 3.15's
    source): the schedule is ``0.96^t``; PyTorch's ``NAdam`` uses
    ``0.96^(0.004 t)`` (its ``momentum_decay=4e-3``), a warm-up 250 times
    slower, so the two differ over the first few hundred steps. ``m`` decays
    with the constant ``b1``, not with ``u_t``. Unlike Keras's ``Adam``,
    ``eps`` is added to the *corrected* ``sqrt(v_hat)``: Algorithm 1's
    epsilon, not "epsilon hat". With gradient accumulation, ``t`` counts
    real updates, not batches (Keras's ``iterations``), and ``P`` takes one
    factor per real update: the rule above holds unchanged.

    Reference:
        Dozat, "Incorporating Nesterov Momentum into Adam", 2016.
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | Callable[[], float] = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        use_ema: bool = False,
        ema_momentum: float = 0.99,
        ema_overwrite_frequency: int | None = None,
        loss_scale_factor: float | None = None,
        gradient_accumulation_steps: int | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        _refuse_impossible(
            learning_rate=(learning_rate, _NON_NEGATIVE),
            beta_1=(beta_1, _UNIT_OPEN),
            beta_2=(beta_2, _UNIT_OPEN),
            epsilon=(epsilon, _NON_NEGATIVE),
            weight_decay=(weight_decay, _NON_NEGATIVE),
            clipnorm=(clipnorm, _POSITIVE),
            clipvalue=(clipvalue, _POSITIVE),
            global_clipnorm=(global_clipnorm, _POSITIVE),
            ema_momentum=(ema_momentum, _UNIT_CLOSED),
            loss_scale_factor=(loss_scale_factor, _POSITIVE),
        )
        super().__init__(
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            use_ema=use_ema,
            ema_momentum=ema_momentum,
            ema_overwrite_frequency=ema_overwrite_frequency,
            loss_scale_factor=loss_scale_factor,
            gradient_accumulation_steps=gradient_accumulation_steps,
            name=name,
            **kwargs,
        )
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon

    def build(self, var_list: list[keras.Variable]) -> None:
        """Create ``m`` and ``v`` for every weight, and the product ``P`` (one scalar)."""
        if self.built:
            return
        dtype = var_list[0].dtype if var_list else keras.backend.floatx()
        super().build(var_list)
        # Same names, order and dtype as Keras's Nadam, so the variable lists (and saved files) line up.
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        self._u_product = keras.Variable(1.0, dtype=dtype)

    # Where P lives, and why here: Keras's own Nadam keeps P in a variable and multiplies it in this
    # hook, so the twin does the same, for three reasons. (1) The base class calls this hook exactly
    # once per applied update: after it has dropped None gradients (update_step runs once per weight,
    # and a "multiply when the first weight comes by" rule misses steps where that weight has no
    # gradient), only on the last batch of a gradient accumulation (inside its ops.cond), never for a
    # step a mixed-precision LossScaleOptimizer skips, and under tf.distribute in the replica context
    # before the merge call, so every replica multiplies its copy by the same u_t. (2) Recomputing
    # u_1 * ... * u_t from t each step costs t multiplications and rounds differently from Keras's
    # running float32 product, so the twin would drift from the built-in. (3) The same variables in
    # the same order as Keras's Nadam: P is saved in .keras files, a reloaded model resumes with the
    # same P, and the variable lists line up. The hook is private, but it exists with this signature
    # from Keras 3.10 to 3.15 (.ci/keras_floor.py trains this file under 3.10).
    def _backend_update_step(
        self, grads: list[Any], trainable_variables: list[keras.Variable], learning_rate: Any
    ) -> None:
        dtype = self._u_product.dtype
        # P <- P * u_t with t = iterations + 1, written as Keras writes it (the same float32 rounding).
        self.assign(
            self._u_product,
            self._u_product * self.beta_1 * (1.0 - 0.5 * ops.power(0.96, ops.cast(self.iterations + 1, dtype))),
        )
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        """Apply one step to ``variable``; ``P`` already includes ``u_t``. See the class docstring."""
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        decay = ops.cast(0.96, dtype)
        u_t = beta_1 * (1.0 - 0.5 * ops.power(decay, t))
        u_next = beta_1 * (1.0 - 0.5 * ops.power(decay, t + 1))
        product = ops.cast(self._u_product, dtype)  # P_t
        product_next = product * u_next  # P_{t+1}, not stored: next step recomputes it from its own t
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        # m <- b1*m + (1-b1)*g, written m += (g - m)*(1-b1) as Keras does (one op fewer).
        self.assign_add(m, ops.multiply(ops.subtract(g, m), 1 - beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(g), v), 1 - beta_2))
        m_hat = ops.add(
            ops.divide(ops.multiply(u_next, m), 1 - product_next),
            ops.divide(ops.multiply(1 - u_t, g), 1 - product),
        )
        v_hat = ops.divide(v, 1 - ops.power(beta_2, t))
        # w <- w - lr * m_hat / (sqrt(v_hat) + eps)
        self.assign_sub(variable, ops.divide(ops.multiply(m_hat, lr), ops.add(ops.sqrt(v_hat), self.epsilon)))

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument, so ``from_config`` rebuilds the same optimizer."""
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon})
        return config
