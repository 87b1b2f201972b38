# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the keras-cookbook authors
# Requires keras>=3.10,<4 (Optimizer.add_optimizer_variables first appears in Keras 3.10).
"""Lion: a step of the same size for every weight, its direction the sign of a momentum, for Keras 3.

This file imports only ``keras`` and the standard library: copy it alone into
a project and ``Lion(**cfg)`` replaces ``keras.optimizers.Lion(**cfg)``.
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
_UNIT_LEFT_OPEN = ("in (0, 1]", lambda x: 0 < x <= 1)
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
class Lion(keras.optimizers.Optimizer):
    """Lion (EvoLved Sign Momentum): move every weight by exactly ``lr``, in the sign's direction.

    ``lr`` is ``learning_rate``, ``b1`` is ``beta_1``, ``b2`` is ``beta_2``,
    ``g`` the gradient of weight ``w``; the momentum ``m`` starts at zero::

        c  = b1 * m + (1 - b1) * g          (interpolate: the direction of this step)
        w <- w - lr * sign(c)
        m <- b2 * m + (1 - b2) * g          (then update the momentum, with another rate)

    Only ``m`` is stored (Adam keeps two buffers). Every entry moves by
    ``lr`` or not at all (where ``c`` is exactly 0), so the step is larger
    in norm than Adam's: the paper suggests a learning rate 3-10x smaller
    than AdamW's and a weight decay 3-10x larger (the base class decays by
    ``lr * weight_decay * w``).

    Args:
        learning_rate: a float >= 0, a
            ``keras.optimizers.schedules.LearningRateSchedule`` or a callable
            returning the rate. Defaults to `0.001`.
        beta_1: weight of the momentum in this step's direction ``c``, in
            (0, 1]. Defaults to `0.9`.
        beta_2: decay of the momentum ``m``, in [0, 1). Defaults to `0.99`.
        weight_decay: decoupled decay rate >= 0, or None. Defaults to `None`.
        clipnorm: clip each gradient to this norm (> 0), or None. Defaults to `None`.
        clipvalue: clip each gradient entry to +-this (> 0), or None. Defaults to `None`.
        global_clipnorm: clip all gradients to this joint norm (> 0), or None.
            Defaults to `None`.
        use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs: passed unchanged to
            ``keras.optimizers.Optimizer``. Defaults to Keras's.

    The legal betas: Keras refuses ``beta_1 <= 0`` or ``> 1``, because with
    ``b1 = 0`` the momentum drops out of ``c`` and Lion is signSGD,
    ``w <- w - lr * sign(g)``; this class refuses the same. ``b1 = 1`` is
    legal: the step follows the momentum of past gradients alone. Keras
    checks nothing for ``beta_2``; this class takes [0, 1). ``b2 = 1``
    would freeze ``m`` at its zero start, which is signSGD again (and
    with ``b1 = 1`` too, ``c`` is 0 forever and nothing moves); ``b2 = 0``
    is legal, ``m`` is then the last gradient; outside [0, 1] ``m`` grows
    without bound or flips sign every step.

    Reference:
        Chen et al., "Symbolic Discovery of Optimization Algorithms", 2023.
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | Callable[[], float] = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.99,
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
            beta_1=(beta_1, _UNIT_LEFT_OPEN),
            beta_2=(beta_2, _UNIT_OPEN),
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

    def build(self, var_list: list[keras.Variable]) -> None:
        """Create the momentum ``m`` for every weight."""
        if self.built:
            return
        super().build(var_list)
        # Same name as Keras's Lion, so the variable lists line up.
        self._momentums = self.add_optimizer_variables(var_list, "momentum")

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        """Apply one step to ``variable``; see the class docstring for the rule."""
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        beta_1 = ops.cast(self.beta_1, variable.dtype)
        beta_2 = ops.cast(self.beta_2, variable.dtype)
        m = self._momentums[self._get_variable_index(variable)]
        # w <- w - lr * sign(b1*m + (1-b1)*g): the step reads m before m is updated.
        c = ops.add(ops.multiply(m, beta_1), ops.multiply(g, 1.0 - beta_1))
        self.assign_sub(variable, ops.multiply(lr, ops.sign(c)))
        # m <- b2*m + (1-b2)*g
        self.assign(m, ops.add(ops.multiply(m, beta_2), ops.multiply(g, 1.0 - beta_2)))

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument, so ``from_config`` rebuilds the same optimizer."""
        config = super().get_config()
        config.update({"beta_1": self.beta_1, "beta_2": self.beta_2})
        return config
