# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the keras-cookbook authors
# Requires keras>=3.10,<4 (Optimizer.add_optimizer_variables first appears in Keras 3.10).
"""Adagrad: a per-weight learning rate that shrinks with the gradients seen, for Keras 3.

This file imports only ``keras`` and the standard library: copy it alone into
a project and ``Adagrad(**cfg)`` replaces ``keras.optimizers.Adagrad(**cfg)``.
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
class Adagrad(keras.optimizers.Optimizer):
    """Adagrad: divide each step by the root of all squared gradients so far.

    ``lr`` is ``learning_rate``, ``eps`` is ``epsilon``, ``G0`` is
    ``initial_accumulator_value``, ``g`` the gradient of weight ``w`` and
    ``G`` its accumulator (``G0`` at the start)::

        G <- G + g^2
        w <- w - lr * g / sqrt(G + eps)

    Args:
        learning_rate: a float >= 0, a
            ``keras.optimizers.schedules.LearningRateSchedule`` or a callable
            returning the rate. Adagrad usually wants a larger rate than this
            default. Defaults to `0.001`.
        initial_accumulator_value: starting value of ``G``, >= 0. Defaults to `0.1`.
        epsilon: small number >= 0 added to ``G`` under the root. Defaults to `1e-7`.
        weight_decay: decoupled decay rate >= 0, or None. Defaults to `None`.
        clipnorm: clip each gradient to this norm (> 0), or None. Defaults to `None`.
        clipvalue: clip each gradient entry to +-this (> 0), or None. Defaults to `None`.
        global_clipnorm: clip all gradients to this joint norm (> 0), or None.
            Defaults to `None`.
        use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs: passed unchanged to
            ``keras.optimizers.Optimizer``. Defaults to Keras's.

    Keras convention versus the textbook (checked in Keras 3.15's source):
    ``epsilon`` sits *inside* the square root, ``sqrt(G + eps)``, where Duchi
    et al. have no epsilon and PyTorch (like tf.keras's legacy optimizer)
    adds it outside, ``sqrt(G) + eps``. And ``G`` starts at 0.1, not 0, so
    the first step is ``lr * g / sqrt(0.1 + g^2)`` instead of the textbook's
    ``lr * sign(g)``: small gradients take small first steps.

    Reference:
        Duchi, Hazan and Singer, "Adaptive Subgradient Methods for Online
        Learning and Stochastic Optimization", 2011.
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | Callable[[], float] = 0.001,
        initial_accumulator_value: float = 0.1,
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
            initial_accumulator_value=(initial_accumulator_value, _NON_NEGATIVE),
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
        self.initial_accumulator_value = initial_accumulator_value
        self.epsilon = epsilon

    def build(self, var_list: list[keras.Variable]) -> None:
        """Create one accumulator per weight, filled with ``initial_accumulator_value``."""
        if self.built:
            return
        super().build(var_list)
        start = keras.initializers.Constant(self.initial_accumulator_value)
        self._accumulators = self.add_optimizer_variables(var_list, "accumulator", initializer=start)

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        """Apply one step to ``variable``; see the class docstring for the rule."""
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        G = self._accumulators[self._get_variable_index(variable)]
        self.assign_add(G, ops.square(g))  # G <- G + g^2
        # w <- w - lr * g / sqrt(G + eps)
        self.assign_sub(variable, ops.divide(ops.multiply(lr, g), ops.sqrt(ops.add(G, self.epsilon))))

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument, so ``from_config`` rebuilds the same optimizer."""
        config = super().get_config()
        config.update({"initial_accumulator_value": self.initial_accumulator_value, "epsilon": self.epsilon})
        return config
