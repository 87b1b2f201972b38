# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the keras-cookbook authors
# Requires keras>=3.10,<4 (Optimizer.add_optimizer_variables first appears in Keras 3.10).
"""Adam: momentum plus a per-weight step size from the mean square gradient, for Keras 3.

This file imports only ``keras`` and the standard library: copy it alone into
a project and ``Adam(**cfg)`` replaces ``keras.optimizers.Adam(**cfg)``.
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
class Adam(keras.optimizers.Optimizer):
    """Adam, with the AMSGrad variant and switchable bias correction.

    ``lr`` is ``learning_rate``, ``b1`` is ``beta_1``, ``b2`` is ``beta_2``,
    ``eps`` is ``epsilon``, ``t`` the step number (1, 2, ...), ``g`` the
    gradient of weight ``w``; ``m``, ``v`` (and ``vmax`` for AMSGrad) start
    at zero::

        m    <- b1 * m + (1 - b1) * g
        v    <- b2 * v + (1 - b2) * g^2
        a     = lr * sqrt(1 - b2^t) / (1 - b1^t)       (bias_correction=True)
        a     = lr                                     (bias_correction=False)
        w    <- w - a * m / (sqrt(v) + eps)            (amsgrad=False)

        vmax <- max(vmax, v)                           (amsgrad=True: v itself
        w    <- w - a * m / (sqrt(vmax) + eps)          stays the moving average)

    Args:
        learning_rate: a float >= 0, a
            ``keras.optimizers.schedules.LearningRateSchedule`` or a callable
            returning the rate. Defaults to `0.001`.
        beta_1: decay of the first moment ``m``, in [0, 1). Defaults to `0.9`.
        beta_2: decay of the second moment ``v``, in [0, 1). Defaults to `0.999`.
        epsilon: small number >= 0 ("epsilon hat", see below). Defaults to `1e-7`.
        amsgrad: divide by the largest ``v`` so far (AMSGrad). Defaults to `False`.
        weight_decay: decoupled decay rate >= 0, or None. Defaults to `None`.
        clipnorm: clip each gradient to this norm (> 0), or None. Defaults to `None`.
        clipvalue: clip each gradient entry to +-this (> 0), or None. Defaults to `None`.
        global_clipnorm: clip all gradients to this joint norm (> 0), or None.
            Defaults to `None`.
        use_ema, ema_momentum, ema_overwrite_frequency, loss_scale_factor,
            gradient_accumulation_steps, name, **kwargs: passed unchanged to
            ``keras.optimizers.Optimizer``. Defaults to Keras's.
        bias_correction: keyword only, not in Keras's Adam: undo the zero
            start of ``m`` and ``v``; ``False`` gives the uncorrected rule of
            the bias-correction lesson (recipe 11). ``get_config`` writes it
            only when `False`, so a default twin's config loads into
            ``keras.optimizers.Adam``. Defaults to `True`.

    Keras convention versus the textbook (checked in Keras 3.15's source):
    Algorithm 1 of the paper divides ``m_hat = m / (1 - b1^t)`` by
    ``sqrt(v_hat) + eps`` with ``v_hat = v / (1 - b2^t)``. Keras folds both
    corrections into the step size ``a`` and adds ``eps`` to the
    *uncorrected* ``sqrt(v)``: the paper's "epsilon hat" (the formula just
    before its section 2.1). That equals Algorithm 1 with
    ``eps_1 = eps / sqrt(1 - b2^t)``, a larger epsilon in early steps.
    AMSGrad keeps the maximum of the uncorrected ``v``.

    Reference:
        Kingma and Ba, "Adam: A Method for Stochastic Optimization", 2014.
        Reddi, Kale and Kumar, "On the Convergence of Adam and Beyond", 2018.
    """

    def __init__(
        self,
        learning_rate: float | keras.optimizers.schedules.LearningRateSchedule | Callable[[], float] = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
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
        *,
        bias_correction: bool = True,
        **kwargs: Any,
    ) -> None:
        # bias_correction is keyword-only, so positional arguments mean what they mean in Keras.
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
        self.amsgrad = amsgrad
        self.bias_correction = bias_correction

    def build(self, var_list: list[keras.Variable]) -> None:
        """Create ``m`` and ``v`` for every weight, plus ``vmax`` for AMSGrad."""
        if self.built:
            return
        super().build(var_list)
        # Same names and order as Keras's Adam, so the variable lists line up.
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["momentum", "velocity"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "velocity_hat")

    def update_step(self, gradient: Any, variable: keras.Variable, learning_rate: Any) -> None:
        """Apply one step to ``variable``; see the class docstring for the rule."""
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        m, v = self._momentums[i], self._velocities[i]
        # m <- b1*m + (1-b1)*g, written m += (g - m)*(1-b1) as Keras does (one op fewer).
        self.assign_add(m, ops.multiply(ops.subtract(g, m), 1 - self.beta_1))
        self.assign_add(v, ops.multiply(ops.subtract(ops.square(g), v), 1 - self.beta_2))
        if self.amsgrad:
            v_max = self._velocity_hats[i]
            self.assign(v_max, ops.maximum(v_max, v))
            v = v_max
        alpha = lr
        if self.bias_correction:
            t = ops.cast(self.iterations + 1, variable.dtype)
            b1_power = ops.power(ops.cast(self.beta_1, variable.dtype), t)
            b2_power = ops.power(ops.cast(self.beta_2, variable.dtype), t)
            alpha = ops.divide(ops.multiply(lr, ops.sqrt(ops.subtract(1, b2_power))), ops.subtract(1, b1_power))
        # w <- w - a * m / (sqrt(v) + eps)
        self.assign_sub(variable, ops.divide(ops.multiply(m, alpha), ops.add(ops.sqrt(v), self.epsilon)))

    def get_config(self) -> dict[str, Any]:
        """Every constructor argument, so ``from_config`` rebuilds the same optimizer."""
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "amsgrad": self.amsgrad,
            }
        )
        # Written only when it departs from Keras's rule: a default twin's config then loads
        # into keras.optimizers.Adam.from_config, which refuses unknown keys. Absent means True.
        if not self.bias_correction:
            config["bias_correction"] = False
        return config
