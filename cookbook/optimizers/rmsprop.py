# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the keras-cookbook authors
# Requires keras>=3.10,<4 (Optimizer.add_optimizer_variables first appears in Keras 3.10).
"""RMSprop: divide each step by a moving root-mean-square of the gradients, for Keras 3.

This file imports only ``keras`` and the standard library: copy it alone into
a project and ``RMSprop(**cfg)`` replaces ``keras.optimizers.RMSprop(**cfg)``.
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
class RMSprop(keras.optimizers.Optimizer):
    """RMSprop, optionally centered and with heavy-ball momentum.

    ``lr`` is ``learning_rate``, ``rho`` is ``rho``, ``mu`` is ``momentum``,
    ``eps`` is ``epsilon``, ``g`` the gradient of weight ``w``; ``v`` (mean
    square), ``mg`` (mean gradient, ``centered`` only) and ``u`` (momentum
    only) start at zero::

        v  <- rho * v  + (1 - rho) * g^2
        mg <- rho * mg + (1 - rho) * g            (centered=True)
        d   = v + eps    or    v - mg^2 + eps     (centered=False / True)
        s   = lr * g / sqrt(d)
        w  <- w - s                               (momentum == 0)
        u  <- mu * u + s;   w <- w - u            (momentum  > 0)

    Args:
        learning_rate: a float >= 0, a
            ``keras.optimizers.schedules.LearningRateSchedule`` or a callable
            returning the rate. Defaults to `0.001`.
        rho: decay of the moving averages, in [0, 1). Defaults to `0.9`.
        momentum: heavy-ball momentum in [0, 1]; 0 turns it off. Defaults to `0.0`.
        epsilon: small number >= 0 added under the root. Defaults to `1e-7`.
        centered: divide by an estimate of the gradient's variance instead
            of its mean square. Defaults to `False`.
        weight_decay: decoupled decay rate >= 0, or None. Defaults to `None`.
        clipnorm: clip each gradient to this norm (> 0), or None. Defaults to `None`.
        clipvalue: clip each gradient entry to +-this (> 0), or None. Defaults to `None`.
        global_clipnorm: clip all gradients to this joint norm (> 0), or None.
            Defaults to `None`.
        use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs: passed unchanged to
            ``keras.optimizers.Optimizer``. Defaults to Keras's.

    Keras convention versus the textbook (checked in Keras 3.15's source):
    ``epsilon`` sits *inside* the square root, ``sqrt(v + eps)``, as in
    TensorFlow's original RMSProp, where PyTorch adds it outside,
    ``sqrt(v) + eps``. (Keras's own docstring calls it Adam's "epsilon hat";
    the source does not use it that way.) The momentum buffer ``u`` holds
    steps that already include the learning rate, like ``SGD``'s velocity;
    Keras's docstring describes a "decay rate 1 - momentum", but the code
    is ``u <- mu * u + s``, which is what this class does.

    Reference:
        Hinton, Srivastava and Swersky, "Neural Networks for Machine
        Learning", lecture 6e, 2012. Graves, "Generating Sequences With
        Recurrent Neural Networks", 2013 (the centered form).
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | Callable[[], float] = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
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
            rho=(rho, _UNIT_OPEN),
            momentum=(momentum, _UNIT_CLOSED),
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
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon
        self.centered = centered

    def build(self, var_list: list[keras.Variable]) -> None:
        """Create ``v`` for every weight, plus ``u`` and ``mg`` when they are used."""
        if self.built:
            return
        super().build(var_list)
        # Same names and order as Keras's RMSprop, so the variable lists line up.
        self._velocities = self.add_optimizer_variables(var_list, "velocity")
        self._momentums = []
        if self.momentum > 0:
            self._momentums = self.add_optimizer_variables(var_list, "momentum")
        self._average_gradients = []
        if self.centered:
            self._average_gradients = self.add_optimizer_variables(var_list, "average_gradient")

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        """Apply one step to ``variable``; see the class docstring for the rule."""
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        rho, v = self.rho, self._velocities[i]
        self.assign(v, ops.add(ops.multiply(rho, v), ops.multiply(1 - rho, ops.square(g))))
        if self.centered:
            mg = self._average_gradients[i]
            self.assign(mg, ops.add(ops.multiply(rho, mg), ops.multiply(1 - rho, g)))
            denominator = ops.add(ops.subtract(v, ops.square(mg)), self.epsilon)
        else:
            denominator = ops.add(v, self.epsilon)
        step = ops.divide(ops.multiply(lr, g), ops.sqrt(denominator))  # s = lr*g / sqrt(d)
        if self.momentum > 0:
            u = self._momentums[i]
            self.assign(u, ops.add(ops.multiply(self.momentum, u), step))  # u <- mu*u + s
            step = u
        self.assign_sub(variable, step)

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument, so ``from_config`` rebuilds the same optimizer."""
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon, "centered": self.centered})
        return config
