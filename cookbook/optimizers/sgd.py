# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the keras-cookbook authors
# Requires keras>=3.10,<4 (Optimizer.add_optimizer_variables first appears in Keras 3.10).
"""Gradient descent, with momentum or Nesterov momentum, written for Keras 3.

This file imports only ``keras`` and the standard library: copy it alone into
a project and ``SGD(**cfg)`` replaces ``keras.optimizers.SGD(**cfg)``.
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
class SGD(keras.optimizers.Optimizer):
    """Gradient descent with optional (Nesterov) momentum.

    ``lr`` is ``learning_rate``, ``mu`` is ``momentum``, ``g`` the gradient of
    weight ``w`` and ``v`` its velocity (zeros at the start)::

        momentum == 0:   w <- w - lr * g
        momentum  > 0:   v <- mu * v - lr * g
                         w <- w + v                    (nesterov=False)
                         w <- w + mu * v - lr * g      (nesterov=True)

    Args:
        learning_rate: a float >= 0, a
            ``keras.optimizers.schedules.LearningRateSchedule`` or a callable
            returning the rate. Defaults to `0.01`.
        momentum: float in [0, 1]; 0 is plain gradient descent. Defaults to `0.0`.
        nesterov: whether to use Nesterov momentum. Defaults to `False`.
        weight_decay: decoupled decay rate >= 0, or None. Defaults to `None`.
        clipnorm: clip each gradient to this norm (> 0), or None. Defaults to `None`.
        clipvalue: clip each gradient entry to +-this (> 0), or None. Defaults to `None`.
        global_clipnorm: clip all gradients to this joint norm (> 0), or None.
            Defaults to `None`.
        use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs: passed unchanged to
            ``keras.optimizers.Optimizer``. Defaults to Keras's.

    Keras convention versus the textbook: the velocity ``v`` *includes* the
    learning rate (Sutskever et al.'s form), where many textbooks keep
    ``v <- mu * v + g`` and step ``w <- w - lr * v``. The two agree while the
    learning rate is constant; with a schedule, Keras's velocity remembers
    the rates of past steps. The Nesterov line is the same "look-ahead"
    rewritten so that only ``w`` is stored.

    Keras's own ``SGD`` refuses a momentum outside [0, 1] but also an integer
    momentum such as ``0``; this twin accepts any real number in [0, 1].

    Reference:
        Polyak, "Some methods of speeding up the convergence of iteration
        methods", 1964. Sutskever, Martens, Dahl and Hinton, "On the
        importance of initialization and momentum in deep learning", 2013.
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | Callable[[], float] = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
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
            momentum=(momentum, _UNIT_CLOSED),
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
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, var_list: list[keras.Variable]) -> None:
        """Create one velocity per weight, only when momentum is on."""
        if self.built:
            return
        super().build(var_list)
        # Named "momentum" like Keras's, so both optimizers list the same variables.
        self._velocities = []
        if self.momentum != 0:
            self._velocities = self.add_optimizer_variables(var_list, "momentum")

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        """Apply one step to ``variable``; see the class docstring for the rule."""
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, ops.multiply(g, lr))  # w <- w - lr * g
            return
        mu = ops.cast(self.momentum, variable.dtype)
        v = self._velocities[self._get_variable_index(variable)]
        self.assign(v, ops.subtract(ops.multiply(v, mu), ops.multiply(g, lr)))  # v <- mu*v - lr*g
        if self.nesterov:  # w <- w + mu*v - lr*g
            self.assign_add(variable, ops.subtract(ops.multiply(v, mu), ops.multiply(g, lr)))
        else:
            self.assign_add(variable, v)  # w <- w + v

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument, so ``from_config`` rebuilds the same optimizer."""
        config = super().get_config()
        config.update({"momentum": self.momentum, "nesterov": self.nesterov})
        return config


@keras.saving.register_keras_serializable(package="cookbook")
class Momentum(SGD):
    """``SGD`` with momentum on by default: the curriculum's "Momentum".

    ``Momentum(learning_rate=0.01, momentum=0.9)`` equals
    ``SGD(learning_rate=0.01, momentum=0.9)``; only the default differs.

    Args:
        learning_rate: as for ``SGD``. Defaults to `0.01`.
        momentum: float in [0, 1]. Defaults to `0.9`.
        nesterov: whether to use Nesterov momentum. Defaults to `False`.
        **kwargs: every other ``SGD`` keyword, unchanged. Defaults to Keras's.
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | Callable[[], float] = 0.01,
        momentum: float = 0.9,
        nesterov: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(learning_rate=learning_rate, momentum=momentum, nesterov=nesterov, **kwargs)
