# SPDX-License-Identifier: Apache-2.0
# Copyright 2026 the keras-cookbook authors
# Requires TensorFlow and tf_keras (Keras 2) of the same X.Y version; installing keras-cookbook installs both.
"""The "before" of the porting lesson: Yogi written for Keras 2's optimizer API.

This is how a custom optimizer looked in TensorFlow 2.x before Keras 3: a
subclass of ``tf_keras.optimizers.legacy.Optimizer`` (Keras 2's
``OptimizerV2``) with ``_set_hyper``/``_get_hyper``, slots made in
``_create_slots`` with ``add_slot``, per-device coefficients prepared once in
``_prepare_local`` and read back from ``apply_state``, the learning rate from
``_decayed_lr`` and a second code path, ``_resource_apply_sparse``, for the
``tf.IndexedSlices`` gradient of an ``Embedding``. Its update rule is Yogi's
as TensorFlow Addons shipped it (lazy on sparse rows, proximal l1/l2 step).

``cookbook.porting.yogi.Yogi`` is the same optimizer for Keras 3; lesson 16
puts the two side by side and tests prove they take the same steps.
"""

from __future__ import annotations

import tensorflow as tf

try:
    import tf_keras
except ImportError as error:  # a core dependency, yet absent: name the pip command that adds the right one
    _version = ".".join(tf.__version__.split(".")[:2])  # tf_keras X.Y goes with TensorFlow X.Y
    raise ModuleNotFoundError(
        f"cookbook.porting.keras2_yogi needs Keras 2, the tf_keras package ({error}). Install the one that "
        f'matches TensorFlow {tf.__version__}: python -m pip install "tf_keras=={_version}.*"',
        name="tf_keras",
    ) from error


def _proximal(new_var, per_coord_lr, l1, l2, use_l1, use_l2):
    """The l1/l2 proximal step applied after the gradient step.

    ``argmin_w 1/2 (1 + l2 a) w^2 - x w + l1 a |w|`` for ``x = new_var`` and
    ``a = per_coord_lr``: shrink towards zero by ``l1 a``, then divide by
    ``1 + l2 a``. Without l1 only the division is left.
    """
    if use_l1:
        shrunk = tf.sign(new_var) * tf.maximum(tf.abs(new_var) - l1 * per_coord_lr, 0.0)
        return shrunk / (1.0 + l2 * per_coord_lr)
    if use_l2:
        return new_var / (1.0 + l2 * per_coord_lr)
    return new_var


@tf_keras.utils.register_keras_serializable(package="cookbook_keras2")
class Keras2Yogi(tf_keras.optimizers.legacy.Optimizer):
    """Yogi for Keras 2 (``tf_keras.optimizers.legacy.Optimizer``).

    ``g`` is the gradient of weight ``w``, ``t = iterations + 1``; ``m`` starts
    at 0 and ``v`` at ``initial_accumulator_value``::

        m <- b1 * m + (1 - b1) * g
        v <- v + (1 - b2) * sign(g^2 - v) * g^2          (activation="sign";
                                                          tanh(10 (g^2 - v)) for "tanh")
        a  = lr * sqrt(1 - b2^t) / (1 - b1^t)
        w <- prox(w - a / (sqrt(v) + eps) * m)

    On a sparse gradient only the rows it touches change ``v`` and ``w``;
    every row of ``m`` decays.
    """

    _HAS_AGGREGATE_GRAD = True

    def __init__(
        self,
        learning_rate=0.01,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-3,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        initial_accumulator_value=1e-6,
        activation="sign",
        name="Yogi",
        **kwargs,
    ):
        # Keras 2 accepts `lr` and `decay` (inverse-time decay) among its kwargs.
        super().__init__(name, **kwargs)
        self._set_hyper("learning_rate", kwargs.get("lr", learning_rate))
        self._set_hyper("decay", self._initial_decay)
        self._set_hyper("beta_1", beta_1)
        self._set_hyper("beta_2", beta_2)
        self._set_hyper("epsilon", epsilon)
        self._set_hyper("l1_regularization_strength", l1_regularization_strength)
        self._set_hyper("l2_regularization_strength", l2_regularization_strength)
        self._initial_accumulator_value = initial_accumulator_value
        self._activation = activation
        # Python copies decide, when the step is traced, whether the proximal step is needed at all.
        self._use_l1 = l1_regularization_strength > 0
        self._use_l2 = l2_regularization_strength > 0

    def _create_slots(self, var_list):
        # Called on the first apply_gradients, with the variables it sees.
        for var in var_list:
            self.add_slot(var, "m")
            self.add_slot(var, "v", initializer=tf_keras.initializers.Constant(self._initial_accumulator_value))

    def _prepare_local(self, var_device, var_dtype, apply_state):
        # Once per (device, dtype) and step: the schedule, the bias correction, the hyperparameters.
        super()._prepare_local(var_device, var_dtype, apply_state)  # puts _decayed_lr() in "lr_t"
        coefficients = apply_state[(var_device, var_dtype)]
        t = tf.cast(self.iterations + 1, var_dtype)
        beta_1 = tf.identity(self._get_hyper("beta_1", var_dtype))
        beta_2 = tf.identity(self._get_hyper("beta_2", var_dtype))
        coefficients.update(
            lr=coefficients["lr_t"] * tf.sqrt(1 - tf.pow(beta_2, t)) / (1 - tf.pow(beta_1, t)),
            beta_1=beta_1,
            one_minus_beta_2=1 - beta_2,
            epsilon=tf.convert_to_tensor(self._get_hyper("epsilon", var_dtype)),
            l1=self._get_hyper("l1_regularization_strength", var_dtype),
            l2=self._get_hyper("l2_regularization_strength", var_dtype),
        )

    def _coefficients(self, var, apply_state):
        var_device, var_dtype = var.device, var.dtype.base_dtype
        return (apply_state or {}).get((var_device, var_dtype)) or self._fallback_apply_state(var_device, var_dtype)

    def _sign(self, x):
        return tf.tanh(10.0 * x) if self._activation == "tanh" else tf.sign(x)

    def _prox(self, new_var, per_coord_lr, c):
        return _proximal(new_var, per_coord_lr, c["l1"], c["l2"], self._use_l1, self._use_l2)

    def _resource_apply_dense(self, grad, var, apply_state=None):
        c = self._coefficients(var, apply_state)
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        m_t = m.assign(c["beta_1"] * m + (1 - c["beta_1"]) * grad, use_locking=self._use_locking)
        grad2 = grad * grad
        v_t = v.assign_add(c["one_minus_beta_2"] * self._sign(grad2 - v) * grad2, use_locking=self._use_locking)
        per_coord_lr = c["lr"] / (tf.sqrt(v_t) + c["epsilon"])
        new_var = self._prox(var - per_coord_lr * m_t, per_coord_lr, c)
        return tf.group(var.assign(new_var, use_locking=self._use_locking), m_t, v_t)

    def _resource_apply_sparse(self, grad, var, indices, apply_state=None):
        # Keras 2 sums repeated indices before calling this (`_deduplicate_indexed_slices`).
        c = self._coefficients(var, apply_state)
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        m_decayed = m.assign(c["beta_1"] * m, use_locking=self._use_locking)
        with tf.control_dependencies([m_decayed]):
            m_rows = tf.gather(m, indices) + (1 - c["beta_1"]) * grad
        m_t = self._resource_scatter_update(m, indices, m_rows)
        grad2 = grad * grad
        v_rows = tf.gather(v, indices)
        v_rows = v_rows + c["one_minus_beta_2"] * self._sign(grad2 - v_rows) * grad2
        v_t = self._resource_scatter_update(v, indices, v_rows)
        per_coord_lr = c["lr"] / (tf.sqrt(v_rows) + c["epsilon"])
        new_rows = self._prox(tf.gather(var, indices) - per_coord_lr * m_rows, per_coord_lr, c)
        return tf.group(self._resource_scatter_update(var, indices, new_rows), m_t, v_t)

    def get_config(self):
        config = super().get_config()
        config.update(
            learning_rate=self._serialize_hyperparameter("learning_rate"),
            decay=self._initial_decay,
            beta_1=self._serialize_hyperparameter("beta_1"),
            beta_2=self._serialize_hyperparameter("beta_2"),
            epsilon=self._serialize_hyperparameter("epsilon"),
            l1_regularization_strength=self._serialize_hyperparameter("l1_regularization_strength"),
            l2_regularization_strength=self._serialize_hyperparameter("l2_regularization_strength"),
            initial_accumulator_value=self._initial_accumulator_value,
            activation=self._activation,
        )
        return config
